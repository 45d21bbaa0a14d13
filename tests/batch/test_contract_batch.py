"""A batch's results follow the result contract: a contract table recorded in a notebook
(``record_estimates``), read back from the executed notebook (``read_records``), collected from
the run folders (``collect``) and stored in ``results.duckdb`` keeps the contract's columns."""
from __future__ import annotations

import json
from types import SimpleNamespace

import IPython
import IPython.display
import nbformat
import numpy as np
import pandas as pd
import pytest

from evaluation import record, record_estimates
from evaluation.batch import RESULT_COLUMNS, collect, read_results, tidy, write_index, write_results
from evaluation.batch.worker import RESULTS_FILE, write_status
from evaluation.estimates import (ESTIMATE_COLUMNS, check_estimate_table, estimate_row,
                                  estimate_table, measure_row, measure_table)
from evaluation.report import read_records
from evaluation.report.records import RECORD_MIME

TABLE = estimate_table([
    estimate_row(outcome="daily_chaos", method="AIPW", estimand="ATE", scale="mean difference",
                 estimate=-0.31, ci_low=-0.41, ci_high=-0.21, p_value=0.001, n=120, n_exposed=60,
                 se=0.05),
    estimate_row(outcome="goal_retention", method="crude", estimand="unadjusted",
                 scale="risk difference", estimate=0.08, ci_low=-0.02, ci_high=0.18,
                 p_value=0.12, n=118, n_exposed=59, note="few events"),
])
CARRIED = ["outcome", "method", "estimand", "scale", "n_exposed", "note"]


@pytest.fixture
def recorded(monkeypatch):
    """What a notebook's kernel would display: record outputs, captured as display data."""
    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda data, raw=False: shown.append(data))
    return shown


def _executed(path, outputs) -> None:
    cell = nbformat.v4.new_code_cell("record_estimates(table)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=o) for o in outputs]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(path))


def _batch(tmp_path, outputs, *, run_id="r1", grid=None):
    """A finished run folder as a worker leaves it, and the run the batch knows it by."""
    grid = grid or {"institution": "all"}
    run = SimpleNamespace(run_id=run_id, key=f"k-{run_id}", label=f"run {run_id}",
                          notebook="nb.ipynb", parameters=grid, grid=grid, folder=f"runs/{run_id}")
    folder = tmp_path / run.folder
    folder.mkdir(parents=True)
    _executed(folder / "nb.ipynb", outputs)
    records = read_records(folder / "nb.ipynb")
    records.insert(0, "run_id", run_id)
    (folder / RESULTS_FILE).write_text(records.to_json(orient="records", force_ascii=False),
                                       encoding="utf-8")
    write_status(folder, {"run_id": run_id, "key": run.key, "status": "ok", "records": len(records)})
    return run


def test_record_estimates_carries_the_contract_columns(recorded):
    assert record_estimates(TABLE) == 2
    payloads = [o[RECORD_MIME] for o in recorded]
    assert [p["name"] for p in payloads] == ["daily_chaos/AIPW/ATE/mean difference",
                                             "goal_retention/crude/unadjusted/risk difference"]
    first = payloads[0]
    assert {c: first[c] for c in CARRIED} == {
        "outcome": "daily_chaos", "method": "AIPW", "estimand": "ATE",
        "scale": "mean difference", "n_exposed": 60, "note": ""}
    assert (first["estimate"], first["ci_low"], first["ci_high"], first["p_value"], first["n"]) \
        == (-0.31, -0.41, -0.21, 0.001, 120)
    assert first["value"] == first["estimate"]


def test_a_batchs_results_keep_the_contract_columns(recorded, tmp_path):
    record_estimates(TABLE)
    record("mode", "ok")                        # a plain record beside the estimates
    runs = [_batch(tmp_path, recorded)]
    runs_table, results = collect(tmp_path, runs)
    assert list(results.columns) == RESULT_COLUMNS
    estimates = results[results["method"].notna()].reset_index(drop=True)
    check_estimate_table(estimates)
    assert list(estimates[ESTIMATE_COLUMNS].columns) == ESTIMATE_COLUMNS
    for column in CARRIED + ["estimate", "ci_low", "ci_high", "p_value", "n"]:
        expected, got = TABLE[column].tolist(), estimates[column].tolist()
        assert got == expected, column
    plain = results[results["name"] == "mode"].iloc[0]
    assert plain["value"] == "ok" and pd.isna(plain["estimate"]) and pd.isna(plain["outcome"])
    # The extra column `se` of the table is no record field: estimate tables' numbers only.
    assert estimates["extra"].isna().all()

    db, csv = write_results(tmp_path, runs_table, results)
    _, stored = read_results(tmp_path)
    assert {"run_id", "name", "value", "estimate", "ci_low", "ci_high"} <= set(stored.columns)
    stored_estimates = stored[stored["method"].notna()].reset_index(drop=True)
    check_estimate_table(stored_estimates)
    assert stored_estimates["note"].tolist() == ["", "few events"]
    assert stored_estimates["n_exposed"].tolist() == [60, 59]
    shared = pd.read_csv(csv)
    assert {"outcome", "method", "estimand", "scale", "n_exposed", "note"} <= set(shared.columns)


def test_a_grid_parameter_named_like_a_contract_column_is_kept(recorded, tmp_path):
    record_estimates(TABLE.iloc[:1])
    runs = [_batch(tmp_path, recorded, grid={"outcome": "daily_chaos"})]
    out = tidy(*collect(tmp_path, runs))
    assert out.loc[0, "outcome"] == "daily_chaos" and out.loc[0, "param_outcome"] == "daily_chaos"


def test_plain_records_leave_the_shared_table_as_before(recorded, tmp_path):
    record("x_squared", 4.0, estimate=4.0, ci_low=3.0, ci_high=5.0, n=40)
    runs = [_batch(tmp_path, recorded, grid={"outcome": "daily_chaos"})]
    out = tidy(*collect(tmp_path, runs))
    assert list(out.columns) == ["run_id", "label", "status", "outcome", "name", "value",
                                 "estimate", "ci_low", "ci_high", "p_value", "n"]


def test_a_measure_table_recorded_keeps_its_measure(recorded, tmp_path):
    table = measure_table([measure_row(measure="Cronbach's alpha", scale="reliability",
                                       estimate=0.81, ci_low=0.77, ci_high=0.85, n=300,
                                       instrument="ORS")], keys=["instrument"])
    record_estimates(table, name_columns=("instrument", "measure"))
    _, results = collect(tmp_path, [_batch(tmp_path, recorded)])
    row = results.iloc[0]
    assert (row["name"], row["measure"], row["scale"], row["estimate"], row["n"]) == \
        ("ORS/Cronbach's alpha", "Cronbach's alpha", "reliability", 0.81, 300)


def test_the_index_page_shows_contract_results(recorded, tmp_path):
    record_estimates(TABLE)
    runs = [_batch(tmp_path, recorded)]
    runs_table, results = collect(tmp_path, runs)
    page = write_index(tmp_path, runs_table, results, title="Contract")
    text = page.read_text(encoding="utf-8")
    assert "-0.310 [-0.410, -0.210]" in text and "n = 120" in text
    assert np.isfinite(results["n_exposed"]).all()
    assert json.loads(runs_table.loc[0, "grid"]) == {"institution": "all"}
