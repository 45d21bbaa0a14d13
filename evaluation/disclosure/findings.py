"""Findings of leaks in what a file shows: :class:`Checker` applies the output checker's rules
to each text and each table it is handed and collects what it finds.

:mod:`.output_files` reads a notebook, HTML report or CSV/XLSX table and hands each text and
each table to a :class:`Checker`, which collects the findings of every rule (``national_id``,
``identifier``, ``quote``, ``absolute_path`` in texts; ``person_level_table`` and
``small_cell`` in tables) as ``(file, where, rule, excerpt)`` with the excerpt masked.
The rules themselves are described in :mod:`.output_check`, the ``ipeval check`` verb.

The leak rules of issue 14 (docs/output-checker.md) need more than one table at a time: the
Checker keeps each file's tables (read for arithmetic, :mod:`.table_cells`), the text a reader
sees, the disclosure logs and the figures' records, and :meth:`Checker.finish_file` runs
:mod:`.recoverable`, :mod:`.provenance` and :mod:`.consistency` (the last across the files of
one check) on them.
"""
from __future__ import annotations

import bisect
import os
import re
from pathlib import Path

import numpy as np

from evaluation.intake.deidentify import deidentify
from evaluation.intake.national_id import CANDIDATE, find_national_ids, mask_national_id
from evaluation.disclosure.cell_text import read_cell
from evaluation.disclosure.consistency import SeenCells
from evaluation.disclosure.excerpts import clip, identifier_excerpt, mask_value, shorten_path
from evaluation.disclosure.provenance import (figure_findings, figure_source_findings,
                                              log_findings)
from evaluation.disclosure.recoverable import TextPiece, file_findings, table_findings
from evaluation.disclosure.shown_tables import PLAIN_INTEGER, ShownTable
from evaluation.disclosure.study_facts import MIN_QUOTE, SPACE, WORDS, StudyFacts
from evaluation.disclosure.table_cells import read_table

MAX_PER_RULE = 100                  # findings listed per file and rule; the rest are counted
DISTINCT_SHARE = 0.9                # "mostly distinct" for a person key column

PSEUDONYM = re.compile(r"ps_[0-9a-f]{16}")
POSIX_ROOTS = ("home", "Users", "root", "mnt", "media", "tsd", "cluster", "work", "data",
               "scratch", "srv", "tmp", "var", "opt")
_PATH_END = r"[^\s\"'<>`|,;(){}\[\]]"
# The files ipykernel names cells by: in every traceback of notebook code, no user's path.
_BENIGN_PATH = re.compile(r"^(?:file://)?/tmp/ipykernel_\d+/")
# A count as shown in a count column: "12", also "12 (40 %)" in an "n (%)" column.
_INTEGER = re.compile(r"^\s*(\d{1,15})(?:[.,]0+)?(?:\s*\(.*\))?\s*$")
_BLANKS = {"", "nan", "NaN", "<NA>", "None", "NaT", "-", "–", "—", "…", "...", ".."}
# Columns named like counts: whole numbers in them are counts of people.
_COUNT_NAME = re.compile(
    r"^(n|count|counts|antall|freq|frequency|frekvens|n_\w+|\w+_n|count_\w+|\w+_count|"
    r"antall_\w+|\w+_antall|n\s*\(.*\))$", re.IGNORECASE)
# Columns whose whole numbers are not counts of people, though nothing else says so.
_NOT_COUNT_NAME = re.compile(
    r"(^|_)(year|years|år|aar|id|code|kode|nr|number|nummer|session|sessions|episode|"
    r"week|uke|month|måned|day|dag|date|dato|age|alder|item|items|rank|score|level|nivå|"
    r"scale|skala|point|points|poeng|version|versjon|index|quarter|kvartal|wave|time|tid|hour|"
    r"round|step|grade|trinn|mean|median|sd|std|min|max|mode|q1|q3|iqr|k|df|dof|resid|"
    r"estimate|ci|low|high|p|value|share|pct|percent|prosent|alpha|omega|weight|order|"
    r"position|priority|rating|answer|svar|response|unnamed|columns|cols|variables|kolonner|"
    r"seconds|sekunder|minutes|minutter|duration|varighet|size|bytes|length|lengde)"
    r"($|_)", re.IGNORECASE)
# Columns that key a table by person (with the study's id and pseudonymised columns).
_ID_NAME = re.compile(r"^(id|.+[_ ]id|person_?id|participant|resp_?id)$", re.IGNORECASE)


