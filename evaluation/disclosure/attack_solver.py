"""The solver of :mod:`.attacker`: connected groups of linked cells, the linear algebra that
pins cells before any linear program, two HiGHS programs per remaining cell, whole-number
tightening with ``milp``, and the relation to blame when the relations cannot all hold.

Split from :mod:`.attacker`, which reads cells and relations and says what is exposed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.linalg import null_space
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

TOLERANCE = 1e-6
DENSE = 300      # components of at most this many hidden cells get dense matrices,
ALGEBRA = 1500   # and of at most this many a null space before any linear program


@dataclass
class Row:
    """One linear row: Σ coef·value (==, or >=) 0, with the shown values folded in."""
    relation: int
    terms: dict          # hidden id -> coefficient
    constant: float      # Σ coef·shown
    equal: bool


def describe_relation(rel: dict, table: dict) -> str:
    def name(cid):
        c = table.get(cid)
        said = ("?" if c is None else f"{c.shown:g}" if c.kind == "shown"
                else c.mark or "not shown")
        return f"{cid} ({said})"
    if "total" in rel:
        rest = " + a remainder ≥ 0" if rel.get("remainder") else ""
        return f"{name(rel['total'])} = " + " + ".join(map(name, rel["parts"])) + rest
    return f"{rel['low']:g}·{name(rel['of'])} ≤ {name(rel['count'])} ≤ {rel['high']:g}·{rel['of']}"


def components(rows: list[Row]):
    """(hidden ids, rows) of each connected part of the graph of cells and their relations."""
    if not rows:
        return []
    ids = list(dict.fromkeys(c for row in rows for c in row.terms))
    index = {c: k for k, c in enumerate(ids)}
    edges = [(len(ids) + r, index[c]) for r, row in enumerate(rows) for c in row.terms]
    size = len(ids) + len(rows)
    graph = coo_array((np.ones(len(edges)), tuple(np.array(edges).T)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    groups: dict[int, tuple[list, list]] = {}
    for c in ids:
        groups.setdefault(label[index[c]], ([], []))[0].append(c)
    for r, row in enumerate(rows):
        groups[label[len(ids) + r]][1].append(row)
    return list(groups.values())


def _matrices(members: list, rows: list[Row]):
    """A_eq, b_eq, A_ub, b_ub over ``members`` (``>=`` rows flipped to ``<=``): dense for a
    small component (scipy's sparse set-up costs more than HiGHS there), else sparse."""
    index = {c: k for k, c in enumerate(members)}
    out = []
    for equal in (True, False):
        picked = [row for row in rows if row.equal == equal]
        if not picked:
            out += [None, None]
            continue
        sign = 1.0 if equal else -1.0
        r, c, v = zip(*[(i, index[cid], sign * coef) for i, row in enumerate(picked)
                        for cid, coef in row.terms.items()])
        a = coo_array((v, (r, c)), shape=(len(picked), len(members))).tocsr()
        out += [a.toarray() if len(members) <= DENSE else a,
                np.array([-row.constant if equal else row.constant for row in picked])]
    return out


def solve_component(members: list, rows: list[Row], table: dict, relations, *, integer: bool) -> dict:
    """``{id: (low, high, method)}`` of one component."""
    n = len(members)
    a_eq, b_eq, a_ub, b_ub = problem = _matrices(members, rows)
    lo = np.array([table[c].low for c in members])
    hi = np.array([table[c].high for c in members])
    box = [(a, None if math.isinf(b) else b) for a, b in zip(lo, hi)]
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    whole = np.zeros((2, n), dtype=bool)    # the interval's ends are met by whole numbers
    found = _by_algebra(*problem, lo, hi) if n <= ALGEBRA else (low, high, whole, None)
    if found is None:             # raises, unless only rounding said so: then solve it
        found = _infeasible(members, rows, table, relations) or (low, high, whole, None)
    low, high, whole, fixed = found
    if fixed is not None and fixed.any() and np.isnan(low).any():
        # Cells the sums alone pin are constants for the rest, which may then fall apart into
        # smaller (often one-dimensional) components.
        known = {members[j]: low[j] for j in np.flatnonzero(fixed)}
        rest = [Row(r.relation, {c: v for c, v in r.terms.items() if c not in known},
                     r.constant + sum(v * known[c] for c, v in r.terms.items() if c in known),
                     r.equal) for r in rows]
        if any(not r.terms and not r.equal and r.constant < -TOLERANCE for r in rest):
            _infeasible(members, rows, table, relations)
        out = {c: (v, v, "lp") for c, v in known.items()}
        for part, part_rows in components([r for r in rest if r.terms]):
            out.update(solve_component(part, part_rows, table, relations, integer=integer))
        return rounded_in(out) if integer else out

    def solve(k: int, sign: float):
        objective = np.zeros(n)
        objective[k] = sign
        res = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=box,
                      method="highs")
        if res.status == 2 and _infeasible(members, rows, table, relations) is None:
            raise RuntimeError(f"attack: HiGHS finds no value for {members[k]!r} although "
                               "every relation holds alone and together: " + res.message)
        if res.status == 3:
            return math.inf, True
        if res.status != 0:
            raise RuntimeError(f"attack: the program for {members[k]!r} stopped: {res.message}")
        # A vertex tells more than its objective: a cell at its own bound there has that bound
        # as its min (or max), which saves most of the other programs.
        x, integral = res.x, bool(np.all(np.abs(res.x - np.round(res.x)) < TOLERANCE))
        for ends, at, side in ((low, x <= lo + TOLERANCE, lo), (high, x >= hi - TOLERANCE, hi)):
            new = at & np.isnan(ends)
            ends[new] = side[new]
            whole[0 if ends is low else 1, new] = integral
        return sign * res.fun, integral

    for k in range(n):
        if math.isnan(low[k]):
            low[k], whole[0, k] = solve(k, 1.0)
        if math.isnan(high[k]):
            high[k], whole[1, k] = solve(k, -1.0)
    out = {c: (low[k], high[k], "lp") for k, c in enumerate(members)}
    if not integer:
        return out
    out = rounded_in(out)
    for k, c in enumerate(members):
        # A whole-number vertex at both ends already answers the integer program.
        if 2 <= whole_values(*out[c][:2]) <= 3:
            a, b = (end if met else _milp(k, sign, problem, lo, hi, members)
                    for end, met, sign in zip(out[c][:2], whole[:, k], (1.0, -1.0)))
            if a > out[c][0] + TOLERANCE or b < out[c][1] - TOLERANCE:
                out[c] = (max(a, out[c][0]), min(b, out[c][1]), "milp")
    return out


