"""``ipeval batch``: check a batch file, run what needs running, collect and present the results."""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from evaluation.constraints import Interval, validate_params
from evaluation.intake.output_paths import writable_dir
from evaluation.batch.pages import write_comparison, write_index
from evaluation.batch.pool import default_workers, run_dask, run_local
from evaluation.batch.results import collect, write_results
from evaluation.batch.spec import BatchSpec, load_batch
from evaluation.batch.worker import read_status, write_status


@dataclass
class BatchOutcome:
    spec: BatchSpec
    runs: pd.DataFrame
    results: pd.DataFrame
    index: Path
    skipped: int
    seconds: float

    @property
    def failed(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] != "ok"]

    @property
    def exit_code(self) -> int:
        """0 when every run finished ok, 1 otherwise (DESIGN.md: failed batch runs)."""
        return 0 if self.failed.empty else 1


@validate_params({"workers": [Interval(1, None, integral=True), None], "scheduler": [str, None],
                  "resume": ["boolean"], "progress": ["boolean"], "out": ["callable"]})
def run_batch(path, *, workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, progress: bool = True, out=print) -> BatchOutcome:
    """Run every run of the batch file at ``path`` and write ``results.duckdb``,
    ``results.csv``, ``index.html`` and ``comparison.html`` in its output folder.

    With ``resume``, runs whose folder holds a finished ``ok`` status for the same key
    (notebook, parameters and input data unchanged) are skipped; failed, interrupted and
    changed runs run again.
    """
    spec = load_batch(path)
    output = writable_dir(spec.output, purpose="the batch's output folder",
                          hint="Change `output:` in the batch file.")
    (output / "batch.json").write_text(json.dumps(
        {"batch": str(spec.path), "notebook": str(spec.notebook), "title": spec.title,
         # The runs' relative paths are relative to it; `ipeval release` may run elsewhere.
         "cwd": spec.runs[0].cwd if spec.runs else os.getcwd(),
         "runs": [{"run_id": r.run_id, "label": r.label, "folder": r.folder,
                   "parameters": r.parameters} for r in spec.runs]},
        ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    todo = [r for r in spec.runs if not (resume and _finished(output, r))]
    skipped = len(spec.runs) - len(todo)
    workers = int(workers) if workers else default_workers()
    where = f"the Dask cluster at {scheduler}" if scheduler else f"{workers} local worker(s)"
    out(f"Batch {spec.title}: {len(spec.runs)} run(s) of {spec.notebook.name}"
        + (f", {skipped} already finished (--resume)" if skipped else "")
        + f"; {len(todo)} to run on {where}. Output: {output}")
    started = time.time()
    counts = {"ok": 0, "failed": 0}
    bar = tqdm(total=len(todo), unit="run", file=sys.stderr, disable=not progress or not todo,
               dynamic_ncols=True)

    def on_done(status: dict) -> None:
        counts["ok" if status["status"] == "ok" else "failed"] += 1
        bar.set_postfix(counts, refresh=False)
        bar.update(1)
        folder = output / status["folder"]
        if folder.is_dir():         # the attempts count is known here, not in the worker
            write_status(folder, status)
        if status["status"] != "ok":
            bar.write(f"  {status['status']}: {status['label']}")
        # Every finished run goes into the tables at once: a batch killed later loses nothing.
        write_results(output, *collect(output, spec.runs))

    payload = [r.to_dict() for r in todo]
    try:
        if scheduler:
            run_dask(payload, scheduler=scheduler, retries=spec.retries, on_done=on_done)
        elif payload:
            run_local(payload, workers=workers, retries=spec.retries, on_done=on_done)
    except KeyboardInterrupt:
        bar.close()
        runs, results = collect(output, spec.runs)
        write_results(output, runs, results)
        _pages(spec, output, runs, results)
        out(f"Interrupted: {int((runs['status'] != 'pending').sum())} finished run(s) are kept "
            f"in {output}. Run again with --resume to run the rest.")
        raise
    bar.close()
    runs, results = collect(output, spec.runs)
    write_results(output, runs, results)
    index = _pages(spec, output, runs, results)
    outcome = BatchOutcome(spec, runs, results, index, skipped, time.time() - started)
    out(summary(outcome))
    return outcome


def _finished(output: Path, run) -> bool:
    status = read_status(output / run.folder)
    return bool(status) and status.get("key") == run.key and status.get("status") == "ok"


def _pages(spec: BatchSpec, output: Path, runs: pd.DataFrame, results: pd.DataFrame) -> Path:
    write_comparison(output, runs, results, key=spec.key, by=spec.compare_by)
    return write_index(output, runs, results, title=spec.title, key=spec.key)


def summary(outcome: BatchOutcome) -> str:
    """What happened, failures listed first with where to look."""
    runs = outcome.runs
    counts = runs["status"].value_counts()
    lines = [f"{len(runs)} run(s): " + ", ".join(f"{counts[s]} {s}" for s in counts.index)
             + f" ({outcome.seconds:.1f} s; {len(outcome.results)} recorded figures)."]
    for _, row in outcome.failed.iterrows():
        error = str(row["error"] or "").splitlines()[0][:300] if row["error"] else ""
        lines.append(f"  {row['status']}: {row['label']} — {error} [{row['folder']}]")
    out = outcome.spec.output
    lines.append(f"Results: {out / 'results.duckdb'} and {out / 'results.csv'}")
    lines.append(f"Index:   {outcome.index}")
    return "\n".join(lines)
