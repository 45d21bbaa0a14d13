"""The input check every analysis module shares: a DataFrame with the columns a function needs,
or a ParameterError (exit 2) that names the function, the argument and what is missing."""
from __future__ import annotations

import pandas as pd

from .errors import ParameterError


def require_frame(data, columns, func: str, name: str = "data", hint: str = "") -> None:
    """Raise ParameterError unless ``data`` is a DataFrame holding every one of ``columns``
    (``None`` entries are skipped: optional columns not asked for).

    Examples
    --------
    >>> require_frame(pd.DataFrame({"a": [1]}), ["a"], "example")
    >>> require_frame(pd.DataFrame({"a": [1]}), ["b"], "example")
    Traceback (most recent call last):
    ...
    evaluation.errors.ParameterError: example: data has no column(s) ['b']; it has ['a'].
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"{func}: {name} must be a DataFrame, got {type(data).__name__}.")
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise ParameterError(f"{func}: {name} has no column(s) {missing}; "
                             + (hint or f"it has {list(data.columns)[:15]}."))
