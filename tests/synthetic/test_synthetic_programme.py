"""The programme sources of the synthetic study: starts and routine survey waves with known ATTs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import ParameterError
from evaluation.intake.readers import read_table
from evaluation.synthetic import SyntheticConfig, generate, write_study
from evaluation.synthetic import programme as programme_module
from evaluation.synthetic.programme import PERIODS, RESPONDENTS, respondents


def _institutions(truth: dict) -> pd.DataFrame:
    """The generator's institution table, rebuilt from the truth (names, codes, flags, sizes)."""
    return pd.DataFrame({"institution": [i["institution"] for i in truth["institutions"]],
                         "institution_code": [i["code"] for i in truth["institutions"]],
                         "programme": [i["programme"] for i in truth["institutions"]],
                         "persons": [i["persons"] for i in truth["institutions"]]})


@pytest.fixture(scope="module")
def default_study():
    """The shipped study's configuration (seed 2026, 6 institutions), generated in memory."""
    return generate(SyntheticConfig())


def test_sources_are_in_the_study_and_load(small_loaded, small_truth):
    report = small_loaded.load_report().set_index("source")
    for source, file in [("programme_starts", "programme_starts.csv"),
                         ("routine_waves", "routine_waves.csv")]:
        assert report.loc[source, "file"] == file
        assert report.loc[source, "rows_read"] == report.loc[source, "rows_used"] > 0
        assert report.loc[source, "rows_quarantined"] == 0
        assert small_truth["files"][file]["source"] == source
    waves = small_loaded.table("routine_waves")
    assert waves["period"].dtype.kind == "M"
    assert waves["response_id"].is_unique
    starts = small_loaded.table("programme_starts")
    assert starts["start_date"].dtype.kind == "M"


def test_design_of_the_waves(default_study):
    tables, truth = default_study
    waves, starts = tables["routine_waves"], tables["programme_starts"]
    assert sorted(waves["period"].unique()) == [p.strftime("%Y-%m-%d") for p in PERIODS]
    assert (waves["period"].iloc[0], waves["period"].iloc[-1]) == ("2021-01-01", "2025-07-01")
    cells = waves.groupby(["department", "period"]).size()
    assert cells.between(*RESPONDENTS).all() and len(cells) == waves["department"].nunique() * 10
    per_inst = waves.groupby("institution")["department"].nunique()
    fit = truth["effects"]["fit_rollout"]
    assert per_inst[fit["institution"]] == 7
    assert per_inst.drop(fit["institution"]).between(2, 4).all()
    assert set(waves["goal_retention"]) == {0, 1}
    assert waves["daily_chaos"].between(1, 5).all()
    assert np.allclose(waves["daily_chaos"] * 10, np.round(waves["daily_chaos"] * 10))
    # The FIT institution is the largest one outside the IP initiative (Østhagen here).
    sizes = {i["institution"]: i["persons"] for i in truth["institutions"] if not i["programme"]}
    assert fit["institution"] == max(sizes, key=sizes.get) == "Østhagen"
    ip = starts[starts["programme"] == "ip_initiative"]
    assert list(ip["institution"]) == ["Lassonløkken", "Karlsborg"]
    assert (ip["department"] == "").all() and (ip["start_date"] == "2023-01-01").all()
    rollout = starts[starts["programme"] == "fit_rollout"]
    assert rollout["start_date"].nunique() == 3 and (rollout["institution"] == "Østhagen").all()
    assert len(fit["never_treated"]) == 4


def test_truth_keys(default_study):
    effects = default_study[1]["effects"]
    assert {"outcome", "programme", "start", "treated_institutions", "comparison_institutions",
            "att", "att_by_period"} <= set(effects["programme_ip"])
    assert {"outcome", "institution", "departments", "never_treated", "att_overall",
            "att_by_event_time", "att_by_cohort"} <= set(effects["fit_rollout"])
    assert effects["programme_ip"]["comparison_institutions"] == ["Fjærholmen", "Sørbråten",
                                                                  "Vårli", "Østhagen"]


