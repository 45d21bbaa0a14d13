"""The result contract: every table of estimates or measures that ipeval returns has these columns.

Two kinds of table leave an estimator, the CLI's ``--json`` and a batch's results:

- an **estimate table**, one row per effect or contrast (``crude``, ``aipw``, a DiD, a growth
  model's IP × time term): :data:`ESTIMATE_COLUMNS`;
- a **measure table**, one row per descriptive or psychometric quantity (a share with its Wilson
  CI, Cronbach's alpha, an agreement coefficient, a pooled mean): :data:`MEASURE_COLUMNS`.

In both the value is called ``estimate``, its interval ``ci_low`` and ``ci_high``, and ``n`` is
the number of people (or units) the row rests on. ``scale`` says what the number is, in one
vocabulary (:data:`SCALES`); ``note`` is text, never missing. Columns a table needs beyond these
(``se``, ``code``, ``institution``, ``count`` …) follow the contract's columns.

Count columns have one meaning each, which the disclosure layer relies on to protect them without
being told (:data:`COUNT_COMPLEMENTS`): ``n`` people in the row, ``n_exposed`` of them exposed
(``n - n_exposed`` is a count too), ``count`` people with the attribute a share is of (its
complement ``n - count`` as well).

>>> row = estimate_row(outcome="daily_chaos", method="crude", estimand="unadjusted",
...                    scale="mean difference", estimate=-0.3, ci_low=-0.5, ci_high=-0.1,
...                    p_value=0.004, n=120, n_exposed=60)
>>> table = estimate_table([row])
>>> list(table.columns[:5])
['outcome', 'method', 'estimand', 'scale', 'estimate']
>>> check_estimate_table(table)   # raises ContractError when a column is missing or wrong
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from evaluation.constraints import check_param, name_list, require_frame
from evaluation.errors import ContractError

ESTIMATE_COLUMNS = ["outcome", "method", "estimand", "scale", "estimate", "ci_low", "ci_high",
                    "p_value", "n", "n_exposed", "note"]
"""Every estimate table starts with these, in this order (``n_exposed`` missing where a contrast
has no exposure)."""

MEASURE_COLUMNS = ["measure", "scale", "estimate", "ci_low", "ci_high", "n", "note"]
"""Every measure table has these (its key columns, such as ``code`` or ``group``, come first)."""

SCALES = frozenset({
    # contrasts
    "risk difference", "risk ratio", "odds ratio", "hazard ratio", "mean difference",
    "standardized mean difference",
    "rate ratio", "difference in shares", "slope difference",
    # levels and measures
    "proportion", "mean", "median", "count", "rate", "slope", "correlation", "variance",
    "standard deviation", "ratio", "coefficient", "reliability", "agreement", "ICC", "points",
})
"""The words a ``scale`` may hold. A contrast names what is contrasted (``risk difference``); a
measure names what it is (``proportion``, ``reliability``, ``agreement``)."""

SCALE_OF_CODE = {"RD": "risk difference", "RR": "risk ratio", "OR": "odds ratio", "HR": "hazard ratio",
                 "MD": "mean difference", "SMD": "standardized mean difference"}
"""The short codes of the E-value and balance functions, spelled out."""

COUNT_COMPLEMENTS = {"n": None, "n_exposed": "n", "count": "n"}
"""Count columns of the contract, each with the column it is part of (its complement is a count)."""

COUNTS_ATTR = "counts"
"""``table.attrs`` key of a table's count columns (a column name or a list), which
:meth:`Disclosure.show` protects when not told which columns are counts."""
COMPLEMENTS_ATTR = "complements"
"""``table.attrs`` key of the count columns whose complement is a count too
(``{"count": "n"}``: n − count people)."""


def with_counts(table: pd.DataFrame, counts, *, complements: dict | None = None) -> pd.DataFrame:
    """``table`` marked with its count columns, so that ``Disclosure.show(table)`` protects them
    without being told: a function whose table counts sessions, rows or coded units (beyond the
    contract's ``n``, ``n_exposed``, ``count``, which are protected anyway) marks it, and the
    notebook's cell need not repeat which columns are counts. The mark is ``table.attrs["counts"]`` (and
    ``table.attrs["complements"]``); it follows the table through selections and renames that
    keep pandas' attrs. A shallow copy is returned; ``table`` is not changed.

    Parameters
    ----------
    table : pandas.DataFrame
        The table to show later.
    counts : str or list of str
        Its columns of counts of people (or of sessions, rows… of few people). A table with no
        column ``n`` is then shown with no count of people per row (as ``n=None``).
    complements : dict, optional
        ``{count column: column it is part of}`` where the difference is a count too.

    Examples
    --------
    >>> alerts = with_counts(pd.DataFrame({"alert": ["none", "red", "amber"],
    ...                                    "sessions": [40, 3, 25]}), "sessions")
    >>> alerts.attrs["counts"]
    ['sessions']

    ``evaluation.disclosure.Disclosure().show(alerts)`` then hides the 3 sessions and, so that
    they cannot be found by subtraction, the 25 as well.
    """
    check_param("with_counts", "table", table, ["frame"])
    check_param("with_counts", "complements", complements, [dict, None])
    columns = name_list(counts, "counts", "with_counts")
    require_frame(table, [*columns, *(complements or {}).values()], "with_counts", "table")
    out = table.copy(deep=False)
    out.attrs = {**table.attrs, COUNTS_ATTR: columns, COMPLEMENTS_ATTR: dict(complements or {})}
    return out


ROWS_ATTR = "rows"
"""``table.attrs`` key of the people each count counts: ``{column: {row label: ids}}``."""


def with_rows(table: pd.DataFrame, column: str, people) -> pd.DataFrame:
    """``table`` marked with the people each count of ``column`` counts: ``people`` maps a row
    label of ``table`` to the ids of those people (a list, a set or an Index). The disclosure
    layer then knows two counts of the same people as one count, however they are named (the
    "no row in source" of the rows table and the ``n_missing`` of the coverage table), and
    that a count of some people is the sum of counts of their parts in other tables, so a cell
    hidden in one table cannot be had from others. A row whose ids do not number as many as its
    count (the table was filtered or changed since) is linked by name only. The ids never
    leave the layer: they are not kept with the table shown. A shallow copy is returned.

    >>> t = with_rows(pd.DataFrame({"reason": ["used", "outcome missing"], "rows": [3, 1]}),
    ...               "rows", {0: ["p1", "p2", "p4"], 1: ["p3"]})
    >>> sorted(t.attrs["rows"]["rows"][0])
    ['p1', 'p2', 'p4']
    """
    check_param("with_rows", "table", table, ["frame"])
    require_frame(table, [column], "with_rows", "table")
    out = table.copy(deep=False)
    marked = {c: dict(v) for c, v in (table.attrs.get(ROWS_ATTR) or {}).items()}
    marked[column] = {label: frozenset(map(str, ids)) for label, ids in dict(people).items()}
    out.attrs = {**table.attrs, ROWS_ATTR: marked}
    return out



_NUMERIC = ("estimate", "ci_low", "ci_high", "p_value", "n", "n_exposed", "se")


def estimate_row(*, outcome, method, estimand, scale, estimate, ci_low=np.nan, ci_high=np.nan,
                 p_value=np.nan, n=None, n_exposed=None, note: str = "", **extra) -> dict:
    """One row of an estimate table, with the contract's names (extra columns after them).

    ``scale`` may be given as a code of :data:`SCALE_OF_CODE`; it is stored spelled out.
    """
    row = {"outcome": outcome, "method": method, "estimand": estimand, "scale": scale_name(scale),
           "estimate": estimate, "ci_low": ci_low, "ci_high": ci_high, "p_value": p_value,
           "n": n, "n_exposed": n_exposed, "note": note or ""}
    row.update(extra)
    return row


def measure_row(*, measure, scale, estimate, ci_low=np.nan, ci_high=np.nan, n=None,
                note: str = "", **keys) -> dict:
    """One row of a measure table: ``keys`` (``code=``, ``group=``…) first, then the contract."""
    return {**keys, "measure": measure, "scale": scale_name(scale), "estimate": estimate,
            "ci_low": ci_low, "ci_high": ci_high, "n": n, "note": note or ""}


def estimate_table(rows: Iterable[Mapping], *, extra: Iterable[str] = ()) -> pd.DataFrame:
    """An estimate table from rows: the contract's columns first, then ``extra`` and any other
    column the rows carry, in the order first seen."""
    return _table(list(rows), ESTIMATE_COLUMNS, front=(), extra=extra)


def measure_table(rows: Iterable[Mapping], *, keys: Iterable[str] = (),
                  extra: Iterable[str] = ()) -> pd.DataFrame:
    """A measure table from rows: ``keys`` first, then the contract's columns, then the rest."""
    return _table(list(rows), MEASURE_COLUMNS, front=tuple(keys), extra=extra)


