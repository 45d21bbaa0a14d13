"""The synthetic study: deterministic, complete, with the truth and the problems it claims."""
from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluation import Study
from evaluation.errors import ParameterError
from evaluation.intake.readers import read_table
from evaluation.synthetic import SyntheticConfig, generate, write_study
from evaluation.synthetic.config import INSTITUTIONS
from evaluation.synthetic.interviews import expected_nominal_alpha

# Allowed values of the item columns a validator checks (docs/instruments.md).
RANGES = {
    "questionnaire_residents.csv": {**{f"chaos_{j}": (1, 5) for j in range(1, 7)},
                                    **{f"gas_{j}": (-2, 2) for j in range(1, 4)},
                                    "ip_involvement": (1, 5), "ip_usefulness": (1, 5),
                                    "goal_retention": (0, 1)},
    "fit_sessions.csv": {f"{i}_{j}": (0, 10) for i in ("ors", "srs") for j in range(1, 5)},
    "brukerplan.csv": {c: (1, 5) for c in ["bp_substance_use", "bp_economy", "bp_mental_health",
                                           "bp_physical_health", "bp_housing", "bp_social",
                                           "bp_network", "bp_activity"]},
    "inspire.csv": {**{f"inspire_sup_{j:02d}": (0, 4) for j in range(1, 21)},
                    **{f"inspire_rel_{j}": (0, 4) for j in range(1, 8)}},
    "inspire_brief.csv": {f"inspire_brief_{j}": (0, 4) for j in range(1, 6)},
}
CHAOS = [f"chaos_{j}" for j in range(1, 7)]


def _xlsx_members(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


# -- determinism ----------------------------------------------------------------------------------
def test_same_seed_same_files(small_study, small_config, tmp_path):
    write_study(tmp_path, small_config)
    first = sorted(p.name for p in small_study.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == first
    assert len(first) >= 14
    for name in first:
        a, b = small_study / name, tmp_path / name
        if name.endswith(".xlsx"):
            # Compared member by member too, so a failure names the member that differs.
            ma, mb = _xlsx_members(a), _xlsx_members(b)
            assert ma.keys() == mb.keys()
            assert all(ma[m] == mb[m] for m in ma if m != "docProps/core.xml"), name
        else:
            assert a.read_bytes() == b.read_bytes(), name


def test_same_seed_same_bytes_at_another_time(small_study, small_config, tmp_path, monkeypatch):
    later = time.time() + 3 * 3600
    monkeypatch.setattr(time, "time", lambda: later)     # regenerate "three hours later"
    write_study(tmp_path, small_config)
    name = "questionnaire_staff.xlsx"
    assert (tmp_path / name).read_bytes() == (small_study / name).read_bytes()


def test_different_seeds_differ(tmp_path):
    a = generate(SyntheticConfig(persons=60, institutions=2, seed=1))
    b = generate(SyntheticConfig(persons=60, institutions=2, seed=2))
    assert not a[0]["persons"].equals(b[0]["persons"])
    assert not a[0]["residents"].equals(b[0]["residents"])
    assert a[1]["effects"]["daily_chaos"]["ate"] != b[1]["effects"]["daily_chaos"]["ate"]
    write_study(tmp_path / "a", SyntheticConfig(persons=60, institutions=2, seed=1))
    write_study(tmp_path / "b", SyntheticConfig(persons=60, institutions=2, seed=2))
    assert (tmp_path / "a/persons.csv").read_bytes() != (tmp_path / "b/persons.csv").read_bytes()
    assert (tmp_path / "a/pseudonym.key").read_text() != (tmp_path / "b/pseudonym.key").read_text()


# -- completeness ---------------------------------------------------------------------------------
def test_every_source_present_with_requested_size(small_study, small_truth, small_config):
    manifest = yaml.safe_load((small_study / "study.yaml").read_text(encoding="utf-8"))
    files = {spec["file"] for spec in manifest["sources"].values()}
    assert files == set(small_truth["files"])
    for name, spec in manifest["sources"].items():
        df = read_table(small_study / spec["file"])
        assert len(df) == small_truth["files"][spec["file"]]["rows"] > 0, name
    persons = read_table(small_study / "persons.csv")
    assert len(persons) == small_config.persons == 300
    assert persons["person_id"].is_unique
    names = {name for name, *_ in INSTITUTIONS[: small_config.institutions]}
    assert {i["institution"] for i in small_truth["institutions"]} == names
    assert sum(i["persons"] for i in small_truth["institutions"]) == 300
    for file in ["persons.csv", "questionnaire_residents.csv", "questionnaire_staff.xlsx",
                 "fit_sessions.csv", "interview_segments.csv"]:
        assert set(read_table(small_study / file)["institution"]) == names, file
    assert {"study.yaml", "ground_truth.json", "README.md", "pseudonym.key"} <= {
        p.name for p in small_study.iterdir()}


def test_many_institutions_beyond_the_catalogue():
    tables, truth = generate(SyntheticConfig(persons=200, institutions=10, seed=3))
    assert tables["persons"]["institution"].nunique() == 10
    assert len(truth["institutions"]) == 10


# -- the truth ------------------------------------------------------------------------------------
def test_goal_ate_is_the_requested_effect_and_crude_understates_it(small_truth, small_config):
    goal = small_truth["effects"]["goal_retention"]
    assert goal["ate"] == pytest.approx(small_config.effect_goal, abs=1e-9)
    assert goal["crude"] < goal["ate"]
    chaos = small_truth["effects"]["daily_chaos"]
    assert chaos["ate"] < 0
    assert chaos["crude"] > chaos["ate"]


def test_confounding_direction_in_the_loaded_data(small_loaded, small_truth):
    people = small_loaded.person_table()
    answered = people[people["has_ip"].notna()]
    goal = answered.dropna(subset=["goal_retention"])
    crude_goal = (goal.loc[goal["has_ip"] == 1, "goal_retention"].mean()
                  - goal.loc[goal["has_ip"] == 0, "goal_retention"].mean())
    assert crude_goal < small_truth["effects"]["goal_retention"]["ate"]

    items = answered[CHAOS]
    complete = items.isin([1, 2, 3, 4, 5]).all(axis=1)     # planted 0/6/7 and blanks left out
    items = items[complete].copy()
    for col in ["chaos_1", "chaos_3"]:
        items[col] = 6 - items[col]
    score = items.mean(axis=1)
    ip = answered.loc[complete, "has_ip"]
    crude_chaos = score[ip == 1].mean() - score[ip == 0].mean()
    ate_chaos = small_truth["effects"]["daily_chaos"]["ate"]
    assert ate_chaos < 0
    assert crude_chaos > ate_chaos
    assert complete.sum() > 0.6 * len(answered)


def test_ip_more_common_at_higher_severity(small_loaded):
    people = small_loaded.person_table().dropna(subset=["has_ip"])
    tertile = pd.qcut(people["severity"], 3, labels=False)
    coverage = people.groupby(tertile)["has_ip"].mean()
    assert coverage[2] > coverage[0] + 0.1


def test_zero_effects_give_zero_truth():
    _, truth = generate(SyntheticConfig(persons=300, institutions=4, seed=7, effect_goal=0,
                                        effect_chaos=0))
    for outcome in ["goal_retention", "daily_chaos"]:
        eff = truth["effects"][outcome]
        assert abs(eff["ate"]) < 1e-12 and abs(eff["att"]) < 1e-12, outcome
    assert truth["effects"]["goal_retention"]["conditional_odds_ratio"] == 1.0


def test_planted_out_of_range_values_are_exactly_those_in_the_files(small_study, small_truth):
    found = set()
    for file, ranges in RANGES.items():
        df = read_table(small_study / file)
        for col, (low, high) in ranges.items():
            values = pd.to_numeric(df[col])
            bad = values.notna() & ((values < low) | (values > high))
            found |= {(file, int(i) + 1, col, float(values[i])) for i in df.index[bad]}
    planted = {(p["file"], p["row"], p["column"], p["value"])
               for p in small_truth["planted_problems"] if p["problem"] == "out_of_range"}
    assert planted
    assert found == planted


def test_planted_duplicates_are_copies_of_their_originals(small_study, small_truth):
    for p in small_truth["planted_problems"]:
        if p["problem"] != "duplicate_submission":
            continue
        df = read_table(small_study / p["file"])
        copy, original = df.iloc[p["row"] - 1], df.iloc[p["duplicate_of_row"] - 1]
        same = [c for c in df.columns if not c.startswith("$")]   # system columns differ
        pd.testing.assert_series_equal(copy[same], original[same], check_names=False)


# -- configuration ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, name", [
    ({"persons": 5}, "persons"), ({"coders": 4}, "coders"), ({"effect_goal": 0.9}, "effect_goal"),
    ({"years": (2024,)}, "years"), ({"institutions": 0}, "institutions"),
    ({"coder_accuracy": 0}, "coder_accuracy"), ({"years": (2024, 2023)}, "years"),
    ({"persons": 30, "institutions": 6}, "persons"),
])
def test_config_rejects_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError) as err:
        SyntheticConfig(**kwargs)
    assert name in str(err.value)
    assert err.value.exit_code == 2


