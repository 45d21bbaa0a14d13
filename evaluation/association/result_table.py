"""The effect estimators' rows: the result contract's estimate table with ``se`` and
``se_method`` after its columns, and the intervals the estimators share.

Every estimator of this package returns :func:`effect_table` (an estimate table of
:mod:`evaluation.estimates`), one row per estimate, so that the rows of several calls
concatenate into one table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.estimates import ESTIMATE_COLUMNS, estimate_row, estimate_table

EFFECT_EXTRAS = ["se", "se_method"]
"""The columns the effect estimators add after the contract's: the SE and how it was had."""

RESULT_COLUMNS = ESTIMATE_COLUMNS + EFFECT_EXTRAS
"""The columns of an effect estimator's table, in order."""


def effect_row(*, se=np.nan, se_method: str = "", **values) -> dict:
    """One row of an effect table: the contract's row with its SE and how the SE was had."""
    return estimate_row(**values, se=se, se_method=se_method)


def effect_table(rows: list[dict]) -> pd.DataFrame:
    """The estimate table of :func:`effect_row` rows, columns :data:`RESULT_COLUMNS` first."""
    return estimate_table(rows, extra=EFFECT_EXTRAS)


def normal_interval_and_p(estimate, se, confidence: float = 0.95):
    """Wald interval ``estimate ± z·se`` at ``confidence`` and the two-sided normal p-value
    (NaN when ``se`` is 0): ``(ci_low, ci_high, p_value)``.

    >>> [round(float(v), 4) for v in normal_interval_and_p(1.0, 0.5)]
    [0.02, 1.98, 0.0455]
    """
    alpha = 1 - confidence
    z = stats.norm.ppf(1 - alpha / 2)
    p = 2 * stats.norm.sf(abs(estimate / se)) if se > 0 else np.nan
    return estimate - z * se, estimate + z * se, p


def t_interval_and_p(estimate, se, df, confidence: float = 0.95):
    """Student-t interval ``estimate ± t(df)·se`` at ``confidence`` and the two-sided t
    p-value (NaN when ``se`` is 0): ``(ci_low, ci_high, p_value)``."""
    alpha = 1 - confidence
    t = stats.t.ppf(1 - alpha / 2, df)
    p = 2 * stats.t.sf(abs(estimate / se), df) if se > 0 else np.nan
    return estimate - t * se, estimate + t * se, p


def percentile_limits(confidence: float = 0.95) -> list[float]:
    """The percentiles that bound a percentile interval at ``confidence``, exactly as written
    (0.95 gives 2.5 and 97.5, not 2.5000000000000022).

    >>> percentile_limits(0.95)
    [2.5, 97.5]
    """
    return [round(50 * (1 - confidence), 12), round(50 * (1 + confidence), 12)]