def as_estimate_table(table: pd.DataFrame) -> pd.DataFrame:
    """An existing frame brought into the contract: columns ordered, missing ones added empty,
    ``note`` filled and ``scale`` spelled out; the values are not touched."""
    return _conform(table, ESTIMATE_COLUMNS, front=())


def as_measure_table(table: pd.DataFrame, *, keys: Iterable[str] = ()) -> pd.DataFrame:
    """An existing frame brought into the measure contract (see :func:`as_estimate_table`)."""
    return _conform(table, MEASURE_COLUMNS, front=tuple(keys))


def check_estimate_table(table: pd.DataFrame) -> None:
    """Raise :class:`~evaluation.errors.ContractError` unless ``table`` follows the estimate
    contract: every column, in order, numeric where numbers belong, a known scale, no missing
    note, and every interval holding its estimate."""
    _check(table, ESTIMATE_COLUMNS, "estimate table")


def check_measure_table(table: pd.DataFrame) -> None:
    """As :func:`check_estimate_table`, for a measure table."""
    _check(table, MEASURE_COLUMNS, "measure table")


def scale_name(scale) -> str:
    """The contract's word for a scale: a code (``RD``) spelled out, a known word kept, a word
    with a qualifier in brackets (``mean difference (ORS points)``) kept when its head is known.

    >>> scale_name("RD")
    'risk difference'
    >>> scale_name("mean difference (daily chaos, 1–5)")
    'mean difference (daily chaos, 1–5)'
    """
    text = SCALE_OF_CODE.get(scale, scale)
    if not isinstance(text, str) or _head(text) not in SCALES:
        raise ContractError(f"scale {scale!r} is not one of the contract's scales: "
                            f"{', '.join(sorted(SCALES))} (or a code {sorted(SCALE_OF_CODE)}).")
    return text


