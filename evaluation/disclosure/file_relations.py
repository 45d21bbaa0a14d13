"""The sums a whole report shows across its tables and its text (output checker).

A reader has every table and sentence of a report at once. Beyond what one table adds up to
(:mod:`.table_relations`), a report links:

- a *group of rows* of a long table, or a *row or column* of a cross-table, to the n that
  another table shows for the same label (a cross-table of institution × IP beside the
  frequencies per institution) — taken when the groups or lines shown in full agree with it
  (at least one, none against), or, with none shown in full, for a cell of the primary mark
  whose value falls in its range;
- a table of one row's breakdown (named after that row: ``"has_ip at Vårli"``) to that row of
  the cross-table, cell by cell — when the cells both show agree;
- a table whose rows part the people of the report (``n``, ``rows``, ``count``) to a number of
  people written in the text (``134 people``, ``people 134``, ``n = 134``): for a cell of the
  primary mark within its range, or for any hidden cell when the same passage also writes one
  of the table's shown counts ("134 people … 117 used and 15 left out"). Without such a
  passage only a column that counts people or rows by its name (``rows``, ``people``) is
  taken, not any ``n``.

:func:`file_relations` gives those relations and the cells they need beyond the tables' own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from evaluation.disclosure.cell_text import (COUNT_NAME, NOT_PEOPLE_COUNT, Reading,
                                             is_total_label, last_label, parse_number)
from evaluation.disclosure.pinning import Relation
from evaluation.disclosure.table_cells import ReadTable
from evaluation.disclosure.table_relations import check_sum

_NUMBER = r"(\d{1,3}(?:[ \u00a0\u2009\u202f]\d{3})+|\d+)(?![\d.,]\d)"
_PEOPLE = (r"(?:people|persons|personer|residents|beboere|clients|klienter|participants|"
           r"deltakere|respondents|respondenter|individuals|individer|patients|pasienter|"
           r"brukere|users|informants|informanter)")
PEOPLE_COUNT = re.compile(
    rf"(?<![\w.,]){_NUMBER}\s+(?:[a-zæøå-]+\s+)?{_PEOPLE}\b"
    rf"|\b{_PEOPLE}\s*[:=]?\s*{_NUMBER}"
    rf"|(?<!\w)[nN]\s*=\s*{_NUMBER}", re.IGNORECASE)
_ANY_NUMBER = re.compile(rf"(?<![\w.,]){_NUMBER}")
# "fewer than 5 people", "at least 10 residents": a threshold, not a count of anyone.
_BOUND_BEFORE = re.compile(r"(?:than|least|most|under|over|below|above|up to|enn|minst|"
                           r"høyst|opptil|inntil|per|each|hver|every)\s*$", re.IGNORECASE)
_MARKUP = re.compile(r"[*`]")      # Markdown emphasis between a word and its number
_PARTITION_NAMES = {"n", "rows", "rader", "count", "antall", "people", "personer", "persons",
                    "freq", "frequency", "frekvens"}
_PEOPLE_NAMES = {"rows", "rader", "people", "personer", "persons"}
PASSAGE = 300          # characters either side of a total in the text that make one passage


@dataclass
class TextPiece:
    """Text a reader sees, and how to name a place in it (``line 40``)."""

    where: str
    text: str
    locate: object = None          # offset -> "line 40"; None: the piece is one place

    def place(self, offset: int) -> str:
        return f"{self.where} {self.locate(offset)}".strip() if self.locate else self.where


def file_relations(tables: list[ReadTable], texts: list[TextPiece]) -> tuple[list, dict]:
    """``(relations, extra cells)`` linking the tables of one file with each other and with
    its text."""
    extra: dict = {}
    relations = []
    for p in tables:
        for q in tables:
            if q is not p:
                relations += _totals_elsewhere(p, q) + _breakdown(p, q)
    relations += _text_totals(tables, texts, extra)
    return relations, extra


def _norm(text) -> str:
    return " ".join(str(text).split()).casefold()


# --------------------------------------------------------------------------- totals elsewhere

def _lines(p: ReadTable) -> list[tuple[str, str, list]]:
    """(label, kind, part cells) of what may have its total elsewhere: groups of a long table
    by its first varying label, or the rows and the columns of a cross-table."""
    out = []
    varying = p.varying_labels()
    totals = p.total_rows()
    parts_cols = level_columns(p)
    if _co_occurrence(p, varying, parts_cols):
        return out
    if len(varying) >= 2:
        first = varying[0]
        for j in p.counts:
            groups: dict[str, list] = {}
            for i, row in enumerate(p.cells):
                if i not in totals and (row[j].number or row[j].hidden) and row[first].text:
                    groups.setdefault(row[first].text, []).append((i, j))
            out += [(label, last_label(p.header[j]), cells) for label, cells in groups.items()
                    if len(cells) >= 2]
    elif len(varying) == 1 and len(parts_cols) >= 2:
        label_col = varying[0]
        for i, row in enumerate(p.cells):
            if i in totals:
                continue
            cells = [(i, j) for j in parts_cols if row[j].number or row[j].hidden]
            if len(cells) >= 2:
                out.append((row[label_col].text, "row", cells))
        for j in parts_cols:
            cells = [(i, j) for i in range(len(p.cells)) if i not in totals
                     and (p.cells[i][j].number or p.cells[i][j].hidden)]
            if len(cells) >= 2:
                out.append((last_label(p.header[j]), "column", cells))
    return out


def _co_occurrence(p: ReadTable, varying: list, parts_cols: list) -> bool:
    """A square table whose columns are its rows (codes × codes): each cell counts people with
    both, so neither its rows nor its columns add up to anything a total could give."""
    if len(varying) != 1 or len(parts_cols) < 2:
        return False
    rows = {_norm(row[varying[0]].text) for row in p.cells if row[varying[0]].text}
    columns = {_norm(last_label(p.header[j])) for j in parts_cols}
    # A column of marks only may not be read as counts: the columns need only be rows.
    return columns <= rows and len(columns) >= 2 * len(rows) / 3


def level_columns(p: ReadTable) -> list[int]:
    """The count columns of a cross-table: named by the levels of a variable (``0``, ``1``,
    ``female``), not by what they count (``n``, ``count``, ``n_missing``), and not totals."""
    return [j for j in p.counts if not is_total_label(last_label(p.header[j]))
            and not COUNT_NAME.match(last_label(p.header[j]))]


def _one_key_rows(q: ReadTable) -> dict[str, int]:
    """Rows of ``q`` named by one label (its only varying label)."""
    varying = q.varying_labels() or q.labels[:1]
    if len(varying) != 1:
        return {}
    rows: dict[str, int] = {}
    for i, row in enumerate(q.cells):
        label = _norm(row[varying[0]].text)
        if label and label in rows:     # one label on two rows: the rows have another key too
            return {}
        if label:
            rows[label] = i
    return rows


def _totals_elsewhere(p: ReadTable, q: ReadTable) -> list[Relation]:
    rows = _one_key_rows(q)
    if not rows:
        return []
    out = []
    lines = _lines(p)
    for kind in {k for _, k, _ in lines}:
        chosen = [(label, cells) for label, k, cells in lines if k == kind and _norm(label) in rows]
        if not chosen:
            continue
        for n in q.counts:
            name = last_label(q.header[n]).lower()
            if NOT_PEOPLE_COUNT.search(name) or (name != "n" and name != kind.lower()):
                continue
            rels, matches, fails = [], 0, False
            for label, cells in chosen:
                total = q.cells[rows[_norm(label)]][n]
                if not (total.number or total.hidden):
                    continue
                said = check_sum(total, [p.cells[i][j] for i, j in cells])
                fails |= said == "contradict"
                matches += said == "match"
                rels.append(Relation(q.cell_id(rows[_norm(label)], n),
                                     tuple(p.cell_id(i, j) for i, j in cells),
                                     f"the total in {q.where}"))
            if fails or not rels:
                continue
            if matches:
                out += rels
            else:
                out += [Relation(r.total, r.parts, r.why, weak=True) for r in rels]
    return out


def _breakdown(p: ReadTable, q: ReadTable) -> list[Relation]:
    """``q`` breaks down one row of the cross-table ``p`` (its name says which row)."""
    varying = p.varying_labels()
    cols = {_norm(last_label(p.header[j])): j for j in level_columns(p)}
    rows = _one_key_rows(q)
    if len(varying) != 1 or len(cols) < 2 or not rows or not q.counts:
        return []
    name = _norm(q.name)
    matched = [c for c in cols if c in rows]
    if len(matched) < 2 or not name:
        return []
    out = []
    for i, row in enumerate(p.cells):
        label = _norm(row[varying[0]].text)
        if len(label) < 3 or not re.search(rf"(?<!\w){re.escape(label)}(?!\w)", name):
            continue
        n = q.counts[0]
        pairs = [(p.cell_id(i, cols[c]), q.cell_id(rows[c], n), p.cells[i][cols[c]],
                  q.cells[rows[c]][n]) for c in matched]
        said = [check_sum(a, [b]) for _, _, a, b in pairs]
        if "match" in said and "contradict" not in said:
            out += [Relation(a, (b,), f"the same count in {p.where} and in {q.where}")
                    for a, b, _, _ in pairs]
    return out


# --------------------------------------------------------------------------- text totals

def _partitions(t: ReadTable) -> list[tuple[int, list]]:
    """(count column, rows) of a table whose rows part one population: one varying label."""
    if len(t.varying_labels()) != 1:
        return []
    rows = [i for i in range(len(t.cells)) if i not in t.total_rows()]
    out = []
    for j in t.counts:
        if last_label(t.header[j]).lower() in _PARTITION_NAMES:
            used = [i for i in rows if t.cells[i][j].number or t.cells[i][j].hidden]
            if len(used) >= 2 and any(t.cells[i][j].hidden for i in used):
                out.append((j, used))
    return out


def _text_totals(tables: list[ReadTable], texts: list[TextPiece], extra: dict) -> list:
    candidates = [(t, j, rows) for t in tables for j, rows in _partitions(t)]
    if not candidates:
        return []
    out, seen = [], {}
    for piece in texts:
        text = _MARKUP.sub(" ", piece.text)      # same length: offsets still place the text
        for match in PEOPLE_COUNT.finditer(text):
            if _BOUND_BEFORE.search(text[max(0, match.start() - 20):match.start()]):
                continue
            digits = next(g for g in match.groups() if g)
            total = parse_number(digits)[0]
            cid = f"text\x1f{total:g}"          # the same number written twice is one total
            extra[cid] = Reading("number", total, text=digits)
            window = text[max(0, match.start() - PASSAGE):match.end() + PASSAGE]
            nearby = {parse_number(m.group(1))[0] for m in _ANY_NUMBER.finditer(window)}
            for t, j, rows in candidates:
                shown = {t.cells[i][j].value for i in rows if t.cells[i][j].number}
                weak = not (shown & nearby)
                if weak and last_label(t.header[j]).lower() not in _PEOPLE_NAMES:
                    continue              # an n of anything, and nothing in the passage ties it
                key = (cid, t.where, j)
                if key in seen and (weak or not seen[key]):
                    continue
                seen[key] = weak
                place = piece.place(match.start())
                out.append(Relation(cid, tuple(t.cell_id(i, j) for i in rows),
                                    f"the number of people in the text ({place})", weak=weak))
    return out
