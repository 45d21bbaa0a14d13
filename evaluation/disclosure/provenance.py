"""What a report says about itself: its disclosure log, its figures' provenance, and whether it
is internal (output checker).

The layer writes (issue 14's contract) the report's disclosure log on its one summary sentence
(``<p class="ipeval-sdc-summary" data-ipeval-disclosure="{json}">``: ``internal``, ``tables``,
``figures``, ``cells``, ``relations``), a record ``{"name", "source", "person_level"}`` under
each figure's ``image/png`` output in a notebook, and the class ``ipeval-internal`` on the
"INTERNAL — not for sharing" label of an internal run; papermill keeps the run's parameters in
``metadata.papermill.parameters``. From those:

- ``internal_output``: a notebook run with ``internal = True``, an HTML report labelled
  internal, a log saying ``"internal": true`` — not for sharing, whatever else it holds;
- ``person_level_figure``: a figure whose record (or a panel of it) says ``person_level``;
- ``unprotected_figure``: a figure that names as its source a table the report's log does not
  know as protected (only where there is a log to ask);
- ``recoverable_cell``: a figure whose record lists the points it draws (``points``: row
  labels of its source table, or ``cells``: ids of the log) including one its table hides; and
  the exact check of the log — every hidden cell of ``cells`` that the ``relations`` pin to
  one value, by :func:`exact_check`.

:func:`exact_check` runs helper E's linear-programming attacker
(:func:`evaluation.disclosure.attacker.attack`; its relations include shares of an n) when it
can be imported, else — or when it refuses a log whose relations cannot all hold — the
checker's own (:func:`~.pinning.worked_out`) on the same cells and sum relations.
:data:`ATTACKER` says which is installed.
"""
from __future__ import annotations

import math

from evaluation.disclosure.cell_text import Marks, Reading, read_cell
from evaluation.disclosure.pinning import Relation, worked_out

try:  # the exact attacker over the log (evaluation/disclosure/attacker.py), when there is one
    from evaluation.disclosure.attacker import attack as lp_attack
except ImportError:
    lp_attack = None

ATTACKER = "evaluation.disclosure.attacker.attack" if lp_attack else "pinning.worked_out"
LOG_WHY = "the report's linked counts (its disclosure log)"


def internal_parameter(metadata: dict) -> bool:
    """Whether papermill ran the notebook with ``internal = True``."""
    params = ((metadata or {}).get("papermill") or {}).get("parameters") or {}
    return truthy(params.get("internal")) if isinstance(params, dict) else False


def truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "ja")
    return value is True or (isinstance(value, (int, float)) and value == 1)


def figure_record(metadata: dict) -> dict | None:
    """The layer's record of the figure in an image output's metadata (under ``image/png``,
    or any image type, or at the top)."""
    if not isinstance(metadata, dict):
        return None
    places = [metadata] + [v for k, v in metadata.items()
                           if isinstance(k, str) and k.startswith(("image/", "application/pdf"))]
    for place in places:
        found = ((place or {}).get("ipeval") or {}).get("figure") if isinstance(place, dict) \
            else None
        if isinstance(found, dict):
            return found
    return None


def figure_findings(record: dict, where: str, masked=str) -> list[tuple[str, str, str]]:
    """``person_level_figure`` for a figure recorded as person-level (or with such a panel)."""
    panels = [record] + [p for p in record.get("panels") or [] if isinstance(p, dict)]
    if any(truthy(p.get("person_level")) for p in panels):
        name = masked(str(record.get("name") or "figure"))
        return [(where, "person_level_figure",
                 f"figure {name!r} is person-level (a mark per person): internal runs only")]
    return []


def log_findings(log: dict, where: str, min_cell: int, masked=str) -> list[tuple[str, str, str]]:
    """Findings of one disclosure log: internal, person-level figures, the exact check."""
    out = []
    if truthy(log.get("internal")):
        out.append((where, "internal_output",
                    "the disclosure log says the report is internal: not for sharing"))
    for k, figure in enumerate(log.get("figures") or [], start=1):
        if isinstance(figure, dict):
            out += [(f"{where} figure {k}".strip(), rule, text)
                    for _, rule, text in figure_findings(figure, where, masked)]
    for cid, mark in exact_check(log, min_cell):
        out.append((where, "recoverable_cell",
                    f"log cell {masked(cid)!r} hidden ({mark}) but {LOG_WHY} give it"))
    return out


def log_tables(log: dict) -> set:
    """Names of the tables a log says passed the layer."""
    names = set()
    for table in log.get("tables") or []:
        name = table.get("name") if isinstance(table, dict) else table
        if name:
            names.add(str(name).strip())
    return names


def exact_check(log: dict, min_cell: int) -> list[tuple[str, str]]:
    """``(cell id, mark)`` of every hidden cell of the log its relations give away."""
    cells, marks = _log_cells(log, min_cell)
    relations = []
    for rel in log.get("relations") or []:
        if not isinstance(rel, dict) or rel.get("total") not in cells:
            continue
        parts = tuple(p for p in rel.get("parts") or [] if p in cells)
        if parts and len(parts) == len(rel.get("parts") or []):
            relations.append(Relation(rel["total"], parts, LOG_WHY, bool(rel.get("remainder"))))
    if not relations:
        return []
    exposed = _external(log, min_cell, marks) if lp_attack is not None else None
    if exposed is None:
        exposed = set(worked_out(cells, relations))
    return [(cid, marks[cid]) for cid in sorted(exposed) if marks.get(cid)]


