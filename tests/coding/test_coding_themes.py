"""Themes by group, co-occurrence, the case × code matrix and the joint display."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.coding.joint import joint_display
from evaluation.coding.themes import (case_code_matrix, cooccurrence, mentions_by_group,
                                      unit_codes)
from evaluation.errors import ParameterError


def _segments():
    # u1: 3 coders, 2 give "a" (majority); u2: 1 of 3 gives "a"; u3: all give "b"; u4 seen, no code
    rows = [("u1", "x", "a"), ("u1", "y", "a"), ("u1", "z", None),
            ("u2", "x", "a"), ("u2", "y", None), ("u2", "z", None),
            ("u3", "x", "b"), ("u3", "y", "b"), ("u3", "z", "b"),
            ("u4", "x", None), ("u4", "y", None)]
    d = pd.DataFrame(rows, columns=["unit_id", "coder", "code"])
    d["participant"] = d["unit_id"].map({"u1": "p1", "u2": "p1", "u3": "p2", "u4": "p3"})
    d["interview_id"] = d["participant"].str.replace("p", "i")
    d["role"] = d["participant"].map({"p1": "resident", "p2": "resident", "p3": "staff"})
    return d


def test_unit_codes_majority_and_any():
    majority = unit_codes(_segments()).set_index("unit_id")
    assert majority.loc["u1", "a"] == 1 and majority.loc["u2", "a"] == 0
    assert majority.loc["u3", "b"] == 1 and majority.loc["u4", ["a", "b"]].sum() == 0
    anyone = unit_codes(_segments(), rule="any").set_index("unit_id")
    assert anyone.loc["u2", "a"] == 1
    with pytest.raises(ParameterError, match="rule"):
        unit_codes(_segments(), rule="most")


def test_case_code_matrix():
    m = case_code_matrix(_segments())
    assert m.loc["p1"].to_dict() == {"a": 1, "b": 0}
    assert m.loc["p2"].to_dict() == {"a": 0, "b": 1} and m.loc["p3"].sum() == 0


def test_mentions_by_group_fisher_and_holm():
    rng = np.random.default_rng(3)
    rows = []
    for k in range(40):
        role = "resident" if k < 25 else "staff"
        for code, p in (("x", 0.7 if role == "resident" else 0.2), ("y", 0.4)):
            if rng.random() < p:
                rows.append((f"u{k}{code}", "c1", code, f"p{k}", role))
        rows.append((f"u{k}n", "c1", None, f"p{k}", role))
    d = pd.DataFrame(rows, columns=["unit_id", "coder", "code", "participant_id", "role"])
    # the *_id spelling of exports is read as the contract's name
    t = mentions_by_group(d, by="role")
    x = t[t["code"] == "x"].set_index("role")
    table = [[x.loc["resident", "count"], x.loc["resident", "n"] - x.loc["resident", "count"]],
             [x.loc["staff", "count"], x.loc["staff", "n"] - x.loc["staff", "count"]]]
    assert x["p_value"].iloc[0] == pytest.approx(stats.fisher_exact(table).pvalue)
    assert x["n"].sum() == 40
    p = t.drop_duplicates("code").set_index("code")["p_value"]
    holm = t.drop_duplicates("code").set_index("code")["p_adjusted"]
    assert holm["x"] == pytest.approx(min(1.0, 2 * p.min())) or holm["y"] == pytest.approx(
        min(1.0, 2 * p.min()))


def test_cooccurrence_by_participant():
    counts, jac = cooccurrence(_segments(), level="participant", rule="any")
    assert counts.loc["a", "a"] == 1 and counts.loc["a", "b"] == 0
    assert np.isnan(jac.loc["a", "b"]) or jac.loc["a", "b"] == 0


def test_joint_display_masks_quotes_and_matches_the_headline(study_copy):
    from evaluation import Study
    from evaluation.association.analysis import evaluate
    path = study_copy / "interview_segments.csv"
    seg = pd.read_csv(path, dtype=str, keep_default_na=False)
    chaos_units = seg.loc[seg["code"] == "less_chaos", "unit_id"].unique()
    planted = "Kari Nordmann sier at alt ble roligere på Karlsborg etter at planen kom på plass."
    seg.loc[seg["unit_id"].isin(chaos_units), "text"] = planted
    seg.to_csv(path, index=False)
    study = Study.load(study_copy)
    table = joint_display(study, [{"code": "less_chaos", "measure": "daily_chaos"}], quotes=2)
    quotes = table.loc[table["evidence"].str.startswith("example quotes"), "quotes"].iloc[0]
    assert "Kari" not in quotes and "Karlsborg" not in quotes
    assert "[sted]" in quotes and "[navn]" in quotes
    est, _ = evaluate(study, ["daily_chaos"], methods=("aipw",))
    adjusted = table[table["group"] == "IP − no IP"].iloc[0]
    assert adjusted["estimate"] == pytest.approx(est["estimate"].iloc[0])
    mentions = table[table["evidence"].str.contains("mentioning")]
    assert list(mentions["group"]) == ["IP", "no IP"] and (mentions["count"] <= mentions["n"]).all()
    measured = table[table["evidence"].str.startswith("daily_chaos: mean")]
    assert (measured["ci_low"] < measured["estimate"]).all()
    # shown through the layer, a small mention count hides only its own row's numbers
    from evaluation.disclosure import Disclosure
    shown = Disclosure.for_study(study).show(table, n=None, counts=["count"],
                                             complements={"count": "n"}).values
    assert shown.loc[measured.index, "estimate"].notna().all()


def test_joint_display_refuses_unknown_code_or_measure(small_loaded):
    with pytest.raises(ParameterError, match="was not given"):
        joint_display(small_loaded, [{"code": "nonsense", "measure": "daily_chaos"}])
    with pytest.raises(ParameterError, match="not a column"):
        joint_display(small_loaded, [{"code": "less_chaos", "measure": "nonsense"}])
