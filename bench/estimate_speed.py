"""Benchmark of the headline analysis: every method for two outcomes on 100 000 persons.

The job (issue 5): for the outcomes ``goal_retention`` (binary) and ``daily_chaos`` (continuous)
of a synthetic study, every method of ``estimate_effects`` -- crude, covariate-adjusted
regression (cluster-robust by institution), IPW (ATE), AIPW (ATE) and the mixed model -- with
AIPW's confidence interval from a multiplier bootstrap of its influence function with 1 000
replicates (``aipw(..., bootstrap=1000, seed=...)``). ``estimate_effects`` has no bootstrap
argument, so the job calls the estimator functions directly with exactly the arguments
``estimate_effects`` passes (``adjustment_set``, institution as cluster when there are several,
the mixed model without the institution among its covariates); a check run confirms that the
point estimates equal those of ``estimate_effects``.

The baseline, measured in the same run: a plain nonparametric bootstrap that draws the rows with
replacement and refits AIPW on every resample. A few refits (``--refits``, default 5 per
outcome) are timed and the time of 1 000 is extrapolated from their median (labelled as such).

The study is written once (``write_study``, 100 000 persons, 6 institutions, seed 2026) to a
temporary folder, in its own process. Every repetition of the job and of the baseline runs in a
fresh Python process that loads the study the real way (``evaluation.Study.load(dir)`` and
``analysis_frame(study, outcome)``); the loading is timed on its own and reported, but not
counted in the estimation time. Time is ``time.perf_counter`` around the work only (imports
excluded); memory is the child's peak RSS (``ru_maxrss``), loading included.

    .venv/bin/python bench/estimate_speed.py                     # 100k persons, 3 repeats (~3 min)
    .venv/bin/python bench/estimate_speed.py --repeats 5 --refits 10 --out-json e.json
    .venv/bin/python bench/estimate_speed.py --profile           # also cProfile one job
    .venv/bin/python bench/estimate_speed.py --blas-threads 1    # BLAS single-threaded in the children
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (bench/common.py)

ROOT = Path(__file__).resolve().parents[1]

# Target from issue 5: all methods for two outcomes on 100 000 persons, with 1 000 bootstrap
# replicates where a bootstrap is used, in under 60 s on 2 cores.
TARGET_PERSONS = 100_000
TARGET_SECONDS = 60.0
TARGET_REPLICATES = 1000
TARGET_CORES = 2
OUTCOMES = ("goal_retention", "daily_chaos")
METHODS = ("crude", "adjusted", "ipw", "aipw", "mixed")      # estimate_effects' order
ESTIMAND = "ATE"


# --------------------------------------------------------------------------------------------
# Children: each in a fresh process
# --------------------------------------------------------------------------------------------

def _rss_peak_kb() -> int:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # kB on Linux


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


class Contention:
    """CPU time other processes used while the work ran: machine busy time minus this
    process's own CPU time (all its threads). Zero on an otherwise idle machine."""

    def __enter__(self):
        self.wall, self.busy, self.own = time.perf_counter(), _busy_seconds(), _own_seconds()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.own = _own_seconds() - self.own
        self.others = max(0.0, _busy_seconds() - self.busy - self.own)
        return False

    def as_dict(self) -> dict:
        return {"wall_s": self.wall, "own_cpu_s": self.own, "others_cpu_s": self.others}


def _blas() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{k: i.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
            for i in threadpool_info()]


def _import_all() -> None:
    """Import everything the job imports, so import time is not counted."""
    sys.path.insert(0, str(ROOT))          # measure the working tree, not some other install
    import evaluation  # noqa: F401
    import evaluation.association.analysis  # noqa: F401
    import evaluation.association.estimators  # noqa: F401
    import evaluation.association.frame  # noqa: F401
    import evaluation.association.mixed  # noqa: F401
    import evaluation.study  # noqa: F401
    import pandas  # noqa: F401
    import statsmodels.api  # noqa: F401
    import statsmodels.formula.api  # noqa: F401


def _load(study_dir: str) -> tuple[dict, float]:
    """``Study.load`` + ``analysis_frame`` for each outcome; the frames and the seconds taken."""
    import evaluation
    from evaluation.association.frame import analysis_frame
    t = time.perf_counter()
    study = evaluation.Study.load(study_dir)
    frames = {name: analysis_frame(study, name) for name in OUTCOMES}
    return frames, time.perf_counter() - t