def _log_cells(log: dict, min_cell: int) -> tuple[dict, dict]:
    rules = log.get("rules") if isinstance(log.get("rules"), dict) else {}
    k = rules.get("min_cell") if isinstance(rules.get("min_cell"), int) else min_cell
    marker = str(rules.get("marker", "<{min_cell}")).replace("{min_cell}", str(k))
    own = Marks(frozenset([marker]), frozenset([str(rules.get("protected_marker", "·"))]), k)
    cells, marks = {}, {}
    for cell in log.get("cells") or []:
        if not isinstance(cell, dict) or "id" not in cell:
            continue
        cid, shown, mark = str(cell["id"]), cell.get("shown"), cell.get("mark")
        if isinstance(shown, (int, float)) and not isinstance(shown, bool) \
                and math.isfinite(shown):
            cells[cid] = Reading("number", float(shown))
        elif mark:
            cells[cid] = read_cell(str(mark), own)
            if not cells[cid].hidden:
                cells[cid] = Reading("mark", mark="other", text=str(mark))
            marks[cid] = str(mark)
        else:               # a total no table shows: unknown, and no secret either
            cells[cid] = Reading("mark", mark="other", text="")
    return cells, marks


def _external(log: dict, min_cell: int, marks: dict) -> set | None:
    """The ids the attacker says are exposed (its DataFrame of ``cell`` and ``exposed``, or
    ids, bounds or flags); None when it refuses the log (relations that cannot all hold) or
    answers in a shape not understood: the own check runs instead."""
    rules = log.get("rules") if isinstance(log.get("rules"), dict) else {}
    k = rules.get("min_cell") if isinstance(rules.get("min_cell"), int) else min_cell
    primary = {m for m in marks.values() if m.startswith(("<", "≤"))}
    try:
        try:
            result = lp_attack(log.get("cells") or [], log.get("relations") or [], min_cell=k,
                               primary_marks=primary or None)
        except TypeError:        # an attacker that takes the cells and relations only
            result = lp_attack(log.get("cells") or [], log.get("relations") or [])
    except Exception:  # noqa: BLE001 — a log it refuses still gets the checker's own answer
        return None
    if hasattr(result, "to_dict") and hasattr(result, "columns"):
        result = result.to_dict("records")
    if isinstance(result, dict):
        items = list(result.items())
        if all(isinstance(v, bool) for _, v in items):
            return {k for k, v in items if v}
        if all(isinstance(v, (tuple, list)) and len(v) == 2 for _, v in items):
            return {k for k, (lo, hi) in items if _one_value(lo, hi)}
        if all(isinstance(v, dict) for _, v in items):
            result = [{"id": k, **v} for k, v in items]
        else:
            return None
    if isinstance(result, (list, tuple, set)):
        out = set()
        for item in result:
            if isinstance(item, str):
                out.add(item)
            elif isinstance(item, dict) and ("id" in item or "cell" in item):
                cid = str(item.get("id", item.get("cell")))
                lo = item.get("low", item.get("lo", item.get("min")))
                hi = item.get("high", item.get("hi", item.get("max")))
                if "exposed" in item:
                    # a hidden zero worked out says nothing about a person
                    if item["exposed"] and not (_number(hi) is not None and _number(hi) < 0.5):
                        out.add(cid)
                elif lo is None or hi is None or _one_value(lo, hi):
                    out.add(cid)
            else:
                return None
        return out
    return None


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _one_value(lo, hi) -> bool:
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        return False
    return math.isfinite(hi) and math.ceil(lo - 1e-6) == math.floor(hi + 1e-6) and hi >= 0.5


def figure_source_findings(record: dict, where: str, tables: list, logs: list,
                           masked=str) -> list[tuple[str, str, str]]:
    """A figure that draws what its source table hides (its record lists the points drawn:
    ``points`` as row labels, ``cells`` as log ids), or names a source the report's logs do
    not know as protected."""
    name = masked(str(record.get("name") or "figure"))
    sources = record.get("source")
    sources = [str(s) for s in (sources if isinstance(sources, list) else [sources]) if s]
    out = []
    hidden_ids = {cid for log in logs for cid, c in _log_cells(log, 5)[0].items()
                  if c.hidden and c.text}
    for cid in record.get("cells") or []:
        if str(cid) in hidden_ids:
            out.append((where, "recoverable_cell",
                        f"figure {name!r} draws log cell {masked(str(cid))!r}, which is hidden"))
    points = {" ".join(str(p).split()).casefold() for p in record.get("points") or []}
    for t in tables:
        if not points or " ".join(t.name.split()).casefold() not in \
                {" ".join(s.split()).casefold() for s in sources}:
            continue
        for i, key in enumerate(t.keys):
            drawn = [k for k in key if " ".join(k.split()).casefold() in points]
            if drawn and any(t.cells[i][j].hidden for j in (*t.counts, *t.shares)):
                out.append((where, "recoverable_cell",
                            f"figure {name!r} draws {masked(drawn[0])!r}, a row {t.where} "
                            f"hides"))
    known = set().union(*(log_tables(log) for log in logs)) if logs else set()
    known |= {t.name.strip() for t in tables if t.safe and t.name}
    if logs:
        for source in sources:
            if source.strip() not in known:
                out.append((where, "unprotected_figure",
                            f"figure {name!r} illustrates {masked(source)!r}, a table the "
                            f"disclosure log does not list as protected"))
    return out
