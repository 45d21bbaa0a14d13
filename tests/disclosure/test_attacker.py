"""The linear-programming attacker: it finds every hidden cell the issue's leaks pin down, none
that a correct suppression protects, and its intervals always hold the true value."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.disclosure.attack_reading import (CountTable, LongTable, Number, Partition,
                                                  ShareTable, TableOne, relations_from_tables)
from evaluation.disclosure import Disclosure, DisclosureRules
from evaluation.disclosure import attack_solver as attacker   # the solver's size switches
from evaluation.disclosure.attacker import attack, attack_with_truth, whole_values
from evaluation.disclosure.linked import cell_id
from evaluation.disclosure.suppression import audit, cell_bounds, secondary_suppression


def _row(result: pd.DataFrame, cell: str) -> dict:
    rows = result[result["cell"] == cell]
    assert len(rows) == 1, (cell, result["cell"].tolist())
    return rows.iloc[0].to_dict()


def _count_table(rows: dict, *, rows_name: str, cols_name: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows).T
    frame.index.name, frame.columns.name = rows_name, cols_name
    return frame


# --------------------------------------------------------------------------- the leaks

def test_long_table_rows_add_up_to_the_shown_n():
    """Leak 2: 253 − 111 − 67 − 74 = 1 deteriorated, with an IP."""
    long = pd.DataFrame({"IP": ["IP"] * 4 + ["no IP"] * 4,
                         "category": ["recovered", "improved", "no change", "deteriorated"] * 2,
                         "n": ["111", "67", "74", "<5", "80", "40", "60", "9"]})
    tables = [LongTable(long, "episodes", keys=("IP", "category")),
              Number("253", "episodes", conditions={"IP": "IP"})]
    cells, relations = relations_from_tables(tables)
    result = attack(cells, relations)
    hit = _row(result, cell_id("episodes", "n", {"IP": "IP", "category": "deteriorated"}))
    assert (hit["low"], hit["high"], hit["exposed"]) == (1.0, 1.0, True)
    # without the shown n the same table hides it
    cells, relations = relations_from_tables(tables[:1])
    assert not attack(cells, relations)["exposed"].any()
    # the n as a total row of the long table itself
    within = pd.concat([long, pd.DataFrame({"IP": ["IP"], "category": ["Totalt"], "n": ["253"]})])
    result = attack(*relations_from_tables([LongTable(within, "episodes",
                                                      keys=("IP", "category"))]))
    assert result["exposed"].sum() == 1
    assert _row(result, hit["cell"])["low"] == 1.0


def test_table_one_levels_add_up_to_the_arm_n():
    """Leak 6: Østhagen with an IP, n 38, ROP 17, substance use only 17 → mental health 4."""
    t1 = pd.DataFrame({"variable": ["diagnosis", "", "", "age"],
                       "level": ["ROP", "substance use only", "mental health only", ""],
                       "treated_n": ["38", "38", "38", "38"],
                       "treated_count": ["17", "17", "<5", ""],
                       "control_n": ["60", "60", "60", "60"],
                       "control_count": ["20", "30", "10", ""]})
    spec = TableOne(t1, "people", arm="has_ip",
                    arms={"1": {"n": "treated_n", "count": "treated_count"},
                          "0": {"n": "control_n", "count": "control_count"}})
    result = attack(*relations_from_tables([spec]))
    hit = _row(result, cell_id("people", "n", {"has_ip": "1", "diagnosis": "mental health only"}))
    assert (hit["low"], hit["high"], hit["exposed"]) == (4.0, 4.0, True)


def test_table_one_percentages_with_decimal_commas_pin_a_count():
    """A Table 1 that hides two levels but shows their percentages (44,7 % of 38 is 17), and
    a 0/1 item (no level) whose hidden count is 10,5 % of 38."""
    t1 = pd.DataFrame({"variable": ["diagnosis", "", "", "smoker", "age"],
                       "level": ["ROP", "substance use only", "mental health only", "", ""],
                       "treated_n": ["38"] * 5, "treated_count": ["·", "·", "<5", "<5", ""],
                       "treated_percent": ["44,7", "44,7", "", "10,5", ""]})
    spec = TableOne(t1, "people", arm="has_ip",
                    arms={"1": {"n": "treated_n", "count": "treated_count",
                                "percent": "treated_percent"}})
    result = attack(*relations_from_tables([spec]))
    assert result["exposed"].all() and len(result) == 4
    hit = _row(result, cell_id("people", "n", {"has_ip": "1", "diagnosis": "mental health only"}))
    assert hit["low"] == hit["high"] == 4.0
    smokers = _row(result, cell_id("people", "n", {"has_ip": "1", "smoker": "1"}))
    assert smokers["low"] == smokers["high"] == 4.0


def test_a_total_written_in_a_sentence_and_a_table():
    """Leak 2: the header says 134 people, the table 117 used and 15 left out → 2 missing."""
    reasons = pd.DataFrame({"reason": ["used", "left out", "outcome missing"],
                            "rows": ["117", "15", "<5"]})
    tables = [LongTable(reasons, "people", keys=("reason",), count="rows"),
              Number("134", "people", count="rows")]
    result = attack(*relations_from_tables(tables))
    hit = _row(result, cell_id("people", "rows", {"reason": "outcome missing"}))
    assert (hit["low"], hit["high"], hit["exposed"]) == (2.0, 2.0, True)


def test_cross_tab_and_per_institution_frequencies_pin_the_hidden_cells():
    """Leak 8: a cross-tab protected on its own, then frequencies of one institution, which
    show a cell the cross-tab hid."""
    cross = _count_table({"A": {"0": "<5", "1": "·", "Total": "23"},
                          "B": {"0": "·", "1": "·", "Total": "30"},
                          "C": {"0": "12", "1": "15", "Total": "27"},
                          "Total": {"0": "24", "1": "56", "Total": "80"}},
                         rows_name="institution", cols_name="has_ip")
    freq_a = pd.DataFrame({"n": ["<5", "20", "20"], "share": ["·", "0.870", "0.870"]},
                          index=pd.Index(["0", "1", "Total (shown)"], name="has_ip"))
    alone = attack(*relations_from_tables([CountTable(cross, "people")]))
    assert len(alone) == 4 and not alone["exposed"].any()
    both = attack(*relations_from_tables(
        [CountTable(cross, "people"),
         CountTable(freq_a[["n"]], "people", conditions={"institution": "A"})]))
    exposed = set(both.loc[both["exposed"], "cell"])
    assert exposed == {cell_id("people", "n", {"institution": i, "has_ip": v})
                       for i in "AB" for v in "01"}
    assert _row(both, cell_id("people", "n", {"institution": "A", "has_ip": "0"}))["low"] == 3.0


def _institution(rop, mh, su):
    """A diagnosis × has_ip table of one run, as the layer protects it alone: a <5 in MH with
    an IP hides its row and the SU row with it."""
    def text(v, hide):
        return ("<5" if 1 <= v <= 4 else "·") if hide else str(v)
    hide = 1 <= mh[1] <= 4
    rows = {"ROP": rop, "MH": mh, "SU": su}
    table = {k: {"0": text(v[0], hide and k != "ROP"), "1": text(v[1], hide and k != "ROP"),
                 "Total": str(sum(v))} for k, v in rows.items()}
    table["Total"] = {"0": str(sum(v[0] for v in rows.values())),
                      "1": str(sum(v[1] for v in rows.values())),
                      "Total": str(sum(sum(v) for v in rows.values()))}
    return _count_table(table, rows_name="diagnosis", cols_name="has_ip")


RUNS = {"Fjærholmen": ((10, 12), (6, 4), (7, 9)), "Østhagen": ((8, 11), (5, 4), (6, 7)),
        "Vårli": ((9, 10), (7, 0), (5, 6)), "Lassonløkken": ((12, 10), (8, 0), (6, 8))}


def test_differencing_the_all_run_and_the_institution_runs():
    """Leak 8: the "all" run shows 8 with an IP and mental health only; Vårli and
    Lassonløkken show 0; so Fjærholmen and Østhagen, hidden as <5, are 4 each."""
    totals = [tuple(sum(run[d][a] for run in RUNS.values()) for a in (0, 1)) for d in range(3)]
    specs = [CountTable(_institution(*run), "people", conditions={"institution": name}, name=name)
             for name, run in RUNS.items()]
    everyone = CountTable(_institution(*totals), "people", name="all")
    assert "<5" not in everyone.frame.to_numpy()
    for spec in specs:    # each run alone passes
        assert not attack(*relations_from_tables([spec]))["exposed"].any()
    result = attack(*relations_from_tables([everyone, *specs],
                                           partitions=[Partition("institution", tuple(RUNS))]))
    for name in ("Fjærholmen", "Østhagen"):
        hit = _row(result, cell_id("people", "n", {"institution": name, "diagnosis": "MH",
                                                   "has_ip": "1"}))
        assert (hit["low"], hit["high"], hit["exposed"]) == (4.0, 4.0, True)


def test_a_correctly_suppressed_table_is_not_exposed():
    counts = np.array([[3, 12, 9], [8, 7, 11], [10, 14, 6]])
    mask = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
    assert audit(counts, mask) == []
    cells, relations = _grid(counts, mask)
    result = attack_with_truth(cells, relations, _truth(counts))
    assert len(result) == 4 and not result["exposed"].any()
    assert _row(result, "r0c0")["values"] == 4.0        # 1 … 4: the rule's whole range


def test_a_cell_hidden_in_one_table_and_shown_in_another_is_exposed():
    first = _count_table({"low": {"0": "<5", "1": "·"}, "high": {"0": "·", "1": "·"}},
                         rows_name="severity", cols_name="has_ip")
    first["Total"] = ["21", "30"]
    first.loc["Total"] = ["15", "36", "51"]
    second = pd.DataFrame({"n": ["17"]}, index=pd.Index(["low"], name="severity"))
    cells, relations = relations_from_tables(
        [CountTable(first, "people", name="table 1"),
         CountTable(second, "people", rows="severity", conditions={"has_ip": "1"}, name="t2")])
    result = attack(cells, relations)
    assert not {c for c in cells["id"] if "@" in c} & set(result["cell"])
    assert result["exposed"].all()
    assert _row(result, cell_id("people", "n", {"severity": "low", "has_ip": "1"}))["low"] == 17
    assert _row(result, cell_id("people", "n", {"severity": "low", "has_ip": "0"}))["low"] == 4


@pytest.mark.parametrize("share, pinned", [("0,150", True), ("0.15", True), ("15,0 %", True),
                                           ("0,2", False)])
def test_a_share_of_a_shown_n_bounds_its_count(share, pinned):
    """Leak 4: 0.150 of 20 is 3 people; 0.2 (one decimal) is 3 or 4."""
    table = pd.DataFrame({"item": ["chairs own meetings"], "n": ["20"], "yes": ["<5"],
                          "share": [share]})
    spec = ShareTable(table, "staff", keys=("item",), share="share", n="n", count_column="yes",
                      count_conditions={"answer": "yes"})
    result = attack(*relations_from_tables([spec]))
    hit = _row(result, cell_id("staff", "n", {"item": "chairs own meetings", "answer": "yes"}))
    assert hit["exposed"] is pinned
    assert hit["low"] <= 3 <= hit["high"]
    if not pinned:
        assert (math.ceil(hit["low"] - 1e-6), math.floor(hit["high"] + 1e-6)) == (3, 4)


def test_shares_of_an_unshown_total_with_two_cells_hidden_say_only_their_sum():
    """Frequencies: 40 and 30 of everyone (0.533, 0.400) give N = 75, so the two hidden cells
    add up to 5, but neither is known."""
    freq = pd.DataFrame({"level": ["a", "b", "c", "d"], "n": ["40", "30", "<5", "<5"],
                         "share": ["0.533", "0.400", "·", "·"]})
    tables = [LongTable(freq, "people", keys=("level",)),
              ShareTable(freq, "people", keys=("level",), share="share", count_column="n",
                         n_conditions={})]
    result = attack_with_truth(*relations_from_tables(tables),
                               {cell_id("people", "n", {"level": "c"}): 2,
                                cell_id("people", "n", {"level": "d"}): 3,
                                cell_id("people", "n", {}): 75})
    total = _row(result, cell_id("people", "n", {}))
    assert total["low"] == total["high"] == 75 and not total["exposed"]   # unshown: no mark
    assert not result["exposed"].any()


def _people(seed=1, n=120):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"institution": rng.choice(list("ABCD"), n, p=[.4, .3, .25, .05]),
                         "has_ip": rng.choice([0, 1], n, p=[.3, .7])})


def _attack_log(sdc):
    log = sdc.ledger.log(sdc.rules)
    truth = {cid: c["value"] for cid, c in sdc.ledger.cells.items()}
    return attack_with_truth(log["cells"], log["relations"], truth,
                             min_cell=sdc.rules.min_cell, primary_marks={sdc.rules.suppressed_text})


def test_the_layers_log_is_what_the_attacker_reads():
    """The disclosure log of a report (contract 3) goes to the attacker as it is, and the
    ledger's true values lie inside every interval."""
    sdc = Disclosure(DisclosureRules())
    sdc.crosstab(_people(), "institution", "has_ip")
    result = _attack_log(sdc)
    assert set(result["kind"]) >= {"primary", "secondary"} and not result["exposed"].any()