def _plan(frame, replicates: int, seed: int) -> list[tuple[str, object]]:
    """(method, call) for every method, with the arguments ``estimate_effects`` passes; AIPW
    additionally with ``bootstrap=replicates`` (the multiplier bootstrap)."""
    from evaluation.association import estimators, mixed
    from evaluation.association.analysis import adjustment_set
    d, y, a, kind = frame.data, frame.outcome, frame.exposure, frame.kind
    covs = adjustment_set(frame)
    cluster = (frame.institution if frame.institution in d.columns
               and d[frame.institution].nunique() > 1 else None)
    plan = [
        ("crude", lambda: estimators.crude(d, y, a, kind=kind)),
        ("adjusted", lambda: estimators.adjusted(d, y, a, covs, kind=kind, cluster=cluster)),
        ("ipw", lambda: estimators.ipw(d, y, a, covs, estimand=ESTIMAND, kind=kind)),
        ("aipw", lambda: estimators.aipw(d, y, a, covs, estimand=ESTIMAND, kind=kind,
                                         bootstrap=replicates, seed=seed)),
    ]
    if cluster:
        plan.append(("mixed", lambda: mixed.mixed_model(d, y, a, [c for c in covs if c != cluster],
                                                        group=cluster, kind=kind)))
    return plan


def _records(table) -> list[dict]:
    cols = ["method", "scale", "estimate", "ci_low", "ci_high", "se_method"]
    return [{c: (r[c] if c in ("method", "scale", "se_method") else float(r[c])) for c in cols
             if c in table.columns} for r in table.to_dict("records")]


def _frame_info(frames: dict) -> dict:
    return {name: {"kind": f.kind, "rows": len(f.data), "n_read": f.n_read,
                   "exposed": int(f.data[f.exposure].sum()),
                   "institutions": int(f.data[f.institution].nunique())}
            for name, f in frames.items()}


def child_generate(persons: int, institutions: int, seed: int, out: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from evaluation.synthetic import SyntheticConfig, write_study
    t = time.perf_counter()
    write_study(out, SyntheticConfig(persons=persons, institutions=institutions, seed=seed))
    return {"persons": persons, "generate_seconds": time.perf_counter() - t,
            "bytes": sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())}


def child_job(study_dir: str, replicates: int, seed: int) -> dict:
    _import_all()
    from evaluation.association import estimators
    rss_imports_kb = _rss_peak_kb()
    frames, load_s = _load(study_dir)
    rss_loaded_kb = _rss_peak_kb()

    # Time the multiplier bootstrap inside aipw (aipw looks it up in the module's namespace).
    boot = {"seconds": 0.0}
    inner = estimators.multiplier_bootstrap_ci

    def timed_bootstrap(*args, **kwargs):
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            boot["seconds"] += time.perf_counter() - t

    estimators.multiplier_bootstrap_ci = timed_bootstrap
    load_before = os.getloadavg()[0]
    per_outcome, rows = {}, {}
    with Contention() as cpu:
        t0 = time.perf_counter()
        for name, frame in frames.items():
            times, tables = {}, []
            boot["seconds"] = 0.0
            for method, call in _plan(frame, replicates, seed):
                t = time.perf_counter()
                tables.append(call())
                times[method] = time.perf_counter() - t
            times["aipw_multiplier_bootstrap"] = boot["seconds"]
            per_outcome[name] = times
            rows[name] = [r for tab in tables for r in _records(tab)]
        total = time.perf_counter() - t0
    return {"seconds": total, "load_seconds": load_s, "per_outcome": per_outcome, "rows": rows,
            "frames": _frame_info(frames), "peak_rss_mb": _rss_peak_kb() / 1024,
            "rss_after_load_mb": rss_loaded_kb / 1024, "rss_after_imports_mb": rss_imports_kb / 1024,
            "loadavg_1min_before": load_before, "cpu": cpu.as_dict(), "blas": _blas()}


