"""Batches: one notebook over a grid of parameters, on local workers or a Dask cluster, with the
results collected into ``results.duckdb`` and presented in ``index.html``.

Papermill has no batch story of its own (papermill #578); this is ipeval's.
"""
from evaluation.batch.results import collect, read_results, tidy, write_results
from evaluation.batch.runner import BatchOutcome, run_batch
from evaluation.batch.spec import BatchSpec, Run, load_batch

__all__ = ["BatchOutcome", "BatchSpec", "Run", "collect", "load_batch", "read_results",
           "run_batch", "tidy", "write_results"]
