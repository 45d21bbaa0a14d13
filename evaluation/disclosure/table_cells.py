"""A shown table read for arithmetic: every cell as a :class:`~.cell_text.Reading`, and which
columns are row labels, counts and shares (output checker, internal).

The leak rules (:mod:`.table_relations`, :mod:`.share_rules`) ask the same questions of every
table — which cells are counts, which rows form a group, which cell is hidden — so a
:class:`ReadTable` answers them once. A running row number (pandas' default index) is neither a
label nor a count.

>>> from evaluation.disclosure.shown_tables import ShownTable
>>> t = read_table(ShownTable(["", "severity", "n", "share"],
...                           [["0", "low", "<5", "0,1"], ["1", "high", "1 234", "0,9"]], {0}),
...                "table 1")
>>> t.labels, t.counts, t.shares, t.keys
([1], [2], [3], [('low',), ('high',)])
"""
from __future__ import annotations

from dataclasses import dataclass, field

from evaluation.disclosure.cell_text import (COUNT_NAME, NOT_COUNT_NAME, SHARE_NAME, Marks,
                                             Reading, is_total_label, last_label, read_cell)
from evaluation.disclosure.shown_tables import ShownTable

_PROPORTION_SCALES = {"proportion", "share", "andel", "percent", "prosent", "percentage"}


@dataclass
class ReadTable:
    shown: ShownTable
    where: str                       # "cell 7 output 1 table 2", "table 3"
    cells: list                      # rows of Readings, as shown.rows
    labels: list                     # label columns before the numbers (row keys)
    counts: list                     # columns of counts (whole numbers ≥ 0 or marks)
    shares: list                     # columns of shares or percentages
    keys: list = field(default_factory=list)    # per row: its label texts
    marks: Marks = field(default_factory=Marks)
    percent: set = field(default_factory=set)   # share columns written as 0–100
    mask: object = str                          # how a label may appear in a finding
    told: set = field(default_factory=set)      # count columns the layer's record names

    def share_at(self, i: int, j: int) -> tuple[float, int] | None:
        """``(share 0–1, decimals of it)`` of cell ``(i, j)`` in a share column, or of a
        percentage written beside a count (``12 (40 %)``); None when not shown."""
        r = self.cells[i][j]
        if r.share is not None:
            return r.share, r.share_decimals
        if j in self.shares and r.number:
            if j in self.percent:
                return r.value / 100, r.decimals + 2
            return r.value, r.decimals
        return None

    @property
    def header(self) -> list:
        return self.shown.header

    @property
    def name(self) -> str:
        return self.shown.name

    @property
    def safe(self) -> bool:
        return self.shown.safe

    def label(self, j: int) -> str:
        return str(self.header[j]) if j < len(self.header) and self.header[j] else str(j + 1)

    def cell_id(self, i: int, j: int) -> str:
        return f"{self.where}\x1f{i}\x1f{j}"

    def place(self, i: int, j: int, masked=None) -> str:
        return f"{self.where} row {i + 1} column {(masked or self.mask)(self.label(j))}".strip()

    def varying_labels(self) -> list:
        """Label columns with more than one value: the keys that part the rows."""
        return [j for j in self.labels if len({row[j].text for row in self.cells}) > 1]

    def total_rows(self) -> set:
        """Rows labelled Total, Sum, I alt, Alle … in a label column."""
        return {i for i, key in enumerate(self.keys) if any(is_total_label(k) for k in key)}

    def proportion_rows(self, j: int) -> bool:
        """Whether column ``j`` (an ``estimate``) holds proportions in every row that has a
        value: the result contract says so in ``scale`` (or ``measure`` says ``share``)."""
        scale = _column(self, "scale")
        measure = _column(self, "measure")
        for i, row in enumerate(self.cells):
            if not (row[j].number or row[j].hidden):
                continue
            said = (row[scale].text.lower() if scale is not None else "",
                    row[measure].text.lower() if measure is not None else "")
            if said[0] not in _PROPORTION_SCALES and not said[1].startswith(("share", "andel")):
                return False
        return True


