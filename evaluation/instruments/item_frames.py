"""Item answers as the psychometric functions need them: a wide frame of numbers, checked.

Named errors rather than pingouin's asserts, which vanish under ``python -O``. The functions
here are shared by :mod:`evaluation.instruments.psychometrics`,
:mod:`evaluation.instruments.item_analysis` and :mod:`evaluation.describe.questionnaires`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import ParameterError

NAN_POLICIES = ("pairwise", "listwise")


def plain_value(value):
    """numpy scalars as Python values, so that messages read 5 rather than np.int64(5)."""
    return value.item() if isinstance(value, np.generic) else value


def columns_text(data: pd.DataFrame) -> str:
    """The first 20 column names of ``data`` for a message."""
    cols = [str(c) for c in data.columns]
    return ", ".join(cols[:20]) + (f", … ({len(cols)} in all)" if len(cols) > 20 else "")


def long_to_wide(data: pd.DataFrame, subject, item, score, func: str) -> pd.DataFrame:
    """A row per respondent × item (long format) as a row per respondent, a column per item."""
    given = {"subject": subject, "item": item, "score": score}
    if any(v is None for v in given.values()):
        missing = [k for k, v in given.items() if v is None]
        raise ParameterError(f"{func}: long format needs subject=, item= and score=; "
                             f"{', '.join(missing)} not given.")
    for name, col in given.items():
        if col not in data.columns:
            raise ParameterError(f"{func}: {name}={col!r} is not a column of data; columns: "
                                 f"{columns_text(data)}.")
    dup = data.duplicated(subset=[subject, item], keep=False)
    if dup.any():
        row = data.loc[dup].iloc[0]
        raise ParameterError(f"{func}: subject {plain_value(row[subject])!r} has more than one "
                             f"row for item {plain_value(row[item])!r} (columns {subject!r}, "
                             f"{item!r}); long format needs one score per subject and item.")
    if not pd.api.types.is_numeric_dtype(data[score]) or pd.api.types.is_bool_dtype(data[score]):
        numeric_or_raise(data[score], score, func)
    return data.pivot(index=subject, columns=item, values=score)


def numeric_or_raise(column: pd.Series, name, func: str) -> pd.Series:
    """The column as float64, or a ParameterError naming it."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype("float64")
    if not pd.api.types.is_numeric_dtype(column):
        example = column.dropna()
        shown = f" (for example {plain_value(example.iloc[0])!r})" if len(example) else ""
        raise ParameterError(f"{func}: column {name!r} is not numeric: dtype "
                             f"{column.dtype}{shown}. "
                             "Expected item scores as numbers; recode text or categorical "
                             "answers first (for example with .cat.codes + 1).")
    return column.astype("float64")


def item_frame(data, items, func: str, *, subject=None, item=None, score=None,
               min_items: int = 2) -> pd.DataFrame:
    """Wide float frame, one column per item, rows with no answer at all removed."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"{func}: data must be a pandas DataFrame, got "
                             f"{type(data).__name__}.")
    if any(v is not None for v in (subject, item, score)):
        data = long_to_wide(data, subject, item, score, func)
    if items is None:
        items = list(data.columns)
    elif isinstance(items, (str, bytes)) or not pd.api.types.is_list_like(items):
        raise ParameterError(f"{func}: items must be a list of column names, got {items!r}.")
    items = list(items)
    absent = [c for c in items if c not in data.columns]
    if absent:
        raise ParameterError(f"{func}: item {absent[0]!r} is not a column of data; columns: "
                             f"{columns_text(data)}.")
    dups = sorted({str(c) for c in items if items.count(c) > 1})
    if dups:
        raise ParameterError(f"{func}: item(s) {dups} listed more than once.")
    if len(items) < min_items:
        raise ParameterError(f"{func}: needs at least {min_items} items, got {len(items)}"
                             f" ({items!r}).")
    wide = pd.DataFrame({c: numeric_or_raise(data[c], c, func) for c in items},
                        index=data.index)
    wide.columns = items
    for c in items:
        if wide[c].notna().sum() == 0:
            raise ParameterError(f"{func}: column {c!r} has no non-missing values.")
    wide = wide.loc[wide.notna().any(axis=1)]
    if len(wide) < 2:
        raise ParameterError(f"{func}: needs at least 2 respondents with an answer, got "
                             f"{len(wide)}.")
    return wide


def item_covariance(wide: pd.DataFrame, nan_policy: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frame the covariance rests on, covariance matrix), as psych::alpha does it."""
    used = wide.dropna(how="any") if nan_policy == "listwise" else wide
    return used, used.cov()
