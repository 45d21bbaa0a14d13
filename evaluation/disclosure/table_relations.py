"""The sums one table shows: which of its counts are totals of which others (output checker).

A relation is only taken from a table when its structure says so, not from arithmetic alone:

- a column or row labelled as a total (``Total``, ``Totalt``, ``Sum``, ``I alt``, ``Alle``,
  ``all``, ``Total (shown)``) is the sum of the other count columns of its row, or of the rows
  of its group (the rows sharing the label values before the one that says ``Total``); a total
  that a row shown in full contradicts is no total of these cells and is dropped;
- a column ``n`` beside two or more count columns is their sum only when rows shown in full
  say so (at least one, none against);
- in a long table (``variable``, ``level``, …), the levels of a variable add up to the n beside
  them (Table 1: ``treated_count`` per level, ``treated_n`` per arm) — or to the n of a header
  row ``n``, or the ``(n=38)`` in a column's header — when another variable of the same table,
  shown in full, adds up exactly and none fails to.

:func:`table_relations` gives the relations as :class:`~.pinning.Relation` between cell ids of
the :class:`~.table_cells.ReadTable`, with any cell that is not in the body (a header's n).

>>> from evaluation.disclosure.shown_tables import ShownTable
>>> from evaluation.disclosure.table_cells import read_table
>>> t = read_table(ShownTable(["institution", "0", "1", "Total"],
...                           [["A", "12", "<5", "15"], ["B", "20", "30", "50"]], {0}), "t")
>>> [(r.why, len(r.parts)) for r in table_relations(t)[0]]
[('the row total', 2), ('the row total', 2)]
"""
from __future__ import annotations

import itertools
import re

from evaluation.disclosure.cell_text import (HEADER_N_LABEL, N_IN_LABEL, Reading, is_total_label,
                                             last_label, parse_number)
from evaluation.disclosure.pinning import Relation
from evaluation.disclosure.table_cells import ReadTable

TOLERANCE = 1e-6
_N_NAMES = {"n", "antall", "total n", "n total", "people", "personer", "rows", "rader"}
_TOKENS = re.compile(r"[_\s]+")
_COUNT_WORDS = {"count", "counts", "antall", "freq"}


def table_relations(t: ReadTable) -> tuple[list[Relation], dict]:
    """``(relations, extra cells)`` of one table."""
    extra: dict = {}
    relations = [*_total_columns(t), *_total_rows(t), *_group_n_columns(t),
                 *_header_n(t, extra)]
    return relations, extra


def check_sum(total: Reading, parts: list[Reading]) -> str:
    """``"match"``, ``"contradict"`` or ``"open"`` (something hidden) for total = Σ parts."""
    if any(p.hidden for p in parts) or total.hidden:
        return "open"
    if not total.number or not all(p.number for p in parts):
        return "open"
    return "match" if abs(total.value - sum(p.value for p in parts)) < 0.5 else "contradict"


def _summed(t: ReadTable, i: int, columns: list) -> list:
    """The count columns of row ``i`` that hold a value (blank: not counted here)."""
    return [j for j in columns if t.cells[i][j].number or t.cells[i][j].hidden]


# --------------------------------------------------------------------------- total columns

def _total_columns(t: ReadTable) -> list[Relation]:
    totals = [j for j in t.counts if is_total_label(last_label(t.header[j]))]
    ns = [j for j in t.counts if last_label(t.header[j]).lower() in _N_NAMES and j not in totals]
    out = []
    for total in totals:
        parts = [j for j in t.counts if j not in totals and j not in ns]
        if len(parts) >= 2 and _verdict(t, total, parts) != "contradict":
            out += _row_relations(t, total, parts, "the row total")
    for n in ns:
        # A missing count is outside the n it stands beside (n counts those answered), so it
        # is never one of n's parts, however the numbers fall.
        others = [j for j in t.counts if j != n and j not in totals
                  and "missing" not in last_label(t.header[j]).lower()]
        parts = _verified_parts(t, n, others)
        if parts:
            out += _row_relations(t, n, parts, "the n of its row")
    return out


def _verdict(t: ReadTable, total: int, parts: list, *, need: int = 0) -> str:
    """Over the rows: "contradict" if any row shown in full disagrees, "match" if at least
    ``need`` rows agree (and none disagrees), else "open"."""
    matches = 0
    for i, row in enumerate(t.cells):
        used = _summed(t, i, parts)
        if not used or not (row[total].number or row[total].hidden):
            continue
        said = check_sum(row[total], [row[j] for j in used])
        if said == "contradict":
            return "contradict"
        matches += said == "match"
    return "match" if matches >= max(need, 1) else "open"


def _verified_parts(t: ReadTable, n: int, others: list) -> list:
    if len(others) >= 2 and _verdict(t, n, others, need=1) == "match":
        return others
    if not 3 <= len(others) <= 6:
        return []
    for size in range(len(others) - 1, 1, -1):
        found = [list(c) for c in itertools.combinations(others, size)
                 if _verdict(t, n, list(c), need=2) == "match"]
        if len(found) == 1:
            return found[0]
        if found:
            return []                 # two ways to add up: neither is the structure
    return []


def _row_relations(t: ReadTable, total: int, parts: list, why: str) -> list[Relation]:
    out = []
    for i, row in enumerate(t.cells):
        used = _summed(t, i, parts)
        if len(used) >= 2 and (row[total].number or row[total].hidden):
            out.append(Relation(t.cell_id(i, total), tuple(t.cell_id(i, j) for j in used), why))
    return out


# --------------------------------------------------------------------------- total rows

