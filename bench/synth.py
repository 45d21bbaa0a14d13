"""Benchmark of the synthetic study generator (``evaluation.synthetic.write_study``).

Every repetition of every size runs in a fresh Python process, so the peak memory reported is
that run's own (``ru_maxrss`` of the child) and nothing is shared between runs. Time is measured
with ``time.perf_counter`` around ``write_study`` only (after the imports), and is split into
``generate()`` and the writing of the files by wrapping the generator's own functions.

    .venv/bin/python bench/synth.py                       # 10k, 30k, 100k persons, 3 repeats
    .venv/bin/python bench/synth.py --sizes 10000 100000 --repeats 5 --out-json bench.json
    .venv/bin/python bench/synth.py --profile 100000      # cProfile one in-process run

The smallest size (10 000 by default) is the baseline: for every size the linearity ratio is
(time(N) / time(base)) / (N / base); 1 means time grows linearly, below 1 means better than linear.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (bench/common.py)

ROOT = Path(__file__).resolve().parents[1]

# Targets from the issue: 100 000 persons (about 1 000 000 FIT sessions) in under 60 s and under
# 4 GB peak memory on a 2-core machine, time growing about linearly from 10 000 to 100 000.
TARGET_PERSONS = 100_000
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 4096.0
TARGET_LINEARITY = 1.5


# --------------------------------------------------------------------------------------------
# Child: one generation in a fresh process
# --------------------------------------------------------------------------------------------

def _rss_peak_kb() -> int:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # kB on Linux


def run_child(persons: int, institutions: int, seed: int) -> dict:
    sys.path.insert(0, str(ROOT))          # measure the working tree, not some other install
    import evaluation
    from evaluation.synthetic import SyntheticConfig
    from evaluation.synthetic import generator
    # Import what write_study imports lazily, so one-off import time is not counted as work.
    import openpyxl  # noqa: F401  (the .xlsx writer)
    import yaml  # noqa: F401
    try:
        import evaluation.synthetic.readme  # noqa: F401
    except ImportError:
        pass

    timings = {"generate": [], "write_table": {}}

    def timed_generate(*args, **kwargs):
        t = time.perf_counter()
        out = real_generate(*args, **kwargs)
        timings["generate"].append(time.perf_counter() - t)
        timings["rss_after_generate_kb"] = _rss_peak_kb()
        return out

    real_generate = generator.generate
    generator.generate = timed_generate    # write_study looks generate up in its module
    real_write_table = getattr(generator, "_write_table", None)
    if real_write_table is not None:
        def timed_write_table(df, path, *args, **kwargs):
            t = time.perf_counter()
            out = real_write_table(df, path, *args, **kwargs)
            timings["write_table"][Path(path).name] = time.perf_counter() - t
            return out
        generator._write_table = timed_write_table

    cfg = SyntheticConfig(persons=persons, institutions=institutions, seed=seed)
    rss_before_kb = _rss_peak_kb()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ipeval-bench-") as tmp:
        t0 = time.perf_counter()
        generator.write_study(tmp, cfg)
        total = time.perf_counter() - t0
        peak_kb = _rss_peak_kb()
        files = [p for p in Path(tmp).rglob("*") if p.is_file()]
        bytes_written = sum(p.stat().st_size for p in files)
        truth = json.loads((Path(tmp) / "ground_truth.json").read_text(encoding="utf-8"))
    file_rows = {name: info["rows"] for name, info in truth.get("files", {}).items()}
    gen = timings["generate"][0] if len(timings["generate"]) == 1 else None
    return {
        "persons": persons, "institutions": institutions, "seed": seed,
        "seconds": total,
        "generate_seconds": gen,
        "write_seconds": None if gen is None else total - gen,
        "write_table_seconds": timings["write_table"] or None,
        "peak_rss_mb": peak_kb / 1024,
        "peak_rss_after_generate_mb": (timings["rss_after_generate_kb"] / 1024
                                       if "rss_after_generate_kb" in timings else None),
        "rss_after_imports_mb": rss_before_kb / 1024,
        "fit_sessions": file_rows.get("fit_sessions.csv"),
        "file_rows": file_rows,
        "files_written": len(files),
        "bytes_written": bytes_written,
        "loadavg_1min_before": load_before,
        "package_path": str(Path(evaluation.__file__).parent),
    }


# --------------------------------------------------------------------------------------------
# Parent: machine, runs, summary
# --------------------------------------------------------------------------------------------

def machine_info() -> dict:
    return common.machine_info(code="evaluation/synthetic")


def run_once(persons: int, institutions: int, seed: int) -> dict:
    return common.run_child(__file__, ["--child", persons, "--institutions", institutions,
                                       "--seed", seed], what=f"persons={persons}")


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict]) -> dict:
    secs = [r["seconds"] for r in runs]
    per_file = {}
    for r in runs:
        for name, s in (r.get("write_table_seconds") or {}).items():
            per_file.setdefault(name, []).append(s)
    return {
        "persons": runs[0]["persons"], "repeats": len(runs),
        "median_s": statistics.median(secs), "min_s": min(secs), "max_s": max(secs),
        "generate_median_s": _median(r["generate_seconds"] for r in runs),
        "write_median_s": _median(r["write_seconds"] for r in runs),
        "write_table_median_s": {k: statistics.median(v) for k, v in per_file.items()},
        "peak_rss_median_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "peak_rss_max_mb": max(r["peak_rss_mb"] for r in runs),
        "peak_rss_after_generate_median_mb": _median(r["peak_rss_after_generate_mb"] for r in runs),
        "rss_after_imports_median_mb": _median(r["rss_after_imports_mb"] for r in runs),
        "fit_sessions": runs[0]["fit_sessions"],
        "bytes_written": runs[0]["bytes_written"],
        "runs": runs,
    }


def add_ratios(summaries: list[dict]) -> int:
    base = next((s for s in summaries if s["persons"] == 10_000),
                min(summaries, key=lambda s: s["persons"]))
    for s in summaries:
        s["size_ratio"] = s["persons"] / base["persons"]
        s["time_ratio"] = s["median_s"] / base["median_s"]
        s["linearity"] = s["time_ratio"] / s["size_ratio"]
        for part in ("generate", "write"):
            a, b = s[f"{part}_median_s"], base[f"{part}_median_s"]
            s[f"{part}_linearity"] = (a / b) / s["size_ratio"] if a and b else None
    return base["persons"]


def _f(x, fmt):
    return "–" if x is None else format(x, fmt)


def markdown(summaries: list[dict], machine: dict, base_persons: int, repeats: int,
             institutions: int, seed: int) -> str:
    out = [f"Synthetic study generation, `write_study` ({institutions} institutions, seed {seed}); "
           f"{repeats} repeats per size, each in a fresh process; baseline {base_persons:,} persons.",
           "",
           "| persons | FIT sessions | median s | min s | max s | generate s | write s "
           "| peak RSS MB | bytes written | time ratio | size ratio | linearity |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summaries:
        out.append(
            f"| {s['persons']:,} | {_f(s['fit_sessions'], ',')} | {s['median_s']:.2f} "
            f"| {s['min_s']:.2f} | {s['max_s']:.2f} | {_f(s['generate_median_s'], '.2f')} "
            f"| {_f(s['write_median_s'], '.2f')} | {s['peak_rss_median_mb']:,.0f} "
            f"| {s['bytes_written']:,} | {s['time_ratio']:.2f} | {s['size_ratio']:.1f} "
            f"| {s['linearity']:.2f} |")
    out += ["",
            "Seconds: `time.perf_counter` around `write_study` only (interpreter start and imports "
            "excluded); generate s = `generate()`, write s = the rest (files, manifest, truth, README); "
            "both medians. Peak RSS: `ru_maxrss` of the run's own process, median over repeats. "
            "FIT sessions: rows of `fit_sessions.csv` from `ground_truth.json`. "
            "Linearity = (time ratio) / (size ratio) against the baseline.",
            "",
            "Machine: " + "; ".join([
                machine["platform"], machine["cpu"], f"{machine['nproc']} cores (nproc)",
                f"{machine['ram_gb']} GB RAM", f"Python {machine['python']}",
                f"numpy {machine['numpy']}", f"pandas {machine['pandas']}"]
                + ([f"pyarrow {machine['pyarrow']}"] if "pyarrow" in machine else [])
                + ([f"commit {machine['git']}"] if machine.get("git") else []))]
    return "\n".join(out)


def where_time_goes(summaries: list[dict]) -> str:
    out = ["Where the time goes (median seconds; linearity against the baseline in brackets):", ""]
    out += ["| part | " + " | ".join(f"{s['persons']:,}" for s in summaries) + " |",
            "|---|" + "---:|" * len(summaries)]
    out.append("| `generate()` | " + " | ".join(
        f"{_f(s['generate_median_s'], '.2f')} ({_f(s['generate_linearity'], '.2f')})"
        for s in summaries) + " |")
    out.append("| writing (all after generate) | " + " | ".join(
        f"{_f(s['write_median_s'], '.2f')} ({_f(s['write_linearity'], '.2f')})"
        for s in summaries) + " |")
    names = sorted({n for s in summaries for n in s["write_table_median_s"]},
                   key=lambda n: -summaries[-1]["write_table_median_s"].get(n, 0.0))
    for n in names:
        out.append(f"| &nbsp; `{n}` | " + " | ".join(
            _f(s["write_table_median_s"].get(n), ".2f") for s in summaries) + " |")
    if names:
        out.append("| &nbsp; rest (Int64 columns, manifest, truth, README) | " + " | ".join(
            _f(None if s["write_median_s"] is None else
               s["write_median_s"] - sum(s["write_table_median_s"].values()), ".2f")
            for s in summaries) + " |")
    out += ["", "Memory (medians, MB): after imports / peak at end of generate() / peak overall", ""]
    for s in summaries:
        out.append(f"- {s['persons']:,} persons: {_f(s['rss_after_imports_median_mb'], ',.0f')} / "
                   f"{_f(s['peak_rss_after_generate_median_mb'], ',.0f')} / "
                   f"{s['peak_rss_median_mb']:,.0f} (max over repeats {s['peak_rss_max_mb']:,.0f})")
    loads = [r["loadavg_1min_before"] for s in summaries for r in s["runs"]]
    out += ["", f"1-minute load average before the runs: {min(loads):.2f} to {max(loads):.2f} "
                f"(on {os.cpu_count()} CPUs; above ~1 means something else was running)."]
    return "\n".join(out)


def verdicts(summaries: list[dict], base_persons: int) -> tuple[list[str], bool]:
    verdicts = common.Verdicts()

    common.time_and_memory_verdicts(
        verdicts, summaries, persons=TARGET_PERSONS, seconds=TARGET_SECONDS,
        peak_mb=TARGET_PEAK_MB, doing="written",
        detail=lambda s: f"{_f(s['fit_sessions'], ',')} FIT sessions")
    for s in summaries:
        if s["persons"] == base_persons:
            continue
        verdicts.check(s["linearity"] < TARGET_LINEARITY,
             f"linearity {base_persons:,} -> {s['persons']:,} persons under {TARGET_LINEARITY}: "
             f"{s['linearity']:.2f} (time x{s['time_ratio']:.2f} for size x{s['size_ratio']:.1f})")
    return verdicts.lines, verdicts.ok


def profile(persons: int, institutions: int, seed: int, top: int) -> None:
    """cProfile one in-process run; the top functions of the generator by cumulative time."""
    import cProfile
    import pstats
    sys.path.insert(0, str(ROOT))
    from evaluation.synthetic import SyntheticConfig, write_study
    import openpyxl  # noqa: F401
    import yaml  # noqa: F401
    cfg = SyntheticConfig(persons=persons, institutions=institutions, seed=seed)
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="ipeval-bench-") as tmp:
        t = time.perf_counter()
        prof.runcall(write_study, tmp, cfg)
        elapsed = time.perf_counter() - t
    print(f"cProfile of write_study, {persons:,} persons, {institutions} institutions, seed {seed}: "
          f"{elapsed:.2f} s under the profiler\n")
    stats = pstats.Stats(prof)
    print(f"Top {top} functions of evaluation/synthetic by cumulative time:")
    stats.sort_stats("cumulative").print_stats(r"evaluation[/\\]synthetic", top)
    print(f"Top {top} functions overall by own (total) time:")
    stats.sort_stats("tottime").print_stats(top)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000],
                    help="numbers of persons (default: 10000 30000 100000)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size (default 3)")
    ap.add_argument("--institutions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out-json", type=Path, help="also write all results as JSON here")
    ap.add_argument("--profile", type=int, metavar="PERSONS",
                    help="instead: cProfile one in-process run of this size and print hotspots")
    ap.add_argument("--top", type=int, default=10, help="rows of the profile to print")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child is not None:
        result = run_child(args.child, args.institutions, args.seed)
        common.emit(result)
        return 0
    if args.profile is not None:
        profile(args.profile, args.institutions, args.seed, args.top)
        return 0
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    machine = machine_info()
    summaries = []
    for persons in sorted(set(args.sizes)):
        runs = []
        for i in range(args.repeats):
            r = run_once(persons, args.institutions, args.seed)
            runs.append(r)
            print(f"  {persons:>7,} persons, run {i + 1}/{args.repeats}: {r['seconds']:6.2f} s "
                  f"(generate {_f(r['generate_seconds'], '.2f')}, write {_f(r['write_seconds'], '.2f')}), "
                  f"peak {r['peak_rss_mb']:,.0f} MB", file=sys.stderr, flush=True)
        summaries.append(summarise(runs))
    base_persons = add_ratios(summaries)
    lines, ok = verdicts(summaries, base_persons)

    print(markdown(summaries, machine, base_persons, args.repeats, args.institutions, args.seed))
    print()
    print(where_time_goes(summaries))
    print()
    print("\n".join(lines))
    if args.out_json:
        args.out_json.write_text(json.dumps(
            {"machine": machine, "institutions": args.institutions, "seed": args.seed,
             "repeats": args.repeats, "baseline_persons": base_persons,
             "targets": {"persons": TARGET_PERSONS, "seconds": TARGET_SECONDS,
                         "peak_mb": TARGET_PEAK_MB, "linearity": TARGET_LINEARITY},
             "verdicts": lines, "all_pass": ok, "sizes": summaries}, indent=2) + "\n",
            encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
