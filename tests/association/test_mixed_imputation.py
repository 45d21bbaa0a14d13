"""Mixed model, multiple imputation with Rubin's rules, complete-case accounting, and
multiplicity adjustment (evaluation.association.mixed / imputation / multiplicity)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from evaluation.association.imputation import complete_cases, mice_estimate, rubin_pool
from evaluation.association.mixed import LPM_NOTE, ONE_GROUP_NOTE, mixed_model
from evaluation.association.multiplicity import adjust_pvalues
from evaluation.errors import ParameterError

DATA = Path(__file__).parents[1] / "data"


# Mixed model --------------------------------------------------------------------------------------

def _clustered(seed=1, n_groups=20, per_group=50, effect=1.5, group_sd=2.0, resid_sd=3.0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    t = rng.integers(0, 2, g.size)
    x = rng.normal(size=g.size)
    y = 10 + effect * t + 0.8 * x + rng.normal(0, group_sd, n_groups)[g] \
        + rng.normal(0, resid_sd, g.size)
    return pd.DataFrame({"y": y, "ip": t, "age": x, "institution": g,
                         "region": np.where(g < n_groups // 2, "north", "south")})


def test_mixed_model_recovers_simulated_effect_and_variance():
    df = _clustered()  # truth: effect 1.5, random-intercept variance 4.0
    res = mixed_model(df, "y", "ip", ["age", "region"], group="institution", kind="continuous")
    assert len(res) == 1
    row = res.iloc[0]
    assert row["method"] == "mixed" and row["scale"] == "mean difference"
    assert row["ci_low"] < 1.5 < row["ci_high"]
    assert row["ci_high"] - row["ci_low"] < 1.0  # informative, not a vacuous interval
    assert 1.5 < row["group_var"] < 10.0
    assert (row["n"], row["n_exposed"], row["n_groups"]) == (1000, int(df.ip.sum()), 20)
    assert row["p_value"] < 1e-6


def test_sleepstudy_random_intercept_matches_lme4():
    """lme4: lmer(Reaction ~ Days + (1 | Subject), sleepstudy), REML.

    Published (lme4 docs / Bates et al. 2015) for the random-slope model and, the design being
    balanced, the same for the random-intercept model: intercept 251.4051, Days 10.4673.
    SE(Days) = 0.8042 for the random-intercept model, checked here by the closed form of a
    balanced design: the within-subject (subject fixed effects) OLS SE of Days.
    """
    d = pd.read_csv(DATA / "lme4_sleepstudy.csv")
    fit = smf.mixedlm("Reaction ~ Days", d, groups=d["Subject"]).fit(reml=True)
    assert fit.fe_params["Intercept"] == pytest.approx(251.4051, abs=5e-5)
    assert fit.fe_params["Days"] == pytest.approx(10.4673, abs=5e-5)
    assert fit.bse_fe["Days"] == pytest.approx(0.8042, abs=5e-5)

    within = smf.ols("Reaction ~ Days + C(Subject)", d).fit()
    sigma2 = within.scale  # balanced design: REML residual variance = within-subject MS
    assert fit.scale == pytest.approx(sigma2, rel=1e-4)
    assert fit.bse_fe["Days"] == pytest.approx(within.bse["Days"], rel=1e-4)
    # random-intercept variance: ANOVA (method of moments) = REML when positive, balanced
    k = d.groupby("Subject").size().iloc[0]
    ms_between = k * ((d.groupby("Subject")["Reaction"].mean() - d["Reaction"].mean()) ** 2
                      ).sum() / (d["Subject"].nunique() - 1)
    assert float(fit.cov_re.iloc[0, 0]) == pytest.approx((ms_between - sigma2) / k, rel=1e-3)


def test_mixed_model_function_matches_closed_form_on_sleepstudy():
    """mixed_model itself on sleepstudy with a 0/1 'treatment' (second half of the days):
    in this balanced design the REML estimate and SE equal the within-subject OLS ones."""
    d = pd.read_csv(DATA / "lme4_sleepstudy.csv")
    d["late"] = (d["Days"] >= 5).astype(int)
    res = mixed_model(d, "Reaction", "late", ["Days"], group="Subject", kind="continuous")
    within = smf.ols("Reaction ~ late + Days + C(Subject)", d).fit()
    row = res.iloc[0]
    assert row["estimate"] == pytest.approx(within.params["late"], rel=1e-5)
    assert row["se"] == pytest.approx(within.bse["late"], rel=1e-4)
    assert row["ci_low"] == pytest.approx(row["estimate"] - stats.norm.ppf(0.975) * row["se"])
    assert (row["n"], row["n_exposed"], row["n_groups"]) == (180, 90, 18)


def test_mixed_model_binary_gives_risk_difference_and_gee_odds_ratio():
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(20), 50)
    t = rng.integers(0, 2, g.size)
    p = 0.3 + 0.15 * t + rng.uniform(-0.1, 0.1, 20)[g]  # linear probability model is true
    df = pd.DataFrame({"goal": (rng.random(g.size) < p).astype(int), "ip": t,
                       "institution": g})
    res = mixed_model(df, "goal", "ip", [], group="institution", kind="binary")
    assert list(res["method"]) == ["mixed", "gee"]
    mixed, gee = res.iloc[0], res.iloc[1]
    assert mixed["scale"] == "risk difference" and mixed["note"].startswith(LPM_NOTE)
    assert mixed["ci_low"] < 0.15 < mixed["ci_high"]
    assert gee["scale"] == "odds ratio" and np.isnan(gee["group_var"])
    assert gee["ci_low"] < gee["estimate"] < gee["ci_high"] and gee["estimate"] > 1
    direct = smf.gee("goal ~ ip", groups="institution", data=df,
                     family=sm.families.Binomial(),
                     cov_struct=sm.cov_struct.Exchangeable()).fit()
    assert gee["estimate"] == pytest.approx(np.exp(direct.params["ip"]), rel=1e-6)


@pytest.mark.parametrize("kind, outcome", [("continuous", "y"), ("binary", "b")])
def test_single_institution_gives_nan_with_note(kind, outcome):
    df = _clustered().assign(institution=1)
    df["b"] = (df["y"] > df["y"].median()).astype(int)
    res = mixed_model(df, outcome, "ip", ["age", "region"], group="institution", kind=kind)
    assert len(res) == (1 if kind == "continuous" else 2)
    assert res["estimate"].isna().all() and res["ci_low"].isna().all()
    assert (res["note"] == ONE_GROUP_NOTE).all()
    assert (res["n"] == 1000).all() and (res["n_groups"] == 1).all()


def test_mixed_model_bad_input_names_column_and_value():
    df = _clustered()
    with pytest.raises(ParameterError, match="'severity'"):
        mixed_model(df, "y", "ip", ["severity"], group="institution", kind="continuous")
    with pytest.raises(ParameterError, match="one value"):
        mixed_model(df.assign(ip=1), "y", "ip", [], group="institution", kind="continuous")
    with pytest.raises(ParameterError, match="'ordinal'"):
        mixed_model(df, "y", "ip", [], group="institution", kind="ordinal")
    with pytest.raises(ParameterError, match="must be 0/1; found value 2"):
        mixed_model(df.assign(ip=df.ip * 2), "y", "ip", [], group="institution",
                    kind="continuous")
    with pytest.raises(ParameterError, match="'institution'"):
        mixed_model(df, "y", "ip", ["institution"], group="institution", kind="continuous")
    with pytest.raises(ParameterError, match="'y' must be 0/1; found value 1.3"):
        mixed_model(df.assign(y=1.3), "y", "ip", [], group="institution", kind="binary")


# Rubin's rules ------------------------------------------------------------------------------------

def test_rubin_pool_hand_worked():
    # m = 3: estimates 1.0, 1.4, 1.3; SEs 0.3, 0.4, 0.5
    # Qbar = 3.7/3 = 1.233333; Wbar = (0.09 + 0.16 + 0.25)/3 = 0.166667
    # B = ((-.233333)^2 + (.166667)^2 + (.066667)^2)/2 = (0.054444 + 0.027778 + 0.004444)/2
    #   = 0.043333; T = 0.166667 + (4/3)(0.043333) = 0.224444
    # r = (4/3)(0.043333)/0.166667 = 0.346667; df = 2 (1 + 1/r)^2 = 2 (3.884615)^2 = 30.1805
    # fmi = (r + 2/(df + 3)) / (r + 1) = (0.346667 + 0.060276)/1.346667 = 0.302186
    res = rubin_pool([1.0, 1.4, 1.3], [0.3, 0.4, 0.5])
    assert res["estimate"] == pytest.approx(1.233333, abs=1e-6)
    assert res["within"] == pytest.approx(0.166667, abs=1e-6)
    assert res["between"] == pytest.approx(0.043333, abs=1e-6)
    assert res["total"] == pytest.approx(0.224444, abs=1e-6)
    assert res["riv"] == pytest.approx(0.346667, abs=1e-6)
    assert res["df"] == pytest.approx(30.1805, abs=1e-3)
    assert res["fmi"] == pytest.approx(0.302186, abs=1e-5)
    half = stats.t.ppf(0.975, 30.1805) * np.sqrt(0.224444)
    assert res["ci_low"] == pytest.approx(1.233333 - half, abs=1e-5)
    assert res["ci_high"] == pytest.approx(1.233333 + half, abs=1e-5)
    assert res["m"] == 3


def test_rubin_pool_barnard_rubin_and_no_between_variance():
    res = rubin_pool([1.0, 1.4, 1.3], [0.3, 0.4, 0.5], df_complete=50)
    lam = (4 / 3) * 0.043333333 / 0.224444444
    df_old = 2 / lam ** 2
    df_obs = 51 / 53 * 50 * (1 - lam)
    assert res["df"] == pytest.approx(1 / (1 / df_old + 1 / df_obs), rel=1e-6)
    same = rubin_pool([2.0, 2.0], [0.5, 0.5])
    assert np.isinf(same["df"]) and same["fmi"] == 0 and same["se"] == pytest.approx(0.5)
    with pytest.raises(ParameterError, match="at least 2"):
        rubin_pool([1.0], [0.1])
    with pytest.raises(ParameterError, match="-0.1"):
        rubin_pool([1.0, 2.0], [0.1, -0.1])


# MICE ---------------------------------------------------------------------------------------------

def _difference_in_means(df):
    y, t = df["y"].astype(float), df["t"]
    a, b = y[t == 1], y[t == 0]
    return a.mean() - b.mean(), np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))


def test_mice_beats_complete_cases_when_outcome_is_mar_given_covariate():
    """Randomised t (truth: difference in means = 2); y depends on z; among the treated, y
    goes missing mostly when z is high (MAR given z). The complete-case difference in means
    is biased down; MICE with z in the imputation model is not."""
    rng = np.random.default_rng(1)
    n = 1000
    z = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    y = 1 + 2 * t + 2 * z + rng.normal(size=n)
    full = pd.DataFrame({"y": y, "t": t, "z": z})
    missing = (t == 1) & (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 2.5 * z))))
    df = full.copy()
    df.loc[missing, "y"] = np.nan

    full_est, _ = _difference_in_means(full)
    cc_est, cc_se = _difference_in_means(df.dropna())
    res = mice_estimate(df, "y", "t", ["z"], kind="continuous", m=10, seed=0,
                        estimator=_difference_in_means)
    row = res.iloc[0]
    # the construction really biases complete cases: their CI misses the truth by far
    assert cc_est + 1.96 * cc_se < 2.0
    assert abs(row["estimate"] - full_est) < abs(cc_est - full_est)
    assert row["ci_low"] < 2.0 < row["ci_high"]
    assert (row["method"], row["n"], row["n_complete"], row["m"]) == \
        ("mice", n, n - int(missing.sum()), 10)
    assert 0 < row["fmi"] < 1
    # same seed, same answer
    again = mice_estimate(df, "y", "t", ["z"], kind="continuous", m=10, seed=0,
                          estimator=_difference_in_means)
    assert again.iloc[0]["estimate"] == row["estimate"]


def test_mice_default_estimator_with_categorical_and_binary_outcome():
    rng = np.random.default_rng(4)
    n = 300
    t = rng.integers(0, 2, n)
    region = pd.Series(rng.choice(["north", "south", "west"], n), dtype=object)
    goal = (rng.random(n) < 0.3 + 0.2 * t).astype(float)
    goal[rng.random(n) < 0.2] = np.nan
    region[rng.random(n) < 0.1] = np.nan
    df = pd.DataFrame({"goal": goal, "ip": t, "region": region})
    res = mice_estimate(df, "goal", "ip", ["region"], kind="binary", m=5, seed=2)
    row = res.iloc[0]
    assert row["scale"] == "risk difference"
    assert row["ci_low"] < 0.2 < row["ci_high"]
    assert row["n_complete"] == int(df.notna().all(axis=1).sum())


def test_mice_bad_input():
    df = pd.DataFrame({"y": [1.0, np.nan, 3.0], "t": [0, 1, 1], "z": [1, 2, 3]})
    with pytest.raises(ParameterError, match="'age'"):
        mice_estimate(df, "y", "t", ["age"], kind="continuous")
    with pytest.raises(ParameterError, match="parameter .m. is 1"):
        mice_estimate(df, "y", "t", ["z"], kind="continuous", m=1)


# Complete cases -----------------------------------------------------------------------------------

def test_complete_cases_report_counts_each_row_once():
    rng = np.random.default_rng(5)
    n = 500
    df = pd.DataFrame({"goal": rng.random(n), "ip": rng.integers(0, 2, n).astype(float),
                       "age": rng.normal(size=n), "severity": rng.normal(size=n)})
    for column, share in [("goal", 0.1), ("ip", 0.1), ("age", 0.15), ("severity", 0.2)]:
        df.loc[rng.random(n) < share, column] = np.nan
    used, report = complete_cases(df, {"outcome": "goal", "exposure": "ip",
                                       "covariates": ["age", "severity"]})
    left_out = n - len(used)
    assert report["rows"].sum() == left_out
    assert len(used) == int(df.notna().all(axis=1).sum())
    assert list(report["reason"]) == ["outcome missing", "exposure missing",
                                      "covariate 'age' missing", "covariate 'severity' missing"]
    # first reason wins: a row missing both outcome and exposure counts only as outcome
    assert report.set_index("reason").loc["outcome missing", "rows"] == df["goal"].isna().sum()
    assert report.set_index("reason").loc["exposure missing", "rows"] == \
        (df["goal"].notna() & df["ip"].isna()).sum()
    # sequence form: [outcome, exposure, *covariates]
    _, same = complete_cases(df, ["goal", "ip", "age", "severity"])
    pd.testing.assert_frame_equal(report, same)
    with pytest.raises(ParameterError, match="'weight'"):
        complete_cases(df, ["goal", "ip", "weight"])


# Multiplicity -------------------------------------------------------------------------------------

def test_holm_hand_worked_and_equal_to_multipletests():
    table = pd.DataFrame({"outcome": ["goal", "chaos", "gas"], "p_value": [0.01, 0.04, 0.03]})
    out = adjust_pvalues(table)
    np.testing.assert_allclose(out["p_adjusted"], [0.03, 0.06, 0.06])
    assert (out["adjustment"] == "Holm over 3 outcomes").all()
    assert "p_adjusted" not in table.columns  # input left alone
    p = np.random.default_rng(0).random(7)
    for method in ["holm", "bonferroni", "fdr_bh", "hommel"]:
        got = adjust_pvalues(pd.DataFrame({"outcome": list("abcdefg"), "p_value": p}),
                             method=method)
        np.testing.assert_allclose(got["p_adjusted"], multipletests(p, method=method)[1])


def test_adjust_pvalues_by_method_and_missing_p():
    table = pd.DataFrame({
        "outcome": ["goal", "chaos", "gas"] * 2,
        "method": ["crude"] * 3 + ["mixed"] * 3,
        "p_value": [0.01, 0.04, 0.03, 0.2, np.nan, 0.01],
    })
    out = adjust_pvalues(table, by="method")
    np.testing.assert_allclose(out["p_adjusted"].iloc[:3], [0.03, 0.06, 0.06])
    np.testing.assert_allclose(out["p_adjusted"].iloc[[3, 5]],
                               multipletests([0.2, 0.01], method="holm")[1])
    assert np.isnan(out["p_adjusted"].iloc[4])
    assert list(out["adjustment"]) == ["Holm over 3 outcomes"] * 3 + [
        "Holm over 2 outcomes", "none (no p-value)", "Holm over 2 outcomes"]
    with pytest.raises(ParameterError, match="'estimator'"):
        adjust_pvalues(table, by="estimator")
    with pytest.raises(ParameterError, match="'magic'"):
        adjust_pvalues(table, method="magic")


def test_diverging_gee_and_boundary_fit_are_reported_not_raised():
    # Seed 2072 (found by bench/simulate_estimators.py): the GEE diverges (log-odds in the
    # thousands, SE 0) and the random-intercept variance is at its boundary.
    from evaluation.association.mixed import mixed_model
    from evaluation.synthetic import SyntheticConfig, generate
    tables, _ = generate(SyntheticConfig(persons=2000, institutions=4, seed=2072))
    residents = tables["residents"].drop_duplicates("resp_id").drop(columns=["institution"])
    data = tables["persons"].merge(residents, left_on="person_id", right_on="resp_id")
    data = data.dropna(subset=["goal_retention"])
    rows = mixed_model(data, "goal_retention", "has_ip",
                       ["severity", "rop_group", "months_in_service", "municipality_size", "age", "sex"],
                       group="institution", kind="binary").set_index("method")
    assert np.isfinite(rows.loc["mixed", ["estimate", "ci_low", "ci_high"]].astype(float)).all()
    assert "ordinary least squares" in rows.loc["mixed", "note"]
    assert np.isnan(rows.loc["gee", "estimate"]) and "did not converge" in rows.loc["gee", "note"]
