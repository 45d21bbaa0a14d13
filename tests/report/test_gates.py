"""The gates of `ipeval run`: a run with findings, and an internal run, leaves nothing where it
is shared; error texts are masked; records are checked before a batch stores them."""
from __future__ import annotations

import datetime as dt
import json
import stat

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.cli import main
from evaluation.intake.id_numbers import check_digits
from evaluation.intake.national_id import find_national_ids
from evaluation.report.gate import BANNER_TEXT, is_internal, with_banner
from evaluation.report.record_checks import check_records

VALID_FNR = "31129956715"


def _notebook(path, code: str, params: str = "seed = 1\ninternal = False"):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Report"), cell,
                nbformat.v4.new_code_cell(code), nbformat.v4.new_markdown_cell("## More"),
                nbformat.v4.new_code_cell("print('the end')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _private(folder) -> bool:
    return stat.S_IMODE(folder.stat().st_mode) == 0o700


# ------------------------------------------------------------------ ipeval run

def test_a_leak_in_the_notebook_leaves_nothing_shareable(tmp_path, capsys):
    nb = _notebook(tmp_path / "leak.ipynb", f"print('pasient {VALID_FNR} ringte')")
    out = tmp_path / "out"
    code = main(["run", str(nb), "--out", str(out), "--slides"])
    err = capsys.readouterr().err
    assert code == 1
    assert {p.name for p in out.iterdir()} == {"run.log", "internal"}
    internal = out / "internal"
    assert _private(internal)
    assert {p.name for p in internal.iterdir()} == {"leak.ipynb", "leak.html",
                                                    "leak.slides.html", "disclosure_check.json"}
    # says where the internal files are and which rules fired, never the value
    assert str(internal) in err and "national_id: " in err and VALID_FNR not in err
    assert "31****" not in err                # not even masked: counts per rule only
    report = json.loads((internal / "disclosure_check.json").read_text(encoding="utf-8"))
    assert {f["file"] for f in report["findings"]} >= {"leak.ipynb", "leak.html"}
    log = json.loads((out / "run.log").read_text().splitlines()[-1])
    assert log["disclosure_check"]["counts"]["national_id"] >= 2
    assert not log["disclosure_check"]["written"]


def test_a_second_clean_run_replaces_the_outputs_and_leaves_no_internal_folder(tmp_path, capsys):
    out = tmp_path / "out"
    (out).mkdir()
    (out / "clean.html").write_text("an old report", encoding="utf-8")
    nb = _notebook(tmp_path / "clean.ipynb", "print('nothing to hide')")
    assert main(["run", str(nb), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"run.log", "clean.ipynb", "clean.html"}
    assert "nothing to hide" in (out / "clean.html").read_text(encoding="utf-8")
    # a later run with findings leaves none of the earlier run's outputs to pass for its own
    _notebook(nb, f"print('{VALID_FNR}')")
    assert main(["run", str(nb), "--out", str(out)]) == 1
    assert {p.name for p in out.iterdir()} == {"run.log", "internal"}


def test_an_internal_run_is_labelled_and_kept_internal(tmp_path, capsys):
    nb = _notebook(tmp_path / "person_level.ipynb", "print('one bar per client')")
    out = tmp_path / "out"
    code = main(["run", str(nb), "-p", "internal", "true", "--out", str(out), "--slides",
                 "--accept-risk", "an internal meeting"])
    err = capsys.readouterr().err
    assert code == 1                              # accept-risk does not make it shareable
    assert {p.name for p in out.iterdir()} == {"run.log", "internal"}
    assert "internal run" in err and BANNER_TEXT in err
    page = (out / "internal" / "person_level.html").read_text(encoding="utf-8")
    body = page[page.index("<body"):]
    first = body.index(">") + 1
    assert body[first:].lstrip().startswith('<div class="ipeval-internal"')
    assert BANNER_TEXT in body[first:first + 600]
    slides = (out / "internal" / "person_level.slides.html").read_text(encoding="utf-8")
    leaves = slides.count("<section>") - slides.count("<section><section>")
    # the notebook's two slides and the provenance stamp's, each with the banner
    assert leaves == 3 and slides.count('class="ipeval-internal"') == leaves
    assert slides.count('class="ipeval-stamp"') == 1
    report = json.loads((out / "internal" / "disclosure_check.json").read_text())
    assert "internal_output" in report["counts"]


def test_the_error_of_a_failing_run_is_masked(tmp_path, capsys):
    message = (f"both complete residents at Lillevik have no IP (2 people): "
               f"{VALID_FNR}, ps_{'ab' * 8}")
    nb = _notebook(tmp_path / "fails.ipynb", f"raise ValueError({message!r})")
    out = tmp_path / "out"
    assert main(["run", str(nb), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "ValueError" in err and "in cell 2" in err
    assert "(<5 people)" in err and "<5 complete residents" in err
    assert "(2 people)" not in err and "both" not in err
    assert VALID_FNR not in err and "ps_" + "ab" * 8 not in err
    # the notebook holds the raw error with the national ID: kept internal
    assert (out / "internal" / "fails.ipynb").is_file() and not (out / "fails.ipynb").exists()
    assert "national_id" in err and "not for sharing" in err
    log = json.loads((out / "run.log").read_text().splitlines()[-1])
    assert VALID_FNR not in log["error"] and "(2 people)" not in log["error"]


def test_a_national_id_in_a_record_is_a_finding_of_the_run(tmp_path, capsys):
    # built in the kernel and not displayed: only the record holds it
    nb = _notebook(tmp_path / "rec.ipynb", "from evaluation import record\n"
                   f"_ = record('caller', '{VALID_FNR[:5]}' + '{VALID_FNR[5:]}')")
    out = tmp_path / "out"
    assert main(["run", str(nb), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "national_id: 1" in err and VALID_FNR not in err
    report = json.loads((out / "internal" / "disclosure_check.json").read_text())
    assert report["findings"][0]["where"] == "record 'caller' value"
    assert VALID_FNR not in json.dumps(report)


# ------------------------------------------------------------------ banner and internal

def test_the_banner_is_escaped_and_at_the_top():
    page = with_banner("<html><head></head><body class='x'><p>a</p></body></html>")
    assert page.index("ipeval-internal") < page.index("<p>a</p>")
    assert "INTERNAL &#8212;" in page or "INTERNAL —" in page
    assert "<script" not in page


def test_internal_is_read_from_parameters_metadata_or_the_disclosure_log():
    nb = nbformat.v4.new_notebook()
    assert not is_internal(nb)
    assert is_internal(nb, {"internal": True})
    cell = nbformat.v4.new_code_cell("display(sdc)")
    log = json.dumps({"rules": {}, "internal": True}).replace('"', "&quot;")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": f'<p class="ipeval-sdc-summary" data-ipeval-disclosure="{log}">x</p>'})]
    nb.cells = [cell]
    assert is_internal(nb)


# ------------------------------------------------------------------ records

def test_records_with_identifiers_paths_and_small_counts_are_not_stored():
    records = [
        {"name": "coverage/all", "value": 0.4, "estimate": 0.4, "ci_low": 0.3, "ci_high": 0.5,
         "n": 120, "n_exposed": 50, "note": ""},
        {"name": "coverage/Lillevik", "value": 0.5, "estimate": 0.5, "ci_low": 0.1,
         "ci_high": 0.9, "p_value": 0.2, "n": 3, "note": ""},
        {"name": "rd/Vårli", "value": 0.1, "estimate": 0.1, "n": 40, "n_exposed": 37},
        {"name": "source", "value": "/home/kari/prosjekt/persons.csv"},
        {"name": f"caller {VALID_FNR}", "value": "ok"},
        {"name": "left out", "value": "3 persons", "n_boot": 2},
    ]
    kept, found = check_records(records, min_cell=5)
    assert kept[0] == {**records[0]}                                   # nothing to do
    small = kept[1]
    assert [small[k] for k in ("value", "estimate", "ci_low", "ci_high", "p_value", "n")] == \
        [None] * 6
    assert small["note"] == "rests on fewer than 5 people"
    # 37 of 40 exposed: 3 unexposed; n stays, what rests on the split goes
    assert kept[2]["n"] == 40 and kept[2]["n_exposed"] is None and kept[2]["estimate"] is None
    assert kept[3]["value"] is None and "absolute path" in kept[3]["note"]
    assert VALID_FNR not in kept[4]["name"] and "national ID" in kept[4]["note"]
    assert kept[5]["value"] == "<5 persons" and kept[5]["n_boot"] == 2   # n_boot: not people
    assert sorted(rule for _, rule, _ in found) == ["absolute_path", "national_id"]
    assert all(VALID_FNR not in where + excerpt for where, _, excerpt in found)
    again, more = check_records(kept, min_cell=5)
    assert again == kept and more == []                                  # idempotent


def test_raw_identifiers_of_the_study_are_not_stored(small_study):
    from evaluation.disclosure.study_facts import facts_of_path
    _, facts = facts_of_path(small_study / "study.yaml")
    raw = next(value for _, value in facts.identifiers.values() if value.startswith("KR-"))
    kept, found = check_records([{"name": "first", "value": raw},
                                 {"name": f"person {raw}", "estimate": 1.0, "n": 50}],
                                min_cell=5, facts=facts)
    assert kept[0]["value"] is None and raw not in kept[1]["name"]
    assert [rule for _, rule, _ in found] == ["identifier", "identifier"]
    assert raw not in json.dumps(kept) + json.dumps(found)


@st.composite
def national_ids(draw):
    date = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2039, 12, 31)))
    plus = draw(st.sampled_from([0, 40]))                     # fødselsnummer or D-number
    individ = draw(st.integers(0, 999))
    first9 = f"{date.day + plus:02d}{date.month:02d}{date.year % 100:02d}{individ:03d}"
    digits = check_digits(first9)
    if digits is None:
        return None
    separator = draw(st.sampled_from(["", " ", "-"]))
    number = first9 + "".join(map(str, digits))
    return number[:6] + separator + number[6:]


@settings(max_examples=200, deadline=None)
@given(number=national_ids(), before=st.text(max_size=12), after=st.text(max_size=12),
       field=st.sampled_from(["name", "value", "note", "outcome", "method", "extra_key"]),
       as_int=st.booleans())
def test_no_stored_value_holds_a_valid_national_id(number, before, after, field, as_int):
    if number is None:
        return
    value = int(number.replace(" ", "").replace("-", "")) if as_int and field == "value" \
        else f"{before}{number}{after}"
    record = {"name": "x", "value": None, "estimate": 0.2, "n": 30, "note": "", field: value}
    kept, _ = check_records([record], min_cell=5)
    for stored in kept[0].values():
        text = str(stored) if stored is not None else ""
        assert not find_national_ids(text), (field, text)