def read_table(table: ShownTable, where: str) -> ReadTable:
    """Read every cell of ``table`` with its own marks and give each column its role."""
    marks = Marks.of(table.meta)
    # The layer says which columns are the row's keys (a 0/1 has_ip is not a count of people).
    meta = table.meta if isinstance(table.meta, dict) else {}
    keys = set(meta.get("keys") or [])
    # ... and, its headers being labels in the report's language, its counts and shares.
    told_counts, told_shares = set(meta.get("counts") or []), set(meta.get("shares") or [])
    cells = [[read_cell(c, marks) for c in row] for row in table.rows]
    width = len(table.header)
    labels, counts, shares, numeric, percent, told = [], [], [], [], set(), set()
    for j in range(width):
        column = [row[j] for row in cells if j < len(row)]
        name = last_label(table.header[j]) if table.header[j] else ""
        if _running_number(column) and (j in table.index_columns or not name):
            continue
        numbers = [r for r in column if r.number]
        texts = [r for r in column if r.kind == "text"]
        if name in keys:
            labels.append(j)
        elif numbers and not texts:
            numeric.append(j)
            kind = _share_kind(name, numbers) or ("share" if name in told_shares else None)
            if name in told_counts and all(r.whole and r.value >= 0 for r in numbers):
                counts.append(j)
                told.add(j)
                continue
            if kind:
                shares.append(j)
                if kind == "percent":
                    percent.add(j)
            elif _is_count(name, numbers):
                counts.append(j)
            elif name.lower() == "estimate":
                shares.append(j)          # kept when its rows say proportion (below)
        elif texts or j in table.index_columns or (column and not numbers):
            if not numeric:               # labels after the numbers are notes, not keys
                labels.append(j)
    read = ReadTable(table, where, cells, labels, counts, shares, marks=marks, percent=percent,
                     told=told)
    read.shares = [j for j in shares if last_label(table.header[j]).lower() != "estimate"
                   or read.proportion_rows(j)]
    read.keys = [tuple(row[j].text for j in labels) for row in cells]
    _blank_levels(read)
    return read


def _blank_levels(t: ReadTable) -> None:
    """A level of a variable whose count is blank while the other levels of the variable
    have theirs was hidden (a layer writing hidden cells as ``<NA>`` or nothing): read it as a
    hidden cell with no mark."""
    varying = t.varying_labels()
    if len(varying) < 2:
        return
    first, level = varying[0], varying[1]
    groups: dict[str, list] = {}
    current = None
    for i, row in enumerate(t.cells):
        current = row[first].text or current
        if current is not None and row[level].text:
            groups.setdefault(current, []).append(i)
    for rows in groups.values():
        for j in t.counts:
            if len(rows) >= 2 and any(t.cells[i][j].number for i in rows):
                for i in rows:
                    cell = t.cells[i][j]
                    if cell.kind == "blank":
                        t.cells[i][j] = Reading("mark", mark="other", text=cell.text or "blank")


def _column(table: ReadTable, name: str) -> int | None:
    for j, label in enumerate(table.header):
        if last_label(label).lower() == name:
            return j
    return None


def _share_kind(name: str, numbers: list[Reading]) -> str | None:
    """"share" (0–1), "percent" (0–100, the cell's own "%" aside) or None."""
    if all(r.percent for r in numbers):
        return "share" if all(0 <= r.value <= 100.0001 for r in numbers) else None
    if not SHARE_NAME.search(name):
        return None
    if any(w in name.lower() for w in ("pct", "percent", "prosent", "%")):
        return "percent" if all(0 <= r.value <= 100.0001 for r in numbers) else None
    return "share" if all(0 <= r.value <= 1.0001 for r in numbers) else None


def _is_count(name: str, numbers: list[Reading]) -> bool:
    if not all(r.whole and r.value >= 0 for r in numbers):
        return False
    if COUNT_NAME.match(name):
        return True
    if NOT_COUNT_NAME.search(name) or name.lower() in ("true", "false"):
        return False
    values = [int(r.value) for r in numbers]
    return not all(1800 <= v <= 2100 for v in values)


def _running_number(column: list[Reading]) -> bool:
    """0, 1, 2, … or 1, 2, 3, … : a row number."""
    values = [r.value for r in column if r.number]
    if len(values) != len(column) or not values:
        return False
    start = values[0]
    return start in (0, 1) and all(v == start + k for k, v in enumerate(values))
