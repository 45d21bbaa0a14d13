"""Run one notebook with papermill and render it: the engine of ``ipeval run`` and of batches."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill as pm

from evaluation import errors
from evaluation.errors import DisclosureFindings, NotebookFailed, OutputError
from evaluation.intake.output_paths import writable_dir
from evaluation.report.html import checked_html
from evaluation.report.kernels import IPCKernelManager
from evaluation.report.parameters import check_study_parameter, coerce_parameters, effective_study

_USAGE_ERRORS = {cls.__name__: cls for cls in vars(errors).values()
                 if isinstance(cls, type) and issubclass(cls, errors.IpevalError) and cls.exit_code == 2}


@dataclass
class RunResult:
    notebook: Path
    executed: Path
    html: Path | None
    parameters: dict
    seconds: float
    log: Path
    extra: dict = field(default_factory=dict)


def run_notebook(notebook, parameters: dict | None = None, out_dir="reports", *,
                 show_code: bool = False, html: bool = True, timeout: float | None = None,
                 kernel_name: str = "python3", cwd=None,
                 accept_risk: str | None = None) -> RunResult:
    """Execute ``notebook`` with ``parameters`` into ``out_dir``, check the report with the
    output checker, then write its HTML.

    Raises NotebookFailed (exit 1) when a cell fails; the executed copy with the error is kept.
    Raises DisclosureFindings (exit 1) when the report holds something that must not be shared
    (national ID numbers, identifiers, person-level tables, small cells outside the disclosure
    layer, quotes not de-identified, paths of this machine): the HTML is not written unless
    ``accept_risk`` gives a reason, which is kept in the run's log.
    """
    notebook = Path(notebook)
    params = coerce_parameters(notebook, parameters or {})
    check_study_parameter(notebook, params)
    out_dir = writable_dir(out_dir, purpose="the run's outputs",
                           hint="Give --out a folder you can write to.")
    executed = out_dir / notebook.name
    if executed.resolve() == notebook.resolve():
        raise OutputError(f"The output folder {out_dir} is the notebook's own folder: the executed "
                          f"copy would overwrite {notebook}. Give --out another folder.")
    log = out_dir / "run.log"
    started = time.time()
    status, error, usage_error = "ok", None, None
    try:
        pm.execute_notebook(str(notebook), str(executed), parameters=params,
                            kernel_name=kernel_name, progress_bar=False, log_output=False,
                            execution_timeout=timeout, cwd=None if cwd is None else str(cwd),
                            kernel_manager_class=IPCKernelManager)
    except pm.PapermillExecutionError as exc:
        status = "failed"
        usage_error = _USAGE_ERRORS.get(exc.ename)
        error = (f"{notebook} failed in cell {exc.cell_index} (execution count "
                 f"{exc.exec_count}): {exc.ename}: {str(exc.evalue).rstrip('.')}. The executed notebook with "
                 f"the error is kept at {executed}.")
    except Exception as exc:  # kernel died, timeout, ... : papermill raises assorted types
        status = "failed"
        error = f"{notebook} could not be executed: {type(exc).__name__}: {exc}."
    seconds = time.time() - started
    if executed.is_file():
        _local_paths_out(executed)
    if error:
        _write_log(log, notebook, params, status, seconds, error)
        failed = NotebookFailed(error, executed_path=executed)
        if usage_error is not None:
            # The notebook stopped on one of ipeval's own input errors (an unknown institution,
            # a bad manifest): that is bad usage, exit 2, as if the CLI had found it.
            failed.exit_code = usage_error.exit_code
        raise failed
    html_path, check = None, None
    try:
        if html:
            study = effective_study(notebook, params)
            html_path, check = checked_html(executed, out_dir / f"{notebook.stem}.html",
                                             show_code=show_code, study=study,
                                             accept_risk=accept_risk)
    except DisclosureFindings as exc:
        check = exc.summary
        raise
    finally:   # one log line per run, with the check's outcome, whether or not it refused
        _write_log(log, notebook, params, status, seconds, error, disclosure=check)
    return RunResult(notebook, executed, html_path, params, seconds, log)


def _local_paths_out(executed: Path) -> None:
    """papermill records where the notebook was read and written; an absolute path there
    names the user's machine in a file meant to be shared. Keep the file names only."""
    nb = nbformat.read(str(executed), as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = Path(meta[key]).name
    nbformat.write(nb, str(executed))


def _write_log(log: Path, notebook: Path, params: dict, status: str, seconds: float, error,
               disclosure: dict | None = None) -> None:
    entry = {"notebook": str(notebook), "parameters": params, "status": status,
             "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - seconds)),
             "seconds": round(seconds, 2), "error": error, "disclosure_check": disclosure}
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
