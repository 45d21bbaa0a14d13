"""Primary and secondary cell suppression for tables of counts.

Primary: cells of 1 to min_cell − 1 people. Secondary: more cells, so that no suppressed cell
can be worked out from row or column totals; the result is then audited with linear
programming against an attacker who knows the true totals (ACRO #198 leaked exactly this).
Hand-written because no maintained Python package does cell suppression (sdcTable and tau-Argus
are R and Java); the audit uses scipy's ``linprog``.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from evaluation.disclosure.attack_solver import Row, in_gap, solve_with_gaps


def secondary_suppression(counts: np.ndarray, primary: np.ndarray, *, published=None,
                          min_cell: int | None = None, max_rounds: int = 100) -> np.ndarray:
    """Cells to suppress in addition to ``primary`` (a boolean mask of the same shape).

    Greedy: while a row or a column has exactly one suppressed cell, suppress its smallest
    other cell (preferring one whose column or row already has a suppression, which closes
    the pattern with fewer cells). Then audit; a cell the attacker could still solve for gets
    its row's next smallest cell suppressed, and the loop starts again.

    ``published`` marks cells the reader already knows from another table of the report:
    hiding one of them here would protect nothing, so they are chosen only when no other cell
    of the line is left. A missing count (NaN: a row the column does not apply to) is never
    chosen.

    ``min_cell``: the reader knows that a cell shown as ``<min_cell`` holds 1 to min_cell − 1
    people, so the audit bounds those cells so (two ``<5`` cells that add up to 8 are 4 each).
    """
    raw = np.atleast_2d(np.asarray(counts, dtype=float))
    counts = np.nan_to_num(raw, nan=0.0)
    mask = np.atleast_2d(np.asarray(primary, dtype=bool)).copy()
    known = (np.zeros_like(mask) if published is None
             else np.atleast_2d(np.asarray(published, dtype=bool)).copy())
    absent = np.isnan(raw)
    if not mask.any():
        return np.zeros_like(mask)
    for _ in range(max_rounds):
        changed = (_close_lines(counts, mask, known, absent)
                   | _close_lines(counts.T, mask.T, known.T, absent.T))
        if changed:
            continue
        exposed = audit(np.where(absent, 0.0, counts), mask | known | absent, known=known | absent,
                        min_cell=min_cell)
        if not exposed:
            break
        r, c = exposed[0]
        if not _suppress_smallest(counts[r], mask[r], known[r], absent[r],
                                  prefer=mask.any(axis=0), exclude=c):
            if not _suppress_smallest(counts[:, c], mask[:, c], known[:, c], absent[:, c],
                                      prefer=mask.any(axis=1), exclude=r):
                break   # nothing left to hide: the report's attacker will say so
    return mask & ~np.atleast_2d(np.asarray(primary, dtype=bool))


def _close_lines(counts: np.ndarray, mask: np.ndarray, known: np.ndarray, absent: np.ndarray) -> bool:
    """Rows with exactly one suppressed cell get one more (works on a view: pass .T for columns).
    A row of one cell has no total to subtract from, and is left alone."""
    changed = False
    other_axis_has = mask.any(axis=0)
    for r in range(counts.shape[0]):
        if mask[r].sum() == 1 and (~absent[r]).sum() > 1:
            changed |= _suppress_smallest(counts[r], mask[r], known[r], absent[r],
                                          prefer=other_axis_has, exclude=None)
    return changed


def _suppress_smallest(row, row_mask, row_known, row_absent, *, prefer, exclude) -> bool:
    candidates = [j for j in range(len(row))
                  if not row_mask[j] and not row_absent[j] and j != exclude]
    if not candidates:
        return False
    # A cell published elsewhere last; then the smallest positive cell (a zero is uninformative
    # to hide), columns that already hold a suppression before others.
    j = min(candidates, key=lambda k: (row_known[k], row[k] <= 0, not prefer[k], row[k]))
    row_mask[j] = True
    return True


def audit(counts: np.ndarray, mask: np.ndarray, *, tolerance: float = 0.5,
          known=None, min_cell: int | None = None) -> list[tuple[int, int]]:
    """Suppressed cells an attacker could pin down from the true row and column totals.

    For each suppressed cell, the smallest and largest value it can take given every row and
    column total and non-negative cells (two linear programs). A cell whose range holds fewer
    than two whole numbers is exposed (counts are whole: [3.5, 4.2] is 4), as is, without
    ``min_cell``, one narrower than ``tolerance``. ``known`` cells (inside ``mask``) are hidden in this table
    but known to the reader from elsewhere: they count as unknowns for the linear programs and
    are never reported. With ``min_cell``, the reader also knows a ``·`` cell is 0 or at least
    min_cell, and a cell the linear programs leave open may still be pinned by that
    (:func:`gap_pinned`).
    """
    counts = np.nan_to_num(np.atleast_2d(np.asarray(counts, dtype=float)), nan=0.0)
    mask = np.atleast_2d(np.asarray(mask, dtype=bool))
    known = np.zeros_like(mask) if known is None else np.atleast_2d(np.asarray(known, dtype=bool))
    cells = list(zip(*np.nonzero(mask)))
    if not cells:
        return []
    bounds = cell_bounds(counts, mask, known=known, min_cell=min_cell, gaps=False)
    exposed = [cell for cell, (lo, hi) in zip(cells, bounds) if not known[cell]
               and (hi - lo < tolerance
                    or (math.isfinite(hi) and math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) < 1))]
    if min_cell and not exposed:
        exposed = [c for c in gap_pinned(counts, mask, known, min_cell, bounds) if not known[c]]
    return exposed


def _equations(counts, mask, known):
    """The cells hidden, and what a reader knows of them: row and column totals (lines of two
    or more cells; a line of one has no total but the cell) and the known cells' values."""
    cells = list(zip(*np.nonzero(mask)))
    index = {cell: k for k, cell in enumerate(cells)}
    n_rows, n_cols = counts.shape
    a_eq, b_eq = [], []
    lines = ([[(r, c) for c in range(n_cols)] for r in range(n_rows if n_cols > 1 else 0)]
             + [[(r, c) for r in range(n_rows)] for c in range(n_cols if n_rows > 1 else 0)])
    for line in lines:
        row = np.zeros(len(cells))
        for cell in line:
            if cell in index:
                row[index[cell]] = 1
        if row.any():
            a_eq.append(row)
            b_eq.append(sum(counts[cell] for cell in line if mask[cell]))
    for cell, k in index.items():
        if known[cell]:
            fixed = np.zeros(len(cells))
            fixed[k] = 1
            a_eq.append(fixed)
            b_eq.append(counts[cell])
    return cells, index, a_eq, b_eq