def _total_rows(t: ReadTable) -> list[Relation]:
    totals = t.total_rows()
    out = []
    for r in sorted(totals):
        key = t.keys[r]
        at = next(k for k, text in enumerate(key) if is_total_label(text))
        group = [i for i in range(len(t.cells)) if i not in totals and t.keys[i][:at] == key[:at]]
        if len(group) < 2:
            continue
        rels, fails = [], False
        for j in t.counts:
            used = [i for i in group if t.cells[i][j].number or t.cells[i][j].hidden]
            if len(used) < 2 or not (t.cells[r][j].number or t.cells[r][j].hidden):
                continue
            if check_sum(t.cells[r][j], [t.cells[i][j] for i in used]) == "contradict":
                fails = True
                break
            rels.append(Relation(t.cell_id(r, j), tuple(t.cell_id(i, j) for i in used),
                                 "the column total" if at == 0 else "the group total"))
        if not fails:
            out += rels
    return out


# --------------------------------------------------------------------------- Table 1

def _groups(t: ReadTable) -> list[list[int]]:
    """Rows by the first varying label (a blank label continues the variable above it), when
    the table has a second label (the level) to tell the rows of a group apart."""
    varying = t.varying_labels()
    if len(varying) < 2:
        return []
    first = varying[0]
    groups: dict[str, list] = {}
    current = None
    for i, row in enumerate(t.cells):
        text = row[first].text
        if text:
            current = text
        if current is not None and not any(is_total_label(k) for k in t.keys[i]):
            groups.setdefault(current, []).append(i)
    return [g for g in groups.values() if len(g) >= 2]


def stem_of(label: str) -> tuple[str, str]:
    """(stem, kind) of a count column's name: ``treated_count`` → ("treated", "count"),
    ``treated_n`` → ("treated", "n"), ``n`` → ("", "n")."""
    words = [w for w in _TOKENS.split(last_label(label).lower()) if w]
    kind = "n" if "n" in words else "count" if _COUNT_WORDS & set(words) else ""
    return "_".join(w for w in words if w != "n" and w not in _COUNT_WORDS), kind


def _group_n_columns(t: ReadTable) -> list[Relation]:
    groups = _groups(t)
    if not groups:
        return []
    stems = {j: stem_of(t.header[j]) for j in t.counts}
    out = []
    for c, n in itertools.permutations(t.counts, 2):
        if stems[c][1] != "count" or stems[n][1] != "n" or stems[c][0] != stems[n][0]:
            continue
        rels, matches, fails = [], 0, False
        for g in groups:
            shown_n = {t.cells[i][n].value for i in g if t.cells[i][n].number}
            used = [i for i in g if t.cells[i][c].number or t.cells[i][c].hidden]
            if len(shown_n) > 1 or len(used) < 2:
                continue
            head = next((i for i in g if t.cells[i][n].number), g[0])
            said = check_sum(t.cells[head][n], [t.cells[i][c] for i in used])
            fails |= said == "contradict"
            matches += said == "match"
            rels.append(Relation(t.cell_id(head, n), tuple(t.cell_id(i, c) for i in used),
                                 "the n beside its levels"))
        out += _as_verified(rels, matches, fails)
    return out


def _as_verified(rels: list, matches: int, fails: bool) -> list:
    """Relations of one structure: as they are when a group shown in full adds up, weak when
    none is shown in full (a cell of the primary mark only, within its range), none when one
    fails to add up."""
    if fails:
        return []
    if matches:
        return rels
    return [Relation(r.total, r.parts, r.why, r.remainder, weak=True) for r in rels]


def _header_ids(t: ReadTable, extra: dict) -> dict[int, str]:
    """Each count column's n from a row ``n`` or an ``(n=38)`` in its header, as cell ids
    (a header's n is put into ``extra``)."""
    totals: dict[int, str] = {}
    for i, key in enumerate(t.keys):
        if key and HEADER_N_LABEL.match(key[0]) and all(not k for k in key[1:]):
            for j in t.counts:
                if t.cells[i][j].number or t.cells[i][j].hidden:
                    totals.setdefault(j, t.cell_id(i, j))
    for j in t.counts:
        match = N_IN_LABEL.search(str(t.header[j]))
        parsed = parse_number(match.group(1).strip()) if match else None
        if j not in totals and parsed:
            cid = f"{t.where}\x1fheader\x1f{j}"
            extra[cid] = Reading("number", parsed[0], text=match.group(1))
            totals[j] = cid
    return totals


def header_totals(t: ReadTable) -> dict:
    """``{count column: Reading}`` of the arms' n a Table 1 writes in a row or its header."""
    extra: dict = {}
    ids = _header_ids(t, extra)
    cells = {t.cell_id(i, j): t.cells[i][j] for i in range(len(t.cells)) for j in t.counts}
    cells.update(extra)
    return {j: cells[cid] for j, cid in ids.items()}


def _header_n(t: ReadTable, extra: dict) -> list[Relation]:
    """Table 1 written wide: a row ``n`` (or ``(n=38)`` in a header) gives each arm's n."""
    totals = _header_ids(t, extra)
    if not totals:
        return []
    groups = [[i for i in g if not HEADER_N_LABEL.match(t.keys[i][0] or " ")] for g in _groups(t)]
    cells = {t.cell_id(i, j): t.cells[i][j] for i in range(len(t.cells)) for j in t.counts}
    cells.update(extra)
    out = []
    for j, total in totals.items():
        rels, matches, fails = [], 0, False
        for g in groups:
            used = [i for i in g if t.cells[i][j].number or t.cells[i][j].hidden]
            if len(used) < 2:
                continue
            said = check_sum(cells[total], [t.cells[i][j] for i in used])
            fails |= said == "contradict"
            matches += said == "match"
            rels.append(Relation(total, tuple(t.cell_id(i, j) for i in used),
                                 "the arm's n in the header"))
        out += _as_verified(rels, matches, fails)
    return out
