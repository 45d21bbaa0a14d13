"""The one input check the feedback modules share: a DataFrame with the columns a function needs."""
from __future__ import annotations

import pandas as pd

from evaluation.errors import ParameterError


def require_frame(data, columns, func: str, name: str = "sessions") -> None:
    """Raise ParameterError naming the function, the argument and what is missing."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"{func}: {name} must be a DataFrame, got {type(data).__name__}.")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ParameterError(f"{func}: {name} has no column(s) {missing}; it has "
                             f"{list(data.columns)[:15]}.")
