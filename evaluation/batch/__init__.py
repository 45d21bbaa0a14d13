"""Batches: one notebook over a grid of parameters, on local workers or a Dask cluster, with the
results collected into ``results.duckdb`` and presented in ``index.html``.

Papermill has no batch story of its own (papermill #578); this is ipeval's.

- :mod:`.spec` — the batch file, its grid and its runs;
- :mod:`.worker` and :mod:`.pool` — one run, and where the runs execute;
- :mod:`.results` — the ``runs`` and ``results`` tables (:data:`RESULT_COLUMNS`: the result
  contract's columns per record);
- :mod:`.pages` — ``index.html`` and ``comparison.html``;
- :mod:`.runner` — ``ipeval batch``, all of it in order.
"""
from evaluation.batch.pages import comparison_records, write_comparison, write_index
from evaluation.batch.results import (RESULT_COLUMNS, RUN_COLUMNS, collect, read_results, tidy,
                                      write_results)
from evaluation.batch.runner import BatchOutcome, run_batch, summary
from evaluation.batch.spec import BatchSpec, Run, load_batch

__all__ = ["BatchOutcome", "BatchSpec", "RESULT_COLUMNS", "RUN_COLUMNS", "Run", "collect",
           "comparison_records", "load_batch", "read_results", "run_batch", "summary", "tidy",
           "write_comparison", "write_index", "write_results"]
