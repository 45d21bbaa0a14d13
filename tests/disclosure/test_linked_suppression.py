"""The layer protects a report, not a call: the issue's leaks, rebuilt as the shipped builders
make their tables, must not be recoverable from what ``Disclosure`` shows.

Each test builds the table the leak was seen in, shows it, and then works out the hidden cells
as a reader would (a row total minus the shown parts; the same count in another table; a share
times its n); the test fails when a hidden count can be read off.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.describe import coverage
from evaluation.disclosure import Disclosure, DisclosureRules, with_counts
from evaluation.feedback.change import category_shares

RULES = DisclosureRules()
MARKS = {RULES.suppressed_text, RULES.protected_text}


def _hidden(cell) -> bool:
    return cell in MARKS


def _changes(counts: dict) -> pd.DataFrame:
    rows = [{"IP": ip, "category": cat} for (ip, cat), k in counts.items() for _ in range(k)]
    return pd.DataFrame(rows)


def test_change_categories_cannot_be_read_off_the_shown_n():
    """Leak 2: 253 − 111 − 67 − 74 = 1 deteriorated, with an IP."""
    counts = {("IP", "recovered"): 111, ("IP", "reliably improved"): 67,
              ("IP", "no reliable change"): 74, ("IP", "deteriorated"): 1,
              ("IP", "single ORS"): 30, ("IP", "no ORS"): 12,
              ("no IP", "recovered"): 80, ("no IP", "reliably improved"): 40,
              ("no IP", "no reliable change"): 60, ("no IP", "deteriorated"): 9,
              ("no IP", "single ORS"): 20, ("no IP", "no ORS"): 8}
    shown = Disclosure().show(category_shares(_changes(counts), by="IP")).shown
    ip = shown[(shown["IP"] == "IP") & (shown["denominator"] == "episodes with a change")]
    assert ip["n"].tolist() == [253] * 4
    assert ip.loc[ip["category"] == "deteriorated", "count"].item() == "<5"
    # At least two of the four counts that add up to the shown 253 are hidden.
    assert sum(_hidden(c) for c in ip["count"]) >= 2
    # And their shares with them: a share times 253 would give the count back.
    assert all(_hidden(e) for e, c in zip(ip["estimate"], ip["count"]) if _hidden(c))


def test_coverage_hides_the_share_that_gives_the_small_complement():
    """Leak 1 (as a table): high severity, 13 of 17 with an IP: 4 without."""
    people = pd.DataFrame({"band": ["low"] * 25 + ["moderate"] * 77 + ["high"] * 17,
                           "has_ip": [1] * 8 + [0] * 17 + [1] * 51 + [0] * 26 + [1] * 13 + [0] * 4})
    safe = Disclosure().show(coverage(people, "has_ip", by="band"))
    v = safe.values.set_index("band")
    assert np.isnan(v.loc["high", "estimate"]) and np.isnan(v.loc["high", "count"])
    assert safe.shown.set_index("band").loc["high", "count"] == RULES.protected_text   # 13 ≥ 5
    # The other count hidden with it, so that 72 − 51 − (hidden) does not give 13.
    assert np.isnan(v.loc["low", "count"]) and v.loc["moderate", "count"] == 51


def test_table_one_levels_do_not_add_up_to_the_arms_n():
    """Leak 6: n 38 with an IP, ROP 17, substance use only 17, so mental health only is 4."""
    t1 = with_counts(pd.DataFrame({
        "variable": ["rop_group"] * 3 + ["sex"] * 2,
        "level": ["mental_health_only", "rop", "substance_only", "female", "male"],
        "treated_n": [38] * 5, "treated_count": [4, 17, 17, 20, 18],
        "treated_percent": [4 / 38 * 100, 17 / 38 * 100, 17 / 38 * 100, 20 / 38 * 100, 18 / 38 * 100],
        "control_n": [40] * 5, "control_count": [10, 15, 15, 22, 18],
        "control_percent": [25.0, 37.5, 37.5, 55.0, 45.0],
        "smd": [-.1, .2, .1, .05, -.05]}), ["treated_n", "treated_count", "control_n", "control_count"])
    shown = Disclosure().show(t1, n=None).shown
    rop = shown[shown["variable"] == "rop_group"]
    assert rop["treated_count"].iloc[0] == "<5"
    assert sum(_hidden(c) for c in rop["treated_count"]) >= 2
    assert all(_hidden(p) for p, c in zip(rop["treated_percent"], rop["treated_count"]) if _hidden(c))
    assert rop["treated_n"].tolist() == [38] * 3          # the arm's n stays
    assert shown.loc[shown["variable"] == "sex", "treated_count"].tolist() == [20, 18]
    assert not any(_hidden(c) for c in shown["variable"])     # keys are never hidden


def test_protecting_cells_are_marked_apart_from_small_ones():
    """Leak 3: 15 of 16 residents read as 'fewer than 5'; a key shown as <5."""
    t = with_counts(pd.DataFrame({"code": ["x", "x"], "has_ip": [0, 1], "n": [16, 30],
                                  "n_mentioning": [15, 20], "estimate": [15 / 16, 20 / 30]}),
                    ["n_mentioning"], complements={"n_mentioning": "n"})
    shown = Disclosure().show(t).shown
    assert shown["has_ip"].tolist() == [0, 1]
    assert shown.loc[0, "n_mentioning"] == RULES.protected_text      # 15 is not fewer than 5
    assert RULES.suppressed_text not in shown["n_mentioning"].tolist()
    assert "hidden to protect another cell" in Disclosure().show(t).footnote()


def test_shares_of_a_yes_no_item_are_counts():
    """Leak 4: 'chairs own meetings' 0.150 of n 20 is 3 people; 'actively sold in' 0.333 of 9."""
    t = pd.DataFrame({"institution": ["A", "B"], "chairs_mean": [0.15, 0.5], "chairs_n": [20, 40],
                      "sold_share": [1 / 3, 0.5], "n": [9, 40]})
    t.attrs["shares"] = {"chairs_mean": "chairs_n"}
    shown = Disclosure().show(t).shown.set_index("institution")
    assert _hidden(shown.loc["A", "chairs_mean"]) and shown.loc["B", "chairs_mean"] == 0.5
    assert _hidden(shown.loc["A", "sold_share"])           # 9 × 0.333 = 3 (named like a share)
    pct = pd.DataFrame({"g": ["a", "b"], "yes_percent": [95.0, 50.0], "yes_n": [40, 40]})
    assert _hidden(Disclosure().show(pct, n=None).shown.loc[0, "yes_percent"])    # 2 said no


def test_undeclared_count_columns_are_protected_and_extremes_are_not_shown():
    """Leak 7: n_missing and n_outside of 1–4 shown; min and max are one person's value."""
    t = pd.DataFrame({"group": ["a", "b", "c"], "n": [40, 50, 60], "n_outside": [3, 10, 12],
                      "min_propensity": [.05, .1, .2], "max_propensity": [.9, .8, .95]})
    safe = Disclosure().show(t)
    assert safe.shown.loc[0, "n_outside"] == "<5"
    assert sum(_hidden(c) for c in safe.shown["n_outside"]) >= 2
    assert "min_propensity" not in safe.shown.columns and "max_propensity" not in safe.shown.columns
    assert "one person's value" in safe.footnote()
    data = pd.DataFrame({"g": ["a"] * 10, "v": np.arange(10.0)})
    agg = Disclosure().aggregate(data, "g", "v", stats=("mean", "min", "max"))
    assert list(agg.shown.columns) == ["g", "n", "mean"]