def child_baseline(study_dir: str, refits: int, seed: int) -> dict:
    """AIPW's point estimate, then ``refits`` plain bootstrap replicates: rows drawn with
    replacement and AIPW refitted on each (no bootstrap inside)."""
    _import_all()
    import numpy as np
    from evaluation.association import estimators
    from evaluation.association.analysis import adjustment_set
    frames, load_s = _load(study_dir)
    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(seed)
    out = {}
    cpu = Contention().__enter__()
    t0 = time.perf_counter()
    for name, frame in frames.items():
        d, y, a, kind = frame.data, frame.outcome, frame.exposure, frame.kind
        covs = adjustment_set(frame)
        t = time.perf_counter()
        point = float(estimators.aipw(d, y, a, covs, estimand=ESTIMAND, kind=kind)["estimate"].iloc[0])
        point_s = time.perf_counter() - t
        rep_s, estimates = [], []
        for _ in range(refits):
            t = time.perf_counter()
            sample = d.iloc[rng.integers(0, len(d), len(d))].reset_index(drop=True)
            res = estimators.aipw(sample, y, a, covs, estimand=ESTIMAND, kind=kind)
            rep_s.append(time.perf_counter() - t)
            estimates.append(float(res["estimate"].iloc[0]))
        out[name] = {"point_seconds": point_s, "point": point, "replicate_seconds": rep_s,
                     "replicate_estimates": estimates}
    seconds = time.perf_counter() - t0
    cpu.__exit__(None, None, None)
    return {"seconds": seconds, "load_seconds": load_s, "per_outcome": out,
            "peak_rss_mb": _rss_peak_kb() / 1024, "loadavg_1min_before": load_before,
            "cpu": cpu.as_dict()}


def child_check(study_dir: str) -> dict:
    """``estimate_effects(frame)`` (all methods, AIPW with its influence-function CI): its point
    estimates must equal the job's, which calls the estimators directly."""
    _import_all()
    from evaluation.association.analysis import estimate_effects
    frames, _ = _load(study_dir)
    return {name: _records(estimate_effects(frame, estimand=ESTIMAND))
            for name, frame in frames.items()}


def child_profile(study_dir: str, replicates: int, seed: int, top: int) -> dict:
    """cProfile one job (loading excluded); the top functions by cumulative and by own time."""
    import pstats
    _import_all()
    frames, _ = _load(study_dir)

    def job():
        for frame in frames.values():
            for _method, call in _plan(frame, replicates, seed):
                call()

    prof, elapsed, texts, rows = common.profile(job, top)
    # The methods' own entry points, whatever their rank.
    wanted = {"crude", "adjusted", "ipw", "aipw", "mixed_model", "multiplier_bootstrap_ci",
              "_propensity", "_arm_predictions", "_prepare", "_design", "_fit_glm"}
    entries = {}
    for (f, line, func), (_cc, nc, tt, ct, _callers) in pstats.Stats(prof).stats.items():
        if func in wanted and "association" in f:
            entries[func] = {"function": f"{Path(f).name}:{line}({func})", "ncalls": nc,
                             "tottime": tt, "cumtime": ct}
    return {"seconds_under_profiler": elapsed, "text": texts, "rows": rows, "entries": entries}


# --------------------------------------------------------------------------------------------
# Parent: runs, summary, verdicts
# --------------------------------------------------------------------------------------------

CHILD_ENV: dict[str, str] = {}


def run_child(mode: str, *args) -> dict:
    """Run one child (``--child-<mode> args``) in a fresh interpreter and return its result."""
    return common.run_child(__file__, [f"--child-{mode}", *args], what=f"{mode} {args}",
                            env=CHILD_ENV)


def _med(values):
    return statistics.median(values)


