"""Disclosure rules on constructed tables: each rule passes and fails, secondary suppression
withstands an attacker who knows the true totals, models need residual degrees of freedom."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.disclosure import Disclosure, DisclosureRules, cell_bounds, secondary_suppression
from evaluation.errors import ManifestError

RULES = DisclosureRules()          # min_cell 5, N-K 2/0.90, p-ratio 0.10, dof 10


# -- the rules one by one ------------------------------------------------------------------------
def test_threshold_rule():
    assert list(RULES.small_count([0, 1, 4, 5, 12])) == [False, True, True, False, False]
    assert list(DisclosureRules(min_cell=10).small_count([9, 10])) == [True, False]   # ACRO's 10


def test_dominance_rule():
    # Top two of five contribute 95 of 100: more than 90 % -> fails; an even spread passes.
    assert "dominance" in RULES.magnitude_fails([60, 35, 2, 2, 1])
    assert "dominance" not in RULES.magnitude_fails([20, 20, 20, 20, 20])


def test_p_ratio_rule():
    # p = (total - x1 - x2) / x1 = (100 - 50 - 46) / 50 = 0.08 < 0.10 -> fails (also dominant).
    assert "p-ratio" in RULES.magnitude_fails([50, 46, 1, 1, 1, 1])
    # (100 - 30 - 20) / 30 = 1.67 -> passes.
    assert "p-ratio" not in RULES.magnitude_fails([30, 20, 20, 15, 15])


def test_zeros_rule_and_threshold_on_magnitudes():
    assert "zeros" in RULES.magnitude_fails([0, 0, 0, 0, 0])
    assert "zeros" not in DisclosureRules(zeros_are_disclosive=False).magnitude_fails([0] * 5)
    assert "threshold" in RULES.magnitude_fails([3, 4, 5])
    assert RULES.magnitude_fails([3, 4, 5, 6, 7, 8]) == []


def test_rules_from_manifest_are_checked():
    assert DisclosureRules.from_manifest({"min_cell": 10}).min_cell == 10
    with pytest.raises(ManifestError, match="min_cel"):
        DisclosureRules.from_manifest({"min_cel": 10})
    with pytest.raises(ManifestError, match="dominance_k"):
        DisclosureRules.from_manifest({"dominance_k": 1.5})


# -- tables shown through the layer --------------------------------------------------------------
def test_show_hides_small_rows_and_their_estimates():
    t = pd.DataFrame({"group": list("abcd"), "n": [40, 3, 25, 30], "n_exposed": [20, 1, 23, 10],
                      "estimate": [.5, .33, .92, .33]})
    safe = Disclosure().show(t, counts=["n_exposed"], complements={"n_exposed": "n"})
    shown = safe.shown.set_index("group")
    # b's n is a count of 3: "<5"; its estimate is hidden with it, to protect it: "·".
    assert shown.loc["b", "n"] == "<5" and shown.loc["b", "estimate"] == "·"
    # c: 23 of 25 exposed -> 2 unexposed is a small count: n_exposed (23, not fewer than 5,
    # so "·") and the estimate hidden.
    assert shown.loc["c", "n_exposed"] == "·" and shown.loc["c", "estimate"] == "·"
    # b alone hidden in the n column: the next smallest row (c, 25) is hidden with it, so that
    # b's n cannot be found by subtracting the others from a total shown elsewhere.
    hidden_n = [g for g in "abcd" if shown.loc[g, "n"] in ("<5", "·")]
    assert hidden_n == ["b", "c"] and shown.loc["c", "n"] == "·"
    assert shown.loc["a", "n"] == 40 and shown.loc["d", "n"] == 30
    assert "ipeval-sdc" in safe._repr_html_() and "&lt;5" in safe._repr_html_()
    assert not np.isfinite(safe.values.set_index("group").loc["b", "estimate"])


def test_show_protects_the_contracts_count_columns_without_being_told():
    t = pd.DataFrame({"outcome": list("abcd"), "estimate": [.1, .2, .3, .4],
                      "n": [40, 30, 25, 50], "n_exposed": [20, 28, 12, 2]})
    shown = Disclosure().show(t).shown.set_index("outcome")
    # b: 30 − 28 = 2 unexposed (the complement within n); d: 2 exposed. Both hidden, their
    # estimates with them; n itself is large everywhere and stays.
    assert shown.loc["b", "n_exposed"] == "·" and shown.loc["b", "estimate"] == "·"
    assert shown.loc["d", "n_exposed"] == "<5" and shown.loc["d", "estimate"] == "·"
    assert shown.loc["a", "n_exposed"] == 20 and shown.loc["c", "estimate"] == 0.3
    assert list(shown["n"]) == [40, 30, 25, 50]


def test_show_protects_count_and_its_complement_without_being_told():
    shares = pd.DataFrame({"group": list("abc"), "count": [10, 3, 22], "n": [40, 30, 24],
                           "estimate": [.25, .1, 22 / 24]})
    shown = Disclosure().show(shares).shown.set_index("group")
    assert shown.loc["b", "count"] == "<5" and shown.loc["b", "estimate"] == "·"   # 3 people
    assert shown.loc["c", "count"] == "·" and shown.loc["c", "estimate"] == "·"    # 24 − 22 = 2
    assert shown.loc["a", "count"] == 10 and shown.loc["a", "estimate"] == 0.25


def test_explicit_empty_counts_mean_none_but_n():
    t = pd.DataFrame({"outcome": ["a", "b"], "estimate": [.1, .2], "n": [40, 30],
                      "n_exposed": [20, 28], "count": [3, 10]})
    shown = Disclosure().show(t, counts=[]).shown
    assert list(shown["n_exposed"]) == [20, 28] and list(shown["count"]) == [3, 10]
    assert list(shown["estimate"]) == [.1, .2]


def test_a_table_carries_its_count_columns_in_its_attrs():
    from evaluation.disclosure import with_counts
    alerts = pd.DataFrame({"alert": ["none", "red", "amber"], "sessions": [40, 3, 25],
                           "share": [40 / 68, 3 / 68, 25 / 68]})
    marked = with_counts(alerts, "sessions")
    assert alerts.attrs == {} and marked.attrs["counts"] == ["sessions"]
    # No column n: the rows are judged by their sessions alone (as n=None, counts=["sessions"]).
    told = Disclosure().show(alerts, n=None, counts=["sessions"]).shown
    shown = Disclosure().show(marked).shown
    assert shown.equals(told) and shown.loc[1, "sessions"] == "<5"
    assert shown.loc[1, "share"] == "·"
    # The mark follows a selection; an explicit counts= wins over it.
    assert Disclosure().show(marked[["alert", "sessions"]]).shown.loc[1, "sessions"] == "<5"
    assert Disclosure().show(marked, n=None, counts=[]).shown.loc[1, "sessions"] == 3


def test_a_marked_table_keeps_the_contracts_count_columns():
    from evaluation.disclosure import with_counts
    t = pd.DataFrame({"group": list("abc"), "n": [40, 30, 50], "n_exposed": [20, 28, 25],
                      "n_missing": [10, 12, 2]})
    shown = Disclosure().show(with_counts(t, "n_missing")).shown.set_index("group")
    told = Disclosure().show(t, counts=["n_exposed", "n_missing"],
                             complements={"n_exposed": "n"}).shown.set_index("group")
    assert shown.equals(told)
    assert shown.loc["b", "n_exposed"] == "·" and shown.loc["c", "n_missing"] == "<5"


def test_a_marked_complement_is_protected():
    from evaluation.disclosure import with_counts
    t = pd.DataFrame({"code": ["x", "y", "z"], "units with disagreement": [10, 28, 12],
                      "units": [40, 30, 50]})
    marked = with_counts(t, ["units with disagreement", "units"],
                         complements={"units with disagreement": "units"})
    shown = Disclosure().show(marked).shown.set_index("code")
    assert shown.loc["y", "units with disagreement"] == "·"       # 30 − 28 = 2 agree


def test_show_and_with_counts_check_their_parameters():
    from evaluation.disclosure import with_counts
    from evaluation.errors import ParameterError
    t = pd.DataFrame({"n": [40], "estimate": [.1]})
    with pytest.raises(ParameterError, match="'complements' is 'n'"):
        Disclosure().show(t, complements="n")
    with pytest.raises(ParameterError, match="count column.*'rows'"):
        Disclosure().show(t, counts=["rows"])
    with pytest.raises(ParameterError, match=r"no column\(s\) \['rows'\]"):
        with_counts(t, "rows")


def test_aggregate_applies_magnitude_rules():
    data = pd.DataFrame({"g": ["a"] * 6 + ["b"] * 6 + ["c"] * 3,
                         "v": [10, 11, 12, 9, 10, 11, 500, 400, 1, 1, 1, 1, 5, 5, 5]})
    safe = Disclosure().aggregate(data, "g", "v", stats=("mean", "sum"))
    shown = safe.shown.set_index("g")
    assert shown.loc["a", "mean"] not in ("<5", "·")
    assert shown.loc["b", "sum"] == "·"           # dominated by two contributors
    assert shown.loc["c", "n"] == "<5"            # 3 contributors
    assert shown.loc["c", "mean"] == "·"
    assert "dominance" in safe.footnote()


def test_model_with_too_few_residual_dof_is_not_shown():
    rng = np.random.default_rng(1)
    small = pd.DataFrame({"x": rng.normal(size=10), "z": rng.normal(size=10)})
    small["y"] = small["x"] + rng.normal(size=10)
    fit = smf.ols("y ~ x + z", data=small).fit()          # 10 - 3 = 7 residual df
    safe = Disclosure().model(fit)
    assert fit.df_resid == 7
    assert safe.suppressed.to_numpy().all()
    assert "7 residual degrees of freedom" in safe.footnote()
    big = pd.concat([small] * 3, ignore_index=True)
    ok = Disclosure().model(smf.ols("y ~ x + z", data=big).fit())   # 27 residual df
    assert not ok.suppressed.to_numpy().any()


def test_model_with_8_residual_dof_is_flagged():
    rng = np.random.default_rng(2)
    d = pd.DataFrame({"x": rng.normal(size=10)})
    d["y"] = d["x"] + rng.normal(size=10)
    fit = smf.ols("y ~ x", data=d).fit()
    assert fit.df_resid == 8
    assert Disclosure().model(fit).suppressed.to_numpy().all()


def test_crosstab_margins_are_totals_of_shown_cells():
    data = pd.DataFrame({"site": ["A"] * 30 + ["B"] * 12 + ["C"] * 25,
                         "ip": [1] * 27 + [0] * 3 + [1] * 6 + [0] * 6 + [1] * 10 + [0] * 15})
    safe = Disclosure().crosstab(data, "site", "ip")
    v = safe.values
    body = v.drop(index="Total (shown)", columns="Total (shown)")
    assert (v["Total (shown)"].drop("Total (shown)") == body.sum(axis=1, skipna=True)).all()
    assert v.loc["Total (shown)", "Total (shown)"] == body.sum().sum()
    assert safe.suppressed.to_numpy().sum() >= 2


# -- an attacker with the true totals ------------------------------------------------------------
def _attack(counts: np.ndarray, mask: np.ndarray) -> list[float]:
    """Width of each hidden cell's feasible range given true row/column totals and the shown cells."""
    return [hi - lo for lo, hi in cell_bounds(counts, mask)]


