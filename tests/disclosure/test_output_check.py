"""The output checker (evaluation.disclosure.output_check): one leak of each kind per file, caught.

Every adversarial file is built here, in a temporary folder, from a synthetic study: nothing in
the repository holds a leak. Each leaking file must give findings of exactly its own rule, with
the leaked value masked in the report text and in the JSON; the clean files give none.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from evaluation import Study
from evaluation.intake.deidentify import deidentify, study_vocabulary
from evaluation.disclosure.output_check import (COLUMNS, check_path, mask_value, report, run_check,
                                         shorten_path, write_json)
from evaluation.disclosure.rules import SAFE_ATTRIBUTE, SAFE_CLASS
from evaluation.errors import InputFileError, ParameterError
from evaluation.intake.readers import read_table
from evaluation.intake.national_id import check_digits, find_national_ids, mask_national_id
from evaluation.synthetic import SyntheticConfig, write_study

WORKED = "31129956715"      # fnrinfo.no's worked example (landscape.md 7.3)
HOME_PATH = "/home/kari/prosjekt/korus/analyse.py"
NAMES = ("Kari", "Ola", "Mona", "Per", "Åse")


def valid_id(prefix6: str = "150385") -> str:
    """A national ID computed from the check-digit rules (no person's)."""
    for individ in range(100, 1000):
        digits = check_digits(f"{prefix6}{individ:03d}")
        if digits:
            return f"{prefix6}{individ:03d}{digits[0]}{digits[1]}"
    raise AssertionError(prefix6)


FNR = valid_id()


# ----------------------------------------------------------------------------- the study

@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check_study")
    write_study(folder, SyntheticConfig(persons=200, institutions=3, seed=5))
    return Study.load(folder)


@pytest.fixture(scope="module")
def raw_id(study) -> str:
    persons = read_table(study.manifest.sources["persons"].file, text_columns=["person_id"])
    value = persons["person_id"].iloc[17]
    assert value.startswith("KR-")
    return value


@pytest.fixture(scope="module")
def raw_quote(study) -> str:
    """An interview text with a name in the middle of a sentence."""
    segments = pd.read_csv(study.manifest.sources["interviews"].file, dtype=str)
    names, places = study_vocabulary(study)
    for text in sorted(segments["text"].dropna().unique()):
        words = text.rstrip(".").replace(",", "").split()
        if any(name in words[1:] for name in NAMES) \
                and deidentify(text, names=names, places=places) != text:
            return text
    raise AssertionError("no interview text with a name mid-sentence")


# ----------------------------------------------------------------------------- file builders

def notebook(path: Path, outputs: list, *, metadata: dict | None = None, source="x = 1"):
    nb = new_notebook(cells=[new_markdown_cell("# Rapport"),
                             new_code_cell(source, outputs=outputs, execution_count=1)])
    nb.metadata.update(metadata or {})
    nbformat.write(nb, str(path))
    return path


def html_output(html: str, plain: str = "<table>") -> dict:
    return new_output("display_data", data={"text/html": html, "text/plain": plain})


def counts_table(n_small: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"institution": ["Lassonløkken", "Karlsborg", "Fjærholmen"],
                         "n": [42, n_small, 17]})


def marked(html: str) -> str:
    """A table as the disclosure layer marks it: class ipeval-sdc and its attribute."""
    html = html.replace('class="dataframe"', f'class="dataframe {SAFE_CLASS}"', 1)
    return html.replace("<table ", f"<table {SAFE_ATTRIBUTE}=\"{{}}\" ", 1)


