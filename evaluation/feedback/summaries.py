"""Small tables the feedback report shows: alerts by group and the rows left out of a frame."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.constraints import name_list, require_frame
from evaluation.estimates import measure_table, with_counts


def alert_shares(alerts: pd.DataFrame, by=None, *, column: str = "alert") -> pd.DataFrame:
    """Sessions per alert colour (and ``by`` group), as a share of the group's sessions.

    Parameters
    ----------
    alerts : DataFrame
        A row per session with the ``column`` of alerts (:func:`evaluation.feedback.alerts`,
        :func:`evaluation.feedback.alliance_flags`) and the ``by`` columns.
    by : str or list of str, optional
        Grouping columns; rows with a missing group are left out.

    Returns
    -------
    DataFrame
        A measure table (:mod:`evaluation.estimates`): the groups, ``alert``, ``measure``
        ("share of sessions"), ``scale`` ("proportion"), ``estimate``, ``ci_low``/``ci_high``
        (empty: sessions of one client are not independent), ``n`` (sessions in the group),
        ``note``, then ``count`` (sessions with that alert).

    Examples
    --------
    >>> a = pd.DataFrame({"alert": ["red", "green", "green", "grey"]})
    >>> alert_shares(a)[["alert", "estimate", "n", "count"]]
       alert  estimate  n  count
    0  green      0.50  4      2
    1   grey      0.25  4      1
    2    red      0.25  4      1
    """
    groups = name_list(by, "by", "alert_shares")
    require_frame(alerts, [column, *groups], "alert_shares", "alerts")
    counts = alerts.groupby([*groups, column], observed=True).size().rename("count").reset_index()
    counts["n"] = counts.groupby(groups)["count"].transform("sum") if groups else counts["count"].sum()
    counts["estimate"] = counts["count"] / counts["n"]
    counts["measure"], counts["scale"] = "share of sessions", "proportion"
    return measure_table(counts.to_dict("records"), keys=[*groups, column], extra=["count"])


def left_out_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a frame left out, by reason (its ``attrs["left_out"]``): ``reason``, ``rows``.

    >>> f = pd.DataFrame()
    >>> f.attrs["left_out"] = {"no ORS total": 3}
    >>> left_out_table(f)
             reason  rows
    0  no ORS total     3
    """
    left_out = frame.attrs.get("left_out", {})
    return with_counts(pd.DataFrame({"reason": list(left_out), "rows": list(left_out.values())}), "rows")


def write_tables(folder, tables: dict) -> list[Path]:
    """Write tables that passed the disclosure layer (``SafeTable``, which writes what is
    shown and its sidecar) under ``folder`` (made when missing), by file name; the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        table.to_csv(folder / name)
        written.append(folder / name)
    return written
