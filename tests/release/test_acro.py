"""ipeval's ``results.json`` is one that ACRO and the SACRO viewer read.

Checked three ways: against a JSON Schema transcribed from ACRO's writer and readers and the
SACRO viewer (``tests/data/acro/``, see its README for the sources), by a transcription of
ACRO's ``load_records`` and of the checks SACRO's ``ACROOutputs`` makes. The fake release is
built by :func:`make_release`.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from evaluation.release.acro import ACRO_VERSION, acro_results, write_acro_results
from evaluation.release.decisions import append_decision, output_states, read_decisions

SCHEMA = json.loads((Path(__file__).parents[1] / "data/acro/results.schema.json")
                    .read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
SECRET = "4217"                    # a true value that exists only in the private record
RECORD_KEYS = ("uid", "status", "type", "properties", "files", "outcome", "command", "summary",
               "timestamp", "comments", "exception", "fair")


def make_release(out: Path) -> dict:
    """A batch folder with a report, a table, a failed report in internal/, a page and a
    private record holding :data:`SECRET`; returns its release record (not written)."""
    files = {"runs/r1/ip_evaluation.html": "<p>Table 1: 12, &lt;5, ·</p>",
             "runs/r1/estimates.csv": "measure,value\nn,12\nsmall,<5\n",
             "runs/r2/internal/ip_evaluation.html": "<p>3 people</p>",
             "index.html": "<p>batch</p>",
             "runs/r1/.private/ledger.json": json.dumps({"true": int(SECRET)})}
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
    table = {"name": "Table 1", "kind": "rows", "cells": 40, "primary": 3, "secondary": 2,
             "batch_secondary": 1, "population": "table Table 1", "variables": ["sex"],
             "true_values": [int(SECRET)]}          # not a field of release.json: never copied

    def output(uid, file, kind, status, tables=(), counts=None):
        return {"uid": uid, "name": f"{file}: {kind}", "run_id": file.split("/")[1]
                if file.startswith("runs/") else None, "file": file, "sha256": "ab" * 32,
                "bytes": 10, "kind": kind, "acro_type": "table" if kind == "table" else "custom",
                "status": status, "releasable": True,
                "check": {"findings": sum((counts or {}).values()), "counts": counts or {}},
                "findings": [{"where": "cell 3", "rule": "small_cell", "excerpt": "n = <5"}]
                if counts else [], "tables": [copy.deepcopy(t) for t in tables],
                "variables": ["sex"] if tables else [],
                "summary": f"{status}; 1 tables: 3 small counts marked, 2 cells hidden",
                "parameters": {"outcome": "daily_chaos"}, "private": {"Table 1": SECRET}}
    return {"schema": "ipeval-release/1", "created": "2026-12-03T17:20:00+00:00",
            "approvals_required": 2, "rules": {"min_cell": 5},
            "outputs": [output("output_0", "runs/r1/ip_evaluation.html", "report", "pass", [table]),
                        output("output_1", "runs/r1/estimates.csv", "table", "pass", [table, table]),
                        output("output_2", "runs/r2/internal/ip_evaluation.html", "report",
                               "fail", counts={"small_cell": 2}),
                        output("output_3", "index.html", "page", "review")]}


@pytest.fixture
def written(tmp_path):
    release = make_release(tmp_path)
    path = write_acro_results(tmp_path, release)
    return tmp_path, release, path, json.loads(path.read_text(encoding="utf-8"))


# ---- a transcription of ACRO's reader (acro/record.py, load_records, at fe729ae) -------------

def load_records(path: Path) -> dict:
    """ACRO's ``load_records(path)``: every key it reads, in the way it reads them."""
    with open(os.path.normpath(f"{path}/results.json"), newline="", encoding="utf-8") as fh:
        data = json.load(fh)
    if data["version"] != ACRO_VERSION:
        raise ValueError("error loading output")
    records = {}
    for key, val in data["results"].items():
        filenames = [f["name"] for f in val["files"]]
        sdcs = [f["sdc"] for f in val["files"]]
        records[key] = {"uid": val["uid"], "status": val["status"], "output_type": val["type"],
                        "properties": val["properties"], "sdc": sdcs[0], "fair": val["fair"],
                        "command": val["command"], "summary": val["summary"],
                        "outcome": pd.DataFrame.from_dict(val["outcome"]),
                        "output": _load_output(path, filenames), "comments": val["comments"],
                        "exception": val["exception"], "timestamp": val["timestamp"]}
    return records


