"""A report's Word file and PDF (evaluation.report.documents), made from the HTML of an executed
notebook rendered as `ipeval run` renders it: the cover, the tables as Word tables, the figure,
the page numbers, the language, the stamp; the PDF's pages rendered with pdftoppm and read with
pdftotext. One Chromium prints every PDF of the module."""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docx
import matplotlib
import nbformat
import pandas as pd
import pytest
from docx.oxml.ns import qn
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image

from browser import chromium_executable
from evaluation.disclosure import Disclosure
from evaluation.errors import OutputError, ParameterError
from evaluation.report.document_html import word_html
from evaluation.report.documents import launch_chromium, write_docx, write_pdf
from evaluation.report.gate import BANNER_TEXT
from evaluation.report.html import render_html

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

COVER = {"title": "Individuell plan i Karlsborg", "subtitle": "Evaluering av IP 2024–2025",
         "fields": [("Institusjon", "Karlsborg"), ("Periode", "2024–2025"),
                    ("Dato", "4. desember 2026")], "language": "nb"}
STAMP = "ipeval 0.1.0 · ip_evaluation.ipynb · kontrollert før deling"


def _figure_png() -> bytes:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(["Med IP", "Uten IP"], [42, 17])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def _report(folder, *, internal: bool = False, extra_html: str = "") -> tuple:
    """An executed notebook's HTML as html.py renders it, with the stamp at its end."""
    sdc = Disclosure(internal=internal)
    counts = sdc.show(pd.DataFrame({"institusjon": ["Karlsborg", "Lassonløkken", "Fjærholmen",
                                                    "Vårli"],
                                    "n": [42, 3, 17, 25], "andel_med_ip": [.52, .3, .61, .44]}),
                      name="ip_per_institusjon")
    png = _figure_png()

    def html_output(markup, count=None):
        kind = "execute_result" if count else "display_data"
        extra = {"execution_count": count} if count else {}
        return new_output(kind, data={"text/html": markup, "text/plain": "table"}, **extra)

    cells = [new_markdown_cell("# Individuell plan i Karlsborg\n\nHvem har en **individuell "
                               "plan**, og hvordan går det med dem?"),
             new_code_cell("sdc.show(t)", execution_count=1,
                           outputs=[html_output(counts._repr_html_(), 1)]),
             new_markdown_cell("## Figur\n\nAndel med individuell plan."),
             new_code_cell("fig", execution_count=2, outputs=[new_output(
                 "display_data", data={"image/png": base64.b64encode(png).decode(),
                                       "text/plain": "<Figure>"})]),
             new_code_cell("print(lest)", execution_count=3, outputs=[new_output(
                 "stream", name="stdout", text="Lest 87 rader, brukt 87.\n")]),
             new_code_cell("sdc", execution_count=4, outputs=[html_output(sdc._repr_html_())])]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    executed = folder / "report.ipynb"
    nbformat.write(nb, str(executed))
    page = render_html(executed, folder / "report.html", internal=internal)
    markup = page.read_text(encoding="utf-8").replace(
        "</body>", f'{extra_html}<footer class="ipeval-stamp"><p>{STAMP}</p></footer></body>')
    page.write_text(markup, encoding="utf-8")
    return page, png


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return _report(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def word(report, tmp_path_factory):
    target = tmp_path_factory.mktemp("word") / "report.docx"
    assert write_docx(report[0], target, cover=COVER) == target
    return docx.Document(str(target))


@pytest.fixture(scope="module")
def browser():
    chromium_executable()                 # fails saying how to install it, or skips
    with launch_chromium() as launched:
        yield launched


def _poppler(*command) -> str:
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed: run `make test` (apt-get install "
                    f"poppler-utils).", pytrace=False)
    return subprocess.run(command, capture_output=True, check=True, timeout=60).stdout.decode()


@pytest.fixture(scope="module")
def pdf(report, browser, tmp_path_factory):
    target = tmp_path_factory.mktemp("pdf") / "report.pdf"
    assert write_pdf(report[0], target, cover=COVER, browser=browser) == target
    return target


def _first_page(document) -> list[str]:
    """The text of the paragraphs before the first page break."""
    texts = []
    for paragraph in document.paragraphs:
        if paragraph.paragraph_format.page_break_before:
            break
        texts.append(paragraph.text)
        if paragraph._p.xpath('.//w:br[@w:type="page"]'):
            break
    return texts


# -- Word --------------------------------------------------------------------------------------
def test_the_cover_holds_title_subtitle_and_fields_alone_on_the_first_page(word):
    first = _first_page(word)
    assert first == ["Individuell plan i Karlsborg", "Evaluering av IP 2024–2025",
                     "Institusjon: Karlsborg", "Periode: 2024–2025", "Dato: 4. desember 2026"]
    assert [p.style.name for p in word.paragraphs[:2]] == ["Title", "Subtitle"]
    after = word.paragraphs[len(first)]
    assert after.text == "Individuell plan i Karlsborg" and after.style.name == "Heading 1"
    assert word.core_properties.title == COVER["title"]


def test_the_tables_are_word_tables_with_header_and_values(word):
    assert len(word.tables) == 1
    table = word.tables[0]
    # (whether pandas' index is shown is the disclosure layer's choice, not the Word file's)
    rows = [[cell.text for cell in row.cells][-3:] for row in table.rows]
    assert rows[0] == ["institusjon", "n", "andel_med_ip"]
    assert rows[1] == ["Karlsborg", "42", "0.520"]
    assert rows[2][:2] == ["Lassonløkken", "<5"]           # as the disclosure layer showed it
    assert len(rows) == 5 and table.style.name == "Table"
    header = table.rows[0]._tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}")
    assert header is not None                                # repeated on every page
    style = word.styles["Table"].element
    assert style.find(f"{qn('w:tblPr')}/{qn('w:tblBorders')}") is not None


