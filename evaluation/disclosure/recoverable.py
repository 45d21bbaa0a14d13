"""The checker's leak rules on one output, put together (output checker).

:func:`table_findings` runs the rules one table answers alone (shares, unprotected counts,
extremes: :mod:`.share_rules`); :func:`file_findings` those that need the whole output — every
table's sums (:mod:`.table_relations`), the sums across tables and text
(:mod:`.file_relations`), solved together by :mod:`.pinning` — and gives ``recoverable_cell``
for each hidden cell they pin to one value. A finding names the cell and how it is worked out,
never its value ("hidden (<5) but can be worked out from the row total").

:data:`LEAK_RULES` describes these rules (and those of :mod:`.provenance` and
:mod:`.consistency`) for the checker's report.
"""
from __future__ import annotations

from evaluation.disclosure.file_relations import TextPiece, file_relations
from evaluation.disclosure.pinning import worked_out
from evaluation.disclosure.share_rules import extreme_values, share_findings, unprotected_counts
from evaluation.disclosure.table_cells import ReadTable
from evaluation.disclosure.table_relations import table_relations

__all__ = ["LEAK_RULES", "TextPiece", "file_findings", "table_findings"]

LEAK_RULES = {
    "recoverable_cell": "hidden cell that can be worked out from totals, groups, shares × n, "
                        "linked tables, the text or a figure",
    "small_share": "share or percentage whose count (share × n) or complement is below the "
                   "minimum cell size",
    "unprotected_count": "count below the minimum cell size in a table marked as protected",
    "extreme_value": "minimum or maximum of people's values: one person's value",
    "inconsistent_suppression": "cell shown in one output and hidden in another",
    "person_level_figure": "figure with a mark per person (internal runs only)",
    "unprotected_figure": "figure illustrating a table that did not pass the disclosure layer",
    "internal_output": "output of an internal run: not for sharing",
}


def table_findings(t: ReadTable, min_cell: int) -> list[tuple[str, str, str]]:
    """``(where, rule, excerpt)`` of the rules one table answers alone."""
    return [*share_findings(t, min_cell), *unprotected_counts(t, min_cell), *extreme_values(t)]


def file_findings(tables: list[ReadTable], texts: list[TextPiece],
                  masked=str) -> list[tuple[str, str, str]]:
    """``recoverable_cell`` for every hidden cell the output's sums pin down."""
    cells, located = {}, {}
    relations = []
    for t in tables:
        for i, row in enumerate(t.cells):
            for j, cell in enumerate(row):
                cid = t.cell_id(i, j)
                cells[cid] = cell
                located[cid] = (t, i, j)
        rels, extra = table_relations(t)
        relations += rels
        cells.update(extra)
    if len(tables) > 1 or texts:
        rels, extra = file_relations(tables, texts)
        relations += rels
        cells.update(extra)
    if not relations:
        return []
    out = []
    for cid, why in worked_out(cells, relations).items():
        if cid not in located:
            continue
        t, i, j = located[cid]
        out.append((t.place(i, j, masked), "recoverable_cell",
                    f"hidden ({t.cells[i][j].text}) but can be worked out from {why}"))
    return out
