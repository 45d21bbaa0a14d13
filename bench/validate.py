"""Benchmark of loading, validating and scoring a whole study (``Study.load`` + ``load_report``).

The job is what ``ipeval`` does before any analysis: ``Study.load(dir)``, then
``study.load_report()`` (which reads every source, pseudonymises it, scans it for national ID
numbers, validates it with pandera, quarantines bad rows, de-duplicates and scores it) and
``study.quarantine()``. The baseline is reading the same raw files with
``evaluation.intake.readers.read_table`` alone (same read options, no validation or scoring), so the
ratio job / baseline is the cost of validation and scoring over plain reading.

The synthetic study of each size is written once (``write_study``, 6 institutions, seed 2026)
to a temporary folder, in its own process. Every repetition of the job and of the baseline then
runs in a fresh Python process, so the peak memory reported is that run's own (``ru_maxrss`` of
the child) and nothing is cached between runs. Time is measured with ``time.perf_counter``
around the work only (after the imports).

    .venv/bin/python bench/validate.py                        # 10k and 100k persons, 3 repeats
    .venv/bin/python bench/validate.py --sizes 10000 30000 100000 --repeats 5 --out-json v.json
    .venv/bin/python bench/validate.py --profile 100000       # also cProfile one job of 100k

Once per size a further fresh process loads the sources one by one (``study.table(name)`` in
manifest order) and splits each source's time into reading, pseudonymising, the national-ID
scan, type coercion, pandera checks, de-duplication and scoring.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (bench/common.py)

ROOT = Path(__file__).resolve().parents[1]

# Targets from the issue: validate and score 100 000 persons (about 1 000 000 FIT sessions) in
# under 60 s and under 4 GB peak memory on a 2-core machine.
TARGET_PERSONS = 100_000
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 4096.0

# Stages of Study._load_source timed in the breakdown, by the name study.py calls them under.
STAGES = ("read_table", "_pseudonymise", "scan_frame", "check_columns", "coerce_numbers",
          "coerce_dates", "check_items", "resolve_duplicates", "score_instrument", "instruments")
STAGE_LABELS = {"read_table": "read", "_pseudonymise": "pseudonymise", "scan_frame": "ID scan",
                "coerce_numbers": "numbers", "coerce_dates": "dates",
                "check_items": "pandera", "resolve_duplicates": "duplicates",
                "score_instrument": "scoring"}


# --------------------------------------------------------------------------------------------
# Children: each in a fresh process
# --------------------------------------------------------------------------------------------

def _rss_peak_kb() -> int:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # kB on Linux


def _vm_hwm_kb() -> int | None:
    """Peak RSS of this process image (VmHWM), a cross-check of ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _import_all() -> None:
    """Import everything the job imports, lazily included, so import time is not counted."""
    sys.path.insert(0, str(ROOT))          # measure the working tree, not some other install
    import evaluation  # noqa: F401
    import evaluation.instruments  # noqa: F401
    import evaluation.intake.manifest  # noqa: F401
    import evaluation.intake.national_id  # noqa: F401
    import evaluation.intake.pseudonyms  # noqa: F401
    import evaluation.intake.readers  # noqa: F401
    import evaluation.study  # noqa: F401
    import evaluation.intake.validation  # noqa: F401
    import openpyxl  # noqa: F401  (the .xlsx reader)
    import pandas  # noqa: F401
    import pandera.pandas  # noqa: F401
    import yaml  # noqa: F401