def summarise(jobs: list[dict], baselines: list[dict], replicates: int) -> dict:
    totals = [j["seconds"] for j in jobs]
    methods = {o: {m: _med([j["per_outcome"][o][m] for j in jobs])
                   for m in jobs[0]["per_outcome"][o]} for o in OUTCOMES}
    plain = {}
    for o in OUTCOMES:
        reps = [s for b in baselines for s in b["per_outcome"][o]["replicate_seconds"]]
        point = _med([b["per_outcome"][o]["point_seconds"] for b in baselines])
        per_rep = _med(reps)
        mult_boot = methods[o]["aipw_multiplier_bootstrap"]
        mult_aipw = methods[o]["aipw"]
        plain[o] = {"replicates_measured": len(reps), "per_replicate_s": per_rep,
                    "per_replicate_min_s": min(reps), "per_replicate_max_s": max(reps),
                    "point_s": point,
                    "bootstrap_extrapolated_s": replicates * per_rep,
                    "aipw_extrapolated_s": point + replicates * per_rep,
                    "multiplier_bootstrap_s": mult_boot, "multiplier_aipw_s": mult_aipw,
                    "ratio_bootstrap": replicates * per_rep / mult_boot if mult_boot else None,
                    "ratio_aipw": (point + replicates * per_rep) / mult_aipw}
    job_median = _med(totals)
    aipw_sum = sum(methods[o]["aipw"] for o in OUTCOMES)
    plain_job = job_median - aipw_sum + sum(plain[o]["aipw_extrapolated_s"] for o in OUTCOMES)
    rows = [j["rows"] for j in jobs]
    return {
        "repeats": len(jobs), "median_s": job_median, "min_s": min(totals), "max_s": max(totals),
        "load_median_s": _med([j["load_seconds"] for j in jobs]),
        "methods": methods, "plain": plain,
        "plain_job_extrapolated_s": plain_job, "ratio_job": plain_job / job_median,
        "peak_rss_median_mb": _med([j["peak_rss_mb"] for j in jobs]),
        "peak_rss_max_mb": max(j["peak_rss_mb"] for j in jobs),
        "rss_after_load_median_mb": _med([j["rss_after_load_mb"] for j in jobs]),
        "rss_after_imports_median_mb": _med([j["rss_after_imports_mb"] for j in jobs]),
        "baseline_peak_rss_median_mb": _med([b["peak_rss_mb"] for b in baselines]),
        "same_every_repeat": all(r == rows[0] for r in rows),
        "others_cpu_share": [j["cpu"]["others_cpu_s"] / j["cpu"]["wall_s"] for j in jobs],
        "baseline_others_cpu_share": [b["cpu"]["others_cpu_s"] / b["cpu"]["wall_s"]
                                      for b in baselines],
        "own_cpu_per_wall": [j["cpu"]["own_cpu_s"] / j["cpu"]["wall_s"] for j in jobs],
        "blas": jobs[0].get("blas", []),
        "frames": jobs[0]["frames"], "rows": jobs[0]["rows"],
        "jobs": jobs, "baselines": baselines,
    }


def _f(x, fmt):
    return "–" if x is None else format(x, fmt)


METHOD_LABELS = {"crude": "crude", "adjusted": "adjusted (GLM, cluster-robust)",
                 "ipw": "IPW (ATE)", "aipw": "AIPW (ATE) + multiplier bootstrap",
                 "mixed": "mixed model (+ GEE for binary)"}


