"""The output checker reads Word files and PDFs (evaluation.disclosure.document_files): a report's
Word file gives the findings its HTML gives, leak by leak of the adversarial corpus; a small
count, a national ID anywhere in a Word file, and a national ID in a PDF are found; the Word file
and PDF of a clean report give none. The PDFs are printed by one Chromium per module."""
from __future__ import annotations

from pathlib import Path

import docx
import nbformat
import pandas as pd
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from browser import chromium_executable
from evaluation.disclosure import Disclosure
from evaluation.disclosure.document_files import (INTERNAL_TEXT, document_marks, read_marks,
                                                  write_marks)
from evaluation.disclosure.output_check import check_path
from evaluation.report.documents import launch_chromium, write_docx, write_pdf
from evaluation.report.gate import BANNER_TEXT
from evaluation.report.html import render_html

STORED = Path(__file__).resolve().parents[1] / "data" / "leak_corpus"
CORPUS = sorted(p.relative_to(STORED).as_posix() for p in STORED.rglob("*.html"))
FNR = "31129956715"                  # fnrinfo.no's worked example: valid check digits, no one's
COVER = {"title": "Rapport", "fields": [("Institusjon", "Karlsborg"), ("Periode", "2024–2025"),
                                        ("Dato", "4. desember 2026")], "language": "nb"}


def _found(path) -> list[tuple]:
    return [(r.where, r.rule) for r in check_path(path).itertuples(index=False)]


def _report(folder: Path, *, text: str = "Alle tall er vist gjennom avsløringskontrollen.",
            table_html: str | None = None) -> Path:
    """A report as `ipeval run` renders it: a table through the disclosure layer, the text, the
    layer's sentence with its log."""
    sdc = Disclosure()
    shown = sdc.show(pd.DataFrame({"institusjon": ["Karlsborg", "Lassonløkken", "Fjærholmen",
                                                   "Vårli"], "n": [42, 3, 17, 25]}),
                     name="ip_per_institusjon")
    outputs = [table_html or shown._repr_html_(), sdc._repr_html_()]
    cells = [new_markdown_cell(f"# Rapport\n\n{text}")] + [
        new_code_cell("x", execution_count=k, outputs=[new_output(
            "execute_result", data={"text/html": markup, "text/plain": "x"}, execution_count=k)])
        for k, markup in enumerate(outputs, start=1)]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), str(folder / "report.ipynb"))
    return render_html(folder / "report.ipynb", folder / "report.html")


@pytest.fixture(scope="module")
def browser():
    chromium_executable()                 # fails saying how to install it, or skips
    with launch_chromium() as launched:
        yield launched


# -- the corpus: a Word file is checked as its HTML ----------------------------------------------
@pytest.mark.parametrize("name", CORPUS)
def test_a_word_file_gives_the_findings_of_its_html(name, tmp_path):
    source = STORED / name
    target = write_docx(source, tmp_path / Path(name).with_suffix(".docx").name, cover=COVER)
    from_html, from_word = _found(source), _found(target)
    assert {rule for _, rule in from_word} == {rule for _, rule in from_html}
    # a table's cells are named alike; text is at "line 40" in HTML, "paragraph 3" in Word
    assert sorted(f for f in from_word if f[0].startswith("table")) == \
        sorted(f for f in from_html if f[0].startswith("table"))


@pytest.mark.parametrize("folder", ["03_inconsistent", "clean/03_inconsistent"])
def test_a_cell_hidden_in_one_word_file_and_shown_in_another_is_found(folder, tmp_path):
    for page in sorted((STORED / folder).glob("*.html")):
        write_docx(page, tmp_path / page.with_suffix(".docx").name, cover=COVER)
    found = check_path(tmp_path)
    assert found.attrs["files_checked"] == ["a_headline.docx", "b_interviews.docx"]
    expected = [] if folder.startswith("clean") else [("b_interviews.docx",
                                                       "inconsistent_suppression")]
    assert sorted(set(zip(found["file"], found["rule"]))) == expected


# -- small counts and national IDs -----------------------------------------------------------------
def test_a_small_count_outside_the_layer_is_flagged_in_the_word_file(tmp_path):
    plain = pd.DataFrame({"institusjon": ["Lassonløkken", "Karlsborg", "Fjærholmen"],
                          "n": [42, 3, 17]}).to_html(index=False)
    page = _report(tmp_path, table_html=plain)
    target = write_docx(page, tmp_path / "report.docx", cover=COVER)
    assert _found(target) == [("table 1 row 2 column n", "small_cell")]
    assert _found(page) == [("table 1 row 2 column n", "small_cell")]
    assert "3 (below 5)" in check_path(target)["excerpt"].tolist()