def test_the_log_of_frequencies_of_subsets_holds_the_truth():
    """The attacker as a self-check of the layer: a log whose relations the true values break
    would let it report a cell as worked out (or safe) wrongly."""
    sdc = Disclosure(DisclosureRules())
    people = _people()
    sdc.crosstab(people, "institution", "has_ip")
    for institution in "ABC":   # C shows 8 without an IP, as many as A has
        sdc.frequencies(people[people["institution"] == institution], "has_ip")
    _attack_log(sdc)


def test_secondary_suppression_withstands_an_attacker_who_reads_the_marks():
    """4 + 30 and 1 + 6 hidden in rows of 34 and 7, columns of 31 and 10: the 4 is
    3 + the 1, and both are at most 4, so the 1 is 1 and the 4 is 4."""
    counts = np.array([[30, 0, 4, 8], [1, 5, 6, 12]])
    primary = (counts >= 1) & (counts <= 4)
    mask = primary | secondary_suppression(counts, primary, min_cell=5)
    assert audit(counts, mask, min_cell=5) == []
    cells, relations = _grid(counts, mask)
    assert not attack_with_truth(cells, relations, _truth(counts))["exposed"].any()


def test_the_audit_finds_a_cell_pinned_only_by_what_a_dot_cannot_be():
    """1 + 5 | 10 + 10 all hidden: the linear programs leave the 1 anywhere in 1 … 4, but the
    5 beside it is a · (0 or ≥ 5) in a row of 6, so it is 5 and the 1 is 1 — and the whole
    table follows. Without min_cell the reader knows no marks and pins nothing."""
    counts = np.array([[1, 5], [10, 10]])
    everything = np.ones_like(counts, dtype=bool)
    assert sorted(audit(counts, everything, min_cell=5)) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert audit(counts, everything) == []
    lp = cell_bounds(counts, everything, min_cell=5, gaps=False)[0]
    assert lp == (1.0, 4.0)                      # the linear programs alone see nothing
    exact = cell_bounds(counts, everything, min_cell=5)
    assert exact[0] == (1.0, 1.0) and exact[1] == (5.0, 5.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(0, 12), min_size=3, max_size=3), min_size=2, max_size=3))
