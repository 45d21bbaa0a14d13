"""Run one notebook with papermill and render it: the engine of ``ipeval run`` and of batches.

papermill only warns about parameters the notebook does not declare (papermill #818) and passes
values through untyped; here an unknown name or a value of the wrong type stops the run before
a kernel starts.
"""
from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager

import nbformat
import papermill as pm
from jupyter_client.manager import AsyncKernelManager
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from traitlets import CaselessStrEnum

from . import errors
from .errors import DisclosureFindings, InputFileError, NotebookFailed, OutputError, ParameterError
from .output import writable_dir

_NONE_WORDS = {"none", "null", "~"}
_USAGE_ERRORS = {cls.__name__: cls for cls in vars(errors).values()
                 if isinstance(cls, type) and issubclass(cls, errors.IpevalError) and cls.exit_code == 2}
_TRUE_WORDS = {"true", "yes", "1"}
_FALSE_WORDS = {"false", "no", "0"}
# Kernel managers started in this thread while a caller collects them: a batch's watchdog
# must kill the kernel of a run past its timeout, and papermill gives no handle on it.
_STARTED = threading.local()


class IPCKernelManager(AsyncKernelManager):
    """A kernel reached over Unix sockets instead of TCP.

    ipykernel 7 warns that a TCP kernel sends code and outputs unencrypted; with health data on
    shared compute nodes no other user of the node should be able to connect. The sockets live
    in a private temporary folder (mode 0700), not in the working directory.
    """

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        registry = getattr(_STARTED, "managers", None)
        if registry is not None:
            registry.append(self)
        self._socket_dir = None
        if self.transport == "ipc":
            self._socket_dir = tempfile.mkdtemp(prefix="ipeval-kernel-")
            self.ip = os.path.join(self._socket_dir, "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


@contextmanager
def collecting_kernels():
    """The kernel managers that runs in this thread start, as a list filled while they run."""
    _STARTED.managers = started = []
    try:
        yield started
    finally:
        _STARTED.managers = None


def kill_kernels(managers) -> int:
    """Kill the process groups of these kernels (SIGKILL); returns how many were alive.
    The kernel's client then sees a dead kernel and papermill stops the run."""
    killed = 0
    for km in list(managers):
        provisioner = getattr(km, "provisioner", None)
        pgid, pid = getattr(provisioner, "pgid", None), getattr(provisioner, "pid", None)
        try:
            if pgid:
                os.killpg(pgid, signal.SIGKILL)
            elif pid:
                os.kill(pid, signal.SIGKILL)
            else:
                continue
            killed += 1
        except ProcessLookupError:
            pass
    return killed


@dataclass
class RunResult:
    notebook: Path
    executed: Path
    html: Path | None
    parameters: dict
    seconds: float
    log: Path
    extra: dict = field(default_factory=dict)


def notebook_parameters(notebook) -> dict:
    """The ``parameters`` cell of a notebook: name -> {'default': ..., 'type': ...}."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise InputFileError(notebook, "notebook not found.")
    try:
        declared = pm.inspect_notebook(str(notebook))
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise InputFileError(notebook, f"cannot read the notebook ({exc}).") from None
    out = {}
    for name, info in declared.items():
        # papermill gives the default as source text and a type only from annotations; the
        # type of the literal default is what the notebook's author meant.
        text = info.get("default")
        try:
            default = ast.literal_eval(text) if isinstance(text, str) else text
        except (ValueError, SyntaxError):
            default = text
        annotated = info.get("inferred_type_name")
        type_name = annotated if annotated and annotated != "None" else (
            "None" if default is None else type(default).__name__)
        out[name] = {"default": default, "type": type_name}
    return out


def coerce_parameters(notebook, given: dict) -> dict:
    """Check names against the notebook's ``parameters`` cell and convert text values (from the
    command line) to the declared default's type. Raises ParameterError naming the problem."""
    declared = notebook_parameters(notebook)
    if not declared and given:
        raise ParameterError(f"{notebook} has no cell tagged 'parameters', so it takes no "
                             f"parameters; got {', '.join(given)}.")
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise ParameterError(
            f"Unknown parameter(s) {', '.join(map(repr, unknown))} for {notebook}. It declares: "
            + ", ".join(f"{n} ({d['type']}, default {d['default']})" for n, d in declared.items())
            + ".")
    return {name: _coerce(name, value, declared[name]["type"], notebook)
            for name, value in given.items()}