def test_a_count_hidden_in_one_table_is_hidden_in_the_next():
    """Linked tables: the same count (same population and conditions) in two tables of the
    report is hidden in both, and a count published in one is not used to protect another."""
    people = pd.DataFrame({"band": ["low"] * 3 + ["high"] * 30 + ["mid"] * 20,
                           "has_ip": [1, 1, 0] + [1] * 20 + [0] * 10 + [1] * 10 + [0] * 10})
    sdc = Disclosure()
    first = sdc.show(coverage(people, "has_ip", by="band")).shown.set_index("band")
    table = coverage(people, "has_ip", by="band")
    again = sdc.show(table[table["band"].isin(["low", "high"])]).shown.set_index("band")
    # low (3 people) is hidden in both; the cell hidden to protect it in the first table is
    # hidden in the second too, though the second alone would have chosen another.
    assert first.loc["low", "n"] == "<5" and again.loc["low", "n"] == "<5"
    protecting = [b for b in first.index if first.loc[b, "n"] == RULES.protected_text]
    assert protecting and all(again.loc[b, "n"] == RULES.protected_text
                              for b in protecting if b in again.index)
    assert sdc.ledger.counts()["primary"] >= 1


def test_the_report_says_once_what_the_marks_mean():
    sdc = Disclosure()
    t = pd.DataFrame({"g": list("abc"), "n": [40, 3, 25], "estimate": [.5, .3, .6]})
    safe = sdc.show(t, name="demo")
    assert "fewer than" not in safe.footnote()      # no repeated note under every table
    sentence = sdc.sentence()
    assert "<5 marks a count of fewer than 5 people (1 cells)" in sentence
    assert "· a number hidden" in sentence
    html = sdc._repr_html_()
    assert 'class="ipeval-sdc-summary"' in html and "data-ipeval-disclosure" in html
    # The log carries structure and shown values, never a hidden one.
    log = sdc.disclosure_log()
    shown_values = {c["shown"] for c in log["cells"]}
    assert 3 not in shown_values and 25 not in shown_values and 40 in shown_values
    assert Disclosure(internal=True).sentence().startswith("INTERNAL")


