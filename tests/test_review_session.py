"""Review of d2cf8ca..HEAD (batch, feedback, coding, comparison): the bugs it found, fixed, each
with the test that failed before the fix."""
from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pandas as pd
import pytest

from evaluation.batch import pool
from evaluation.errors import ParameterError


# -- batch/pool.py: runs that never started are reported crashed when the pool breaks ------------

class _FakeExecutor:
    """First pool: every future fails with BrokenProcessPool at once (one worker died, as a
    real pool does to every queued future); later pools: every run finishes ok."""
    made = 0

    def __init__(self, **kwargs):
        self.first = _FakeExecutor.made == 0
        _FakeExecutor.made += 1

    def submit(self, fn, run):
        future = Future()
        if self.first:
            future.set_exception(BrokenProcessPool("a worker died"))
        else:
            future.set_result({"run_id": run["run_id"], "label": run["label"],
                               "folder": run["folder"], "status": "ok"})
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_runs_that_never_started_are_not_reported_crashed_when_the_pool_breaks(
        tmp_path, monkeypatch):
    monkeypatch.setattr(pool, "ProcessPoolExecutor", _FakeExecutor)
    _FakeExecutor.made = 0
    runs = []
    for i in range(3):
        folder = f"run{i}"
        (tmp_path / folder).mkdir()
        runs.append({"run_id": f"r{i}", "key": f"k{i}", "label": f"run {i}", "notebook": "nb",
                     "parameters": {}, "grid": {}, "folder": folder, "output": str(tmp_path)})
    (tmp_path / "run0" / "worker.pid").write_text("999999")     # only run 0 had started
    done = {}
    pool.run_local(runs, workers=1, retries=0, on_done=lambda s: done.__setitem__(s["run_id"], s))
    assert done["r0"]["status"] == "crashed"
    assert done["r1"]["status"] == "ok" and done["r2"]["status"] == "ok"


# -- comparison/pooling.py: confidence is not validated --------------------------------------

def test_meta_analysis_names_a_bad_confidence():
    from evaluation.comparison.meta_analysis import meta_analysis
    data = pd.DataFrame({"estimate": [1.0, 2.0, 3.0], "ci_low": [0.0, 1.0, 2.0],
                         "ci_high": [2.0, 3.0, 4.0]})
    with pytest.raises(ParameterError, match="confidence"):
        meta_analysis(data, confidence=95)


def test_an_infinite_reliable_change_is_refused():
    from evaluation.feedback.change import episode_change
    sessions = pd.DataFrame({"person_id": ["a", "a"], "episode": [1, 1], "session": [1, 2],
                             "ors_total": [10.0, 30.0]})
    with pytest.raises(ParameterError, match="reliable_change"):
        episode_change(sessions, reliable_change=np.inf)


def test_tidy_keeps_a_grid_parameter_named_like_a_column():
    from evaluation.batch.results import tidy
    runs = pd.DataFrame({"run_id": ["r1"], "label": ["n=5"], "status": ["ok"],
                         "grid": ['{"n": 5, "status": "draft"}']})
    results = pd.DataFrame({"run_id": ["r1"], "name": ["x"], "value": ["1"], "estimate": [1.0],
                            "ci_low": [0.0], "ci_high": [2.0], "p_value": [0.5], "n": [40.0],
                            "extra": [None]})
    out = tidy(runs, results)
    assert out.loc[0, "n"] == 40 and out.loc[0, "param_n"] == 5
    assert out.loc[0, "status"] == "ok" and out.loc[0, "param_status"] == "draft"
