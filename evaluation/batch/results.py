"""A batch's collected results: ``results.duckdb`` (tables ``runs`` and ``results``) and a tidy
``results.csv``, built from the run folders, which are the record of what happened.

Rebuilding from the folders (not appending to the database) is what makes an interrupted
batch lose nothing: every finished run wrote its own ``status.json`` and ``results.json``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from evaluation.errors import InputFileError
from evaluation.estimates import ESTIMATE_COLUMNS
from evaluation.report.record_checks import check_records
from evaluation.report.records import RECORD_NUMBERS, RECORDED_COLUMNS
from evaluation.batch.worker import RESULTS_FILE, read_status

DB_NAME = "results.duckdb"
CSV_NAME = "results.csv"
RUN_COLUMNS = ["run_id", "label", "notebook", "parameters", "grid", "status", "started",
               "seconds", "attempts", "error", "folder", "html", "executed", "slides", "findings",
               "records", "rules", "internal"]
NUMBERS = [*RECORD_NUMBERS, "n_exposed"]
"""The numeric columns of the results table (missing where a record has no such number)."""
RESULT_COLUMNS = ["run_id", "name", "value",
                  *ESTIMATE_COLUMNS, *[c for c in RECORDED_COLUMNS if c not in ESTIMATE_COLUMNS],
                  "extra"]
"""The results table, one row per record: its run, name and value, the result contract's
columns (:data:`evaluation.estimates.ESTIMATE_COLUMNS`; ``outcome``, ``method``… are filled for
records made by ``record_estimates`` from a contract table), ``measure``, and ``extra`` (any
other keys of the record, as JSON)."""
TEXT_COLUMNS = [c for c in RESULT_COLUMNS if c not in {*NUMBERS, "run_id", "extra"}]


WITHHELD_STATUSES = frozenset({"pending", "findings"})
"""Runs whose records are not collected: not finished, or with findings (their records stay in
the run's ``internal/`` folder)."""


def collect(output: Path, runs: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs table (one row per run of this batch; ``pending`` for a run with no finished
    status) and the results table (one row per recorded figure of the runs that ended without
    findings, each through :func:`evaluation.report.record_checks.check_records`: no national
    ID, identifier or path, and no number resting on fewer than ``min_cell`` people)."""
    output = Path(output)
    run_rows, result_rows = [], []
    for run in runs:
        folder = output / run.folder
        status = read_status(folder)
        if status is None or status.get("key") != run.key:
            status = {"status": "pending", "started": None, "seconds": None, "error": None,
                      "html": None, "executed": None, "slides": None, "findings": None,
                      "records": 0, "attempts": 0}
        run_rows.append({
            "run_id": run.run_id, "label": run.label, "notebook": run.notebook,
            "parameters": json.dumps(run.parameters, ensure_ascii=False, sort_keys=True),
            "grid": json.dumps(run.grid, ensure_ascii=False),
            "status": status["status"], "started": status.get("started"),
            "seconds": status.get("seconds"), "attempts": status.get("attempts", 1),
            "error": status.get("error"), "folder": run.folder, "html": status.get("html"),
            "executed": status.get("executed"), "slides": status.get("slides"),
            "findings": status.get("findings"), "records": status.get("records", 0),
            "rules": ", ".join(status.get("rules") or []) or None,
            "internal": status.get("internal")})
        if status["status"] not in WITHHELD_STATUSES and (folder / RESULTS_FILE).is_file():
            records = json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))
            # Checked again here, where they enter the shared tables: a results.json of an
            # older ipeval, or one edited by hand, has not been through the worker's checks.
            records, _ = check_records(records, min_cell=status.get("min_cell"))
            for record in records:
                result_rows.append(_result_row(run.run_id, record))
    runs_table = pd.DataFrame(run_rows, columns=RUN_COLUMNS)
    runs_table["seconds"] = pd.to_numeric(runs_table["seconds"], errors="coerce")
    runs_table["findings"] = pd.to_numeric(runs_table["findings"], errors="coerce")
    results = pd.DataFrame(result_rows, columns=RESULT_COLUMNS)
    for column in NUMBERS:
        results[column] = pd.to_numeric(results[column], errors="coerce").astype(float)
    return runs_table, results


def _result_row(run_id: str, record: dict) -> dict:
    own = set(RESULT_COLUMNS) - {"extra"}     # a record's own key `extra` goes into extra too
    extra = {k: v for k, v in record.items() if k not in own and v is not None}
    row = {c: record.get(c) for c in own}
    for column in TEXT_COLUMNS:
        if row[column] is not None and not isinstance(row[column], str):
            row[column] = str(row[column])
    row.update(run_id=run_id, extra=json.dumps(extra, ensure_ascii=False) if extra else None)
    return row


def write_results(output: Path, runs: pd.DataFrame, results: pd.DataFrame) -> tuple[Path, Path]:
    """``results.duckdb`` and ``results.csv``, each replaced atomically."""
    output = Path(output)
    db, tmp = output / DB_NAME, output / f".{DB_NAME}.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.register("runs_frame", runs)
        con.register("results_frame", results)
        con.execute("CREATE TABLE runs AS SELECT * FROM runs_frame")
        con.execute("CREATE TABLE results AS SELECT * FROM results_frame")
    finally:
        con.close()
    os.replace(tmp, db)
    csv, tmp_csv = output / CSV_NAME, output / f".{CSV_NAME}.tmp"
    tidy(runs, results).to_csv(tmp_csv, index=False)
    os.replace(tmp_csv, csv)
    return db, csv


def tidy(runs: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """One row per recorded figure, with the run's label, status and grid parameters as columns."""
    grid = pd.DataFrame([json.loads(g) if isinstance(g, str) else {} for g in runs["grid"]],
                        index=runs.index)
    grid = grid.map(lambda v: "+".join(map(str, v)) if isinstance(v, list) else v)
    # A grid parameter named like a column of the table (status, name, n…) keeps its values
    # under param_<name>, so neither is lost.
    # The contract's columns no record filled (plain `record` calls) are left out, so that a
    # grid parameter such as `outcome` keeps its name unless a record gives one too.
    results = results.drop(columns=[c for c in results.columns if c in RECORDED_COLUMNS
                                    and results[c].isna().all()])
    taken = {"run_id", "label", "status", *results.columns}
    grid = grid.rename(columns={c: f"param_{c}" for c in grid.columns if c in taken})
    meta = pd.concat([runs[["run_id", "label", "status"]], grid], axis=1)
    out = meta.merge(results, on="run_id", how="right")
    return out.drop(columns=["extra"]).replace({np.nan: None})


def read_results(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``runs`` and ``results`` tables of a batch folder or of a ``results.duckdb``."""
    path = Path(path)
    db = path / DB_NAME if path.is_dir() else path
    if not db.is_file():
        raise InputFileError(db, "no batch results here.",
                             expected=f"a batch output folder with {DB_NAME}, or the file itself "
                                      f"(run `ipeval batch BATCH.yaml` first, or `--resume` "
                                      f"after an interrupted batch)")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise InputFileError(db, f"not a DuckDB database ({exc}).") from None
    try:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        missing = {"runs", "results"} - tables
        if missing:
            raise InputFileError(db, f"table(s) {', '.join(sorted(missing))} missing.",
                                 expected="the tables runs and results an ipeval batch writes")
        return con.execute("SELECT * FROM runs").df(), con.execute("SELECT * FROM results").df()
    finally:
        con.close()