def child_generate(persons: int, institutions: int, seed: int, out: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from evaluation.synthetic import SyntheticConfig, write_study
    t = time.perf_counter()
    write_study(out, SyntheticConfig(persons=persons, institutions=institutions, seed=seed))
    elapsed = time.perf_counter() - t
    truth = json.loads((Path(out) / "ground_truth.json").read_text(encoding="utf-8"))
    file_rows = {name: info["rows"] for name, info in truth.get("files", {}).items()}
    files = [p for p in Path(out).rglob("*") if p.is_file()]
    return {"persons": persons, "generate_seconds": elapsed,
            "fit_sessions": file_rows.get("fit_sessions.csv"), "file_rows": file_rows,
            "bytes": sum(p.stat().st_size for p in files)}


def child_job(study_dir: str) -> dict:
    _import_all()
    import evaluation
    from evaluation.study import Study
    rss_before_kb = _rss_peak_kb()
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    study = Study.load(study_dir)
    report = study.load_report()
    quarantine = study.quarantine()
    total = time.perf_counter() - t0
    peak_kb = _rss_peak_kb()
    per_source = {r["source"]: {"rows_read": int(r["rows_read"]), "rows_used": int(r["rows_used"]),
                                "rows_quarantined": int(r["rows_quarantined"])}
                  for r in report.to_dict("records")}
    return {
        "seconds": total,
        "rows_read": int(report["rows_read"].sum()),
        "rows_used": int(report["rows_used"].sum()),
        "rows_quarantined": int(report["rows_quarantined"].sum()),
        "quarantine_records": len(quarantine),
        "per_source": per_source,
        "peak_rss_mb": peak_kb / 1024,
        "vm_hwm_mb": (_vm_hwm_kb() or 0) / 1024 or None,
        "rss_after_imports_mb": rss_before_kb / 1024,
        "loadavg_1min_before": load_before,
        "package_path": str(Path(evaluation.__file__).parent),
    }


def _read_plan(study_dir: str) -> list[tuple[str, Path, dict]]:
    """(source, file, read_table keyword arguments) exactly as Study._load_source reads them."""
    from evaluation.study import Study
    from evaluation.intake.validation import item_specs
    study = Study.load(study_dir)
    plan = []
    for name, spec in study.manifest.sources.items():
        canonical_to_raw = {v: k for k, v in spec.columns.items()}
        id_like = {study.id_column, *study.manifest.pseudonymise}
        categories = [c for c, item in item_specs(study.instruments(name)).items()
                      if item.type == "category"]
        plan.append((name, spec.file, dict(
            text_columns={canonical_to_raw.get(c, c) for c in id_like},
            labelled_columns={canonical_to_raw.get(c, c) for c in categories}, **spec.read)))
    return plan


def child_baseline(study_dir: str) -> dict:
    _import_all()
    from evaluation.intake.readers import read_table
    plan = _read_plan(study_dir)            # the manifest and instruments: not counted
    rss_before_kb = _rss_peak_kb()
    load_before = os.getloadavg()[0]
    rows = {}
    t0 = time.perf_counter()
    for name, path, kwargs in plan:
        rows[name] = len(read_table(path, **kwargs))
    total = time.perf_counter() - t0
    return {"seconds": total, "rows_read": sum(rows.values()), "per_source_rows": rows,
            "peak_rss_mb": _rss_peak_kb() / 1024, "rss_after_imports_mb": rss_before_kb / 1024,
            "loadavg_1min_before": load_before}


def child_breakdown(study_dir: str) -> dict:
    """Each source's load timed on its own, and split into the stages of Study._load_source."""
    _import_all()
    import evaluation.study as study_mod
    from evaluation.study import Study

    current = {"source": None}
    stages: dict[str, dict[str, float]] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                bucket = stages.setdefault(current["source"], {})
                bucket[name] = bucket.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    for name in STAGES:       # module functions are looked up in study.py's namespace
        if name in ("_pseudonymise", "instruments"):
            setattr(Study, name, timed(name, getattr(Study, name)))
        elif hasattr(study_mod, name):
            setattr(study_mod, name, timed(name, getattr(study_mod, name)))

    study = Study.load(study_dir)
    per_source = {}
    t_all = time.perf_counter()
    for name in study.source_names:
        current["source"] = name
        t = time.perf_counter()
        df = study.table(name)
        per_source[name] = {"seconds": time.perf_counter() - t, "rows_used": len(df),
                            "rows_read": study._loaded(name)["rows_read"],
                            "rss_peak_mb": _rss_peak_kb() / 1024,
                            "stages": stages.get(name, {})}
    current["source"] = "__report__"
    t = time.perf_counter()
    study.load_report()
    study.quarantine()
    report_seconds = time.perf_counter() - t
    return {"per_source": per_source, "report_seconds": report_seconds,
            "total_seconds": time.perf_counter() - t_all, "peak_rss_mb": _rss_peak_kb() / 1024}


def child_profile(study_dir: str, top: int) -> dict:
    """cProfile one job; the top functions by cumulative and by own time, as text and rows."""
    _import_all()
    from evaluation.study import Study

    def job():
        study = Study.load(study_dir)
        study.load_report()
        study.quarantine()

    prof, elapsed, texts, rows = common.profile(job, top)
    return {"seconds_under_profiler": elapsed, "text": texts, "rows": rows}


# --------------------------------------------------------------------------------------------
# Parent: machine, runs, summary
# --------------------------------------------------------------------------------------------

def machine_info() -> dict:
    return common.machine_info(code="evaluation")


def run_child(mode: str, *args) -> dict:
    """Run one child (``--child-<mode> args``) in a fresh interpreter and return its result."""
    return common.run_child(__file__, [f"--child-{mode}", *args], what=f"{mode} {args}")


def summarise(persons: int, study: dict, jobs: list[dict], baselines: list[dict],
              breakdown: dict) -> dict:
    secs = [r["seconds"] for r in jobs]
    base = [r["seconds"] for r in baselines]
    median_s, base_median_s = statistics.median(secs), statistics.median(base)
    return {
        "persons": persons, "repeats": len(jobs),
        "fit_sessions": study["fit_sessions"], "bytes": study["bytes"],
        "generate_seconds": study["generate_seconds"],
        "rows_read": jobs[0]["rows_read"], "rows_used": jobs[0]["rows_used"],
        "rows_quarantined": jobs[0]["rows_quarantined"],
        "quarantine_records": jobs[0]["quarantine_records"],
        "median_s": median_s, "min_s": min(secs), "max_s": max(secs),
        "baseline_median_s": base_median_s, "baseline_min_s": min(base),
        "baseline_max_s": max(base),
        "ratio": median_s / base_median_s if base_median_s else None,
        "peak_rss_median_mb": statistics.median(r["peak_rss_mb"] for r in jobs),
        "peak_rss_max_mb": max(r["peak_rss_mb"] for r in jobs),
        "vm_hwm_max_mb": max((r["vm_hwm_mb"] or 0) for r in jobs) or None,
        "rss_after_imports_median_mb": statistics.median(r["rss_after_imports_mb"] for r in jobs),
        "baseline_peak_rss_median_mb": statistics.median(r["peak_rss_mb"] for r in baselines),
        "baseline_rows_read": baselines[0]["rows_read"],
        "consistent": (len({r["rows_read"] for r in jobs + baselines}) == 1
                       and len({r["rows_quarantined"] for r in jobs}) == 1
                       and all(s["rows_read"] == s["rows_used"] + s["rows_quarantined"]
                               for r in jobs for s in r["per_source"].values())),
        "per_source_rows": jobs[0]["per_source"],
        "breakdown": breakdown,
        "jobs": jobs, "baselines": baselines,
    }


def _f(x, fmt):
    return "–" if x is None else format(x, fmt)


def markdown(summaries: list[dict], machine: dict, repeats: int, institutions: int,
             seed: int) -> str:
    out = [f"Study validation and scoring, `Study.load` + `load_report()` + `quarantine()` "
           f"(synthetic study, {institutions} institutions, seed {seed}); {repeats} repeats per "
           f"size, job and baseline each in a fresh process.",
           "",
           "| persons | FIT sessions | rows read | rows quarantined | median s | min s | max s "
           "| baseline median s | ratio | peak RSS MB |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summaries:
        out.append(
            f"| {s['persons']:,} | {_f(s['fit_sessions'], ',')} | {s['rows_read']:,} "
            f"| {s['rows_quarantined']:,} | {s['median_s']:.2f} | {s['min_s']:.2f} "
            f"| {s['max_s']:.2f} | {s['baseline_median_s']:.2f} | {_f(s['ratio'], '.1f')} "
            f"| {s['peak_rss_median_mb']:,.0f} |")
    out += ["",
            "Seconds: `time.perf_counter` around the job only (interpreter start and imports "
            "excluded). Baseline: `evaluation.intake.readers.read_table` of the same files with the same "
            "read options (identifier columns as text), nothing else. Ratio = median job / median "
            "baseline, the cost of pseudonymising, the national-ID scan, validation, quarantine, "
            "de-duplication and scoring over plain reading. Rows read and quarantined: sums over "
            "all sources of `load_report()`. FIT sessions: rows of `fit_sessions.csv`. Peak RSS: "
            "`ru_maxrss` of the job's own process, median over repeats.",
            "",
            "Machine: " + "; ".join([
                machine["platform"], machine["cpu"], f"{machine['nproc']} cores (nproc)",
                f"{machine['ram_gb']} GB RAM", f"Python {machine['python']}",
                f"numpy {machine['numpy']}", f"pandas {machine['pandas']}"]
                + ([f"pandera {machine['pandera']}"] if "pandera" in machine else [])
                + ([f"pyarrow {machine['pyarrow']}"] if "pyarrow" in machine else [])
                + ([f"commit {machine['git']}"] if machine.get("git") else []))]
    return "\n".join(out)


def where_time_goes(summaries: list[dict]) -> str:
    out = ["Where the job's time goes: each source loaded on its own (`study.table(name)` on a "
           "fresh `Study`, in manifest order), one run per size in a fresh process; seconds.", ""]
    for s in summaries:
        bd = s["breakdown"]
        ps = bd["per_source"]
        order = sorted(ps, key=lambda n: -ps[n]["seconds"])
        cols = [c for c in STAGE_LABELS if any(c in ps[n]["stages"] for n in ps)]
        out += [f"{s['persons']:,} persons (sum of sources {sum(p['seconds'] for p in ps.values()):.2f} s, "
                f"report + quarantine {bd['report_seconds']:.2f} s, peak RSS {bd['peak_rss_mb']:,.0f} MB):",
                "",
                "| source | rows read | total s | share | " + " | ".join(STAGE_LABELS[c] for c in cols)
                + " | other |",
                "|---|---:|---:|---:|" + "---:|" * (len(cols) + 1)]
        total = sum(p["seconds"] for p in ps.values()) or 1.0
        for n in order:
            p = ps[n]
            staged = sum(p["stages"].values())
            out.append(f"| {n} | {p['rows_read']:,} | {p['seconds']:.2f} | {p['seconds'] / total:.0%} | "
                       + " | ".join(_f(p["stages"].get(c), ".2f") for c in cols)
                       + f" | {p['seconds'] - staged:.2f} |")
        stage_tot = {c: sum(p["stages"].get(c, 0.0) for p in ps.values()) for c in cols}
        other = total - sum(sum(p["stages"].values()) for p in ps.values())
        out.append("| **all** | " + f"{sum(p['rows_read'] for p in ps.values()):,} | {total:.2f} | 100% | "
                   + " | ".join(f"{stage_tot[c]:.2f}" for c in cols) + f" | {other:.2f} |")
        out.append("")
    out += ["Stages: read = `read_table`; pseudonymise = HMAC of the identifier columns; ID scan = "
            "`national_id.scan_frame`; numbers / dates = type coercion; pandera = `check_items`; "
            "duplicates = `resolve_duplicates`; scoring = `score_instrument`; other = the rest "
            "(copies, renames, filtering, concatenation, instrument look-up, the table's copy).",
            ""]
    out += ["Memory (medians, MB): job after imports / job peak / baseline peak", ""]
    for s in summaries:
        out.append(f"- {s['persons']:,} persons: {s['rss_after_imports_median_mb']:,.0f} / "
                   f"{s['peak_rss_median_mb']:,.0f} (max {s['peak_rss_max_mb']:,.0f}; VmHWM "
                   f"{_f(s['vm_hwm_max_mb'], ',.0f')}) / {s['baseline_peak_rss_median_mb']:,.0f}")
    loads = [r["loadavg_1min_before"] for s in summaries for r in s["jobs"] + s["baselines"]]
    out += ["", f"1-minute load average before the runs: {min(loads):.2f} to {max(loads):.2f} "
                f"(on {os.cpu_count()} CPUs; this benchmark's own back-to-back children keep it near 1, "
                f"well above that means something else was running)."]
    return "\n".join(out)


def verdicts(summaries: list[dict]) -> tuple[list[str], bool]:
    verdicts = common.Verdicts()

    common.time_and_memory_verdicts(
        verdicts, summaries, persons=TARGET_PERSONS, seconds=TARGET_SECONDS,
        peak_mb=TARGET_PEAK_MB, doing="validated and scored",
        detail=lambda s: f"{_f(s['fit_sessions'], ',')} FIT sessions, {s['rows_read']:,} rows read")
    for s in summaries:
        verdicts.check(s["consistent"],
             f"{s['persons']:,} persons: job and baseline read the same rows "
             f"({s['rows_read']:,} / {s['baseline_rows_read']:,}), every source's rows read = "
             f"used + quarantined, same result in every repeat")
    return verdicts.lines, verdicts.ok


def profile_text(persons: int, prof: dict, top: int) -> str:
    out = [f"cProfile of one job, {persons:,} persons: {prof['seconds_under_profiler']:.2f} s "
           f"under the profiler", "",
           f"Top {top} functions by cumulative time:", "",
           "| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
    for r in prof["rows"]["cumulative"]:
        out.append(f"| `{r['function']}` | {r['ncalls']:,} | {r['tottime']:.2f} | {r['cumtime']:.2f} |")
    out += ["", f"Top {top} functions by own (total) time:", "",
            "| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
    for r in prof["rows"]["tottime"]:
        out.append(f"| `{r['function']}` | {r['ncalls']:,} | {r['tottime']:.2f} | {r['cumtime']:.2f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                    help="numbers of persons (default: 10000 100000)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size (default 3)")
    ap.add_argument("--institutions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out-json", type=Path, help="also write all results as JSON here")
    ap.add_argument("--profile", type=int, metavar="PERSONS",
                    help="also cProfile one job of this size (fresh process) and print hotspots")
    ap.add_argument("--top", type=int, default=15, help="rows of the profile to print (default 15)")
    ap.add_argument("--child-generate", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--child-job", help=argparse.SUPPRESS)
    ap.add_argument("--child-baseline", help=argparse.SUPPRESS)
    ap.add_argument("--child-breakdown", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    result = None
    if args.child_generate:
        persons, institutions, seed, out = args.child_generate
        result = child_generate(int(persons), int(institutions), int(seed), out)
    elif args.child_job:
        result = child_job(args.child_job)
    elif args.child_baseline:
        result = child_baseline(args.child_baseline)
    elif args.child_breakdown:
        result = child_breakdown(args.child_breakdown)
    elif args.child_profile:
        result = child_profile(args.child_profile[0], int(args.child_profile[1]))
    if result is not None:
        common.emit(result)
        return 0
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    machine = machine_info()
    summaries, prof = [], None
    sizes = sorted(set(args.sizes))
    with tempfile.TemporaryDirectory(prefix="ipeval-bench-validate-") as tmp:
        def study_dir(persons):
            return Path(tmp) / f"study-{persons}"

        def generate(persons):
            t = time.perf_counter()
            info = run_child("generate", persons, args.institutions, args.seed, study_dir(persons))
            print(f"  {persons:>7,} persons: study written in {time.perf_counter() - t:.1f} s "
                  f"({_f(info['fit_sessions'], ',')} FIT sessions, {info['bytes'] / 1e6:,.0f} MB)",
                  file=sys.stderr, flush=True)
            return info

        for persons in sizes:
            study = generate(persons)
            jobs, baselines = [], []
            for i in range(args.repeats):
                # Alternate job and baseline, so a slow spell of the machine hits both.
                r = run_child("job", study_dir(persons))
                b = run_child("baseline", study_dir(persons))
                jobs.append(r)
                baselines.append(b)
                print(f"  {persons:>7,} persons, run {i + 1}/{args.repeats}: job {r['seconds']:6.2f} s "
                      f"(peak {r['peak_rss_mb']:,.0f} MB), baseline {b['seconds']:6.2f} s "
                      f"(peak {b['peak_rss_mb']:,.0f} MB)", file=sys.stderr, flush=True)
            breakdown = run_child("breakdown", study_dir(persons))
            summaries.append(summarise(persons, study, jobs, baselines, breakdown))
            if args.profile == persons:
                prof = run_child("profile", study_dir(persons), args.top)
            shutil.rmtree(study_dir(persons))       # free the disk before the next size
        if args.profile is not None and prof is None:
            generate(args.profile)
            prof = run_child("profile", study_dir(args.profile), args.top)
    lines, ok = verdicts(summaries)

    print(markdown(summaries, machine, args.repeats, args.institutions, args.seed))
    print()
    print(where_time_goes(summaries))
    if prof is not None:
        print()
        print(profile_text(args.profile, prof, args.top))
    print()
    print("\n".join(lines))
    if args.out_json:
        args.out_json.write_text(json.dumps(
            {"machine": machine, "institutions": args.institutions, "seed": args.seed,
             "repeats": args.repeats,
             "targets": {"persons": TARGET_PERSONS, "seconds": TARGET_SECONDS,
                         "peak_mb": TARGET_PEAK_MB},
             "verdicts": lines, "all_pass": ok, "sizes": summaries, "profile": prof},
            indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