def test_a_person_level_figure_is_refused_outside_an_internal_run():
    from evaluation.errors import ParameterError
    with pytest.raises(ParameterError, match="internal"):
        Disclosure().figure_drawn("waterfall", person_level=True)
    internal = Disclosure(internal=True)
    internal.figure_drawn("waterfall", person_level=True)
    assert internal.disclosure_log()["figures"][0]["person_level"] is True


def test_protected_marker_must_differ_from_the_marker():
    from evaluation.errors import ManifestError
    with pytest.raises(ManifestError, match="protected_marker"):
        DisclosureRules(protected_marker="<5")
    assert DisclosureRules.from_manifest({"protected_marker": "x"}).protected_text == "x"


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 5).flatmap(lambda k: st.lists(st.lists(st.integers(0, 30), min_size=k, max_size=k),
                                                   min_size=2, max_size=4)))
def test_no_hidden_count_of_a_long_table_is_a_line_total_minus_the_shown(grid):
    """A long table (group × category counts, shares of the group's n): in every group and in
    every category across groups, a hidden count is never alone, so no total minus the shown
    cells gives it."""
    rows = [{"grp": f"g{i}", "cat": f"c{j}", "count": k, "n": sum(line)}
            for i, line in enumerate(grid) for j, k in enumerate(line)]
    t = pd.DataFrame(rows)
    t["estimate"] = t["count"] / t["n"].where(t["n"] > 0)
    t = with_counts(t, ["count"])
    t.attrs["keys"] = ["grp", "cat"]
    shown = Disclosure().show(t).shown
    hidden = shown["count"].map(_hidden).to_numpy().reshape(len(grid), -1)
    values = np.array(grid)
    for line, mask in [(values[i], hidden[i]) for i in range(len(grid))] + \
                      [(values[:, j], hidden[:, j]) for j in range(values.shape[1])]:
        if mask.sum() == 1:     # alone: only harmless when the line's total is that cell (0s)
            assert (line[~mask] == 0).all() and line[mask].sum() == 0
    small = (values > 0) & (values < 5)
    assert hidden[small].all()


