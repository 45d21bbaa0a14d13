"""Run one notebook with papermill, check and render it: the engine of ``ipeval run`` and of batches."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill as pm

from evaluation import errors
from evaluation.disclosure.output_check import REPORT_NAME, write_json
from evaluation.disclosure.private_record import PRIVATE_ENV, clear_private
from evaluation.errors import DisclosureFindings, IpevalError, NotebookFailed, OutputError
from evaluation.intake.output_paths import writable_dir
from evaluation.report.gate import INTERNAL_DIR, Gate, is_internal
from evaluation.report.html import render_html
from evaluation.report.kernels import IPCKernelManager
from evaluation.report.parameters import check_study_parameter, coerce_parameters, effective_study
from evaluation.report.slides import slides_html
from evaluation.report.stamp import run_stamp

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
    slides: Path | None = None
    check: dict | None = None


def run_notebook(notebook, parameters: dict | None = None, out_dir="reports", *,
                 show_code: bool = False, html: bool = True, slides: bool = False,
                 reveal_url_prefix: str | None = None, timeout: float | None = None,
                 kernel_name: str = "python3", cwd=None,
                 accept_risk: str | None = None) -> RunResult:
    """Execute ``notebook`` with ``parameters`` into ``out_dir``, check the executed notebook,
    its records and its HTML (and slides, with ``slides``) with the output checker, and only
    then put them in ``out_dir``, where they are shared.

    The run executes into ``out_dir/internal/`` (mode 0700), so an unchecked notebook is never
    in the shared folder, not even while it runs (:mod:`.gate`). Parameters that are absolute
    paths are passed relative to the kernel's working directory (``cwd``, default this
    process's), as batches pass them, so the executed notebook names no folder of the machine.

    Raises NotebookFailed (exit 1) when a cell fails; the executed copy with the error is kept
    (in ``out_dir`` when the output check finds nothing in it, else in ``internal/``). The
    error's text from the notebook is masked (national IDs, identifiers, small counts).
    Raises DisclosureFindings (exit 1) when an output holds something that must not be shared
    (national ID numbers, identifiers, person-level tables, small cells outside the disclosure
    layer, quotes not de-identified, paths of this machine, in a report or a record), or when
    the run is internal (parameter ``internal = True``): the executed notebook, the HTML and
    the slides then stay in ``internal/`` with ``disclosure_check.json``. ``accept_risk``
    (a reason, kept in the run's log) puts the outputs of a run with findings in ``out_dir``
    anyway; never those of an internal run.
    """
    notebook = Path(notebook)
    params = coerce_parameters(notebook, parameters or {})
    check_study_parameter(notebook, params)
    out_dir = writable_dir(out_dir, purpose="the run's outputs",
                           hint="Give --out a folder you can write to.")
    shared = out_dir / notebook.name
    if shared.resolve() == notebook.resolve() or \
            (out_dir / INTERNAL_DIR / notebook.name).resolve() == notebook.resolve():
        raise OutputError(f"The output folder {out_dir} is the notebook's own folder: the executed "
                          f"copy would overwrite {notebook}. Give --out another folder.")
    study = effective_study(notebook, params)       # as given: the gate reads it from here
    params = _relative_paths(params, cwd)
    targets = {"notebook": shared, "html": out_dir / f"{notebook.stem}.html",
               "slides": out_dir / f"{notebook.stem}.slides.html"}
    for old in targets.values():       # an earlier run's outputs would pass for this run's
        old.unlink(missing_ok=True)
    gate = Gate(out_dir, study)
    executed = gate.private / notebook.name
    # The kernel's Disclosure keeps the tables it showed (their shown values, which cells are
    # hidden, the ledger's true counts) in OUT/.private (0700): what a batch's release needs to
    # protect all its runs together and re-render a report without running it again.
    private = clear_private(out_dir)
    manager = IPCKernelManager.with_env({PRIVATE_ENV: str(private.resolve())})
    log = out_dir / "run.log"
    started = time.time()
    status, error, usage_error = "ok", None, None
    try:
        pm.execute_notebook(str(notebook), str(executed), parameters=params,
                            kernel_name=kernel_name, progress_bar=False, log_output=False,
                            execution_timeout=timeout, cwd=None if cwd is None else str(cwd),
                            kernel_manager_class=manager)
    except pm.PapermillExecutionError as exc:
        status = "failed"
        usage_error = _USAGE_ERRORS.get(exc.ename)
        error = (f"{notebook} failed in cell {exc.cell_index} (execution count "
                 f"{exc.exec_count}): {exc.ename}: "
                 f"{gate.masked(str(exc.evalue).rstrip('.'))}.")
    except Exception as exc:  # kernel died, timeout, ... : papermill raises assorted types
        status = "failed"
        error = f"{notebook} could not be executed: {type(exc).__name__}: {gate.masked(str(exc))}."
    seconds = time.time() - started
    stamp = None
    if not error:
        try:       # after the run: the stamp says what the report was made from
            stamp = run_stamp(notebook, params, cwd=cwd)
        except (IpevalError, OSError) as exc:      # an input went away while it ran
            status = "failed"
            error = (f"{notebook} ran, but its provenance stamp could not be made: "
                     f"{gate.masked(str(exc))}. Run it again once its inputs are in place.")
    if executed.is_file():
        _finish_metadata(executed, stamp)
    if error:
        kept, check = _failed_notebook(gate, executed, shared)
        error += f" The executed notebook with the error is kept at {kept}" + (
            f" (the output check found {', '.join(check['rules'])} in it: not for sharing)."
            if check["findings"] else " (it could not be checked: not for sharing)."
            if check["findings"] is None else ".") if kept else ""
        _write_log(log, notebook, params, status, seconds, error, disclosure=check)
        failed = NotebookFailed(error, executed_path=kept)
        if usage_error is not None:
            # The notebook stopped on one of ipeval's own input errors (an unknown institution,
            # a bad manifest): that is bad usage, exit 2, as if the CLI had found it.
            failed.exit_code = usage_error.exit_code
        raise failed
    check = None
    try:
        written, check = _gate_outputs(gate, executed, targets, html=html, slides=slides,
                                       show_code=show_code, params=params,
                                       reveal_url_prefix=reveal_url_prefix,
                                       accept_risk=accept_risk)
    except DisclosureFindings as exc:
        check = exc.summary
        raise
    finally:   # one log line per run, with the check's outcome, whether or not it refused
        _write_log(log, notebook, params, status, seconds, error, disclosure=check)
    return RunResult(notebook, written["notebook"], written.get("html"), params, seconds, log,
                     slides=written.get("slides"), check=check)


def _failed_notebook(gate: Gate, executed: Path, shared: Path):
    """A failed run's notebook goes where it is shared only if the output check finds nothing
    in it; ``(where it is, check summary)``."""
    if not executed.is_file():
        gate.release({})
        return None, gate.summary(gate.check({}), report=None, internal=False,
                                  accept_risk=None, written=False)
    try:
        findings = gate.check({shared.name: executed}, records_of=executed)
    except IpevalError:        # the study that made the run fail may not be readable either
        return executed, {"report": None, "findings": None, "rules": ["unchecked"],
                          "counts": {}, "internal": False, "accepted_risk": None,
                          "written": False, "internal_folder": INTERNAL_DIR}
    if len(findings):
        write_json(findings, gate.private / REPORT_NAME)
        return executed, gate.summary(findings, report=None, internal=False, accept_risk=None,
                                      written=False)
    gate.release({shared: executed})
    return shared, gate.summary(findings, report=None, internal=False, accept_risk=None,
                                written=True)


def _gate_outputs(gate: Gate, executed: Path, targets: dict, *, html: bool, slides: bool,
                  show_code: bool, params: dict, reveal_url_prefix, accept_risk):
    """Render into the internal folder, check everything, then release or refuse."""
    internal = is_internal(executed, params)
    drafts = {"notebook": executed}
    if html:
        drafts["html"] = render_html(executed, gate.private / targets["html"].name,
                                     show_code=show_code, internal=internal)
    if slides:
        drafts["slides"] = gate.private / targets["slides"].name
        drafts["slides"].write_text(slides_html(executed, reveal_url_prefix=reveal_url_prefix,
                                                internal=internal), encoding="utf-8")
    findings = gate.check({targets[k].name: path for k, path in drafts.items()},
                          records_of=executed, internal=internal)
    refused = len(findings) and (internal or not accept_risk)
    check = gate.summary(findings, report=targets["html"].name if html else None,
                         internal=internal, accept_risk=accept_risk, written=not refused)
    if refused:
        kept = ["the executed notebook"] + (["its HTML report"] if html else []) + \
            (["its slides"] if slides else [])
        raise gate.refuse(findings, kept, internal=internal, summary=check, executed=executed)
    gate.release({targets[k]: path for k, path in drafts.items()})
    return {k: targets[k] for k in drafts}, check


def _relative_paths(params: dict, cwd) -> dict:
    """Paths given absolute are passed relative to the kernel's working directory, as a batch
    passes them: papermill writes every parameter into the executed notebook (its metadata and
    a cell), and an absolute path there names the user's machine, which the output check
    refuses."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    return {name: os.path.relpath(value, base)
            if isinstance(value, str) and os.path.isabs(value) and Path(value).parent.exists()
            else value for name, value in params.items()}


def _finish_metadata(executed: Path, stamp: dict | None) -> None:
    """papermill records where the notebook was read and written; an absolute path there
    names the user's machine in a file meant to be shared. Keep the file names only, and add
    the run's provenance stamp (``metadata["ipeval"]["stamp"]``), which the HTML and slides
    show at their end."""
    nb = nbformat.read(str(executed), as_version=4)
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = Path(meta[key]).name
    if stamp is not None:
        nb.metadata.setdefault("ipeval", {})["stamp"] = stamp
    nbformat.write(nb, str(executed))


def _write_log(log: Path, notebook: Path, params: dict, status: str, seconds: float, error,
               disclosure: dict | None = None) -> None:
    entry = {"notebook": str(notebook), "parameters": params, "status": status,
             "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - seconds)),
             "seconds": round(seconds, 2), "error": error, "disclosure_check": disclosure}
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
