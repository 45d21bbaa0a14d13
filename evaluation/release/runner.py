"""``ipeval release OUT``: protect a finished batch as one release and write its record.

In order: the runs' private records read (:mod:`.batch_ledger`), the batch protected as one
set of linked tables (:mod:`.protect`), every run whose reports show a count hidden for the
batch issued again through the output check (:mod:`.reissue`), the results tables and pages
collected again from the runs, and the release record written: ``release.json``
(:mod:`.inventory`) and ACRO's ``results.json`` (:mod:`.acro`). A run whose new outputs fail the
check is withdrawn (its outputs go to its ``internal/`` folder); a batch that cannot be
protected leaves every output failed, so that none can leave without an exception.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from evaluation.batch.pages import write_comparison, write_index
from evaluation.batch.results import collect, write_results
from evaluation.batch.spec import load_batch
from evaluation.batch.worker import read_status, write_status
from evaluation.disclosure.rules import DisclosureRules
from evaluation.errors import DisclosureFindings, InputFileError
from evaluation.report.gate import INTERNAL_DIR, internal_folder
from evaluation.release.acro import write_acro_results
from evaluation.release.batch_ledger import build_ledger, load_runs
from evaluation.release.inventory import RELEASE_FILE, build_release, write_release
from evaluation.release.protect import protect_batch
from evaluation.release.reissue import reissue_run

__all__ = ["ReleaseOutcome", "release_batch"]


@dataclass
class ReleaseOutcome:
    release: dict
    path: Path
    acro: Path
    withdrawn: list

    @property
    def protected(self) -> bool:
        return bool(self.release["protection"]["protected"])

    @property
    def exit_code(self) -> int:
        """0 when the batch is protected and every output passed; 1 otherwise."""
        failed = any(o["status"] == "fail" for o in self.release["outputs"])
        return 0 if self.protected and not failed and not self.withdrawn else 1


def release_batch(out_dir, *, approvals_required: int = 2, out=print) -> ReleaseOutcome:
    """Protect the batch in ``out_dir`` as one release; write ``release.json`` and
    ``results.json`` there. See the module's docstring."""
    out_dir = Path(out_dir)
    batch = _batch_record(out_dir)
    cwd = Path(batch.get("cwd") or os.getcwd())
    runs, missing = load_runs(out_dir)
    rules = DisclosureRules(**runs[0].ledger["rules"]) if runs else DisclosureRules()
    book = build_ledger(runs)
    before = {(r, lid): state for gid, cell in book.cells.items()
              for r, lid, state in cell["places"]}
    done = protect_batch(book, rules)
    hides: dict = {}
    for cell in book.cells.values():
        for r, lid, state in cell["places"]:
            if before[(r, lid)] == "shown" and state != "shown":
                hides.setdefault(r, {})[lid] = state
    withdrawn = []
    for r, hide in sorted(hides.items()):
        run = runs[r]
        try:
            done_run = reissue_run(run, hide, out_dir=out_dir, cwd=cwd)
        except DisclosureFindings as exc:
            _withdraw(out_dir, run, str(exc))
            withdrawn.append(run.run_id)
            continue
        if done_run["figures"]:
            out(f"  {run.label}: figure(s) withheld: {', '.join(done_run['figures'])}")
    changes = [{"run_id": run.run_id, "label": run.label, "cell": cell["id"],
                "state": cell["state"], "tables": _tables_of(run, cell["id"])}
               for run in runs if run.run_id not in withdrawn
               for cell in run.ledger.get("cells", []) if cell.get("hidden_for_batch")]
    statuses = _statuses(out_dir, batch)
    _collect_again(out_dir, batch, cwd)
    protection = {"runs": len(runs), "cells": len(book.cells), "relations": len(book.relations),
                  "exposed_before": done.exposed_before,
                  "hidden_added": sum(len(h) for r, h in hides.items()
                                      if runs[r].run_id not in withdrawn),
                  "hidden_for_batch": len(changes),
                  "exposed_after": done.exposed_after, "unresolved": len(done.unresolved),
                  "rounds": done.rounds, "seconds": done.seconds, "changes": changes,
                  "not_protected": [{"run_id": r, "why": why} for r, why in missing]
                                   + _not_ok(statuses),
                  "withdrawn": withdrawn,
                  # A run of the batch whose counts the ledger lacks may give the others'
                  # hidden counts away (or they its own): the batch is then not protected.
                  "protected": done.protected and not (runs and missing)}
    protection = _with_history(out_dir, protection)
    release = build_release(out_dir, {run.run_id: run for run in runs if run.run_id not in withdrawn},
                            statuses=statuses, rules=rules.as_dict(), protection=protection,
                            batch={k: batch.get(k) for k in ("title", "notebook", "batch")},
                            approvals_required=approvals_required, cwd=cwd)
    if not protection["protected"]:
        for output in release["outputs"]:
            output["status"] = "fail"
            output["check"]["counts"]["batch_differencing"] = \
                len(done.unresolved) + len(missing)
    path = write_release(out_dir, release)
    acro = write_acro_results(out_dir, release)
    outcome = ReleaseOutcome(release, path, acro, withdrawn)
    out(summary(outcome))
    return outcome