class Checker:
    """Findings of every rule in one file at a time: :meth:`start`, hand it texts and tables,
    then :meth:`findings`."""

    def __init__(self, facts: StudyFacts | None, min_cell: int, max_person_rows: int):
        self.facts = facts
        self.min_cell = min_cell
        self.max_rows = max_person_rows
        self.path_pattern = _path_pattern()
        self.id_columns = {"person_id", "participant_id", "staff_id", "resp_id"} | \
            set(facts.id_columns if facts else ())
        self.seen = SeenCells()          # every table of this check, for inconsistencies

    def start(self, name: str) -> None:
        """Begin the findings of the file called ``name`` in the report."""
        self.found: list[tuple] = []
        self.name = name
        self.tables: list = []           # ReadTables of the file
        self.texts: list[TextPiece] = []
        self.logs: list[tuple[str, dict]] = []
        self.figures: list[tuple[str, dict]] = []

    # -- what a whole file shows --------------------------------------------------------------
    def note_text(self, text: str, where: str, locate=None) -> None:
        """Text a reader sees (numbers written in it can be totals of a table)."""
        if text and text.strip():
            self.texts.append(TextPiece(where, text, locate))

    def note_log(self, log: dict, where: str) -> None:
        """The disclosure log a report carries."""
        self.logs.append((where, log))

    def note_figure(self, record: dict, where: str) -> None:
        """The layer's record of a figure in the file."""
        self.figures.append((where, record))
        for at, rule, excerpt in figure_findings(record, where, self.masked_label):
            self.add(at, rule, excerpt)

    def finish_file(self) -> None:
        """The rules that need the whole file: sums across its tables and text, its logs and
        figures, and what earlier files of this check showed of the same cells."""
        found = file_findings(self.tables, self.texts, self.masked_label)
        for where, log in self.logs:
            found += log_findings(log, where, self.min_cell, self.masked_label)
            for k, figure in enumerate(log.get("figures") or [], start=1):
                if isinstance(figure, dict):
                    self.figures.append((f"{where} figure {k}".strip(), figure))
        logs = [log for _, log in self.logs]
        for where, record in self.figures:
            found += figure_source_findings(record, where, self.tables, logs, self.masked_label)
        found += self.seen.add(self.name, self.tables, self.masked_label)
        already = {(f[1], f[2]) for f in self.found}
        for where, rule, excerpt in found:
            if rule != "recoverable_cell" or (where, rule) not in already:
                self.add(where, rule, excerpt)
                already.add((where.strip(), rule))

    def findings(self) -> list[tuple]:
        """The file's findings, each once, at most MAX_PER_RULE per rule."""
        return _limit(_dedupe(self.found))

    def add(self, where: str, rule: str, excerpt: str) -> None:
        """One finding; ``excerpt`` must be masked already."""
        self.found.append((self.name, where.strip(), rule, excerpt))

    # -- text rules ---------------------------------------------------------------------------
    def check_text(self, text: str, where: str, *, quotes: bool = True, locate=None) -> None:
        """National IDs, identifiers, quotes and paths in one text. ``locate`` turns an offset
        into a place (``line 40``); without it every finding is at ``where``."""
        if not text or not text.strip():
            return
        place = (lambda offset: f"{where} {locate(offset)}".strip()) if locate else \
            (lambda offset: where)
        for start, end, _ in national_ids_in(text):
            self.add(place(start), "national_id", mask_national_id(text[start:end]))
        for match in self.path_pattern.finditer(text):
            path = match.group(0).rstrip(".:")
            if _BENIGN_PATH.match(path):
                continue
            self.add(place(match.start()), "absolute_path", shorten_path(path))
        facts = self.facts
        if facts is None:
            return
        if facts.has_identifiers:
            hits = self._identifier_hits(text)
            if hits:
                by_place: dict[tuple, list] = {}
                for offset, column, value in hits:
                    by_place.setdefault((place(offset), column), []).append(value)
                for (at, column), values in by_place.items():
                    distinct = list(dict.fromkeys(values))
                    self.add(at, "identifier", identifier_excerpt(column, distinct))
        if quotes and facts.quotes:
            for offset, excerpt in self._quote_hits(text):
                self.add(place(offset), "quote", excerpt)

    def _identifier_hits(self, text: str) -> list[tuple[int, str, str]]:
        facts = self.facts
        tokens = set(facts.token.findall(text))
        folded = {t.casefold() for t in tokens}
        if facts.strip:
            folded |= {t.strip(facts.strip) for t in folded}
        if not (folded & facts.identifiers.keys()):
            return []
        hits = []
        for match in facts.token.finditer(text):
            key = match.group(0).casefold()
            found = facts.identifiers.get(key)
            if found is None and facts.strip:
                found = facts.identifiers.get(key.strip(facts.strip))
            if found is not None:
                hits.append((match.start(), found[0], found[1]))
        return hits

    def _quote_hits(self, text: str) -> list[tuple[int, str]]:
        facts = self.facts
        normal = SPACE.sub(" ", text)
        words = set(WORDS.findall(normal)) & facts.quote_keys.keys()
        if not words:
            return []
        # Offsets in the normalised text are mapped back to the original approximately (the
        # share of the text before them), which is enough to name a line or a row.
        scale = len(text) / max(len(normal), 1)
        hits = []
        for word in sorted(words):
            for index in facts.quote_keys[word]:
                quote = facts.quotes[index]
                pos = normal.find(quote[:MIN_QUOTE])
                while pos != -1:
                    shown = _shown_quote(normal, pos, quote)
                    if shown is not None:
                        masked = deidentify(shown, names=facts.names, places=facts.places)
                        if masked != shown:
                            hits.append((int(pos * scale), clip(masked)))
                            break
                    pos = normal.find(quote[:MIN_QUOTE], pos + 1)
        return hits

    # -- table rules --------------------------------------------------------------------------
    def check_tables(self, tables: list[ShownTable], where: str) -> None:
        """Table rules on each table of one output, named ``table 1``, ``table 2``, …"""
        for k, table in enumerate(tables, start=1):
            self.check_table(table, where, table_name=f"table {k}")

    def check_cells(self, table: ShownTable, where: str, *, national_ids: bool = True) -> None:
        """Text rules on a table's cells, located to row and column. ``national_ids=False``
        when the caller has looked for them cell by cell already (CSV/XLSX)."""
        lines = ["\t".join(row) for row in table.rows]
        text = "\n".join(lines)
        starts = np.cumsum([0] + [len(line) + 1 for line in lines[:-1]]).tolist() if lines else []

        def locate(offset: int) -> str:
            r = bisect.bisect_right(starts, offset) - 1
            within = offset - starts[r]
            c, position = 0, 0
            for c, cell in enumerate(table.rows[r]):
                if within <= position + len(cell):
                    break
                position += len(cell) + 1
            label = table.header[c] if c < len(table.header) and table.header[c] else c + 1
            return f"row {r + 1} column {self.masked_label(label)}"

        if not national_ids:
            found_before = len(self.found)
            self.check_text(text, where, locate=locate)
            self.found[found_before:] = [f for f in self.found[found_before:]
                                         if f[2] != "national_id"]
        else:
            self.check_text(text, where, locate=locate)
        header = "\t".join(table.header)
        if header.strip():
            self.check_text(header, f"{where} header".strip(), quotes=False)

    def check_table(self, table: ShownTable, where: str, *, table_name: str) -> None:
        """person_level_table on every table; small_cell only where the table did not pass the
        disclosure layer, which has applied the threshold (and more) already."""
        base = f"{where} {table_name}".strip()
        self._person_level(table, base)
        if not table.safe:
            self._small_cells(table, base)
        read = read_table(table, base)
        read.mask = self.masked_label
        self.tables.append(read)
        for at, rule, excerpt in table_findings(read, self.min_cell):
            self.add(at, rule, excerpt)

    def _person_level(self, table: ShownTable, base: str) -> None:
        shown = len(table.rows)
        total = max(table.total_rows or 0, shown)
        if total <= self.max_rows:
            return
        for j, label in enumerate(table.header):
            if not self._is_id_label(label):
                continue
            values = [row[j] for row in table.rows if row[j] not in _BLANKS]
            if len(values) <= 1:
                continue
            distinct = len(set(values))
            if distinct / len(values) >= DISTINCT_SHARE:
                self.add(base or "table", "person_level_table",
                         f"{total} rows keyed by {self.masked_label(label)!r} ({distinct} distinct "
                         f"values shown)")
                return
        with_pseudonyms = sum(1 for row in table.rows if PSEUDONYM.search("\t".join(row)))
        if with_pseudonyms > self.max_rows or (total > shown and with_pseudonyms == shown
                                               and shown > 0):
            self.add(base or "table", "person_level_table",
                     f"{total} rows, {with_pseudonyms} shown with pseudonyms (ps_…)")

    def masked_label(self, label) -> str:
        """A column label as it may appear in ``where``: a label that is itself a national ID,
        an identifier, a pseudonym or a path (a wide table with a column per person) masked."""
        text = str(label)
        for start, end, _ in reversed(national_ids_in(text)):
            text = text[:start] + mask_national_id(text[start:end]) + text[end:]
        text = PSEUDONYM.sub("ps_…", text)
        text = self.path_pattern.sub(lambda m: shorten_path(m.group(0)), text)
        facts = self.facts
        if facts is not None and facts.has_identifiers and facts.token.search(text):
            text = facts.token.sub(
                lambda m: mask_value(m.group(0))
                if m.group(0).casefold() in facts.identifiers
                or m.group(0).casefold().strip(facts.strip) in facts.identifiers
                else m.group(0), text)
        return text

    def _is_id_label(self, label: str) -> bool:
        for part in str(label).split(" / "):
            part = part.strip()
            if part.casefold() in self.id_columns or _ID_NAME.match(part):
                return True
        return False

    def _small_cells(self, table: ShownTable, base: str) -> None:
        for j, label in enumerate(table.header):
            if j in table.index_columns:
                continue
            last = str(label).split(" / ")[-1].strip()
            values = [row[j] for row in table.rows]
            if _COUNT_NAME.match(last):
                numbers = [_count(v, _INTEGER) for v in values]
            elif last and not _NOT_COUNT_NAME.search(last) and not self._is_id_label(label):
                numbers = [_count(v, PLAIN_INTEGER) for v in values]
                # a mark of a hidden cell (<5, ·, x) is no number, and no text either
                given = [n for n, v in zip(numbers, values)
                         if v.strip() not in _BLANKS and not read_cell(v).hidden]
                if not given or any(n is None for n in given) or _running_number(given) \
                        or all(1800 <= n <= 2100 for n in given):
                    continue
            else:
                continue
            for r, number in enumerate(numbers, start=1):
                if number is not None and 1 <= number < self.min_cell:
                    at = f"{base} row {r} column {self.masked_label(label) or j + 1}".strip()
                    self.add(at, "small_cell", f"{number} (below {self.min_cell})")