def test_a_word_table_made_elsewhere_has_not_passed_the_layer(tmp_path):
    document = docx.Document()
    document.add_paragraph("Antall per institusjon")
    table = document.add_table(rows=3, cols=2)
    for row, values in zip(table.rows, [("institusjon", "n"), ("Karlsborg", "40"),
                                        ("Vårli", "2")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.save(str(tmp_path / "made_in_word.docx"))
    assert _found(tmp_path / "made_in_word.docx") == [("table 1 row 2 column n", "small_cell")]
    # marks that do not fit the file's tables are no marks: the table is checked as not passed
    write_marks(document, {"tables": [{"safe": True}, {"safe": True}], "logs": [],
                           "internal": False})
    document.save(str(tmp_path / "marked_wrongly.docx"))
    assert read_marks(docx.Document(str(tmp_path / "marked_wrongly.docx")))["tables"]
    assert _found(tmp_path / "marked_wrongly.docx") == [("table 1 row 2 column n", "small_cell")]


def test_a_national_id_is_found_anywhere_in_a_word_file(tmp_path):
    document = docx.Document()
    document.add_paragraph("Rapport")
    paragraph = document.add_paragraph("Pasient ")
    paragraph.add_run(FNR[:6]).bold = True                 # split over runs, as Word does
    paragraph.add_run(f" {FNR[6:]} ringte.")
    cell = document.add_table(rows=2, cols=2).rows[1].cells[1]
    cell.text = FNR
    document.sections[0].header.paragraphs[0].text = f"Journal {FNR}"
    deleted = document.add_paragraph()._p               # a tracked deletion keeps its text
    removal = OxmlElement("w:del")
    for name, value in (("w:id", "1"), ("w:author", "x"), ("w:date", "2026-01-01T00:00:00Z")):
        removal.set(qn(name), value)
    run, text = OxmlElement("w:r"), OxmlElement("w:delText")
    text.text = FNR
    run.append(text)
    removal.append(run)
    deleted.append(removal)
    document.core_properties.subject = FNR
    document.save(str(tmp_path / "ids.docx"))
    found = check_path(tmp_path / "ids.docx")
    assert set(found["rule"]) == {"national_id"}
    # the split paragraph, the deleted one, the cell, the header, the file's properties
    assert sorted(found["where"]) == ["header 1", "paragraph 2", "paragraph 3",
                                      "properties subject", "table 1 row 1 column 2"]
    assert all(FNR not in e and e.startswith("31*") for e in found["excerpt"])


def test_a_national_id_in_a_report_is_found_in_its_word_file_and_its_pdf(tmp_path, browser):
    page = _report(tmp_path, text=f"Pasienten med fødselsnummer {FNR} ble skrevet ut.")
    word = write_docx(page, tmp_path / "report.docx", cover=COVER)
    pdf = write_pdf(page, tmp_path / "report.pdf", cover=COVER, browser=browser)
    assert _found(word) == [("paragraph 6", "national_id")]     # after the cover and heading
    assert _found(pdf) == [("page 2", "national_id")]               # the cover is page 1
    assert check_path(pdf)["excerpt"].tolist() == ["31*********"]


# -- a clean report ----------------------------------------------------------------------------
def test_the_word_file_and_pdf_of_a_clean_report_give_no_finding(tmp_path, browser):
    page = _report(tmp_path / "out")
    write_docx(page, tmp_path / "out" / "report.docx", cover=COVER)
    write_pdf(page, tmp_path / "out" / "report.pdf", cover=COVER, browser=browser)
    (tmp_path / "out" / "report.ipynb").unlink()
    found = check_path(tmp_path / "out")          # checked together: one report, three files
    assert found.attrs["files_checked"] == ["report.docx", "report.html", "report.pdf"]
    assert found.empty, found.to_dict("records")
    marks = read_marks(docx.Document(str(tmp_path / "out" / "report.docx")))
    assert marks == document_marks(page.read_text(encoding="utf-8"))
    assert marks["tables"][0]["safe"] and marks["logs"] and not marks["internal"]


def test_an_internal_report_is_internal_in_its_pdf_too(tmp_path, browser):
    source = STORED / "09b_internal_label.html"
    pdf = write_pdf(source, tmp_path / "internal.pdf", cover=COVER, browser=browser)
    assert {rule for _, rule in _found(pdf)} == {"internal_output"}
    assert INTERNAL_TEXT == BANNER_TEXT              # the words the gate writes on every page


# -- files that cannot be read -------------------------------------------------------------------
def test_a_broken_word_file_or_pdf_is_unreadable_and_so_not_passed(tmp_path, monkeypatch):
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 nothing more")
    found = check_path(tmp_path)
    assert sorted(zip(found["file"], found["rule"])) == [("broken.docx", "unreadable"),
                                                         ("broken.pdf", "unreadable")]
    monkeypatch.setenv("PATH", str(tmp_path))       # no pdftotext on it
    found = check_path(tmp_path / "broken.pdf")
    assert found["rule"].tolist() == ["unreadable"]
    assert "pdftotext is not installed" in found["excerpt"].iloc[0]
    assert "poppler-utils" in found["excerpt"].iloc[0]
