"""Benchmark of the output checker (``ipeval check``): a folder of 100 executed notebooks.

The overview notebook is executed once on the shipped study; the folder is 100 copies of the
executed notebook (and, with --with-html, its 100 HTML reports). Each repetition runs in a
fresh process and times only the work. The baseline, measured in the same run, is reading and
parsing the same files with nbformat (and reading the HTML as text): the ratio is what the
checks cost on top of opening the files.

    .venv/bin/python bench/check.py                 # 100 notebooks, 5 repeats
    .venv/bin/python bench/check.py --with-html --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAG = "BENCH_RESULT "


def child(mode: str, folder: str, study: str) -> None:
    sys.path.insert(0, str(ROOT))
    import resource

    import nbformat
    from evaluation.disclosure.output_check import check_path
    files = sorted(Path(folder).rglob("*"))
    start = time.perf_counter()
    if mode == "check":
        findings = check_path(folder, study=study)
        result = {"findings": int(len(findings)), "files": len(findings.attrs.get("files_checked", []))}
    else:
        for f in files:
            if f.suffix == ".ipynb":
                nbformat.read(str(f), as_version=4)
            elif f.suffix == ".html":
                f.read_text(encoding="utf-8")
        result = {"files": len(files)}
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(TAG + json.dumps(result))


def measure(mode: str, folder: Path, study: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(folder), str(study)],
                         capture_output=True, text=True, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith(TAG))
    return json.loads(line[len(TAG):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--with-html", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "FOLDER", "STUDY"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    sys.path.insert(0, str(ROOT))
    from evaluation.report import run_notebook
    study = ROOT / "data_synthetic" / "study.yaml"
    with tempfile.TemporaryDirectory(prefix="ipeval-bench-check-") as tmp:
        tmp = Path(tmp)
        os.chdir(ROOT)
        run = run_notebook("notebooks/study_overview.ipynb", {"study": "data_synthetic/study.yaml"},
                           tmp / "one")
        folder = tmp / "folder"
        for i in range(args.notebooks):
            run_dir = folder / f"run-{i:03d}"
            run_dir.mkdir(parents=True)
            shutil.copy(run.executed, run_dir / run.executed.name)
            if args.with_html:
                shutil.copy(run.html, run_dir / run.html.name)
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
        rows = {"check": [], "read": []}
        for r in range(args.repeats):
            for mode in ("check", "read"):          # alternate, so drift hits both alike
                rows[mode].append(measure(mode, folder, study))
                print(f"  run {r + 1}/{args.repeats} {mode}: {rows[mode][-1]['seconds']:.2f} s",
                      file=sys.stderr)
    check_s = statistics.median(r["seconds"] for r in rows["check"])
    read_s = statistics.median(r["seconds"] for r in rows["read"])
    what = f"{args.notebooks} executed notebooks" + (" + their HTML reports" if args.with_html else "")
    print(f"Output check of {what} ({size:.0f} MB), {args.repeats} repeats, fresh process each.\n")
    print("| folder | files | MB | check median s | min | max | baseline (parse only) median s | ratio | peak MB | findings |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    c = rows["check"]
    print(f"| {what} | {c[0]['files']} | {size:.0f} | {check_s:.2f} | {min(r['seconds'] for r in c):.2f} | "
          f"{max(r['seconds'] for r in c):.2f} | {read_s:.2f} | {check_s / read_s:.1f} | "
          f"{statistics.median(r['peak_mb'] for r in c):.0f} | {c[0]['findings']} |")
    print(f"\nMachine: {platform.platform()}; {os.cpu_count()} cores; Python {platform.python_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