# --------------------------------------------------------------------------- helpers

def _path_pattern() -> re.Pattern:
    """Absolute paths of this machine. Built per check, not at import, because the home folder
    and working directory are part of it."""
    roots = "|".join(POSIX_ROOTS)
    alternatives = [rf"(?:file://)?/(?:{roots})/{_PATH_END}+",
                    rf"(?<![\w])[A-Za-z]:\\{_PATH_END}+",
                    rf"(?<![\w])[A-Za-z]:/(?:Users|Documents and Settings)/{_PATH_END}+"]
    covered = tuple(f"/{r}/" for r in POSIX_ROOTS)
    for place in {str(Path.home()), os.getcwd()}:
        place = place.rstrip("/")
        if len(place) > 1 and place.startswith("/") and not (place + "/").startswith(covered):
            alternatives.append(rf"{re.escape(place)}(?:/{_PATH_END}*)?(?![\w])")
    return re.compile(rf"(?<![\w.~/\\-])(?:{'|'.join(alternatives)})")


def national_ids_in(text: str) -> list:
    """find_national_ids, after a quick test that the text holds 11 digits at all."""
    if not text or not re.search(CANDIDATE, text):
        return []
    return find_national_ids(text)


def _count(value: str, pattern: re.Pattern) -> int | None:
    match = pattern.match(value)
    return int(match.group(1)) if match else None


