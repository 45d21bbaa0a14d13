"""The counts of every run of a batch in one ledger: what a reader of the whole release knows.

Each run's Disclosure kept its ledger (``.private/ledger.json``: every count with its true value,
state and parts, and the relations between counts) and its part of the study (``subset``:
``{"institution": "Karlsborg"}``, none for "all"). Here they become one set of linked tables:

- **one name per count of the batch.** A run's count is named by its population, column and
  conditions plus the run's subset, within the run's *context* (its other parameters: the
  outcome …). So the row "Karlsborg" of the coverage table of the "all" run and the total of
  the coverage table of Karlsborg's run are one count, shown in one run and perhaps hidden in
  the other.
- **subsets add up.** Within a context, a count of the whole study is the sum of the same
  count in each institution (plus a remainder ≥ 0 when some institution has no run or the
  parts do not cover the whole): "all" minus the others gives one institution back.
- **the same number in two contexts.** A count of the same name in two contexts with the same
  true value (the coverage table does not depend on the outcome) is taken as one number.

Every relation is checked against the true values before it is added, so the attacker is
never told something false (a table whose population differs between runs, such as the people
analysed for one outcome, simply gets no relation across them). A reader may not know all of
them; assuming that they do can only hide more.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.batch.worker import read_status
from evaluation.disclosure.linked import cell_id
from evaluation.disclosure.private_record import PRIVATE_DIR, load_private

__all__ = ["BatchLedger", "RunRecord", "build_ledger", "load_runs"]

_TOL = 1e-9
STATE_ORDER = {"unshown": 0, "secondary": 1, "primary": 2}


@dataclass
class RunRecord:
    """One finished run of the batch, with what its Disclosure kept."""
    run_id: str
    label: str
    folder: Path
    status: dict
    ledger: dict
    tables: list

    @property
    def subset(self) -> dict:
        return dict(self.ledger.get("subset") or {})

    @property
    def context(self) -> str:
        """The run's values of the batch's grid other than its subset (the outcome …): runs
        of one context differ only by which part of the study they cover. (The parameters not
        in the grid are the same for every run, or name the run's own folder.)"""
        grid = self.status.get("grid")
        if not isinstance(grid, dict):
            grid = {k: v for k, v in (self.status.get("parameters") or {}).items()
                    if k != "output_dir"}
        params = {k: v for k, v in grid.items()
                  if k not in self.subset and k not in self.ledger.get("partition", {})}
        return json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)


def load_runs(out_dir) -> tuple[list[RunRecord], list[tuple[str, str]]]:
    """The runs of the batch in ``out_dir`` that finished ``ok`` with a private record, and
    ``(run_id, why)`` for each ok run that cannot take part (no record: an older ipeval)."""
    out_dir = Path(out_dir)
    batch = json.loads((out_dir / "batch.json").read_text(encoding="utf-8"))
    runs, missing = [], []
    for entry in batch.get("runs", []):
        folder = out_dir / entry["folder"]
        status = read_status(folder)
        if not isinstance(status, dict) or status.get("status") != "ok":
            continue
        try:
            ledger, tables = load_private(folder / PRIVATE_DIR)
        except FileNotFoundError:
            missing.append((entry["run_id"], "the run kept no private record of its tables "
                                             "(run it again with this ipeval)"))
            continue
        except PermissionError as exc:
            missing.append((entry["run_id"], str(exc)))
            continue
        runs.append(RunRecord(entry["run_id"], entry.get("label", entry["run_id"]), folder,
                              status, ledger, tables))
    return runs, missing


@dataclass
class BatchLedger:
    """Cells of the batch (``gid`` → true value, where each occurs and in which state) and the
    relations between them."""
    cells: dict = field(default_factory=dict)        # gid -> {"value", "places": [(run, id, state)]}
    relations: list = field(default_factory=list)
    local: dict = field(default_factory=dict)        # (run index, local id) -> gid
    parts: dict = field(default_factory=dict)        # gid -> (context, population, column, conds)
    partition: dict = field(default_factory=dict)    # key -> every level (the institutions)

    def in_part(self, gid: str) -> bool:
        """Whether the count is of one part of the study (one institution), not the whole."""
        conds = self.parts.get(gid, (None, None, None, {}))[3]
        return any(k in conds for k in self.partition)

    def state(self, gid: str) -> str:
        """``shown`` when any run shows the count, else the strongest mark it has."""
        states = [s for _, _, s in self.cells[gid]["places"]]
        if "shown" in states:
            return "shown"
        return max(states, key=STATE_ORDER.get)

    def attack_cells(self, rules) -> list[dict]:
        marks = {"primary": rules.suppressed_text, "secondary": rules.protected_text,
                 "unshown": None}
        out = []
        for gid, cell in self.cells.items():
            state = self.state(gid)
            out.append({"id": gid, "shown": cell["value"] if state == "shown" else None,
                        "mark": None if state == "shown" else marks[state]})
        return out

    def conflicts(self) -> list[str]:
        """Counts shown in one run and hidden (marked) in another."""
        return [g for g, c in self.cells.items()
                if {s for *_, s in c["places"]} & {"shown"}
                and {s for *_, s in c["places"]} & {"primary", "secondary"}]

    def hide(self, gid: str, state: str) -> None:
        """Hide the count everywhere it is shown (``state``: primary or secondary)."""
        cell = self.cells[gid]
        cell["places"] = [(r, i, state if s == "shown" else s) for r, i, s in cell["places"]]


