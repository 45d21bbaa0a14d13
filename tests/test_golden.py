"""The redesign changed no number: results now equal those recorded before it (tests/data).

``golden_before_redesign.json`` holds ``ipeval estimate --json`` on the shipped study and the
records of every shipped notebook on the small study, taken at commit 2d88298. The notebook
records are compared by the notebook tests (``assert_same_records``), which run the same
notebooks with the same parameters anyway.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evaluation.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests/data/golden_before_redesign.json").read_text(encoding="utf-8"))
NUMBERS = ("estimate", "ci_low", "ci_high", "p_value", "n", "n_exposed", "value", "e_value")


def _same(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or (isinstance(a, float) and math.isnan(a))) and \
               (b is None or (isinstance(b, float) and math.isnan(b)))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_same_records(records, key: str) -> None:
    """The records of a notebook run equal those recorded before the redesign, by name."""
    before = {r["name"]: r for r in GOLDEN[f"records/{key}"]}
    now = {r["name"]: r for r in json.loads(records.to_json(orient="records"))}
    assert set(now) == set(before), f"{key}: names differ: {set(now) ^ set(before)}"
    for name, old in before.items():
        for field in NUMBERS:
            if field in old:
                assert _same(now[name].get(field), old[field]), (key, name, field, now[name].get(field), old[field])


@pytest.mark.parametrize("outcome", ["goal_retention", "daily_chaos"])
def test_headline_estimates_on_the_shipped_study_are_unchanged(outcome, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["estimate", "data_synthetic", "--outcome", outcome, "--json"]) == 0
    now = json.loads(capsys.readouterr().out)
    before = GOLDEN[f"estimate/{outcome}"]
    assert [(r["method"], r["estimand"], r["scale"]) for r in now] == \
           [(r["method"], r["estimand"], r["scale"]) for r in before]
    for new, old in zip(now, before):
        for field in NUMBERS:
            if field in old:
                assert _same(new[field], old[field]), (new["method"], field, new[field], old[field])
