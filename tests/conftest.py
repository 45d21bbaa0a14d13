"""Shared fixtures: one small synthetic study per test session, and hermetic environment.

The study is written once (about a third of a second) and never modified; a test that needs to
change a file copies it first with ``study_copy``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from evaluation.intake.pseudonyms import KEY_ENV
from evaluation.synthetic import SyntheticConfig, write_study

SMALL_CONFIG = dict(persons=300, institutions=4, seed=7)


@pytest.fixture(scope="session", autouse=True)
def _no_pseudonym_key_in_environment():
    """A developer's own IPEVAL_PSEUDONYM_KEY must not change what the tests see: the studies
    here carry their key file, and tests that need the variable set it themselves."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(KEY_ENV, raising=False)
        yield


@pytest.fixture(scope="session")
def small_config() -> SyntheticConfig:
    return SyntheticConfig(**SMALL_CONFIG)


@pytest.fixture(scope="session")
def small_study(tmp_path_factory, small_config) -> Path:
    """Folder of a synthetic study (300 persons, 4 institutions, seed 7). Read only."""
    folder = tmp_path_factory.mktemp("small_study")
    write_study(folder, small_config)
    return folder


@pytest.fixture(scope="session")
def small_truth(small_study) -> dict:
    return json.loads((small_study / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def small_loaded(small_study):
    """The small study loaded once (``Study.table`` returns copies, so tests cannot change it)."""
    from evaluation import Study
    study = Study.load(small_study)
    for source in study.source_names:     # load (and pseudonymise) now, before any test can
        study.table(source)               # set IPEVAL_PSEUDONYM_KEY for itself
    return study


@pytest.fixture
def study_copy(small_study, tmp_path) -> Path:
    """A private copy of the small study that a test may edit."""
    return Path(shutil.copytree(small_study, tmp_path / "study"))


def _file_hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def file_hashes():
    """A function: folder -> {relative path: sha256 hex digest} of every file under it."""
    return _file_hashes