def build_ledger(runs: list[RunRecord]) -> BatchLedger:
    """One ledger of every count of ``runs`` and every relation a reader of all of them has."""
    book = BatchLedger()
    for r, run in enumerate(runs):
        subset, context = run.subset, run.context
        for cell in run.ledger["cells"]:
            gid = _gid(book, r, run, cell, subset, context)
            book.local[(r, cell["id"])] = gid
            book.cells[gid]["places"].append((r, cell["id"], cell["state"]))
        for rel in run.ledger["relations"]:
            mapped = _mapped(book, r, rel)
            if mapped is not None and _holds(book, mapped) and mapped not in book.relations:
                book.relations.append(mapped)
    _subsets_add_up(book, runs)
    _same_number_across_contexts(book)
    return book


def _gid(book: BatchLedger, r: int, run: RunRecord, cell: dict, subset: dict, context: str) -> str:
    value = float(cell["value"])
    if cell.get("population") is None:
        gid = f"{run.run_id}|{cell['id']}"           # a count without parts: this run's own
        book.cells.setdefault(gid, {"value": value, "places": []})
        return gid
    conds = dict(cell["conditions"] or {})
    if any(k in conds and str(conds[k]) != str(v) for k, v in subset.items()):
        gid = f"{run.run_id}|{cell['id']}"           # another part's count: this run's own
        book.cells.setdefault(gid, {"value": value, "places": []})
        return gid
    conds.update({k: str(v) for k, v in subset.items()})
    base = f"{context}|{cell_id(cell['population'], cell['column'], conds)}"
    gid, k = base, 1
    while gid in book.cells and abs(book.cells[gid]["value"] - value) > _TOL:
        k += 1                                       # same name, other people: another count
        gid = f"{base}#{k}"
    if gid not in book.cells:
        book.cells[gid] = {"value": value, "places": []}
        book.parts[gid] = (context, cell["population"], cell["column"], conds, k)
    return gid


def _mapped(book: BatchLedger, r: int, rel: dict) -> dict | None:
    try:
        if "total" in rel:
            return {"total": book.local[(r, rel["total"])],
                    "parts": [book.local[(r, p)] for p in rel["parts"]],
                    "remainder": bool(rel.get("remainder"))}
        return {**rel, "count": book.local[(r, rel["count"])], "of": book.local[(r, rel["of"])]}
    except KeyError:                # a relation to a count the run's ledger does not hold
        return None


def _holds(book: BatchLedger, rel: dict) -> bool:
    if "total" not in rel:
        return True
    total = book.cells[rel["total"]]["value"]
    parts = sum(book.cells[p]["value"] for p in rel["parts"])
    return parts <= total + _TOL and (rel["remainder"] or abs(parts - total) <= _TOL)


def _subsets_add_up(book: BatchLedger, runs: list[RunRecord]) -> None:
    """Within a context, the count of the whole is the sum of the same count of each part."""
    partition = book.partition
    for run in runs:
        for key, levels in (run.ledger.get("partition") or {}).items():
            partition.setdefault(key, set()).update(map(str, levels))
    index = {}
    for gid, (context, population, column, conds, k) in book.parts.items():
        index[(context, population, column, tuple(sorted(conds.items())), k)] = gid
    for gid, (context, population, column, conds, k) in list(book.parts.items()):
        for key, levels in partition.items():
            if key in conds:
                continue
            parts = [index.get((context, population, column,
                                tuple(sorted({**conds, key: level}.items())), k))
                     for level in sorted(levels)]
            found = [p for p in parts if p is not None]
            if not found:
                continue
            total = book.cells[gid]["value"]
            got = sum(book.cells[p]["value"] for p in found)
            if got > total + _TOL:
                continue                             # not parts of this total
            rel = {"total": gid, "parts": found,
                   "remainder": len(found) < len(parts) or got < total - _TOL}
            if rel not in book.relations:
                book.relations.append(rel)


def _same_number_across_contexts(book: BatchLedger) -> None:
    """A count of one name and value in two contexts is taken as one number."""
    groups: dict = {}
    for gid, (context, population, column, conds, _) in book.parts.items():
        key = (population, column, tuple(sorted(conds.items())), book.cells[gid]["value"])
        groups.setdefault(key, []).append(gid)
    for members in groups.values():
        for other in members[1:]:
            book.relations.append({"total": members[0], "parts": [other], "remainder": False})