def _load_output(path: Path, output: list[str]):
    if len(output) < 1:
        raise ValueError("error loading output")
    loaded = [pd.read_csv(os.path.normpath(f"{path}/{name}")) for name in output
              if os.path.splitext(name)[1] == ".csv"]
    return loaded or output


# ---- a transcription of the SACRO viewer's checks (sacro/models.py, ACROOutputs) -------------

def sacro_reads(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert "version" in raw and "results" in raw
    major, minor, *_ = raw["version"].split(".")
    assert (int(major), int(minor)) >= (0, 4)             # ACRO_SUPPORTED_VERSION "0.4.x"
    for metadata in raw["results"].values():
        assert len(metadata["files"]) > 0
        for filedata in metadata["files"]:
            assert (path.parent / filedata["name"]).exists()   # get_file_path
            cell_index: dict = {}
            for flag, indices in filedata.get("sdc", {}).get("cells", {}).items():
                for x, y in indices:
                    cell_index.setdefault(f"{x},{y}", []).append(flag)
        assert metadata["summary"].split("; ")[0] == metadata["status"]
        assert all(isinstance(c, str) for c in metadata["comments"])
        assert isinstance(metadata["properties"].get("method"), str)


# ---- tests -----------------------------------------------------------------------------------

def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_results_json_follows_the_schema(written):
    *_, data = written
    errors = [e.message for e in VALIDATOR.iter_errors(data)]
    assert errors == []
    assert list(data) == ["version", "results"] and data["version"] == ACRO_VERSION
    for key, record in data["results"].items():
        assert tuple(record) == RECORD_KEYS and record["uid"] == key


@pytest.mark.parametrize("field", RECORD_KEYS)
def test_the_schema_refuses_a_record_without_a_field(written, field):
    *_, data = written
    del data["results"]["output_0"][field]
    assert not VALIDATOR.is_valid(data)


@pytest.mark.parametrize("path, value", [
    (("version",), 1.0),
    (("results", "output_0", "status"), "approved"),
    (("results", "output_0", "files"), []),
    (("results", "output_0", "files", 0, "name"), ""),
    (("results", "output_0", "comments"), [{"who": "kari"}]),
    (("results", "output_0", "outcome"), [1, 2]),
    (("results", "output_0", "outcome", "cells"), 3),
    (("results", "output_0", "files", 0, "sdc", "cells", "threshold"), [[1, 2, 3]]),
    (("results", "output_0", "files", 0, "sdc", "summary", "threshold"), -1),
    (("results", "output_0", "files", 0, "sdc", "summary", "suppressed"), "yes"),
    (("results", "output_0", "timestamp"), "yesterday"),
    (("results", "output_0", "fair"), None),
    (("results", "output_0", "remark"), "not a key ACRO writes"),
])
def test_the_schema_refuses_a_wrong_field(written, path, value):
    *_, data = written
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert not VALIDATOR.is_valid(data)


def test_acro_and_sacro_read_it(written):
    out, _, path, data = written
    records = load_records(out)
    assert list(records) == ["output_0", "output_1", "output_2", "output_3"]
    table = records["output_1"]
    assert table["output_type"] == "table"
    assert isinstance(table["output"][0], pd.DataFrame) and list(table["output"][0]) == ["measure", "value"]
    assert records["output_0"]["output"] == ["runs/r1/ip_evaluation.html"]    # custom: paths
    outcome = records["output_0"]["outcome"]
    assert list(outcome.index) == ["Table 1"] and outcome.loc["Table 1", "secondary"] == 2
    assert list(table["outcome"].index) == ["Table 1", "Table 1 (2)"]
    assert records["output_2"]["outcome"].loc["small_cell", "findings"] == 2
    assert records["output_3"]["outcome"].empty
    sacro_reads(path)


def test_what_is_copied(written):
    *_, data = written
    record = data["results"]["output_0"]
    assert record["status"] == "pass" and record["type"] == "custom" and record["command"] == "custom"
    assert record["timestamp"] == "2026-12-03T17:20:00+00:00"
    props = record["properties"]
    assert props["kind"] == props["method"] == "report" and props["run_id"] == "r1"
    assert props["parameters"] == {"outcome": "daily_chaos"} and props["variables"] == ["sex"]
    assert props["population"] == ["table Table 1"] and props["sha256"] == "ab" * 32
    assert props["tables"][0]["name"] == "Table 1"
    summary = record["files"][0]["sdc"]["summary"]
    assert summary["threshold"] == 3 and summary["suppressed"] is True
    assert summary["secondary"] == 2 and summary["batch_secondary"] == 1
    assert data["results"]["output_1"]["files"][0]["sdc"]["summary"]["threshold"] == 6
    page = data["results"]["output_3"]["files"][0]["sdc"]["summary"]
    assert page["suppressed"] is False and page["threshold"] == 0
    assert data["results"]["output_2"]["status"] == "fail"
    assert data["results"]["output_1"]["command"].startswith("ipeval run r1: table")


def test_no_value_outside_release_json_is_written(written):
    out, release, path, data = written
    text = path.read_text(encoding="utf-8")
    assert SECRET in json.dumps(release)          # the fake release does carry it ...
    assert SECRET not in text                     # ... in fields acro.py does not copy
    assert "true_values" not in text and '"private"' not in text
    assert "excerpt" not in text                  # findings' excerpts stay in release.json


def test_decisions_become_comments_and_the_exception(tmp_path):
    release = make_release(tmp_path)
    decide = dict(sha256="ab" * 32, uid="output_2")
    append_decision(tmp_path, who="rita", role="researcher", action="exception",
                    reason="the 3 is a published national figure", **decide)
    append_decision(tmp_path, who="kari", role="checker", action="approve", **decide)
    append_decision(tmp_path, who="per", role="checker", action="reject",
                    reason="row 2 is thin", **decide)
    write_acro_results(tmp_path, release)        # reads decisions.jsonl itself
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert VALIDATOR.is_valid(data)
    record = data["results"]["output_2"]
    assert record["exception"] == "the 3 is a published national figure"
    assert len(record["comments"]) == 4
    assert "kari (checker): approve" in record["comments"][1]
    assert "per (checker): reject: row 2 is thin [decision 3]" in record["comments"][2]
    assert record["comments"][-1] == "ipeval four eyes: rejected by per"
    assert data["results"]["output_0"]["exception"] == ""
    assert load_records(tmp_path)["output_2"]["exception"] == record["exception"]


def test_only_the_named_outputs_and_with_a_prefix(tmp_path):
    release = make_release(tmp_path)
    states = output_states(release, read_decisions(tmp_path))
    data = acro_results(release, states, uids=["output_1"], prefix="outputs/")
    assert list(data["results"]) == ["output_1"]
    assert data["results"]["output_1"]["files"][0]["name"] == "outputs/runs/r1/estimates.csv"
    assert VALIDATOR.is_valid(data)


def test_a_summary_not_starting_with_the_status_gets_it(tmp_path):
    release = make_release(tmp_path)
    release["outputs"][3]["summary"] = "the batch's pages"
    assert acro_results(release)["results"]["output_3"]["summary"] == "review; the batch's pages"