def test_the_fast_audit_agrees_with_the_exact_bounds(rows):
    """The audit's witness search (one feasible table frees every cell it changes) pins the
    same cells as bounding each cell with two integer programs."""
    counts = np.array(rows)
    primary = (counts >= 1) & (counts <= 4)
    mask = primary | secondary_suppression(counts, primary)      # patterns blind to the gap
    exact = cell_bounds(counts, mask, min_cell=5)
    cells = list(zip(*np.nonzero(mask)))
    pinned = sorted(c for c, (lo, hi) in zip(cells, exact)
                    if math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) < 1 and counts[c] > 0
                    or hi - lo < 0.5 and counts[c] > 0)
    assert sorted(c for c in audit(counts, mask, min_cell=5) if counts[c] > 0) == pinned


# --------------------------------------------------------------------------- the LP itself

def test_whole_numbers_narrow_what_the_relaxation_leaves():
    """n = 4 + b (b of 1 … 3) and c = 0.333 of n: only n = 6 gives c a whole value, which the
    relaxation cannot see (n ∈ [5, 7])."""
    cells = [{"id": "a", "shown": 4}, {"id": "b", "mark": "<4"}, {"id": "n", "mark": "·"},
             {"id": "c", "mark": "<4"}]
    relations = [{"total": "n", "parts": ["a", "b"]},
                 {"count": "c", "of": "n", "low": 0.3325, "high": 0.3335}]
    relaxed = attack(cells, relations, min_cell=4, integer=False)
    assert _row(relaxed, "n")["values"] == 3 and not _row(relaxed, "n")["exposed"]
    whole = attack_with_truth(cells, relations, {"a": 4, "b": 2, "n": 6, "c": 2}, min_cell=4)
    assert (_row(whole, "n")["low"], _row(whole, "n")["high"]) == (6.0, 6.0)
    assert _row(whole, "n")["method"] == "milp" and whole["exposed"].all()


