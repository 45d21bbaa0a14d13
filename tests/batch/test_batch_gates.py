"""The gates of a batch: a run with findings (or an internal run) keeps nothing where it is
shared, index.html links none of its reports, the comparison leaves it out, records are
checked before they reach results.duckdb, and error texts on the pages are masked."""
from __future__ import annotations

import json
import math
import stat
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest
import yaml

from evaluation.batch import collect, read_results, run_batch, write_index, write_results
from evaluation.batch.worker import RESULTS_FILE, write_status

VALID_FNR = "31129956715"
PLANTED = "both complete residents at Lillevik have no IP (2 people)"

# Every mode records the key estimate (0.25 when clean, 0.77 otherwise) and a figure resting
# on 3 people; then it leaks in its own way.
GATE_CELLS = [
    ("parameters", 'mode = "ok"\ninternal = False\nstudy = None'),
    (None, "from evaluation import record\n"
           "_ = record('y/RD', 0, estimate=0.25 if mode == 'ok' else 0.77, ci_low=0.1, "
           "ci_high=0.9, n=40)\n"
           "_ = record('small/Lillevik', 0.5, estimate=0.5, ci_low=0.1, ci_high=0.9, n=3)"),
    (None, f"if mode == 'leak':\n    print('pasient ' + '{VALID_FNR[:5]}' + '{VALID_FNR[5:]}')\n"
           f"if mode == 'record_leak':\n"
           f"    _ = record('caller', '{VALID_FNR[:5]}' + '{VALID_FNR[5:]}')\n"
           "if mode == 'fail':\n"
           "    import csv, pathlib\n"
           "    rows = list(csv.reader(open(pathlib.Path(study).parent / 'persons.csv', "
           "encoding='utf-8-sig'), delimiter=';'))[1:3]\n"
           f"    raise ValueError('{PLANTED}: ' + ', '.join(r[0] for r in rows))\n"
           "print('done')"),
]


def _gate_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells.append(nbformat.v4.new_markdown_cell("# Gates"))
    for tag, source in GATE_CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    path = folder / "gates.ipynb"
    nbformat.write(nb, path)
    return path


def _batch_file(folder: Path, name: str, **spec) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"notebook": "gates.ipynb", "output": name, "key": "y/RD",
                                    "timeout_s": 120, "retries": 0, **spec},
                                   allow_unicode=True), encoding="utf-8")
    return path


def _raw_ids(study: Path) -> list[str]:
    lines = (study / "persons.csv").read_text(encoding="utf-8-sig").splitlines()[1:3]
    return [line.split(";")[0] for line in lines]