def pseudonym_frame(rows: int = 20) -> pd.DataFrame:
    return pd.DataFrame({"person_id": [f"ps_{i * 7919:016x}" for i in range(rows)],
                         "age": [20 + 2 * i for i in range(rows)],
                         "group": ["a", "b"] * (rows // 2)})


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, raw_id, raw_quote) -> Path:
    """A folder with one leak of each kind per file (name -> expected rule) and clean files."""
    root = tmp_path_factory.mktemp("outputs")
    nbs = root / "notebooks"
    nbs.mkdir()
    # notebooks
    notebook(nbs / "national_id.ipynb", [new_output(
        "stream", name="stdout", text=f"Pasient {FNR[:6]} {FNR[6:]} ble med.\n")])
    frame = pseudonym_frame()
    notebook(nbs / "person_level.ipynb", [new_output(
        "execute_result", data={"text/html": frame.to_html(), "text/plain": repr(frame)},
        execution_count=1)])
    notebook(nbs / "person_level_text.ipynb", [new_output(
        "stream", name="stdout", text=frame.to_string() + "\n")])
    notebook(nbs / "quote.ipynb", [new_output("stream", name="stdout", text=raw_quote + "\n")])
    notebook(nbs / "traceback_path.ipynb", [new_output(
        "error", ename="FileNotFoundError", evalue="no such file",
        traceback=["\x1b[0;31m---------------------------------------------------------\x1b[0m",
                   f"File \x1b[0;32m{HOME_PATH}:12\x1b[0m, in \x1b[0;36mload\x1b[0;34m()",
                   "\x1b[0;31mFileNotFoundError\x1b[0m: no such file"])])
    notebook(nbs / "metadata_path.ipynb", [new_output("stream", name="stdout", text="ok\n")],
             metadata={"papermill": {"input_path": "/home/kari/prosjekt/ip.ipynb",
                                     "output_path": "runs/ip.ipynb", "parameters": {}}})
    notebook(nbs / "small_cell.ipynb", [html_output(counts_table().to_html())])
    notebook(nbs / "small_cell_text.ipynb", [new_output(
        "execute_result", data={"text/plain": repr(pd.crosstab(
            pd.Series(["a"] * 12 + ["b"] * 8, name="institution"),
            pd.Series([0] * 9 + [1] * 11, name="has_ip")))}, execution_count=1)])
    notebook(nbs / "identifier.ipynb", [new_output(
        "stream", name="stdout", text=f"Mangler svar fra {raw_id}.\n")])
    notebook(nbs / "source_national_id.ipynb", [], source=f"pid = '{FNR}'")
    # HTML reports
    html = root / "html"
    html.mkdir()
    table = pd.DataFrame({"participant": [raw_id], "interviews": [12]}).to_html(index=False)
    (html / "identifier.html").write_text(f"<html><body><h1>Intervjuer</h1>{table}</body></html>",
                                          encoding="utf-8")
    (html / "small_cell.html").write_text(
        f"<html><body><p>Personer per institusjon</p>{counts_table().to_html()}</body></html>",
        encoding="utf-8")
    (html / "quote.html").write_text(
        f"<html><body><blockquote>«{raw_quote}»</blockquote></body></html>", encoding="utf-8")
    # tables
    tables = root / "tables"
    tables.mkdir()
    counts_table().to_csv(tables / "small_cell.csv", index=False, sep=";")
    pseudonym_frame().to_csv(tables / "person_level.csv", index=False)
    pd.DataFrame({"institution": ["Karlsborg"], "id_number": [FNR], "n": [30]}).to_excel(
        tables / "national_id.xlsx", index=False)
    pd.DataFrame({"note": [f"sjekk {raw_id} igjen"], "n": [25]}).to_csv(
        tables / "identifier.csv", index=False)
    return root


EXPECTED = {
    "notebooks/national_id.ipynb": "national_id",
    "notebooks/person_level.ipynb": "person_level_table",
    "notebooks/person_level_text.ipynb": "person_level_table",
    "notebooks/quote.ipynb": "quote",
    "notebooks/traceback_path.ipynb": "absolute_path",
    "notebooks/metadata_path.ipynb": "absolute_path",
    "notebooks/small_cell.ipynb": "small_cell",
    "notebooks/small_cell_text.ipynb": "small_cell",
    "notebooks/identifier.ipynb": "identifier",
    "notebooks/source_national_id.ipynb": "national_id",
    "html/identifier.html": "identifier",
    "html/small_cell.html": "small_cell",
    "html/quote.html": "quote",
    "tables/small_cell.csv": "small_cell",
    "tables/person_level.csv": "person_level_table",
    "tables/national_id.xlsx": "national_id",
    "tables/identifier.csv": "identifier",
}


@pytest.fixture(scope="module")
def findings(outputs, study) -> pd.DataFrame:
    return check_path(outputs, study=study)


# ----------------------------------------------------------------------------- caught, kind by kind

def test_every_leaking_file_is_caught_by_its_own_rule_only(findings):
    assert list(findings.columns) == COLUMNS
    found = findings.groupby("file")["rule"].apply(set).to_dict()
    assert set(found) == set(EXPECTED)
    for name, rule in EXPECTED.items():
        assert found[name] == {rule}, (name, findings[findings["file"] == name])


def test_every_rule_is_exercised(findings):
    assert set(findings["rule"]) == {"national_id", "identifier", "person_level_table",
                                     "small_cell", "quote", "absolute_path"}


def test_findings_say_where(findings):
    def where(name):
        return list(findings.loc[findings["file"] == name, "where"])

    assert where("notebooks/national_id.ipynb") == ["cell 2 output 1"]
    assert where("notebooks/source_national_id.ipynb") == ["cell 2 source"]
    assert where("notebooks/metadata_path.ipynb") == ["metadata papermill.input_path"]
    assert where("notebooks/small_cell.ipynb") == ["cell 2 output 1 table 1 row 2 column n"]
    assert where("html/small_cell.html") == ["table 1 row 2 column n"]
    assert where("html/identifier.html") == ["table 1 row 1 column participant"]
    assert where("tables/small_cell.csv") == ["row 2 column n"]
    assert where("tables/national_id.xlsx") == ["sheet Sheet1 row 1 column id_number"]
    assert where("notebooks/person_level.ipynb") == ["cell 2 output 1 table 1"]
    small = findings[findings["file"] == "notebooks/small_cell_text.ipynb"]
    assert list(small["where"]) == ["cell 2 output 1 table 1 row 1 column 1"]
    assert list(small["excerpt"]) == ["3 (below 5)"]
    assert where("tables/person_level.csv") == ["table"]


def test_excerpts_are_masked_in_the_report_and_the_json(findings, outputs, tmp_path, raw_id,
                                                        raw_quote):
    text = report(findings)
    target = write_json(findings, tmp_path / "check.json")
    stored = target.read_text(encoding="utf-8")
    leaks = [FNR, f"{FNR[:6]} {FNR[6:]}", raw_id, HOME_PATH, "/home/kari", "kari/prosjekt",
             raw_quote, "ps_"+f"{7919:016x}"]
    for leak in leaks:
        assert leak not in text, leak
        assert leak not in stored, leak
    excerpts = set(findings["excerpt"])
    assert mask_national_id(FNR) in excerpts
    assert mask_national_id(f"{FNR[:6]} {FNR[6:]}") in excerpts
    assert any(e.startswith(mask_value(raw_id)) for e in excerpts)
    assert "/home/k***/…" in excerpts
    quotes = findings.loc[findings["rule"] == "quote", "excerpt"]
    assert all("[navn]" in q or "[sted]" in q for q in quotes)
    data = json.loads(stored)
    assert data["counts"]["small_cell"] == 4
    assert len(data["findings"]) == len(findings)
    assert set(data["findings"][0]) == set(COLUMNS)


def test_report_groups_per_file_and_counts_per_rule(findings):
    text = report(findings)
    assert "notebooks/quote.ipynb\n  cell 2 output 1" in text
    tail = text.split("Findings per rule:")[1]
    for rule in ("national_id", "identifier", "person_level_table", "small_cell", "quote",
                 "absolute_path"):
        assert rule in tail


# ----------------------------------------------------------------------------- no false alarms

def clean_set(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    from evaluation.disclosure import Disclosure
    sdc = Disclosure()
    people = pd.DataFrame({"institution": ["Lassonløkken"] * 30 + ["Karlsborg"] * 22 + ["Vårli"] * 3,
                           "has_ip": [1, 0, 0] * 18 + [1]})
    safe = sdc.crosstab(people, "institution", "has_ip", name="IP per institusjon")
    hand_marked = marked(counts_table(n_small=30).to_html())
    notebook(root / "clean.ipynb", [
        new_output("stream", name="stdout", text="Lastet 3 kilder på 0.4 s.\n"),
        new_output("display_data", data={"text/markdown": "**55 personer** i 3 institusjoner",
                                         "text/plain": "<IPython.core.display.Markdown>"}),
        html_output(safe._repr_html_(), repr(safe)),
        html_output(hand_marked),
        new_output("execute_result", data={"text/plain": repr(pd.DataFrame(
            {"year": [2023, 2024], "n": [120, 131], "mean": [3.1, 3.4]}))}, execution_count=1),
        new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                         "text/plain": "<Figure size 640x480 with 1 Axes>"}),
        new_output("stream", name="stderr",
                   text="/tmp/ipykernel_4711/123456.py:3: FutureWarning: use observed=True\n"),
    ], metadata={"papermill": {"input_path": "notebooks/ip.ipynb",
                               "output_path": "runs/ip.ipynb", "parameters": {"seed": 1}}})
    (root / "clean.html").write_text(
        "<html><head><style>td {color: red}</style><script>var p = '/home/x/y';</script>"
        f"</head><body><h1>Rapport</h1><p>Se https://example.org/data/tabell.</p>"
        f"{safe._repr_html_()}{hand_marked}</body></html>", encoding="utf-8")
    safe.to_csv(root / "clean.csv")
    pd.DataFrame({"year": [2023, 2024], "n": [120, 131], "share": [0.4, 0.5]}).to_excel(
        root / "clean.xlsx", index=False)
    return root


def test_clean_outputs_give_no_findings(tmp_path, study):
    root = clean_set(tmp_path / "clean")
    findings = check_path(root, study=study)
    assert findings.empty, findings.to_string()
    assert len(findings.attrs["files_checked"]) == 4
    messages = []
    assert run_check(root, study=study, out=messages.append) == 0
    assert "no findings in 4 files" in messages[0]
    assert (root / "disclosure_check.json").is_file()


def test_a_small_count_is_small_cell_unmarked_and_unprotected_count_marked(tmp_path):
    """A marked table is the layer's promise that its counts are protected: a 3 in one is a
    count the layer was not told about (issue 14, leak 7), found as such."""
    plain = counts_table().to_html()
    (tmp_path / "plain.html").write_text(plain, encoding="utf-8")
    (tmp_path / "marked.html").write_text(marked(plain), encoding="utf-8")
    found = check_path(tmp_path)
    assert found.groupby("file")["rule"].apply(list).to_dict() == {
        "marked.html": ["unprotected_count"], "plain.html": ["small_cell"]}
    assert list(found.loc[found["file"] == "marked.html", "where"]) == ["table 1 row 2 column n"]


def test_marked_table_is_still_checked_for_person_level_rows(tmp_path):
    (tmp_path / "marked.html").write_text(marked(pseudonym_frame().to_html()), encoding="utf-8")
    found = check_path(tmp_path / "marked.html")
    assert list(found["rule"]) == ["person_level_table"]


def test_ten_person_rows_are_allowed_eleven_are_not(tmp_path):
    for rows in (10, 12):
        pseudonym_frame(rows).to_csv(tmp_path / f"p{rows}.csv", index=False)
    found = check_path(tmp_path)
    assert list(found["file"]) == ["p12.csv"]
    assert list(check_path(tmp_path, max_person_rows=12)["file"]) == []


def test_truncated_dataframe_display_counts_all_rows(tmp_path):
    frame = pseudonym_frame(200)
    notebook(tmp_path / "big.ipynb", [new_output(
        "execute_result", data={"text/plain": repr(frame)}, execution_count=1)])
    found = check_path(tmp_path / "big.ipynb")
    assert list(found["rule"]) == ["person_level_table"]
    assert found["excerpt"].iloc[0].startswith("200 rows")


# ----------------------------------------------------------------------------- CSV/XLSX sidecars

def write_table(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def sidecar(table_file: Path, min_cell: int = 5) -> Path:
    """What SafeTable.to_csv writes beside a table that passed the disclosure layer."""
    target = table_file.with_name(table_file.name + ".ipeval-sdc.json")
    target.write_text(json.dumps({"table": "per institusjon", "min_cell": min_cell,
                                  "rules": {"min_cell": min_cell}, "suppressed": 0}),
                      encoding="utf-8")
    return target


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_with_sidecar_passes_small_cell_but_without_does_not(tmp_path, suffix):
    for name in ("plain", "marked"):
        write_table(counts_table(), tmp_path / f"{name}{suffix}")
    sidecar(tmp_path / f"marked{suffix}")
    found = check_path(tmp_path)
    assert found.attrs["files_checked"] == [f"marked{suffix}", f"plain{suffix}"]
    assert found.groupby("file")["rule"].apply(list).to_dict() == {
        f"marked{suffix}": ["unprotected_count"], f"plain{suffix}": ["small_cell"]}


def test_sidecar_that_is_not_json_is_no_marker(tmp_path):
    write_table(counts_table(), tmp_path / "t.csv")
    (tmp_path / "t.csv.ipeval-sdc.json").write_text("not json", encoding="utf-8")
    assert list(check_path(tmp_path / "t.csv")["rule"]) == ["small_cell"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_with_sidecar_is_still_checked_by_every_other_rule(tmp_path, study, raw_id,
                                                                  raw_quote, suffix):
    """Each table also holds a count: only the leak is found."""
    leaks = {
        "national_id": pd.DataFrame({"institution": ["Karlsborg"], "id_number": [FNR], "n": [30]}),
        "identifier": pd.DataFrame({"note": [f"sjekk {raw_id} igjen"], "n": [30]}),
        "person_level_table": pseudonym_frame().assign(n=30),
        "quote": pd.DataFrame({"text": [raw_quote], "n": [30]}),
        "absolute_path": pd.DataFrame({"source": [HOME_PATH], "n": [30]}),
    }
    for rule, frame in leaks.items():
        sidecar(write_table(frame, tmp_path / f"{rule}{suffix}"))
    found = check_path(tmp_path, study=study)
    assert found.groupby("file")["rule"].apply(set).to_dict() == \
        {f"{rule}{suffix}": {rule} for rule in leaks}
    assert mask_national_id(FNR) in set(found["excerpt"])


def test_safe_table_to_csv_writes_the_sidecar_the_checker_reads(tmp_path):
    from evaluation.disclosure import Disclosure
    safe = Disclosure().show(counts_table(n_small=30), name="per institusjon")
    safe.to_csv(tmp_path / "t.csv", index=False)
    assert (tmp_path / "t.csv.ipeval-sdc.json").is_file()
    assert list(check_path(tmp_path, rules={"min_cell": 50})["rule"]) == []
    (tmp_path / "t.csv.ipeval-sdc.json").unlink()
    assert set(check_path(tmp_path, rules={"min_cell": 50})["rule"]) == {"small_cell"}


def test_sidecars_and_reports_are_not_checked_as_outputs(tmp_path):
    write_table(counts_table(n_small=30), tmp_path / "t.csv")
    leak = json.dumps({"note": f"{WORKED} {HOME_PATH}"})
    for name in ("t.csv.ipeval-sdc.json", "disclosure_check.json", "rapport.html.check.json"):
        (tmp_path / name).write_text(leak, encoding="utf-8")
    found = check_path(tmp_path)
    assert found.empty
    assert found.attrs["files_checked"] == ["t.csv"]


# ----------------------------------------------------------------------------- national IDs

def test_worked_example_is_found_in_free_text(tmp_path):
    text = f"Journalnotat: pasienten ({WORKED}) møtte ikke. Tlf 12345678901."
    assert [digits for _, _, digits in find_national_ids(text)] == [WORKED]
    notebook(tmp_path / "n.ipynb", [new_output("stream", name="stdout", text=text)])
    found = check_path(tmp_path / "n.ipynb")
    assert list(found["rule"]) == ["national_id"]
    assert list(found["excerpt"]) == ["31*********"]


def test_national_id_stored_as_a_number_in_excel_is_found(tmp_path):
    leading_zero = valid_id("010170")
    pd.DataFrame({"pid": [int(leading_zero)], "n": [12]}).to_excel(tmp_path / "t.xlsx",
                                                                    index=False)
    found = check_path(tmp_path / "t.xlsx")
    assert list(found["rule"]) == ["national_id"]
    assert list(found["excerpt"]) == [mask_national_id(leading_zero)]


def test_csv_that_is_not_one_table_is_read_as_text(tmp_path):
    (tmp_path / "t.csv").write_text(f"Rapport\na,b\n1,2,3,4\nkontakt {WORKED}\n",
                                    encoding="utf-8")
    found = check_path(tmp_path / "t.csv")
    assert list(found[["where", "rule"]].itertuples(index=False, name=None)) == \
        [("line 4", "national_id")]


@pytest.mark.parametrize("text", ['[{"group": "A", "n": 3}, {"group": "B", "n": 41}]',
                                  '{"group": ["A", "B"], "n": [3, 41]}',
                                  '{"A": 3, "B": 41}'])
def test_json_saved_as_csv_is_checked_as_the_table_it_holds(tmp_path, text):
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    assert list(check_path(tmp_path / "t.csv")["rule"]) == ["small_cell"]
    (tmp_path / "t.csv").write_text(text.replace("3", "30"), encoding="utf-8")
    assert check_path(tmp_path / "t.csv").empty
    (tmp_path / "t.csv").write_text(f'{{"note": "kontakt {WORKED}"}}', encoding="utf-8")
    assert list(check_path(tmp_path / "t.csv")["rule"]) == ["national_id"]


def test_invalid_check_digits_are_not_national_ids(tmp_path):
    notebook(tmp_path / "n.ipynb", [new_output(
        "stream", name="stdout", text="Saksnummer 31129956716 og 31129956725.")])
    assert check_path(tmp_path / "n.ipynb").empty


# ----------------------------------------------------------------------------- paths

def test_absolute_paths_are_found_and_shortened():
    assert shorten_path(HOME_PATH) == "/home/k***/…"
    assert shorten_path("C:\\Users\\kari\\data.csv") == "C:\\Users\\k***\\…"


@pytest.mark.parametrize("text, expected", [
    ("lagret i /home/kari/ut.csv", 1), ("C:\\Users\\kari\\Desktop\\ut.xlsx", 1),
    ("/tsd/p123/data/durable/ut.csv", 1), ("file:///Users/kari/rapport.html", 1),
    ("se https://example.org/data/tabell og ./data/ut.csv og ~/ut.csv", 0),
    ("/tmp/ipykernel_88/2201.py:4: UserWarning", 0), ("andel 3/4 og 24/7", 0),
])
def test_path_rule(tmp_path, text, expected):
    notebook(tmp_path / "p.ipynb", [new_output("stream", name="stdout", text=text)])
    found = check_path(tmp_path / "p.ipynb")
    assert len(found) == expected, found
    assert set(found["rule"]) <= {"absolute_path"}


def test_home_and_working_directory_are_paths_of_the_machine(tmp_path, monkeypatch):
    import evaluation.disclosure.output_check as check
    monkeypatch.setenv("HOME", "/uio/kant/kari")            # outside the listed roots
    monkeypatch.setattr(check.os, "getcwd", lambda: "/cluster-x/prosjekt-kari")
    notebook(tmp_path / "p.ipynb", [new_output(
        "stream", name="stdout",
        text="Lest fra /uio/kant/kari/data.csv og /cluster-x/prosjekt-kari/ut.csv\n")])
    found = check_path(tmp_path / "p.ipynb")
    assert list(found["rule"]) == ["absolute_path", "absolute_path"]
    text = report(found)
    assert "kari" not in text.replace(str(tmp_path), "")


# ----------------------------------------------------------------------------- files and folders

def test_hidden_folders_checkpoints_and_other_files_are_skipped(tmp_path):
    for folder in (".skjult", ".ipynb_checkpoints"):
        (tmp_path / folder).mkdir()
        counts_table().to_csv(tmp_path / folder / "t.csv", index=False)
    (tmp_path / "notes.txt").write_text(WORKED, encoding="utf-8")
    (tmp_path / "results.json").write_text(json.dumps({"id": WORKED}), encoding="utf-8")
    found = check_path(tmp_path)
    assert found.empty
    assert found.attrs["files_checked"] == []


def test_unreadable_files_are_findings_not_crashes(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    found = check_path(tmp_path)
    assert list(found["rule"]) == ["unreadable", "unreadable"]


def test_bad_arguments_are_usage_errors(tmp_path):
    with pytest.raises(InputFileError):
        check_path(tmp_path / "missing")
    (tmp_path / "x.pptx").write_bytes(b"PK")
    with pytest.raises(ParameterError, match="x.pptx"):
        check_path(tmp_path / "x.pptx")
    with pytest.raises(ParameterError, match="max_person_rows"):
        check_path(tmp_path, max_person_rows=-1)


def test_run_check_on_a_file_writes_beside_it_and_exits_1(outputs, study, tmp_path):
    target = tmp_path / "small_cell.html"
    target.write_bytes((outputs / "html" / "small_cell.html").read_bytes())
    messages = []
    assert run_check(target, study=study, out=messages.append) == 1
    written = tmp_path / "small_cell.html.check.json"
    assert written.is_file()
    assert json.loads(written.read_text(encoding="utf-8"))["counts"] == {"small_cell": 1}
    assert "small_cell" in messages[0]
    assert str(written) in messages[-1]


def test_min_cell_comes_from_the_rules(tmp_path):
    counts_table(n_small=7).to_csv(tmp_path / "t.csv", index=False)
    assert check_path(tmp_path).empty
    assert list(check_path(tmp_path, rules={"min_cell": 10})["rule"]) == ["small_cell"]


def test_identifier_and_quote_rules_need_the_study(outputs):
    found = check_path(outputs)
    assert not ({"identifier", "quote"} & set(found["rule"]))


def test_study_can_be_given_as_a_path(outputs, study):
    found = check_path(outputs / "html" / "identifier.html", study=study.root)
    assert list(found["rule"]) == ["identifier"]


def test_many_notebooks_are_checked_quickly(tmp_path, study):
    import time
    big = pd.DataFrame({"institution": ["Lassonløkken", "Karlsborg"] * 50, "n": range(100, 200)})
    text = ("Tolkning av resultatene for hele studien, uten personer. " * 2000) + "\n"
    for i in range(30):
        notebook(tmp_path / f"run{i:02d}.ipynb", [
            new_output("stream", name="stdout", text=text),
            html_output(marked(big.to_html()), repr(big)),
            new_output("display_data", data={"image/png": "A" * 400_000, "text/plain": "<Figure>"}),
        ])
    started = time.perf_counter()
    found = check_path(tmp_path, study=study)
    seconds = time.perf_counter() - started
    assert found.empty
    assert seconds < 5, seconds


@pytest.mark.parametrize("shown, rule", [
    (counts_table().to_string(index=False), "small_cell"),
    (repr(counts_table().set_index("institution")), "small_cell"),
    (repr(counts_table().groupby("institution")["n"].sum()), "small_cell"),
    (repr(pd.Series(["a"] * 12 + ["b"] * 2, name="institution").value_counts()), "small_cell"),
    (repr(counts_table(n_small=30)), None),
    ("Lastet 3 kilder\n  residents   200 rader\n  staff        12 rader", None),
    ("Resultat 3 av 4\nneste linje 5 og 6", None),
])
def test_tables_printed_as_text(tmp_path, shown, rule):
    notebook(tmp_path / "t.ipynb", [new_output("stream", name="stdout", text=shown + "\n")])
    found = check_path(tmp_path / "t.ipynb")
    assert list(found["rule"]) == ([rule] if rule else []), found


def test_a_safe_table_printed_as_text_passes(tmp_path):
    from evaluation.disclosure import Disclosure
    safe = Disclosure().show(counts_table(n_small=3).assign(share=[0.5, 0.1, 0.4]))
    notebook(tmp_path / "t.ipynb", [new_output("stream", name="stdout", text=repr(safe) + "\n")])
    assert check_path(tmp_path / "t.ipynb").empty


def test_labels_in_where_are_masked_too(tmp_path, study, raw_id):
    """A wide table with a column per person must not put the raw ids into the report."""
    wide = pd.DataFrame({raw_id: [3, 12], "ps_" + "ab" * 8: [2, 40], FNR: [1, 9]},
                        index=["ja", "nei"])
    wide.to_csv(tmp_path / "wide.csv")
    found = check_path(tmp_path / "wide.csv", study=study)
    text = report(found)
    assert {"small_cell", "identifier", "national_id"} <= set(found["rule"])
    for leak in (raw_id, "ps_" + "ab" * 8, FNR):
        assert leak not in text