def _box(counts, cells, known, min_cell):
    return [(1, min_cell - 1) if min_cell and 0 < counts[cell] < min_cell and not known[cell]
            else (0, None) for cell in cells]


def cell_bounds(counts: np.ndarray, mask: np.ndarray, *, known=None,
                min_cell: int | None = None, gaps: bool = True) -> list[tuple[float, float]]:
    """(min, max) of each suppressed cell (in ``np.nonzero(mask)`` order) over every table with
    the same row totals, column totals and shown cells, and no negative cell. ``known`` cells
    are fixed at their value (the reader has them from another table). With ``min_cell``, a
    hidden cell of 1 to min_cell − 1 is shown as ``<min_cell``, and the reader bounds it so;
    with ``gaps`` too, a ``·`` cell is 0 or at least min_cell (integer programs)."""
    counts = np.nan_to_num(np.atleast_2d(np.asarray(counts, dtype=float)), nan=0.0)
    mask = np.atleast_2d(np.asarray(mask, dtype=bool))
    known = np.zeros_like(mask) if known is None else np.atleast_2d(np.asarray(known, dtype=bool))
    cells, index, a_eq, b_eq = _equations(counts, mask, known)
    if not a_eq:
        return [(0.0, np.inf)] * len(cells)
    box = _box(counts, cells, known, min_cell)
    out = []
    for k in range(len(cells)):
        objective = np.zeros(len(cells))
        objective[k] = 1
        lo = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        hi = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        out.append((lo.fun, -hi.fun))
    if not (min_cell and gaps):
        return out
    kinds = {cell: SimpleNamespace(kind="known" if known[cell] else
                                   "primary" if box[k][0] == 1 else "secondary")
             for cell, k in index.items()}
    found = {cell: (*out[k], "lp") for cell, k in index.items()}
    if not any(in_gap(kinds[c], found[c], min_cell) for c in cells):
        return out
    rows = [Row(j, {cell: 1.0 for cell, k in index.items() if a[k]}, -float(b), True)
            for j, (a, b) in enumerate(zip(a_eq, b_eq))]
    found = solve_with_gaps(cells, rows, kinds, found, min_cell=min_cell, integer=True)
    return [tuple(found[cell][:2]) for cell in cells]


