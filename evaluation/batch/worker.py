"""One run of a batch, as a worker executes it: in a local pool process or on a Dask worker.

The run's folder holds everything about it, written by the worker itself: the executed
notebook (kept when a cell fails), the HTML report, ``results.json`` (the notebook's records),
``run.log`` and ``worker.log``, and last ``status.json``, written atomically. A run whose
folder has a ``status.json`` is finished whatever happens to the batch process afterwards;
that is what ``--resume`` relies on.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

# What every run needs (papermill, nbconvert, the output checker) is imported with this module,
# so a worker process pays for it once, when it first unpickles execute_run or warm_up, not
# once per run.
from evaluation.disclosure.output_check import check_path
from evaluation.errors import DisclosureFindings, IpevalError, NotebookFailed
from evaluation.report.kernels import collecting_kernels, kill_kernels
from evaluation.report.records import read_records
from evaluation.report.run import run_notebook
from evaluation.report.slides import render_slides
from evaluation.study import resolve_study_path

STATUS_FILE = "status.json"
RESULTS_FILE = "results.json"
# Failures worth a retry: the environment failed, not the notebook (a cell that raises does
# so again on a second try).
RETRYABLE = {"timeout", "crashed"}


def execute_run(run: dict) -> dict:
    """Execute one run (a ``Run.to_dict()``) and return its status record.

    Never raises for a failing notebook: the status says ``ok``, ``failed`` (a cell raised),
    ``invalid`` (the notebook stopped on bad input, exit 2), ``timeout`` (past ``timeout_s``;
    the kernel is killed), ``crashed`` (the kernel died or could not start) or ``findings``
    (the output check refused the report).
    """
    # Every run of a batch shares the batch's working directory, so papermill's process-wide
    # chdir (papermill #473) is harmless even with several runs in one Dask worker.
    os.chdir(run["cwd"])
    folder = Path(run["output"]) / run["folder"]
    if folder.exists():
        shutil.rmtree(folder)           # a fresh run: nothing stale from an earlier attempt
    folder.mkdir(parents=True)
    (folder / "worker.pid").write_text(str(os.getpid()))
    started = time.time()
    status = {"run_id": run["run_id"], "key": run["key"], "label": run["label"],
              "notebook": run["notebook"], "parameters": run["parameters"], "grid": run["grid"],
              "folder": run["folder"], "started": _iso(started), "host": os.uname().nodename,
              "status": "ok", "error": None, "findings": 0, "html": None, "executed": None,
              "slides": None, "records": 0}
    timed_out = threading.Event()
    handler = _run_log(folder)
    try:
        with collecting_kernels() as kernels:
            watchdog = None
            if run.get("timeout_s"):
                def expire():
                    timed_out.set()
                    kill_kernels(kernels)
                watchdog = threading.Timer(run["timeout_s"], expire)
                watchdog.daemon = True
                watchdog.start()
            try:
                result = run_notebook(run["notebook"], run["parameters"], folder, html=True)
                status["html"] = _rel(result.html, run)
            finally:
                if watchdog is not None:
                    watchdog.cancel()
    except NotebookFailed as exc:
        status["error"] = str(exc)
        if timed_out.is_set():
            status["status"] = "timeout"
            status["error"] = (f"Stopped after the batch's timeout of {run['timeout_s']:g} s; the "
                               f"kernel was killed. The executed notebook up to that point is kept.")
        elif exc.exit_code == 2:
            status["status"] = "invalid"
        elif "DeadKernelError" in str(exc) or "could not be executed" in str(exc):
            status["status"] = "crashed"
        else:
            status["status"] = "failed"
    except DisclosureFindings as exc:
        status["status"], status["error"] = "findings", str(exc)
        status["findings"] = int(getattr(exc, "summary", {}).get("findings", 1))
    except IpevalError as exc:
        status["status"], status["error"] = "invalid", str(exc)
    except Exception as exc:  # noqa: BLE001 — a worker reports every failure, it never dies of one
        status["status"], status["error"] = "crashed", f"{type(exc).__name__}: {exc}"
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    executed = folder / Path(run["notebook"]).name
    if executed.is_file():
        status["executed"] = _rel(executed, run)
        records = read_records(executed)
        records.insert(0, "run_id", run["run_id"])
        (folder / RESULTS_FILE).write_text(records.to_json(orient="records", force_ascii=False),
                                           encoding="utf-8")
        status["records"] = int(len(records))
        if status["status"] == "ok":
            # The HTML was checked before it was written; the notebook itself (code included)
            # is checked too, since it is kept beside the report.
            study = run["parameters"].get("study")
            found = check_path(executed, study=resolve_study_path(study) if study else None)
            if len(found):
                status["status"], status["findings"] = "findings", int(len(found))
                status["error"] = ("The executed notebook holds what must not be shared: "
                                   + "; ".join(sorted(set(found["rule"].astype(str)))) + ".")
        if status["status"] == "ok" and run.get("slides"):
            status["slides"] = _slides(executed, folder, run, status)
    status["seconds"] = round(time.time() - started, 2)
    write_status(folder, status)
    (folder / "worker.pid").unlink(missing_ok=True)
    return status


def _slides(executed: Path, folder: Path, run: dict, status: dict):
    try:
        target = render_slides(executed, folder / f"{executed.stem}.slides.html",
                               study=run["parameters"].get("study"))
    except DisclosureFindings as exc:
        status["status"], status["error"] = "findings", str(exc)
        return None
    return _rel(target, run)


def write_status(folder: Path, status: dict) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    tmp = folder / f".{STATUS_FILE}.tmp"
    tmp.write_text(json.dumps(status, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, folder / STATUS_FILE)


def read_status(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _run_log(folder: Path) -> logging.Handler:
    """papermill's and ipeval's log lines of this run (this thread only) into worker.log."""
    handler = logging.FileHandler(folder / "worker.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    thread = threading.get_ident()
    handler.addFilter(lambda record: record.thread == thread)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def _rel(path, run: dict) -> str | None:
    if path is None:
        return None
    return os.path.relpath(Path(path).resolve(), run["output"])


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


def warm_up() -> None:
    """Start a worker process: on Linux, die with the batch process so that a killed batch
    leaves no orphan workers behind. (What every run needs was imported with this module,
    once per worker process.)"""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)      # PR_SET_PDEATHSIG: no Python API exists for it
    except (OSError, AttributeError):
        pass