def test_cells_in_no_relation_keep_the_bounds_of_their_mark():
    result = attack([{"id": "x", "mark": "<5"}, {"id": "y", "mark": "·"}], [])
    assert result[["low", "high"]].to_numpy().tolist() == [[1.0, 4.0], [0.0, math.inf]]
    assert list(result["method"]) == ["bounds", "bounds"] and not result["exposed"].any()
    # with a threshold of 2, "<2" can only be 1
    assert attack([{"id": "x", "mark": "<2"}], [], min_cell=2)["exposed"].all()


def test_a_remainder_makes_a_total_an_upper_bound():
    cells = [{"id": "t", "shown": 20}, {"id": "a", "shown": 16}, {"id": "b", "mark": "<5"}]
    exact = attack(cells, [{"total": "t", "parts": ["a", "b"], "remainder": False}])
    loose = attack(cells, [{"total": "t", "parts": ["a", "b"], "remainder": True}])
    assert _row(exact, "b")["exposed"] and not _row(loose, "b")["exposed"]
    assert (_row(loose, "b")["low"], _row(loose, "b")["high"]) == (1.0, 4.0)


def test_relations_that_cannot_hold_are_named():
    cells = [{"id": "t", "shown": 20}, {"id": "a", "shown": 12}, {"id": "b", "shown": 9},
             {"id": "c", "mark": "<5"}, {"id": "d", "shown": 4}, {"id": "t2", "shown": 10},
             {"id": "e", "shown": 7}]
    ok = {"total": "t", "parts": ["a", "d", "c"]}                    # c = 4
    assert _row(attack(cells, [ok]), "c")["low"] == 4
    with pytest.raises(ValueError, match=r"relation 1 \(t \(20\) = a \(12\) \+ b \(9\) \+ c "
                                         r"\(<5\)\).*cannot hold"):
        attack(cells, [ok, {"total": "t", "parts": ["a", "b", "c"]}])   # c = −1
    with pytest.raises(ValueError, match=r"relation 1 .* together with relations \[0\]"):
        attack(cells, [ok, {"total": "t2", "parts": ["c", "e"]}])      # c = 3
    with pytest.raises(ValueError, match="relation 0 .* does not hold for the shown values"):
        attack(cells, [{"total": "t", "parts": ["a", "b"]}])
    with pytest.raises(ValueError, match="names 'zz', which is not among the cells"):
        attack(cells, [{"total": "t", "parts": ["a", "zz"]}])
    with pytest.raises(ValueError, match="no whole number fits 'c'"):     # 3.1 … 3.2 of 10
        attack([{"id": "n", "shown": 10}, {"id": "c", "mark": "·"}],
               [{"count": "c", "of": "n", "low": 0.31, "high": 0.32}])
    with pytest.raises(ValueError, match="given twice"):
        attack(cells + [{"id": "t", "shown": 20}], [])


