"""Counts a table shows in other forms: shares and percentages of an n, counts a layer-marked
table left unprotected, and the minimum or maximum of a magnitude (output checker).

- A share (``share``, ``andel``, ``pct``, ``%``, ``prosent``, ``proportion``, an ``estimate``
  whose ``scale`` is ``proportion``, the ``(40 %)`` of an ``n (%)`` cell) times its n is a
  count: :func:`share_findings` gives ``small_share`` where that count or its complement
  (n − count) is 1 … min_cell − 1, and ``recoverable_cell`` where the count beside the share
  is hidden although share × n gives it. The n is the share's own (``share_treated`` with
  ``n``, ``treated_percent`` with ``treated_n``, an arm's ``(n=38)``); a share of everyone
  counted (``n`` and ``share`` of a frequency table, ``share = n / total``) is told apart by
  its rows all giving the same total, which is then its n.
- :func:`unprotected_counts`: a count column of a table that passed the layer showing
  1 … min_cell − 1 (``n_missing``, ``n_outside`` the layer was not told about).
- :func:`extreme_values`: a ``min`` or ``max`` column (or row) in a table of people's values
  (one with an n, or means and SDs): it is one person's value.

Excerpts never carry the count: "share × n rests on fewer than 5 people".
"""
from __future__ import annotations

import math
import re

from evaluation.disclosure.cell_text import COUNT_NAME, NOT_PEOPLE_COUNT, last_label
from evaluation.disclosure.table_cells import ReadTable
from evaluation.disclosure.table_relations import header_totals, stem_of

EXTREME = re.compile(r"(^|[_\s])(min|max|minimum|maximum|minste|største|lowest|highest|"
                     r"laveste|høyeste)($|[_\s])", re.IGNORECASE)
_NOT_EXTREME = re.compile(r"threshold|bound|limit|cell|allowed|possible|range|scale|"
                          r"expected|target|terskel|grense", re.IGNORECASE)
_SUMMARY = re.compile(r"(^|_)(mean|sd|std|median|gjennomsnitt|snitt|avg|average)($|_)",
                      re.IGNORECASE)


def share_findings(t: ReadTable, min_cell: int) -> list[tuple[str, str, str]]:
    """``(where, rule, excerpt)`` of the shares of ``t``."""
    k = t.marks.min_cell or min_cell
    out = []
    for s, c, n, style in share_pairs(t):
        ratio = _frequency_total(t, s, c) if style == "frequency" else None
        for i, row in enumerate(t.cells):
            if i in t.total_rows():
                continue
            share = t.share_at(i, s)
            if share is None:
                continue
            if style == "frequency":
                if ratio is None:
                    continue
                low_n, high_n = ratio
            else:
                denominator = n(i) if callable(n) else (t.cells[i][n] if n is not None else None)
                if denominator is None or not denominator.number:
                    continue
                low_n = high_n = denominator.value
            counts = _integers(share, low_n, high_n)
            if not counts:
                continue
            count = t.cells[i][c] if c is not None else None
            if count is not None and count.hidden:
                if len(counts) == 1 and counts[0] >= 1 and count.low <= counts[0] <= count.high:
                    how = "its percentage × the column's n" if s == c else \
                        f"{t.mask(t.label(s))} × the n beside it"
                    out.append((t.place(i, c), "recoverable_cell",
                                f"hidden ({count.text}) but share × n gives it ({how})"))
                continue
            if style == "frequency" or low_n != high_n:
                continue              # the count itself is shown: the count rules see it
            small = all(1 <= v < k for v in counts)
            rest = all(1 <= low_n - v < k for v in counts)
            if count is not None and count.number and 1 <= count.value < k:
                continue              # a small count shown beside it: found as a count
            if small or rest:
                what = "rests on" if small else "leaves outside it"
                out.append((t.place(i, s), "small_share",
                            f"share × n {what} fewer than {k} people"))
    return out


