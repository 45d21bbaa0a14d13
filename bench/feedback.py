"""Benchmark of the FIT (feedback) analyses over sessions on about 1 000 000 sessions.

The job is what the feedback notebook does with the sessions, after loading the study:

1. ``session_frame(fit, persons, episodes=...)`` — the per-session analysis frame;
2. ``growth_model(frame, max_clients=M)`` — the IP × log(session) growth model (MixedLM,
   random intercept and slope per client episode) on a stratified sample of M client episodes;
3. ``ExpectedResponse("percentile").fit(frame)`` and ``alerts(frame, ...)`` for every session;
4. ``ExpectedResponse("mixed", max_clients=M).fit(frame)`` and ``alerts(frame, ...)``.

Sizes are persons of a synthetic study (``write_study``, 6 institutions, seed 2026): 105 000
persons give about 100 000 client episodes and 1 000 000 sessions; the baseline, measured in the
same run, is the same job on 10 500 persons (about 10 000 episodes, 100 000 sessions). Each study
is written once, in its own process. Every repetition runs in a fresh Python process that loads
the study the real way (``Study.load``, ``table("fit")``, ``person_table()``,
``table("fit_episodes")``); the loading is timed and reported but not counted (``bench/validate.py``
covers it). Time is ``time.perf_counter`` around each step; memory is the child's ``ru_maxrss``
(loading included) and its RSS after loading.

    .venv/bin/python bench/feedback.py                   # 10.5k and 105k persons, 3 repeats
    .venv/bin/python bench/feedback.py --max-clients 2000 --out-json fb.json
    .venv/bin/python bench/feedback.py --full-fit        # plus one growth model on all clients
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
TARGET_SECONDS = 120.0      # issue 6: the feedback analyses on 1 000 000 sessions
TARGET_PEAK_MB = 4096.0
STEPS = ("session_frame", "growth_model", "etr_percentile", "alerts_percentile", "etr_mixed",
         "alerts_mixed")


# -- children -------------------------------------------------------------------------------------

def _rss_kb(field: str = "peak") -> int:
    import resource
    if field == "now":
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def child_generate(persons: int, institutions: int, seed: int, out: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from evaluation.synthetic import SyntheticConfig, write_study
    truth = write_study(out, SyntheticConfig(persons=persons, institutions=institutions, seed=seed))
    fit = truth["effects"]["ors_ip_x_log_session"]
    return {"persons": persons, "sessions": fit["sessions"], "episodes": fit["episodes"],
            "truth_ip_x_log_session": fit["ip_x_log_session"]}


def child_job(study_dir: str, max_clients: int, seed: int, full: bool) -> dict:
    sys.path.insert(0, str(ROOT))          # measure the working tree
    # Imported before the clock starts, so one-off import time is not counted as work.
    import numpy  # noqa: F401
    import statsmodels.formula.api  # noqa: F401
    from evaluation import Study
    from evaluation.feedback.expected import ExpectedResponse, alerts
    from evaluation.feedback.growth import growth_model
    from evaluation.feedback.sessions import session_frame

    t0 = time.perf_counter()
    study = Study.load(Path(study_dir) / "study.yaml")
    fit, persons, episodes = study.table("fit"), study.person_table(), study.table("fit_episodes")
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_kb("now") / 1024
    load_before = os.getloadavg()[0]
    busy0, own0 = _busy_seconds(), sum(os.times()[:2])
    seconds, out = {}, {}

    def step(name, fn):
        t = time.perf_counter()
        value = fn()
        seconds[name] = time.perf_counter() - t
        return value

    frame = step("session_frame", lambda: session_frame(fit, persons, episodes=episodes))
    model = step("growth_model", lambda: growth_model(frame, max_clients=max_clients, seed=seed))
    pct = step("etr_percentile", lambda: ExpectedResponse("percentile").fit(frame))
    a_pct = step("alerts_percentile", lambda: alerts(frame, pct))
    mix = step("etr_mixed", lambda: ExpectedResponse("mixed", max_clients=max_clients,
                                                     seed=seed).fit(frame))
    a_mix = step("alerts_mixed", lambda: alerts(frame, mix))
    wall = sum(seconds.values())
    other_cpu = (_busy_seconds() - busy0) - (sum(os.times()[:2]) - own0)
    row = model.interaction_
    out.update({
        "seconds": wall, "step_seconds": seconds, "load_seconds": load_s,
        "rss_after_load_mb": rss_loaded, "peak_rss_mb": _rss_kb() / 1024,
        "sessions_in_table": len(fit), "sessions": len(frame),
        "clients": int(frame["client"].nunique()), "left_out": frame.attrs["left_out"],
        "growth_clients": model.n_clients_, "growth_sessions": model.n_,
        "growth_of_clients": model.sampled_["of_clients"], "growth_converged": model.converged_,
        "ip_x_log_session": [float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])],
        "etr_mixed_clients": mix.sampled_["n_clients"], "etr_mixed_converged": mix.converged_,
        "alerts_percentile": {k: int(v) for k, v in a_pct["alert"].value_counts().items()},
        "alerts_mixed": {k: int(v) for k, v in a_mix["alert"].value_counts().items()},
        "loadavg_1min_before": load_before,
        "other_cpu_share": other_cpu / wall if wall > 0 else None,
    })
    if full:
        t = time.perf_counter()
        whole = growth_model(frame)
        out["full_fit"] = {"seconds": time.perf_counter() - t, "clients": whole.n_clients_,
                           "ip_x_log_session": [float(whole.interaction_[c]) for c in
                                                ("estimate", "ci_low", "ci_high")],
                           "peak_rss_mb": _rss_kb() / 1024}
    return out


def run_child(*args) -> dict:
    return common.run_child(__file__, ["--child", *args], what=str(args[0]))


# -- parent ---------------------------------------------------------------------------------------

def summarise(study: dict, runs: list[dict]) -> dict:
    med = statistics.median
    return {**study, "repeats": len(runs),
            "median_s": med(r["seconds"] for r in runs), "min_s": min(r["seconds"] for r in runs),
            "max_s": max(r["seconds"] for r in runs),
            "step_median_s": {s: med(r["step_seconds"][s] for r in runs) for s in STEPS},
            "load_median_s": med(r["load_seconds"] for r in runs),
            "peak_rss_median_mb": med(r["peak_rss_mb"] for r in runs),
            "peak_rss_max_mb": max(r["peak_rss_mb"] for r in runs),
            "rss_after_load_median_mb": med(r["rss_after_load_mb"] for r in runs),
            "same_results": all(_result(r) == _result(runs[0]) for r in runs), "runs": runs}


def _result(run: dict) -> tuple:
    return (run["sessions"], run["clients"], run["ip_x_log_session"], run["alerts_percentile"],
            run["alerts_mixed"])


def markdown(summaries: list[dict], machine: dict, args) -> str:
    base = summaries[0]
    out = ["| persons | client episodes | sessions with ORS | median s | min s | max s "
           "| peak RSS MB | RSS after load MB | ratio to baseline | sessions ratio |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summaries:
        r = s["runs"][0]
        out.append(f"| {s['persons']:,}{' (baseline)' if s is base else ''} | {r['clients']:,} "
                   f"| {r['sessions']:,} | {s['median_s']:.2f} | {s['min_s']:.2f} "
                   f"| {s['max_s']:.2f} | {s['peak_rss_median_mb']:,.0f} "
                   f"| {s['rss_after_load_median_mb']:,.0f} "
                   f"| {s['median_s'] / base['median_s']:.2f} "
                   f"| {r['sessions'] / base['runs'][0]['sessions']:.1f} |")
    out += ["", "Median seconds per step:", "",
            "| step | " + " | ".join(f"{s['persons']:,}" for s in summaries) + " |",
            "|---|" + "---:|" * len(summaries)]
    for step in STEPS:
        out.append(f"| {step} | " + " | ".join(f"{s['step_median_s'][step]:.2f}"
                                                for s in summaries) + " |")
    out.append("| (load the study: not counted) | " + " | ".join(
        f"{s['load_median_s']:.2f}" for s in summaries) + " |")
    for s in summaries:
        r = s["runs"][0]
        est, lo, hi = r["ip_x_log_session"]
        out.append(f"\n{s['persons']:,} persons: IP × log(session) {est:.3f} [{lo:.3f}, {hi:.3f}] "
                   f"from {r['growth_clients']:,} of {r['growth_of_clients']:,} client episodes "
                   f"(truth {s['truth_ip_x_log_session']}); alerts (percentile ETR) "
                   f"{r['alerts_percentile']}; alerts (mixed ETR) {r['alerts_mixed']}; results "
                   f"identical across repeats: {s['same_results']}.")
        if "full_fit" in r:
            ff = r["full_fit"]
            out.append(f"Full growth model on all {ff['clients']:,} client episodes (one run): "
                       f"{ff['seconds']:.1f} s, estimate {ff['ip_x_log_session'][0]:.3f} "
                       f"[{ff['ip_x_log_session'][1]:.3f}, {ff['ip_x_log_session'][2]:.3f}], "
                       f"peak {ff['peak_rss_mb']:,.0f} MB.")
    loads = [r["loadavg_1min_before"] for s in summaries for r in s["runs"]]
    other = [r["other_cpu_share"] for s in summaries for r in s["runs"]
             if r["other_cpu_share"] is not None]
    out += ["", f"max_clients {args.max_clients}, seed {args.seed}; {args.repeats} repeats per "
                f"size, each in a fresh process. Load average before runs {min(loads):.2f}–"
                f"{max(loads):.2f}; other processes used {min(other):.0%}–{max(other):.0%} of a "
                f"CPU during the timed work.",
            "", "Machine: " + "; ".join([
                machine["platform"], machine["cpu"], f"{machine['nproc']} cores (nproc)",
                f"{machine['ram_gb']} GB RAM", f"Python {machine['python']}",
                f"numpy {machine.get('numpy')}", f"pandas {machine.get('pandas')}",
                f"statsmodels {machine.get('statsmodels')}", f"commit {machine.get('git')}"])]
    return "\n".join(out)


def verdicts(summaries: list[dict]) -> tuple[list[str], bool]:
    v = common.Verdicts()
    big = summaries[-1]
    slowest = max(r["seconds"] for r in big["runs"])
    v.check(slowest < TARGET_SECONDS, f"{big['runs'][0]['sessions']:,} sessions: slowest run "
                                      f"{slowest:.1f} s < {TARGET_SECONDS:.0f} s")
    v.check(big["peak_rss_max_mb"] < TARGET_PEAK_MB,
            f"peak memory {big['peak_rss_max_mb']:,.0f} MB < {TARGET_PEAK_MB:,.0f} MB")
    for s in summaries:
        v.check(s["same_results"], f"{s['persons']:,} persons: identical results across repeats")
        lo, hi = s["runs"][0]["ip_x_log_session"][1:]
        v.check(lo < s["truth_ip_x_log_session"] < hi,
                f"{s['persons']:,} persons: the IP × time CI contains the truth")
    return v.lines, v.ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_500, 105_000],
                    help="persons (default 10500 105000; the smallest is the baseline)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-clients", type=int, default=5000)
    ap.add_argument("--institutions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--full-fit", action="store_true",
                    help="also fit one growth model on all clients of the largest size")
    ap.add_argument("--out-json", type=Path)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        mode, *rest = args.child
        if mode == "generate":
            result = child_generate(int(rest[0]), int(rest[1]), int(rest[2]), rest[3])
        else:
            result = child_job(rest[0], int(rest[1]), int(rest[2]), rest[3] == "1")
        common.emit(result)
        return 0

    machine = common.machine_info(code="evaluation/feedback")
    summaries = []
    sizes = sorted(set(args.sizes))
    with tempfile.TemporaryDirectory(prefix="ipeval-bench-feedback-") as tmp:
        for persons in sizes:
            folder = str(Path(tmp) / f"p{persons}")
            study = run_child("generate", persons, args.institutions, args.seed, folder)
            runs = []
            for i in range(args.repeats):
                full = args.full_fit and persons == sizes[-1] and i == 0
                r = run_child("job", folder, args.max_clients, args.seed, int(full))
                runs.append(r)
                print(f"  {persons:>7,} persons, run {i + 1}/{args.repeats}: "
                      f"{r['seconds']:6.2f} s, "
                      f"peak {r['peak_rss_mb']:,.0f} MB", file=sys.stderr, flush=True)
            summaries.append(summarise(study, runs))
    lines, ok = verdicts(summaries)
    print(markdown(summaries, machine, args))
    print()
    print("\n".join(lines))
    if args.out_json:
        args.out_json.write_text(json.dumps({"machine": machine, "args": vars(args),
                                             "verdicts": lines, "all_pass": ok,
                                             "sizes": summaries}, indent=2, default=str) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
