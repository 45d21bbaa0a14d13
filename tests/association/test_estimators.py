"""Effect estimators against published figures, independent computations and known truth.

* NSW experimental sample of Dehejia & Wahba (1999), 185 treated and 260 controls
  (tests/data/lalonde_nsw_dehejia_wahba_445.csv, copied from shared/reference_data):
  crude difference 1794.34 with OLS SE 632.85 (their Table 3, column 1: "1,794 (633)"), and the
  regression-adjusted estimate "1,672 (638)" (Table 3, column 2; covariates of note a: age,
  age², education, no degree, black, Hispanic, re74, re75).
* IPW and AIPW: equal to a direct numpy computation (own Newton-Raphson logit, own least
  squares) to 1e-6, and within one SE of the experimental difference.
* Synthetic study with known effects (evaluation.synthetic, seed 11): the adjusted estimates'
  CIs cover the true ATE, and the crude estimate is further from it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from evaluation.association.estimators import RESULT_COLUMNS, adjusted, aipw, crude, ipw
from evaluation.errors import ParameterError
from evaluation.synthetic import SyntheticConfig, generate

DATA = Path(__file__).parents[1] / "data"
NSW_COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75"]
DW_NOTE_A = ["age", "age2", "educ", "nodegr", "black", "hisp", "re74", "re75"]
SYN_COVARIATES = ["severity", "rop_group", "months_in_service", "municipality_size", "age",
                  "sex", "institution"]


@pytest.fixture(scope="module")
def nsw() -> pd.DataFrame:
    d = pd.read_csv(DATA / "lalonde_nsw_dehejia_wahba_445.csv")
    d["age2"] = d["age"] ** 2
    return d


@pytest.fixture(scope="module")
def synthetic():
    tables, truth = generate(SyntheticConfig(persons=4000, institutions=6, seed=11))
    residents = (tables["residents"].drop_duplicates("resp_id")
                 [["resp_id", "has_ip", "goal_retention"]])
    df = residents.merge(tables["persons"], left_on="resp_id", right_on="person_id")
    df = df.dropna(subset=["goal_retention"])
    return df, truth["effects"]["goal_retention"]


# ---------------------------------------------------------------------------------------------
# Independent computations (numpy only)
# ---------------------------------------------------------------------------------------------

def _logit_newton(x, a):
    x = np.column_stack([np.ones(len(x)), x])
    b = np.zeros(x.shape[1])
    for _ in range(100):
        p = expit(x @ b)
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x, x.T @ (a - p))
        b += step
        if np.abs(step).max() < 1e-12:
            break
    return expit(x @ b)


def _hajek(y, a, e, estimand):
    w = {"ATE": np.where(a == 1, 1 / e, 1 / (1 - e)),
         "ATT": np.where(a == 1, 1.0, e / (1 - e)),
         "ATO": np.where(a == 1, 1 - e, e)}[estimand]
    return (np.sum(w * a * y) / np.sum(w * a)) - (np.sum(w * (1 - a) * y) / np.sum(w * (1 - a)))


def _ols_predict(x, y, rows):
    xx = np.column_stack([np.ones(len(x)), x])
    b = np.linalg.lstsq(xx[rows], y[rows], rcond=None)[0]
    return xx @ b


# ---------------------------------------------------------------------------------------------
# NSW: published figures
# ---------------------------------------------------------------------------------------------

def test_crude_mean_difference_matches_dehejia_wahba(nsw):
    pooled = crude(nsw, "re78", "treat", kind="continuous", se="pooled").iloc[0]
    assert round(pooled.estimate, 2) == 1794.34
    assert round(pooled.se, 2) == 632.85
    assert (pooled.n, pooled.n_exposed) == (445, 185)
    welch = crude(nsw, "re78", "treat", kind="continuous").iloc[0]
    assert welch.estimate == pytest.approx(pooled.estimate)
    t = stats.ttest_ind(nsw.re78[nsw.treat == 1], nsw.re78[nsw.treat == 0], equal_var=False)
    assert welch.p_value == pytest.approx(t.pvalue, rel=1e-9)
    ci = t.confidence_interval()
    assert (welch.ci_low, welch.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_adjusted_matches_dehejia_wahba_table3_column2(nsw):
    res = adjusted(nsw, "re78", "treat", DW_NOTE_A, kind="continuous")
    assert list(res.columns) == RESULT_COLUMNS
    row = res.iloc[0]
    assert round(row.estimate) == 1672 and round(row.se) == 638      # printed "1,672 (638)"
    # the same model solved directly by least squares
    x = np.column_stack([np.ones(len(nsw)), nsw.treat, nsw[DW_NOTE_A]])
    beta, rss, *_ = np.linalg.lstsq(x, nsw.re78, rcond=None)
    s2 = rss[0] / (len(nsw) - x.shape[1])
    assert row.estimate == pytest.approx(beta[1], rel=1e-9)
    assert row.se == pytest.approx(np.sqrt(s2 * np.linalg.inv(x.T @ x)[1, 1]), rel=1e-9)


def test_adjusted_linear_covariate_set(nsw):
    # the other widely printed figure (linear terms, with 'married'): 1676
    row = adjusted(nsw, "re78", "treat", NSW_COVARIATES, kind="continuous").iloc[0]
    assert round(row.estimate) == 1676


@pytest.mark.parametrize("estimand", ["ATE", "ATT", "ATO"])
def test_ipw_equals_direct_hajek_and_experiment(nsw, estimand):
    row = ipw(nsw, "re78", "treat", NSW_COVARIATES, estimand=estimand, kind="continuous").iloc[0]
    e = _logit_newton(nsw[NSW_COVARIATES].to_numpy(float), nsw.treat.to_numpy(float))
    direct = _hajek(nsw.re78.to_numpy(), nsw.treat.to_numpy(), e, estimand)
    assert row.estimate == pytest.approx(direct, abs=1e-6)
    assert abs(row.estimate - 1794.34) < row.se
    assert row.ci_low < row.estimate < row.ci_high
    assert "M-estimation" in row.se_method


def test_ipw_sandwich_matches_numerical_jacobian(nsw):
    """The analytic M-estimation SE equals a sandwich built with a finite-difference Jacobian."""
    row = ipw(nsw, "re78", "treat", NSW_COVARIATES, estimand="ATE", kind="continuous").iloc[0]
    x = np.column_stack([np.ones(len(nsw)), nsw[NSW_COVARIATES].to_numpy(float)])
    a, y = nsw.treat.to_numpy(float), nsw.re78.to_numpy(float)
    scale = x.std(0)
    scale[0] = 1.0
    xs = x / scale                           # conditioning only; the SE does not depend on it
    e = _logit_newton(xs[:, 1:], a)
    w = np.where(a == 1, 1 / e, 1 / (1 - e))
    mu1 = np.sum(w * a * y) / np.sum(w * a)
    mu0 = np.sum(w * (1 - a) * y) / np.sum(w * (1 - a))
    beta = np.linalg.lstsq(xs, np.log(e / (1 - e)), rcond=None)[0]
    theta = np.r_[beta, mu1, mu0]

    def psi(t):
        p = expit(xs @ t[:-2])
        ww = np.where(a == 1, 1 / p, 1 / (1 - p))
        return np.column_stack([xs * (a - p)[:, None], ww * a * (y - t[-2]),
                                ww * (1 - a) * (y - t[-1])])

    n, k = len(y), len(theta)
    jac = np.zeros((k, k))
    for j in range(k):
        h = 1e-6 * max(1.0, abs(theta[j]))
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        jac[:, j] = -(psi(up).mean(0) - psi(dn).mean(0)) / (2 * h)
    meat = psi(theta).T @ psi(theta) / n
    cov = np.linalg.inv(jac) @ meat @ np.linalg.inv(jac).T / n
    se = np.sqrt(cov[-2, -2] + cov[-1, -1] - 2 * cov[-2, -1])
    assert row.se == pytest.approx(se, rel=1e-4)


@pytest.mark.parametrize("estimand", ["ATE", "ATT"])
def test_aipw_equals_direct_formula_and_experiment(nsw, estimand):
    row = aipw(nsw, "re78", "treat", NSW_COVARIATES, estimand=estimand, kind="continuous").iloc[0]
    x = nsw[NSW_COVARIATES].to_numpy(float)
    a, y = nsw.treat.to_numpy(float), nsw.re78.to_numpy(float)
    e = _logit_newton(x, a)
    m1, m0 = _ols_predict(x, y, a == 1), _ols_predict(x, y, a == 0)
    if estimand == "ATE":
        phi = m1 - m0 + a * (y - m1) / e - (1 - a) * (y - m0) / (1 - e)
        direct, infl = phi.mean(), phi - phi.mean()
    else:
        odds = e / (1 - e)
        direct = np.sum(a * (y - m0) - (1 - a) * odds * (y - m0)) / a.sum()
        infl = (a * (y - m0 - direct) - (1 - a) * odds * (y - m0)) / a.mean()
    assert row.estimate == pytest.approx(direct, abs=1e-6)
    assert row.se == pytest.approx(infl.std(ddof=1) / np.sqrt(len(y)), rel=1e-6)
    assert abs(row.estimate - 1794.34) < row.se


def test_ipw_accepts_weights_and_propensity(nsw):
    e = _logit_newton(nsw[NSW_COVARIATES].to_numpy(float), nsw.treat.to_numpy(float))
    w = np.where(nsw.treat == 1, 1 / e, 1 / (1 - e))
    by_w = ipw(nsw, "re78", "treat", estimand="ATE", kind="continuous", weights=w).iloc[0]
    by_e = ipw(nsw.assign(ps=e), "re78", "treat", estimand="ATE", kind="continuous",
               propensity="ps").iloc[0]
    fitted = ipw(nsw, "re78", "treat", NSW_COVARIATES, kind="continuous").iloc[0]
    assert by_w.estimate == pytest.approx(fitted.estimate, abs=1e-6)
    assert by_e.estimate == pytest.approx(fitted.estimate, abs=1e-6)
    assert by_w.se == pytest.approx(by_e.se)
    assert "known" in by_w.se_method and "known" in by_e.se_method


# ---------------------------------------------------------------------------------------------
# Binary outcomes
# ---------------------------------------------------------------------------------------------

def _wilson(x, n, z):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_crude_binary_newcombe_and_woolf():
    df = pd.DataFrame({"a": [1] * 20 + [0] * 20,
                       "y": [1] * 12 + [0] * 8 + [1] * 6 + [0] * 14})
    res = crude(df, "y", "a", kind="binary").set_index("scale")
    z = stats.norm.ppf(0.975)
    (l1, u1), (l0, u0) = _wilson(12, 20, z), _wilson(6, 20, z)
    d = 0.6 - 0.3
    newcombe = (d - np.sqrt((0.6 - l1) ** 2 + (u0 - 0.3) ** 2),
                d + np.sqrt((u1 - 0.6) ** 2 + (0.3 - l0) ** 2))
    assert (res.loc["risk difference", "ci_low"], res.loc["risk difference", "ci_high"]) == pytest.approx(newcombe)
    chi2 = stats.chi2_contingency([[12, 8], [6, 14]], correction=False)
    assert res.loc["risk difference", "p_value"] == pytest.approx(chi2.pvalue)
    se = np.sqrt(1 / 12 + 1 / 8 + 1 / 6 + 1 / 14)
    assert res.loc["odds ratio", "estimate"] == pytest.approx(3.5)
    assert res.loc["odds ratio", "ci_low"] == pytest.approx(np.exp(np.log(3.5) - z * se))


def test_gcomputation_matches_direct_standardisation(synthetic):
    df, _ = synthetic
    res = adjusted(df, "goal_retention", "has_ip", ["severity", "age"], kind="binary")
    rd = res.set_index("scale").loc["risk difference"]
    x = np.column_stack([np.ones(len(df)), df.has_ip, df.severity, df.age])
    import statsmodels.api as sm
    fit = sm.Logit(df.goal_retention.to_numpy(), x).fit(disp=0)
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1, 0
    assert rd.estimate == pytest.approx(np.mean(fit.predict(x1) - fit.predict(x0)), abs=1e-8)
    # delta-method SE against a numerical gradient
    b, v = fit.params, fit.cov_params()
    f = lambda bb: np.mean(expit(x1 @ bb) - expit(x0 @ bb))  # noqa: E731
    g = np.array([(f(b + h) - f(b - h)) / 2e-6 for h in np.eye(len(b)) * 1e-6])
    assert rd.se == pytest.approx(np.sqrt(g @ v @ g), rel=1e-5)


def test_synthetic_truth_is_covered_and_crude_is_confounded(synthetic):
    df, truth = synthetic
    ate = truth["ate"]
    g = adjusted(df, "goal_retention", "has_ip", SYN_COVARIATES, kind="binary",
                 cluster="institution").set_index("scale").loc["risk difference"]
    w = ipw(df, "goal_retention", "has_ip", SYN_COVARIATES, estimand="ATE").iloc[0]
    d = aipw(df, "goal_retention", "has_ip", SYN_COVARIATES, estimand="ATE").iloc[0]
    c = crude(df, "goal_retention", "has_ip").set_index("scale").loc["risk difference"]
    for row in (g, w, d):
        assert row.ci_low <= ate <= row.ci_high, (row.method, row.estimate, ate)
        assert abs(c.estimate - ate) > abs(row.estimate - ate), row.method
    for estimator in (ipw, aipw):
        att = estimator(df, "goal_retention", "has_ip", SYN_COVARIATES, estimand="ATT").iloc[0]
        assert att.ci_low <= truth["att"] <= att.ci_high
    assert "6 clusters" in g.note


def test_overlap_weights_and_result_shape(synthetic):
    df, truth = synthetic
    res = ipw(df, "goal_retention", "has_ip", SYN_COVARIATES, estimand="ATO")
    assert list(res.columns) == RESULT_COLUMNS and len(res) == 1
    row = res.iloc[0]
    assert (row.scale, row.estimand, row.method) == ("risk difference", "ATO", "IPW")
    assert row.ci_low < row.estimate < row.ci_high
    assert "ESS" in row.note


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, word", [
    (lambda d: crude(d, "nope", "treat", kind="continuous"), "'nope'"),
    (lambda d: adjusted(d, "re78", "treat", ["age", "missing_cov"], kind="continuous"),
     "'missing_cov'"),
    (lambda d: ipw(d, "re78", "treat", ["ghost"], kind="continuous"), "'ghost'"),
    (lambda d: aipw(d, "re78", "treat", ["age"], kind="continuous", estimand="ATO"), "ATO"),
    (lambda d: adjusted(d, "re78", "treat", ["age"], kind="continuous", cluster="inst"),
     "'inst'"),
    (lambda d: crude(d, "re78", "treat", kind="ordinal"), "kind"),
    (lambda d: crude(d, "re78", "treat", kind="binary"), "'re78'"),
])
def test_bad_columns_and_parameters(nsw, call, word):
    with pytest.raises(ParameterError, match=word):
        call(nsw)


@pytest.mark.parametrize("estimator", [crude, adjusted, ipw, aipw])
def test_treatment_with_one_value(nsw, estimator):
    d = nsw[nsw.treat == 1]
    args = () if estimator is crude else (["age"],)
    with pytest.raises(ParameterError, match="'treat'.*one value"):
        estimator(d, "re78", "treat", *args, kind="continuous")


@pytest.mark.parametrize("estimator", [crude, adjusted, ipw, aipw])
def test_too_few_rows(nsw, estimator):
    d = pd.concat([nsw[nsw.treat == 1].head(4), nsw[nsw.treat == 0].head(4)])
    args = () if estimator is crude else (["age"],)
    with pytest.raises(ParameterError, match="only 8 complete rows.*'re78'"):
        estimator(d, "re78", "treat", *args, kind="continuous")


def test_treatment_not_binary(nsw):
    with pytest.raises(ParameterError, match="'educ'"):
        crude(nsw, "re78", "educ", kind="continuous")


def test_perfect_separation_is_a_clear_error():
    df = pd.DataFrame({"a": [0, 1] * 20, "x": np.arange(40.0), "y": [0] * 20 + [1] * 20})
    with pytest.raises(ParameterError, match="separation"):
        adjusted(df, "y", "a", ["x"], kind="binary")


def test_ipw_weight_array_follows_rows_when_some_are_dropped(nsw):
    d = nsw.copy()
    d.loc[d.index[:5], "re78"] = np.nan
    w = np.where(d.treat == 1, 1.0, 2.0)
    row = ipw(d, "re78", "treat", estimand="ATE", kind="continuous", weights=w).iloc[0]
    kept = d.dropna(subset=["re78"])
    expected = (kept.re78[kept.treat == 1].mean() - kept.re78[kept.treat == 0].mean())
    assert row.estimate == pytest.approx(expected)
    assert row.n == 440
    with pytest.raises(ParameterError, match="weights has 3 values"):
        ipw(d, "re78", "treat", kind="continuous", weights=[1, 2, 3])
