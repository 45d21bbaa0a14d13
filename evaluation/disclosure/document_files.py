"""Word files and PDFs as the output checker reads them (used by :mod:`.output_files`).

A ``.docx`` is read with python-docx: the text of its paragraphs, headers, footers, notes,
comments, properties, image descriptions and link targets goes to the text rules, and every
table becomes a :class:`~.shown_tables.ShownTable` for the table rules, as an HTML report's
tables do. What the disclosure layer wrote on the HTML (a table's class ``ipeval-sdc`` and its
``data-ipeval-sdc``, the report's disclosure log, the class ``ipeval-internal``) has no place in
Word's own markup; :func:`write_marks` keeps it in a Custom XML part of the file, which
:func:`check_docx` reads back, so a report's Word file is checked as its HTML is.

A ``.pdf`` is read as the text ``pdftotext -layout`` (Debian's poppler-utils) gives, page by
page, and its document information: the text rules only. Its tables are lines of text there,
not tables; the table rules see the same tables in the HTML and Word files made from the same
report, which ``ipeval run`` checks beside it.
"""
from __future__ import annotations

import bisect
import json
import re
import shutil
import subprocess
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import qn
from docx.table import Table
from lxml import etree

from evaluation.disclosure.findings import Checker
from evaluation.disclosure.html_tables import HTMLScan
from evaluation.disclosure.shown_tables import ShownTable

__all__ = ["INTERNAL_TEXT", "MARKS_NAMESPACE", "UnreadableDocument", "check_docx", "check_pdf",
           "document_marks", "read_marks", "write_marks"]

# The words of the gate's label (evaluation.report.gate.BANNER_TEXT, a layer above), which
# every page of an internal run's report carries: in a PDF the label is only text.
INTERNAL_TEXT = "INTERNAL — not for sharing"
MARKS_NAMESPACE = "urn:ipeval:disclosure:1"
_MARKS_PART = "/customXml/ipeval-disclosure.xml"
# The parts of a Word file besides its body that hold text a reader can see.
_TEXT_PARTS = re.compile(r"^/word/(header|footer|footnotes|endnotes|comments)\d*\.xml$")
_PROPERTIES = ("title", "subject", "author", "keywords", "comments", "category",
               "last_modified_by", "content_status", "identifier", "version")
# The document information a PDF keeps; Creator and Producer name the printer.
_PDF_INFO = {"Title", "Subject", "Keywords", "Author"}
_SPACE = re.compile(r"\s+")
TIMEOUT = 60


class UnreadableDocument(Exception):
    """A Word file or PDF that cannot be read: one ``unreadable`` finding, nothing checked."""


# -- the layer's marks in a Word file ----------------------------------------------------------
def document_marks(markup: str) -> dict:
    """What the disclosure layer wrote on a report's HTML, as :func:`write_marks` keeps it:
    per table (in the order of the HTML) whether it passed the layer, its ``data-ipeval-sdc``,
    its row-label columns and the size of a table shown cut; the disclosure logs; the label of
    an internal run. Read with the checker's own HTML reader, so nothing is read otherwise."""
    scan = HTMLScan()
    scan.feed(markup)
    scan.close()
    return {"tables": [{"safe": t.safe, "meta": t.meta, "index_columns": sorted(t.index_columns),
                        "total_rows": t.total_rows} for t in scan.tables],
            "logs": [log for _, log in scan.logs if log is not None],
            "internal": bool(scan.internal_lines)}


def write_marks(document, marks: dict) -> None:
    """Keep ``marks`` (:func:`document_marks`) in the Word ``document`` (python-docx), as a
    Custom XML part: Word keeps such parts as they are and shows nothing of them."""
    root = etree.Element(f"{{{MARKS_NAMESPACE}}}marks", nsmap={None: MARKS_NAMESPACE})
    root.text = json.dumps(marks, ensure_ascii=False, sort_keys=True)
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    part = Part(PackURI(_MARKS_PART), "application/xml", blob, document.part.package)
    document.part.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_XML)