def markdown(s: dict, study: dict, machine: dict, args) -> str:
    fr = s["frames"]
    out = [f"Every method for two outcomes, {args.persons:,} persons (synthetic study, "
           f"{args.institutions} institutions, seed {args.seed}); AIPW with {args.replicates:,} "
           f"multiplier-bootstrap replicates; {s['repeats']} repeats, each job and baseline in a "
           "fresh process. Seconds, median over the repeats.", "",
           "| method | " + " | ".join(f"{o} ({fr[o]['kind']}, n = {fr[o]['rows']:,}) s"
                                      for o in OUTCOMES) + " | both s |",
           "|---|" + "---:|" * (len(OUTCOMES) + 1)]
    for m in METHODS:
        if not all(m in s["methods"][o] for o in OUTCOMES):
            continue
        vals = [s["methods"][o][m] for o in OUTCOMES]
        out.append(f"| {METHOD_LABELS[m]} | " + " | ".join(f"{v:.2f}" for v in vals)
                   + f" | {sum(vals):.2f} |")
        if m == "aipw":
            vals = [s["methods"][o]["aipw_multiplier_bootstrap"] for o in OUTCOMES]
            out.append(f"| &nbsp;&nbsp;of which the {args.replicates:,} multiplier replicates | "
                       + " | ".join(f"{v:.2f}" for v in vals) + f" | {sum(vals):.2f} |")
    per_o = [sum(v for k, v in s["methods"][o].items() if k in METHODS) for o in OUTCOMES]
    out.append("| **all methods** | " + " | ".join(f"{v:.2f}" for v in per_o)
               + f" | **{s['median_s']:.2f}** (min {s['min_s']:.2f}, max {s['max_s']:.2f}) |")
    out += ["",
            f"Loading, not counted above: `Study.load` + `analysis_frame` for both outcomes "
            f"{s['load_median_s']:.2f} s (median). Peak RSS of the job's process "
            f"{s['peak_rss_median_mb']:,.0f} MB (max {s['peak_rss_max_mb']:,.0f}; "
            f"{s['rss_after_imports_median_mb']:,.0f} after imports, "
            f"{s['rss_after_load_median_mb']:,.0f} after loading). Study written once in "
            f"{study['generate_seconds']:.1f} s ({study['bytes'] / 1e6:,.0f} MB).", "",
            f"Baseline, the same run: plain nonparametric bootstrap of AIPW (rows drawn with "
            f"replacement, AIPW refitted on each resample), {args.refits} refits per outcome per "
            f"repeat measured; 1 000 replicates **extrapolated** from the median refit.", "",
            "| outcome | refits measured | s per refit (median; min–max) | plain bootstrap, "
            f"{args.replicates:,} replicates (extrapolated) s | multiplier bootstrap, "
            f"{args.replicates:,} replicates (measured) s | ratio | AIPW with CI, plain "
            "(extrapolated) / multiplier (measured) s | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for o in OUTCOMES:
        p = s["plain"][o]
        out.append(f"| {o} | {p['replicates_measured']} | {p['per_replicate_s']:.2f} "
                   f"({p['per_replicate_min_s']:.2f}–{p['per_replicate_max_s']:.2f}) "
                   f"| {p['bootstrap_extrapolated_s']:,.0f} | {p['multiplier_bootstrap_s']:.2f} "
                   f"| {_f(p['ratio_bootstrap'], ',.0f')} | {p['aipw_extrapolated_s']:,.0f} / "
                   f"{p['multiplier_aipw_s']:.2f} | {p['ratio_aipw']:,.0f} |")
    out += ["",
            f"Whole job with the plain bootstrap in place of the multiplier bootstrap "
            f"(**extrapolated**): {s['plain_job_extrapolated_s']:,.0f} s, "
            f"{s['ratio_job']:,.0f} × the measured {s['median_s']:.2f} s.", "",
            "Seconds: `time.perf_counter` around the estimation only (interpreter start, imports "
            "and loading excluded). The job calls, per outcome, `crude`, `adjusted` (cluster = "
            "institution), `ipw`, `aipw(bootstrap=%d)` and `mixed_model` with the arguments "
            "`estimate_effects` passes. The multiplier replicates' share is the time spent in "
            "`multiplier_bootstrap_ci` within `aipw`. A plain refit includes drawing the rows "
            "(`DataFrame.iloc`) and the whole `aipw` call (checks, propensity model, two outcome "
            "models). Ratio = plain / multiplier." % args.replicates, "",
            "Machine: " + "; ".join([
                machine["platform"], machine["cpu"], f"{machine['nproc']} cores (nproc)",
                f"{machine['ram_gb']} GB RAM", f"Python {machine['python']}",
                f"numpy {machine['numpy']}", f"pandas {machine['pandas']}"]
                + ([f"statsmodels {machine['statsmodels']}"] if "statsmodels" in machine else [])
                + ([f"commit {machine['git']}"] if machine.get("git") else []))]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['num_threads']} threads)"
                     for b in s["blas"] if b["user_api"] == "blas") or "unknown"
    threads = (f"`--blas-threads {args.blas_threads}` (OPENBLAS/OMP/MKL_NUM_THREADS set in the "
               "children)" if args.blas_threads else "as the environment leaves it")
    out[-1] += f"; BLAS {blas}, threads {threads}"
    loads = [r["loadavg_1min_before"] for r in s["jobs"] + s["baselines"]]
    others = ", ".join(f"{x:.0%}" for x in s["others_cpu_share"])
    out += ["", f"Other processes' CPU use during each timed job, as a share of one core for the "
                f"job's wall time (busy time of the machine from /proc/stat minus the job's own "
                f"CPU time): {others}; during the baselines: "
                + ", ".join(f"{x:.0%}" for x in s["baseline_others_cpu_share"])
                + f". Near 0 % means the machine was otherwise idle. 1-minute load average before "
                f"the timed work: {min(loads):.2f} to {max(loads):.2f} (on {os.cpu_count()} CPUs)."]
    return "\n".join(out)


