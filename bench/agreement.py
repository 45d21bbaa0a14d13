"""Benchmark of inter-coder agreement with bootstrap CIs (``evaluation.coding.agreement``).

Data: 10 000 segments (units) × 3 coders × 30 codes, synthesised in each process (seeded):
every unit has one true code (35 % none); each coder gives it with probability 0.85, otherwise
another code or none at random; a quarter of the units were seen by two coders only. About
27 500 rows.

Modes, each repetition in a fresh process, alternating, time = ``time.perf_counter`` around
the work only:

- ``job``: ``read_segments(frame)`` then ``agreement(seg, n_boot=1000)``: percent agreement,
  Fleiss' kappa and Krippendorff's alpha for 30 codes and the across-codes "*", each with a
  1 000-resample percentile CI (93 rows).
- ``point``: the same with ``n_boot=0`` (estimates only), the floor of the job.
- ``packages`` (the baseline): the same bootstrap done with the packages, per resample and per
  code: ``krippendorff.alpha`` on the resampled coders × units matrix and statsmodels'
  ``fleiss_kappa(aggregate_raters(...))`` on the resampled complete units (percent agreement is
  a mean of per-unit values, nearly free, and left out). ``--package-resamples`` resamples
  (default 20) are timed and the time of 1 000 is extrapolated linearly (each resample costs
  the same); the output labels it so. The same process checks that the job's point estimates
  equal the packages' for every code.

    .venv/bin/python bench/agreement.py                  # 3 repeats
    .venv/bin/python bench/agreement.py --repeats 5 --package-resamples 50 --out-json ag.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (bench/common.py)

ROOT = Path(__file__).resolve().parents[1]
TAG = "BENCH_RESULT "
TARGET_SECONDS = 10.0       # issue 7: 10 000 segments × 3 coders × 30 codes, 1 000 resamples
UNITS, CODERS, CODES, BOOT = 10_000, ("Ingrid", "Øystein", "Siri"), 30, 1000


def synthesise(seed: int = 2026):
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(seed)
    names = np.array([f"code_{i:02d}" for i in range(CODES)] + [""], dtype=object)
    true = np.where(rng.random(UNITS) < 0.35, CODES, rng.integers(0, CODES, UNITS))
    other = rng.integers(0, CODES + 1, (UNITS, len(CODERS)))
    given = np.where(rng.random((UNITS, len(CODERS))) < 0.85, true[:, None], other)
    seen = np.ones((UNITS, len(CODERS)), dtype=bool)
    two = rng.random(UNITS) < 0.25
    seen[np.flatnonzero(two), rng.integers(0, len(CODERS), two.sum())] = False
    u, r = np.nonzero(seen)
    return pd.DataFrame({"unit_id": [f"U{i:05d}" for i in u],
                         "coder": np.array(CODERS, dtype=object)[r],
                         "code": names[given[u, r]]})


def child(mode: str, resamples: int) -> dict:
    sys.path.insert(0, str(ROOT))                 # measure the working tree
    import resource

    import numpy as np
    from evaluation.coding.agreement import agreement
    from evaluation.coding.segments import read_segments
    frame = synthesise()
    out = {"rows": len(frame)}
    start = time.perf_counter()
    if mode in ("job", "point"):
        seg = read_segments(frame)
        read_s = time.perf_counter() - start
        res = agreement(seg, n_boot=BOOT if mode == "job" else 0, seed=1)
        out.update(read_seconds=read_s, result_rows=len(res),
                   values={f"{c}|{m}": v for c, m, v in res[["code", "measure", "value"]]
                           .itertuples(index=False)},
                   ci_alpha_star=res.query("code == '*' and measure == 'alpha'")[
                       ["ci_low", "ci_high"]].iloc[0].tolist())
    else:
        out.update(_packages(read_segments(frame), resamples, np.random.default_rng(1), start))
    out["seconds"] = time.perf_counter() - start
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["loadavg_1min"] = os.getloadavg()[0]
    return out


def _packages(seg, resamples: int, rng, start: float) -> dict:
    """The per-resample route with krippendorff and statsmodels; returns its point values."""
    import krippendorff
    import numpy as np
    from evaluation.coding.agreement import _Layout
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
    layout = _Layout(seg)
    variables = [(c, layout.presence(c)[layout.pairable & layout.coded]) for c in layout.codes]
    variables.append(("*", layout.categories[layout.pairable]))
    prepared = []
    for name, cat in variables:
        data = np.where(cat >= 0, cat, np.nan).T.astype(float)      # coders × units
        prepared.append((name, data, cat[(cat >= 0).all(axis=1)]))
    setup_s = time.perf_counter() - start

    def measures(data, complete):
        a = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        return a, fleiss_kappa(aggregate_raters(complete)[0])

    values = {}
    for name, data, complete in prepared:
        values[f"{name}|alpha"], values[f"{name}|fleiss"] = measures(data, complete)
    t0 = time.perf_counter()
    for _ in range(resamples):
        for _name, data, complete in prepared:
            measures(data[:, rng.integers(0, data.shape[1], data.shape[1])],
                     complete[rng.integers(0, len(complete), len(complete))])
    per_resample = (time.perf_counter() - t0) / resamples
    return {"setup_seconds": setup_s, "resamples": resamples, "per_resample": per_resample,
            "extrapolated_seconds": setup_s + BOOT * per_resample, "values": values}


def measure(mode: str, resamples: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(resamples)],
                         capture_output=True, text=True, check=True)
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith(TAG))
    return json.loads(line[len(TAG):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--package-resamples", type=int, default=20)
    parser.add_argument("--out-json", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "RESAMPLES"))
    args = parser.parse_args()
    if args.child:
        print(TAG + json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    runs = {"job": [], "point": [], "packages": []}
    for r in range(args.repeats):
        for mode in runs:                       # alternate, so drift hits every mode alike
            runs[mode].append(measure(mode, args.package_resamples))
            print(f"  run {r + 1}/{args.repeats} {mode}: {runs[mode][-1]['seconds']:.2f} s "
                  f"(load {runs[mode][-1]['loadavg_1min']:.2f})", file=sys.stderr)
    med = {m: statistics.median(x["seconds"] for x in rows) for m, rows in runs.items()}
    base = statistics.median(x["extrapolated_seconds"] for x in runs["packages"])
    job = runs["job"]
    print(f"Agreement on {UNITS:,} segments × {len(CODERS)} coders × {CODES} codes "
          f"({job[0]['rows']:,} rows), {args.repeats} repeats, fresh process each.\n")
    print("| mode | median s | min s | max s | peak MB | ratio to job |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, label in (("job", f"read + agreement, {BOOT} resamples"),
                        ("point", "read + agreement, estimates only")):
        s = [x["seconds"] for x in runs[mode]]
        print(f"| {label} | {med[mode]:.2f} | {min(s):.2f} | {max(s):.2f} | "
              f"{statistics.median(x['peak_mb'] for x in runs[mode]):.0f} | "
              f"{med[mode] / med['job']:.2f} |")
    ext = [x["extrapolated_seconds"] for x in runs["packages"]]
    print(f"| baseline: krippendorff + statsmodels per resample, {args.package_resamples} "
          f"timed, extrapolated to {BOOT} | {base:.1f} | {min(ext):.1f} | {max(ext):.1f} | "
          f"{statistics.median(x['peak_mb'] for x in runs['packages']):.0f} | "
          f"{base / med['job']:.0f} |")
    print(f"\nread_segments: {statistics.median(x['read_seconds'] for x in job):.2f} s median; "
          f"baseline per resample (31 variables): "
          f"{statistics.median(x['per_resample'] for x in runs['packages']) * 1000:.0f} ms. "
          f"'*' alpha {job[0]['values']['*|alpha']:.4f}, 95 % CI "
          f"[{job[0]['ci_alpha_star'][0]:.4f}, {job[0]['ci_alpha_star'][1]:.4f}].")
    info = common.machine_info(code="evaluation/coding")
    print(f"\nMachine: {info['platform']}; {info['cpu']}; {info['nproc']} cores; {info['ram_gb']} GB; "
          f"Python {info['python']}, numpy {info.get('numpy')}, pandas {info.get('pandas')}, "
          f"statsmodels {info.get('statsmodels')}; git {info['git']}.\n")
    verdicts = common.Verdicts()
    worst = max(x["seconds"] for x in job)
    verdicts.check(worst < TARGET_SECONDS, f"slowest job {worst:.2f} s < {TARGET_SECONDS:.0f} s")
    ref = runs["packages"][0]["values"]
    diff = max(abs(job[0]["values"][k] - v) for k, v in ref.items())
    verdicts.check(diff < 1e-9, f"point alpha and Fleiss' kappa of all 31 variables equal the "
                                f"packages' (largest difference {diff:.1e})")
    same = all(x["values"] == job[0]["values"] and x["ci_alpha_star"] == job[0]["ci_alpha_star"]
               for x in job)
    verdicts.check(same, "the same estimates and CIs in every repeat (seeded)")
    print("\n".join(verdicts.lines))
    if args.out_json:
        args.out_json.write_text(json.dumps({"runs": runs, "machine": info}, indent=1))
    return 0 if verdicts.ok else 1


if __name__ == "__main__":
    sys.exit(main())
