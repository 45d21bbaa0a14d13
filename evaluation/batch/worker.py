"""One run of a batch, as a worker executes it: in a local pool process or on a Dask worker.

The run's folder holds everything about it, written by the worker itself: the executed
notebook (kept when a cell fails), the HTML report, ``results.json`` (the notebook's records,
checked by :mod:`evaluation.report.record_checks`), ``run.log`` and ``worker.log``, and last
``status.json``, written atomically. A run with findings, and an internal run, leaves its
notebook, report, slides and records in ``internal/`` (mode 0700) instead, never linked. A run whose
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
from evaluation.disclosure.output_check import REPORT_NAME
from evaluation.errors import DisclosureFindings, IpevalError, NotebookFailed
from evaluation.report.gate import INTERNAL_DIR, Gate
from evaluation.report.kernels import collecting_kernels, kill_kernels
from evaluation.report.record_checks import check_records
from evaluation.report.records import read_records
from evaluation.report.run import run_notebook

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
    (the output check found something in the executed notebook, its records, its report or
    slides, or the run is internal: all of them stay in the run's ``internal/`` folder).
    The error is masked as a shared page may show it (:func:`shareable_error`).
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
              "status": "ok", "error": None, "findings": 0, "rules": [], "html": None,
              "executed": None, "slides": None, "internal": None, "records": 0}
    timed_out = threading.Event()
    handler = _run_log(folder)
    executed = None
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
                result = run_notebook(run["notebook"], run["parameters"], folder, html=True,
                                      slides=bool(run.get("slides")))
                executed = result.executed
                status["html"], status["slides"] = _rel(result.html, run), _rel(result.slides, run)
            finally:
                if watchdog is not None:
                    watchdog.cancel()
    except NotebookFailed as exc:
        executed = exc.executed_path
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
        executed = getattr(exc, "executed_path", None)
        summary = getattr(exc, "summary", None) or {}
        status["status"], status["error"] = "findings", str(exc)
        status["findings"] = int(summary.get("findings", 1))
        status["rules"] = list(summary.get("rules", []))
    except IpevalError as exc:
        status["status"], status["error"] = "invalid", str(exc)
    except Exception as exc:  # noqa: BLE001 — a worker reports every failure, it never dies of one
        status["status"], status["error"] = "crashed", f"{type(exc).__name__}: {exc}"
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    gate = Gate(folder, run["parameters"].get("study"))
    if executed is not None and Path(executed).is_file():
        executed = Path(executed)
        inside = INTERNAL_DIR in executed.resolve().relative_to(folder.resolve()).parts
        if inside:
            status["internal"] = _rel(gate.private, run)
            status["rules"] = status["rules"] or _rules_of(gate.private)
        else:
            status["executed"] = _rel(executed, run)
        facts, min_cell = gate.context
        records, _ = check_records(read_records(executed), min_cell=min_cell, facts=facts)
        for record in records:
            record["run_id"] = run["run_id"]
        # The records go beside the notebook: a run whose notebook is internal keeps its
        # records internal too, out of results.duckdb and the pages.
        (executed.parent / RESULTS_FILE).write_text(json.dumps(records, ensure_ascii=False,
                                                               default=str), encoding="utf-8")
        status["records"] = len(records)
    gate.release({})                    # the internal folder goes when nothing is in it
    status["min_cell"] = gate.context[1]
    status["error"] = shareable_error(status["error"], run, gate)
    status["seconds"] = round(time.time() - started, 2)
    write_status(folder, status)
    (folder / "worker.pid").unlink(missing_ok=True)
    return status


def shareable_error(text, run: dict, gate: Gate):
    """A run's error as its status, the batch's summary and ``index.html`` show it: paths of
    the output folder and the working directory made relative, then every small count,
    national ID, identifier and remaining absolute path masked."""
    if not isinstance(text, str) or not text:
        return text
    for base in sorted({str(Path(run["output"]).resolve()), str(Path(run["output"]).absolute()),
                        str(Path(run["cwd"]).resolve())}, key=len, reverse=True):
        text = text.replace(base + os.sep, "")
    return gate.masked(text, everywhere=True)


def _rules_of(private: Path) -> list[str]:
    try:
        report = json.loads((private / REPORT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return sorted(report.get("counts", {}))


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