def read_marks(document) -> dict | None:
    """The marks :func:`write_marks` kept in ``document``, else None (a file made elsewhere,
    or marks that cannot be read: its tables are then checked as not passed by the layer)."""
    for rel in document.part.rels.values():
        if rel.reltype != RELATIONSHIP_TYPE.CUSTOM_XML or rel.is_external:
            continue
        try:
            root = etree.fromstring(rel.target_part.blob)
            if root.tag != f"{{{MARKS_NAMESPACE}}}marks":
                continue
            marks = json.loads(root.text or "")
        except (etree.XMLSyntaxError, ValueError):
            return None
        return marks if isinstance(marks, dict) else None
    return None


# -- Word --------------------------------------------------------------------------------------
def check_docx(checker: Checker, path: Path) -> None:
    """Hand the text and tables of the Word file ``path`` to ``checker``."""
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile, KeyError and XML errors alike
        raise UnreadableDocument(
            f"cannot be read as a Word document ({type(exc).__name__})") from None
    marks = read_marks(document) or {}
    lines, starts, tables = [], [], []
    caption = ""
    for kind, element in _blocks(document.element.body):
        if kind == "p":
            text = _text_of(element)
            starts.append(sum(len(line) + 1 for line in lines))
            lines.append(text)
            caption = " ".join(text.split())[:200] or caption
        else:
            tables.append((Table(element, document), caption))
    body = "\n".join(lines)
    locate = lambda offset: f"paragraph {bisect.bisect_right(starts, offset)}"  # noqa: E731
    checker.check_text(body, "", locate=locate)
    checker.note_text(body, "", locate)
    others = [(_part_name(part), _xml_text(part.blob)) for part in document.part.package.iter_parts()
              if _TEXT_PARTS.match(str(part.partname))]
    for where, text in others:
        checker.check_text(text, where)
    _properties(checker, document)
    _figures_and_links(checker, document)
    shown = _shown_tables(tables, marks.get("tables"))
    for k, table in enumerate(shown, start=1):
        checker.check_cells(table, f"table {k}")
    checker.check_tables(shown, "")
    for log in marks.get("logs") or []:
        if isinstance(log, dict):
            checker.note_log(log, "disclosure log")
    labelled = [where for where, text in [("", body), *others] if INTERNAL_TEXT in text]
    if marks.get("internal") or labelled:
        checker.add(labelled[0] if labelled else "", "internal_output",
                    "labelled internal: not for sharing")