def gap_pinned(counts, mask, known, min_cell: int, bounds) -> list[tuple[int, int]]:
    """Hidden cells that have one whole value once a reader knows a ``·`` cell is 0 or at
    least min_cell, found without bounding every cell: the true table is one solution, so a
    cell is pinned exactly when no whole-number table of the same totals gives it another
    value. Each table found that way frees every cell it changes (typically a handful of
    feasibility problems for a whole table, where bounds take two integer programs a cell)."""
    cells, index, a_eq, b_eq = _equations(counts, mask, known)
    box = _box(counts, cells, known, min_cell)
    secondary = [k for k, cell in enumerate(cells) if box[k][0] == 0 and not known[cell]]
    kinds = {k: SimpleNamespace(kind="secondary" if k in secondary else "primary")
             for k in range(len(cells))}
    if not a_eq or not any(in_gap(kinds[k], bounds[k], min_cell) for k in secondary):
        return []
    n, m = len(cells), len(secondary)
    truth = np.array([counts[cell] for cell in cells])
    top = [b[1] for b in bounds]
    link = np.zeros((2 * m, n + m))
    for j, k in enumerate(secondary):
        big = top[k] if math.isfinite(top[k]) else max(1e4, 10 * max(b_eq))
        link[2 * j, k], link[2 * j, n + j] = 1.0, -float(min_cell)    # x ≥ min_cell·z
        link[2 * j + 1, k], link[2 * j + 1, n + j] = 1.0, -big        # x ≤ M·z
    constraints = [LinearConstraint(link, np.tile([0.0, -np.inf], m), np.tile([np.inf, 0.0], m)),
                   LinearConstraint(np.hstack([np.asarray(a_eq), np.zeros((len(a_eq), m))]),
                                    b_eq, b_eq)]
    low = np.array([b[0] for b in box] + [0] * m, dtype=float)
    high = np.array([np.inf if b[1] is None else b[1] for b in box] + [1] * m, dtype=float)
    open_ = {k for k in range(n) if not known[cells[k]]}
    freed: set = set()
    for k in sorted(open_):
        if k in freed:
            continue
        for side in (-1, 1):
            lo, hi = low.copy(), high.copy()
            if side < 0:
                hi[k] = min(hi[k], truth[k] - 1)
            else:
                lo[k] = max(lo[k], truth[k] + 1)
            if lo[k] > hi[k]:
                continue
            res = milp(np.zeros(n + m), integrality=np.ones(n + m), bounds=Bounds(lo, hi),
                       constraints=constraints)
            if res.status == 0:
                freed |= {d for d in range(n) if abs(res.x[d] - truth[d]) > 0.5}
                break
    return [cells[k] for k in sorted(open_ - freed) if truth[k] > 0]
