"""The counts a report has shown, linked across its tables (one ledger per ``Disclosure``).

A reader has every table of a report at once, so a count hidden in one table and shown in
another is not hidden, and a cell that hides another only helps if the reader cannot get it
elsewhere. The ledger gives each count a name (its *cell id*: the population it counts in, the
column, and the conditions of its row) and remembers, for every id, its true value and whether
the report showed it (``shown``), hid it as a small count (``primary``) or hid it to protect
another (``secondary``); ids only implied (a group total no table shows) are ``unshown``. It also
keeps the linear relations between ids that a reader knows: a total is the sum of its parts (the
rows of a long table partition their group; a count and its complement make up an n).

:class:`~evaluation.disclosure.safe_tables.Disclosure` asks the ledger, before it suppresses a
table, which of the table's cells are already hidden elsewhere (they are hidden here too) and
which are published (they are never chosen to protect another), and tells it afterwards what the
table showed. :meth:`Ledger.log` is what the report may carry (structure and shown values, never a
hidden value), which an attacker needs and the output checker reads; :meth:`Ledger.attack` runs
the linear-programming attacker over all of it.

Tau-Argus and SSB's GaussSuppression do linked-table suppression for whole sets of tables at
once; a notebook shows its tables one at a time and cannot take an earlier one back, so here each
table is suppressed in the light of those before it, and the attacker checks the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATES = ("shown", "primary", "secondary", "unshown")


class CellId(str):
    """A cell's name that also keeps what it is made of (``population``, ``column``,
    ``conditions`` as text), so that a batch can name the same count of another run's report
    without parsing names whose values may hold commas or brackets."""

    def __new__(cls, text: str, population: str, column: str, conditions: dict):
        self = super().__new__(cls, text)
        self.parts = (str(population), str(column), dict(conditions))
        return self

    def __getnewargs__(self):
        return (str(self), *self.parts)


def cell_id(population: str, column: str, conditions: dict | None = None) -> str:
    """The name of a count: ``population:column[key=value,…]`` with the keys sorted, so that the
    same count gets the same name in every table.

    >>> cell_id("people", "n", {"severity_band": "low", "has_ip": 1})
    'people:n[has_ip=1,severity_band=low]'
    >>> cell_id("people", "n", {"has_ip": 1}).parts
    ('people', 'n', {'has_ip': '1'})
    """
    conds = {str(k): _text(v) for k, v in sorted((conditions or {}).items())}
    text = f"{population}:{column}[" + ",".join(f"{k}={v}" for k, v in conds.items()) + "]"
    return CellId(text, population, column, conds)


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Ledger:
    """Cells and relations shown so far in one report."""

    cells: dict = field(default_factory=dict)       # id -> {"value": float, "state": str}
    relations: list = field(default_factory=list)   # {"total", "parts", "remainder"}
    # Cells counted from person-level data (crosstab, frequencies): the rows each holds, so
    # that two tables of the same rows link whatever they are called (the crosstab's row
    # "Karlsborg" and the frequencies of the Karlsborg subset are one set of cells).
    rows: dict = field(default_factory=dict)        # id -> (universe, frozenset of row labels)
    by_rows: dict = field(default_factory=dict)     # (universe, frozenset) -> id
    universes: list = field(default_factory=list)   # per universe: {row label: {column: value}}
    parts: dict = field(default_factory=dict)       # id -> (population, column, conditions)
    named: dict = field(default_factory=dict)       # universe of ids (people) -> its index

    def state(self, cid: str) -> str | None:
        cell = self.cells.get(cid)
        return cell["state"] if cell else None

    def hidden_elsewhere(self, cid: str) -> bool:
        return self.state(cid) in ("primary", "secondary")

    def published(self, cid: str) -> bool:
        return self.state(cid) == "shown"

    def record(self, cid: str, value: float, state: str) -> str:
        """Remember that a table showed (or hid) ``cid`` with true ``value``; returns the id
        used. A count already known under the same id with another value counts something else
        (a table's own population, named alike): it is kept apart under a new id."""
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, got {state!r}")
        value = float(value)
        old = self.cells.get(cid)
        if old is None:
            self.cells[cid] = {"value": value, "state": state}
            if getattr(cid, "parts", None) is not None:
                self.parts.setdefault(str(cid), cid.parts)
            return cid
        if not np.isclose(old["value"], value):
            if old["state"] == "unshown":   # a total only implied so far: the real one wins
                self._widen(cid, value)
                old.update(value=value, state=state)
                return cid
            k = 2
            while f"{cid}#{k}" in self.cells:
                k += 1
            parts = getattr(cid, "parts", None)
            other = CellId(f"{cid}#{k}", *parts) if parts else f"{cid}#{k}"
            return self.record(other, value, state)
        # Once shown, a count stays known; hidden and shown again cannot happen (the layer
        # hides what was hidden before), and a primary cell stays primary.
        order = {"unshown": 0, "secondary": 1, "primary": 2, "shown": 3}
        if order[state] > order[old["state"]]:
            old["state"] = state
        return cid

    def _widen(self, total: str, value: float) -> None:
        """A total turned out larger than its parts: the relations it closes get a remainder."""
        for rel in self.relations:
            if rel["total"] == total:
                parts = sum(self.cells[p]["value"] for p in rel["parts"])
                rel["remainder"] = bool(value > parts + 1e-9)

    def relate(self, total: str, parts: list[str], *, remainder: bool | None = None) -> None:
        """``total`` is the sum of ``parts`` (plus a hidden remainder ≥ 0 when ``remainder``;
        decided from the true values when not given). A total no table showed is recorded as
        ``unshown``, with the parts' sum."""
        parts = [p for p in dict.fromkeys(parts) if p != total]
        if not parts:
            return
        got = sum(self.cells[p]["value"] for p in parts)
        if total not in self.cells:
            self.record(total, got, "unshown")
        if self.cells[total]["value"] < got - 1e-9:
            return      # not a total of these parts: a count of other people named alike
        if remainder is None:
            remainder = bool(self.cells[total]["value"] > got + 1e-9)
        rel = {"total": total, "parts": parts, "remainder": bool(remainder)}
        if rel not in self.relations:
            self.relations.append(rel)

    # -- cells counted from rows -------------------------------------------------------------
    def universe(self, data, columns) -> int:
        """The universe the rows of ``data`` belong to: one seen before when the row labels it
        shares with it hold the same values in the columns both used (a subset of the same
        people), else a new one."""
        values = data[list(columns)].to_dict("index")
        for k, seen in enumerate(self.universes):
            if k in self.named.values():    # ids, not row labels: never the same rows
                continue
            common = [label for label in values if label in seen]
            if common and all(seen[label].get(c, values[label][c]) == values[label][c]
                              for label in common for c in values[label]):
                for label, vals in values.items():
                    seen.setdefault(label, {}).update(vals)
                return k
        self.universes.append(values)
        return len(self.universes) - 1

    def universe_of(self, name: str) -> int:
        """The universe of the ids called ``name`` (the study's people, by id): every table
        marked with :func:`evaluation.estimates.with_rows` counts in it."""
        if name not in self.named:
            self.universes.append({})
            self.named[name] = len(self.universes) - 1
        return self.named[name]

    def same_rows(self, universe: int, labels) -> str | None:
        """The cell already counting exactly these rows, if any."""
        return self.by_rows.get((universe, frozenset(labels)))

    def unique_for_rows(self, cid: str, universe: int, labels) -> str:
        """``cid``, or ``cid#k`` when ``cid`` already names other rows (the frequencies of two
        subsets, both called by their column): two counts of different people are two cells."""
        key, k, name = (universe, frozenset(labels)), 1, cid
        while name in self.rows and self.rows[name] != key:
            k += 1
            parts = getattr(cid, "parts", None)
            name = CellId(f"{cid}#{k}", *parts) if parts else f"{cid}#{k}"
        return name

    def record_rows(self, cid: str, universe: int, labels) -> None:
        key = (universe, frozenset(labels))
        self.rows[cid] = key
        self.by_rows.setdefault(key, cid)

    def _atoms(self, sizes: dict | None = None) -> tuple[list, list]:
        """Cells and relations that tie every row-counted cell to the finest sets of rows the
        report's tables cut (its atoms): a reader can combine any of those tables. ``sizes``,
        when given, is filled with each atom's number of rows (its true value)."""
        cells, relations = [], []
        for u in range(len(self.universes)):
            members = {cid: labels for cid, (uu, labels) in self.rows.items() if uu == u}
            signature: dict = {}
            for cid, labels in members.items():
                for label in labels:
                    signature.setdefault(label, set()).add(cid)
            atoms: dict = {}
            for label, sig in signature.items():
                atoms.setdefault(frozenset(sig), []).append(label)
            names = {sig: f"rows {u}:{k}" for k, sig in enumerate(atoms)}
            if sizes is not None:
                sizes.update({names[sig]: len(labels) for sig, labels in atoms.items()})
            cells += [{"id": name, "shown": None, "mark": None} for name in names.values()]
            for cid in members:
                parts = [names[sig] for sig in atoms if cid in sig]
                relations.append({"total": cid, "parts": parts, "remainder": False})
        return cells, relations

    # -- what the report may carry ----------------------------------------------------------
    def log(self, rules) -> dict:
        """Cells (id, shown value or mark) and relations: all an attacker needs, nothing hidden."""
        marks = {"primary": rules.suppressed_text, "secondary": rules.protected_text,
                 "unshown": None}
        cells = [{"id": cid, "shown": c["value"] if c["state"] == "shown" else None,
                  "mark": None if c["state"] == "shown" else marks[c["state"]]}
                 for cid, c in self.cells.items()]
        atoms, tied = self._atoms()
        return {"cells": cells + atoms, "relations": [dict(r) for r in self.relations] + tied}

    def private(self) -> dict:
        """Every cell with its true value, state and parts, and the relations: for the batch's
        release only (kept in the run's private folder, never in a report)."""
        cells = []
        for cid, c in self.cells.items():
            population, column, conditions = self.parts.get(cid, (None, None, None))
            cells.append({"id": cid, "value": c["value"], "state": c["state"],
                          "population": population, "column": column, "conditions": conditions})
        sizes: dict = {}
        atoms, tied = self._atoms(sizes)
        cells += [{"id": a["id"], "value": float(sizes[a["id"]]), "state": "unshown",
                   "population": None, "column": None, "conditions": None} for a in atoms]
        return {"cells": cells, "relations": [dict(r) for r in self.relations] + tied}

    def counts(self) -> dict:
        """How many cells of each state the report holds."""
        out = {s: 0 for s in STATES}
        for c in self.cells.values():
            out[c["state"]] += 1
        return out