def _blocks(parent):
    """("p" | "tbl", element) in reading order; content controls are looked into."""
    for child in parent.iterchildren():
        if child.tag == qn("w:p"):
            yield "p", child
        elif child.tag == qn("w:tbl"):
            yield "tbl", child
        elif child.tag in (qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")):
            yield from _blocks(child)


def _text_of(element) -> str:
    """The text of a paragraph or cell, deleted revisions and field codes included: a file
    keeps them, and whoever opens it can show them."""
    parts = []
    for node in element.iter(qn("w:t"), qn("w:delText"), qn("w:instrText"), qn("w:tab"),
                             qn("w:br"), qn("w:cr"), qn("w:p")):
        if node.tag in (qn("w:tab"),):
            parts.append("\t")
        elif node.tag in (qn("w:br"), qn("w:cr")):
            parts.append("\n")
        elif node.tag == qn("w:p"):
            if parts and node is not element:
                parts.append("\n")
        else:
            parts.append(node.text or "")
    return "".join(parts)


def _xml_text(blob: bytes) -> str:
    try:
        root = etree.fromstring(blob)
    except etree.XMLSyntaxError:
        raise UnreadableDocument("a part of the Word document is not XML") from None
    return "\n".join(_text_of(p) for p in root.iter(qn("w:p")))


def _part_name(part) -> str:
    return re.sub(r"(\d+)$", r" \1", Path(str(part.partname)).stem)   # "footer 1", "comments"


def _properties(checker: Checker, document) -> None:
    core = document.core_properties
    for name in _PROPERTIES:
        value = getattr(core, name, None)
        if isinstance(value, str) and value.strip():
            checker.check_text(value, f"properties {name}", quotes=False)
    for part in document.part.package.iter_parts():
        if str(part.partname) == "/docProps/custom.xml":
            try:
                texts = etree.fromstring(part.blob).itertext()
            except etree.XMLSyntaxError:
                continue
            checker.check_text("\n".join(texts), "properties custom", quotes=False)


def _figures_and_links(checker: Checker, document) -> None:
    body = document.element.body
    for k, shape in enumerate(body.iter(qn("wp:docPr")), start=1):
        described = " ".join(v for v in (shape.get("descr"), shape.get("title")) if v)
        checker.check_text(described, f"figure {k}", quotes=False)
    targets = [rel.target_ref for rel in document.part.rels.values() if rel.is_external]
    for k, target in enumerate(targets, start=1):
        checker.check_text(target, f"link {k}", quotes=False)


def _shown_tables(tables: list, marks) -> list[ShownTable]:
    """Each table as a grid (python-docx repeats a merged cell in every column and row it
    covers, as the HTML reader fills out spans), with the layer's marks when they are
    there for every table."""
    if not isinstance(marks, list) or len(marks) != len(tables):
        marks = [None] * len(tables)
    return [_shown(table, caption, mark if isinstance(mark, dict) else None)
            for (table, caption), mark in zip(tables, marks)]


def _shown(table: Table, caption: str, mark: dict | None) -> ShownTable:
    grid, heads = [], []
    for row in table.rows:
        grid.append([_SPACE.sub(" ", _text_of(cell._tc)).strip() for cell in row.cells])
        flag = row._tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}")
        heads.append(flag is not None and flag.get(qn("w:val"), "true") not in ("0", "false"))
    width = max((len(r) for r in grid), default=0)
    grid = [r + [""] * (width - len(r)) for r in grid]
    n_head = 0
    while n_head < len(heads) and heads[n_head]:
        n_head += 1
    if n_head == 0 and len(grid) > 1:      # a table made in Word: its first row names columns
        n_head = 1
    header = [" / ".join(dict.fromkeys(grid[i][j] for i in range(n_head) if grid[i][j]))
              for j in range(width)]
    body = [r for r in grid[n_head:] if not all(c in ("...", "…", "") for c in r)]
    if mark is None:
        index = {0} if header and header[0] == "" else set()
        return ShownTable(header, body, index, caption=caption)
    index = {j for j in mark.get("index_columns") or [] if isinstance(j, int)}
    meta = mark.get("meta") if isinstance(mark.get("meta"), dict) else None
    total = mark.get("total_rows") if isinstance(mark.get("total_rows"), int) else None
    return ShownTable(header, body, index, bool(mark.get("safe")), total, meta, caption)


# -- PDF ---------------------------------------------------------------------------------------
def check_pdf(checker: Checker, path: Path) -> None:
    """Hand the text of the PDF ``path`` (``pdftotext -layout``) to ``checker``: page by page
    to the text rules, its document information to the same rules."""
    text = _poppler("pdftotext", "-layout", "-enc", "UTF-8", str(path), "-")
    starts = [0] + [m.end() for m in re.finditer("\f", text)]
    locate = lambda offset: f"page {bisect.bisect_right(starts, offset)}"  # noqa: E731
    checker.check_text(text, "", locate=locate)
    checker.note_text(text, "", locate)
    for line in _poppler("pdfinfo", "-enc", "UTF-8", str(path)).splitlines():
        key, _, value = line.partition(":")
        if key in _PDF_INFO and value.strip():
            checker.check_text(value.strip(), f"properties {key.lower()}", quotes=False)
    at = text.find(INTERNAL_TEXT)
    if at >= 0:
        checker.add(locate(at), "internal_output", "labelled internal: not for sharing")


def _poppler(program: str, *args: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise UnreadableDocument(f"{program} is not installed (Debian's poppler-utils: "
                                 f"apt-get install poppler-utils), so the PDF was not read")
    try:
        done = subprocess.run([found, *args], capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UnreadableDocument(f"{program} did not finish in {TIMEOUT} s") from None
    if done.returncode != 0:
        raise UnreadableDocument(f"cannot be read as a PDF ({program} exit {done.returncode})")
    return done.stdout.decode("utf-8", errors="replace")