def test_relations_from_tables_refuses_conflicting_counts():
    one = pd.DataFrame({"n": ["12"]}, index=pd.Index(["a"], name="level"))
    two = pd.DataFrame({"n": ["13"]}, index=pd.Index(["a"], name="level"))
    with pytest.raises(ValueError, match=r"shown as \[12.0, 13.0\]"):
        relations_from_tables([CountTable(one, "p", name="x"), CountTable(two, "p", name="y")])
    with pytest.raises(ValueError, match="where a count was expected"):
        relations_from_tables([CountTable(one.replace("12", "twelve"), "p")])


def test_a_synthetic_report_of_3000_cells_is_attacked_component_by_component():
    """150 tables of 4 × 4 counts with their row and column totals (3600 cells), each with a
    2 × 2 block hidden around a <5: 150 small components, solved without a linear program
    (a fraction of a second; two programs per cell took seconds)."""
    rng = np.random.default_rng(7)
    cells, relations, truth = [], [], {}
    for t in range(150):
        counts = rng.integers(5, 40, size=(4, 4))
        counts[0, 0] = rng.integers(1, 5)
        mask = np.zeros((4, 4), dtype=bool)
        mask[:2, :2] = True
        c, r = _grid(counts, mask, prefix=f"t{t}.")
        cells += c
        relations += r
        truth.update(_truth(counts, prefix=f"t{t}."))
    result = attack_with_truth(cells, relations, truth).set_index("cell")
    assert len(result) == 600
    # By hand: one degree of freedom t = r0c0 per block; a <5 holds 1 … 4, a · 0 or ≥ 5.
    pinned = 0
    for t in range(150):
        counts = np.array([[truth[f"t{t}.r{i}c{j}"] for j in range(2)] for i in range(2)])
        s0, s1, k0 = counts[0].sum(), counts[1].sum(), counts[:, 0].sum()
        fits = [v for v in range(200) if 1 <= v <= 4
                and all(x == 0 or x >= 5 for x in (s0 - v, k0 - v, s1 - k0 + v))
                and min(s0 - v, k0 - v, s1 - k0 + v) >= 0]
        assert fits and counts[0, 0] in fits
        got = result.loc[f"t{t}.r0c0"]
        assert (got["low"], got["high"]) == (min(fits), max(fits))
        assert got["exposed"] == (len(fits) == 1)
        pinned += len(fits) == 1
    assert pinned      # protectors of 5 to 39 around a <5 do not always protect it


