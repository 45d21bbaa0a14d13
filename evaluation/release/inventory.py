"""What a batch's release holds: ``OUT/release.json``, one entry per output that could leave.

Every file of the batch folder a checker may be asked to let out is listed with its SHA-256,
what it is (report, slides, notebook, table, results, page), the output check's outcome
(``pass``; ``fail`` with the rules that found something; ``review`` for what needs a human
look whatever the checker found: the batch's results tables and pages, and the runs that failed
and so were not protected with the others). The output checker reads every listed file of a
run again here, whatever its run found: a table a notebook wrote beside its report was never
seen by the run's gate, and "pass" must mean that these bytes were checked; the protected tables it shows with the population
and the variables each rests on, and the run's parameters. No hidden value is written here:
only names of tables, counts of cells and rule names. Files in a run's ``.private`` folder are
never listed; those in ``internal/`` only as outputs that failed the check.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from evaluation.disclosure.excerpts import masked_excerpt
from evaluation.disclosure.output_check import COLUMNS, REPORT_NAME, check_path
from evaluation.disclosure.study_facts import facts_of_path
from evaluation.errors import InputFileError
from evaluation.report.gate import INTERNAL_DIR, INTERNAL_RULE
from evaluation.report.record_checks import check_records
from evaluation.report.records import read_records
from evaluation.report.stamp import file_sha256
from evaluation.version import __version__

__all__ = ["RELEASE_FILE", "SCHEMA", "build_release", "file_sha256", "read_release",
           "write_release"]

RELEASE_FILE = "release.json"
SCHEMA = "ipeval-release/1"
NOT_PROTECTED = "not_protected_with_the_batch"
_KINDS = {".html": "report", ".ipynb": "notebook", ".csv": "table"}
# Keys of a count's conditions that name what a row is, not a variable of the data.
_NOT_VARIABLES = {"measure", "level", "variable", "method", "term", "reason", "group", "code",
                  "treatment", "row", "column", "estimand", "scale", "source", "kind", "table"}


def build_release(out_dir, runs, *, statuses: dict, rules: dict, protection: dict,
                  batch: dict, approvals_required: int = 2, cwd=None) -> dict:
    """The release record of the batch folder ``out_dir``: its protected ``runs`` (run id →
    :class:`.batch_ledger.RunRecord`), the ``statuses`` of all its runs (run id → status),
    the disclosure ``rules`` and what the batch's ``protection`` did. ``cwd``: the folder the
    runs' study paths are relative to (the batch's)."""
    out_dir = Path(out_dir)
    outputs = []
    for run_id, status in statuses.items():
        record = runs.get(run_id)
        study = _study_path(status, cwd)
        for path, kind in _run_files(out_dir, status):
            output = _output(out_dir, path, kind, status, record)
            if not _in_internal(status):
                _add_check(output, path, study, rules)
            outputs.append(output)
    for name, kind in (("results.csv", "results"), ("results.duckdb", "results"),
                       ("index.html", "page"), ("comparison.html", "page")):
        if (out_dir / name).is_file():
            outputs.append(_batch_output(out_dir, out_dir / name, kind))
    for k, output in enumerate(outputs):
        output["uid"] = f"output_{k}"
    return {"schema": SCHEMA, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ipeval_version": __version__, "batch": batch, "rules": rules,
            "approvals_required": int(approvals_required), "protection": protection,
            "runs": [{"run_id": s.get("run_id"), "key": s.get("key"), "label": s.get("label"),
                      "status": s.get("status"), "parameters": s.get("parameters"),
                      "folder": Path(s.get("folder", "")).as_posix()} for s in statuses.values()],
            "outputs": outputs}


def write_release(out_dir, release: dict) -> Path:
    target = Path(out_dir) / RELEASE_FILE
    tmp = target.with_name(f".{RELEASE_FILE}.tmp")
    tmp.write_text(json.dumps(release, ensure_ascii=False, indent=1, default=str),
                   encoding="utf-8")
    tmp.replace(target)
    return target


def read_release(out_dir) -> dict:
    path = Path(out_dir) / RELEASE_FILE
    try:
        release = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(path, "no release record here.",
                             expected=f"a batch output folder after `ipeval release "
                                      f"{out_dir}`") from None
    except ValueError as exc:
        raise InputFileError(path, f"not JSON ({exc}).") from None
    if release.get("schema") != SCHEMA:
        raise InputFileError(path, f"schema {release.get('schema')!r} is not {SCHEMA!r}.",
                             expected=f"a release record written by `ipeval release`")
    return release


def _in_internal(status: dict) -> bool:
    return status.get("status") == "findings" or bool(status.get("internal"))


def _study_path(status: dict, cwd) -> str | None:
    study = (status.get("parameters") or {}).get("study")
    if not study:
        return None
    path = Path(study)
    return str(path if path.is_absolute() or cwd is None else Path(cwd) / path)


def _add_check(output: dict, path: Path, study: str | None, rules: dict) -> None:
    """The output checker's findings in ``path`` added to ``output`` (a ``pass`` turns
    ``fail``); a file changed while it was read fails as such."""
    found = _findings_in(path, study, rules)
    if file_sha256(path) != output["sha256"]:
        found.append(("file", "unreadable", "the file changed while it was checked"))
    if not found:
        return
    counts = output["check"]["counts"]
    for _, rule, _ in found:
        counts[rule] = counts.get(rule, 0) + 1
    min_cell = int(rules.get("min_cell") or 5)
    # Excerpts as the checker's own report writes them: never the small count itself.
    output["findings"] += [{"where": f"{output['file']}: {where}", "rule": rule,
                            "excerpt": masked_excerpt(rule, excerpt, min_cell)}
                           for where, rule, excerpt in found]
    output["check"]["findings"] = len(output["findings"])
    output["status"] = "fail"
    output["summary"] = _summary("fail", output["check"], output["tables"], 0)


def _findings_in(path: Path, study: str | None, rules: dict) -> list[tuple]:
    """``[(where, rule, excerpt)]`` of the output checker in one file (excerpts masked), with
    the records of an executed notebook; without the study when it cannot be read."""
    found: list[tuple] = []
    try:
        facts = facts_of_path(study)[1] if study else None
    except Exception as exc:  # noqa: BLE001 — the check runs on, with what can be checked
        facts = None
        found.append(("study", "unreadable", f"the study could not be read "
                      f"({type(exc).__name__}): identifiers and quotes were not checked"))
    frame = check_path(path, study=study if facts is not None else None, rules=rules)
    found += [(w, r, e) for _, w, r, e in frame[COLUMNS].itertuples(index=False)]
    if path.suffix.lower() == ".ipynb" and not any(r == "unreadable" for _, r, _ in found):
        _, more = check_records(read_records(path), min_cell=frame.attrs["min_cell"],
                                facts=facts)
        found += list(more)
    return found


def _run_files(out_dir: Path, status: dict):
    """The files of a run a checker could be asked about, with their kind."""
    if _in_internal(status):
        folder = out_dir / status["folder"] / INTERNAL_DIR
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.is_file() and path.name != REPORT_NAME:
                yield path, _kind(path)
        return
    for key in ("html", "slides", "executed"):
        if status.get(key):
            path = out_dir / status[key]
            if path.is_file():
                yield path, "slides" if key == "slides" else _kind(path)
    folder = out_dir / status["folder"]
    for path in sorted([*folder.glob("*.csv"), *folder.glob("*.xlsx")]):
        yield path, "table"


def _kind(path: Path) -> str:
    if path.name.endswith(".slides.html"):
        return "slides"
    return _KINDS.get(path.suffix.lower(), "custom")


def _output(out_dir: Path, path: Path, kind: str, status: dict, record) -> dict:
    check, findings, status_word = _check(out_dir, status, record)
    tables = _tables(record) if record is not None else []
    hidden = sum(t["batch_secondary"] for t in tables)
    variables = sorted({v for t in tables for v in t["variables"]})
    rel = path.relative_to(out_dir).as_posix()
    label = status.get("label") or status.get("run_id")
    return {"name": f"{label}: {kind}", "run_id": status.get("run_id"), "file": rel,
            "sha256": file_sha256(path), "bytes": path.stat().st_size, "kind": kind,
            "acro_type": "table" if kind == "table" else "custom", "status": status_word,
            "releasable": INTERNAL_RULE not in check["counts"], "check": check,
            "findings": findings, "tables": tables, "variables": variables,
            "summary": _summary(status_word, check, tables, hidden),
            "parameters": status.get("parameters") or {}}


def _batch_output(out_dir: Path, path: Path, kind: str) -> dict:
    return {"name": f"batch: {path.name}", "run_id": None, "file": path.name,
            "sha256": file_sha256(path), "bytes": path.stat().st_size, "kind": kind,
            "acro_type": "table" if kind == "results" else "custom", "status": "review",
            "releasable": True, "check": {"findings": 0, "counts": {}}, "findings": [],
            "tables": [], "variables": [],
            "summary": "review; the batch's collected figures and pages, built from the runs' "
                       "checked records",
            "parameters": {}}


def _check(out_dir: Path, status: dict, record):
    """``(check, findings, status)`` of a run's outputs."""
    if status.get("status") == "findings" or status.get("internal"):
        report = out_dir / status["folder"] / INTERNAL_DIR / REPORT_NAME
        try:
            found = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = {"counts": {r: 1 for r in status.get("rules") or ["unchecked"]},
                     "findings": []}
        findings = [{k: f.get(k) for k in ("where", "rule", "excerpt")}
                    for f in found.get("findings", [])]
        return {"findings": len(findings), "counts": dict(found.get("counts", {}))}, findings, "fail"
    if status.get("status") != "ok" or record is None:
        # A failed run's notebook may show tables the batch could not link: it needs an
        # exception. A run that kept no record showed no table through the disclosure layer
        # (or never displayed its Disclosure): the output check passed it, a checker looks.
        failed = status.get("status") != "ok"
        why = (f"the run ended {status.get('status')}" if failed else
               "the run kept no record of protected tables (none shown through the disclosure "
               "layer, or the notebook does not end with display(sdc))")
        return ({"findings": 1, "counts": {NOT_PROTECTED: 1}},
                [{"where": status.get("folder"), "rule": NOT_PROTECTED,
                  "excerpt": f"{why}: its numbers were not checked with the batch's"}],
                "fail" if failed else "review")
    return {"findings": 0, "counts": {}}, [], "pass"


