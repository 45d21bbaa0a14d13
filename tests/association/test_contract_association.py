"""Every public estimator of evaluation.association returns a table of the result contract."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation.association import (add_e_values, adjust_pvalues, adjusted, adjustment_set, aipw,  # noqa: E402
                                    analysis_frame, crude, e_value, estimate_effects, evaluate,
                                    ipw, mice_by_outcome, mice_estimate, mixed_model,
                                    propensity_model, with_bootstrap)
from evaluation.association.result_table import RESULT_COLUMNS  # noqa: E402
from evaluation.errors import ParameterError  # noqa: E402
from evaluation.estimates import (ESTIMATE_COLUMNS, check_estimate_table,  # noqa: E402
                                  check_measure_table)


@pytest.fixture(scope="module")
def frames(small_loaded):
    return {name: analysis_frame(small_loaded, name) for name in ("goal_retention", "daily_chaos")}


@pytest.fixture(scope="module", params=["goal_retention", "daily_chaos"])
def frame(request, frames):
    return frames[request.param]


@pytest.mark.parametrize("estimator", [crude, adjusted, ipw, aipw])
def test_effect_estimators_return_estimate_tables(frame, estimator):
    d, y, a, kind = frame.data, frame.outcome, frame.exposure, frame.kind
    args = () if estimator is crude else (adjustment_set(frame),)
    table = estimator(d, y, a, *args, kind=kind)
    check_estimate_table(table)
    assert list(table.columns) == RESULT_COLUMNS


def test_aipw_with_a_multiplier_bootstrap_is_an_estimate_table(frames):
    f = frames["daily_chaos"]
    table = aipw(f.data, f.outcome, f.exposure, adjustment_set(f), kind=f.kind, n_boot=50, seed=1)
    check_estimate_table(table)
    same = aipw(f.data, f.outcome, f.exposure, adjustment_set(f), kind=f.kind, bootstrap=50, seed=1)
    pd.testing.assert_frame_equal(table, same)      # the former keyword still works


def test_mixed_model_returns_an_estimate_table(frame):
    covs = [c for c in adjustment_set(frame) if c != frame.institution]
    table = mixed_model(frame.data, frame.outcome, frame.exposure, covs, group=frame.institution,
                        kind=frame.kind)
    check_estimate_table(table)


def test_mice_returns_an_estimate_table(small_loaded, frames):
    f = frames["daily_chaos"]
    data = f.data[[f.outcome, f.exposure, "age"]].copy()
    data.loc[data.index[::5], f.outcome] = np.nan
    check_estimate_table(mice_estimate(data, f.outcome, f.exposure, ["age"], kind="continuous", m=3))
    custom = mice_estimate(data, f.outcome, f.exposure, ["age"], kind="continuous", m=3,
                           estimator=lambda df: (1.0, 0.5))
    check_estimate_table(custom)
    check_estimate_table(mice_by_outcome(small_loaded, ["daily_chaos"], covariates=["age"]))


def test_evaluate_and_estimate_effects_return_estimate_tables(small_loaded, frames):
    estimates, rows = evaluate(small_loaded, ["goal_retention", "daily_chaos"])
    check_estimate_table(estimates)
    assert list(estimates.columns[:len(ESTIMATE_COLUMNS)]) == ESTIMATE_COLUMNS
    effects = estimate_effects(frames["goal_retention"])
    check_estimate_table(effects)
    check_estimate_table(add_e_values(effects, frames["goal_retention"]))
    check_estimate_table(adjust_pvalues(estimates, by="method"))


def test_with_bootstrap_returns_an_estimate_table(small_loaded):
    estimates, _ = evaluate(small_loaded, ["daily_chaos"], methods=("crude",))
    table = with_bootstrap(estimates, small_loaded, ["daily_chaos"], n_boot=5, seed=1,
                           estimand="ATE", covariates=None)
    check_estimate_table(table)
    assert "AIPW (bootstrap)" in set(table["method"])


def test_a_bootstrap_row_is_marked_with_the_people_of_its_outcome(small_loaded):
    """Its n are the same people as the other rows' n: marked alike, the disclosure layer knows
    them as one count (unmarked, the marks of every row were lost in the concat)."""
    estimates, _ = evaluate(small_loaded, ["daily_chaos"], methods=("crude", "aipw"))
    table = with_bootstrap(estimates, small_loaded, ["daily_chaos"], n_boot=5, seed=1,
                           estimand="ATE", covariates=None)
    marks = table.attrs["rows"]
    boot = int(table.index[table["method"] == "AIPW (bootstrap)"][0])
    first = int(table.index[0])
    assert marks["n"][boot] == marks["n"][first] and len(marks["n"][boot]) == table.at[boot, "n"]
    assert marks["n_exposed"][boot] == marks["n_exposed"][first]


@pytest.mark.parametrize("kwargs", [dict(estimate=3.9, ci_low=1.8, ci_high=8.7, scale="RR"),
                                    dict(estimate=0.86, ci_low=0.75, ci_high=0.99, scale="OR"),
                                    dict(estimate=0.56, ci_low=0.46, ci_high=0.69, scale="HR"),
                                    dict(estimate=0.1, ci_low=0.02, ci_high=0.18, scale="RD",
                                         baseline_risk=0.2),
                                    dict(estimate=5.0, scale="SMD", sd=10.0, se=0.2)])
def test_e_value_returns_an_estimate_table(kwargs):
    check_estimate_table(e_value(**kwargs))


def test_propensity_odds_ratios_are_a_measure_table(frames):
    f = frames["goal_retention"]
    check_measure_table(propensity_model(f.data, f.exposure, f.covariates).odds_ratios_)


@pytest.mark.parametrize("call", [
    lambda f: crude(f.data, f.outcome, f.exposure, kind=f.kind, confidence=95),
    lambda f: adjusted(f.data, f.outcome, f.exposure, ["age"], kind=f.kind, confidence=0),
    lambda f: ipw(f.data, f.outcome, f.exposure, ["age"], kind=f.kind, confidence=1.5),
    lambda f: aipw(f.data, f.outcome, f.exposure, ["age"], kind=f.kind, confidence=-1),
])
def test_confidence_is_checked_in_one_form(frames, call):
    with pytest.raises(ParameterError, match="parameter 'confidence' is .*; expected a number in"):
        call(frames["daily_chaos"])


def test_confidence_changes_only_the_width(frames):
    f = frames["daily_chaos"]
    wide = crude(f.data, f.outcome, f.exposure, kind=f.kind, confidence=0.99).iloc[0]
    usual = crude(f.data, f.outcome, f.exposure, kind=f.kind).iloc[0]
    assert wide.estimate == usual.estimate
    assert wide.ci_low < usual.ci_low and wide.ci_high > usual.ci_high
