"""Reliability: published values (pingouin / psych, lavaan), hand computations, bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from evaluation.errors import ParameterError
from evaluation.instruments.item_analysis import item_total
from evaluation.instruments.psychometrics import ALPHA, OMEGA, cronbach_alpha, mcdonald_omega, reliability

DATA = Path(__file__).parents[1] / "data"
TEXTUAL = ["x4", "x5", "x6"]


@pytest.fixture(scope="module")
def alpha_long():
    return pd.read_csv(DATA / "pingouin_cronbach_alpha_long.csv")


@pytest.fixture(scope="module")
def wide_missing():
    return pd.read_csv(DATA / "pingouin_cronbach_wide_missing.csv")


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(DATA / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def small():
    return pd.DataFrame({"q1": [1, 2, 3, 4, 5, 2, 4], "q2": [2, 2, 3, 5, 4, 1, 4],
                         "q3": [1, 3, 2, 4, 5, 2, 5], "q4": [2, 1, 3, 3, 4, 2, 5]})


def _one_row(res):
    assert len(res) == 1
    return res.iloc[0]


# ---- Cronbach's alpha: published values -----------------------------------------------------

def test_alpha_long_format_matches_pingouin_and_psych(alpha_long):
    row = _one_row(cronbach_alpha(alpha_long, subject="Subj", item="Items", score="Scores"))
    assert row["measure"] == ALPHA
    assert round(row["estimate"], 4) == 0.5917
    assert (round(row["ci_low"], 3), round(row["ci_high"], 3)) == (0.195, 0.840)
    assert (row["n"], row["k"]) == (15, 10)
    assert "Feldt" in row["ci_method"]


def test_alpha_long_equals_wide(alpha_long):
    wide = alpha_long.pivot(index="Subj", columns="Items", values="Scores")
    a = _one_row(cronbach_alpha(wide))
    b = _one_row(cronbach_alpha(alpha_long, subject="Subj", item="Items", score="Scores"))
    assert a["estimate"] == pytest.approx(b["estimate"], abs=1e-12)


def test_alpha_long_format_items_selects_item_names(alpha_long):
    some = ["Q1", "Q2", "Q3"]
    wide = alpha_long.pivot(index="Subj", columns="Items", values="Scores")[some]
    a = _one_row(cronbach_alpha(alpha_long, some, subject="Subj", item="Items", score="Scores"))
    assert a["k"] == 3
    assert a["estimate"] == pytest.approx(_one_row(cronbach_alpha(wide))["estimate"])


def test_alpha_missing_pairwise_and_listwise(wide_missing):
    pair = _one_row(cronbach_alpha(wide_missing))
    assert round(pair["estimate"], 4) == 0.7327
    assert (pair["ci_low"], pair["ci_high"]) == (0.435, 0.909)   # pingouin's documented CI
    assert pair["n"] == 12
    listwise = _one_row(cronbach_alpha(wide_missing, nan_policy="listwise"))
    assert round(listwise["estimate"], 4) == 0.8017
    assert listwise["n"] == 9                     # complete respondents, used by Feldt's CI too
    assert listwise["ci_low"] < listwise["estimate"] < listwise["ci_high"]


def test_alpha_holzinger_swineford_textual(hs):
    assert round(_one_row(cronbach_alpha(hs, TEXTUAL))["estimate"], 4) == 0.8827


# ---- Cronbach's alpha: by hand ---------------------------------------------------------------

def test_alpha_equals_hand_formula(small):
    x = small.to_numpy(dtype=float)
    k = x.shape[1]
    by_hand = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))
    assert _one_row(cronbach_alpha(small))["estimate"] == pytest.approx(by_hand, abs=1e-12)


def test_alpha_feldt_interval_by_hand(small):
    from scipy.stats import f
    row = _one_row(cronbach_alpha(small, confidence=0.90))
    n, k, a = len(small), small.shape[1], row["estimate"]
    low = 1 - (1 - a) * f.isf(0.05, n - 1, (n - 1) * (k - 1))
    high = 1 - (1 - a) * f.isf(0.95, n - 1, (n - 1) * (k - 1))
    assert row["ci_low"] == pytest.approx(low, abs=5e-4)       # pingouin rounds to 3 decimals
    assert row["ci_high"] == pytest.approx(high, abs=5e-4)


def test_alpha_drops_respondents_with_no_answer(small):
    padded = pd.concat([small, pd.DataFrame({c: [np.nan] for c in small.columns})],
                       ignore_index=True)
    a, b = _one_row(cronbach_alpha(small)), _one_row(cronbach_alpha(padded))
    assert b["n"] == len(small)
    assert (a["estimate"], a["ci_low"], a["ci_high"]) == (b["estimate"], b["ci_low"], b["ci_high"])


def test_alpha_accepts_nullable_and_bool_columns(small):
    df = small.astype("Int64")
    df.loc[0, "q1"] = pd.NA
    assert np.isfinite(_one_row(cronbach_alpha(df))["estimate"])
    bools = pd.DataFrame({"a": [True, False, True, True], "b": [True, False, False, True],
                          "c": [True, True, False, True]})
    assert np.isfinite(_one_row(cronbach_alpha(bools))["estimate"])


# ---- McDonald's omega ------------------------------------------------------------------------

def test_omega_holzinger_swineford_textual(hs):
    row = _one_row(mcdonald_omega(hs, TEXTUAL, n_boot=300, seed=3))
    assert row["measure"] == OMEGA
    assert round(row["estimate"], 4) == 0.8859
    assert (row["n"], row["k"]) == (301, 3)
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert 0.84 < row["ci_low"] and row["ci_high"] < 0.93
    assert "unstandardised" in row["method"]
    assert "300 of 300" in row["ci_method"]


def test_omega_variant_is_the_raw_score_one_not_the_standardised_one(hs):
    """Pin the variant: three indicators are just identified, so the ML one-factor solution
    reproduces the covariances exactly and has a closed form (λ_i² = s_ij s_ik / s_jk). On the
    covariance matrix that gives 0.8859; on the correlation matrix 0.8850."""
    def closed_form(m):
        lam = np.array([np.sqrt(m[0, 1] * m[0, 2] / m[1, 2]),
                        np.sqrt(m[0, 1] * m[1, 2] / m[0, 2]),
                        np.sqrt(m[0, 2] * m[1, 2] / m[0, 1])])
        psi = np.diag(m) - lam**2
        return lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())

    x = hs[TEXTUAL]
    raw, standardised = closed_form(x.cov().to_numpy()), closed_form(x.corr().to_numpy())
    assert round(raw, 4) == 0.8859 and round(standardised, 4) == 0.8850
    est = _one_row(mcdonald_omega(hs, TEXTUAL, n_boot=0))["estimate"]
    assert est == pytest.approx(raw, abs=1e-6)


def test_omega_matches_independent_ml_fit_with_more_items(hs):
    """Nine items (over-identified): compare with a direct ML fit of Σ = λλ' + Ψ to the
    covariance matrix (scipy), which does not go through statsmodels' correlation scaling."""
    items = [f"x{i}" for i in range(1, 10)]
    s = hs[items].cov().to_numpy()
    k = len(items)

    def discrepancy(par):
        lam, psi = par[:k], par[k:] ** 2
        sigma = np.outer(lam, lam) + np.diag(psi)
        sign, logdet = np.linalg.slogdet(sigma)
        return logdet + np.trace(s @ np.linalg.inv(sigma))

    start = np.concatenate([np.sqrt(np.diag(s)) * 0.6, np.sqrt(np.diag(s)) * 0.8])
    fit = minimize(discrepancy, start, method="BFGS", options={"gtol": 1e-9})
    lam, psi = fit.x[:k], fit.x[k:] ** 2
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    est = _one_row(mcdonald_omega(hs, items, n_boot=0))["estimate"]
    assert est == pytest.approx(expected, abs=1e-5)


