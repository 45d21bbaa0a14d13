"""The look of a report's Word file: the reference document pandoc takes its styles, page and
footer from (``pandoc --reference-doc``), used by :mod:`.documents`.

It is built here, from the default reference document of the pandoc that converts, rather than
committed as a binary: pandoc names the styles it writes after its own default (``Body Text``,
``Compact``, ``Table``), and Debian's pandoc may be older or newer than any file committed
beside the code; a change of the look is then a change of this module, read in a diff. The
same pandoc gives the same document (python-docx's zip dates aside).
"""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

__all__ = ["COVER_STYLES", "FONT", "NOTE_STYLE", "STAMP_STYLE", "add_field",
           "write_reference_doc"]

# Calibri is Word's own; where it is missing (LibreOffice on Linux) the metric twin Carlito
# stands in, so pages break alike.
FONT = "Calibri"
COVER_STYLES = {"title": "Title", "subtitle": "Subtitle", "field": "Cover Field"}
NOTE_STYLE = "Report Note"          # the disclosure layer's sentences under tables and at the end
STAMP_STYLE = "Report Stamp"        # the provenance stamp at the end of a report
_GREY = "808080"


def write_reference_doc(target, *, pandoc: str, timeout: float) -> Path:
    """Write the reference document to ``target``: A4 with 2.5 cm margins, Calibri 11 pt,
    the cover's styles, tables with borders and a shaded header row repeated on each page,
    and a footer with the page number (a ``PAGE`` field) out of ``NUMPAGES``."""
    default = subprocess.run([pandoc, "--print-default-data-file", "reference.docx"],
                             capture_output=True, timeout=timeout, check=True).stdout
    document = docx.Document(io.BytesIO(default))
    body = document.element.body
    for child in list(body):            # pandoc reads the styles and the page, not the text
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    _page(document)
    _fonts(document)
    _cover_styles(document)
    _note_styles(document)
    _table_style(document)
    target = Path(target)
    document.save(str(target))
    return target


def add_field(paragraph, code: str, shown: str = "1") -> None:
    """A Word field (``PAGE``, ``NUMPAGES``) at the end of ``paragraph``; Word computes it."""
    for kind, text in (("begin", None), ("instr", code), ("separate", None), ("shown", shown),
                       ("end", None)):
        run = paragraph.add_run()
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {text} "
            run._r.append(instr)
        elif kind == "shown":
            run.text = text
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)


def _page(document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    section.header_distance = section.footer_distance = Cm(1.25)
    section.header.is_linked_to_previous = False
    footer = section.footer
    footer.is_linked_to_previous = False
    # python-docx names styles "Header" and "Footer" that pandoc's document does not define
    section.header.paragraphs[0].style = footer.paragraphs[0].style = document.styles["Normal"]
    paragraph = footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_field(paragraph, "PAGE")
    paragraph.add_run(" / ")
    add_field(paragraph, "NUMPAGES")
    for run in paragraph.runs:
        run.font.size = Pt(9)


def _fonts(document) -> None:
    """One font everywhere: the theme's fonts (Cambria headings in pandoc's default) give way
    to explicit ones."""
    styles = document.styles.element
    for fonts in styles.iter(qn("w:rFonts")):
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme), None)
        for name in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(name), FONT)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11)
    defaults = styles.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if defaults is not None:
        for tag in ("w:sz", "w:szCs"):
            size = defaults.find(qn(tag))
            if size is not None:
                size.set(qn("w:val"), "22")


def _cover_styles(document) -> None:
    styles = document.styles
    title = styles[COVER_STYLES["title"]]
    title.font.size = Pt(28)
    title.paragraph_format.space_before = Cm(6)
    title.paragraph_format.space_after = Pt(18)
    subtitle = styles[COVER_STYLES["subtitle"]]
    subtitle.font.size = Pt(16)
    subtitle.font.bold = False
    subtitle.paragraph_format.space_after = Cm(2)
    field = styles.add_style(COVER_STYLES["field"], WD_STYLE_TYPE.PARAGRAPH)
    field.base_style = styles["Normal"]
    field.font.size = Pt(13)
    field.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field.paragraph_format.space_after = Pt(6)


def _note_styles(document) -> None:
    styles = document.styles
    for name, size in ((NOTE_STYLE, 9), (STAMP_STYLE, 8)):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles["Normal"]
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor.from_string("404040")
        style.paragraph_format.space_after = Pt(4)
    stamp = styles[STAMP_STYLE].element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    borders.append(_border("w:top", size=4, space=4))
    stamp.insert_element_before(borders, "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc",
                                "w:rPr")


def _table_style(document) -> None:
    """pandoc's ``Table`` style with borders around every cell and a bold, shaded header row
    (pandoc marks a table's header rows, which Word repeats at the top of every page)."""
    style = document.styles["Table"].element
    properties = style.find(qn("w:tblPr"))
    borders = OxmlElement("w:tblBorders")
    for edge in ("w:top", "w:left", "w:bottom", "w:right", "w:insideH", "w:insideV"):
        borders.append(_border(edge, size=4))
    properties.insert_element_before(borders, "w:shd", "w:tblLayout", "w:tblCellMar",
                                     "w:tblLook")
    first = next(p for p in style.iter(qn("w:tblStylePr")) if p.get(qn("w:type")) == "firstRow")
    run = OxmlElement("w:rPr")
    run.append(OxmlElement("w:b"))
    first.insert(0, run)
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), "E8EDF3")
    first.find(qn("w:tcPr")).find(qn("w:tcBorders")).addnext(shading)


def _border(edge: str, *, size: int, space: int = 0):
    element = OxmlElement(edge)
    element.set(qn("w:val"), "single")
    element.set(qn("w:sz"), str(size))
    element.set(qn("w:space"), str(space))
    element.set(qn("w:color"), _GREY)
    return element
