"""The checker's own reports (text and disclosure_check.json) and the masking of texts about
people: a report of a leak never repeats the small numbers or identifiers it is about."""
from __future__ import annotations

import json
import re

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.disclosure.excerpts import (mask_small_numbers, mask_text, masked_excerpt)
from evaluation.disclosure.output_check import check_path, report, run_check, write_json

VALID_FNR = "31129956715"


def _small_cells_csv(folder, counts):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"group": [f"g{i}" for i in range(len(counts))], "n": counts}).to_csv(
        folder / "counts.csv", index=False)
    return folder


def test_the_json_report_says_a_count_under_the_threshold_never_the_count(tmp_path):
    folder = _small_cells_csv(tmp_path / "out", [40, 3, 27, 1])
    lines = []
    assert run_check(folder, out=lines.append) == 1
    stored = (folder / "disclosure_check.json").read_text(encoding="utf-8")
    data = json.loads(stored)
    small = [f for f in data["findings"] if f["rule"] == "small_cell"]
    assert [f["excerpt"] for f in small] == ["a count under 5"] * 2
    assert [f["where"] for f in small] == ["row 2 column n", "row 4 column n"]
    assert data["min_cell"] == 5 and data["counts"] == {"small_cell": 2}
    assert not re.search(r'"excerpt": "[^"]*\b[1-4]\b', stored)
    text = "\n".join(lines)
    assert "a count under 5" in text and "3 (below" not in text and "1 (below" not in text


def test_the_threshold_of_the_study_is_the_one_masked(tmp_path):
    findings = pd.DataFrame({"file": ["t.csv"] * 2, "where": ["row 1 column n", "row 2"],
                             "rule": ["small_cell", "recoverable_cell"],
                             "excerpt": ["7 (below 10)", "hidden cell = 38 - 17 - 14 = 7"]})
    findings.attrs.update(min_cell=10, path="t.csv", files_checked=["t.csv"])
    data = json.loads(write_json(findings, tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [f["excerpt"] for f in data["findings"]] == [
        "a count under 10", "hidden cell = 38 - 17 - 14 = <10"]
    assert "7" not in report(findings).split("Findings per rule")[0].replace("17", "")


def test_other_excerpts_are_still_masked_and_the_findings_unchanged(tmp_path):
    (tmp_path / "leak.csv").write_text(f"note\nringte {VALID_FNR}\n", encoding="utf-8")
    found = check_path(tmp_path)
    assert list(found["excerpt"]) == ["31*********"]          # check_path's own frame as before
    data = json.loads(write_json(found, tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["findings"][0]["excerpt"] == "31*********"


def test_error_texts_of_a_run_are_masked():
    text = ("ValueError: both complete residents at Lillevik have no IP (2 people); "
            "to beboere ved Vårli; n = 3; personer: 4; 2 of 16 clients; 15 of 16 residents")
    masked = mask_text(text)
    assert "(<5 people)" in masked and "<5 complete residents" in masked
    assert "<5 beboere" in masked and "n = <5" in masked and "personer: <5" in masked
    assert "<5 of 16 clients" in masked and "15 of 16 residents" in masked
    assert not re.search(r"(?<![\w<])[1-4](?!\d)", masked)
    # on a shared page every small whole number goes, but places and times stay
    page = mask_text("failed in cell 4 (execution count 4): expected 3 rows, 2.5 s, 0.25; "
                     "timeout of 3 s, attempt 2", everywhere=True)
    assert page == ("failed in cell 4 (execution count 4): expected <5 rows, 2.5 s, 0.25; "
                    "timeout of 3 s, attempt 2")


def test_paths_and_pseudonyms_in_texts_are_masked():
    masked = mask_text(f"cannot read /home/kari/prosjekt/data.csv for ps_{'0f' * 8}: {VALID_FNR}")
    assert "kari" not in masked and "ps_" + "0f" * 8 not in masked and VALID_FNR not in masked
    assert mask_text("/tmp/ipykernel_123/456.py line 3") == "/tmp/ipykernel_123/456.py line 3"


@settings(max_examples=300, deadline=None)
@given(count=st.integers(1, 4), word=st.sampled_from(
           ["people", "residents", "personer", "clients", "klienter", "persons", "beboere"]),
       gap=st.sampled_from(["", "complete ", "of the ", "(", "eligible young "]),
       before=st.sampled_from(["", "ValueError: ", "only ", "("]))
def test_a_small_count_of_people_never_survives(count, word, gap, before):
    text = f"{before}{count} {gap}{word} have no IP"
    masked = mask_small_numbers(text)
    assert str(count) not in masked.replace("<5", ""), masked


@settings(max_examples=200, deadline=None)
@given(number=st.integers(5, 10_000), word=st.sampled_from(["people", "residents"]))
def test_counts_at_or_above_the_threshold_are_kept(number, word):
    assert mask_small_numbers(f"{number} {word}") == f"{number} {word}"


def test_masked_excerpt_of_a_small_cell_ignores_what_it_said():
    assert masked_excerpt("small_cell", "2 (below 5)", 5) == "a count under 5"
    assert masked_excerpt("national_id", "31*********", 5) == "31*********"
