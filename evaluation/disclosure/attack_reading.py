"""Cells and relations of shown tables, for the attacker (:func:`.attacker.attack`).

A report's tables are given as the text they show (marks as strings, numbers perhaps with
Norwegian decimal commas, read by :func:`.cell_text.read_cell`) with a small spec saying what
each table is; nothing is guessed here (guessing the structure of a table seen only as HTML is
the output checker's job). The shapes:

- :class:`CountTable` — a table of counts, perhaps with a total row and/or column (``Total``,
  ``Totalt``, ``Sum``, ``I alt``); rows and columns add up to their totals;
- :class:`LongTable` — key columns and a count column: rows sharing the leading keys partition
  their group's total, which may be shown in the table (a key ``Total``) or anywhere else;
- :class:`ShareTable` — a share (or percentage) of an n: the count behind it lies within the
  shown decimals' rounding (0.150 of 20: between 0.1495·20 and 0.1505·20);
- :class:`TableOne` — Table 1: per arm an n, and the levels of each variable add up to it;
- :class:`Number` — a count written in a sentence ("134 people");
- :class:`Partition` — cells without a key are the sum over its levels of the cells with it
  (the "all" run and each institution's run of a batch).

Every count gets the id :func:`.linked.cell_id` gives it (population, count, conditions), so the
same count in two tables is one cell, as in the layer's ledger. A count hidden in one table and
shown in another stays hidden, with the shown one as its own cell equal to it: the attacker then
finds it exposed. A total labelled ``(shown)`` is the sum of the shown cells only, which says
nothing about the hidden ones: it is left out.

>>> import pandas as pd
>>> t = pd.DataFrame({"n": ["253", "111", "67", "74", "<5"]},
...                  index=["Total", "recovered", "improved", "no change", "deteriorated"])
>>> t.index.name = "category"
>>> cells, relations = relations_from_tables([CountTable(t, "episodes")])
>>> [(r["total"], len(r["parts"])) for r in relations]
[('episodes:n[]', 4)]
>>> cells.loc[cells["mark"].notna(), "id"].tolist()
['episodes:n[category=deteriorated]']
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from evaluation.disclosure.cell_text import read_cell
from evaluation.disclosure.linked import cell_id

TOTAL_LABEL = re.compile(r"^(total|totalt|totals|sum|i alt|samlet)$", re.IGNORECASE)
SHOWN_TOTAL = re.compile(r"^(total|totalt|sum|i alt)\s*\((shown|vist)\)$", re.IGNORECASE)


@dataclass(frozen=True)
class CountTable:
    """``frame``: counts, row labels in the index. ``rows``/``columns``: the variables the
    labels are levels of (default: the index's and columns' names); when one is None, that
    axis's labels name counts (``n``, ``n_missing``) instead of levels."""
    frame: pd.DataFrame
    population: str
    rows: str | None = None
    columns: str | None = None
    count: str = "n"
    remainder: bool = False           # the totals include people in no shown line
    conditions: dict = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class LongTable:
    """``keys``: the columns that name a row; ``count``: the column of counts. ``groups``: the
    key sets whose rows partition a group total (default: all keys but the last)."""
    frame: pd.DataFrame
    population: str
    keys: tuple
    count: str = "n"
    groups: tuple | None = None
    remainder: bool = False
    conditions: dict = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class ShareTable:
    """A ``share`` column of a count. The count's id: ``count`` with the row's ``keys`` and
    ``count_conditions``; its shown text, if any, in ``count_column``. The n: the ``n`` column
    (id: the row's keys), or the count of ``n_conditions`` when the n is not in the table
    (shares of everyone counted). ``percent``: the share is written 0–100 (also when its text
    ends with ``%``)."""
    frame: pd.DataFrame
    population: str
    keys: tuple
    share: str
    n: str | None = None
    count: str = "n"
    count_column: str | None = None
    count_conditions: dict = field(default_factory=dict)
    n_conditions: dict | None = None
    percent: bool = False
    conditions: dict = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class TableOne:
    """Table 1: ``arms`` maps an arm's value of ``arm`` (the exposure) to its columns
    ``{"n": ..., "count": ..., "percent": ...}`` (percent optional, 0–100). The levels of a
    variable partition the arm's n (one n per arm: complete cases); a variable shown by one
    level (a 0/1 item, level blank as ``balance.table_one`` writes it) leaves its complement
    unshown; a row with no count (a mean) only gives the n."""
    frame: pd.DataFrame
    population: str
    arm: str
    arms: dict
    variable: str = "variable"
    level: str = "level"
    count: str = "n"
    remainder: bool = False
    conditions: dict = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class Number:
    """A count written in text: ``text`` ("134"), the count of ``population`` under
    ``conditions``."""
    text: str
    population: str
    count: str = "n"
    conditions: dict = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class Partition:
    """Every count without ``key`` is the sum of the counts with ``key`` = each of ``levels``
    (all else alike), plus a remainder when ``remainder``."""
    key: str
    levels: tuple
    remainder: bool = False