def test_omega_bootstrap_is_reproducible_with_a_seed(hs):
    a = _one_row(mcdonald_omega(hs, TEXTUAL, n_boot=50, seed=11))
    b = _one_row(mcdonald_omega(hs, TEXTUAL, n_boot=50, seed=11))
    c = _one_row(mcdonald_omega(hs, TEXTUAL, n_boot=50, seed=12))
    assert (a["ci_low"], a["ci_high"]) == (b["ci_low"], b["ci_high"])
    assert (a["ci_low"], a["ci_high"]) != (c["ci_low"], c["ci_high"])


def test_omega_without_bootstrap(hs):
    row = _one_row(mcdonald_omega(hs, TEXTUAL, n_boot=0))
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"]) and row["ci_method"] == "none"


def test_omega_uses_complete_cases(hs):
    df = hs[TEXTUAL].copy()
    df.loc[:9, "x5"] = np.nan
    row = _one_row(mcdonald_omega(df, n_boot=0))
    assert row["n"] == len(df) - 10
    expected = _one_row(mcdonald_omega(df.dropna(), n_boot=0))["estimate"]
    assert row["estimate"] == pytest.approx(expected, abs=1e-12)


def test_omega_reports_a_heywood_case():
    df = pd.DataFrame({"a1": [1, 2, 3, 4, 5, 3], "a2": [2, 2, 3, 5, 4, 3],
                       "a3": [1, 3, 2, 4, 5, 2]})
    row = _one_row(mcdonald_omega(df, n_boot=0))
    assert "Heywood" in row["method"] and "'a1'" in row["method"]


