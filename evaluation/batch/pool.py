"""Where a batch's runs execute: a local pool of worker processes, or an existing Dask cluster.

Both call :func:`.worker.execute_run` for each run and hand every finished status to
``on_done`` as it arrives, so the batch records it at once. A run that fails for a reason
outside the notebook (timeout, a dead kernel or worker) is tried again up to ``retries``
times; any other failure is final.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from evaluation.errors import ParameterError
from evaluation.batch.worker import RETRYABLE, execute_run, read_status, warm_up

# Beyond a run's own timeout (enforced in the worker by killing its kernel) the pool gives the
# worker this long to report before it kills the worker process itself.
GRACE_S = 60.0


def default_workers() -> int:
    """The cores this process may use (a Slurm or cgroup allocation, not the whole node)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_local(runs: list[dict], *, workers: int, retries: int, on_done) -> None:
    """Run on ``workers`` local processes. A worker process that dies takes only its own run
    with it: the pool is started again and the other runs go on."""
    pending = list(runs)
    attempts: dict[str, int] = {}
    context = multiprocessing.get_context("spawn")     # no fork of a process with threads

    def finish(run, status) -> bool:
        """Report a final status; False when the run is to be tried again."""
        status["attempts"] = attempts[run["run_id"]]
        if status["status"] in RETRYABLE and attempts[run["run_id"]] <= retries:
            return False
        on_done(status)
        return True

    while pending:
        executor = ProcessPoolExecutor(max_workers=max(1, min(workers, len(pending))),
                                       mp_context=context, initializer=warm_up)
        pool_started = time.time()
        futures: dict = {}

        def submit(run):
            attempts[run["run_id"]] = attempts.get(run["run_id"], 0) + 1
            futures[executor.submit(execute_run, run)] = run

        def outcome(future, run):
            """The run's status, or None when a broken pool failed it before it started: such
            a run is run again in a new pool, its attempt not counted."""
            try:
                return future.result()
            except BrokenProcessPool:
                if not _started(run, pool_started):
                    attempts[run["run_id"]] -= 1
                    return None
                return _lost(run, "the worker process died (killed, or out of memory)")

        try:
            for run in pending:
                submit(run)
            pending, broken = [], False
            while futures and not broken:
                done, _ = wait(futures, timeout=5.0, return_when=FIRST_COMPLETED)
                for future in done:
                    run = futures.pop(future)
                    broken |= isinstance(future.exception(), BrokenProcessPool)
                    status = outcome(future, run)
                    if status is None or not finish(run, status):
                        if broken:
                            pending.append(run)
                        else:
                            submit(run)
                _kill_overdue(futures)
        except BaseException:
            _stop(executor)
            raise
        # A broken pool fails every run it still held: those that had started are reported
        # (or retried); those that had not are run again in a new pool.
        for future, run in futures.items():
            status = outcome(future, run)
            if status is None or not finish(run, status):
                pending.append(run)
        executor.shutdown(wait=True)


def _started(run: dict, since: float) -> bool:
    """Whether the run's worker began it in this pool: its pid file is written at the start,
    after the folder is cleared (an older file is a killed batch's leftover)."""
    pid_file = Path(run["output"]) / run["folder"] / "worker.pid"
    try:
        return pid_file.stat().st_mtime >= since - 1.0
    except OSError:
        return False


def run_dask(runs: list[dict], *, scheduler: str, retries: int, on_done) -> None:
    """Run on the Dask cluster whose scheduler is at ``scheduler`` (tcp://HOST:PORT). The
    workers must see the same files at the same paths (a shared file system) and run the
    same environment."""
    from distributed import Client, as_completed   # only a Dask batch needs distributed
    try:
        client = Client(scheduler, timeout="20s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ParameterError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}. Start one "
                             f"with `dask scheduler` and workers with `dask worker {scheduler} "
                             f"--nthreads 1`, or leave out --scheduler to run locally.") from None
    attempts: dict[str, int] = {}
    try:
        def submit(run):
            attempts[run["run_id"]] = attempts.get(run["run_id"], 0) + 1
            # pure=False: the same run submitted again (a retry) must execute again.
            return client.submit(execute_run, run, pure=False,
                                 key=f"ipeval-{run['run_id']}-{attempts[run['run_id']]}")
        by_key = {}
        for run in runs:
            future = submit(run)
            by_key[future.key] = (run, future)
        queue = as_completed([future for _, future in by_key.values()], loop=client.loop)
        for future in queue:
            run, _ = by_key.pop(future.key)
            try:
                status = future.result()
            except Exception as exc:  # noqa: BLE001 — a lost worker or a killed task
                status = _lost(run, f"the Dask task failed: {type(exc).__name__}: {exc}")
            status["attempts"] = attempts[run["run_id"]]
            if status["status"] in RETRYABLE and attempts[run["run_id"]] <= retries:
                retry = submit(run)
                by_key[retry.key] = (run, retry)
                queue.add(retry)
                continue
            on_done(status)
    finally:
        client.close()


def _lost(run: dict, why: str) -> dict:
    """The status of a run whose worker vanished; what the run folder says, if it got so far."""
    folder = Path(run["output"]) / run["folder"]
    found = read_status(folder)
    if found is not None and found.get("run_id") == run["run_id"]:
        return found
    return {"run_id": run["run_id"], "key": run["key"], "label": run["label"],
            "notebook": run["notebook"], "parameters": run["parameters"], "grid": run["grid"],
            "folder": run["folder"], "started": None, "seconds": None, "status": "crashed",
            "error": f"Run {run['label']}: {why}. Whatever it wrote is kept in {run['folder']}.",
            "findings": 0, "html": None, "executed": None, "slides": None, "records": 0}


def _kill_overdue(futures: dict) -> None:
    """A worker that outlives its run's timeout by GRACE_S is killed; its pid is in the run's
    folder. The pool breaks and the run is reported as crashed (or retried)."""
    now = time.time()
    for future, run in futures.items():
        limit = run.get("timeout_s")
        pid_file = Path(run["output"]) / run["folder"] / "worker.pid"
        try:   # the pid file is written when the run starts, not when it is queued
            if future.done() or not limit or now - pid_file.stat().st_mtime < limit + GRACE_S:
                continue
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def _stop(executor: ProcessPoolExecutor) -> None:
    """Stop at once (Ctrl-C): cancel what has not started and kill the workers, whose kernels
    then exit on their own (ipykernel watches its parent)."""
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        try:
            process.kill()
        except (OSError, ValueError):
            pass
