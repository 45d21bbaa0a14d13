"""INSPIRE scores by group, IP contrasts through the headline analysis's code, and the
feedback figures' disclosure rules."""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from evaluation.association.analysis import evaluate  # noqa: E402
from evaluation.errors import ParameterError  # noqa: E402
from evaluation.feedback import plots  # noqa: E402
from evaluation.feedback.ip_contrasts import compare_by_ip, first_per_person  # noqa: E402
from evaluation.feedback.inspire import (difference_by_group, inspire_reliability,  # noqa: E402
                                         inspire_scores, score_means)


def test_score_means_hand_worked():
    # 50, 60, 70, 80: mean 65, SD sqrt(500/3) = 12.910, SE 6.455, t(0.975, 3) = 3.1824
    d = pd.DataFrame({"measure": ["Relationship"] * 4, "score": [50.0, 60.0, 70.0, 80.0]})
    row = score_means(d).iloc[0]
    half = 3.182446 * math.sqrt(500 / 3) / 2
    assert row["estimate"] == 65.0 and row["n"] == 4
    assert row["ci_low"] == pytest.approx(65 - half, abs=1e-4)
    assert row["ci_high"] == pytest.approx(65 + half, abs=1e-4)


def test_difference_by_group_is_welch_by_hand():
    a, b = np.array([70.0, 75, 80, 90]), np.array([50.0, 60, 65])
    d = pd.DataFrame({"measure": "Support", "score": np.r_[a, b], "ip": [1] * 4 + [0] * 3})
    row = difference_by_group(d, group="ip").iloc[0]
    va, vb = a.var(ddof=1) / 4, b.var(ddof=1) / 3
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 2)      # Welch–Satterthwaite
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert row["estimate"] == pytest.approx(a.mean() - b.mean())
    assert row["ci_low"] == pytest.approx(a.mean() - b.mean() - half)
    assert row["n"] == 7 and row["n_exposed"] == 4


def test_score_means_refuses_missing_columns():
    with pytest.raises(ParameterError, match="not in the data"):
        score_means(pd.DataFrame({"score": [1.0]}), by="institution")


def test_inspire_scores_of_the_small_study(small_loaded):
    scores = inspire_scores(small_loaded)
    assert set(scores["measure"]) == {"Support (important items)", "Relationship", "Brief INSPIRE"}
    assert scores["score"].dropna().between(0, 100).all()
    assert {"has_ip", "institution", "year"} <= set(scores.columns)
    # the synthetic truth: IP raises the latent support (0.35 on the 0-4 item scale)
    diff = difference_by_group(scores, group="has_ip").set_index("outcome")
    assert diff.loc["Support (important items)", "estimate"] > 0
    reliability = inspire_reliability(small_loaded, n_boot=20)
    assert set(reliability["source"]) <= {"inspire", "inspire_brief"} and len(reliability)
    assert reliability["estimate"].dropna().between(0.5, 1).all()


def test_compare_by_ip_reuses_the_headline_estimators_exactly(small_loaded):
    """A manifest outcome passed as outside values gives the headline analysis's numbers."""
    people = small_loaded.person_table()
    values = people[["person_id", "goal_retention"]].rename(columns={"goal_retention": "goal"})
    ours, rows = compare_by_ip(small_loaded, values, {"goal": "binary"},
                               methods=("crude", "adjusted", "aipw"))
    theirs, _ = evaluate(small_loaded, ["goal_retention"], methods=("crude", "adjusted", "aipw"))
    cols = ["method", "scale", "estimate", "ci_low", "ci_high", "n", "n_exposed"]
    pd.testing.assert_frame_equal(ours[cols].reset_index(drop=True),
                                  theirs[cols].reset_index(drop=True))
    assert rows.loc[rows["reason"] == "used", "rows"].iloc[0] == ours["n"].iloc[0]


def test_compare_by_ip_wants_one_row_per_person(small_loaded):
    scores = inspire_scores(small_loaded)
    rel = scores[scores["measure"] == "Relationship"][["person_id", "year", "score"]]
    with pytest.raises(ParameterError, match="one row per person"):
        compare_by_ip(small_loaded, rel, {"score": "continuous"})
    one = first_per_person(rel, "person_id", "year")
    est, _ = compare_by_ip(small_loaded, one, {"score": "continuous"}, methods=("crude", "aipw"))
    assert set(est["method"]) == {"crude", "AIPW"}
    assert (est["ci_low"] < est["estimate"]).all() and (est["estimate"] < est["ci_high"]).all()


def test_category_plot_hides_small_bars():
    shares = pd.DataFrame({"category": ["recovered", "reliably improved", "no reliable change",
                                        "deteriorated"],
                           "count": [40, 30, 27, 3], "n": [100] * 4,
                           "estimate": [0.4, 0.3, 0.27, 0.03], "ci_low": [0.3, 0.2, 0.2, 0.01],
                           "ci_high": [0.5, 0.4, 0.35, 0.08]})
    fig, ax = plt.subplots()
    plots.category_plot(data=shares, ax=ax)
    heights = sorted(round(p.get_height(), 2) for p in ax.patches)
    # The bar of 3 episodes is not drawn, nor the 27 that protects it (the four add up to 100).
    assert heights == [0.3, 0.4]
    assert any("not drawn" in t.get_text() for t in ax.texts)
    plt.close(fig)


def test_trajectories_and_waterfall_draw_only_groups_of_min_cell():
    rng = np.random.default_rng(1)
    rows = [{"client": f"c{k}", "session": s, "ors_total": 20 + s + rng.normal(),
             "ip": int(k < 30)} for k in range(33) for s in range(1, 6)]
    d = pd.DataFrame(rows)
    fig, ax = plt.subplots()
    plots.trajectories_plot(data=d, hue="ip", sample=10, ax=ax)
    assert not [ln for ln in ax.lines if ln.get_alpha() == 0.25]   # single clients: internal only
    fig, ax = plt.subplots()
    plots.trajectories_plot(data=d, hue="ip", sample=10, ax=ax, internal=True)
    thin = [ln for ln in ax.lines if ln.get_alpha() == 0.25]
    assert len(thin) == 10           # the group of 3 clients (ip = 0) gets no individual lines
    changes = pd.DataFrame({"change": [6.0, -6.0, 1.0], "category": ["recovered",
                                                                      "deteriorated", "x"]})
    fig2, ax2 = plt.subplots()
    plots.waterfall_plot(data=changes, ax=ax2, reliable_change=5)
    assert len(ax2.patches) == 0     # 3 episodes: fewer than min_cell, nothing drawn
    plt.close("all")