# ---- item_total ------------------------------------------------------------------------------

def test_item_total_against_numpy(small):
    res = item_total(small)
    assert list(res.columns) == ["item", "n", "mean", "sd", "r_item_total", "alpha_if_deleted"]
    assert list(res["item"]) == list(small.columns)
    x = small.to_numpy(dtype=float)
    for i, row in res.iterrows():
        rest = np.delete(x, i, axis=1)
        assert row["r_item_total"] == pytest.approx(np.corrcoef(x[:, i], rest.sum(axis=1))[0, 1],
                                                    abs=1e-12)
        k = rest.shape[1]
        alpha_rest = k / (k - 1) * (1 - rest.var(axis=0, ddof=1).sum()
                                    / rest.sum(axis=1).var(ddof=1))
        assert row["alpha_if_deleted"] == pytest.approx(alpha_rest, abs=1e-12)
        assert row["mean"] == pytest.approx(x[:, i].mean())
        assert row["sd"] == pytest.approx(x[:, i].std(ddof=1))
        assert row["n"] == len(x)


def test_item_total_with_missing_is_consistent_with_alpha(wide_missing):
    res = item_total(wide_missing)
    assert res.set_index("item")["n"].to_dict() == wide_missing.notna().sum().to_dict()
    for _, row in res.iterrows():
        others = [c for c in wide_missing.columns if c != row["item"]]
        expected = _one_row(cronbach_alpha(wide_missing, others))["estimate"]
        assert row["alpha_if_deleted"] == pytest.approx(expected, abs=1e-12)
    listwise = item_total(wide_missing, nan_policy="listwise")
    assert set(listwise["n"]) == {9}
    complete = wide_missing.dropna().to_numpy(dtype=float)
    r0 = np.corrcoef(complete[:, 0], complete[:, 1:].sum(axis=1))[0, 1]
    assert listwise["r_item_total"].iloc[0] == pytest.approx(r0, abs=1e-12)


def test_item_total_two_items_has_no_alpha_if_deleted(small):
    res = item_total(small, ["q1", "q2"])
    assert res["alpha_if_deleted"].isna().all()
    assert res["r_item_total"].iloc[0] == pytest.approx(small["q1"].corr(small["q2"]))