@pytest.mark.notebook
def test_runs_with_findings_leave_nothing_shareable(small_study, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _gate_notebook(tmp_path)
    path = _batch_file(tmp_path, "out", parameters={"study": str(small_study / "study.yaml")},
                       grid={"mode": ["ok", "leak", "record_leak", "fail"]})
    outcome = run_batch(path, workers=2, progress=False, out=lambda *_: None)
    assert outcome.exit_code == 1
    runs = outcome.runs.set_index(outcome.runs["label"].str.replace("mode=", ""))
    assert runs["status"].to_dict() == {"ok": "ok", "leak": "findings",
                                        "record_leak": "findings", "fail": "failed"}
    out = tmp_path / "out"
    for mode in ("leak", "record_leak", "fail"):
        folder = out / runs.loc[mode, "folder"]
        assert not list(folder.glob("*.html")) and not (folder / "gates.ipynb").exists(), mode
        internal = folder / "internal"
        assert (internal / "gates.ipynb").is_file() and \
            stat.S_IMODE(internal.stat().st_mode) == 0o700, mode
        assert not (folder / RESULTS_FILE).exists(), mode     # its records stay internal
    assert (out / runs.loc["leak", "folder"] / "internal" / "gates.html").is_file()
    assert runs.loc["leak", "rules"] == "national_id" and \
        runs.loc["record_leak", "rules"] == "national_id"
    assert not (out / runs.loc["ok", "folder"] / "internal").exists()

    index = (out / "index.html").read_text(encoding="utf-8")
    for mode in ("leak", "record_leak", "fail"):
        row = index[index.index(f'data-run-id="{runs.loc[mode, "run_id"]}"'):]
        row = row[:row.index("</tr>")]
        assert ">report<" not in row and ">notebook<" not in row and "internal/" in row, mode
    assert "Output check: national_id" in index
    # the failure text: masked, without the small count or the identifiers it names
    assert "<5 complete residents" in index or "&lt;5 complete residents" in index
    assert "(2 people)" not in index and "both complete" not in index
    for raw in _raw_ids(small_study):
        assert raw not in index and raw not in runs.loc["fail", "error"]
    assert VALID_FNR not in index

    comparison = (out / "comparison.html").read_text(encoding="utf-8")
    assert "0.250" in comparison and "0.770" not in comparison

    db_runs, results = read_results(out)
    assert set(results["run_id"]) == {runs.loc["ok", "run_id"]}
    small = results[results["name"] == "small/Lillevik"].iloc[0]
    assert all(math.isnan(small[c]) for c in ("estimate", "ci_low", "ci_high", "n"))
    assert small["note"] == "rests on fewer than 5 people"
    stored = results.astype(str).to_csv() + db_runs.astype(str).to_csv() + \
        (out / "results.csv").read_text(encoding="utf-8")
    assert VALID_FNR not in stored and str(tmp_path) not in stored
    assert not any(raw in stored for raw in _raw_ids(small_study))


@pytest.mark.notebook
def test_an_internal_batch_run_is_labelled_and_never_linked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _gate_notebook(tmp_path)
    path = _batch_file(tmp_path, "internal_out", parameters={"internal": True}, slides=True)
    outcome = run_batch(path, workers=1, progress=False, out=lambda *_: None)
    run = outcome.runs.iloc[0]
    assert run["status"] == "findings" and run["rules"] == "internal_output"
    folder = tmp_path / "internal_out" / run["folder"]
    assert not list(folder.glob("*.html")) and run["html"] is None
    page = (folder / "internal" / "gates.html").read_text(encoding="utf-8")
    assert 'class="ipeval-internal"' in page and "INTERNAL — not for sharing" in page
    slides = (folder / "internal" / "gates.slides.html").read_text(encoding="utf-8")
    assert slides.count('class="ipeval-internal"') >= 1
    index = (tmp_path / "internal_out" / "index.html").read_text(encoding="utf-8")
    assert ">report<" not in index and "gates.html" not in index
    assert not (tmp_path / "internal_out" / "comparison.html").exists()


# ------------------------------------------------------------------ without kernels

def _finished_run(out: Path, run_id: str, status: str, records: list, **extra):
    run = SimpleNamespace(run_id=run_id, key=f"k-{run_id}", label=f"site={run_id}",
                          notebook="nb.ipynb", parameters={"site": run_id},
                          grid={"site": run_id}, folder=f"runs/{run_id}")
    folder = out / run.folder
    folder.mkdir(parents=True)
    (folder / RESULTS_FILE).write_text(json.dumps(records), encoding="utf-8")
    (folder / "nb.html").write_text("<p>report</p>", encoding="utf-8")
    (folder / "nb.ipynb").write_text("{}", encoding="utf-8")
    write_status(folder, {"run_id": run_id, "key": run.key, "status": status,
                          "html": f"{run.folder}/nb.html", "executed": f"{run.folder}/nb.ipynb",
                          "records": len(records), **extra})
    return run


def test_records_are_checked_where_they_enter_the_shared_tables(tmp_path):
    """A results.json written by an older ipeval (or by hand) is checked by collect too."""
    records = [{"run_id": "a", "name": "y/RD", "value": 0.2, "estimate": 0.2, "n": 80},
               {"run_id": "a", "name": "few", "value": 0.5, "estimate": 0.5, "n": 2},
               {"run_id": "a", "name": "where", "value": "/home/kari/prosjekt/data.csv"},
               {"run_id": "a", "name": f"id {VALID_FNR}", "value": VALID_FNR}]
    runs = [_finished_run(tmp_path, "a", "ok", records, min_cell=5),
            _finished_run(tmp_path, "b", "findings", [{"run_id": "b", "name": "y/RD",
                                                       "estimate": 0.9, "n": 50}])]
    runs_table, results = collect(tmp_path, runs)
    write_results(tmp_path, runs_table, results)
    _, stored = read_results(tmp_path)
    assert list(stored["run_id"].unique()) == ["a"]          # the findings run: none
    by_name = stored.set_index("name")
    assert math.isnan(by_name.loc["few", "estimate"]) and math.isnan(by_name.loc["few", "n"])
    assert by_name.loc["y/RD", "estimate"] == 0.2
    text = stored.astype(str).to_csv() + (tmp_path / "results.csv").read_text()
    assert VALID_FNR not in text and "/home/kari" not in text


def test_the_index_links_no_report_of_a_run_with_findings(tmp_path):
    runs = [_finished_run(tmp_path, "a", "ok", []),
            _finished_run(tmp_path, "b", "findings", [], rules=["national_id"],
                          error="The run's outputs were not put where they are shared.")]
    runs_table, results = collect(tmp_path, runs)
    results = pd.DataFrame([{"run_id": "b", "name": "y/RD", "estimate": 0.9, "n": 50.0}])
    runs_table.loc[runs_table["run_id"] == "b", "error"] = \
        f"{PLANTED}; caller {VALID_FNR}; 3 rows"
    page = write_index(tmp_path, runs_table, results, title="Gates").read_text(encoding="utf-8")
    row_b = page[page.index('data-run-id="b"'):]
    row_b = row_b[:row_b.index("</tr>")]
    assert 'href="runs/b/nb.html"' not in page and 'href="runs/b/nb.ipynb"' not in page
    assert 'href="runs/a/nb.html"' in page
    assert "national_id" in row_b and "0.900" not in row_b
    assert "(2 people)" not in row_b and VALID_FNR not in row_b and "3 rows" not in row_b