@pytest.mark.parametrize("table", [
    np.array([[20, 3, 15], [12, 30, 8], [2, 25, 40]]),
    np.array([[1, 9, 9, 9], [9, 9, 9, 9], [9, 9, 9, 2]]),
    np.array([[3, 40]]),
    np.array([[4, 0], [0, 9]]),
    np.array([[12, 1, 7, 30], [3, 22, 8, 1], [15, 15, 15, 15], [2, 2, 40, 11]]),
])
def test_no_hidden_cell_can_be_solved_from_the_totals(table):
    primary = RULES.small_count(table)
    mask = primary | secondary_suppression(table, primary)
    assert mask[primary].all()
    assert min(_attack(table, mask)) >= 1          # every hidden cell has at least two values
    # Without secondary suppression the same attack pins some cell exactly (the test can fail).
    if (primary.sum(axis=1) == 1).any() or (primary.sum(axis=0) == 1).any():
        assert min(_attack(table, primary)) == pytest.approx(0)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5).flatmap(lambda r: st.integers(2, 5).flatmap(
    lambda c: st.lists(st.lists(st.integers(0, 40), min_size=c, max_size=c), min_size=r, max_size=r))))
def test_secondary_suppression_protects_any_table(rows):
    table = np.array(rows, dtype=float)
    primary = RULES.small_count(table)
    mask = primary | secondary_suppression(table, primary)
    if mask.any():
        widths = _attack(table, mask)
        assert min(widths) >= 0.5