def test_two_small_cells_that_add_up_to_twice_the_bound_are_not_left_alone():
    """The reader knows a <5 cell holds 1 to 4: two of them adding up to 8 (a shown total minus
    the shown cells) are 4 each. Seen on the small study: Karlsborg, severity bands."""
    t = pd.DataFrame({"band": ["low", "moderate", "high"], "n": [11, 23, 3],
                      "count": [4, 12, 4], "estimate": [4 / 11, 12 / 23, 4 / 3]})
    shown = Disclosure().show(t).shown.set_index("band")
    assert shown.loc["low", "count"] == "<5" and shown.loc["high", "count"] == "<5"
    assert shown.loc["moderate", "count"] == RULES.protected_text
    sdc = Disclosure()
    sdc.show(t)
    assert sdc.exposed().empty


@pytest.mark.parametrize("seed", [1, 2, 3, 8, 10])
def test_a_crosstab_and_the_frequencies_of_its_subsets_do_not_pin_a_cell(seed, tmp_path):
    """Leak 8 within a report: a cross-table of institution × ROP group, the frequencies of
    each, and ROP group at each institution. The last are the cross-table's rows under other
    names; the layer links them by the rows they count, so what one hides the others hide.
    Both the report's own attacker and the output checker find nothing to work out (before
    the rows were linked, seeds 1, 2, 8 and 10 each pinned cells)."""
    from evaluation.disclosure import check_path
    rng = np.random.default_rng(seed)
    n = 150
    people = pd.DataFrame({
        "institution": rng.choice(["Karlsborg", "Vårli", "Østhagen", "Lillevik"], n,
                                  p=[.5, .25, .2, .05]),
        "rop_group": rng.choice(["mental_health_only", "rop", "substance_only"], n, p=[.15, .45, .4]),
        "has_ip": rng.choice([0, 1], n, p=[.4, .6])})
    sdc = Disclosure()
    parts = [sdc.crosstab(people, "institution", "rop_group", name="rop by institution"),
             sdc.frequencies(people, "institution"), sdc.frequencies(people, "rop_group"),
             sdc.crosstab(people, "institution", "has_ip", name="ip by institution")]
    parts += [sdc.frequencies(g, "rop_group", name=f"rop_group at {inst}")
              for inst, g in people.groupby("institution")]
    assert sdc.exposed().empty
    page = tmp_path / "report.html"
    page.write_text("".join(p._repr_html_() for p in parts) + sdc._repr_html_(), encoding="utf-8")
    found = check_path(page)
    assert found.empty, found.to_string()


def test_a_pivot_with_unnamed_axes_gives_each_cell_its_own_name():
    """A pivot of counts (institution × year) whose axes have no names: its cells must not all
    be called the table's total, or the report's log would say 0 = the sum of the cells."""
    table = pd.DataFrame([[0, 3, 12], [20, 25, 2]], index=["A", "B"], columns=[2021, 2022, 2023])
    sdc = Disclosure()
    sdc.counts(table, name="rows per institution and year")
    log = sdc.disclosure_log()
    assert len({c["id"] for c in log["cells"]}) == len(log["cells"]) >= 6
    assert sdc.exposed().empty


@pytest.mark.parametrize("name", ["n_coders", "n_raters", "n_weighted", "n_boot", "n_reps",
                                  "n_replicates", "n_iterations", "n_dof", "n_df", "n_k"])
def test_what_the_layer_shows_as_no_count_the_checker_does_not_flag(name):
    """The layer and the output checker must agree: a column the layer does not take for a
    count of people (and so shows) is not one the checker calls an unprotected count."""
    from evaluation.disclosure.cell_text import NOT_PEOPLE_COUNT
    from evaluation.disclosure.row_tables import NOT_COUNT_NAME
    assert NOT_COUNT_NAME.search(name) and NOT_PEOPLE_COUNT.search(name)


