"""Complete cases: which rows an analysis used, and why the others were left out.

:func:`complete_cases` is re-exported from :mod:`evaluation.association.imputation`, beside its
alternative, multiple imputation.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evaluation.errors import ParameterError


def complete_cases(data: pd.DataFrame, columns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows with every analysis column present, and why the others were left out.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    columns : dict or sequence of str
        Either a dict with keys ``'outcome'``, ``'exposure'``, ``'covariates'`` (a list) and,
        optionally, ``'group'`` (the institution column), or a sequence read as
        ``[outcome, exposure, *covariates]``.

    Returns
    -------
    complete : pandas.DataFrame
        The rows of ``data`` (all its columns, original index) with none of the named
        columns missing.
    report : pandas.DataFrame
        Columns ``reason`` and ``rows``: each row left out is counted once, under the first
        reason in the order outcome, exposure, covariates (in the order given), group.
        Reasons that left out no row are not listed, so ``report.rows.sum()`` equals
        ``len(data) - len(complete)``.

    Raises
    ------
    ParameterError
        A named column is not in ``data``, or ``columns`` has an unknown key.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"goal": [1, np.nan, 0, np.nan, 1],
    ...                    "ip": [1, 0, np.nan, np.nan, 0],
    ...                    "age": [80, 75, 90, np.nan, np.nan]})
    >>> used, report = complete_cases(df, {"outcome": "goal", "exposure": "ip",
    ...                                    "covariates": ["age"]})
    >>> len(used)
    1
    >>> report
                        reason  rows
    0          outcome missing     2
    1         exposure missing     1
    2  covariate 'age' missing     1
    """
    func = "complete_cases"
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"{func}: data must be a pandas DataFrame, got {type(data).__name__}.")
    roles = column_roles(columns, func)
    for _, column in roles:
        if column not in data.columns:
            raise ParameterError(f"{func}: column {column!r} is not in the data; columns: "
                                 f"{', '.join(map(str, data.columns[:30]))}.")
    remaining = pd.Series(True, index=data.index)
    rows = []
    for reason, column in roles:
        hit = remaining & data[column].isna()
        if hit.any():
            rows.append({"reason": reason, "rows": int(hit.sum())})
        remaining &= ~hit
    return data[remaining].copy(), pd.DataFrame(rows, columns=["reason", "rows"])


def column_roles(columns, func: str = "complete_cases") -> list[tuple[str, str]]:
    """``(reason a row is left out, column)`` in the order the reasons are counted."""
    if isinstance(columns, Mapping):
        unknown = set(columns) - {"outcome", "exposure", "covariates", "group"}
        if unknown:
            raise ParameterError(f"{func}: unknown key(s) {sorted(unknown)} in columns; expected "
                                 f"'outcome', 'exposure', 'covariates', 'group'.")
        covs = columns.get("covariates") or []
        covs = [covs] if isinstance(covs, str) else list(covs)
        out = []
        if columns.get("outcome") is not None:
            out.append(("outcome missing", columns["outcome"]))
        if columns.get("exposure") is not None:
            out.append(("exposure missing", columns["exposure"]))
        out += [(f"covariate {c!r} missing", c) for c in covs]
        if columns.get("group") is not None:
            out.append(("institution missing", columns["group"]))
        return out
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    names = ["outcome missing", "exposure missing"]
    return [(names[i] if i < 2 else f"covariate {c!r} missing", c) for i, c in enumerate(columns)]
