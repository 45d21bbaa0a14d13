"""From an executed notebook to what is shared: parameters checked, kernels, the run, its HTML
and slides, and the key figures it records.

- :mod:`.parameters` — a notebook's ``parameters`` cell, and values given checked and typed;
- :mod:`.kernels` — kernels over Unix sockets, collected so that a watchdog can kill them;
- :mod:`.run` — one papermill run and its log;
- :mod:`.gate` — what a run may leave where it is shared: its outputs checked, a run with
  findings or an internal run kept in ``internal/``, its texts masked;
- :mod:`.html` — the report as standalone HTML (an internal run's with its banner);
- :mod:`.slides` — the same report as reveal.js slides;
- :mod:`.stamp` — the provenance stamp of a run, in its notebook and at the end of its pages;
- :mod:`.verify_stamp` — ``ipeval verify REPORT``: does a report still match its inputs;
- :mod:`.documents` — the report as Word (pandoc, with :mod:`.reference_doc`'s styles) and PDF
  (Debian's Chromium), from the page :mod:`.document_html` prepares;
- :mod:`.records` — ``record(name, value)``: key figures a batch collects;
- :mod:`.record_checks` — records checked before a batch stores them.

Only :mod:`.records` is imported with the package: a notebook's kernel imports ``evaluation``
for ``record`` and should not pay for papermill and nbconvert, which only the runner needs. The
other names load their module on first use (PEP 562).
"""
from importlib import import_module

from evaluation.report.records import read_records, record, record_estimates

_LAZY = {
    "notebook_parameters": "parameters", "coerce_parameters": "parameters",
    "effective_study": "parameters", "check_study_parameter": "parameters",
    "IPCKernelManager": "kernels", "collecting_kernels": "kernels", "kill_kernels": "kernels",
    "RunResult": "run", "run_notebook": "run",
    "render_html": "html",
    "render_slides": "slides", "slide_types": "slides", "slides_html": "slides",
    "Gate": "gate", "is_internal": "gate", "internal_folder": "gate", "with_banner": "gate",
    "check_records": "record_checks",
    "run_stamp": "stamp", "run_key": "stamp", "input_fingerprint": "stamp",
    "input_hashes": "stamp", "stamp_footer": "stamp",
    "read_stamp": "verify_stamp", "verify_report": "verify_stamp",
    "write_docx": "documents", "write_pdf": "documents",
}

__all__ = ["read_records", "record", "record_estimates", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f"evaluation.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'evaluation.report' has no attribute {name!r}")