def _tables(record) -> list[dict]:
    cells_of: dict = {}
    for cell in record.ledger.get("cells", []):
        cells_of.setdefault(cell.get("population"), []).append(cell)
    out = []
    for entry in record.tables:
        rec = entry["record"]
        variables = set(record.subset)
        for cell in cells_of.get(rec.get("population"), []):
            conds = cell.get("conditions") or {}
            variables |= {k for k in conds if k not in _NOT_VARIABLES}
            variables |= {str(conds[k]) for k in ("variable", "outcome") if k in conds}
        out.append({"name": rec.get("name"), "kind": rec.get("kind"), "cells": rec.get("cells"),
                    "primary": rec.get("primary"), "secondary": rec.get("secondary"),
                    "batch_secondary": int(rec.get("batch_hidden", 0)),
                    "population": rec.get("population"), "variables": sorted(variables)})
    return out


def _summary(status: str, check: dict, tables: list, hidden: int) -> str:
    if status != "pass" or check["counts"]:
        rules = ", ".join(f"{r}: {n}" for r, n in check["counts"].items())
        return f"{status}; the output check found {rules}"
    p = sum(int(t["primary"] or 0) for t in tables)
    s = sum(int(t["secondary"] or 0) for t in tables)
    return (f"pass; {len(tables)} tables: {p} small counts marked, {s} cells hidden to protect "
            f"them" + (f" ({hidden} of them for the batch)" if hidden else ""))
