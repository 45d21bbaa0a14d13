"""The files an output checker reads, each taken apart into the texts and tables it shows.

A notebook gives its cell outputs (stream text, the richest text representation of each
result, errors with their tracebacks), its metadata and its cell sources; an HTML report its
visible text and tables; a CSV or XLSX file its cells; a Word file or a PDF what
:mod:`.document_files` reads of it. Each goes to the
:class:`~.findings.Checker`, which applies the rules. Used by :mod:`.output_check`.

What the layer says about a report goes to the Checker too: the disclosure log on the summary
sentence, the class ``ipeval-internal``, the figure records under image outputs, and papermill's
``internal`` parameter (:mod:`.provenance`).
"""
from __future__ import annotations

import bisect
import json
import re
from pathlib import Path

import pandas as pd

from evaluation.intake.national_id import mask_national_id, scan_frame
from evaluation.intake.readers import detect_delimiter, detect_encoding
from evaluation.disclosure.document_files import UnreadableDocument, check_docx, check_pdf
from evaluation.disclosure.findings import Checker, national_ids_in
from evaluation.disclosure.html_tables import HTMLScan
from evaluation.disclosure.provenance import figure_record, internal_parameter
# SIDECAR_SUFFIX: written beside a CSV by SafeTable.to_csv, the table passed the disclosure
# layer (a CSV or XLSX file cannot carry the HTML class ipeval-sdc, so this file stands in).
from evaluation.disclosure.rules import SIDECAR_SUFFIX
from evaluation.disclosure.shown_tables import table_from_frame
from evaluation.disclosure.text_tables import text_tables

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")     # terminal colours in tracebacks


class _Unreadable(Exception):
    """A file that cannot be read: reported as one finding, so a folder check goes on."""


def check_file(checker: Checker, path: Path, name: str) -> list[tuple]:
    """The findings in one file, reported as ``name``; a file that cannot be read is one
    ``unreadable`` finding."""
    checker.start(name)
    suffix = path.suffix.lower()
    try:
        if suffix == ".ipynb":
            _notebook(checker, path)
        elif suffix in (".html", ".htm"):
            _html_file(checker, path)
        elif suffix == ".csv":
            _csv(checker, path)
        elif suffix == ".xlsx":
            _xlsx(checker, path)
        elif suffix == ".docx":
            check_docx(checker, path)
        elif suffix == ".pdf":
            check_pdf(checker, path)
    except (_Unreadable, UnreadableDocument) as exc:
        checker.add("file", "unreadable", str(exc))
    checker.finish_file()
    return checker.findings()