def test_a_hidden_cell_no_total_bounds_is_not_an_error():
    """A table of one hidden cell (no total above it: its bound is infinite) is safe, not an
    error; the load report of a study with one source read is such a table."""
    from evaluation.disclosure import audit
    assert audit(np.array([[3.0]]), np.array([[True]])) == []
    assert audit(np.array([[3.0, 0.0]]), np.array([[True, False]]), min_cell=5) == [(0, 0)]


def test_the_checker_reads_the_layers_keys_and_takes_no_0_1_key_for_a_count(tmp_path):
    """A 0/1 key (has_ip) is the row's group: the table's HTML says so, and the checker does
    not read has_ip 0 + 8 mentioning = n 8 as a sum that gives a hidden count back (a false
    alarm on the shipped Sørbråten report)."""
    from evaluation.disclosure import check_path
    t = with_counts(pd.DataFrame({"code": ["goal", "chaos"], "has_ip": [0, 0], "n": [8, 8],
                                  "n_mentioning": [7, 8], "n_missing": [0, 0],
                                  "estimate": [7 / 8, 1.0]}),
                    ["n_mentioning", "n_missing"], complements={"n_mentioning": "n"})
    sdc = Disclosure()
    safe = sdc.show(t, name="mentions")
    assert safe.shown.loc[0, "n_mentioning"] == RULES.protected_text     # 1 not mentioning
    assert '&quot;keys&quot;: [&quot;code&quot;, &quot;has_ip&quot;]' in safe._repr_html_()
    page = tmp_path / "r.html"
    page.write_text(safe._repr_html_() + sdc._repr_html_(), encoding="utf-8")
    assert check_path(page).empty


def test_two_counts_that_make_up_n_are_hidden_together():
    """Positivity by institution: n, n_treated and n_control. With n shown, a hidden n_treated
    is n − n_control: it must take n_control with it (seen on a study of 150 persons)."""
    t = pd.DataFrame({"group": ["A", "B", "C", "all"], "n": [40, 30, 50, 120],
                      "n_treated": [3, 12, 20, 35], "n_control": [37, 18, 30, 85]})
    shown = Disclosure().show(t).shown.set_index("group")
    assert shown.loc["A", "n_treated"] == "<5" and _hidden(shown.loc["A", "n_control"])
    assert shown.loc["A", "n"] == 40
    for g in shown.index:
        assert _hidden(shown.loc[g, "n_treated"]) == _hidden(shown.loc[g, "n_control"])


def test_a_groups_mean_row_goes_when_one_of_its_levels_is_hidden():
    """The change between BrukerPlan years: the shares at levels 1–5 and the mean level of the
    same 127 people. With levels 1 and 5 hidden, 1·c1 + 5·c5 = mean × 127 − the shown levels
    and c1 + c5 = 15 give both back (c5 = 11, c1 = 4): the mean row is hidden with them."""
    t = with_counts(pd.DataFrame({
        "domain": ["d"] * 6, "level": [1, 2, 3, 4, 5, np.nan],
        "estimate": [.03, .2, .39, .29, .09, 407 / 127], "n": [127] * 6,
        "count": [4, 25, 50, 37, 11, np.nan]}), ["count"])
    t.attrs["keys"] = ["domain", "level"]
    shown = Disclosure().show(t).shown
    assert shown.loc[0, "count"] == "<5" and _hidden(shown.loc[4, "count"])
    assert _hidden(shown.loc[5, "estimate"])


def test_an_error_text_about_too_few_people_hides_small_counts():
    """A run that stops because an institution has too few complete rows says why, and its
    reasons' counts reach the notebook: a count under 5 is written <5 there too (leak 9)."""
    from evaluation.association.frame import _shown_count
    assert _shown_count(2) == "<5" and _shown_count(12) == "12" and _shown_count(0) == "0"