def in_gap(cell, interval, min_cell: int) -> bool:
    """Whether a ``·`` cell's interval reaches into 1 … min_cell − 1, which it cannot hold."""
    low, high = interval[:2]
    return cell.kind == "secondary" and min_cell > 1 and low <= min_cell - 1 + TOLERANCE \
        and high >= 1 - TOLERANCE


def solve_with_gaps(members: list, rows: list[Row], table: dict, found: dict, *,
                    min_cell: int, integer: bool) -> dict:
    """``{id: (low, high, method)}`` of a component again, knowing what the rules say of a
    ``·`` cell: it is not small (every count of 1 … min_cell − 1 is marked ``<``), so it is 0 or
    at least min_cell. A reader who read the rules knows it; linear programs cannot say "or",
    so each such cell gets a binary z: min_cell·z ≤ value ≤ M·z (scipy's ``milp``). Only
    components where an interval reaches into the gap need it (elsewhere it binds nothing)."""
    n = len(members)
    gaps = [k for k, c in enumerate(members) if table[c].kind == "secondary"]
    a_eq, b_eq, a_ub, b_ub = _matrices(members, rows)
    lo = np.array([found[c][0] for c in members], dtype=float)
    hi = np.array([found[c][1] for c in members], dtype=float)
    # M: the cell's own upper bound, or, unbounded, ten times any number of the component.
    # Not a huge constant: HiGHS calls x ≤ 1e7·z with x = 5 infeasible (tolerances).
    shown = [abs(v) for b in (b_eq, b_ub) if b is not None for v in b]
    shown += [v for v in hi if math.isfinite(v)]
    big = np.where(np.isinf(hi), max(1e4, 10 * max(shown, default=0)), hi)
    m = len(gaps)
    link = np.zeros((2 * m, n + m))
    for j, k in enumerate(gaps):
        link[2 * j, k], link[2 * j, n + j] = 1.0, -float(min_cell)     # x − min_cell·z ≥ 0
        link[2 * j + 1, k], link[2 * j + 1, n + j] = 1.0, -big[k]      # x − M·z ≤ 0
    bounds = np.tile([0.0, np.inf], (2 * m, 1))
    bounds[1::2] = [-np.inf, 0.0]
    constraints = [LinearConstraint(link, bounds[:, 0], bounds[:, 1])]

    def widen(a):
        return None if a is None else np.hstack([a.toarray() if hasattr(a, "toarray") else a,
                                                 np.zeros((a.shape[0], m))])
    if a_eq is not None:
        constraints.append(LinearConstraint(widen(a_eq), b_eq, b_eq))
    if a_ub is not None:
        constraints.append(LinearConstraint(widen(a_ub), -np.inf, b_ub))
    integrality = np.concatenate([np.full(n, 1 if integer else 0), np.ones(m)])
    box = Bounds(np.concatenate([lo, np.zeros(m)]), np.concatenate([hi, np.ones(m)]))
    out = dict(found)
    for k, c in enumerate(members):
        if table[c].kind not in ("primary", "secondary"):
            continue
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(n + m)
            objective[k] = sign
            res = milp(objective, integrality=integrality, bounds=box, constraints=constraints)
            if res.status == 2:
                # the true table satisfies every constraint: infeasible is a numerical failure,
                # and an attacker that failed must not pass for one that found nothing
                raise RuntimeError(f"the attacker's integer program failed on {c}: "
                                   f"{res.message}")
            if res.status != 0:
                ends.append(None)       # unbounded (a max of a cell with no upper bound)
                continue
            ends.append(sign * res.fun)
        low = found[c][0] if ends[0] is None else max(found[c][0], ends[0])
        high = found[c][1] if ends[1] is None else min(found[c][1], ends[1])
        if integer:
            low, high = math.ceil(low - TOLERANCE), (high if math.isinf(high)
                                                     else math.floor(high + TOLERANCE))
        if (low, high) != tuple(found[c][:2]):
            out[c] = (low, high, "milp")
    return out


