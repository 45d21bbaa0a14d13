"""A batch with institutions of a few people, run once for the release tests: the headline
notebook for the whole small study and for each of its four institutions (34 to 120 people)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from evaluation.batch import run_batch
from evaluation.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def released_batch(small_study, tmp_path_factory):
    """``(before, after)``: the batch folder as the runs left it (each protected alone) and
    the same batch after `ipeval release`."""
    folder = tmp_path_factory.mktemp("release")
    from evaluation.study import Study
    institutions = Study.load(small_study / "study.yaml").institutions()
    path = folder / "batch.yaml"
    path.write_text(yaml.safe_dump({
        "title": "release test", "notebook": str(ROOT / "notebooks/ip_evaluation.ipynb"),
        "output": "out", "parameters": {"study": str(small_study / "study.yaml"),
                                        "outcome": "daily_chaos", "methods": ["crude", "aipw"]},
        "grid": {"institution": ["all", *institutions]}, "key": "*/AIPW/ATE/*",
        "compare_by": "institution"}, allow_unicode=True), encoding="utf-8")
    outcome = run_batch(path, workers=2, progress=False, out=lambda *_: None)
    assert outcome.exit_code == 0, outcome.runs[["label", "status", "error"]].to_string()
    before = folder / "before"
    shutil.copytree(folder / "out", before, symlinks=True)
    assert main(["release", str(folder / "out")]) == 0
    return before, folder / "out"