# -- plots apply the same rules ------------------------------------------------------------------
def test_estimate_plot_leaves_out_small_groups():
    import matplotlib.pyplot as plt
    from evaluation.disclosure import estimate_plot
    # b (3 people) is not drawn, nor c, which protects it; a is.
    t = pd.DataFrame({"g": ["a", "b", "c"], "n": [30, 3, 20], "estimate": [.5, .9, .4],
                      "ci_low": [.3, .5, .2], "ci_high": [.7, 1.0, .6]})
    ax = estimate_plot(t, x="g")
    drawn = np.vstack([ln.get_xydata() for ln in ax.lines]) if ax.lines else np.empty((0, 2))
    assert set(np.round(drawn[:, 1], 2)) <= {0.5, 0.3, 0.7}
    assert any("<5" in label.get_text() for label in ax.get_xticklabels())
    plt.close("all")


def test_histogram_leaves_out_small_bins():
    import matplotlib.pyplot as plt
    from evaluation.disclosure.figures import distribution_plot
    # The bin at 5 holds two people; the bin at 3 (20 people) is hidden with it.
    values = pd.DataFrame({"x": [1.0] * 30 + [3.0] * 20 + [5.0] * 2})
    ax = distribution_plot(values, x="x", bins=[0, 2, 4, 6])
    heights = [p.get_path().vertices[:, 1].max() for p in ax.patches]
    assert any(h > 0 for h in heights)
    # The density of the last bin is drawn as zero.
    stairs = [p for p in ax.patches]
    assert all(np.isclose(p.get_path().vertices[-3:, 1], 0).all() for p in stairs)
    assert any("not drawn" in t.get_text() for t in ax.texts)
    plt.close("all")


def test_misspelt_disclosure_setting_fails_when_the_manifest_loads(tmp_path):
    from evaluation.intake.manifest import load_manifest
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "study.yaml").write_text("name: t\nsources: {s: {file: d.csv}}\n"
                                         "disclosure: {min_cel: 10}\n")
    with pytest.raises(ManifestError, match="min_cel"):
        load_manifest(tmp_path)