def test_the_figure_is_embedded_inline_and_fits_the_page(report, word):
    shapes = word.inline_shapes
    assert len(shapes) == 1
    blip = shapes[0]._inline.xpath(".//a:blip/@r:embed")[0]
    assert word.part.related_parts[blip].blob == report[1]
    section = word.sections[0]
    assert 0 < shapes[0].width <= section.page_width - section.left_margin - section.right_margin
    described = shapes[0]._inline.xpath(".//pic:cNvPr/@descr")[0]
    assert not described.startswith("data:")                # not the image again as text


def test_the_page_is_a4_with_page_numbers_and_the_language_set(word):
    section = word.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert round(section.left_margin.cm, 1) == 2.5
    footer = section.footer._element
    fields = [t.text.strip() for t in footer.iter(qn("w:instrText"))]
    assert fields == ["PAGE", "NUMPAGES"]
    defaults = word.styles.element.find(
        f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    assert defaults.get(qn("w:val")) == "nb-NO"
    assert word.core_properties.language == "nb-NO"


def test_the_stamp_and_the_disclosure_sentence_come_along_and_nothing_of_the_page(word):
    texts = [p.text for p in word.paragraphs]
    styles = {p.text: p.style.name for p in word.paragraphs}
    assert styles[STAMP] == "Report Stamp" and texts[-1] == STAMP
    sentence = next(t for t in texts if "passed the disclosure rules" in t)
    assert styles[sentence] == "Report Note"
    assert "Lest 87 rader, brukt 87." in texts
    everything = "\n".join(texts)
    assert "¶" not in everything and "jp-" not in everything and "{" not in everything


def test_an_internal_report_is_labelled_in_every_header(tmp_path):
    page, _ = _report(tmp_path, internal=True)
    written = docx.Document(str(write_docx(page, tmp_path / "internal.docx", cover=COVER)))
    assert [s.header.paragraphs[0].text for s in written.sections] == [BANNER_TEXT]
    assert BANNER_TEXT not in [p.text for p in written.paragraphs]   # not in the text again


def test_the_html_for_word_keeps_only_what_word_holds():
    markup = ('<html><head><title>t</title><style>p{}</style></head><body><main>'
              '<div class="jp-Cell"><h2 id="a">Tittel<a class="anchor-link" href="#a">¶</a></h2>'
              '<script>alert(1)</script><img src="https://example.org/x.png" alt="ute">'
              '<img src="file:///home/kari/x.png"><img src="data:image/png;base64,AAAA" alt="inne">'
              '<p><a href="#a">lenke</a> og <a href="https://example.org">ute</a></p>'
              '</div></main></body></html>')
    cleaned, label = word_html(markup, {"title": "T", "subtitle": "", "fields": [],
                                        "language": "nb-NO"})
    assert label == ""
    for gone in ("<script", "<style", "<title", "¶", "example.org/x.png", "file:", "jp-Cell",
                 'href="#a"', "<main", 'id="a"'):
        assert gone not in cleaned, gone
    assert 'src="data:image/png;base64,AAAA"' in cleaned and 'href="https://example.org"' in cleaned
    assert cleaned.index('data-custom-style="Title"') < cleaned.index("<h2>Tittel</h2>")


# -- PDF ---------------------------------------------------------------------------------------
def test_the_pdf_has_a_cover_then_the_report_on_a4_pages(pdf, tmp_path):
    info = _poppler("pdfinfo", str(pdf))
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 2 and "A4" in info
    _poppler("pdftoppm", "-png", "-r", "50", str(pdf), str(tmp_path / "page"))
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    for image in images:
        with Image.open(image) as shown:
            assert shown.size[0] < shown.size[1]                   # portrait
            low, high = shown.convert("L").getextrema()
            assert low < 100 < high                                # something is printed
    cover = _poppler("pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-")
    for text in ("Individuell plan i Karlsborg", "Evaluering av IP", "Institusjon: Karlsborg",
                 "Periode: 2024–2025", "Dato: 4. desember 2026"):
        assert text in cover, text
    assert re.search(rf"\b1\s*/\s*{pages}\b", cover)                  # the page number
    rest = _poppler("pdftotext", "-layout", "-f", "2", str(pdf), "-")
    assert "Karlsborg" in rest and "42" in rest and "<5" in rest and STAMP in rest
    assert "Lassonløkken" not in cover


def test_an_internal_pdf_is_labelled_on_every_page(tmp_path, browser):
    page, _ = _report(tmp_path, internal=True)
    target = write_pdf(page, tmp_path / "internal.pdf", cover=COVER, browser=browser)
    pages = _poppler("pdftotext", "-layout", str(target), "-").split("\f")
    assert all(BANNER_TEXT in text for text in pages if text.strip())


class _Counter(BaseHTTPRequestHandler):
    asked: list = []

    def do_GET(self):  # noqa: N802  (the base class's name)
        self.asked.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002
        pass


def test_printing_asks_for_nothing_but_the_report_itself(tmp_path, browser):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page, _ = _report(tmp_path, extra_html=(
            f'<link rel="stylesheet" href="{base}/style.css"><img src="{base}/x.png">'
            f'<iframe src="{base}/frame"></iframe>'))
        write_pdf(page, tmp_path / "offline.pdf", cover=COVER, browser=browser)
    finally:
        server.shutdown()
        server.server_close()
    assert _Counter.asked == []


# -- errors ------------------------------------------------------------------------------------
def test_without_pandoc_or_chromium_the_error_says_what_to_install(report, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))        # nothing is found on it
    with pytest.raises(OutputError, match=r"pandoc is not installed.*apt-get install pandoc.*"
                                          r"make test"):
        write_docx(report[0], tmp_path / "r.docx", cover=COVER)
    with pytest.raises(OutputError, match=r"chromium is not installed.*apt-get install chromium"):
        write_pdf(report[0], tmp_path / "r.pdf", cover=COVER)
    assert not list(tmp_path.iterdir())


def test_a_cover_with_an_unknown_key_or_no_text_is_refused(report, tmp_path):
    with pytest.raises(ParameterError, match="unknown key.*'institusjon'"):
        write_docx(report[0], tmp_path / "r.docx", cover={"institusjon": "Karlsborg"})
    with pytest.raises(ParameterError, match="fields as \\(label, value\\) pairs"):
        write_docx(report[0], tmp_path / "r.docx", cover={"fields": [("Dato", 2026)]})
    with pytest.raises(ParameterError, match="language"):
        write_docx(report[0], tmp_path / "r.docx", cover={"language": "bokmål!"})
    with pytest.raises(OutputError, match="does not exist"):
        write_docx(report[0], tmp_path / "missing" / "r.docx", cover=COVER)


def test_fields_given_by_key_take_the_fallback_labels(report, tmp_path):
    written = write_docx(report[0], tmp_path / "r.docx",
                         cover={"institution": "Karlsborg", "date": "4 December 2026"})
    first = _first_page(docx.Document(str(written)))
    assert first == ["Individuell plan i Karlsborg", "Institution: Karlsborg",
                     "Date: 4 December 2026"]
