"""Protect a batch as one release: hide, across its runs, what the runs together give away.

Over the batch's one ledger (:mod:`.batch_ledger`) the linear-programming attacker
(:func:`evaluation.disclosure.attacker.attack`) looks for hidden counts that the shown counts
of all runs pin down; each such count gets a protector: a shown count in a relation with it
(the smallest, as classic secondary suppression chooses, preferring one shown in fewer
reports), hidden wherever it is shown. A count shown in one run and hidden in another is hidden
in both. This repeats until the attacker finds nothing, or stops with what it could not protect
(the release then fails: nothing leaves).

Each run's Disclosure already protected its own report, table after table; Tau-Argus and SSB's
GaussSuppression solve a whole set of linked tables as one problem, but they work on tables they
are given whole and would choose again cells that the reports have already shown. Here the
reports exist: only cells still shown can be added, so the search is the same greedy loop the
layer runs within a report, checked by the same attacker.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from evaluation.disclosure.attacker import attack
from evaluation.release.batch_ledger import BatchLedger

__all__ = ["Change", "Protection", "protect_batch"]


@dataclass
class Change:
    """A count hidden for the batch: its name, the state it gets, and why (never its value)."""
    gid: str
    state: str
    why: str


@dataclass
class Protection:
    """What :func:`protect_batch` did."""
    changes: list = field(default_factory=list)
    exposed_before: int = 0
    exposed_after: int = 0
    unresolved: list = field(default_factory=list)
    rounds: int = 0
    seconds: float = 0.0

    @property
    def protected(self) -> bool:
        return not self.unresolved and self.exposed_after == 0


def protect_batch(book: BatchLedger, rules, *, max_rounds: int = 100) -> Protection:
    """Hide counts in ``book`` until no hidden count of any run can be worked out from the
    shown counts of all of them. Changes ``book``; returns what was done.

    Examples
    --------
    Institution A's count (3) is hidden in its report; "all" shows 30 and B shows 27:

    >>> from evaluation.disclosure.rules import DisclosureRules
    >>> book = BatchLedger()
    >>> for gid, value, state in [("all", 30, "shown"), ("A", 3, "primary"), ("B", 27, "shown")]:
    ...     book.cells[gid] = {"value": value, "places": [(0, gid, state)]}
    >>> book.relations.append({"total": "all", "parts": ["A", "B"], "remainder": False})
    >>> done = protect_batch(book, DisclosureRules())
    >>> done.exposed_before, [(c.gid, c.state) for c in done.changes], done.protected
    (1, [('B', 'secondary')], True)
    """
    started = time.time()
    done = Protection()
    for done.rounds in range(1, max_rounds + 1):
        changed = False
        for gid in book.conflicts():
            state = _state(book, gid, rules)
            book.hide(gid, state)
            done.changes.append(Change(gid, state, "shown in one report and hidden in another"))
            changed = True
        exposed = _exposed(book, rules)
        if done.rounds == 1:
            done.exposed_before = len(exposed) + len(done.changes)
        if not exposed:
            if not changed:
                break
            continue
        for target in exposed:
            if book.state(target) == "shown":
                continue
            protector = _protector(book, target)
            if protector is None:
                if target not in done.unresolved:
                    done.unresolved.append(target)
                continue
            state = _state(book, protector, rules)
            book.hide(protector, state)
            done.changes.append(Change(protector, state,
                                       f"so that {target} cannot be worked out from the other "
                                       f"reports of the batch"))
            changed = True
        if not changed:
            break
    done.exposed_after = len(_exposed(book, rules))
    done.seconds = round(time.time() - started, 2)
    return done


def _exposed(book: BatchLedger, rules) -> list[str]:
    found = attack(book.attack_cells(rules), book.relations, min_cell=rules.min_cell,
                   primary_marks=(rules.suppressed_text,))
    return list(found.loc[found["exposed"], "cell"]) if len(found) else []


def _state(book: BatchLedger, gid: str, rules) -> str:
    """A count of 1 … min_cell − 1 is marked as one (``<5``) wherever it is hidden."""
    return "primary" if bool(rules.small_count([book.cells[gid]["value"]])[0]) else "secondary"


def _protector(book: BatchLedger, target: str, depth: int = 4) -> str | None:
    """The shown count to hide for ``target``: in a relation with it, or with the hidden
    counts it is related to (breadth first); the smallest, then the one in fewest reports."""
    seen, frontier = {target}, [target]
    for _ in range(depth):
        shown, hidden = set(), set()
        for rel in book.relations:
            members = _members(rel)
            if not any(f in members for f in frontier):
                continue
            for m in members:
                if m in seen:
                    continue
                (shown if book.state(m) == "shown" else hidden).add(m)
        if shown:
            # A count of the whole study rather than of one institution: one cell of the
            # "all" report breaks the sum for every institution, and the institutions' own
            # reports, which they are handed, keep their numbers.
            return min(shown, key=lambda g: (book.cells[g]["value"] <= 0, book.in_part(g),
                                             book.cells[g]["value"],
                                             len(book.cells[g]["places"]), g))
        if not hidden:
            return None
        seen |= hidden
        frontier = list(hidden)
    return None


def _members(rel: dict) -> list[str]:
    if "total" in rel:
        return [rel["total"], *rel["parts"]]
    return [rel["count"], rel["of"]]