def verdicts(s: dict, check: dict | None, args, nproc: int) -> tuple[list[str], bool]:
    verdicts = common.Verdicts()

    if args.persons != TARGET_PERSONS or args.replicates != TARGET_REPLICATES:
        verdicts.skip(f"the target is {TARGET_PERSONS:,} persons and {TARGET_REPLICATES:,} "
                     f"replicates; this run used {args.persons:,} and {args.replicates:,}.")
    else:
        cores = "" if nproc == TARGET_CORES else f" (NB: measured on {nproc} cores, not {TARGET_CORES})"
        verdicts.check(s["max_s"] < TARGET_SECONDS,
             f"all methods for two outcomes on {TARGET_PERSONS:,} persons with "
             f"{TARGET_REPLICATES:,} bootstrap replicates in under {TARGET_SECONDS:.0f} s: slowest "
             f"of {s['repeats']} runs {s['max_s']:.2f} s (median {s['median_s']:.2f} s; loading, "
             f"{s['load_median_s']:.2f} s, not counted){cores}")
    busy = [x for x in s["others_cpu_share"] + s["baseline_others_cpu_share"] if x > 0.1]
    if busy:
        verdicts.note(f"other processes used more than 10 % of a core during {len(busy)} of "
                     f"the {2 * s['repeats']} timed runs (up to {max(busy):.0%}): those times are "
                     "inflated; rerun on an idle machine for clean figures.")
    verdicts.check(s["same_every_repeat"], "the same estimates and CIs in every repeat (fixed seed)")
    if check is not None:
        same = True
        for o in OUTCOMES:
            ref, got = check[o], s["rows"][o]
            same &= [(r["method"], r["scale"]) for r in ref] == [(r["method"], r["scale"]) for r in got]
            same &= all(abs(r["estimate"] - g["estimate"]) <= 1e-9 * max(1.0, abs(r["estimate"]))
                        for r, g in zip(ref, got))
        verdicts.check(same, "the job's point estimates equal `estimate_effects(frame)` for both outcomes "
                   "(the same calls, AIPW only adds the bootstrap CI)")
        for o in OUTCOMES:
            ifr = next(r for r in check[o] if r["method"] == "AIPW")
            mbr = next(r for r in s["rows"][o] if r["method"] == "AIPW")
            w_if, w_mb = ifr["ci_high"] - ifr["ci_low"], mbr["ci_high"] - mbr["ci_low"]
            verdicts.check(abs(w_mb / w_if - 1) < 0.1,
                 f"{o}: multiplier-bootstrap CI of AIPW ({mbr['ci_low']:.4f}, {mbr['ci_high']:.4f}) "
                 f"within 10 % of the influence-function CI's width ({ifr['ci_low']:.4f}, "
                 f"{ifr['ci_high']:.4f}): ratio of widths {w_mb / w_if:.3f}")
    return verdicts.lines, verdicts.ok