def _coerce(name: str, value, type_name: str, notebook) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in _NONE_WORDS and type_name in {"None", "str"}:
        return None
    if type_name == "None":
        # A parameter whose default is None says nothing about its type: a Python literal
        # (0.02, True, ["a", "b"]) is taken as that, anything else as text.
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    try:
        if type_name == "int":
            return int(text)
        if type_name == "float":
            return float(text)
        if type_name == "bool":
            if text.lower() in _TRUE_WORDS | _FALSE_WORDS:
                return text.lower() in _TRUE_WORDS
            raise ValueError(text)
        if type_name in {"list", "dict"}:
            parsed = json.loads(text)
            if type(parsed).__name__ != type_name:
                raise ValueError(text)
            return parsed
    except (ValueError, json.JSONDecodeError):
        raise ParameterError(f"Parameter {name!r} of {notebook} expects {type_name} (as its "
                             f"default does); got {value!r}.") from None
    return text


def effective_study(notebook, params: dict):
    """The study a run uses: the ``study`` parameter given, else the notebook's default."""
    return params.get("study", notebook_parameters(notebook).get("study", {}).get("default"))


def check_study_parameter(notebook, params: dict) -> None:
    """Load the manifest the notebook will use before a kernel starts, so that a missing or
    malformed study.yaml or a missing source file is a usage error (exit 2) naming the file,
    not a failed cell."""
    from .manifest import load_manifest
    from .study import resolve_study_path
    study = effective_study(notebook, params)
    if isinstance(study, str) and study:
        load_manifest(resolve_study_path(study))


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
            html_path, check = _checked_html(executed, out_dir / f"{notebook.stem}.html",
                                             show_code=show_code, study=study,
                                             accept_risk=accept_risk)
    except DisclosureFindings as exc:
        check = exc.summary
        raise
    finally:   # one log line per run, with the check's outcome, whether or not it refused
        _write_log(log, notebook, params, status, seconds, error, disclosure=check)
    return RunResult(notebook, executed, html_path, params, seconds, log)


def _checked_html(executed: Path, target: Path, *, show_code: bool, study, accept_risk):
    """Render to a private temporary file, check it, and only then put it where it is shared.
    Returns (path, check summary); raises DisclosureFindings when it must not be written."""
    from .disclosure.check import check_path, report
    from .study import resolve_study_path
    with tempfile.TemporaryDirectory(prefix="ipeval-check-") as tmp:
        draft = render_html(executed, Path(tmp) / target.name, show_code=show_code)
        study_path = resolve_study_path(study) if isinstance(study, str) and study else None
        findings = check_path(draft, study=study_path)
        summary = {"report": target.name, "findings": int(len(findings)),
                   "rules": sorted(set(findings["rule"])) if len(findings) else [],
                   "accepted_risk": accept_risk if len(findings) else None,
                   "written": not len(findings) or bool(accept_risk)}
        if len(findings) and not accept_risk:
            text = report(findings).replace(str(draft), target.name)
            refused = DisclosureFindings(
                f"The report was not written: the output check found {len(findings)} problem(s) "
                f"that must not be shared.\n{text}\nFix the notebook (show tables through the "
                f"disclosure layer), or write it anyway with --accept-risk \"reason\"; the reason "
                f"is kept in the run's log.")
            refused.summary = summary
            raise refused
        shutil.copyfile(draft, target)
    return target, summary


# nbconvert's lab template loads require.js and MathJax from a CDN; on a closed network (where
# health data is analysed) those requests fail and the report waits on them. The reports use
# neither: the figures are images and the tables HTML. (LaTeX in markdown shows as written.)
_OFFLINE_TEMPLATE = DictLoader({"ipeval.html.j2": (
    "{%- extends 'lab/index.html.j2' -%}\n"
    "{%- block html_head_js_requirejs -%}{%- endblock -%}\n"
    "{%- block html_head_js_mathjax -%}{%- endblock -%}\n")})


def render_html(executed, target, *, show_code: bool = False) -> Path:
    """The executed notebook as a standalone HTML report; code cells hidden unless asked."""
    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(extra_loaders=[_OFFLINE_TEMPLATE], template_file="ipeval.html.j2",
                            exclude_input=not show_code, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    target = Path(target)
    target.write_text(body, encoding="utf-8")
    return target


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
