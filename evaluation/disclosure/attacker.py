"""A linear-programming attacker over every linked table of a report.

**What it models.** A reader who has all a report shows: the shown counts, which cells are
hidden and by which mark, and the linear relations the report's structure tells (a total is
the sum of its parts, perhaps with a hidden remainder ≥ 0; the same count in two tables is one
number; a share of an n bounds its count). The reader knows that counts are whole numbers ≥ 0,
that a primary cell (``<5``) holds 1 … min_cell − 1 people, that a cell hidden to protect
another (``·``) is not small, so it holds 0 or at least min_cell (the rules mark every small
count ``<5``), and that a count no table shows holds 0 or more. For every hidden cell :func:`attack` finds
the smallest and largest value it can take over all assignments consistent with that.

**What it does not model.** How likely a value is (no distributions or priors: a value is
possible or not), relations nobody passed in (another report, another run of a batch: give
their cells and relations too, the same ids for the same counts), rounding other than a
share's shown decimals, and knowledge from outside the reports.

**Exposed**: a marked cell left with fewer than two whole values, i.e. worked out exactly. (A
``<5`` narrowed to two of its four values is allowed: the rule promises that the count cannot
be told, not that no value can be ruled out.) A count no table shows (no mark) gets its
interval but is never exposed: the rules do not hide it. Nor is a cell worked out to be 0: it
holds nobody, and the rules show zero counts.

**How.** Cells in no relation keep their mark's bounds. The others are split into connected
components; in each, linear algebra first (every cell the sums alone pin, and every interval
when one degree of freedom is left, as in a 2 × 2 block hidden in a table), then two linear
programs per remaining cell (scipy's HiGHS; a vertex at a cell's bound settles that bound
too), then, where the interval holds two or three whole numbers, a mixed-integer program
(scipy's ``milp``), which can remove one more; and where a ``·`` cell's interval reaches into
1 … min_cell − 1, a mixed-integer program over the component with the gap as a binary per
``·`` cell. This is :func:`.suppression.cell_bounds` (one
table's margins) generalised to any set of linked sums.

Relations are dicts, as the report's disclosure log writes them:

- ``{"total": id, "parts": [ids], "remainder": bool}`` — value(total) = Σ value(parts), plus a
  hidden remainder ≥ 0 when ``remainder``;
- ``{"count": id, "of": id, "low": a, "high": b}`` — a·value(of) ≤ value(count) ≤ b·value(of):
  a share shown as 0.150 of an n is a count between 0.1495·n and 0.1505·n.

>>> cells = [{"id": "n", "shown": 253}, {"id": "recovered", "shown": 111},
...          {"id": "improved", "shown": 67}, {"id": "no change", "shown": 74},
...          {"id": "deteriorated", "shown": None, "mark": "<5"}]
>>> rel = [{"total": "n", "parts": ["recovered", "improved", "no change", "deteriorated"]}]
>>> attack(cells, rel)[["cell", "low", "high", "values", "exposed"]].to_dict("records")
[{'cell': 'deteriorated', 'low': 1.0, 'high': 1.0, 'values': 1.0, 'exposed': True}]
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.constraints import Interval, validate_params
from evaluation.disclosure.attack_solver import (TOLERANCE, Row, components, describe_relation,
                                                 in_gap, rounded_in, solve_component,
                                                 solve_with_gaps, whole_values)
COLUMNS = ["cell", "mark", "kind", "low", "high", "values", "exposed", "method"]


@dataclass
class _Cell:
    shown: float | None
    mark: str | None
    kind: str            # "shown", "primary", "secondary", "unshown"
    low: float
    high: float


@validate_params({"min_cell": [Interval(1, None, integral=True)], "integer": ["boolean"]})
def attack(cells, relations, *, min_cell: int = 5, integer: bool = True,
           primary_marks=None) -> pd.DataFrame:
    """One row per hidden cell: ``cell``, ``mark``, ``kind`` (primary, secondary, unshown),
    ``low`` and ``high`` (the smallest and largest value it can take), ``values`` (whole
    numbers in between; inf when unbounded), ``exposed`` and ``method`` (``bounds`` for a cell
    in no relation, ``lp``, or ``milp`` when whole numbers narrowed it).

    With ``integer`` (the default) the cells are whole numbers: ``low`` and ``high`` are
    whole, and an interval of two or three values is tightened by a mixed-integer program;
    without, they are the bounds of the linear relaxation (as :func:`.suppression.cell_bounds`).

    ``cells``: a DataFrame or dicts with ``id``, ``shown`` (None or NaN when hidden) and
    ``mark`` (``<5``-style: primary, 1 … min_cell − 1; any other mark: ≥ 0; none on a hidden
    cell: a count no table shows, ≥ 0); optional ``low``/``high`` narrow a cell further.
    ``primary_marks``: the texts of the primary mark (default: any mark starting with ``<`` or
    ``≤``). Raises ValueError naming the relation when the relations cannot all hold.
    """
    relations = list(relations)
    if isinstance(primary_marks, str):
        primary_marks = {primary_marks}
    table = _read_cells(cells, min_cell, primary_marks)
    rows = [row for k, rel in enumerate(relations) for row in _rows(k, rel, table)]
    for row in rows:
        if not row.terms:
            _check_shown(row, relations, table)
    rows = [row for row in rows if row.terms]
    found: dict[str, tuple[float, float, str]] = {}
    for members, comp in components(rows):
        part = solve_component(members, comp, table, relations, integer=integer)
        if any(in_gap(table[c], part[c], min_cell) for c in members):
            part = solve_with_gaps(members, comp, table, part, min_cell=min_cell,
                                   integer=integer)
        found.update(part)
    alone = {cid: (c.low, c.high, "bounds") for cid, c in table.items()
             if c.kind != "shown" and cid not in found}
    found.update(rounded_in(alone) if integer else alone)
    out = []
    for cid, c in table.items():
        if c.kind == "shown":
            continue
        low, high, method = found[cid]
        values = whole_values(low, high)
        out.append({"cell": cid, "mark": c.mark, "kind": c.kind, "low": float(low),
                    "high": float(high), "values": values,
                    # A cell worked out to be 0 holds nobody: a zero reveals no one (the rules
                    # show zero counts), so it is not exposed.
                    "exposed": bool(c.kind != "unshown" and values < 2 and high > 0),
                    "method": method})
    return pd.DataFrame(out, columns=COLUMNS).astype(
        {"low": float, "high": float, "values": float, "exposed": bool})


def attack_with_truth(cells, relations, truth, **options) -> pd.DataFrame:
    """:func:`attack` with the true values beside (``truth``: a dict or Series id → value):
    adds ``truth`` and ``inside``, and raises AssertionError when a true value falls outside
    its interval — the attacker (or the relations given) would then be wrong."""
    result = attack(cells, relations, **options)
    truth = dict(truth)
    result["truth"] = [float(truth[c]) if c in truth else np.nan for c in result["cell"]]
    result["inside"] = [bool(np.isnan(t) or lo - TOLERANCE <= t <= hi + TOLERANCE)
                        for t, lo, hi in zip(result["truth"], result["low"], result["high"])]
    wrong = result.loc[~result["inside"], ["cell", "low", "high", "truth"]]
    if len(wrong):
        raise AssertionError("attack_with_truth: true values outside the attacker's interval "
                             f"(attacker or relations wrong):\n{wrong.to_string(index=False)}")
    return result


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA \
        or (isinstance(value, str) and not value.strip())


def _read_cells(cells, min_cell: int, primary_marks) -> dict[str, _Cell]:
    records = cells.to_dict("records") if isinstance(cells, pd.DataFrame) else list(cells)
    out: dict[str, _Cell] = {}
    for k, rec in enumerate(records):
        if "id" not in rec:
            raise ValueError(f"attack: cell {k} ({rec!r}) has no 'id'; expected "
                             "{'id': ..., 'shown': number or None, 'mark': '<5', '·' or None}.")
        cid = rec["id"]
        if cid in out:
            raise ValueError(f"attack: cell id {cid!r} is given twice; expected one row per "
                             "count (the same count in two tables is one id).")
        shown, mark = rec.get("shown"), rec.get("mark")
        mark = None if _blank(mark) else str(mark).strip()
        if not _blank(shown):
            if mark is not None:
                raise ValueError(f"attack: cell {cid!r} is shown ({shown!r}) and marked "
                                 f"{mark!r}; expected one or the other.")
            value = float(shown)
            if not math.isfinite(value):
                raise ValueError(f"attack: cell {cid!r} shows {shown!r}; expected a number.")
            out[cid] = _Cell(value, None, "shown", value, value)
            continue
        primary = (mark in primary_marks) if primary_marks is not None and mark is not None \
            else mark is not None and mark[0] in "<≤"
        kind = "primary" if primary else "secondary" if mark is not None else "unshown"
        low, high = (1.0, float(min_cell - 1)) if primary else (0.0, math.inf)
        low = max(low, float(rec["low"])) if not _blank(rec.get("low")) else low
        high = min(high, float(rec["high"])) if not _blank(rec.get("high")) else high
        out[cid] = _Cell(None, mark, kind, low, high)
    return out


def _rows(k: int, rel: dict, table: dict) -> list[Row]:
    """The linear rows of relation ``k`` (one for a sum, two for a share)."""
    if not isinstance(rel, dict) or not ({"total", "parts"} <= rel.keys()
                                         or {"count", "of", "low", "high"} <= rel.keys()):
        raise ValueError(f"attack: relation {k} is {rel!r}; expected {{'total': id, 'parts': "
                         "[ids], 'remainder': bool}} or {'count': id, 'of': id, 'low': a, "
                         "'high': b}.")
    if "total" in rel:
        parts = list(rel["parts"])
        if len(set(parts)) < len(parts):
            raise ValueError(f"attack: relation {k} lists a part twice ({parts!r}); expected "
                             "each part once.")
        signed = [(rel["total"], 1.0)] + [(p, -1.0) for p in parts]
        rows = [(signed, not rel.get("remainder", False))]
    else:
        low, high = float(rel["low"]), float(rel["high"])
        if not 0 <= low <= high:
            raise ValueError(f"attack: relation {k} has low {low} and high {high}; expected "
                             "0 ≤ low ≤ high.")
        rows = [([(rel["count"], 1.0), (rel["of"], -low)], False),     # count − low·of ≥ 0
                ([(rel["of"], high), (rel["count"], -1.0)], False)]    # high·of − count ≥ 0
    out = []
    for signed, equal in rows:
        terms, constant = {}, 0.0
        for cid, coef in signed:
            if cid not in table:
                raise ValueError(f"attack: relation {k} ({describe_relation(rel, table)}) names "
                                 f"{cid!r}, which is not among the cells; add it (shown: None, "
                                 "mark: None for a count no table shows).")
            c = table[cid]
            if c.kind == "shown":
                constant += coef * c.shown
            else:
                terms[cid] = terms.get(cid, 0.0) + coef
        out.append(Row(k, {c: v for c, v in terms.items() if v != 0.0}, constant, equal))
    return out


def _check_shown(row: Row, relations, table) -> None:
    if abs(row.constant) > TOLERANCE if row.equal else row.constant < -TOLERANCE:
        raise ValueError(f"attack: relation {row.relation} "
                         f"({describe_relation(relations[row.relation], table)}) does not hold for the "
                         "shown values; check the relations given (a total of the shown cells "
                         "only is no relation of the hidden ones).")


# --------------------------------------------------------------------------- solving

