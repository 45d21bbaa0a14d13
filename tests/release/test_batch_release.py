"""A batch protected as one release (`ipeval release`): an attacker with every shared report of
a batch of small institutions, the reports consistent with one another, re-issued through the
output check, figures drawn again, a second release that changes nothing."""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import jsonschema
import nbformat
import pytest

from evaluation.disclosure.output_check import check_path
from evaluation.disclosure.private_record import PRIVATE_DIR
from evaluation.disclosure.rules import DisclosureRules
from evaluation.release.batch_ledger import BatchLedger, RunRecord, build_ledger
from evaluation.release.inventory import file_sha256
from evaluation.release.protect import protect_batch
from evaluation.release.runner import release_batch

from .batch_attacker import batch_attack, public_cells


def _statuses(out: Path) -> list[dict]:
    batch = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    return [json.loads((out / r["folder"] / "status.json").read_text()) for r in batch["runs"]]


def test_a_count_hidden_for_one_institution_cannot_be_worked_out_after_release(released_batch):
    before, after = released_batch
    leaked = batch_attack(before)
    # The runs, each protected alone, give counts of the small institutions away ("all"
    # minus the others): the attacker finds them, so it is one that tries.
    assert leaked["exposed"].sum() >= 1
    assert (leaked.loc[leaked["exposed"], "cell"].str.contains("institution=")).any()
    found = batch_attack(after)
    assert found["exposed"].sum() == 0, found[found["exposed"]].to_string()
    assert len(found) > len(leaked)          # more is hidden, nothing is shown again


def test_no_count_is_shown_in_one_report_and_hidden_in_another(released_batch):
    before, after = released_batch
    _, seen_before, _, _ = public_cells(before)
    _, seen, _, _ = public_cells(after)
    def mixed(seen):
        return [g for g, places in seen.items()
                if any(s is not None for _, s, _ in places) and any(m for _, _, m in places)]
    assert mixed(seen) == []
    # hidden cells stay hidden: every mark of the runs is still there
    marked_before = {g for g, places in seen_before.items() if any(m for *_, m in places)}
    marked = {g for g, places in seen.items() if any(m for *_, m in places)}
    assert marked_before <= marked


def test_the_released_batch_passes_the_output_check(released_batch, small_study):
    _, after = released_batch
    assert check_path(after, study=small_study / "study.yaml").empty


def test_reports_are_issued_again_with_figures_drawn_again(released_batch):
    before, after = released_batch
    changed = [s for s in _statuses(after) if s.get("release", {}).get("cells")]
    assert changed, "the release hid nothing: the batch does not exercise it"
    for status in changed:
        page = (after / status["html"]).read_text(encoding="utf-8")
        assert "ipeval-withheld" not in page          # the coverage figure is drawn again
        assert status["release"]["redrawn"]
        old, new = (_images(folder / status["executed"], "IP coverage")
                    for folder in (before, after))
        assert len(old) == len(new) == 1 and new[0].startswith(b"\x89PNG")
        assert (after / status["html"]).read_bytes() != (before / status["html"]).read_bytes()
    # the sentence counts the cells hidden for the batch
    status = changed[0]
    sentence = _sentence(after / status["executed"])
    assert sentence != _sentence(before / status["executed"])


def test_the_release_record_lists_every_output_with_its_hash(released_batch):
    _, after = released_batch
    release = json.loads((after / "release.json").read_text(encoding="utf-8"))
    assert release["schema"] == "ipeval-release/1"
    assert release["protection"]["exposed_before"] >= 1
    assert release["protection"]["exposed_after"] == 0
    assert release["approvals_required"] == 2
    for change in release["protection"]["changes"]:
        assert set(change) == {"run_id", "label", "cell", "state", "tables"}
    for output in release["outputs"]:
        path = after / output["file"]
        assert path.is_file() and file_sha256(path) == output["sha256"]
        assert PRIVATE_DIR not in Path(output["file"]).parts
        assert output["status"] in {"pass", "review"}
    reports = [o for o in release["outputs"] if o["kind"] == "report"]
    assert len(reports) == 5
    for output in reports:
        assert output["tables"] and all(t["population"] for t in output["tables"])
        assert "has_ip" in output["variables"]
    assert sum(t["batch_secondary"] for o in reports for t in o["tables"]) >= 1
    acro = json.loads((after / "results.json").read_text(encoding="utf-8"))
    assert len(acro["results"]) == len(release["outputs"])
    schema = json.loads((Path(__file__).parents[1] / "data/acro/results.schema.json").read_text())
    jsonschema.validate(acro, schema)


def test_a_second_release_changes_no_report_and_checks_every_file(released_batch, tmp_path):
    """Released again, no report changes; a table a notebook wrote beside its report (which
    the run's gate never read) is checked and fails, and only it."""
    _, after = released_batch
    copy = tmp_path / "again"
    shutil.copytree(after, copy, symlinks=True)
    hashes = {p: _sha(p) for p in copy.rglob("*.html") if "runs" in p.parts}
    whole = next(s for s in _statuses(copy) if "institution=all" in s["label"])
    stray = copy / whole["folder"] / "by_group.csv"
    stray.write_text("group,n\nA,3\nB,41\n", encoding="utf-8")
    record = json.loads((copy / "release.json").read_text(encoding="utf-8"))
    first = record["protection"]["changes"]
    # A change of a run done again since (--resume) is no longer in force: not listed again.
    stale = {"run_id": whole["run_id"], "label": whole["label"], "cell": "c-gone",
             "state": "secondary", "tables": ["Table 1"]}
    record["protection"]["changes"] = first + [stale]
    (copy / "release.json").write_text(json.dumps(record), encoding="utf-8")
    outcome = release_batch(copy, out=lambda *_: None)
    assert outcome.exit_code == 1
    assert {p: _sha(p) for p in hashes} == hashes
    failed = [o for o in outcome.release["outputs"] if o["status"] == "fail"]
    assert [o["file"] for o in failed] == [f"{whole['folder']}/by_group.csv"]
    assert failed[0]["check"]["counts"] == {"small_cell": 1}
    assert failed[0]["findings"][0]["excerpt"] == "a count under 5"     # never the 3
    protection = outcome.release["protection"]
    assert protection["exposed_before"] == 0 and protection["history"]
    assert protection["hidden_added"] == 0
    # What the first release hid, read from the runs: still in force, and nothing stale.
    assert sorted(map(str, protection["changes"])) == sorted(map(str, first)) and first