def relations_from_tables(tables, *, partitions=()) -> tuple[pd.DataFrame, list[dict]]:
    """``(cells, relations)`` for :func:`.attacker.attack` from specs of shown tables."""
    book = _Book()
    for k, spec in enumerate(tables):
        where = spec.name or f"table {k + 1}"
        reader = _READERS.get(type(spec))
        if reader is None:
            raise ValueError(f"relations_from_tables: table {k + 1} is a {type(spec).__name__}; "
                             f"expected one of {[t.__name__ for t in _READERS]}.")
        reader(book, spec, where)
    for p in partitions:
        book.partition(p)
    return book.finish()


class _Book:
    """Counts by id, where each was seen and how, and the relations between them."""

    def __init__(self):
        self.seen: dict[str, list] = {}        # id -> [(where, Reading)]
        self.structure: dict[str, tuple] = {}  # id -> (population, count, conditions)
        self.relations: list[dict] = []

    def id(self, population, count, conditions) -> str:
        conds = {k: str(v).strip() for k, v in conditions.items()}
        cid = cell_id(population, count, conds)
        self.structure.setdefault(cid, (population, count, conds))
        self.seen.setdefault(cid, [])
        return cid

    def see(self, cid: str, text, where: str):
        """Record the cell's text; None when blank (no value here)."""
        reading = read_cell(text)
        if reading.kind == "blank":
            return None
        if reading.kind == "text" or (reading.number and reading.percent):
            raise ValueError(f"relations_from_tables: {where} shows {text!r} where a count was "
                             "expected; expected a number or a mark (<5, ·).")
        self.seen[cid].append((where, reading))
        return reading

    def relate(self, total, parts, remainder) -> None:
        parts = [p for p in dict.fromkeys(parts) if p is not None and p != total]
        if total is not None and parts:
            rel = {"total": total, "parts": parts, "remainder": bool(remainder)}
            if rel not in self.relations:
                self.relations.append(rel)

    def bound(self, count_id, of_id, low, high) -> None:
        self.relations.append({"count": count_id, "of": of_id, "low": low, "high": high})

    def partition(self, p: Partition) -> None:
        for population, count, conds in list(self.structure.values()):
            if p.key in conds:
                continue
            parts = [cell_id(population, count, {**conds, p.key: str(level)}) for level in p.levels]
            if not any(part in self.structure for part in parts):
                continue
            total = cell_id(population, count, conds)
            parts = [self.id(population, count, {**conds, p.key: str(level)}) for level in p.levels]
            self.relate(total, parts, p.remainder)

    def finish(self) -> tuple[pd.DataFrame, list[dict]]:
        rows, relations = [], list(self.relations)
        named = {c for r in relations for c in (r.get("total"), r.get("count"), r.get("of"),
                                                 *r.get("parts", ())) if c is not None}
        for cid, seen in self.seen.items():
            if not seen and cid not in named:
                continue                # an id made for a blank cell
            shown = [(w, r) for w, r in seen if r.number]
            hidden = [(w, r) for w, r in seen if r.hidden]
            values = {round(r.value, 9) for _, r in shown}
            if len(values) > 1:
                raise ValueError(f"relations_from_tables: {cid} is shown as {sorted(values)} "
                                 f"({', '.join(w for w, _ in shown)}); expected one value for one "
                                 "count: give the tables' counts different conditions.")
            if not hidden:
                rows.append({"id": cid, "shown": shown[0][1].value if shown else None,
                             "mark": None})
                continue
            mark = next((r for _, r in hidden if r.mark == "primary"), hidden[0][1])
            rows.append({"id": cid, "shown": None, "mark": mark.text})
            if shown:                   # hidden here, shown there: the reader has it
                where, r = shown[0]
                rows.append({"id": f"{cid}@{where}", "shown": r.value, "mark": None})
                relations.append({"total": cid, "parts": [f"{cid}@{where}"], "remainder": False})
        return pd.DataFrame(rows, columns=["id", "shown", "mark"]), relations


def _key(label) -> tuple[str, str]:
    """(label text, kind): kind "total", "shown total" or "" (a level)."""
    text = str(label).strip()
    kind = "shown total" if SHOWN_TOTAL.match(text) else "total" if TOTAL_LABEL.match(text) else ""
    return text, kind


def _count_table(book: _Book, spec: CountTable, where: str) -> None:
    frame = spec.frame
    rows_var = spec.rows or frame.index.name
    cols_var = spec.columns or frame.columns.name
    if rows_var is None and cols_var is None:
        raise ValueError(f"relations_from_tables: {where}: neither rows nor columns name a "
                         "variable; expected CountTable(rows=...) or columns=....")
    rows = [(label, *_key(label)) for label in frame.index]
    cols = [(label, *_key(label)) for label in frame.columns]

    def ident(r, c):
        (_, rt, rk), (_, ct, ck) = r, c
        conds = dict(spec.conditions)
        count = spec.count
        for var, text, kind in ((rows_var, rt, rk), (cols_var, ct, ck)):
            if var is None:
                count = spec.count if kind else text
            elif not kind:
                conds[var] = text
        return book.id(spec.population, count, conds)

    ids = {}
    for r in rows:
        for c in cols:
            if "shown total" in (r[2], c[2]):
                continue
            cid = ident(r, c)
            if book.see(cid, frame.loc[r[0], c[0]], f"{where}, row {r[1]}, column {c[1]}"):
                ids[(r[1], c[1])] = cid
    for lines, across in ((rows, cols), (cols, rows)):
        totals = [a for a in across if a[2] == "total"]
        for line in lines:
            if line[2] == "shown total":
                continue
            def at(a):
                return ids.get((line[1], a[1])) if lines is rows else ids.get((a[1], line[1]))
            parts = [at(a) for a in across if not a[2]]
            for total in totals:
                book.relate(at(total), parts, spec.remainder)


