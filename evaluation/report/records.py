"""Key figures a notebook records for batches to collect: ``evaluation.record(name, value)``.

A record is a display output with ipeval's own MIME type, so it travels inside the executed
notebook, shows nothing in the HTML, and needs no extra package (scrapbook, the usual choice,
has had no release since 2020).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat
import pandas as pd

from evaluation.estimates import ESTIMATE_COLUMNS, MEASURE_COLUMNS

RECORD_MIME = "application/vnd.ipeval.record+json"
RECORD_NUMBERS = ["estimate", "ci_low", "ci_high", "p_value", "n"]
"""The numbers of a record of an estimate, beside its ``name`` and ``value``."""
RECORDED_COLUMNS = [c for c in dict.fromkeys([*ESTIMATE_COLUMNS, *MEASURE_COLUMNS])
                    if c not in RECORD_NUMBERS]
"""The contract's other columns, which :func:`record_estimates` passes through."""


def record(name: str, value, *, estimate=None, ci_low=None, ci_high=None, **extra) -> dict:
    """Record one key figure: a number or text as ``value``, or an estimate with its CI.

    Examples
    --------
    >>> record("daily_chaos/AIPW", -0.31, estimate=-0.31, ci_low=-0.41, ci_high=-0.21)["name"]
    'daily_chaos/AIPW'
    """
    payload = {"name": str(name), "value": _plain(value), "estimate": _plain(estimate),
               "ci_low": _plain(ci_low), "ci_high": _plain(ci_high),
               **{k: _plain(v) for k, v in extra.items()}}
    try:
        from IPython import get_ipython
        from IPython.display import display
        if get_ipython() is not None:
            display({RECORD_MIME: payload, "text/plain": ""}, raw=True)
    except ImportError:   # recording outside a notebook is a no-op display
        pass
    return payload


def record_estimates(table: pd.DataFrame, *, name_columns=("outcome", "method", "estimand", "scale")) -> int:
    """Record every row of an estimate (or measure) table, as shown: suppressed values stay
    missing. The name joins ``name_columns``; the record carries the row's numbers
    (``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``n``) and, where the table has them,
    the contract's other columns (:data:`RECORDED_COLUMNS`: ``outcome``, ``method``,
    ``estimand``, ``scale``, ``n_exposed``, ``note``, ``measure``), so that a batch's results
    table has them too.

    Examples
    --------
    >>> from evaluation.estimates import estimate_row, estimate_table
    >>> table = estimate_table([estimate_row(outcome="y", method="crude", estimand="ATE",
    ...     scale="risk difference", estimate=0.1, ci_low=0.0, ci_high=0.2, n=80, n_exposed=40)])
    >>> record_estimates(table)
    1
    """
    count = 0
    for _, row in table.iterrows():
        name = "/".join(str(row[c]) for c in name_columns if c in row.index)
        carried = {c: row[c] for c in RECORDED_COLUMNS if c in row.index}
        record(name, row.get("estimate"), estimate=row.get("estimate"), ci_low=row.get("ci_low"),
               ci_high=row.get("ci_high"), p_value=row.get("p_value"), n=row.get("n"), **carried)
        count += 1
    return count


def read_records(notebook) -> pd.DataFrame:
    """Every record in an executed notebook, in order: name, value, estimate, ci_low, ci_high…"""
    nb = nbformat.read(str(Path(notebook)), as_version=4)
    rows = [o["data"][RECORD_MIME] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if RECORD_MIME in o.get("data", {})]
    return pd.DataFrame(rows)


def _plain(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, str, bool)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))