def test_a_run_whose_new_report_fails_the_check_is_withdrawn(released_batch, tmp_path,
                                                             monkeypatch):
    before, _ = released_batch
    copy = tmp_path / "withdrawn"
    shutil.copytree(before, copy, symlinks=True)
    from evaluation.report import gate
    real = gate.Gate.check

    def finds_something(self, files, **kwargs):
        found = real(self, files, **kwargs)
        found.loc[len(found)] = [next(iter(files)), "planted", "small_cell", "a count under 5"]
        return found
    monkeypatch.setattr(gate.Gate, "check", finds_something)
    outcome = release_batch(copy, out=lambda *_: None)
    assert outcome.withdrawn and outcome.exit_code == 1
    for status in _statuses(copy):
        if status["run_id"] in outcome.withdrawn:
            assert status["status"] == "findings" and status["html"] is None
            assert not list((copy / status["folder"]).glob("*.html"))
    outputs = json.loads((copy / "release.json").read_text())["outputs"]
    assert any(o["status"] == "fail" for o in outputs)


def test_a_run_without_its_private_record_leaves_the_batch_unprotected(released_batch,
                                                                       tmp_path):
    before, _ = released_batch
    copy = tmp_path / "norecord"
    shutil.copytree(before, copy, symlinks=True)
    whole = next(s for s in _statuses(copy) if "institution=all" in s["label"])
    shutil.rmtree(copy / whole["folder"] / PRIVATE_DIR)
    outcome = release_batch(copy, out=lambda *_: None)
    assert not outcome.protected and outcome.exit_code == 1
    assert {o["status"] for o in outcome.release["outputs"]} == {"fail"}
    assert outcome.release["protection"]["not_protected"][0]["run_id"] == whole["run_id"]


# ------------------------------------------------------------------ the ledger, alone
def _run(run_id, subset, cells, relations=(), context="a"):
    ledger = {"subset": subset, "partition": {"institution": ["A", "B"]},
              "rules": DisclosureRules().as_dict(), "relations": list(relations),
              "cells": [{"id": cid, "value": v, "state": s, "population": "people",
                         "column": "n", "conditions": c} for cid, v, s, c in cells]}
    return RunRecord(run_id, run_id, Path("."), {"grid": {"outcome": context, **subset}},
                     ledger, [])


def test_subsets_add_up_only_when_the_true_counts_do():
    whole = _run("all", {}, [("n", 30, "shown", {})])
    a = _run("a", {"institution": "A"}, [("n", 3, "primary", {})])
    b = _run("b", {"institution": "B"}, [("n", 27, "shown", {})])
    book = build_ledger([whole, a, b])
    assert any(len(r.get("parts", [])) == 2 and not r["remainder"] for r in book.relations)
    done = protect_batch(book, DisclosureRules())
    assert done.exposed_before == 1 and done.protected
    # parts that add up to more than the whole count other people: no relation
    big = _run("b", {"institution": "B"}, [("n", 40, "shown", {})])
    book = build_ledger([whole, a, big])
    assert not any(len(r.get("parts", [])) == 2 for r in book.relations)


def test_the_same_count_in_two_contexts_is_one_number():
    first = _run("x", {"institution": "A"}, [("n", 3, "primary", {})], context="y")
    second = _run("z", {"institution": "A"}, [("n", 3, "shown", {})], context="w")
    book = build_ledger([first, second])
    assert any(r["parts"] and not r["remainder"] for r in book.relations)
    done = protect_batch(book, DisclosureRules())
    assert done.protected and done.changes
    assert all(s != "shown" for c in book.cells.values() for *_, s in c["places"])


def test_a_count_hidden_in_one_run_and_shown_in_another_is_hidden_in_both():
    book = BatchLedger()
    book.cells["g"] = {"value": 12.0, "places": [(0, "g", "secondary"), (1, "g", "shown")]}
    done = protect_batch(book, DisclosureRules())
    assert [c.why for c in done.changes] == ["shown in one report and hidden in another"]
    assert book.state("g") == "secondary"


# ------------------------------------------------------------------ helpers
def _images(notebook: Path, name: str) -> list[bytes]:
    nb = nbformat.read(str(notebook), as_version=4)
    return [base64.b64decode(o["data"]["image/png"]) for c in nb.cells
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})
            and o["metadata"].get("image/png", {}).get("ipeval", {}).get("figure", {})
            .get("name") == name]


def _sentence(notebook: Path) -> str:
    nb = nbformat.read(str(notebook), as_version=4)
    return next(o["data"]["text/plain"] for c in nb.cells for o in c.get("outputs", [])
                if "ipeval-sdc-summary" in str(o.get("data", {}).get("text/html", "")))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
