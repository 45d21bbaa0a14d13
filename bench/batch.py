"""Benchmark of ``ipeval batch`` against a serial loop of the ``papermill`` command.

16 runs of ``notebooks/ip_evaluation.ipynb`` on the shipped study (outcome × estimand ×
four institution settings). In one repetition, measured in this script on the same machine:

- baseline: the 16 runs one after another, each a ``papermill`` command (what users write
  by hand); papermill alone, so no HTML and no output check;
- batch: ``ipeval batch`` with 2 workers, which also writes each run's HTML, checks the
  executed notebook and the report, and collects ``results.duckdb`` and the pages.

The ratio is baseline / batch (target ≥ 1.8 on 2 cores). The per-run overhead is taken from
the executed notebooks' papermill metadata: a run's wall time minus the time its cells ran
is kernel start-up and shutdown, papermill, and (in the batch) the HTML and output check.

    .venv/bin/python bench/batch.py                 # 3 repetitions
    .venv/bin/python bench/batch.py --repeats 1
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Verdicts, machine_info  # noqa: E402

BIN = Path(sys.executable).parent
OUTCOMES = ["goal_retention", "daily_chaos"]
ESTIMANDS = ["ATE", "ATT"]
INSTITUTIONS = ["all", "Lassonløkken", "Karlsborg", "Østhagen"]


def grid() -> list[dict]:
    return [dict(outcome=o, estimand=e, institution=i)
            for o, e, i in itertools.product(OUTCOMES, ESTIMANDS, INSTITUTIONS)]


def serial_papermill(work: Path) -> tuple[float, list[dict]]:
    """The baseline: one ``papermill`` command per run, in a loop."""
    out = work / "serial"
    out.mkdir()
    timings = []
    start = time.perf_counter()
    for k, params in enumerate(grid()):
        cmd = [str(BIN / "papermill"), "notebooks/ip_evaluation.ipynb", str(out / f"run{k}.ipynb"),
               "--no-progress-bar", "-p", "study", "data_synthetic/study.yaml",
               "-p", "outcome", params["outcome"], "-p", "estimand", params["estimand"]]
        if params["institution"] != "all":
            cmd += ["-p", "institution", params["institution"]]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        timings.append(_timing(out / f"run{k}.ipynb", time.perf_counter() - t0))
    return time.perf_counter() - start, timings


def batch(work: Path, workers: int) -> tuple[float, list[dict]]:
    spec = {"title": "bench", "notebook": str(ROOT / "notebooks/ip_evaluation.ipynb"),
            "output": str(work / "batch"),
            "parameters": {"study": str(ROOT / "data_synthetic/study.yaml"),
                           "outcome": OUTCOMES, "estimand": ESTIMANDS},
            "grid": {"institution": INSTITUTIONS}, "timeout_s": 600, "retries": 0}
    path = work / "bench.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "ipeval"), "batch", str(path), "--workers", str(workers),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the batch failed:\n{proc.stdout}\n{proc.stderr}")
    timings = []
    for status_file in sorted((work / "batch" / "runs").glob("*/status.json")):
        status = json.loads(status_file.read_text())
        timings.append(_timing(work / "batch" / status["executed"], status["seconds"]))
    return seconds, timings


def _timing(executed: Path, wall: float) -> dict:
    nb = nbformat.read(str(executed), as_version=4)
    cells = sum(c.metadata.get("papermill", {}).get("duration") or 0 for c in nb.cells)
    papermill = nb.metadata.get("papermill", {}).get("duration") or 0
    return {"wall": wall, "cells": cells, "papermill": papermill}


def median_of(timings: list[dict], key: str) -> float:
    return statistics.median(t[key] for t in timings)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    info = machine_info()
    print(f"machine: {json.dumps(info)}")
    rows = []
    for rep in range(args.repeats):
        work = Path(tempfile.mkdtemp(prefix="ipeval-bench-batch-"))
        try:
            # alternate the order so neither always runs on a warmer file cache
            if rep % 2 == 0:
                s_time, s_runs = serial_papermill(work)
                b_time, b_runs = batch(work, args.workers)
            else:
                b_time, b_runs = batch(work, args.workers)
                s_time, s_runs = serial_papermill(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows.append({"serial": s_time, "batch": b_time, "ratio": s_time / b_time,
                     "serial_run": median_of(s_runs, "wall"), "serial_cells": median_of(s_runs, "cells"),
                     "batch_run": median_of(b_runs, "wall"), "batch_cells": median_of(b_runs, "cells"),
                     "batch_papermill": median_of(b_runs, "papermill")})
        print(f"repetition {rep + 1}: serial papermill {s_time:.1f} s, batch ({args.workers} "
              f"workers) {b_time:.1f} s, ratio {s_time / b_time:.2f}")
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    n = len(grid())
    print(f"\n{n} runs of ip_evaluation, median of {len(rows)} repetitions:")
    print(f"  serial papermill loop: {med['serial']:.1f} s ({med['serial'] / n:.2f} s a run)")
    print(f"  ipeval batch, {args.workers} workers: {med['batch']:.1f} s "
          f"({med['batch'] * args.workers / n:.2f} worker-s a run)")
    print(f"  ratio: {med['ratio']:.2f}")
    print("  per run (medians): "
          f"papermill command {med['serial_run']:.2f} s of which cells {med['serial_cells']:.2f} s "
          f"→ overhead {med['serial_run'] - med['serial_cells']:.2f} s (interpreter, imports, kernel "
          f"start and shutdown); batch run {med['batch_run']:.2f} s of which cells "
          f"{med['batch_cells']:.2f} s, papermill total {med['batch_papermill']:.2f} s → kernel "
          f"{med['batch_papermill'] - med['batch_cells']:.2f} s, HTML + checks + records "
          f"{med['batch_run'] - med['batch_papermill']:.2f} s")
    verdicts = Verdicts()
    verdicts.check(med["ratio"] >= 1.8, f"batch with {args.workers} workers is {med['ratio']:.2f}× "
                   f"the serial papermill loop (target ≥ 1.8×)")
    print("\n".join(verdicts.lines))
    return 0 if verdicts.ok else 1


if __name__ == "__main__":
    sys.exit(main())