def test_att_equals_recomputation_from_potential_outcomes(default_study):
    tables, truth = default_study
    cfg = SyntheticConfig()
    resp, design = respondents(cfg, _institutions(truth))
    waves = tables["routine_waves"]
    # The file holds each respondent's observed potential outcome.
    assert (resp["goal_retention"].to_numpy() == waves["goal_retention"].to_numpy()).all()
    assert (resp["daily_chaos"].to_numpy() == waves["daily_chaos"].to_numpy()).all()
    assert resp["ip_treated"].sum() > 0 and resp["fit_treated"].sum() > 0
    ip = resp[resp["ip_treated"]]
    t_ip = truth["effects"]["programme_ip"]
    assert t_ip["att"] == pytest.approx((ip["goal_retention_1"] - ip["goal_retention_0"]).mean(), abs=1e-12)
    assert t_ip["att_expected"] == pytest.approx(cfg.effect_programme, abs=1e-12)
    assert set(ip["institution"]) == set(t_ip["treated_institutions"])
    assert ip["period"].min() == pd.Timestamp(t_ip["start"])
    fit = resp[resp["fit_treated"]]
    effect = fit["daily_chaos_1"] - fit["daily_chaos_0"]
    t_fit = truth["effects"]["fit_rollout"]
    assert t_fit["att_overall"] == pytest.approx(effect.mean(), abs=1e-12)
    by_e = effect.groupby(fit["event_time"].astype(int)).mean()
    assert {int(k): v for k, v in t_fit["att_by_event_time"].items()} == pytest.approx(by_e.to_dict())
    # The effect grows with time since adoption: -0.1, -0.2, ... then stays at the last value.
    planted = cfg.effect_rollout
    for e, v in by_e.items():
        assert v == pytest.approx(planted[min(e, len(planted) - 1)], abs=0.02)
    # Weighted by treated respondents, the cohort ATTs average to the overall ATT.
    n = fit.groupby(fit["department"].map(design["fit_starts"])).size()
    cohorts = {pd.Timestamp(k): v for k, v in t_fit["att_by_cohort"].items()}
    assert sum(n[g] * cohorts[g] for g in n.index) / n.sum() == pytest.approx(t_fit["att_overall"])
    # No effect before the start and none of one programme on the other's outcome.
    untreated = resp[~resp["fit_treated"]]
    assert (untreated["daily_chaos_1"] == untreated["daily_chaos_0"]).all()


def test_same_seed_same_bytes_and_seeds_differ(tmp_path):
    cfg = SyntheticConfig(persons=200, institutions=5, seed=11)
    write_study(tmp_path / "a", cfg)
    write_study(tmp_path / "b", cfg)
    for name in ("programme_starts.csv", "routine_waves.csv", "ground_truth.json", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other, _ = generate(SyntheticConfig(persons=200, institutions=5, seed=12))
    assert not other["routine_waves"].equals(read_table(tmp_path / "a" / "routine_waves.csv"))


def test_programme_data_come_from_a_stream_of_their_own(monkeypatch):
    """The other sources are exactly what they would be without the programme module: it draws
    from ``default_rng([seed, 9])`` after everything else and touches no other stream. (The
    shipped study was regenerated with it, and ``git diff`` showed every older file unchanged.)"""
    cfg = SyntheticConfig(persons=300, institutions=4, seed=7)
    with_programme, _ = generate(cfg)
    monkeypatch.setattr(programme_module, "programme_sources", lambda cfg, inst: ({}, {}))
    without, _ = generate(cfg)
    assert set(with_programme) - set(without) == {"programme_starts", "routine_waves"}
    for name, table in without.items():
        pd.testing.assert_frame_equal(with_programme[name], table, obj=name)


def test_other_parameters_leave_the_waves_alone_and_the_effects_move_them():
    base = generate(SyntheticConfig(persons=300, institutions=4, seed=7))[0]["routine_waves"]
    other = generate(SyntheticConfig(persons=300, institutions=4, seed=7, effect_goal=0.0,
                                     effect_chaos=0.0))[0]["routine_waves"]
    pd.testing.assert_frame_equal(base, other)
    tables, truth = generate(SyntheticConfig(persons=300, institutions=4, seed=7,
                                             effect_programme=0.0, effect_rollout=0.0))
    assert truth["effects"]["programme_ip"]["att"] == 0
    assert truth["effects"]["fit_rollout"]["att_overall"] == 0
    assert (tables["routine_waves"][["institution", "department", "period"]]
            .equals(base[["institution", "department", "period"]]))


@pytest.mark.parametrize("institutions", [1, 2])
def test_without_comparison_institutions(institutions):
    tables, truth = generate(SyntheticConfig(persons=100, institutions=institutions, seed=3))
    assert len(tables["routine_waves"]) > 0
    assert set(tables["programme_starts"]["programme"]) == {"ip_initiative"}
    assert truth["effects"]["fit_rollout"]["institution"] is None
    assert "not identified" in truth["effects"]["programme_ip"]["note"]


@pytest.mark.parametrize("kwargs", [{"effect_programme": 0.3}, {"effect_rollout": (-3.0,)},
                                    {"effect_rollout": ()}])
def test_config_checks_the_programme_effects(kwargs):
    with pytest.raises(ParameterError, match=next(iter(kwargs))):
        SyntheticConfig(**kwargs)


def test_readme_and_manifest_describe_the_sources(small_study, small_truth):
    readme = (small_study / "README.md").read_text(encoding="utf-8")
    assert "routine_waves.csv" in readme and "programme_starts.csv" in readme
    assert f"{small_truth['effects']['fit_rollout']['att_overall']:+.3f}" in readme
    manifest = (small_study / "study.yaml").read_text(encoding="utf-8")
    assert "routine_waves:" in manifest and "- response_id" in manifest and "- start_date" in manifest