def _long_table(book: _Book, spec: LongTable, where: str) -> None:
    keys = list(spec.keys)
    groups = [list(g) for g in spec.groups] if spec.groups is not None else [keys[:-1]]
    leaves: dict[tuple, str] = {}
    for i, row in spec.frame.reset_index(drop=True).iterrows():
        labels = [_key(row[k]) for k in keys]
        if any(kind == "shown total" for _, kind in labels):
            continue
        at = next((p for p, (_, kind) in enumerate(labels) if kind), len(keys))
        conds = {**spec.conditions, **{k: text for k, (text, _) in zip(keys[:at], labels)}}
        cid = book.id(spec.population, spec.count, conds)
        place = f"{where}, row {i + 1} ({', '.join(t for t, _ in labels)})"
        if book.see(cid, row[spec.count], place) and at == len(keys):
            key = tuple(conds[k] for k in keys)
            if key in leaves:
                raise ValueError(f"relations_from_tables: {place} repeats the keys of another "
                                 f"row; expected one row per {keys}.")
            leaves[key] = cid
    for group in groups:
        sums: dict[tuple, list] = {}
        for values, cid in leaves.items():
            sums.setdefault(tuple(values[keys.index(k)] for k in group), []).append(cid)
        for values, parts in sums.items():
            conds = {**spec.conditions, **dict(zip(group, values))}
            total = book.id(spec.population, spec.count, conds)
            book.relate(total, parts, spec.remainder)


def _share(book: _Book, count_id, of_id, text, percent: bool) -> None:
    """count / of is the share shown, to within its rounding."""
    reading = read_cell(text)
    if not reading.number:
        return
    scale = 0.01 if (percent or reading.percent) else 1.0
    half = 0.5 * 10.0 ** -reading.decimals * scale
    share = reading.value * scale
    book.bound(count_id, of_id, max(0.0, share - half), min(1.0, share + half))


def _share_table(book: _Book, spec: ShareTable, where: str) -> None:
    if spec.n is None and spec.n_conditions is None:
        raise ValueError(f"relations_from_tables: {where}: a share needs its n; expected "
                         "ShareTable(n='column') or n_conditions={...} (the n's count).")
    for i, row in spec.frame.reset_index(drop=True).iterrows():
        labels = [_key(row[k]) for k in spec.keys]
        if any(kind for _, kind in labels):
            continue
        conds = {**spec.conditions, **{k: text for k, (text, _) in zip(spec.keys, labels)}}
        place = f"{where}, row {i + 1}"
        count_id = book.id(spec.population, spec.count, {**conds, **spec.count_conditions})
        if spec.count_column is not None:
            book.see(count_id, row[spec.count_column], place)
        if spec.n is not None:
            n_id = book.id(spec.population, spec.count, conds)
            book.see(n_id, row[spec.n], place)
        else:
            n_id = book.id(spec.population, spec.count, {**spec.conditions, **spec.n_conditions})
        _share(book, count_id, n_id, row[spec.share], spec.percent)


def _table_one(book: _Book, spec: TableOne, where: str) -> None:
    variable = None
    levels: dict[str, list] = {}
    for i, row in spec.frame.reset_index(drop=True).iterrows():
        text = str(row[spec.variable]).strip() if pd.notna(row[spec.variable]) else ""
        variable = text or variable
        level = str(row[spec.level]).strip() if pd.notna(row[spec.level]) else ""
        if variable is not None:    # no level: a 0/1 item (its count: those with 1) or a mean
            levels.setdefault(variable, []).append((i, level or "1", row))
    for arm, columns in spec.arms.items():
        n_id = book.id(spec.population, spec.count, {**spec.conditions, spec.arm: arm})
        for var, rows in levels.items():
            parts = []
            for i, level, row in rows:
                place = f"{where}, {var} = {level}, {spec.arm} = {arm}"
                book.see(n_id, row[columns["n"]], place)
                cid = book.id(spec.population, spec.count,
                              {**spec.conditions, spec.arm: arm, var: level})
                if book.see(cid, row[columns["count"]], place):
                    parts.append(cid)
                    if columns.get("percent"):
                        _share(book, cid, n_id, row[columns["percent"]], True)
            book.relate(n_id, parts, spec.remainder or len(rows) == 1)


def _number(book: _Book, spec: Number, where: str) -> None:
    book.see(book.id(spec.population, spec.count, spec.conditions), spec.text, where)


_READERS = {CountTable: _count_table, LongTable: _long_table, ShareTable: _share_table,
            TableOne: _table_one, Number: _number}
