"""What `ipeval release` costs and does on a batch: hidden counts an attacker with every report
works out before and after, cells hidden for the batch, and the time of a release.

Runs the batch once (each run protected alone, as before the release existed), then releases
copies of its output folder: the first copy is the measured release, the others time it again.
The attacker is the tests' (``tests/release/batch_attacker.py``): it reads only the shared
reports, with the true values to keep its relations true.

    python bench/release_batch.py notebooks/default_batch.yaml --out /tmp/release-bench --repeat 3

Prints a table and writes ``release_bench.json``.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from release.batch_attacker import batch_attack  # noqa: E402

from evaluation.batch import run_batch  # noqa: E402
from evaluation.release import release_batch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    outcome = run_batch(args.batch, progress=False, out=lambda *_: None)
    batch_seconds = time.time() - started
    source = outcome.spec.output
    before = batch_attack(source)
    seconds, first = [], None
    for k in range(args.repeat):
        copy = args.out / f"copy{k}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy, symlinks=True)
        t = time.time()
        released = release_batch(copy, out=lambda *_: None)
        seconds.append(time.time() - t)
        first = first or (copy, released)
    copy, released = first
    after = batch_attack(copy)
    p = released.release["protection"]
    row = {"runs": p["runs"], "counts": p["cells"], "relations": p["relations"],
           "hidden_before": int(len(before)), "exposed_before": int(before["exposed"].sum()),
           "hidden_after": int(len(after)), "exposed_after": int(after["exposed"].sum()),
           "cells_hidden_for_batch": p["hidden_added"], "rounds": p["rounds"],
           "batch_seconds": round(batch_seconds, 1),
           "release_seconds_median": round(statistics.median(seconds), 2),
           "release_seconds": [round(s, 2) for s in seconds],
           "ratio_release_to_batch": round(statistics.median(seconds) / batch_seconds, 3),
           "machine": f"{platform.machine()}, {platform.python_version()}, "
                      f"{__import__('os').cpu_count()} cores"}
    (args.out / "release_bench.json").write_text(json.dumps(row, indent=1))
    for key, value in row.items():
        print(f"{key:>26}: {value}")


if __name__ == "__main__":
    main()