def rounded_in(found: dict) -> dict:
    """The intervals of whole-number cells."""
    out = {c: (math.ceil(a - TOLERANCE), b if math.isinf(b) else math.floor(b + TOLERANCE), m)
           for c, (a, b, m) in found.items()}
    for c, (a, b, _) in out.items():
        if a > b:
            raise ValueError(f"attack: no whole number fits {c!r} (between {found[c][0]:g} and "
                             f"{found[c][1]:g}); check the relations given (a share's bounds may "
                             "be too narrow).")
    return out


def _by_algebra(a_eq, b_eq, a_ub, b_ub, lo, hi):
    """``(low, high, whole, fixed)`` with NaN where linear programs are still needed, or None
    when nothing fits. Every solution of the sums is x0 + N·t: a cell whose row of N is zero is
    pinned by the sums alone (``fixed``), and with one degree of freedom (a 2 × 2 block hidden
    in a table) the bounds on t give every interval."""
    n = len(lo)
    dense = None if a_eq is None else a_eq.toarray() if hasattr(a_eq, "toarray") else a_eq
    x0 = np.zeros(n) if dense is None else np.linalg.lstsq(dense, b_eq, rcond=None)[0]
    free = np.eye(n) if dense is None else null_space(dense)
    if dense is not None and \
            np.abs(dense @ x0 - b_eq).max() > TOLERANCE * max(1.0, np.abs(b_eq).max()):
        return None
    fixed = np.abs(free).max(axis=1, initial=0.0) < 1e-9
    if ((x0 < lo - TOLERANCE) | (x0 > hi + TOLERANCE))[fixed].any():
        return None
    if free.shape[1] > 1:
        nan = np.full(n, np.nan)
        return np.where(fixed, x0, nan), np.where(fixed, x0, nan), np.zeros((2, n), bool), fixed
    v = free[:, 0] if free.shape[1] else np.zeros(n)
    # every bound as g·t ≤ r: the box (−v·t ≤ x0 − lo, v·t ≤ hi − x0), then the inequalities
    g = np.concatenate([-v, v] + ([] if a_ub is None else [a_ub @ v]))
    r = np.concatenate([x0 - lo, hi - x0] + ([] if a_ub is None else [b_ub - a_ub @ x0]))
    flat = np.abs(g) < 1e-12
    if (r[flat] < -TOLERANCE * np.maximum(1.0, np.abs(r[flat]))).any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = r[~flat] / g[~flat]
    t_high = ratio[g[~flat] > 0].min(initial=np.inf)
    t_low = ratio[g[~flat] < 0].max(initial=-np.inf)
    if t_low > t_high + TOLERANCE:
        return None
    t_high = max(t_high, t_low)
    ends = [x0 + v * t if math.isfinite(t) else None for t in (t_low, t_high)]
    integral = [e is None or bool(np.all(np.abs(e - np.round(e)) < TOLERANCE)) for e in ends]
    with np.errstate(invalid="ignore"):
        at = np.sort(np.stack([x0 + v * t_low, x0 + v * t_high]), axis=0)
    moving = np.abs(v) >= 1e-12
    low = np.clip(np.where(moving, at[0], x0), lo, hi)
    high = np.clip(np.where(moving, at[1], x0), lo, hi)
    # the low end of a cell that grows with t is at t_low, of one that shrinks at t_high
    whole = np.stack([np.where(v < 0, integral[1], integral[0]),
                      np.where(v < 0, integral[0], integral[1])])
    return low, high, whole, fixed


