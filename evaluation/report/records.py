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

RECORD_MIME = "application/vnd.ipeval.record+json"


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
    """Record every row of an estimate table (as shown: suppressed values stay missing)."""
    count = 0
    for _, row in table.iterrows():
        name = "/".join(str(row[c]) for c in name_columns if c in row.index)
        record(name, row.get("estimate"), estimate=row.get("estimate"), ci_low=row.get("ci_low"),
               ci_high=row.get("ci_high"), p_value=row.get("p_value"), n=row.get("n"))
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
