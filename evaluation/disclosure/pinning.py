"""Which hidden cells a reader can work out from the relations a report shows (output checker).

A *relation* says a total is the sum of its parts (``total = Σ parts``, or ``≥`` with a hidden
remainder). Cells are shown numbers or hidden ones with the bounds their mark allows (``<5``:
1 … 4; the layer's ``·`` in a table that says its min_cell: 0 or 5 … ∞; any other mark:
0 … ∞). :func:`pinned` gives, for every hidden cell in a
relation, the smallest and largest value it can take over all relations together — two linear programs
per cell (scipy's HiGHS), component by component — and :func:`worked_out` those left with one
whole value above zero. This is the attacker of ``suppression.audit`` generalised from one
table's margins to any set of linked sums.

A relation is used only when it can hold: one whose shown total equals its shown parts while
parts are hidden is a total *of the cells shown* (``Total (shown)``), which says nothing about
the hidden ones, and one that no values within the marks can satisfy was read wrong.

>>> from evaluation.disclosure.cell_text import read_cell
>>> cells = {"t": read_cell("20"), "a": read_cell("12"), "b": read_cell("5"), "c": read_cell("<5")}
>>> worked_out(cells, [Relation("t", ("a", "b", "c"), "the row total")])
{'c': 'the row total'}
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

TOLERANCE = 1e-6
# Hidden cells linked into one system beyond which only single relations are solved: two
# linear programs per cell grow with the square of the system (a report has tens, not hundreds).
MAX_LINKED = 200


@dataclass(frozen=True)
class Relation:
    total: str
    parts: tuple
    why: str                      # "the row total", "the total in table 2", …
    remainder: bool = False       # total ≥ Σ parts (a hidden rest ≥ 0)
    weak: bool = False            # read from labels alone: only used one relation at a time,
                                  # and only to pin a cell of the primary mark within its range


def pinned(cells: dict, relations: list[Relation]) -> dict:
    """``{cell id: (low, high)}`` for every hidden cell in a usable relation."""
    usable = [r for r in relations if _usable(cells, r)]
    hidden = sorted({c for r in usable for c in (r.total, *r.parts) if cells[c].hidden})
    if not hidden:
        return {}
    parent = {c: c for c in hidden}

    def root(c):
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for r in usable:
        ids = [c for c in (r.total, *r.parts) if cells[c].hidden]
        for c in ids[1:]:
            parent[root(c)] = root(ids[0])
    groups: dict[str, list] = {}
    for c in hidden:
        groups.setdefault(root(c), []).append(c)
    out = {}
    for members in groups.values():
        inside = set(members)
        rels = [r for r in usable if inside & {r.total, *r.parts}]
        solved = _bounds(cells, members, rels) if len(members) <= MAX_LINKED else {}
        out.update(solved or _one_at_a_time(cells, rels))
    return out


def _one_at_a_time(cells: dict, rels: list[Relation]) -> dict:
    """When the relations of a component contradict each other (one was read wrong), only
    what single relations with one hidden cell say, where they do not disagree."""
    said: dict[str, set] = {}
    for r in rels:
        hidden, constant = _terms(cells, r)
        if len(hidden) == 1 and not r.remainder:
            cell, sign = hidden[0]
            said.setdefault(cell, set()).add(round(-constant / sign, 6))
    return {c: (v, v) for c, values in said.items() if len(values) == 1
            for v in values if cells[c].low - TOLERANCE <= v <= cells[c].high + TOLERANCE}


def worked_out(cells: dict, relations: list[Relation]) -> dict:
    """``{cell id: why}`` for the hidden cells that can be worked out to one whole value of at
    least 1 (a hidden zero says nothing about a person). Weak relations count one at a time."""
    strong = [r for r in relations if not r.weak and _usable(cells, r)]
    found = {}
    for cell, (low, high) in pinned(cells, strong).items():
        value = _single_integer(low, high)
        if value is not None and value >= 1:
            found[cell] = _why(cell, strong)
    for r in relations:
        if not r.weak:
            continue
        for cell, (low, high) in pinned(cells, [r]).items():
            value = _single_integer(low, high)
            c = cells[cell]
            if cell not in found and value is not None and value >= 1 \
                    and c.mark == "primary" and c.low <= value <= c.high:
                found[cell] = r.why
    return found


# --------------------------------------------------------------------------- internals

def _terms(cells: dict, r: Relation):
    """(hidden ids with their sign, shown constant): total − Σ parts = terms + constant."""
    signed = [(r.total, 1.0)] + [(p, -1.0) for p in r.parts]
    hidden = [(c, s) for c, s in signed if cells[c].hidden]
    constant = sum(s * cells[c].value for c, s in signed if not cells[c].hidden)
    return hidden, constant


def _usable(cells: dict, r: Relation) -> bool:
    ids = (r.total, *r.parts)
    if any(c not in cells or not (cells[c].number or cells[c].hidden) for c in ids):
        return False
    hidden, constant = _terms(cells, r)
    if not hidden:
        return False
    if abs(constant) < TOLERANCE and all(s < 0 for _, s in hidden):
        return False               # a total of the cells shown
    low = constant + sum(cells[c].low * s if s > 0 else cells[c].high * s for c, s in hidden)
    high = constant + sum(cells[c].high * s if s > 0 else cells[c].low * s for c, s in hidden)
    # total − Σ parts is 0, or ≥ 0 with a remainder
    return high >= -TOLERANCE and (r.remainder or low <= TOLERANCE)


def _bounds(cells: dict, members: list, rels: list[Relation]) -> dict:
    index = {c: k for k, c in enumerate(members)}
    n_rest = sum(1 for r in rels if r.remainder)
    width = len(members) + n_rest
    a_eq, b_eq = [], []
    rest = len(members)
    for r in rels:
        row = np.zeros(width)
        hidden, constant = _terms(cells, r)
        for c, s in hidden:
            row[index[c]] += s
        if r.remainder:
            row[rest] = -1.0       # total − Σ parts − rest = 0, rest ≥ 0
            rest += 1
        a_eq.append(row)
        b_eq.append(-constant)
    bounds = [(cells[c].low, None if math.isinf(cells[c].high) else cells[c].high)
              for c in members] + [(0, None)] * n_rest
    out = {}
    for c in members:
        objective = np.zeros(width)
        objective[index[c]] = 1.0
        lo = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if lo.status != 0:
            return {}              # no values fit every relation: one was read wrong
        hi = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        out[c] = (lo.fun, -hi.fun if hi.status == 0 else math.inf)
    if any(_reaches_gap(cells[c], out[c]) for c in members):
        out = _bounds_with_gaps(cells, members, a_eq, b_eq, bounds, out)
    return out


def _reaches_gap(cell, interval) -> bool:
    return cell.gap > 1 and interval[0] <= cell.gap - 1 + TOLERANCE \
        and interval[1] >= 1 - TOLERANCE


def _bounds_with_gaps(cells, members, a_eq, b_eq, bounds, found) -> dict:
    """The bounds again, knowing a gap cell is 0 or ≥ gap: linear programs cannot say "or", so
    each gets a binary z with gap·z ≤ x ≤ M·z, and counts are whole (scipy's ``milp``)."""
    gaps = [k for k, c in enumerate(members) if cells[c].gap > 1]
    width, m = len(a_eq[0]), len(gaps)
    upper = [math.inf if b[1] is None else b[1] for b in bounds]
    # M for an unbounded cell: ten times any number here (HiGHS fails on x ≤ 1e7·z, x = 5)
    shown = [abs(v) for v in b_eq] + [v for v in upper if math.isfinite(v)] \
        + [v[1] for v in found.values() if math.isfinite(v[1])]
    link = np.zeros((2 * m, width + m))
    for j, k in enumerate(gaps):
        top = found[members[k]][1]
        big = top if math.isfinite(top) else max(1e4, 10 * max(shown, default=0))
        link[2 * j, k], link[2 * j, width + j] = 1.0, -cells[members[k]].gap
        link[2 * j + 1, k], link[2 * j + 1, width + j] = 1.0, -big
    low_link = np.tile([0.0, -np.inf], m)
    high_link = np.tile([np.inf, 0.0], m)
    equal = np.hstack([np.asarray(a_eq), np.zeros((len(a_eq), m))])
    constraints = [LinearConstraint(link, low_link, high_link),
                   LinearConstraint(equal, b_eq, b_eq)]
    box = Bounds([b[0] for b in bounds] + [0] * m, upper + [1] * m)
    out = dict(found)
    for k, c in enumerate(members):
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(width + m)
            objective[k] = sign
            res = milp(objective, integrality=np.ones(width + m), bounds=box,
                       constraints=constraints)
            if res.status == 2:
                return found           # no whole values fit: keep what the LP said
            ends.append(sign * res.fun if res.status == 0 else None)
        out[c] = (found[c][0] if ends[0] is None else max(found[c][0], ends[0]),
                  found[c][1] if ends[1] is None else min(found[c][1], ends[1]))
    return out


def _single_integer(low: float, high: float) -> int | None:
    if math.isinf(high):
        return None
    a, b = math.ceil(low - TOLERANCE), math.floor(high + TOLERANCE)
    return a if a == b else None


def _why(cell: str, relations: list[Relation]) -> str:
    reasons = list(dict.fromkeys(r.why for r in relations if cell in (r.total, *r.parts)))
    if len(reasons) <= 1:
        return reasons[0] if reasons else "the totals shown"
    return " and ".join(reasons[:2]) + (" (with others)" if len(reasons) > 2 else "")