def test_config_accepts_defaults_and_round_trips_in_the_truth(small_truth, small_config):
    assert small_truth["config"] == small_config.as_dict()
    assert SyntheticConfig().persons == 800


def test_expected_alpha():
    shares = np.array([0.2, 0.3, 0.1, 0.4])
    assert expected_nominal_alpha(shares, 1.0) == pytest.approx(1.0)
    uniform = np.full(5, 0.2)
    assert expected_nominal_alpha(uniform, 0.2) == pytest.approx(0.0, abs=1e-12)  # chance level
    alphas = [expected_nominal_alpha(shares, q) for q in (0.5, 0.7, 0.85, 0.95)]
    assert alphas == sorted(alphas) and 0 < alphas[0] < alphas[-1] < 1


def test_readme_states_the_truth(small_study, small_truth):
    readme = (small_study / "README.md").read_text(encoding="utf-8")
    assert f"{small_truth['effects']['goal_retention']['ate']:+.3f}" in readme
    assert "seed 7" in readme


def test_written_study_loads_with_every_source(small_loaded, small_truth):
    report = small_loaded.load_report()
    assert set(report["file"]) == set(small_truth["files"])
    assert (report["rows_used"] > 0).all()


def test_generate_does_not_write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tables, truth = generate(SyntheticConfig(persons=40, institutions=2, seed=4))
    assert not list(tmp_path.iterdir())
    assert len(tables["persons"]) == 40 == truth["config"]["persons"]


def test_study_from_generated_folder_reads_xlsx_staff(small_study):
    staff = Study.load(small_study).table("staff")
    raw = pd.read_excel(io.BytesIO((small_study / "questionnaire_staff.xlsx").read_bytes()))
    assert len(staff) == len(raw)
    assert staff["staff_id"].str.startswith("ps_").all()
