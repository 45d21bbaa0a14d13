"""``inconsistent_suppression``: the same cell shown in one output and hidden in another of the
same check (output checker).

Outputs of one study are read together: a count hidden in one report and printed in another is
not hidden. A cell is named by its table's row labels and its column (``("low",)``, ``n``); two
tables are taken to count the same people when every cell both show agrees and at least two do
(or one, when the tables carry the same name) — two institutions' reports name their rows alike
but show other numbers, and are left alone. :class:`SeenCells` keeps the cells of every output
checked so far; each new table is compared with them (and with the other tables of its own
output), and a finding is made in the output being checked, naming the other one.

>>> from evaluation.disclosure.shown_tables import ShownTable
>>> from evaluation.disclosure.table_cells import read_table
>>> seen = SeenCells()
>>> def t(cells): return read_table(ShownTable(["group", "n"], cells, {0}), "table 1")
>>> seen.add("a.html", [t([["low", "<5"], ["mid", "40"], ["high", "17"]])])
[]
>>> [e for _, _, e in seen.add("b.html", [t([["low", "4"], ["mid", "40"], ["high", "17"]])])]
['shown here but hidden in a.html (table 1 row 1 column n)']
"""
from __future__ import annotations

from evaluation.disclosure.table_cells import ReadTable

RULE = "inconsistent_suppression"


def _norm(text) -> str:
    return " ".join(str(text).split()).casefold()


def _keys(t: ReadTable) -> dict:
    """``{(row labels, column): (row, column index)}`` of the counts and shares of ``t``."""
    out = {}
    if not t.labels:
        return out
    for i, key in enumerate(t.keys):
        if not any(key):
            continue
        row = tuple(_norm(k) for k in key)
        for j in (*t.counts, *t.shares):
            cell = t.cells[i][j]
            if cell.number or cell.hidden:
                out.setdefault((row, _norm(t.header[j])), (i, j))
    return out


def _same(a, b) -> bool:
    tolerance = 0.5 * 10 ** -min(a.decimals, b.decimals) + 1e-9
    return abs(a.value - b.value) <= tolerance


class SeenCells:
    """The cells of the outputs checked so far."""

    def __init__(self):
        self.tables: list[tuple[str, ReadTable, dict]] = []      # (file, table, keys)
        self.index: dict = {}                                   # cell key -> [table number]

    def add(self, name: str, tables: list[ReadTable], masked=str) -> list[tuple[str, str, str]]:
        """Compare the tables of the output ``name`` with those seen, remember them, and give
        ``(where, rule, excerpt)`` for every cell shown on one side and hidden on the other."""
        found = []
        for t in tables:
            keys = _keys(t)
            if not keys:
                continue
            candidates: dict[int, int] = {}
            for key in keys:
                for k in self.index.get(key, ()):
                    candidates[k] = candidates.get(k, 0) + 1
            for k in candidates:
                other_name, other, other_keys = self.tables[k]
                found += self._compare(name, t, keys, other_name, other, other_keys, masked)
            number = len(self.tables)
            self.tables.append((name, t, keys))
            for key in keys:
                self.index.setdefault(key, []).append(number)
        return found

    @staticmethod
    def _compare(name, t, keys, other_name, other, other_keys, masked) -> list:
        common = [k for k in keys if k in other_keys]
        agree = 0
        mixed = []
        for key in common:
            (i, j), (oi, oj) = keys[key], other_keys[key]
            a, b = t.cells[i][j], other.cells[oi][oj]
            if a.number and b.number:
                if not _same(a, b):
                    return []              # other numbers: other people
                agree += 1
            elif a.hidden != b.hidden:
                mixed.append((i, j, oi, oj, a.hidden))
        named_alike = bool(t.name) and _norm(t.name) == _norm(other.name)
        if not mixed or agree < (1 if named_alike else 2):
            return []
        where_else = other_name if other_name != name else "this output"
        out = []
        for i, j, oi, oj, hidden_here in mixed:
            there = other.place(oi, oj, masked)
            if hidden_here:
                text = f"hidden here ({t.cells[i][j].text}) but shown in {where_else} ({there})"
            else:
                text = f"shown here but hidden in {where_else} ({there})"
            out.append((t.place(i, j, masked), RULE, text))
        return out
