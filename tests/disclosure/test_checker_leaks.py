"""The output checker knows the leaks of issue 14: an adversarial corpus, one file per leak kind
and variant (tests/data/leak_corpus, described in its README.md), each caught by its own rule;
a clean twin of each (tests/data/leak_corpus/clean) that must not be flagged; the readers of
marks, Norwegian numbers and percentages; and a property test of the sums rule.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from evaluation.disclosure import Disclosure
from evaluation.disclosure import provenance
from evaluation.disclosure.cell_text import parse_number, read_cell
from evaluation.disclosure.output_check import check_path, report
from evaluation.disclosure.pinning import Relation, worked_out

STORED = Path(__file__).resolve().parents[1] / "data" / "leak_corpus"


def _materialised() -> Path:
    """A copy of the corpus with its executed notebooks named ``.ipynb``. They are stored as
    ``.ipynb.json``: the repository keeps notebooks without outputs, and these are outputs (what
    a run leaves behind, leaks included), which the checker must read."""
    # A fixed name without digits: the findings' texts name the file, and a test below makes sure
    # that no digit of a recovered value appears in them.
    target = Path(tempfile.gettempdir()) / "ipeval-leak-corpus"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(STORED, target)
    for stored in target.rglob("*.ipynb.json"):
        stored.rename(stored.with_suffix(""))
    return target


CORPUS = _materialised()
CLEAN = CORPUS / "clean"

# file (or folder) -> the rules it must raise, and no other
EXPECTED = {
    "01_figure_points.ipynb": {"recoverable_cell"},
    "01b_figure_log.html": {"recoverable_cell"},
    "02_long_table_total.html": {"recoverable_cell"},
    "02b_group_total_elsewhere.html": {"recoverable_cell"},
    "02c_total_in_sentence.html": {"recoverable_cell"},
    "02d_row_total_norwegian.html": {"recoverable_cell"},
    "03_inconsistent": {"inconsistent_suppression"},
    "04_share_of_item.html": {"small_share"},
    "04b_percent_norwegian.html": {"small_share"},
    "04c_decimal_comma.html": {"small_share"},
    "04d_n_missing.html": {"unprotected_count"},
    "04e_n_percent_cells.html": {"recoverable_cell"},
    "05_person_level_figure.ipynb": {"person_level_figure"},
    "05b_person_level_log.html": {"person_level_figure"},
    "06_table1_subtraction.html": {"recoverable_cell"},
    "07_min_max.html": {"extreme_value"},
    "08_differencing.html": {"recoverable_cell"},
    "09_record_national_id.html": {"national_id"},
    "09b_internal_label.html": {"internal_output"},
    "09c_internal_parameter.ipynb": {"internal_output"},
    "09d_internal_log.html": {"internal_output"},
    "10_log_exact_check.html": {"recoverable_cell"},
    "11_secondary_gap.html": {"recoverable_cell"},
}
# where each leak is, as the finding names it
WHERE = {
    "01_figure_points.ipynb": ["cell 2 output 2"],
    "02_long_table_total.html": ["table 1 row 4 column n"],
    "02b_group_total_elsewhere.html": ["table 1 row 3 column n"],
    "02c_total_in_sentence.html": ["table 1 row 3 column rows"],
    "02d_row_total_norwegian.html": ["table 1 row 1 column med IP", "table 1 row 3 column med IP"],
    "03_inconsistent": ["table 1 row 3 column with_ip"],
    "04_share_of_item.html": ["table 1 row 2 column chairs_own_meetings_share"],
    "04b_percent_norwegian.html": ["table 1 row 2 column andel med IP"],
    "04c_decimal_comma.html": ["table 1 row 2 column solgt inn (andel)"],
    "04d_n_missing.html": ["table 1 row 2 column n_missing"],
    "04e_n_percent_cells.html": ["table 1 row 3 column Med IP (n=20)"],
    "06_table1_subtraction.html": ["table 1 row 4 column treated_count"],
    "07_min_max.html": ["table 1 column min", "table 1 column max"],
    "08_differencing.html": ["table 1 row 2 column mental_health_only", "table 1 row 2 column rop",
                             "table 3 row 1 column n"],
    "09c_internal_parameter.ipynb": ["metadata papermill.parameters.internal"],
    "11_secondary_gap.html": ["table 1 row 2 column with IP", "table 1 row 2 column without IP"],
}
# the value a reader would work out: never in an excerpt
RECOVERED = {
    "02_long_table_total.html": [1], "02b_group_total_elsewhere.html": [1],
    "02c_total_in_sentence.html": [2], "02d_row_total_norwegian.html": [6, 5],
    "03_inconsistent": [12], "04_share_of_item.html": [3], "04b_percent_norwegian.html": [3],
    "04c_decimal_comma.html": [3], "04d_n_missing.html": [1], "04e_n_percent_cells.html": [3],
    "06_table1_subtraction.html": [4], "08_differencing.html": [3, 20],
    "10_log_exact_check.html": [3], "11_secondary_gap.html": [1, 5],
}


def test_every_leak_kind_of_the_issue_has_a_file_and_a_clean_twin():
    names = {p.name for p in CORPUS.iterdir() if p.name not in ("clean", "README.md")}
    assert names == set(EXPECTED)
    assert {p.name for p in CLEAN.iterdir()} == set(EXPECTED)
    kinds = {name[:2] for name in EXPECTED}
    assert kinds == {f"{k:02d}" for k in range(1, 12)}      # nine leaks, the log's check, the gap


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_leak_is_caught_by_its_own_rule(name):
    found = check_path(CORPUS / name)
    assert set(found["rule"]) == EXPECTED[name], found.to_string()
    if name in WHERE:
        assert sorted(found["where"]) == sorted(WHERE[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_its_clean_twin_is_not_flagged(name):
    found = check_path(CLEAN / name)
    assert found.empty, found.to_string()


def test_the_clean_twins_checked_together_give_nothing_either():
    """One folder, every twin: no cell of one file is taken for a cell of another."""
    found = check_path(CLEAN)
    assert found.empty, found.to_string()
    assert len(found.attrs["files_checked"]) == len(EXPECTED) + 1      # 03 is two files


def _without_places(text: str) -> str:
    """An excerpt without the numbers that place things (table 3, line 7, cell 2 output 1,
    the mark <5, a column's (n=20))."""
    return re.sub(r"(table|line|row|cell|output|figure) \d+|<\d+|\(n=\d+\)", "", text)


@pytest.mark.parametrize("name", sorted(RECOVERED))
def test_no_finding_repeats_the_value_it_is_about(name):
    found = check_path(CORPUS / name)
    text = report(found)
    for value in RECOVERED[name]:
        for excerpt in found["excerpt"]:
            assert not re.search(rf"(?<![\d.,]){value}(?![\d.,])", _without_places(excerpt)), \
                (value, excerpt)
        assert not re.search(rf"(?<![\d.,]){value}(?![\d.,])",
                             _without_places(text.split("\n", 2)[-1].split("Findings per")[0])), \
            (value, text)


def test_recovered_cells_say_how_without_the_value():
    found = check_path(CORPUS / "02_long_table_total.html")
    assert list(found["excerpt"]) == ["hidden (<5) but can be worked out from the group total"]
    found = check_path(CORPUS / "06_table1_subtraction.html")
    assert list(found["excerpt"]) == ["hidden (<5) but can be worked out from the n beside its "
                                      "levels"]


# ----------------------------------------------------------------------------- the readers

@pytest.mark.parametrize("text, kind, value", [
    ("1 234", "number", 1234.0), ("1\u2009234", "number", 1234.0), ("1\u202f234", "number", 1234.0),
    ("1\u00a0234,5", "number", 1234.5), ("0,150", "number", 0.15), ("-0,2", "number", -0.2),
    ("<5", "mark", None), ("·", "mark", None), ("x", "mark", None), ("..", "mark", None),
    ("–", "mark", None), ("<NA>", "blank", None), ("", "blank", None), ("rop", "text", None),
    ("[0.05, 0.95]", "text", None),
])
def test_cells_are_read_as_a_reader_reads_them(text, kind, value):
    cell = read_cell(text)
    assert cell.kind == kind
    assert cell.value == value


def test_marks_and_percentages_are_read_with_their_meaning():
    assert (read_cell("<5").mark, read_cell("<5").low, read_cell("<5").high) == ("primary", 1, 4)
    assert (read_cell("·").mark, read_cell("·").low) == ("secondary", 0)
    assert read_cell("15,0 %").share == pytest.approx(0.15)
    assert read_cell("15,0 %").share_decimals == 3
    both = read_cell("12 (40,0 %)")
    assert (both.kind, both.value, both.share) == ("number", 12.0, pytest.approx(0.4))
    hidden = read_cell("<5 (15 %)")
    assert (hidden.kind, hidden.mark, hidden.share) == ("mark", "primary", pytest.approx(0.15))
    assert parse_number("12.5%") == (12.5, 1, True)


def test_a_layer_table_says_its_own_marks():
    from evaluation.disclosure.cell_text import Marks
    marks = Marks.of({"min_cell": 10, "primary_mark": "<10", "secondary_mark": "*"})
    assert read_cell("*", marks).mark == "secondary"
    assert read_cell("<10", marks).high == 9


def test_marks_no_longer_break_a_column_of_counts_for_small_cell(tmp_path):
    """Before, a `<5` beside the counts made the column text, and a 3 in it went unseen."""
    table = pd.DataFrame({"group": ["a", "b", "c", "d"], "answers": ["40", "<5", "3", "·"]})
    (tmp_path / "t.html").write_text(table.to_html(index=False), encoding="utf-8")
    found = check_path(tmp_path / "t.html")
    assert list(found["rule"]) == ["small_cell"]
    assert list(found["where"]) == ["table 1 row 3 column answers"]


# ----------------------------------------------------------------------------- no false alarms

def test_tables_of_the_layer_itself_are_not_flagged(tmp_path):
    sdc = Disclosure()
    people = pd.DataFrame({"institution": ["Lassonløkken"] * 30 + ["Karlsborg"] * 22 +
                                          ["Vårli"] * 7,
                           "has_ip": [1, 0, 0] * 18 + [1, 1, 1, 0, 1]})
    parts = [sdc.crosstab(people, "institution", "has_ip", name="IP per institusjon")._repr_html_(),
             sdc.frequencies(people, "institution")._repr_html_(),
             sdc.frequencies(people, "has_ip")._repr_html_()]
    (tmp_path / "layer.html").write_text("<p>59 people in 3 institutions.</p>" + "".join(parts),
                                         encoding="utf-8")
    found = check_path(tmp_path / "layer.html")
    assert not (set(found["rule"]) & {"recoverable_cell", "small_share", "unprotected_count"}), \
        found.to_string()


def test_a_threshold_in_the_text_is_no_total(tmp_path):
    table = _marked(pd.DataFrame({"reason": ["used", "left out", "missing"],
                                  "rows": ["1", "2", "<5"]}))
    (tmp_path / "t.html").write_text(
        "<p>Cells resting on fewer than 5 people are shown as &lt;5.</p>" + table, encoding="utf-8")
    assert "recoverable_cell" not in set(check_path(tmp_path / "t.html")["rule"])


def test_two_institutions_named_alike_are_not_inconsistent(tmp_path):
    """Reports of two institutions have the same rows with other numbers: other people."""
    a = pd.DataFrame({"severity": ["low", "moderate", "high"], "n": ["<5", "77", "17"]})
    b = pd.DataFrame({"severity": ["low", "moderate", "high"], "n": ["25", "60", "31"]})
    (tmp_path / "karlsborg.html").write_text(_marked(a, name="n by severity"), encoding="utf-8")
    (tmp_path / "varli.html").write_text(_marked(b, name="n by severity"), encoding="utf-8")
    assert check_path(tmp_path).empty


def test_the_same_table_shown_and_hidden_in_one_report_is_inconsistent(tmp_path):
    a = pd.DataFrame({"severity": ["low", "moderate", "high"], "n": ["<5", "77", "17"]})
    b = pd.DataFrame({"severity": ["low", "moderate", "high"], "n": ["25", "77", "17"]})
    (tmp_path / "r.html").write_text(_marked(a, name="t") + _marked(b, name="t"), encoding="utf-8")
    found = check_path(tmp_path / "r.html")
    assert list(found["rule"]) == ["inconsistent_suppression"]
    assert list(found["where"]) == ["table 2 row 1 column n"]
    assert "25" not in found["excerpt"].iloc[0]


def test_a_sum_that_only_happens_to_match_is_not_a_total(tmp_path):
    """Arithmetic alone is not structure: no Total label, no group, no n: nothing to find."""
    table = pd.DataFrame({"code": ["a", "b", "c"], "x": ["10", "4", "14"], "y": ["20", "<5", "23"]})
    (tmp_path / "t.html").write_text(_marked(table), encoding="utf-8")
    assert "recoverable_cell" not in set(check_path(tmp_path / "t.html")["rule"])


# ----------------------------------------------------------------------------- provenance, hook

def test_a_figure_naming_an_unprotected_source_is_flagged_only_beside_a_log(tmp_path):
    log = {"rules": {"min_cell": 5}, "internal": False, "tables": [{"name": "coverage"}],
           "figures": [{"name": "plot", "source": "raw coverage", "person_level": False}],
           "cells": [], "relations": []}
    (tmp_path / "r.html").write_text(_summary(log), encoding="utf-8")
    found = check_path(tmp_path / "r.html")
    assert list(found["rule"]) == ["unprotected_figure"]
    log["figures"][0]["source"] = "coverage"
    (tmp_path / "r.html").write_text(_summary(log), encoding="utf-8")
    assert check_path(tmp_path / "r.html").empty


def test_the_exact_check_uses_the_attacker_when_there_is_one():
    attacker = pytest.importorskip("evaluation.disclosure.attacker")
    assert provenance.lp_attack is attacker.attack
    assert provenance.ATTACKER == "evaluation.disclosure.attacker.attack"
    found = check_path(CORPUS / "10_log_exact_check.html")
    assert list(found["rule"]) == ["recoverable_cell"]


@pytest.mark.parametrize("shape", ["ids", "bounds", "records", "flags", "frame"])
def test_the_exact_check_reads_the_attackers_answer_in_any_shape(monkeypatch, shape):
    log = json.loads(html.unescape(re.search(
        r'data-ipeval-disclosure="([^"]*)"',
        (CORPUS / "10_log_exact_check.html").read_text("utf-8")).group(1)))
    cid = "people:n[rop_group=mental_health_only]"
    answers = {"ids": [cid], "bounds": {cid: (3.0, 3.0), "people:n[]": (40, 40)},
               "records": [{"id": cid, "low": 3, "high": 3}], "flags": {cid: True},
               "frame": pd.DataFrame({"cell": [cid, "people:n[rop_group=substance_only]"],
                                      "low": [3.0, 0.0], "high": [3.0, 0.0],
                                      "exposed": [True, True]})}
    monkeypatch.setattr(provenance, "lp_attack", lambda cells, relations: answers[shape])
    assert provenance.exact_check(log, 5) == [(cid, "<5")]


def test_without_an_attacker_the_own_check_runs(monkeypatch):
    monkeypatch.setattr(provenance, "lp_attack", None)
    log = {"cells": [{"id": "t", "shown": 20, "mark": None}, {"id": "a", "shown": 17, "mark": None},
                     {"id": "b", "shown": None, "mark": "<5"}],
           "relations": [{"total": "t", "parts": ["a", "b"], "remainder": False}]}
    assert provenance.exact_check(log, 5) == [("b", "<5")]
    log["relations"][0]["remainder"] = True        # t ≥ a + b: b is 1 … 3, not one value
    assert provenance.exact_check(log, 5) == []


def test_pinning_uses_bounds_of_the_marks():
    """Two cells of <5 that add up to 2 are both 1; adding up to 5 they are not pinned."""
    def cells(total):
        return {"t": read_cell(str(total)), "a": read_cell("<5"), "b": read_cell("<5")}
    rel = [Relation("t", ("a", "b"), "the total")]
    assert set(worked_out(cells(2), rel)) == {"a", "b"}
    assert worked_out(cells(5), rel) == {}


# ----------------------------------------------------------------------------- property

def _marked(frame: pd.DataFrame, name: str = "t") -> str:
    meta = html.escape(json.dumps({"name": name, "min_cell": 5, "primary_mark": "<5",
                                   "secondary_mark": "·"}), quote=True)
    body = frame.to_html(index=False, classes=["dataframe", "ipeval-sdc"])
    return body.replace("<table ", f'<table data-ipeval-sdc="{meta}" ', 1)


def _summary(log: dict) -> str:
    return (f'<p class="ipeval-sdc-summary" data-ipeval-disclosure='
            f'"{html.escape(json.dumps(log), quote=True)}">marks</p>')


def _mark(value: int) -> str:
    return "<5" if 1 <= value <= 4 else "·"


tables = st.integers(2, 5).flatmap(lambda rows: st.integers(2, 5).flatmap(
    lambda cols: st.lists(st.lists(st.integers(0, 60), min_size=cols, max_size=cols),
                          min_size=rows, max_size=rows)))


def _check(counts, hidden: dict) -> pd.DataFrame:
    frame = pd.DataFrame(
        [[_mark(v) if (i, j) in hidden else str(v) for j, v in enumerate(row)] + [str(sum(row))]
         for i, row in enumerate(counts)],
        columns=[f"level {j}" for j in range(len(counts[0]))] + ["Total"])
    frame.insert(0, "group", [f"g{i}" for i in range(len(counts))])
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "t.html"
        target.write_text(_marked(frame), encoding="utf-8")
        found = check_path(target)
    return found[found["rule"] == "recoverable_cell"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables, data=st.data())
def test_one_hidden_cell_beside_a_shown_row_total_is_found(counts, data):
    i = data.draw(st.integers(0, len(counts) - 1))
    j = data.draw(st.integers(0, len(counts[0]) - 1))
    counts[i][j] = data.draw(st.integers(1, 60))          # a hidden zero tells nothing
    found = _check(counts, {(i, j)})
    assert list(found["where"]) == [f"table 1 row {i + 1} column level {j}"]
    assert "row total" in found["excerpt"].iloc[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables, data=st.data())
def test_two_hidden_cells_in_a_row_are_worked_out_exactly_when_one_pair_fits(counts, data):
    i = data.draw(st.integers(0, len(counts) - 1))
    j, k = data.draw(st.lists(st.integers(0, len(counts[0]) - 1), min_size=2, max_size=2,
                              unique=True))
    counts[i][j], counts[i][k] = data.draw(st.integers(1, 60)), data.draw(st.integers(1, 60))
    a, b = counts[i][j], counts[i][k]
    # What a reader knows of each: <5 is 1 … 4; the layer's · is 0 or ≥ 5 (a count of 1 … 4
    # would be <5). Trying every pair with the row's sum says when the two are pinned: <5 and
    # <5 adding up to 2 or 8, <5 and · to 6, · and · to 10; an attacker works those out.
    def could_be(v):
        return range(1, 5) if 1 <= v <= 4 else [0, *range(5, a + b + 1)]
    pairs = [(x, a + b - x) for x in could_be(a) if a + b - x in could_be(b)]
    found = _check(counts, {(i, j), (i, k)})
    assert len(found) == (2 if len(pairs) == 1 else 0)


# ----------------------------------------------------------------------------- notebooks

def _notebook(path: Path, outputs: list, markdown: str = "# Report") -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    nb = new_notebook(cells=[new_markdown_cell(markdown),
                             new_code_cell("show()", outputs=outputs, execution_count=1)])
    nbformat.write(nb, str(path))
    return path


def test_a_total_in_markdown_with_emphasis_is_read(tmp_path):
    """The shipped header writes **people** 134 (Markdown): the number is still a total."""
    from nbformat.v4 import new_output
    rows = _marked(pd.DataFrame({"outcome": ["y"] * 3, "reason": ["used", "no row", "missing"],
                                 "rows": ["118", "15", "<5"]}))
    header = new_output("display_data", data={"text/markdown": "**institution** Karlsborg · "
                                                                "**people** 134",
                                              "text/plain": "<Markdown>"})
    table = new_output("display_data", data={"text/html": rows, "text/plain": "<SafeTable>"})
    found = check_path(_notebook(tmp_path / "r.ipynb", [header, table]))
    assert list(found["rule"]) == ["recoverable_cell"]
    assert list(found["where"]) == ["cell 2 output 2 table 1 row 3 column rows"]
    assert "text (cell 2 output 1)" in found["excerpt"].iloc[0]


@pytest.mark.parametrize("metadata", [
    {"image/png": {"width": 640, "ipeval": {"figure": {"name": "w", "person_level": True}}}},
    {"ipeval": {"figure": {"name": "w", "person_level": False,
                           "panels": [{"name": "a", "person_level": True}]}}},
])
def test_figure_records_are_read_where_ipython_puts_them(tmp_path, metadata):
    from nbformat.v4 import new_output
    image = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Fig>"},
                       metadata=metadata)
    found = check_path(_notebook(tmp_path / "f.ipynb", [image]))
    assert list(found["rule"]) == ["person_level_figure"]
    assert list(found["where"]) == ["cell 2 output 1"]


def test_a_cell_hidden_later_than_it_was_shown_is_named_in_the_later_output(tmp_path):
    shown = pd.DataFrame({"severity": ["low", "moderate", "high"], "n": ["25", "77", "17"]})
    hidden = pd.DataFrame({"severity": ["low", "moderate", "high"], "n": ["·", "77", "17"]})
    (tmp_path / "a.html").write_text(_marked(shown, name="n by severity"), encoding="utf-8")
    (tmp_path / "b.html").write_text(_marked(hidden, name="n by severity"), encoding="utf-8")
    found = check_path(tmp_path)
    assert list(found["file"]) == ["b.html"]
    assert list(found["excerpt"]) == ["hidden here (·) but shown in a.html (table 1 row 1 "
                                      "column n)"]
