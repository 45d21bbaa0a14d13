"""Propensity model, balancing weights, positivity and balance tables.

References used:
* Lalonde NSW experimental sample as in Dehejia & Wahba (1999), 185 treated / 260 controls
  (tests/data/lalonde_nsw_dehejia_wahba_445.csv; column ``nodegr`` is "no degree"). Arm means
  below were derived by hand with numpy from the file; rounded they are the figures of Dehejia &
  Wahba (1999), Table 1 (treated age 25.81, educ 10.35, RE74 2096, RE75 1532; controls 25.05,
  10.09, 2107, 1267).
* statsmodels' Logit fitted directly on a design matrix built with numpy.
* The synthetic generator (confounded by severity).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402

from evaluation.association.balance import (balance, love_plot, overlap_plot, table_one,  # noqa: E402
                                            weight_plot)
from evaluation.association.propensity import (balancing_weights, positivity,  # noqa: E402
                                               propensity_model)
from evaluation.disclosure import DisclosureRules  # noqa: E402
from evaluation.errors import ParameterError  # noqa: E402
from evaluation.synthetic import SyntheticConfig, generate  # noqa: E402

DATA = Path(__file__).parents[1] / "data"
LALONDE_COVS = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75"]
SYN_COVS = ["severity", "age", "months_in_service", "rop_group", "municipality_size"]


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(DATA / "lalonde_nsw_dehejia_wahba_445.csv")


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    tables, _ = generate(SyntheticConfig(persons=2000, institutions=4, seed=3))
    residents = tables["residents"][["resp_id", "has_ip"]]
    return tables["persons"].merge(residents, left_on="person_id", right_on="resp_id")


@pytest.fixture(scope="module")
def synthetic_scores(synthetic) -> pd.Series:
    return propensity_model(synthetic, "has_ip", SYN_COVS).scores_


# ----------------------------------------------------------------------------- Lalonde
def test_lalonde_sample_and_arm_means(lalonde):
    assert (lalonde["treat"] == 1).sum() == 185 and (lalonde["treat"] == 0).sum() == 260
    t1 = table_one(lalonde, "treat", LALONDE_COVS).set_index("variable")
    # derived by hand from the file (numpy means), equal to D&W 1999 Table 1 when rounded
    expected = {"age": (25.816216, 25.053846), "educ": (10.345946, 10.088462),
                "re74": (2095.574000, 2107.026815), "re75": (1532.055630, 1266.909241)}
    printed = {"age": (25.81, 25.05), "educ": (10.35, 10.09), "re74": (2096, 2107), "re75": (1532, 1267)}
    for var, (m1, m0) in expected.items():
        assert t1.loc[var, "treated_mean"] == pytest.approx(m1, abs=1e-6)
        assert t1.loc[var, "control_mean"] == pytest.approx(m0, abs=1e-6)
        digits = 2 if var in ("age", "educ") else 0
        assert round(t1.loc[var, "treated_mean"], digits) == pytest.approx(printed[var][0], abs=0.011)
        assert round(t1.loc[var, "control_mean"], digits) == pytest.approx(printed[var][1], abs=0.011)
    assert t1.loc["age", "treated_n"] == 185 and t1.loc["age", "control_n"] == 260
    # binary: counts and % by hand
    assert t1.loc["hisp", "treated_count"] == 11 and t1.loc["hisp", "control_count"] == 28
    assert t1.loc["nodegr", "treated_percent"] == pytest.approx(100 * 131 / 185)


def test_lalonde_smd_matches_hand_computation(lalonde):
    t = lalonde["treat"].to_numpy() == 1
    age = lalonde["age"].to_numpy(float)
    a1, a0 = age[t], age[~t]
    hand_ate = (a1.mean() - a0.mean()) / np.sqrt((a1.var(ddof=1) + a0.var(ddof=1)) / 2)
    hand_att = (a1.mean() - a0.mean()) / a1.std(ddof=1)
    black = lalonde["black"].to_numpy(float)
    hand_black = black[t].mean() - black[~t].mean()            # raw difference (cobalt default)
    ate = table_one(lalonde, "treat", LALONDE_COVS).set_index("variable")
    att = table_one(lalonde, "treat", LALONDE_COVS, estimand="ATT").set_index("variable")
    assert ate.loc["age", "smd"] == pytest.approx(hand_ate, rel=1e-12)
    assert ate.loc["age", "smd"] == pytest.approx(0.107277, abs=1e-6)
    assert att.loc["age", "smd"] == pytest.approx(hand_att, rel=1e-12)
    assert att.loc["age", "smd"] == pytest.approx(0.106550, abs=1e-6)
    assert ate.loc["black", "smd"] == pytest.approx(hand_black, rel=1e-12)
    assert ate.loc["black", "smd"] == pytest.approx(156 / 185 - 215 / 260, abs=1e-12)
    assert ate.loc["black", "type"] == "binary"
    assert ate.loc["re74", "smd"] == pytest.approx(-0.002160, abs=1e-6)
    assert ate.loc["nodegr", "smd"] == pytest.approx(131 / 185 - 217 / 260, abs=1e-12)


def test_propensity_model_equals_statsmodels_logit(lalonde):
    m = propensity_model(lalonde, "treat", LALONDE_COVS)
    X = sm.add_constant(lalonde[LALONDE_COVS].to_numpy(float))
    ref = sm.Logit(lalonde["treat"].to_numpy(float), X).fit(disp=0)
    np.testing.assert_allclose(np.asarray(m.result_.params), ref.params, rtol=1e-6)
    or_ = m.odds_ratios_
    assert or_["term"].tolist() == ["Intercept", *LALONDE_COVS]
    np.testing.assert_allclose(or_["estimate"], np.exp(ref.params), rtol=1e-6)
    np.testing.assert_allclose(or_["ci_low"], np.exp(ref.conf_int()[:, 0]), rtol=1e-6)
    np.testing.assert_allclose(or_["ci_high"], np.exp(ref.conf_int()[:, 1]), rtol=1e-6)
    np.testing.assert_allclose(or_["p_value"], ref.pvalues, rtol=1e-5)
    assert (or_["n"] == 445).all()
    np.testing.assert_allclose(m.scores_.to_numpy(), ref.predict(X), rtol=1e-6)


def test_cluster_robust_odds_ratios_equal_statsmodels(synthetic):
    d = synthetic
    m = propensity_model(d, "has_ip", ["severity", "age"], cluster="institution")
    X = sm.add_constant(d[["severity", "age"]].to_numpy(float))
    groups = pd.factorize(d["institution"])[0]
    ref = sm.Logit(d["has_ip"].to_numpy(float), X).fit(disp=0, cov_type="cluster",
                                                       cov_kwds={"groups": groups})
    np.testing.assert_allclose(m.odds_ratios_["ci_low"], np.exp(ref.conf_int()[:, 0]), rtol=1e-6)
    naive = propensity_model(d, "has_ip", ["severity", "age"]).odds_ratios_
    assert not np.allclose(naive["ci_low"], m.odds_ratios_["ci_low"])    # the clustering matters


def test_categorical_covariates_enter_as_levels(synthetic):
    terms = propensity_model(synthetic, "has_ip", SYN_COVS).odds_ratios_["term"].tolist()
    assert "rop_group[rop]" in terms and "municipality_size[small]" in terms


# ----------------------------------------------------------------------------- weights
def _abs_mean_diff(x, t, w):
    return abs(np.average(x[t == 1], weights=w[t == 1]) - np.average(x[t == 0], weights=w[t == 0]))


def test_ate_weights_improve_balance(synthetic, synthetic_scores):
    d = synthetic
    w = balancing_weights(synthetic_scores, d["has_ip"], estimand="ATE")
    t = d["has_ip"].to_numpy()
    design = pd.get_dummies(d[SYN_COVS], columns=["rop_group", "municipality_size"], dtype=float)
    for col in design.columns:
        x = design[col].to_numpy()
        before = _abs_mean_diff(x, t, np.ones(len(t)))
        after = _abs_mean_diff(x, t, w.weights.to_numpy())
        assert after < before, col
    # the confounder is clearly imbalanced before and balanced after
    tab = balance(d, "has_ip", SYN_COVS, w, estimand="ATE").set_index(["variable", "level"])
    sev = tab.loc[("severity", "")]
    assert abs(sev["smd_unweighted"]) > 0.3 and abs(sev["smd_weighted"]) < 0.1
    assert bool(sev["balanced"]) and not bool(sev["balanced_unweighted"])
    assert (tab["threshold"] == 0.1).all()
    assert (tab["smd_weighted"].abs() <= tab["smd_unweighted"].abs()).all()


def test_weighted_smd_keeps_unweighted_denominator(synthetic, synthetic_scores):
    d = synthetic
    w = balancing_weights(synthetic_scores, d["has_ip"], estimand="ATE").weights.to_numpy()
    t = d["has_ip"].to_numpy()
    x = d["severity"].to_numpy(float)
    denom = np.sqrt((x[t == 1].var(ddof=1) + x[t == 0].var(ddof=1)) / 2)
    hand = (np.average(x[t == 1], weights=w[t == 1]) - np.average(x[t == 0], weights=w[t == 0])) / denom
    t1 = table_one(d, "has_ip", ["severity"], weights=w).set_index("variable")
    assert t1.loc["severity", "smd"] == pytest.approx(hand, rel=1e-10)
    ess1 = w[t == 1].sum() ** 2 / (w[t == 1] ** 2).sum()
    assert t1.loc["severity", "treated_ess"] == pytest.approx(ess1)


def test_att_weights_are_one_for_treated(synthetic, synthetic_scores):
    w = balancing_weights(synthetic_scores, synthetic["has_ip"], estimand="ATT")
    treated = synthetic["has_ip"] == 1
    assert (w.weights[treated] == 1).all()
    e = synthetic_scores[~treated]
    np.testing.assert_allclose(w.weights[~treated], e / (1 - e))


def test_overlap_weights_in_unit_interval_and_balance_exactly(synthetic, synthetic_scores):
    w = balancing_weights(synthetic_scores, synthetic["has_ip"], estimand="overlap")
    assert w.estimand == "ATO"
    assert ((w.weights >= 0) & (w.weights <= 1)).all()
    # Li, Morgan & Zaslavsky (2018): with a logistic propensity model, overlap weights balance
    # the means of every covariate in the model exactly
    tab = balance(synthetic, "has_ip", SYN_COVS, w, estimand="ATO")
    assert tab["smd_weighted"].abs().max() < 1e-6


def test_effective_sample_size(synthetic, synthetic_scores):
    t = synthetic["has_ip"]
    w = balancing_weights(synthetic_scores, t, estimand="ATE")
    ess = w.effective_sample_size().set_index("group")
    assert (ess["ess"] <= ess["n"] + 1e-9).all()
    assert ess.loc["treated", "n"] == (t == 1).sum()
    wt = w.weights[t == 1]
    assert ess.loc["treated", "ess"] == pytest.approx(wt.sum() ** 2 / (wt ** 2).sum())
    # equal weights: ESS = n (ATT treated arm has weight 1 throughout)
    att = balancing_weights(synthetic_scores, t, estimand="ATT").effective_sample_size().set_index("group")
    assert att.loc["treated", "ess"] == pytest.approx((t == 1).sum())


def test_trimming_and_truncation_are_counted(synthetic, synthetic_scores):
    t = synthetic["has_ip"]
    e = synthetic_scores
    outside = (e < 0.2) | (e > 0.8)
    assert 0 < outside.sum() < len(e)
    w = balancing_weights(e, t, estimand="ATE", trim=0.2)
    assert w.n_trimmed == outside.sum()
    assert len(w.weights) == len(e)                          # kept, not dropped
    assert (w.weights[outside] == 0).all() and (w.weights[~outside] > 0).all()
    assert w.effective_sample_size()["n"].sum() == len(e)
    plain = balancing_weights(e, t, estimand="ATE").weights
    cut = balancing_weights(e, t, estimand="ATE", truncate=0.95)
    cap = np.quantile(plain, 0.95)
    assert cut.n_truncated == (plain > cap).sum() > 0
    assert cut.weights.max() == pytest.approx(cap)
    assert balancing_weights(e, t).n_trimmed == 0


def test_weights_by_hand():
    w = balancing_weights([0.2, 0.5, 0.8, 0.4], [1, 0, 1, 0], estimand="ATE").weights
    np.testing.assert_allclose(w, [1 / 0.2, 1 / 0.5, 1 / 0.8, 1 / 0.6])
    w = balancing_weights([0.2, 0.5, 0.8, 0.4], [1, 0, 1, 0], estimand="ATO").weights
    np.testing.assert_allclose(w, [0.8, 0.5, 0.2, 0.4])


# ----------------------------------------------------------------------------- positivity
def test_institution_treating_everyone_is_flagged_not_a_crash(synthetic):
    d = synthetic.copy()
    everyone = d["institution"].iloc[0]
    d.loc[d["institution"] == everyone, "has_ip"] = 1
    m = propensity_model(d, "has_ip", SYN_COVS, cluster="institution")
    diag = positivity(m.scores_, d["has_ip"], by="institution", data=d).set_index("group")
    assert diag.loc[everyone, "problem"] == "everyone treated"
    assert not diag.loc[everyone, "usable"]
    assert diag.loc[everyone, "n_treated"] == (d["institution"] == everyone).sum()
    others = diag.drop(index=[everyone, "all"])
    assert others["usable"].all() and (others["problem"] != "everyone treated").all()
    # weights can still be formed (ATO needs no trimming)
    w = balancing_weights(m.scores_, d["has_ip"], estimand="ATO")
    assert w.weights.notna().all()
    # with institution as a covariate the level separates: a clear message naming it
    with pytest.raises(ParameterError, match=f"institution = '{everyone}'"):
        propensity_model(d, "has_ip", SYN_COVS + ["institution"])


def test_positivity_no_one_treated():
    d = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "t": [0] * 5 + [0, 1, 0, 1, 1],
                      "e": [0.01, 0.02, 0.1, 0.2, 0.03, 0.5, 0.6, 0.4, 0.7, 0.5]})
    out = positivity("e", "t", by="g", data=d).set_index("group")
    assert out.loc["a", "problem"] == "no one treated"
    assert out.loc["a", "n_outside"] == 3
    assert out.loc["b", "problem"] == "" and out.loc["b", "usable"]


# ----------------------------------------------------------------------------- bad input
def test_separating_covariate_is_named():
    rng = np.random.default_rng(1)
    t = np.r_[np.ones(50), np.zeros(50)]
    d = pd.DataFrame({"t": t, "age": rng.normal(40, 10, 100), "dose": t * 10 + rng.uniform(0, 5, 100)})
    with pytest.raises(ParameterError, match="perfect separation.*dose"):
        propensity_model(d, "t", ["age", "dose"])


def test_joint_separation_is_caught():
    rng = np.random.default_rng(2)
    x1, x2 = rng.normal(size=200), rng.normal(size=200)
    d = pd.DataFrame({"t": (x1 + x2 > 0).astype(int), "x1": x1, "x2": x2})
    with pytest.raises(ParameterError, match="perfect separation"):
        propensity_model(d, "t", ["x1", "x2"])


def test_bad_treatment_and_covariates(lalonde):
    with pytest.raises(ParameterError, match="'nodegree' not in the data"):
        propensity_model(lalonde, "treat", ["age", "nodegree"])
    with pytest.raises(ParameterError, match="0/1"):
        propensity_model(lalonde.assign(treat=lalonde["treat"] + 1), "treat", ["age"])
    with pytest.raises(ParameterError, match="only one value"):
        propensity_model(lalonde.assign(treat=1), "treat", ["age"])
    with pytest.raises(ParameterError, match="too few rows"):
        propensity_model(lalonde.iloc[[0, 1, 2, 300, 301, 302]], "treat", ["age", "educ"])
    with pytest.raises(ParameterError, match="estimand"):
        balancing_weights([0.5], [1], estimand="ATX")
    with pytest.raises(ParameterError, match="exactly 0 or 1"):
        balancing_weights([1.0, 0.5], [0, 1], estimand="ATE")


# ----------------------------------------------------------------------------- plots
def test_plots_return_axes_and_apply_disclosure(synthetic, synthetic_scores):
    d = synthetic.assign(propensity=synthetic_scores,
                         weight=balancing_weights(synthetic_scores, synthetic["has_ip"]).weights)
    tab = balance(d, "has_ip", SYN_COVS, "weight")
    ax = love_plot(tab)
    assert isinstance(ax, plt.Axes)
    assert any(np.allclose(line.get_xdata(), 0.1) for line in ax.get_lines())
    assert len(ax.get_yticklabels()) == len(tab)
    ax = overlap_plot(d, x="propensity", hue="has_ip", rules=DisclosureRules(min_cell=5))
    assert isinstance(ax, plt.Axes)
    ax = weight_plot(d, x="weight", hue="has_ip")
    assert isinstance(ax, plt.Axes)
    # a bin with only one or two people is not drawn, and the figure says so
    few = pd.DataFrame({"propensity": [0.05, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56],
                        "t": [1, 1, 1, 1, 1, 1, 1]})
    ax = overlap_plot(few, x="propensity", hue="t", bins=10)
    assert any("not drawn" in t.get_text() for t in ax.texts)
    plt.close("all")


def test_table_one_suppresses_small_cells():
    d = pd.DataFrame({"t": [1] * 20 + [0] * 20, "rare": [1, 1] + [0] * 38,
                      "x": np.arange(40, dtype=float)})
    t1 = table_one(d, "t", ["rare", "x"], rules=DisclosureRules()).set_index("variable")
    assert t1.loc["rare", "suppressed"] and pd.isna(t1.loc["rare", "treated_count"])
    assert pd.isna(t1.loc["rare", "smd"])
    assert not t1.loc["x", "suppressed"]
    # Without rules every count is kept: the disclosure layer hides them when shown.
    kept = table_one(d, "t", ["rare", "x"]).set_index("variable")
    assert kept.loc["rare", "treated_count"] == 2 and not kept["suppressed"].any()
