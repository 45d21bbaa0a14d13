"""Checks of the data's columns and of the treatment coding, shared by the propensity model,
the balancing weights, the positivity check and the balance tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import ParameterError


def is_categorical(s: pd.Series) -> bool:
    """Object, string, category and bool columns enter the model as ``C()``."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def require_columns(data: pd.DataFrame, columns, role: str) -> None:
    """ParameterError unless ``data`` is a DataFrame with every one of ``columns`` (named by
    ``role``, e.g. 'covariate', in the message)."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ParameterError(
            f"{role} {', '.join(repr(c) for c in missing)} not in the data. "
            f"Expected one of the columns: {', '.join(map(str, data.columns))}.")


def binary_treatment(values, name: str = "treatment") -> pd.Series:
    """The treatment as 0/1 integers; anything else is a ParameterError naming the values."""
    s = pd.Series(values)
    observed = s.dropna()
    if pd.api.types.is_bool_dtype(observed):
        observed = observed.astype(int)
    try:
        numeric = pd.to_numeric(observed)
    except (TypeError, ValueError):
        numeric = None
    levels = sorted(pd.unique(observed).tolist(), key=str)
    if numeric is None or not set(pd.unique(numeric)).issubset({0, 1}):
        raise ParameterError(
            f"treatment {name!r} must be coded 0/1 (or True/False); found the values "
            f"{levels[:10]}.")
    if numeric.nunique() < 2:
        raise ParameterError(
            f"treatment {name!r} has only one value ({levels[0] if levels else 'none'}) "
            f"in the rows used: nobody can be compared. Expected both 0 and 1.")
    out = pd.Series(np.nan, index=s.index, dtype=float)
    out.loc[observed.index] = numeric.astype(float)
    return out
