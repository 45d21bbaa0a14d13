"""FIT models over sessions: the session frame, the growth model (IP × time), the locally
derived expected treatment response and OpenFIT-style alerts (evaluation.feedback.sessions,
growth, expected)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation import Study
from evaluation.errors import ParameterError
from evaluation.feedback.expected import ALERTS, LABEL, ExpectedResponse, alerts
from evaluation.feedback.growth import GrowthModel, growth_model
from evaluation.feedback.sessions import REASONS, session_frame
from evaluation.synthetic import SyntheticConfig, write_study

DATA = Path(__file__).parents[1] / "data"


# Reference: lme4 on sleepstudy --------------------------------------------------------------------

def test_growth_model_reproduces_lme4_sleepstudy_random_slopes():
    """lme4: lmer(Reaction ~ Days + (Days | Subject), sleepstudy), REML (Bates et al. 2015,
    and the lme4 documentation): fixed effects 251.405 (SE 6.825) and 10.467 (SE 1.546);
    random-effect SDs 24.741 (intercept) and 5.922 (Days), correlation 0.066; residual SD
    25.592."""
    d = pd.read_csv(DATA / "lme4_sleepstudy.csv")
    m = GrowthModel(outcome="Reaction", time="Days", group="Subject", exposure=None,
                    covariates=(), institution_effects=None).fit(d)
    fe = m.fixed_effects_.set_index("term")
    assert fe.loc["Intercept", "estimate"] == pytest.approx(251.405, rel=1e-4)
    assert fe.loc["Intercept", "se"] == pytest.approx(6.825, rel=1e-3)
    assert fe.loc["Days", "estimate"] == pytest.approx(10.467, rel=1e-4)
    assert fe.loc["Days", "se"] == pytest.approx(1.546, rel=1e-3)
    assert fe.loc["Days", "role"] == "time" and m.interaction_ is None
    re = m.random_effects_.set_index("component")
    assert re.loc["client intercept", "sd"] == pytest.approx(24.741, rel=1e-3)
    assert re.loc["client slope (Days)", "sd"] == pytest.approx(5.922, rel=1e-3)
    assert re.loc["intercept–slope covariance", "correlation"] == pytest.approx(0.066, abs=1e-3)
    assert re.loc["residual", "sd"] == pytest.approx(25.592, rel=1e-3)
    assert m.converged_ and m.notes_ == [] and (m.n_, m.n_clients_) == (180, 18)
    assert m.formula_ == "Reaction ~ Days"


def test_random_intercept_only_matches_lme4():
    """lmer(Reaction ~ Days + (1 | Subject)): Days 10.4673, SE 0.8042 (as in
    test_mixed_imputation)."""
    d = pd.read_csv(DATA / "lme4_sleepstudy.csv")
    m = GrowthModel(outcome="Reaction", time="Days", group="Subject", exposure=None,
                    covariates=(), institution_effects=None, random_slopes=False).fit(d)
    days = m.fixed_effects_.set_index("term").loc["Days"]
    assert days["estimate"] == pytest.approx(10.4673, abs=5e-4)
    assert days["se"] == pytest.approx(0.8042, abs=5e-4)
    assert np.isnan(m.random_effects_["variance"].iloc[1])


# Recovery of the synthetic truth ------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit_study")
    truth = write_study(folder, SyntheticConfig(persons=1500, institutions=4, seed=11))
    study = Study.load(folder / "study.yaml")
    return study, session_frame(study), truth


def test_growth_model_recovers_ip_x_time_from_synthetic_study(synthetic):
    """The truth (ground_truth.json, effects.ors_ip_x_log_session) is the extra ORS gain per
    unit of log(session) with an IP, conditional on severity. The person table's ``severity``
    is the generator's own variable (its latent ``_s`` is (severity − 5) / 2), so adjusting for
    it adjusts for the confounder exactly. The truth is on the latent scale; the ORS ceiling
    (0–40) makes the observed-scale effect about 5 % smaller, far inside this CI but visible
    with ~100,000 clients (BENCHMARKS.md, feedback section)."""
    study, frame, truth = synthetic
    target = truth["effects"]["ors_ip_x_log_session"]["ip_x_log_session"]
    m = growth_model(frame)
    row = m.interaction_
    assert row["term"] == "has_ip:log_session" and row["role"] == "exposure × time"
    assert row["ci_low"] < target < row["ci_high"]
    assert row["ci_high"] - row["ci_low"] < 0.6          # informative
    assert row["scale"] == "slope difference (ORS points)" and "conditional" in row["estimand"]
    assert m.converged_ and m.left_out_ == {"missing has_ip": frame["has_ip"].isna().sum()}
    assert m.n_ == frame["has_ip"].notna().sum()
    assert {"severity:log_session", "institution[T.Karlsborg]"} <= set(m.fixed_effects_["term"])


def test_without_severity_by_time_the_interaction_is_biased(synthetic):
    """Why the model enters severity × time by default: severity slows improvement (slope
    −0.5 per severity SD in the generator) and people with an IP are more severe, so a
    severity main effect alone leaves that slower change in the IP × time term."""
    _, frame, truth = synthetic
    target = truth["effects"]["ors_ip_x_log_session"]["ip_x_log_session"]
    with_ = growth_model(frame).interaction_["estimate"]
    without = growth_model(frame, covariates_by_time=False).interaction_
    assert without["estimate"] < with_ - 0.15
    assert without["ci_high"] < target
    sev = frame.drop_duplicates("person_id").groupby("has_ip")["severity"].mean()
    assert sev[1.0] > sev[0.0]


def test_client_sample_and_dropout_sensitivity(synthetic):
    study, _, truth = synthetic
    frame = session_frame(study, episodes=study.table("fit_episodes"))
    m = growth_model(frame, max_clients=400, seed=3, by_dropout=True)
    n_all = frame.dropna(subset=["has_ip"])["client"].nunique()
    assert m.sampled_["sampled"] and m.sampled_["n_clients"] == 400 == m.n_clients_
    assert m.sampled_["of_clients"] == n_all and sum(m.sampled_["per_stratum"].values()) == 400
    ip_share = frame.dropna(subset=["has_ip"]).groupby("client")["has_ip"].first().mean()
    assert m.sampled_["per_stratum"][1] == pytest.approx(400 * ip_share, abs=1)
    assert "random sample of 400" in m.fixed_effects_["note"].iloc[0]
    assert {"dropout", "dropout:log_session"} <= set(m.fixed_effects_["term"])
    assert m.n_ + sum(m.left_out_.values()) == len(frame)
    with pytest.raises(ParameterError, match="dropout"):
        growth_model(frame.drop(columns="dropout"), by_dropout=True)


def test_expected_response_and_alerts_on_synthetic_study(synthetic):
    _, frame, _ = synthetic
    pct = ExpectedResponse(method="percentile").fit(frame)
    mix = ExpectedResponse(method="mixed").fit(frame)
    assert (pct.curves_["label"] == LABEL).all() and (mix.curves_["label"] == LABEL).all()
    # More improvement is expected from a low intake than from a high one (regression to the
    # mean and room to improve): the mixed model's intake coefficient is below 1.
    assert 0 < mix.fixed_effects_.set_index("term").loc["intake_ors", "estimate"] < 1
    for etr in (pct, mix):
        a = alerts(frame, etr)
        assert list(a.index) == list(frame.index) and set(a["alert"].cat.categories) == set(ALERTS)
        intake = a["ors_number"] == 1
        assert (a.loc[intake, "alert"] == "grey").all()
        assert intake.sum() == frame["client"].nunique()
        assert (a["label"] == LABEL).all()
        green, orange, red = (a[a["alert"] == c] for c in ("green", "orange", "red"))
        assert (green["ors_total"] >= green["target"]).all()
        assert ((orange["ors_total"] < orange["target"])
                & (orange["ors_total"] >= orange["lower"])).all()
        assert (red["ors_total"] < red["lower"]).all() and len(green) and len(red)


# The session frame --------------------------------------------------------------------------------

def _sessions():
    return pd.DataFrame({
        "person_id": ["a", "a", "a", "a", "b", "b", None, "c", "c", "d"],
        "episode": [1, 1, 1, 1, 1, 1, 1, 2, 2, 1],
        "session": [2, 1, 3, 3, 1, 2, 1, 1.5, 2, 1],
        "ors_total": [20.0, 15.0, 22.0, 99.0, None, 30.0, 10.0, 12.0, 14.0, 25.0],
        "srs_total": 36.0, "institution": "X"})


def test_session_frame_accounts_for_every_row():
    persons = pd.DataFrame({"person_id": ["a", "b", "c"], "has_ip": [1, 0, np.nan],
                            "severity": [5.0, 4.0, 6.0]})
    episodes = pd.DataFrame({"person_id": ["a", "b"], "episode": 1,
                             "end_reason": ["dropout", "planned_end"]})
    f = session_frame(_sessions(), persons, episodes=episodes)
    assert f.attrs["rows_in"] == 10
    assert f.attrs["left_out"] == {REASONS[0]: 1, REASONS[1]: 1, REASONS[2]: 1, REASONS[3]: 1}
    assert len(f) + sum(f.attrs["left_out"].values()) == 10
    assert list(f["client"]) == ["a/1", "a/1", "a/1", "b/1", "c/2", "d/1"]
    assert list(f["session"]) == [1, 2, 3, 2, 2, 1]
    # the duplicate a/1 session 3 (ORS 99) is the later row of the file: left out
    assert list(f["ors_total"]) == [15.0, 20.0, 22.0, 30.0, 14.0, 25.0]
    # b's session 1 has no ORS: the intake is its first ORS (session 2)
    assert list(f["intake_ors"]) == [15.0, 15.0, 15.0, 30.0, 14.0, 25.0]
    assert f["log_session"].iloc[2] == pytest.approx(np.log(3))
    assert list(f["dropout"].fillna(-1)) == [1, 1, 1, 0, -1, -1]
    assert f.attrs["missing"] == {"dropout": 2, "has_ip": 2, "severity": 1}
    assert list(f.columns[:9]) == ["person_id", "episode", "client", "institution", "session",
                                   "log_session", "ors_total", "srs_total", "intake_ors"]


def test_session_frame_names_missing_columns():
    with pytest.raises(ParameterError, match=r"\['ors_total'\]"):
        session_frame(_sessions().drop(columns="ors_total"), covariates=())
    with pytest.raises(ParameterError, match="rop_group"):
        session_frame(_sessions(), pd.DataFrame({"person_id": ["a"], "has_ip": [1]}),
                      covariates=["rop_group"])
    persons = pd.DataFrame({"person_id": ["a", "a"], "has_ip": [1, 0], "severity": 1.0})
    with pytest.raises(ParameterError, match="more than once"):
        session_frame(_sessions(), persons)


# The growth model on constructed data -------------------------------------------------------------

def _trajectories(n=200, k=6, slope_sd=1.0, seed=1):
    rng = np.random.default_rng(seed)
    ip = np.repeat(rng.integers(0, 2, n), k)
    t = np.log(np.tile(np.arange(1, k + 1), n))
    y = (np.repeat(rng.normal(18, 4, n), k) + (3 + np.repeat(rng.normal(0, slope_sd, n), k)
                                              + 1.2 * ip) * t + rng.normal(0, 2, n * k))
    return pd.DataFrame({"client": np.repeat(np.arange(n), k), "log_session": t,
                         "ors_total": y, "has_ip": ip,
                         "institution": np.repeat(rng.choice(["A", "B"], n), k)})


def test_boundary_fit_is_a_note_not_an_error():
    df = _trajectories(slope_sd=0.0)        # no slope variance at all
    m = growth_model(df, covariates=())
    assert m.interaction_["ci_low"] < 1.2 < m.interaction_["ci_high"]
    assert any("boundary" in n for n in m.notes_) or m.random_effects_["variance"].iloc[1] > 0
    assert (m.fixed_effects_["note"] == "; ".join(m.notes_)).all()


def test_one_institution_is_said_and_bad_exposure_is_named():
    df = _trajectories().assign(institution="A")
    m = growth_model(df, covariates=())
    assert "one institution: no institution term" in m.notes_
    with pytest.raises(ParameterError, match="'has_ip' must be 0/1; found 2"):
        growth_model(df.assign(has_ip=df["has_ip"] * 2), covariates=())
    with pytest.raises(ParameterError, match="institution_effects"):
        growth_model(df, covariates=(), institution_effects="random")
    with pytest.raises(ParameterError, match="max_clients"):
        growth_model(df, covariates=(), max_clients=0)


# Expected treatment response ----------------------------------------------------------------------

def _etr_frame(n=600, k=8, seed=4):
    rng = np.random.default_rng(seed)
    intake = np.repeat(np.clip(rng.normal(19, 5, n), 0, 40).round(1), k)
    sess = np.tile(np.arange(1, k + 1), n)
    noise = rng.normal(0, 2, n * k) + np.repeat(rng.normal(0, 1.5, n), k)
    ors = 6 + 0.7 * intake + 3.5 * np.log(sess) + noise
    ors = np.where(sess == 1, intake, np.clip(ors, 0, 40)).round(1)
    return pd.DataFrame({"client": np.repeat(np.arange(n), k).astype(str), "session": sess,
                         "ors_total": ors, "intake_ors": intake})


def test_percentile_curves_match_direct_quantiles_and_thin_cells_are_empty():
    f = _etr_frame()
    etr = ExpectedResponse(method="percentile", band=(0.25, 0.5), min_count=20).fit(f)
    post = f[f["session"] > 1]
    c = etr.curves_.set_index(["intake", "session"])
    for level, s in [(19, 2), (14, 5), (24, 8)]:
        cell = post.loc[(post["intake_ors"] - level).abs().le(1 + 1e-9)
                        & (post["session"] == s), "ors_total"]
        row = c.loc[(level, s)]
        assert row["n_clients"] == len(cell) >= 20
        assert [row["lower"], row["expected"], row["upper"]] == pytest.approx(
            list(np.quantile(cell, [0.25, 0.5, 0.75])))
    thin = c[c["n_clients"] < 20]
    assert len(thin) and thin["expected"].isna().all() and thin["lower"].isna().all()
    assert thin["note"].str.contains("fewer than 20 clients").all()
    assert c.index.get_level_values("session").min() == 2
    p = etr.predict([19.4, 19.6, 19.0, 19.0], [3, 3, 1, 9])
    assert p["expected"].iloc[0] == c.loc[(19, 3), "expected"]
    assert p["expected"].iloc[1] == c.loc[(20, 3), "expected"]
    assert p[["expected", "lower"]].iloc[2:].isna().all().all()   # intake session; beyond 8


def test_mixed_curves_recover_the_trajectory_and_band_is_the_reliable_change():
    f = _etr_frame()
    etr = ExpectedResponse(method="mixed", reliable_change=5.0).fit(f)
    fe = etr.fixed_effects_.set_index("term")["estimate"]
    assert fe["intake_ors"] == pytest.approx(0.7, abs=0.05)
    assert fe["log_session"] == pytest.approx(3.5, abs=0.4)
    p = etr.predict([20.0], [4])
    assert p["expected"].iloc[0] == pytest.approx(6 + 0.7 * 20 + 3.5 * np.log(4), abs=0.5)
    assert p["lower"].iloc[0] == pytest.approx(p["expected"].iloc[0] - 5)
    c = etr.curves_
    assert (c["lower"] == np.clip(c["expected"] - 5, 0, 40)).all()
    assert etr.converged_ and etr.sampled_["sampled"] is False
    small = ExpectedResponse(method="mixed", max_clients=200, seed=1).fit(f)
    assert small.sampled_["n_clients"] == 200 and "random sample of 200" in small.notes_[0]


@pytest.mark.parametrize("kwargs, match", [({"method": "hlm"}, "method"),
                                           ({"band": (0.5, 0.25)}, "band"),
                                           ({"reliable_change": 0}, "reliable_change"),
                                           ({"min_count": 0}, "min_count")])
def test_expected_response_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        ExpectedResponse(**kwargs).fit(_etr_frame(n=30, k=3))


# Alerts on hand-set curves ------------------------------------------------------------------------

def _curves():
    """Target 25 and lower bound 20 for intake 18 at sessions 2–4; nothing for intake 30."""
    return ExpectedResponse.from_curves(pd.DataFrame(
        {"intake": [18, 18, 18, 30], "session": [2, 3, 4, 2],
         "expected": [25.0, 25.0, 25.0, np.nan], "lower": [20.0, 20.0, 20.0, np.nan]}))


def test_alerts_follow_openfit_rules_exactly():
    f = pd.DataFrame({
        "client": ["a/1"] * 5 + ["b/1"] * 3 + ["c/1"] * 2,
        "session": [1, 2, 3, 4, 5, 2, 3, 4, 1, 2],
        "ors_total": [18.0, 25.0, 20.0, 19.9, 30.0, 18.2, 24.99, 26.0, 30.0, 29.0],
        "intake_ors": [18.0] * 5 + [18.2] * 3 + [30.0] * 2}).sample(frac=1, random_state=2)
    a = alerts(f, _curves()).loc[f.sort_values(["client", "session"]).index]
    assert list(a["alert"]) == ["grey", "green", "orange", "red", "grey",   # a: s5 beyond curves
                                "grey", "orange", "green",                  # b: intake at session 2
                                "grey", "grey"]                             # c: no curve for 30
    assert list(a["ors_number"]) == [1, 2, 3, 4, 5, 1, 2, 3, 1, 2]
    assert list(a["reason"])[4] == "no expected score for this intake and session"
    assert list(a["reason"])[5] == "first ORS of the episode (intake)"
    assert a["target"].iloc[1] == 25.0 and np.isnan(a["target"].iloc[0])
    assert (a["label"] == LABEL).all()


def test_alerts_grey_for_a_session_without_ors():
    f = pd.DataFrame({"client": "a/1", "session": [1, 2, 3], "ors_total": [18.0, np.nan, 26.0],
                      "intake_ors": 18.0})
    a = alerts(f, _curves())
    assert list(a["alert"]) == ["grey", "grey", "green"]
    assert list(a["ors_number"]) == [1, 1, 2]
    assert a["reason"].iloc[1] == "no ORS total at this session"
    with pytest.raises(ParameterError, match="intake_ors"):
        alerts(f.drop(columns="intake_ors"), _curves())


def test_ground_truth_names_the_effect_tested():
    """The key the recovery test reads exists in the shipped study's truth as well."""
    truth = json.loads((Path(__file__).parents[2] / "data_synthetic" / "ground_truth.json")
                       .read_text(encoding="utf-8"))
    assert "ip_x_log_session" in truth["effects"]["ors_ip_x_log_session"]