def _running_number(values: list[int]) -> bool:
    """0, 1, 2, … or 1, 2, 3, … in row order: a row number, not counts."""
    return len(values) >= 3 and values[0] in (0, 1) and \
        all(b - a == 1 for a, b in zip(values, values[1:]))


def _shown_quote(normal: str, pos: int, quote: str) -> str | None:
    """The part of ``quote`` shown at ``pos``: all of it, or a beginning of at least
    MIN_QUOTE characters followed by '...' or '…' (pandas cuts long text so)."""
    if normal.startswith(quote, pos):
        return quote
    length = len(os.path.commonprefix([normal[pos:pos + len(quote)], quote]))
    after = normal[pos + length:pos + length + 3]
    if length >= MIN_QUOTE and (after.startswith("...") or after.startswith("…")):
        return quote[:length]
    return None


def _dedupe(found: list[tuple]) -> list[tuple]:
    return list(dict.fromkeys(found))


def _limit(found: list[tuple]) -> list[tuple]:
    kept, counts = [], {}
    for row in found:
        counts[row[2]] = counts.get(row[2], 0) + 1
        if counts[row[2]] <= MAX_PER_RULE:
            kept.append(row)
    for rule, n in counts.items():
        if n > MAX_PER_RULE:
            kept.append((found[0][0], "file", rule, f"{n - MAX_PER_RULE} more {rule} findings "
                                                     f"not listed"))
    return kept