def share_pairs(t: ReadTable) -> list:
    """``(share column, count column or None, n column / function row → Reading / None,
    style)`` for every share of ``t``; style ``"frequency"`` when share = count / total."""
    stems = {j: stem_of(t.header[j]) for j in t.counts}
    pairs = []
    for s in t.shares:
        label = last_label(t.header[s]).lower()
        sigma = "" if label == "estimate" else _share_stem(label)
        numerators = [j for j in t.counts if stems[j] == (sigma, "count")] + \
            [j for j in t.counts if stems[j] == (sigma, "n") and sigma]
        if label == "estimate" and not numerators:
            numerators = [j for j in t.counts if stems[j][1] == "n" and stems[j][0]
                          and stems[j][0] not in ("missing", "exposed", "outside")][:1]
        c = numerators[0] if numerators else None
        dens = [j for j in t.counts if j != c and stems[j] == (sigma, "n") and sigma] + \
            [j for j in t.counts if j != c and stems[j] == ("", "n")]
        n = dens[0] if dens else None
        if c is None and n is not None and _frequency_total(t, s, n) is not None:
            pairs.append((s, n, None, "frequency"))
        elif n is not None and not NOT_PEOPLE_COUNT.search(last_label(t.header[n])):
            pairs.append((s, c, n, "share"))
    for j in t.counts:                                 # "n (%)" cells: the column's own n
        if any(row[j].share is not None for row in t.cells):
            total = _column_total(t, j)
            if total is not None:
                pairs.append((j, j, lambda i, cell=total: cell, "share"))
    return pairs


def _share_stem(label: str) -> str:
    words = [w for w in re.split(r"[_\s()]+", label) if w]
    drop = {"share", "andel", "pct", "percent", "prosent", "proportion", "prop", "%"}
    return "_".join(w for w in words if w not in drop)


def _column_total(t: ReadTable, j: int):
    totals = header_totals(t)
    if j in totals:
        return totals[j]
    for i in t.total_rows():
        cell = t.cells[i][j]
        if cell.number and "shown" not in " ".join(t.keys[i]).lower():
            return cell
    return None


def _frequency_total(t: ReadTable, s: int, c: int) -> tuple[float, float] | None:
    """The total a share of everyone counted is of: the range of n / share that every row
    with both shown allows (None unless at least two rows agree on one)."""
    low, high, rows = 0.0, math.inf, 0
    for i, row in enumerate(t.cells):
        share = t.share_at(i, s)
        if i in t.total_rows() or share is None or not row[c].number or share[0] <= 0:
            continue
        eps = 0.5 * 10 ** -share[1]
        low = max(low, row[c].value / (share[0] + eps))
        high = min(high, row[c].value / max(share[0] - eps, 1e-12))
        rows += 1
    if rows < 2 or low > high + 1e-9:
        return None
    return low, high


def _integers(share: tuple[float, int], low_n: float, high_n: float) -> list[int]:
    """The whole counts a share rounded to its decimals can be of an n in [low_n, high_n]."""
    value, decimals = share
    eps = 0.5 * 10 ** -decimals
    low = max(0.0, (value - eps) * low_n)
    high = min(high_n, (value + eps) * high_n)
    first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    if last - first > 50:
        return []
    return list(range(first, last + 1))


# --------------------------------------------------------------------------- counts, extremes

def unprotected_counts(t: ReadTable, min_cell: int) -> list[tuple[str, str, str]]:
    """Counts of 1 … min_cell − 1 shown in a table that passed the layer."""
    if not t.safe:
        return []
    k = t.marks.min_cell or min_cell
    out = []
    for j in t.counts:
        name = last_label(t.header[j])
        if j not in t.told and (not COUNT_NAME.match(name) or NOT_PEOPLE_COUNT.search(name)):
            continue
        for i, row in enumerate(t.cells):
            if row[j].number and 1 <= row[j].value < k:
                out.append((t.place(i, j), "unprotected_count",
                            f"a count below {k} shown in a table marked as protected"))
    return out


def extreme_values(t: ReadTable) -> list[tuple[str, str, str]]:
    """``min``/``max`` columns or rows beside an n or means of the same people."""
    names = [last_label(h) for h in t.header]
    people = any(COUNT_NAME.match(names[j]) and not NOT_PEOPLE_COUNT.search(names[j])
                 for j in t.counts) or any(_SUMMARY.search(n) for n in names)
    out = []
    if people:
        for j, name in enumerate(names):
            if EXTREME.search(name) and not _NOT_EXTREME.search(name) and j not in t.labels \
                    and any(row[j].number for row in t.cells):
                out.append((f"{t.where} column {t.mask(name)}".strip(), "extreme_value",
                            f"{t.mask(name)} of a magnitude beside its n: one person's value"))
    keys = [" ".join(k).lower() for k in t.keys]
    if any(k in ("count", "n", "antall") for k in keys):
        for i, key in enumerate(keys):
            if EXTREME.fullmatch(key) or key in ("min", "max"):
                if any(c.number for j, c in enumerate(t.cells[i]) if j not in t.labels):
                    out.append((f"{t.where} row {i + 1}".strip(), "extreme_value",
                                f"{key} of a magnitude beside its count: one person's value"))
    return out
