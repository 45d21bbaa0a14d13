"""The verbs that run notebooks: ``ipeval run``, ``ipeval batch`` and ``ipeval results``.

Imported only when one of them runs (``ipeval --help`` does not pay for papermill or Dask).
"""
from __future__ import annotations

from pathlib import Path

from evaluation.batch import read_results, run_batch, tidy
from evaluation.cli.json_output import json_records
from evaluation.errors import ParameterError
from evaluation.release.runner import release_batch
from evaluation.report import run_notebook


def run_one(args) -> int:
    """``ipeval run``: execute one notebook, write its HTML report (and slides if asked).

    A run with findings, and an internal run, exits 1 with the gate's message (where the
    internal files are, counts per rule); nothing of it is left in ``--out`` itself."""
    params = dict(args.parameter)
    out = args.out or Path("reports") / args.notebook.stem
    result = run_notebook(args.notebook, params, out, show_code=args.show_code,
                          timeout=args.timeout, accept_risk=args.accept_risk,
                          slides=args.slides)
    print(f"Executed {args.notebook} in {result.seconds:.1f} s.\n"
          f"  notebook: {result.executed}\n  report:   {result.html}\n  log:      {result.log}"
          + (f"\n  slides:   {result.slides}" if result.slides else ""))
    return 0


def batch_of_runs(args) -> int:
    """``ipeval batch``: a notebook over a grid of parameters, then ``ipeval release`` of its
    output; exit 1 when some runs failed or the release found outputs that cannot leave."""
    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers must be at least 1; got {args.workers}.")
    outcome = run_batch(args.batch, workers=args.workers, scheduler=args.scheduler,
                        resume=args.resume, progress=not args.no_progress)
    # A batch is one release: its runs are protected together before anything is handed on.
    released = release_batch(outcome.spec.output)
    return max(outcome.exit_code, released.exit_code)


def batch_results(args) -> int:
    """``ipeval results``: the collected results (or, with ``--runs``, the runs) of a batch."""
    runs, results = read_results(args.path)
    table = runs.drop(columns=["parameters"]) if args.runs else tidy(runs, results)
    if args.json:
        print(json_records(table, whole=()))
        return 0
    if args.runs:
        shown = table[["run_id", "label", "status", "seconds", "attempts", "folder"]]
    else:
        shown = table[[c for c in table.columns if c not in {"run_id", "value"}]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}", max_colwidth=60))
    return 0