def _milp(k, sign, problem, lo, hi, members) -> float:
    a_eq, b_eq, a_ub, b_ub = problem
    objective = np.zeros(len(members))
    objective[k] = sign
    constraints = ([LinearConstraint(a_eq, b_eq, b_eq)] if a_eq is not None else []) + \
        ([LinearConstraint(a_ub, -np.inf, b_ub)] if a_ub is not None else [])
    res = milp(objective, integrality=np.ones(len(members)), bounds=Bounds(lo, hi),
               constraints=constraints)
    if res.status != 0:
        raise ValueError(f"attack: no assignment of whole numbers satisfies the relations of "
                         f"{members[k]!r} and its linked cells ({res.message}); check the "
                         "relations given (a share's bounds may be too narrow).")
    return sign * res.fun


def _infeasible(members, rows, table, relations):
    """Raise naming the relation that cannot hold: one alone, else the first that breaks the
    ones before it. None when all of them hold together after all."""
    def feasible(subset):
        m = sorted({c for r in subset for c in r.terms}, key=members.index)
        a_eq, b_eq, a_ub, b_ub = _matrices(m, subset)
        box = [(table[c].low, None if math.isinf(table[c].high) else table[c].high) for c in m]
        return linprog(np.zeros(len(m)), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                       bounds=box, method="highs").status != 2

    ordered = sorted({r.relation for r in rows})
    by_relation = {k: [r for r in rows if r.relation == k] for k in ordered}
    culprit = next((k for k in ordered if not feasible(by_relation[k])), None)
    others, used = [], []
    for k in ordered if culprit is None else []:
        used += by_relation[k]
        if not feasible(used):
            culprit = k
            break
        others.append(k)
    if culprit is None:
        return None
    others = others if len(others) <= 8 else others[:8] + ["…"]
    with_others = f" together with relations {others}" if others else ""
    raise ValueError(f"attack: relation {culprit} ({describe_relation(relations[culprit], table)})"
                     f"{with_others} cannot hold: no values within the marks' bounds (primary: "
                     "1 … min_cell − 1; other marks: ≥ 0) satisfy it. Check the relations "
                     "given: they must say what the tables show.")


def whole_values(low: float, high: float) -> float:
    """How many whole numbers lie in [low, high] (inf when ``high`` is)."""
    if math.isinf(high):
        return math.inf
    return float(max(0, math.floor(high + TOLERANCE) - math.ceil(low - TOLERANCE) + 1))


# --------------------------------------------------------------------------- reading