# --------------------------------------------------------------------------- properties

def _grid(counts, mask, *, prefix=""):
    """Cells and relations of a table with its row and column totals shown."""
    counts = np.asarray(counts)
    cells, relations = [], []
    for i, j in np.ndindex(counts.shape):
        v = int(counts[i, j])
        hidden = bool(mask[i, j])
        cells.append({"id": f"{prefix}r{i}c{j}", "shown": None if hidden else v,
                      "mark": ("<5" if 1 <= v <= 4 else "·") if hidden else None})
    for i in range(counts.shape[0]):
        cells.append({"id": f"{prefix}R{i}", "shown": int(counts[i].sum()), "mark": None})
        relations.append({"total": f"{prefix}R{i}",
                          "parts": [f"{prefix}r{i}c{j}" for j in range(counts.shape[1])]})
    for j in range(counts.shape[1]):
        cells.append({"id": f"{prefix}C{j}", "shown": int(counts[:, j].sum()), "mark": None})
        relations.append({"total": f"{prefix}C{j}",
                          "parts": [f"{prefix}r{i}c{j}" for i in range(counts.shape[0])]})
    return cells, relations


def _truth(counts, prefix=""):
    return {f"{prefix}r{i}c{j}": int(counts[i, j]) for i, j in np.ndindex(np.shape(counts))}


@st.composite
def tables(draw, *, small=True):
    rows, cols = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    value = st.integers(0, 4) | st.integers(5, 40) if small else st.integers(0, 3000)
    counts = np.array(draw(st.lists(value, min_size=rows * cols, max_size=rows * cols)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols)))
    return counts.reshape(rows, cols), mask.reshape(rows, cols)


