"""A report's HTML as pandoc and the printer need it, with its cover page (for :mod:`.documents`).

For Word (:func:`word_html`) only what a Word file can hold is kept: text, tables and images
inside the HTML. Scripts, styles, nbconvert's wrappers and its "¶" links go, and so does every
image pandoc would fetch from the network or a file of the machine. For print
(:func:`print_html`) the report keeps its look; scripts go (Chromium prints with JavaScript
off), print styles and the cover come in.
"""
from __future__ import annotations

import lxml.html
from lxml import etree

from evaluation.disclosure.html_tables import INTERNAL_CLASS
from evaluation.disclosure.report_summary import SUMMARY_CLASS
from evaluation.disclosure.rules import SAFE_CLASS
from evaluation.report.reference_doc import COVER_STYLES, NOTE_STYLE, STAMP_STYLE

__all__ = ["COVER_CLASS", "PRINT_CSS", "STAMP_CLASS", "first_heading", "print_html", "word_html"]

STAMP_CLASS = "ipeval-stamp"         # the provenance stamp at the end of a report
COVER_CLASS = "ipeval-cover"
_NOTE_CLASSES = {SUMMARY_CLASS, f"{SAFE_CLASS}-note"}
# What a Word file cannot use, or pandoc must not fetch.
_DROPPED = ("script", "style", "link", "meta", "noscript", "template", "iframe", "object",
            "embed", "video", "audio", "source", "svg", "math", "button", "input", "select",
            "textarea", "form")
_KEPT_ATTRIBUTES = {"colspan", "rowspan", "src", "alt", "href", "data-custom-style"}
_BLOCKS = {"p", "div", "table", "ul", "ol", "dl", "pre", "blockquote", "h1", "h2", "h3", "h4",
           "h5", "h6", "hr", "figure"}
_WRAPPERS = ("div", "main", "section", "article", "header", "footer", "span")
PRINT_CSS = f"""
@page {{ size: A4; }}
@media print {{
  html, body {{ background: #fff; }}
  .{COVER_CLASS} {{ break-after: page; padding-top: 7cm; text-align: center;
                   font-family: system-ui, "Liberation Sans", sans-serif; }}
  .{COVER_CLASS}-title {{ font-size: 26pt; font-weight: 700; margin: 0 0 .6em; }}
  .{COVER_CLASS}-subtitle {{ font-size: 15pt; margin: 0 0 3em; }}
  .{COVER_CLASS}-field {{ font-size: 12pt; margin: .3em 0; }}
  tr, img, pre, figure, .jp-RenderedImage, .jp-OutputArea-child {{ break-inside: avoid; }}
  thead {{ display: table-header-group; }}
  h1, h2, h3, h4, h5, h6 {{ break-after: avoid; }}
  img {{ max-width: 100% !important; height: auto !important; }}
  .jp-Notebook {{ padding: 0 !important; }}
  .jp-Cell, .jp-OutputArea, .jp-RenderedHTMLCommon {{ overflow: visible !important; }}
  a.anchor-link {{ display: none; }}
  .{INTERNAL_CLASS} {{ position: static !important; }}
}}
"""


def word_html(markup: str, page: dict) -> tuple[str, str]:
    """The cover, then the report's text, tables and images, as pandoc should read them; and
    the words of an internal run's label ("" if none), for the header of every page."""
    tree = lxml.html.document_fromstring(markup)
    tree.set("lang", page["language"])      # pandoc sets Word's language from it
    label = _internal_label(tree)
    head = tree.find("head")
    if head is not None:        # pandoc would take <title> for a title of its own
        tree.remove(head)
    body = tree.body
    for element in list(body.iter(*_DROPPED, etree.Comment)):
        element.drop_tree()
    for element in _with_class(body, "anchor-link") + _with_class(body, INTERNAL_CLASS):
        element.drop_tree()
    for image in list(body.iter("img")):
        if not (image.get("src") or "").startswith("data:image/"):
            image.drop_tree()
    for element in list(body.iter(etree.Element)):
        classes = set((element.get("class") or "").split())
        if STAMP_CLASS in classes or classes & _NOTE_CLASSES:
            element.tag = "div"
            element.set("data-custom-style", STAMP_STYLE if STAMP_CLASS in classes
                        else NOTE_STYLE)
        elif element.tag == "a" and (element.get("href") or "#").startswith("#"):
            element.drop_tag()          # a link to an anchor that is gone
            continue
        for name in list(element.attrib):
            if name not in _KEPT_ATTRIBUTES:
                del element.attrib[name]
    for element in list(body.iter(*_WRAPPERS)):
        if element.get("data-custom-style") is None:
            element.drop_tag()
    for element in list(body.iter("div")):   # pandoc styles the paragraphs of a styled block
        if not any(child.tag in _BLOCKS for child in element):
            inner = lxml.html.Element("p")
            inner.text, element.text = element.text, None
            inner.extend(list(element))
            element.append(inner)
    for k, element in enumerate(_cover(page, word=True)):
        body.insert(k, element)
    return lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>"), label


def print_html(markup: str, page: dict) -> tuple[str, str]:
    """The report with its cover and print styles, without scripts; and the words of an
    internal run's label ("" if none), for the top of every page."""
    tree = lxml.html.document_fromstring(markup)
    for element in list(tree.iter("script", "noscript", "template")):
        element.drop_tree()
    tree.set("lang", page["language"])
    head = tree.find("head")
    if head is None:
        head = lxml.html.Element("head")
        tree.insert(0, head)
    for title in head.findall("title"):
        head.remove(title)
    title, style = lxml.html.Element("title"), lxml.html.Element("style")
    title.text, style.text = page["title"], PRINT_CSS
    head.extend([title, style])
    cover = lxml.html.Element("section")
    cover.set("class", COVER_CLASS)
    cover.extend(_cover(page, word=False))
    tree.body.insert(0, cover)
    return (lxml.html.tostring(tree, encoding="unicode", doctype="<!DOCTYPE html>"),
            _internal_label(tree))


def first_heading(markup: str) -> str:
    """The report's first heading (else its <title>): the cover's title when none is given."""
    tree = lxml.html.document_fromstring(markup)
    for tag in ("h1", "h2", "title"):
        for element in tree.iter(tag):
            text = " ".join(element.text_content().replace("¶", "").split())
            if text:
                return text
    return ""


def _cover(page: dict, *, word: bool) -> list:
    """The cover's paragraphs: styled for pandoc (``data-custom-style``) or for print."""
    def paragraph(kind: str, text: str, label: str | None = None):
        outer = lxml.html.Element("div" if word else "p")
        inner = etree.SubElement(outer, "p") if word else outer
        if word:
            outer.set("data-custom-style", COVER_STYLES[kind])
        else:
            outer.set("class", f"{COVER_CLASS}-{kind}")
        if label is None:
            inner.text = text
        else:
            strong = etree.SubElement(inner, "strong")
            strong.text, strong.tail = f"{label}:", f" {text}"
        return outer

    parts = [paragraph("title", page["title"])]
    if page["subtitle"]:
        parts.append(paragraph("subtitle", page["subtitle"]))
    parts += [paragraph("field", value, label) for label, value in page["fields"]]
    return parts


def _internal_label(tree) -> str:
    labels = _with_class(tree, INTERNAL_CLASS)
    return " ".join(labels[0].text_content().split()) if labels else ""


def _with_class(tree, name: str) -> list:
    return tree.xpath(f'.//*[contains(concat(" ", normalize-space(@class), " "), " {name} ")]')