# ---- reliability -----------------------------------------------------------------------------

def test_reliability_stacks_alpha_and_omega_per_scale(hs):
    res = reliability(hs, {"textual": TEXTUAL, "visual": ["x1", "x2", "x3"],
                           "pair": ["x7", "x8"]}, n_boot=20, seed=1)
    assert list(res["score"]) == ["textual", "textual", "visual", "visual", "pair", "pair"]
    assert list(res["measure"]) == [ALPHA, OMEGA] * 3
    textual = res[res["score"] == "textual"].set_index("measure")["estimate"]
    assert round(textual[ALPHA], 4) == 0.8827
    assert round(textual[OMEGA], 4) == 0.8859
    pair_omega = res[(res["score"] == "pair") & (res["measure"] == OMEGA)].iloc[0]
    assert np.isnan(pair_omega["estimate"]) and "at least 3 items" in pair_omega["method"]
    assert res["method"].notna().all()


def test_reliability_error_names_the_scale(hs):
    with pytest.raises(ParameterError, match=r"scale 'bad'.*'x99'"):
        reliability(hs, {"textual": TEXTUAL, "bad": ["x1", "x99", "x3"]}, n_boot=0)
    with pytest.raises(ParameterError, match="items_by_scale"):
        reliability(hs, ["x1", "x2"])


# ---- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("func", [cronbach_alpha, mcdonald_omega, item_total])
def test_non_numeric_column_is_named(func, small):
    df = small.assign(q3=["a", "b", "c", "d", "e", "f", "g"])
    with pytest.raises(ParameterError, match="'q3' is not numeric"):
        func(df)


@pytest.mark.parametrize("func", [cronbach_alpha, mcdonald_omega, item_total])
def test_unknown_item_is_named(func, small):
    with pytest.raises(ParameterError, match="item 'q9' is not a column"):
        func(small, ["q1", "q2", "q9"])


@pytest.mark.parametrize("func", [cronbach_alpha, item_total])
def test_fewer_than_two_items(func, small):
    with pytest.raises(ParameterError, match="at least 2 items.*'q1'"):
        func(small, ["q1"])


def test_omega_needs_three_items(small):
    with pytest.raises(ParameterError, match="at least 3 items.*'q1', 'q2'"):
        mcdonald_omega(small, ["q1", "q2"])


def test_other_bad_parameters(small, alpha_long):
    with pytest.raises(ParameterError, match="'nan_policy' is 'drop'; expected one of 'listwise', 'pairwise'"):
        cronbach_alpha(small, nan_policy="drop")
    with pytest.raises(ParameterError, match="'confidence' is 95; expected a number in \\(0, 1\\)"):
        cronbach_alpha(small, confidence=95)
    with pytest.raises(ParameterError, match="'n_boot' is -1; expected a whole number ≥ 0"):
        mcdonald_omega(small, n_boot=-1)
    with pytest.raises(ParameterError, match="items must be a list"):
        cronbach_alpha(small, "q1")
    with pytest.raises(ParameterError, match="listed more than once"):
        cronbach_alpha(small, ["q1", "q1", "q2"])
    with pytest.raises(ParameterError, match="'q2' has no non-missing values"):
        cronbach_alpha(small.assign(q2=np.nan))
    with pytest.raises(ParameterError, match="score not given"):
        cronbach_alpha(alpha_long, subject="Subj", item="Items")
    with pytest.raises(ParameterError, match="more than one row for item"):
        cronbach_alpha(pd.concat([alpha_long, alpha_long.head(1)]), subject="Subj",
                       item="Items", score="Scores")
    with pytest.raises(ParameterError, match="'q2' has the same value"):
        mcdonald_omega(small.assign(q2=3))
    with pytest.raises(ParameterError, match="DataFrame"):
        cronbach_alpha(small.to_numpy())