@settings(max_examples=60, deadline=None)
@given(tables())
def test_true_values_lie_inside_and_a_lone_hidden_cell_is_exposed(table):
    counts, mask = table
    cells, relations = _grid(counts, mask)
    result = attack_with_truth(cells, relations, _truth(counts))
    assert len(result) == mask.sum()
    for line_mask, line_cells in [(mask[i], [(i, j) for j in range(mask.shape[1])])
                                  for i in range(mask.shape[0])] + \
                                 [(mask[:, j], [(i, j) for i in range(mask.shape[0])])
                                  for j in range(mask.shape[1])]:
        if line_mask.sum() == 1:
            i, j = next(c for c, m in zip(line_cells, line_mask) if m)
            hit = _row(result, f"r{i}c{j}")
            assert hit["low"] == hit["high"] == counts[i, j]
            assert hit["exposed"] == (counts[i, j] > 0)      # a worked-out 0 names nobody


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 3), st.integers(2, 3), st.data())
def test_the_attacker_finds_exactly_what_trying_every_table_finds(n_rows, n_cols, data):
    """Every table of whole numbers with the shown cells and margins, <5 cells of 1 … 4 and
    · cells of 0 or ≥ 5, tried one by one: the attacker's intervals are theirs."""
    counts = np.array(data.draw(st.lists(st.integers(0, 9), min_size=n_rows * n_cols,
                                         max_size=n_rows * n_cols))).reshape(n_rows, n_cols)
    flat = data.draw(st.lists(st.booleans(), min_size=n_rows * n_cols,
                              max_size=n_rows * n_cols))
    mask = np.array(flat).reshape(n_rows, n_cols)
    if not 1 <= mask.sum() <= 4:
        return
    cells, relations = _grid(counts, mask)
    result = attack_with_truth(cells, relations, _truth(counts)).set_index("cell")
    hidden = list(zip(*np.nonzero(mask)))
    grids = np.meshgrid(*[np.arange(0, 28)] * len(hidden), indexing="ij")
    values = {cell: g.ravel() for cell, g in zip(hidden, grids)}
    ok = np.ones(grids[0].size, dtype=bool)
    for cell, v in values.items():
        small = 1 <= counts[cell] <= 4
        ok &= ((v >= 1) & (v <= 4)) if small else ((v == 0) | (v >= 5))
    for axis in (0, 1):
        for line in range(counts.shape[axis]):
            on = [c for c in hidden if c[axis] == line]
            if on:
                total = sum(values[c] for c in on)
                ok &= total == sum(counts[c] for c in on)
    for cell in hidden:
        fits = values[cell][ok]
        got = result.loc[f"r{cell[0]}c{cell[1]}"]
        assert (got["low"], got["high"]) == (fits.min(), fits.max()), cell


@settings(max_examples=40, deadline=None)
@given(tables())
def test_the_attacker_agrees_with_the_single_table_audit(table):
    counts, mask = table
    if not mask.any():
        return
    cells, relations = _grid(counts, mask)
    marked = attack(cells, relations).set_index("cell")
    for c in cells:                 # without min_cell cell_bounds knows no marks: cells ≥ 0
        c["mark"] = None
    result = attack(cells, relations, integer=False).set_index("cell")
    expected = cell_bounds(counts, mask)
    hidden = list(zip(*np.nonzero(mask)))
    got = [tuple(result.loc[f"r{i}c{j}", ["low", "high"]]) for i, j in hidden]
    assert np.allclose(got, expected, atol=1e-6)
    # With min_cell both know a <5 is 1 … 4 and a · is 0 or ≥ 5: the audit's intervals hold
    # the truth and the attacker's (whole numbers, more programs) lie inside them.
    for (i, j), (low, high) in zip(hidden, cell_bounds(counts, mask, min_cell=5)):
        assert low - 1e-6 <= counts[i, j] <= high + 1e-6
        a, b = marked.loc[f"r{i}c{j}", ["low", "high"]]
        assert low - 1e-6 <= a and b <= high + 1e-6