def profile_text(prof: dict, top: int) -> str:
    out = [f"cProfile of one job (loading excluded): {prof['seconds_under_profiler']:.2f} s under "
           "the profiler", "", f"Top {top} functions by cumulative time:", "",
           "| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
    for r in prof["rows"]["cumulative"]:
        out.append(f"| `{r['function']}` | {r['ncalls']:,} | {r['tottime']:.2f} | {r['cumtime']:.2f} |")
    out += ["", f"Top {top} functions by own (total) time:", "",
            "| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
    for r in prof["rows"]["tottime"]:
        out.append(f"| `{r['function']}` | {r['ncalls']:,} | {r['tottime']:.2f} | {r['cumtime']:.2f} |")
    out += ["", "The association package's own entry points:", "",
            "| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
    for r in sorted(prof["entries"].values(), key=lambda r: -r["cumtime"]):
        out.append(f"| `{r['function']}` | {r['ncalls']:,} | {r['tottime']:.2f} | {r['cumtime']:.2f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=TARGET_PERSONS)
    ap.add_argument("--repeats", type=int, default=3, help="runs of job and baseline (default 3)")
    ap.add_argument("--replicates", type=int, default=TARGET_REPLICATES,
                    help="bootstrap replicates (default 1000)")
    ap.add_argument("--refits", type=int, default=5,
                    help="plain-bootstrap refits timed per outcome per repeat (default 5)")
    ap.add_argument("--institutions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--blas-threads", type=int, metavar="N",
                    help="set OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS to N in "
                         "the children (default: leave the environment as it is)")
    ap.add_argument("--no-check", action="store_true",
                    help="skip the comparison with estimate_effects (saves one load and fit)")
    ap.add_argument("--out-json", type=Path, help="also write all results as JSON here")
    ap.add_argument("--profile", action="store_true", help="also cProfile one job (fresh process)")
    ap.add_argument("--top", type=int, default=10, help="rows of the profile to print (default 10)")
    ap.add_argument("--child-generate", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--child-job", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--child-baseline", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--child-check", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    result = None
    if args.child_generate:
        p, i, sd, out = args.child_generate
        result = child_generate(int(p), int(i), int(sd), out)
    elif args.child_job:
        result = child_job(args.child_job[0], int(args.child_job[1]), int(args.child_job[2]))
    elif args.child_baseline:
        result = child_baseline(args.child_baseline[0], int(args.child_baseline[1]),
                                int(args.child_baseline[2]))
    elif args.child_check:
        result = child_check(args.child_check)
    elif args.child_profile:
        d, r, sd, top = args.child_profile
        result = child_profile(d, int(r), int(sd), int(top))
    if result is not None:
        common.emit(result)
        return 0
    if args.repeats < 1 or args.refits < 1 or args.replicates < 1:
        ap.error("--repeats, --refits and --replicates must be at least 1")

    if args.blas_threads:
        CHILD_ENV.update({v: str(args.blas_threads) for v in
                          ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    machine = common.machine_info(code="evaluation")
    check = prof = None
    with tempfile.TemporaryDirectory(prefix="ipeval-bench-estimate-") as tmp:
        study_dir = Path(tmp) / "study"
        t = time.perf_counter()
        study = run_child("generate", args.persons, args.institutions, args.seed, study_dir)
        print(f"  {args.persons:,} persons: study written in {time.perf_counter() - t:.1f} s",
              file=sys.stderr, flush=True)
        jobs, baselines = [], []
        for i in range(args.repeats):
            # Alternate job and baseline, so a slow spell of the machine hits both.
            j = run_child("job", study_dir, args.replicates, args.seed)
            b = run_child("baseline", study_dir, args.refits, args.seed + i)
            jobs.append(j)
            baselines.append(b)
            reps = {o: statistics.median(b["per_outcome"][o]["replicate_seconds"]) for o in OUTCOMES}
            print(f"  run {i + 1}/{args.repeats}: job {j['seconds']:6.2f} s (load {j['load_seconds']:.2f} s, "
                  f"peak {j['peak_rss_mb']:,.0f} MB); plain refit "
                  + ", ".join(f"{o} {v:.2f} s" for o, v in reps.items()),
                  file=sys.stderr, flush=True)
        if not args.no_check:
            check = run_child("check", study_dir)
        if args.profile:
            prof = run_child("profile", study_dir, args.replicates, args.seed, args.top)
    s = summarise(jobs, baselines, args.replicates)
    lines, ok = verdicts(s, check, args, machine["nproc"])
    print(markdown(s, study, machine, args))
    if prof is not None:
        print()
        print(profile_text(prof, args.top))
    print()
    print("\n".join(lines))
    if args.out_json:
        args.out_json.write_text(json.dumps(
            {"machine": machine, "persons": args.persons, "institutions": args.institutions,
             "seed": args.seed, "replicates": args.replicates, "refits": args.refits,
             "blas_threads": args.blas_threads,
             "targets": {"persons": TARGET_PERSONS, "seconds": TARGET_SECONDS,
                         "replicates": TARGET_REPLICATES, "cores": TARGET_CORES},
             "verdicts": lines, "all_pass": ok, "study": study, "summary": s, "check": check,
             "profile": prof}, indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
