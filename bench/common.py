"""What every benchmark reports about the machine and the code it measured."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("numpy", "pandas", "pyarrow", "pandera", "statsmodels")


def machine_info(*, code: str = "evaluation") -> dict:
    """Platform, CPU model, cores, RAM, Python and package versions, and the commit measured
    (with a warning when ``code`` had uncommitted changes)."""
    info = {"platform": platform.platform(), "cpu": _proc_value("/proc/cpuinfo", "model name"),
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "ram_gb": None, "python": platform.python_version()}
    mem = _proc_value("/proc/meminfo", "MemTotal")
    if mem != "unknown":
        info["ram_gb"] = round(int(mem.split()[0]) / 1024 ** 2, 1)
    for name in PACKAGES:
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            pass
    info["git"] = git_state(code)
    return info


def git_state(code: str) -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", code], cwd=ROOT, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (f" ({code}/ has uncommitted changes)" if dirty else "")


def _proc_value(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def profile(job, top: int):
    """Run ``job`` under cProfile; returns (profiler, seconds, {"cumulative"/"tottime": text},
    {"cumulative"/"tottime": rows of function, ncalls, tottime, cumtime})."""
    import cProfile
    import io
    import pstats
    import time
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.runcall(job)
    elapsed = time.perf_counter() - start
    texts, rows = {}, {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats(key).print_stats(top)
        texts[key] = buf.getvalue()
        index = 3 if key == "cumulative" else 2
        ordered = sorted(stats.stats.items(), key=lambda kv: -kv[1][index])[:top]
        rows[key] = [{"function": f"{Path(f).name}:{line}({func})", "ncalls": nc,
                      "tottime": tt, "cumtime": ct}
                     for (f, line, func), (_cc, nc, tt, ct, _callers) in ordered]
    return prof, elapsed, texts, rows


class Verdicts:
    """PASS / FAIL / SKIP lines of a benchmark, and whether every check passed."""

    def __init__(self):
        self.lines: list[str] = []
        self.ok = True

    def check(self, ok: bool, text: str) -> None:
        self.ok &= bool(ok)
        self.lines.append(f"{'PASS' if ok else 'FAIL'}: {text}")

    def skip(self, text: str) -> None:
        self.lines.append(f"SKIP: {text}")

    def note(self, text: str) -> None:
        self.lines.append(f"NOTE: {text}")


# A benchmark runs each measurement in a fresh interpreter (a child) so that imports, caches
# and peak memory of one run do not carry into the next; the child prints one tagged JSON line.
RESULT_TAG = "BENCH_RESULT "


def emit(result: dict) -> None:
    """Print a child's result for :func:`run_child` to pick up."""
    import json
    print(RESULT_TAG + json.dumps(result), flush=True)


def run_child(script, args, *, what: str, env: dict | None = None) -> dict:
    """Run ``script`` with ``args`` in a fresh interpreter and return the JSON it emitted."""
    import json
    import sys
    cmd = [sys.executable, str(Path(script).resolve()), *map(str, args)]
    proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True,
                          env=None if env is None else {**os.environ, **env})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark child {what} failed (exit {proc.returncode})")
    return json.loads(lines[-1][len(RESULT_TAG):])


def time_and_memory_verdicts(verdicts: "Verdicts", summaries: list[dict], *, persons: int,
                             seconds: float, peak_mb: float, doing: str, detail) -> None:
    """The two targets most benchmarks share: the slowest of the repeats at ``persons`` under
    ``seconds``, and the highest peak RSS under ``peak_mb``. ``detail(summary)`` adds text."""
    target = next((s for s in summaries if s["persons"] == persons), None)
    if target is None:
        verdicts.skip(f"{persons:,} persons not among the sizes; time and memory targets not checked.")
        return
    verdicts.check(target["max_s"] < seconds,
                   f"{persons:,} persons {doing} in under {seconds:.0f} s: slowest of "
                   f"{target['repeats']} runs {target['max_s']:.2f} s (median "
                   f"{target['median_s']:.2f} s); {detail(target)}")
    verdicts.check(target["peak_rss_max_mb"] < peak_mb,
                   f"{persons:,} persons under {peak_mb / 1024:.0f} GB peak memory: highest peak RSS "
                   f"{target['peak_rss_max_mb']:,.0f} MB (median {target['peak_rss_median_mb']:,.0f} MB)")