@settings(max_examples=40, deadline=None)
@given(tables(), st.lists(st.booleans(), min_size=8, max_size=8),
       st.lists(st.tuples(st.integers(0, 15), st.sampled_from([1, 2, 3])), max_size=3))
def test_the_shortcuts_give_what_the_linear_programs_give(table, remainders, shares):
    """The null space and the one-dimensional case (and dense matrices) agree with plain
    sparse linear programs, with remainders and share bounds in the mix."""
    counts, mask = table
    cells, relations = _grid(counts, mask)
    for rel, rest in zip(relations, remainders):
        if rest:            # a total that also counts people in no shown cell
            rel["remainder"] = True
            total = next(c for c in cells if c["id"] == rel["total"])
            total["shown"] += 3
    flat = counts.ravel()
    for k, decimals in shares:
        k = k % flat.size
        i, j = divmod(k, counts.shape[1])
        row_total = next(c["shown"] for c in cells if c["id"] == f"R{i}")
        if row_total:
            share = round(flat[k] / row_total, decimals)
            half = 0.5 * 10.0 ** -decimals
            relations.append({"count": f"r{i}c{j}", "of": f"R{i}",
                              "low": max(0, share - half), "high": min(1, share + half)})
    truth = _truth(counts)
    fast = attack_with_truth(cells, relations, truth)
    saved = attacker.ALGEBRA, attacker.DENSE
    try:
        attacker.ALGEBRA = attacker.DENSE = 0
        slow = attack_with_truth(cells, relations, truth)
    finally:
        attacker.ALGEBRA, attacker.DENSE = saved
    assert np.allclose(fast[["low", "high"]].to_numpy(), slow[["low", "high"]].to_numpy())
    assert fast["exposed"].tolist() == slow["exposed"].tolist()


def _text(v: int) -> str:
    return f"{v:,}".replace(",", "\u00a0")        # 1 234, as a Norwegian table writes it


@settings(max_examples=30, deadline=None)
@given(tables(small=False), st.sampled_from(["Total", "Totalt", "Sum", "I alt"]))
def test_tables_read_from_text_keep_the_truth_inside(table, label):
    counts, mask = table
    rows = [f"r{i}" for i in range(counts.shape[0])]
    cols = [f"c{j}" for j in range(counts.shape[1])]
    shown = {r: {c: ("<5" if 1 <= counts[i, j] <= 4 else "·") if mask[i, j] else _text(counts[i, j])
                 for j, c in enumerate(cols)} | {label: _text(counts[i].sum())}
             for i, r in enumerate(rows)}
    shown[label] = {c: _text(counts[:, j].sum()) for j, c in enumerate(cols)} | \
        {label: _text(counts.sum())}
    frame = _count_table(shown, rows_name="row", cols_name="col")
    truth = {cell_id("p", "n", {"row": r, "col": c}): counts[i, j]
             for i, r in enumerate(rows) for j, c in enumerate(cols)}
    result = attack_with_truth(*relations_from_tables([CountTable(frame, "p")]), truth)
    assert len(result) == mask.sum()


def test_whole_values():
    assert whole_values(1, 4) == 4 and whole_values(2.9999999, 3.0000001) == 1
    assert whole_values(0.2, 0.8) == 0 and whole_values(0, math.inf) == math.inf


def test_a_cell_worked_out_to_be_zero_is_not_exposed():
    """A hidden count under an n of 0 (the joint display of a small institution) is 0, which
    names nobody: reported with its interval, not as exposed. A pinned 3 is."""
    cells = [{"id": "n", "shown": 0}, {"id": "k", "mark": "·"},
             {"id": "m", "shown": 3}, {"id": "j", "mark": "<5"}]
    rel = [{"total": "n", "parts": ["k"]}, {"total": "m", "parts": ["j"]}]
    result = attack(cells, rel).set_index("cell")
    assert (result.loc["k", "low"], result.loc["k", "high"]) == (0.0, 0.0)
    assert not result.loc["k", "exposed"] and result.loc["j", "exposed"]
