"""Batches: expansion and checks of a batch file, failures that never stop the others, resume
after the batch process is killed, a real Dask cluster, and the collected results tables."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from evaluation.batch import load_batch, read_results, run_batch
from evaluation.batch.spec import input_fingerprint
from evaluation.cli import main
from evaluation.errors import InputFileError, ManifestError, ParameterError

ROOT = Path(__file__).resolve().parents[2]
IPEVAL = str(Path(sys.executable).with_name("ipeval"))

# A notebook that behaves as its `mode` parameter says: records figures, raises, sleeps past
# the timeout, or kills its own kernel.
TOY_CELLS = [
    ("parameters", 'mode = "ok"\nx = 1\nnap = 0.0\nstudy = None\nmarker = None'),
    (None, "import os, time\nfrom evaluation import record\n"
           "if marker:\n    open(marker, 'a').write(f'{mode}-{x}\\n')\n"
           "time.sleep(nap)\n"
           "record('x_squared', x * x, estimate=float(x * x), ci_low=x * x - 1.0, "
           "ci_high=x * x + 1.0, n=40)"),
    (None, "if mode == 'fail':\n    raise ValueError('planted failure')\n"
           "if mode == 'sleep':\n    time.sleep(120)\n"
           "if mode == 'kill':\n    import signal\n    os.kill(os.getpid(), signal.SIGKILL)\n"
           "record('mode', mode)"),
]


def toy_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for tag, source in TOY_CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    path = folder / "toy.ipynb"
    nbformat.write(nb, path)
    return path


def write_batch(folder: Path, **spec) -> Path:
    path = folder / "batch.yaml"
    path.write_text(yaml.safe_dump({"notebook": "toy.ipynb", "output": "out", **spec},
                                   allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    toy_notebook(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ the batch file

def test_grid_and_list_parameters_expand_to_their_cross_product(toy):
    spec = load_batch(write_batch(toy, parameters={"x": [1, 2, 3], "mode": "ok"},
                                  grid={"nap": [0.0, 0.5]}))
    assert len(spec.runs) == 6
    assert {(r.parameters["x"], r.parameters["nap"]) for r in spec.runs} == \
        {(x, n) for x in (1, 2, 3) for n in (0.0, 0.5)}
    assert len({r.run_id for r in spec.runs}) == 6 and len({r.folder for r in spec.runs}) == 6
    assert spec.runs[0].label == "x=1 · nap=0.0"


def test_list_valued_parameter_of_list_type_is_passed_whole(small_study, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({
        "notebook": str(ROOT / "notebooks/ip_evaluation.ipynb"), "output": "out",
        "parameters": {"study": str(small_study / "study.yaml"), "methods": ["crude", "aipw"]},
        "grid": {"institution": ["all", "Karlsborg"]}}, allow_unicode=True), encoding="utf-8")
    spec = load_batch(path)
    assert len(spec.runs) == 2
    assert all(r.parameters["methods"] == ["crude", "aipw"] for r in spec.runs)
    # `all` means every institution (None); the label keeps the word
    assert [r.parameters["institution"] for r in spec.runs] == [None, "Karlsborg"]
    assert spec.runs[0].label == "institution=all"
    # paths are passed relative to the working directory: no absolute path in a notebook
    assert not Path(spec.runs[0].parameters["study"]).is_absolute()
    assert spec.runs[0].parameters["output_dir"].endswith(spec.runs[0].folder)


def test_the_default_batch_checks_and_expands(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = load_batch(ROOT / "notebooks/default_batch.yaml")
    assert len(spec.runs) == 14
    assert {r.grid["outcome"] for r in spec.runs} == {"goal_retention", "daily_chaos"}
    assert spec.runs[0].parameters["study"] == "data_synthetic/study.yaml"


@pytest.mark.parametrize("spec, message", [
    ({"parameters": {"nonsense": 1}}, "Unknown parameter(s) 'nonsense'"),
    ({"parameters": {"x": "three"}}, "expects int"),
    ({"grid": {"x": 3}}, "must be a non-empty list"),
    ({"grid": {"x": [1]}, "parameters": {"x": 2}}, "given both"),
    ({"timeout_s": -5}, "positive number of seconds"),
    ({"retries": "twice"}, "whole number"),
    ({"colour": "red"}, "unknown key(s) 'colour'"),
])
def test_a_bad_batch_file_is_refused_before_anything_runs(toy, spec, message):
    with pytest.raises((ParameterError, ManifestError), match=None) as info:
        load_batch(write_batch(toy, **spec))
    assert message in str(info.value)
    assert not (toy / "out").exists()


def test_bad_batch_file_exits_2_naming_the_run(toy, capsys):
    path = write_batch(toy, grid={"x": [1, "two"]})
    assert main(["batch", str(path)]) == 2
    err = capsys.readouterr().err
    assert "run x=two" in err and "expects int" in err


def test_run_key_changes_with_notebook_parameters_and_data(study_copy, toy):
    base = load_batch(write_batch(toy, parameters={"study": str(study_copy / "study.yaml")}))
    again = load_batch(write_batch(toy, parameters={"study": str(study_copy / "study.yaml")}))
    assert base.runs[0].key == again.runs[0].key
    other = load_batch(write_batch(toy, parameters={"study": str(study_copy / "study.yaml"), "x": 2}))
    assert other.runs[0].key != base.runs[0].key
    before = input_fingerprint(str(study_copy / "study.yaml"), toy)
    register = next(study_copy.glob("persons*"))
    register.write_bytes(register.read_bytes() + b"\n")
    assert input_fingerprint(str(study_copy / "study.yaml"), toy) != before
    assert load_batch(write_batch(toy, parameters={"study": str(study_copy / "study.yaml")})
                      ).runs[0].key != base.runs[0].key
    before = load_batch(write_batch(toy)).runs[0].key
    nb = toy / "toy.ipynb"
    nb.write_text(nb.read_text().replace("nap = 0.0", "nap = 0.01"))
    assert load_batch(write_batch(toy)).runs[0].key != before


# ------------------------------------------------------------------ running

@pytest.mark.notebook
def test_failures_timeouts_and_killed_kernels_never_stop_the_others(toy):
    path = write_batch(toy, grid={"mode": ["ok", "fail", "sleep", "kill"]}, parameters={"x": 3},
                       timeout_s=15, retries=1)
    outcome = run_batch(path, workers=2, progress=False, out=lambda *_: None)
    runs = outcome.runs.set_index(outcome.runs["label"].str.replace("mode=", ""))
    assert runs["status"].to_dict() == {"ok": "ok", "fail": "failed", "sleep": "timeout",
                                        "kill": "crashed"}
    # environment failures are tried again; a cell that raised is not
    assert runs["attempts"].to_dict() == {"ok": 1, "fail": 1, "sleep": 2, "kill": 2}
    assert outcome.exit_code == 1
    assert "planted failure" in runs.loc["fail", "error"]
    assert "timeout of 15 s" in runs.loc["sleep", "error"]
    # the executed notebook with the error is kept for every failed run
    for label in ("fail", "sleep", "kill"):
        assert (toy / "out" / runs.loc[label, "folder"] / "toy.ipynb").is_file()
    failed_nb = nbformat.read(toy / "out" / runs.loc["fail", "folder"] / "toy.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in failed_nb.cells for o in c.get("outputs", []))
    # the results tables: every run listed; the ok run's two records, the failed runs' first one
    db_runs, results = read_results(toy / "out")
    assert len(db_runs) == 4 and set(db_runs["status"]) == {"ok", "failed", "timeout", "crashed"}
    ok_id = runs.loc["ok", "run_id"]
    mine = results[results["run_id"] == ok_id].set_index("name")
    assert mine.loc["x_squared", "estimate"] == 9.0 and mine.loc["x_squared", "ci_high"] == 10.0
    assert mine.loc["mode", "value"] == "ok" and mine.loc["x_squared", "n"] == 40
    assert set(results["name"]) == {"x_squared", "mode"}
    assert (results["name"] == "mode").sum() == 1
    html = (toy / "out" / "index.html").read_text(encoding="utf-8")
    assert html.index("fail") < html.index(runs.loc["ok", "folder"])


@pytest.mark.notebook
def test_resume_after_the_batch_process_is_killed(toy):
    marker = toy / "executions.txt"
    path = write_batch(toy, grid={"x": [1, 2, 3, 4]},
                       parameters={"nap": 3.0, "marker": marker.name}, timeout_s=120)
    proc = subprocess.Popen([IPEVAL, "batch", str(path), "--workers", "1", "--no-progress"],
                            cwd=toy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs_dir = toy / "out" / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and not list(runs_dir.glob("*/status.json")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    finished = {p.parent.name: json.loads(p.read_text())["started"]
                for p in runs_dir.glob("*/status.json")}
    assert 1 <= len(finished) < 4, "the batch should be killed midway"
    time.sleep(1.0)      # the killed batch's worker dies with it (PR_SET_PDEATHSIG)
    outcome = run_batch(path, workers=2, resume=True, progress=False, out=lambda *_: None)
    assert outcome.skipped == len(finished)
    assert set(outcome.runs["status"]) == {"ok"} and outcome.exit_code == 0
    for folder, started in finished.items():       # finished runs were not run again
        assert json.loads((runs_dir / folder / "status.json").read_text())["started"] == started
    _, results = read_results(toy / "out")
    assert sorted(results.loc[results["name"] == "x_squared", "estimate"]) == [1, 4, 9, 16]
    lines = marker.read_text().split()
    assert all(lines.count(f"ok-{x}") >= 1 for x in (1, 2, 3, 4))
    assert len(lines) <= 4 + 1          # at most the one run in flight at the kill ran twice


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.notebook
def test_a_batch_runs_on_a_real_dask_scheduler_and_workers(toy):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], cwd=toy, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        _wait_for_port(port)
        for _ in range(2):
            workers.append(subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                 "--local-directory", str(toy / "dask-worker-space")],
                cwd="/", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        path = write_batch(toy, grid={"x": [2, 5], "mode": ["ok", "fail"]}, timeout_s=120)
        code = main(["batch", str(path), "--scheduler", address, "--no-progress"])
        assert code == 1                      # the two `fail` runs
        runs, results = read_results(toy / "out")
        assert sorted(runs["status"]) == ["failed", "failed", "ok", "ok"]
        ok = results[results["name"] == "x_squared"]
        assert sorted(ok["estimate"]) == [4.0, 4.0, 25.0, 25.0]   # failed runs record x first
        hosts = {json.loads((toy / "out" / f / "status.json").read_text())["host"]
                 for f in runs["folder"]}
        assert hosts == {socket.gethostname()} or len(hosts) >= 1
    finally:
        for p in workers + [scheduler]:
            p.terminate()
        for p in workers + [scheduler]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"the Dask scheduler did not open port {port}")


def test_unreachable_scheduler_is_a_clear_usage_error(toy, capsys):
    path = write_batch(toy, grid={"x": [1]})
    assert main(["batch", str(path), "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
                 "--no-progress"]) == 2
    assert "Cannot reach the Dask scheduler" in capsys.readouterr().err


# ------------------------------------------------------------------ results

def test_results_of_a_missing_batch_is_exit_2(tmp_path, capsys):
    assert main(["results", str(tmp_path)]) == 2
    assert "results.duckdb" in capsys.readouterr().err
    (tmp_path / "results.duckdb").write_text("not a database")
    with pytest.raises(InputFileError, match="not a DuckDB database"):
        read_results(tmp_path)


# ------------------------------------------------------------------ end to end

@pytest.mark.notebook
def test_a_real_batch_on_the_small_study_presents_its_results(small_study, tmp_path, monkeypatch):
    """The headline notebook by institution, as `make demo` runs it: every page loads in
    Chromium with no errors, images render, links resolve; the slides are written."""
    from browser import assert_page_is_sound, chromium, serve, visit
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump({
        "notebook": str(ROOT / "notebooks/ip_evaluation.ipynb"), "output": "out",
        "parameters": {"study": str(small_study / "study.yaml"), "outcome": "daily_chaos",
                       "methods": ["crude", "aipw"]},
        "grid": {"institution": ["all", "Karlsborg"]}, "key": "*/AIPW/ATE/*",
        "compare_by": "institution", "slides": True}, allow_unicode=True), encoding="utf-8")
    outcome = run_batch(path, workers=2, progress=False, out=lambda *_: None)
    assert outcome.exit_code == 0, outcome.runs[["label", "status", "error"]].to_string()
    runs, results = read_results(tmp_path / "out")
    aipw = results[results["name"] == "daily_chaos/AIPW/ATE/mean difference"]
    assert len(aipw) == 2 and (aipw["ci_low"] < aipw["estimate"]).all()
    assert all((tmp_path / "out" / s).is_file() for s in runs["slides"])
    # the batch's whole output folder passes the output check
    from evaluation.disclosure.output_check import check_path
    assert check_path(tmp_path / "out", study=small_study / "study.yaml").empty
    with serve(tmp_path / "out") as base, chromium() as browser:
        for page, images in (("index.html", 0), ("comparison.html", 1),
                             (runs["html"].iloc[0], 3)):
            seen = visit(browser, base + page)
            assert_page_is_sound(seen, min_images=images)
            assert seen.external == []
            seen.page.close()