def warning_notes(caught) -> list[str]:
    """The warnings a fit raised (``warnings.catch_warnings(record=True)``) as short notes for
    the ``note`` column: one line each, no repeats, deprecations left out."""
    out = []
    for w in caught:
        text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if issubclass(w.category, (DeprecationWarning, FutureWarning)) or not text:
            continue
        text = f"{w.category.__name__}: {text}"
        if text not in out:
            out.append(text)
    return out


def _head(scale: str) -> str:
    return scale.split(" (")[0].strip()


def _table(rows: list, columns: list, *, front, extra) -> pd.DataFrame:
    seen = [c for r in rows for c in r]
    rest = list(dict.fromkeys([*extra, *seen]))
    order = list(front) + columns + [c for c in rest if c not in columns and c not in front]
    frame = pd.DataFrame(rows, columns=order)
    return _conform(frame, columns, front=front)


def _conform(table: pd.DataFrame, columns: list, *, front) -> pd.DataFrame:
    out = table.copy()
    for col in columns:
        if col not in out.columns:
            out[col] = "" if col == "note" else (np.nan if col != "scale" else None)
    out["note"] = out["note"].where(out["note"].notna(), "").astype(str)
    out["scale"] = [scale_name(s) if isinstance(s, str) else s for s in out["scale"]]
    for col in _NUMERIC:
        if col in out.columns and out[col].dtype == object:
            out[col] = pd.to_numeric(out[col], errors="coerce")
    for col in ("n", "n_exposed"):
        if col in out.columns and out[col].notna().all() and len(out):
            out[col] = out[col].astype("int64")
    order = list(front) + columns
    return out[order + [c for c in out.columns if c not in order]]


def _check(table, columns: list, what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ContractError(f"an {what} must be a DataFrame, got {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ContractError(f"{what}: column(s) {missing} missing; it has {list(table.columns)}.")
    present = [c for c in table.columns if c in columns]
    if present != columns:
        raise ContractError(f"{what}: columns must come in the order {columns}, got {present}.")
    for col in ("estimate", "ci_low", "ci_high", "p_value", "n", "n_exposed"):
        if col in table.columns and not (pd.api.types.is_numeric_dtype(table[col])
                                         or table[col].isna().all()):
            raise ContractError(f"{what}: column {col!r} must be numeric, got {table[col].dtype}.")
    if table["note"].isna().any():
        raise ContractError(f"{what}: 'note' must be text, never missing (use '').")
    for scale in table["scale"].dropna().unique():
        scale_name(scale)
    est, lo, hi = (pd.to_numeric(table[c], errors="coerce") for c in ("estimate", "ci_low", "ci_high"))
    bad = (lo > est + 1e-9 * abs(est).clip(lower=1)) | (hi < est - 1e-9 * abs(est).clip(lower=1))
    if bad.any():
        raise ContractError(f"{what}: row(s) {list(table.index[bad])[:5]} have an interval that "
                            f"does not hold the estimate.")
