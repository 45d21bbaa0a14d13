"""The result table of the effect estimators: its columns, its rows and their intervals.

Every estimator returns a frame with the columns :data:`RESULT_COLUMNS`, one row per estimate,
so that the rows of several calls concatenate into one table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

RESULT_COLUMNS = ["outcome", "method", "estimand", "scale", "estimate", "se", "ci_low",
                  "ci_high", "p_value", "n", "n_exposed", "se_method", "note"]


def _row(**values) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(values)
    row["note"] = row["note"] or ""
    return row


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _normal_ci(est, se, alpha):
    z = stats.norm.ppf(1 - alpha / 2)
    p = 2 * stats.norm.sf(abs(est / se)) if se > 0 else np.nan
    return est - z * se, est + z * se, p


def _t_ci(est, se, df, alpha):
    t = stats.t.ppf(1 - alpha / 2, df)
    p = 2 * stats.t.sf(abs(est / se), df) if se > 0 else np.nan
    return est - t * se, est + t * se, p
