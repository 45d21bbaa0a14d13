"""Input checks and data preparation shared by the effect estimators.

:func:`estimation_data` checks the outcome, treatment and covariate columns and returns the
complete cases with a 0/1 treatment; :func:`covariate_matrix` turns covariate columns into a
model matrix (numbers as they are, text dummy-coded). Used by :mod:`.estimators` and
:mod:`.weighted_estimators`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.constraints import Options, check_param, name_list
from evaluation.errors import ParameterError

KINDS = ("binary", "continuous")
MIN_ROWS = 10


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def estimation_data(data, outcome: str, treatment: str, covariates=(), *, kind: str,
             extra=()) -> pd.DataFrame:
    """Check the columns and values; return the complete cases with a 0/1 treatment.

    ``extra`` holds further ``(role, column)`` pairs kept with the rows (a cluster, weights);
    a ``None`` column is skipped.
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
    check_param("estimation_data", "kind", kind, [Options(KINDS)])
    covariates = name_list(covariates, "covariates", "estimation_data")
    roles = [("outcome", outcome), ("treatment", treatment)]
    roles += [("covariate", c) for c in covariates] + [(r, c) for r, c in extra if c is not None]
    for role, col in roles:
        if col not in data.columns:
            shown = ", ".join(map(str, list(data.columns)[:20]))
            raise ParameterError(f"{role} column {col!r} is not in the data. Columns: {shown}"
                                 + (" ..." if data.shape[1] > 20 else "") + ".")
    if treatment == outcome or treatment in covariates or outcome in covariates:
        raise ParameterError(f"column {treatment if treatment in covariates else outcome!r} "
                             "is given in two roles (outcome, treatment, covariate).")
    cols = list(dict.fromkeys([outcome, treatment, *covariates,
                               *[c for _, c in extra if c is not None]]))
    df = data[cols].dropna()
    if len(df) < MIN_ROWS:
        raise ParameterError(f"only {len(df)} complete rows for outcome {outcome!r}, treatment "
                             f"{treatment!r} and the covariates; at least {MIN_ROWS} are needed.")
    a = df[treatment]
    values = pd.unique(a)
    if len(values) < 2:
        raise ParameterError(f"treatment column {treatment!r} has one value "
                             f"({_plain(values[0])!r}) in the {len(df)} complete rows; "
                             "expected two groups coded 0/1.")
    a_num = pd.to_numeric(a.astype("float64") if a.dtype == bool else a, errors="coerce")
    if a_num.isna().any() or not set(np.unique(a_num)) <= {0, 1}:
        bad = [v for v in values if v not in (0, 1, True, False)][:3]
        raise ParameterError(f"treatment column {treatment!r} has value(s) "
                             f"{[_plain(v) for v in bad]}; expected 0/1 (or True/False).")
    df = df.copy()
    df[treatment] = a_num.astype(float)
    y = pd.to_numeric(df[outcome], errors="coerce") if df[outcome].dtype != bool \
        else df[outcome].astype(float)
    if y.isna().any():
        bad = df.loc[y.isna(), outcome].iloc[0]
        raise ParameterError(f"outcome column {outcome!r} has a non-numeric value {bad!r}.")
    if kind == "binary" and not set(np.unique(y)) <= {0, 1}:
        bad = [v for v in np.unique(y) if v not in (0, 1)][:3]
        raise ParameterError(f"outcome column {outcome!r} is analysed as binary but has value(s) "
                             f"{[_plain(v) for v in bad]}; expected 0/1, or kind='continuous'.")
    df[outcome] = y.astype(float)
    for arm, label in ((1, "exposed"), (0, "unexposed")):
        if (df[treatment] == arm).sum() < 2:
            raise ParameterError(f"treatment column {treatment!r}: fewer than 2 {label} rows "
                                 f"(value {arm}) among the complete cases.")
    return df


def covariate_matrix(df: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Covariate matrix (no intercept): numbers as they are, text dummy-coded; constants dropped."""
    parts, names = [], []
    for col in covariates:
        s = df[col]
        if s.dtype == bool:
            s = s.astype(float)
        if pd.api.types.is_numeric_dtype(s):
            parts.append(s.to_numpy(float)[:, None])
            names.append(col)
        else:
            dummies = pd.get_dummies(s.astype(str), prefix=col, prefix_sep="=", drop_first=True,
                                     dtype=float)
            parts.append(dummies.to_numpy())
            names.extend(dummies.columns)
    if not parts:
        return np.empty((len(df), 0)), []
    x = np.column_stack(parts)
    keep = np.ptp(x, axis=0) > 0
    return x[:, keep], [n for n, k in zip(names, keep) if k]