# -- notebooks ---------------------------------------------------------------------------------
def _notebook(checker: Checker, path: Path) -> None:
    try:
        nb = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise _Unreadable(f"not a notebook (JSON): {type(exc).__name__}") from None
    if not isinstance(nb, dict):
        raise _Unreadable("not a notebook: the JSON is not an object")
    cells = nb.get("cells")
    if cells is None and nb.get("worksheets"):
        cells = [c for ws in nb["worksheets"] for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise _Unreadable("not a notebook: no list of cells")
    _metadata(checker, nb.get("metadata") or {}, "metadata")
    if internal_parameter(nb.get("metadata") or {}):
        checker.add("metadata papermill.parameters.internal", "internal_output",
                    "run with internal = True: not for sharing")
    for i, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        source = _joined(cell.get("source", ""))
        for start, end, _ in national_ids_in(source):
            checker.add(f"cell {i} source", "national_id", mask_national_id(source[start:end]))
        if cell.get("cell_type") == "markdown":
            checker.note_text(source, f"cell {i} source")
        if cell.get("cell_type") != "code":
            continue
        for k, output in enumerate(cell.get("outputs") or [], start=1):
            if isinstance(output, dict):
                _output(checker, output, f"cell {i} output {k}")


def _output(checker: Checker, output: dict, where: str) -> None:
    kind = output.get("output_type")
    if kind == "stream":
        text = _ANSI.sub("", _joined(output.get("text", "")))
        checker.check_text(text, where)
        checker.note_text(text, where)
        checker.check_tables(text_tables(text), where)
    elif kind == "error":
        text = "\n".join([str(output.get("ename", "")), str(output.get("evalue", "")),
                          *(_joined(t) for t in output.get("traceback") or [])])
        checker.check_text(_ANSI.sub("", text), where)
    elif kind in ("execute_result", "display_data", "pyout"):
        data = output.get("data") or {}
        texts = {mime: _joined(v) for mime, v in data.items()
                 if isinstance(mime, str) and mime.startswith("text/")}
        if "text/html" in texts:
            _html(checker, texts.pop("text/html"), where)
        elif "text/markdown" in texts:
            markdown = texts.pop("text/markdown")
            checker.check_text(markdown, where)
            checker.note_text(markdown, where)
        elif "text/plain" in texts:
            plain = _ANSI.sub("", texts.pop("text/plain"))
            checker.check_text(plain, where)
            checker.note_text(plain, where)
            checker.check_tables(text_tables(plain), where)
        record = figure_record(output.get("metadata") or {})
        if record is not None:
            checker.note_figure(record, where)
        seen = {excerpt for _, w, rule, excerpt in checker.found
                if w == where and rule == "national_id"}
        for text in texts.values():        # the other representations: national IDs only
            for start, end, _ in national_ids_in(text):
                masked = mask_national_id(text[start:end])
                if masked not in seen:
                    seen.add(masked)
                    checker.add(where, "national_id", masked)
        _metadata(checker, output.get("metadata") or {}, f"{where} metadata")


def _metadata(checker: Checker, value, where: str) -> None:
    for key, text in _strings(value, ""):
        checker.check_text(text, f"{where} {key}".strip() if key else where, quotes=False)


# -- HTML --------------------------------------------------------------------------------------
def _html_file(checker: Checker, path: Path) -> None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _Unreadable(f"cannot be read: {exc.strerror or exc}") from None
    text = raw.decode("utf-8", errors="replace")
    _html(checker, text, "", with_lines=True)


def _html(checker: Checker, markup: str, where: str, *, with_lines: bool = False) -> None:
    scan = HTMLScan()
    try:
        scan.feed(markup)
        scan.close()
    except Exception as exc:  # html.parser is lenient; anything left is a broken file
        raise _Unreadable(f"cannot be parsed as HTML ({type(exc).__name__})") from None
    visible = scan.text
    locate = (lambda offset: f"line {scan.line_at(offset)}") if with_lines else None
    checker.check_text(visible, where, locate=locate)
    checker.note_text(visible, where, locate)
    for line, log in scan.logs:
        if log is not None:
            checker.note_log(log, where or f"line {line}")
    if scan.internal_lines:
        checker.add(where or f"line {scan.internal_lines[0]}", "internal_output",
                    "labelled internal (class ipeval-internal): not for sharing")
    for k, table in enumerate(scan.tables, start=1):
        checker.check_cells(table, f"{where} table {k}".strip())
    checker.check_tables(scan.tables, where)


# -- CSV / XLSX --------------------------------------------------------------------------------
def _csv(checker: Checker, path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            sample = fh.read(256 * 1024)
        if not sample.strip():
            return
        encoding = detect_encoding(sample)
        if sample.lstrip()[:1] in (b"{", b"["):
            text = path.read_bytes().decode(encoding, errors="replace")
            if _json_in_csv(checker, text):
                return
        lines = [ln for ln in sample.decode(encoding, errors="replace").splitlines()[:50]
                 if ln.strip()]
        sep = detect_delimiter(lines) if lines else ","
        df = pd.read_csv(path, sep=sep, encoding=encoding, dtype=str, keep_default_na=False,
                         encoding_errors="replace", low_memory=False)
    except pd.errors.ParserError:
        # Not one table (a title line, notes under it): every line is still read as text.
        text = path.read_bytes().decode(encoding, errors="replace")
        checker.check_text(text, "", locate=_line_locator(text))
        return
    except (OSError, ValueError, pd.errors.EmptyDataError) as exc:
        raise _Unreadable(f"cannot be read as a CSV table ({type(exc).__name__})") from None
    _frame(checker, df, "", marker=sidecar_of(path))


def _json_in_csv(checker: Checker, text: str) -> bool:
    """A ``.csv`` that holds JSON (records, columns or one row) is checked as the table it
    describes and as text; False when it is not JSON (then it is read as CSV)."""
    try:
        value = json.loads(text)
    except ValueError:
        return False
    try:
        if isinstance(value, dict) and not any(isinstance(v, (dict, list))
                                               for v in value.values()):
            value = [value]
        df = pd.DataFrame(value).astype(str)
    except (ValueError, TypeError):      # not a table
        df = pd.DataFrame()
    if len(df.columns):
        _frame(checker, df, "", marker=None)
    else:
        checker.check_text(text, "", locate=_line_locator(text))
    return True


def _xlsx(checker: Checker, path: Path) -> None:
    try:
        sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    except Exception as exc:  # openpyxl raises zipfile/XML errors for damaged workbooks
        raise _Unreadable(f"cannot be read as an Excel workbook ({type(exc).__name__})") \
            from None
    marker = sidecar_of(path)
    for sheet, df in sheets.items():
        _frame(checker, df, f"sheet {checker.masked_label(sheet)}", marker=marker)


def _frame(checker: Checker, df: pd.DataFrame, where: str, *, marker: dict | None) -> None:
    # National IDs cell by cell first: scan_frame also finds those Excel stored as numbers.
    ids = scan_frame(df) if len(df.columns) else pd.DataFrame(columns=["row", "column"])
    for row in ids.itertuples(index=False):
        checker.add(f"{where} row {int(row.row) + 1} column {checker.masked_label(row.column)}",
                    "national_id", row.masked)
    table = table_from_frame(df, safe=marker is not None)
    if marker is not None:       # the layer's own threshold and name, as an HTML table has them
        table.meta = {"name": marker.get("table"), "min_cell": marker.get("min_cell")}
    checker.check_cells(table, where, national_ids=False)
    checker.check_table(table, where, table_name="")


def has_sidecar(path: Path) -> bool:
    """Whether the disclosure layer's sidecar stands beside ``path``: a JSON object (one that
    cannot be read is no marker, and the table is checked as any other)."""
    return sidecar_of(path) is not None


def sidecar_of(path: Path) -> dict | None:
    """The disclosure layer's sidecar beside ``path`` (a JSON object), else None."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    try:
        marker = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _line_locator(text: str):
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    return lambda offset: f"line {bisect.bisect_right(starts, offset)}"


def _joined(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def _strings(value, key: str):
    """(dotted key, string) for every string in nested metadata."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{key}[{i}]")