def summary(outcome: ReleaseOutcome) -> str:
    p = outcome.release["protection"]
    outputs = outcome.release["outputs"]
    counts = {s: sum(o["status"] == s for o in outputs) for s in ("pass", "review", "fail")}
    lines = [f"Release of {p['runs']} run(s) checked as one: {p['cells']} counts, "
             f"{p['relations']} relations between them. "
             + (f"{p['exposed_before']} hidden count(s) could be worked out from the reports "
                f"together; {p['hidden_added']} more cell(s) hidden across the runs."
                if p["exposed_before"] else "No hidden count can be worked out from the "
                                            "reports together.")]
    if not outcome.protected:
        lines[0] = (f"Release of {p['runs']} run(s): NOT PROTECTED. {p['unresolved']} count(s) "
                    f"could not be protected, {len(p['not_protected'])} run(s) are not part of "
                    f"the check; every output is marked failed.")
    for item in p["not_protected"]:
        lines.append(f"  not part of the release check: {item['run_id']} ({item['why']})")
    for run_id in p["withdrawn"]:
        lines.append(f"  withdrawn: {run_id} (its outputs are in its {INTERNAL_DIR}/ folder)")
    lines.append(f"{len(outputs)} output(s): {counts['pass']} pass, {counts['review']} to "
                 f"review, {counts['fail']} fail. Record: {outcome.path} and {outcome.acro}")
    lines.append(f"Next: `ipeval review {outcome.path.parent}` (the checkers' decisions), then "
                 f"`ipeval release {outcome.path.parent} --bundle OUT.zip`.")
    return "\n".join(lines)


def _not_ok(statuses: dict) -> list[dict]:
    """The runs that did not end ok: nothing of theirs was checked with the batch, and their
    outputs (if any) fail in the release record."""
    return [{"run_id": run_id, "why": f"the run ended {s.get('status')}: its outputs, if "
                                      f"any, are not protected with the batch's and fail"}
            for run_id, s in statuses.items() if s.get("status") != "ok"]


def _tables_of(run, lid: str) -> list[str]:
    """The names of the run's tables that show the count ``lid``."""
    return [e["record"].get("name") for e in run.tables if e.get("cell_ids") is not None
            and lid in set(e["cell_ids"].to_numpy().ravel().tolist())]


def _with_history(out_dir: Path, protection: dict) -> dict:
    """What an earlier release of the same folder found is kept in ``history`` (its changes
    are not: those still in force are read from the runs)."""
    try:
        earlier = json.loads((out_dir / RELEASE_FILE).read_text(encoding="utf-8"))["protection"]
    except (OSError, ValueError, KeyError, TypeError):
        return protection
    past = {k: v for k, v in earlier.items() if k not in ("changes", "history")}
    return {**protection, "history": list(earlier.get("history", [])) + [past]}


def _batch_record(out_dir: Path) -> dict:
    path = out_dir / "batch.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, "no batch here.", expected="the output folder of "
                             "`ipeval batch BATCH.yaml` (with batch.json)") from None
    except ValueError as exc:
        raise InputFileError(path, f"not JSON ({exc}).") from None


def _statuses(out_dir: Path, batch: dict) -> dict:
    out = {}
    for entry in batch.get("runs", []):
        status = read_status(out_dir / entry["folder"])
        if isinstance(status, dict):
            out[entry["run_id"]] = {**status, "folder": entry["folder"]}
    return out


def _collect_again(out_dir: Path, batch: dict, cwd: Path) -> None:
    """results.duckdb, results.csv and the pages from the runs as they now are."""
    path = Path(batch["batch"])
    spec = load_batch(path if path.is_absolute() else cwd / path, cwd=cwd)
    runs, results = collect(out_dir, spec.runs)
    write_results(out_dir, runs, results)
    write_comparison(out_dir, runs, results, key=spec.key, by=spec.compare_by)
    write_index(out_dir, runs, results, title=spec.title, key=spec.key)


def _withdraw(out_dir: Path, run, why: str) -> None:
    """A run whose outputs could not be issued again: nothing of it stays shared."""
    private = internal_folder(run.folder)
    status = run.status
    for key in ("html", "slides", "executed"):
        if status.get(key):
            path = out_dir / status[key]
            if path.is_file():
                shutil.move(str(path), private / path.name)
            status[key] = None
    status.update(status="findings", error=why, rules=["batch_release"],
                  internal=os.path.relpath(private, out_dir))
    write_status(run.folder, status)
