"""Instrument definitions (``instruments/*.yaml``) and the scoring engine, checked by hand.

Every expected score below is worked out by hand in a comment next to it, so a reader can check
the arithmetic without running the engine. Tests marked ``xfail(strict=True, reason="ENGINE: ...")``
describe gaps in ``evaluation/instruments`` that the definitions cannot work around; each reason
says what should change.
"""
from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.errors import ParameterError
from evaluation.instruments import available_instruments, load_instrument, score_instrument
from evaluation.instruments.definition import CERTAINTIES

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_STUDY = ROOT / "data_synthetic"
SHIPPED = {"ors", "srs", "inspire", "inspire_brief", "brukerplan", "life_chaos", "gas", "gbo",
           "ip_questionnaire_resident", "ip_questionnaire_staff"}
NAN = float("nan")

SUP = [f"inspire_sup_{i:02d}" for i in range(1, 21)]
IMP = [f"inspire_imp_{i:02d}" for i in range(1, 21)]
REL = [f"inspire_rel_{i}" for i in range(1, 8)]
BRIEF = [f"inspire_brief_{i}" for i in range(1, 6)]
DOMAINS = ["bp_substance_use", "bp_economy", "bp_mental_health", "bp_physical_health",
           "bp_housing", "bp_social", "bp_network", "bp_activity"]
CHAOS = [f"chaos_{i}" for i in range(1, 7)]


def frame(columns, rows):
    return pd.DataFrame([list(r) for r in rows], columns=columns, dtype=float)


def with_cutoff(instrument, name, **changes):
    """A copy of ``instrument`` whose cutoff ``name`` has ``changes`` (the loaded definition is
    cached and shared, so it is never modified in place)."""
    cutoffs = dict(instrument.cutoffs)
    cutoffs[name] = dataclasses.replace(cutoffs[name], **changes)
    return dataclasses.replace(instrument, cutoffs=cutoffs)


def flags(series):
    """A boolean flag column as a list with None for <NA>."""
    return [None if pd.isna(v) else bool(v) for v in series]


# -- every definition loads, and every number says where it came from ------------------------------

def test_all_shipped_definitions_are_available_and_load():
    assert SHIPPED <= set(available_instruments())
    for name in SHIPPED:
        instrument = load_instrument(name)
        assert instrument.name == name
        assert instrument.scores, f"{name} defines no score"


def _sourced(where, source, certainty):
    assert source, f"{where}: number without `source:`"
    assert certainty in CERTAINTIES, f"{where}: certainty {certainty!r} not in {sorted(CERTAINTIES)}"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_number_has_source_and_certainty(name):
    instrument = load_instrument(name)
    for item in instrument.items.values():
        if item.min is not None or item.max is not None:
            _sourced(f"{name}, item {item.key}", item.source, item.certainty)
    for score in instrument.scores.values():
        _sourced(f"{name}, score {score.name}", score.source, score.certainty)
    for cutoff in instrument.cutoffs.values():
        _sourced(f"{name}, cutoff {cutoff.name}", cutoff.source, cutoff.certainty)
    for score_name, rc in instrument.reliable_change.items():
        assert "value" in rc
        _sourced(f"{name}, reliable_change {score_name}", rc.get("source"), rc.get("certainty"))
    if instrument.levels:
        _sourced(f"{name}, levels", instrument.levels.get("source"), instrument.levels.get("certainty"))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_definitions_ship_no_item_wording(name):
    """Labels are short neutral keys, never a sentence from a (copyrighted) form."""
    for item in load_instrument(name).items.values():
        assert "?" not in item.label and len(item.label) < 80, (name, item.key, item.label)


# -- ORS -----------------------------------------------------------------------------------------

ORS = ["ors_1", "ors_2", "ors_3", "ors_4"]


def test_ors_total_and_clinical_flag_by_hand():
    ors = load_instrument("ors")
    df = frame(ORS, [
        (5.0, 6.0, 4.0, 5.5),    # 5.0 + 6.0 + 4.0 + 5.5 = 20.5 -> 20.5 < 25: clinical
        (6.0, 6.0, 6.5, 6.5),    # 6.0 + 6.0 + 6.5 + 6.5 = 25.0 exactly -> not < 25
        (10, 10, 10, 10),        # 40.0, the maximum
        (0, 0, 0, 0),            # 0.0, the minimum: clinical
    ])
    out = score_instrument(df, ors)
    assert out["ors_total"].tolist() == [20.5, 25.0, 40.0, 0.0]
    assert out["ors_total_n_items"].tolist() == [4, 4, 4, 4]
    assert flags(out["ors_clinical_range"]) == [True, False, False, True]
    # The children's cutoff (32) is off by default: no flag column at all.
    assert "ors_clinical_range_children" not in out


def test_ors_cutoff_operator_is_configurable():
    ors = load_instrument("ors")
    assert ors.cutoffs["clinical_range"].operator == "<"
    df = frame(ORS, [(6.0, 6.0, 6.5, 6.5), (6.0, 6.0, 6.5, 7.0)])   # totals 25.0 and 25.5
    assert flags(score_instrument(df, ors)["ors_clinical_range"]) == [False, False]
    le = with_cutoff(ors, "clinical_range", operator="<=")
    # 25.0 <= 25 -> True (hiboop's reading); 25.5 <= 25 -> False
    assert flags(score_instrument(df, le)["ors_clinical_range"]) == [True, False]
    assert load_instrument("ors").cutoffs["clinical_range"].operator == "<"   # cache untouched


def test_ors_children_cutoff_when_switched_on():
    ors = with_cutoff(load_instrument("ors"), "clinical_range_children", apply=True)
    df = frame(ORS, [(8.0, 8.0, 8.0, 7.5), (8.0, 8.0, 8.0, 8.0)])   # 31.5 and 32.0
    assert flags(score_instrument(df, ors)["ors_clinical_range_children"]) == [True, False]


def test_ors_three_of_four_items_gives_no_total():
    ors = load_instrument("ors")
    df = frame(ORS, [(5.0, NAN, 4.0, 5.5), (NAN, NAN, NAN, NAN)])
    out = score_instrument(df, ors)
    assert out["ors_total"].isna().all()              # no proration: 3 of 4 is no total
    assert out["ors_total_n_items"].tolist() == [3, 0]
    assert "ors_total_prorated" not in out             # the definition never prorates
    assert flags(out["ors_clinical_range"]) == [None, None]


def test_ors_reliable_change_is_recorded_with_its_grade():
    rc = load_instrument("ors").reliable_change["total"]
    assert rc["value"] == 5 and rc["certainty"] == "secondary"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 100), min_size=4, max_size=4), min_size=1, max_size=20))
def test_ors_property_total_is_sum_and_flag_is_total_below_25(tenths):
    """Random valid ORS answers (0..10, one decimal): total = sum of the items, flag = total < 25."""
    df = pd.DataFrame([[t / 10 for t in row] for row in tenths], columns=ORS)
    out = score_instrument(df, load_instrument("ors"))
    for i, row in enumerate(tenths):
        exact = Fraction(sum(row), 10)
        total = out["ors_total"].iloc[i]
        assert total == pytest.approx(float(exact), abs=1e-9)
        assert bool(out["ors_clinical_range"].iloc[i]) == (total < 25)
        if abs(exact - 25) >= Fraction(1, 20):        # away from the boundary: exact decision
            assert bool(out["ors_clinical_range"].iloc[i]) == (exact < 25)


def test_ors_flag_at_exact_boundary_with_decimal_items():
    df = frame(ORS, [(5.7, 3.4, 9.2, 6.7)])           # 57 + 34 + 92 + 67 = 250 tenths = 25.0
    out = score_instrument(df, load_instrument("ors"))
    assert out["ors_total"].iloc[0] == 25.0
    assert flags(out["ors_clinical_range"]) == [False]


# -- SRS -----------------------------------------------------------------------------------------

SRS = ["srs_1", "srs_2", "srs_3", "srs_4"]


def test_srs_definition():
    srs = load_instrument("srs")
    assert list(srs.items) == SRS
    assert [i.label for i in srs.items.values()] == ["relationship", "goals", "approach", "overall"]
    assert all(i.min == 0 and i.max == 10 and i.decimals == 1 for i in srs.items.values())
    assert srs.scores["total"].range == (0, 40)
    assert srs.cutoffs["alliance_concern"].certainty == "confirmed"
    assert srs.cutoffs["item_concern"].certainty == "secondary"
    assert srs.reliable_change == {}                  # none published


def test_srs_total_and_flags_by_hand():
    srs = load_instrument("srs")
    df = frame(SRS, [
        (10.0, 10.0, 9.5, 8.5),   # 38.0: not < 36; item 8.5 < 9 -> item concern only
        (9.0, 9.0, 9.0, 9.0),     # 36.0: not < 36 (OpenFIT); no item below 9
        (9.0, 9.0, 9.0, 8.5),     # 35.5 < 36 -> alliance concern; 8.5 < 9 -> item concern
        (10, 10, 10, 10),         # 40.0: no concern
    ])
    out = score_instrument(df, srs)
    assert out["srs_total"].tolist() == [38.0, 36.0, 35.5, 40.0]
    assert flags(out["srs_alliance_concern"]) == [False, False, True, False]
    assert flags(out["srs_item_concern"]) == [True, False, True, False]


def test_srs_alliance_boundary_follows_the_operator():
    srs = with_cutoff(load_instrument("srs"), "alliance_concern", operator="<=")
    df = frame(SRS, [(9.0, 9.0, 9.0, 9.0)])          # 36.0 <= 36 -> True (hiboop's reading)
    assert flags(score_instrument(df, srs)["srs_alliance_concern"]) == [True]


def test_srs_three_of_four_items_gives_no_total():
    df = frame(SRS, [(9.5, NAN, 9.0, 10.0), (NAN, NAN, NAN, NAN)])
    out = score_instrument(df, load_instrument("srs"))
    assert out["srs_total"].isna().all()
    assert out["srs_total_n_items"].tolist() == [3, 0]
    assert "srs_total_prorated" not in out
    assert flags(out["srs_alliance_concern"]) == [None, None]
    assert flags(out["srs_item_concern"])[1] is None  # nothing answered: unknown, not False


# -- INSPIRE -------------------------------------------------------------------------------------

def inspire_row(support=None, important=(), relationship=(3,) * 7, fill=0.0):
    """One INSPIRE row: every support item ``fill`` unless ``support`` says otherwise
    ({item number: value}); items in ``important`` flagged 1, the rest 0."""
    row = {}
    for i in range(1, 21):
        row[f"inspire_sup_{i:02d}"] = (support or {}).get(i, fill)
        row[f"inspire_imp_{i:02d}"] = 1.0 if i in important else 0.0
    for i, v in enumerate(relationship, start=1):
        row[f"inspire_rel_{i}"] = v
    return row


def test_inspire_definition():
    inspire = load_instrument("inspire")
    assert [k for k in inspire.items if k.startswith("inspire_sup_")] == SUP
    assert [k for k in inspire.items if k.startswith("inspire_imp_")] == IMP
    assert [k for k in inspire.items if k.startswith("inspire_rel_")] == REL
    assert all(inspire.items[k].type == "binary" for k in IMP)
    assert all(inspire.items[k].min == 0 and inspire.items[k].max == 4 for k in SUP + REL)
    assert all(inspire.items[k].certainty == "unverified" for k in SUP + REL)   # 5-point format ❓
    support = inspire.scores["support"]
    assert support.method == "important_mean" and support.importance == tuple(IMP)
    assert support.rescale == (0, 4) and support.certainty == "unverified"
    assert "10.1007/s00127-014-0983-0" in inspire.reference


def test_inspire_support_uses_only_important_items():
    df = pd.DataFrame([
        # Items 3 and 7 important, answered 4 and 2; the other 18 answered 0 but not important.
        # mean(4, 2) = 3 -> (3 - 0) / (4 - 0) * 100 = 75.0
        inspire_row({3: 4, 7: 2}, important={3, 7}),
        # Nothing marked important -> no support score.
        inspire_row({3: 4, 7: 2}, important=set()),
        # All 20 important, all answered 4 -> mean 4 -> 100.0
        inspire_row(important=set(range(1, 21)), fill=4.0),
        # Items 3 and 7 important, 7 left blank -> mean(4) = 4 -> 100.0 from one item.
        inspire_row({3: 4, 7: NAN}, important={3, 7}),
    ])
    out = score_instrument(df, load_instrument("inspire"))
    assert out["inspire_support"].iloc[0] == 75.0
    assert math.isnan(out["inspire_support"].iloc[1])
    assert out["inspire_support"].iloc[2] == 100.0
    assert out["inspire_support"].iloc[3] == 100.0
    assert out["inspire_support_n_items"].tolist() == [2, 0, 20, 1]


def test_inspire_relationship_rescaled_with_one_item_missing_allowed():
    df = pd.DataFrame([
        inspire_row(relationship=(4, 3, 3, 2, 4, 3, 2)),    # 21 / 7 = 3.0 -> 75.0
        inspire_row(relationship=(4, 3, 3, 2, 4, 3, NAN)),  # 19 / 6 = 3.1667 -> 79.1667
        inspire_row(relationship=(4, 3, 3, 2, 4, NAN, NAN)),  # two missing -> NaN
        inspire_row(relationship=(0,) * 7),                 # 0.0
    ])
    out = score_instrument(df, load_instrument("inspire"))
    rel = out["inspire_relationship"]
    assert rel.iloc[0] == 75.0
    assert rel.iloc[1] == pytest.approx(19 / 6 * 25)        # 79.1666...
    assert math.isnan(rel.iloc[2])
    assert rel.iloc[3] == 0.0
    assert out["inspire_relationship_n_items"].tolist() == [7, 6, 5, 7]
    assert out["inspire_relationship_prorated"].tolist() == [False, True, False, False]


def test_inspire_support_reports_blank_important_items_as_prorated():
    df = pd.DataFrame([inspire_row({3: 4, 7: 2}, important={3, 7}),
                       inspire_row({3: 4, 7: NAN}, important={3, 7})])
    out = score_instrument(df, load_instrument("inspire"))
    assert out["inspire_support_prorated"].tolist() == [False, True]


def test_inspire_without_importance_columns_raises_a_clear_error():
    df = pd.DataFrame([inspire_row({3: 4}, important={3})]).drop(columns=IMP)
    with pytest.raises(ParameterError, match="inspire_imp_01"):
        score_instrument(df, load_instrument("inspire"))


# -- Brief INSPIRE -------------------------------------------------------------------------------

def test_inspire_brief_score_by_hand():
    brief = load_instrument("inspire_brief")
    df = frame(BRIEF, [
        (2, 2, 3, 1, 2),          # 10 / 5 = 2.0 -> 50.0
        (4, 4, 4, 4, NAN),        # 16 / 4 = 4.0 -> 100.0 (one missing allowed)
        (4, 4, 4, NAN, NAN),      # two missing -> NaN
        (1, 2, 2, 2, 0),          # 7 / 5 = 1.4 -> 35.0
    ])
    out = score_instrument(df, brief)
    assert out["inspire_brief_score"].iloc[[0, 1, 3]].tolist() == pytest.approx([50.0, 100.0, 35.0])
    assert math.isnan(out["inspire_brief_score"].iloc[2])
    assert out["inspire_brief_score_n_items"].tolist() == [5, 4, 3, 5]
    assert out["inspire_brief_score_prorated"].tolist() == [False, True, False, False]
    assert "inspire_brief_in_recovery" not in out      # INSPIRE-O cutoff is off by default


def test_inspire_brief_o_cutoff_and_reliable_change():
    brief = load_instrument("inspire_brief")
    cutoff = brief.cutoffs["in_recovery"]
    assert (cutoff.value, cutoff.operator, cutoff.apply) == (50, ">=", False)
    assert "INSPIRE-O" in cutoff.note
    assert brief.reliable_change["score"]["value"] == 8
    on = with_cutoff(brief, "in_recovery", apply=True)
    df = frame(BRIEF, [(2, 2, 3, 1, 2), (2, 2, 2, 1, 2)])   # 50.0 -> True; 9/5*25 = 45.0 -> False
    assert flags(score_instrument(df, on)["inspire_brief_in_recovery"]) == [True, False]


# -- BrukerPlan ----------------------------------------------------------------------------------

def test_brukerplan_definition():
    bp = load_instrument("brukerplan")
    assert [k for k in bp.items if k.startswith("bp_")] == DOMAINS
    assert all(bp.items[d].min == 1 and bp.items[d].max == 5 and bp.items[d].type == "integer"
               for d in DOMAINS)
    assert all(bp.items[d].certainty == "secondary" for d in DOMAINS)   # national scale ❓
    assert bp.items["has_ip"].type == bp.items["has_crisis_plan"].type == "binary"
    assert (bp.items["year"].min, bp.items["year"].max, bp.items["year"].certainty) == (2000, 2100, "project")
    assert bp.items["rop_group"].categories == ("substance_only", "rop", "mental_health_only")
    assert bp.items["rop_group"].min is None                  # no numeric range on a category
    colour = bp.levels["values"]
    assert [colour[v] for v in range(1, 6)] == ["green", "yellow", "yellow", "yellow", "red"]
    assert bp.levels["items"] == DOMAINS
    critical = bp.cutoffs["critical"]
    assert (critical.score, critical.value, critical.operator, critical.certainty) == (
        "red_domains", 3, ">=", "unverified")
    assert "configurable" in critical.note or "change `value`" in critical.note


def test_brukerplan_counts_and_critical_flag_by_hand():
    df = frame(DOMAINS, [
        (5, 5, 5, 1, 3, 2, 4, 1),    # red 3 (three 5s), green 2; mean 26/8 = 3.25; critical
        (5, 5, 2, 2, 3, 1, 4, 4),    # red 2, green 1; mean 26/8 = 3.25; not critical
        (1, 1, 1, 1, 1, 1, 1, 1),    # red 0, green 8; mean 1.0
        (5, 5, 5, 5, 5, 5, 5, NAN),  # a domain not rated: no mean, no counts, flag unknown
    ])
    df["has_ip"] = [1, 0, 1, 0]
    df["has_crisis_plan"] = [0, 0, 1, 1]
    df["year"] = [2015, 2017, 2017, 2017]
    df["rop_group"] = ["rop", "substance_only", "mental_health_only", "rop"]
    out = score_instrument(df, load_instrument("brukerplan"))
    assert out["brukerplan_mean"].iloc[:3].tolist() == [3.25, 3.25, 1.0]
    assert out["brukerplan_red_domains"].iloc[:3].tolist() == [3, 2, 0]
    assert out["brukerplan_green_domains"].iloc[:3].tolist() == [2, 1, 8]
    assert out.iloc[3][["brukerplan_mean", "brukerplan_red_domains",
                        "brukerplan_green_domains"]].isna().all()
    assert out["brukerplan_mean_n_items"].tolist() == [8, 8, 8, 7]
    assert flags(out["brukerplan_critical"]) == [True, False, False, None]


def test_brukerplan_critical_rule_is_configurable():
    bp = with_cutoff(load_instrument("brukerplan"), "critical", value=2)
    df = frame(DOMAINS, [(5, 5, 2, 2, 3, 1, 4, 4)])          # 2 red domains
    df["year"] = 2017
    assert flags(score_instrument(df, bp)["brukerplan_critical"]) == [True]


# -- Life Chaos Scale ----------------------------------------------------------------------------

def test_life_chaos_reverse_keys_and_missing_items():
    chaos = load_instrument("life_chaos")
    assert chaos.reverse == ("chaos_1", "chaos_3")
    df = frame(CHAOS, [
        (5, 1, 5, 1, 1, 1),          # 6-5 = 1, 1, 6-5 = 1, 1, 1, 1 -> mean 1.0
        (1, 4, 2, 3, NAN, 2),        # 6-1 = 5, 4, 6-2 = 4, 3, 2 -> 18 / 5 = 3.6 (one missing)
        (1, 4, 2, NAN, NAN, 2),      # two missing -> NaN
        (1, 5, 1, 5, 5, 5),          # 5, 5, 5, 5, 5, 5 -> 5.0, the most chaos
    ])
    out = score_instrument(df, chaos)
    assert out["daily_chaos"].iloc[0] == 1.0
    assert out["daily_chaos"].iloc[1] == pytest.approx(3.6)
    assert math.isnan(out["daily_chaos"].iloc[2])
    assert out["daily_chaos"].iloc[3] == 5.0
    assert out["daily_chaos_n_items"].tolist() == [6, 5, 4, 6]
    assert out["daily_chaos_prorated"].tolist() == [False, True, False, False]
    assert df["chaos_1"].tolist()[:2] == [5, 1]               # the data itself is not changed


# -- GAS -----------------------------------------------------------------------------------------

def gas_tscore(x, w=None, rho=0.3):
    """Kiresuk-Sherman by hand, for the comments' numbers."""
    w = w or [1] * len(x)
    return 50 + 10 * sum(a * b for a, b in zip(w, x)) / math.sqrt(
        (1 - rho) * sum(v * v for v in w) + rho * sum(w) ** 2)


def test_gas_tscore_by_hand():
    gas = load_instrument("gas")
    df = frame(["gas_1", "gas_2", "gas_3"], [
        (1, 0, -1),        # sum 0 -> 50.0
        (2, 2, NAN),       # 50 + 10*4 / sqrt(0.7*2 + 0.3*4) = 50 + 40/sqrt(2.6) = 74.8069
        (NAN, NAN, NAN),   # no goals -> NaN
        (0, NAN, NAN),     # one goal at the expected level -> 50.0
        (-2, -2, -2),      # 50 - 60/sqrt(0.7*3 + 0.3*9) = 50 - 60/sqrt(4.8) = 22.6139
    ])
    out = score_instrument(df, gas)
    t = out["gas_tscore"]
    assert t.iloc[0] == pytest.approx(50.0)
    assert t.iloc[1] == pytest.approx(50 + 40 / math.sqrt(0.7 * 2 + 0.3 * 4))
    assert round(t.iloc[1], 2) == 74.81
    assert math.isnan(t.iloc[2])
    assert t.iloc[3] == pytest.approx(50.0)
    assert t.iloc[4] == pytest.approx(50 - 60 / math.sqrt(4.8))
    assert round(t.iloc[4], 2) == 22.61
    assert out["gas_tscore_n_items"].tolist() == [3, 2, 0, 1, 3]
    assert t.iloc[1] == pytest.approx(gas_tscore([2, 2]))


def test_gas_tscore_weights_by_hand():
    gas = load_instrument("gas")
    df = frame(["gas_1", "gas_2", "gas_w1", "gas_w2"], [
        # w = (2, 1), x = (+1, -1): 50 + 10*(2 - 1) / sqrt(0.7*(4 + 1) + 0.3*(2 + 1)^2)
        #                          = 50 + 10 / sqrt(3.5 + 2.7) = 50 + 10/sqrt(6.2) = 54.0161
        (1, -1, 2, 1),
        # w = (1, 1), x = (+1, -1): 50
        (1, -1, 1, 1),
    ])
    out = score_instrument(df, gas)
    assert out["gas_tscore"].iloc[0] == pytest.approx(50 + 10 * (2 - 1) / math.sqrt(0.7 * 5 + 0.3 * 9))
    assert round(out["gas_tscore"].iloc[0], 4) == 54.0161
    assert out["gas_tscore"].iloc[1] == pytest.approx(50.0)


def test_gas_all_weights_zero_means_equal_weights():
    gas = load_instrument("gas")
    # Every weight column present and 0 -> weights reset to 1 (gasr calc_tscore):
    # x = (+1, 0): 50 + 10 / sqrt(0.7*2 + 0.3*4) = 50 + 10/sqrt(2.6) = 56.2017
    df = frame(["gas_1", "gas_2", "gas_w1", "gas_w2", "gas_w3", "gas_w4"], [(1, 0, 0, 0, 0, 0)])
    t = score_instrument(df, gas)["gas_tscore"].iloc[0]
    assert t == pytest.approx(50 + 10 / math.sqrt(2.6))
    assert round(t, 4) == 56.2017


def test_gas_all_weights_zero_with_only_the_used_weight_columns():
    # Weight columns only for the goals used, both 0: unscored goals are dropped before the
    # all-zero test (gasr calc_tscore), so equal weights again -> 56.2017.
    df = frame(["gas_1", "gas_2", "gas_w1", "gas_w2"], [(1, 0, 0, 0)])
    t = score_instrument(df, load_instrument("gas"))["gas_tscore"].iloc[0]
    assert t == pytest.approx(50 + 10 / math.sqrt(2.6))


# -- GBO -----------------------------------------------------------------------------------------

def test_gbo_mean_of_answered_goals():
    gbo = load_instrument("gbo")
    assert gbo.reliable_change == {}                  # no sourced value: left out on purpose
    df = frame(["gbo_1", "gbo_2", "gbo_3"], [
        (8, NAN, 4),       # (8 + 4) / 2 = 6.0
        (3, 5, 10),        # 18 / 3 = 6.0
        (7, NAN, NAN),     # 7.0 from one goal
        (NAN, NAN, NAN),   # no goals -> NaN
    ])
    out = score_instrument(df, gbo)
    assert out["gbo_mean"].iloc[:3].tolist() == [6.0, 6.0, 7.0]
    assert math.isnan(out["gbo_mean"].iloc[3])
    assert out["gbo_mean_n_items"].tolist() == [2, 3, 1, 0]


def test_gbo_goal_columns_may_be_absent():
    df = pd.DataFrame({"gbo_1": [2.0, 9.0]})          # a study that only ever set one goal
    out = score_instrument(df, load_instrument("gbo"))
    assert out["gbo_mean"].tolist() == [2.0, 9.0]


# -- ipeval's questionnaires ---------------------------------------------------------------------

def test_resident_questionnaire_scores_chaos_and_gas_together():
    resident = load_instrument("ip_questionnaire_resident")
    assert {"daily_chaos", "tscore"} <= set(resident.scores)
    df = frame(["has_ip", "goals_set", *CHAOS, "gas_1", "gas_2", "gas_3"], [
        # chaos: 6-2, 4, 6-2, 4, 3, 2 = 4, 4, 4, 4, 3, 2 -> 21 / 6 = 3.5; GAS (-1, -1, 0):
        # 50 - 20 / sqrt(0.7*3 + 0.3*9) = 50 - 20/sqrt(4.8) = 40.8713
        (1, 5, 2, 4, 2, 4, 3, 2, -1, -1, 0),
        # chaos: 6-3, 2, 6-3, 3, 1, 3 = 3, 2, 3, 3, 1, 3 -> 15 / 6 = 2.5; GAS (+1, 0): 56.2017
        (0, 2, 3, 2, 3, 3, 1, 3, 1, 0, NAN),
    ])
    out = score_instrument(df, resident)
    assert out["daily_chaos"].tolist() == pytest.approx([3.5, 2.5])
    assert out["gas_tscore"].tolist() == pytest.approx([50 - 20 / math.sqrt(4.8),
                                                        50 + 10 / math.sqrt(2.6)])
    assert out["gas_tscore_n_items"].tolist() == [3, 2]


def test_staff_climate_mean_and_checkbox_columns():
    staff = load_instrument("ip_questionnaire_staff")
    supports = staff.items["ip_supports"]
    assert supports.columns == ["ip_supports_housing", "ip_supports_work", "ip_supports_health",
                                "ip_supports_network", "ip_supports_economy"]
    assert set(supports.columns) <= set(staff.item_columns)
    df = frame(["ip_usefulness", "leadership_drive", "ip_eases_work"], [
        (5, 4, 3),         # 12 / 3 = 4.0
        (4, NAN, 2),       # one missing: 6 / 2 = 3.0, prorated
        (NAN, NAN, 2),     # two missing -> NaN
    ])
    df["ip_supports_housing"] = [1, 0, 1]
    out = score_instrument(df, staff)
    col = "ip_questionnaire_staff_climate"
    assert out[col].iloc[:2].tolist() == [4.0, 3.0]
    assert math.isnan(out[col].iloc[2])
    assert out[f"{col}_n_items"].tolist() == [3, 2, 1]
    assert out[f"{col}_prorated"].tolist() == [False, True, False]


def test_response_defaults_do_not_give_ranges_to_binary_or_category_items():
    """`response:` (1-5) gives no range to ip_questionnaire_staff's 0/1 and category items."""
    staff = load_instrument("ip_questionnaire_staff")
    assert staff.items["trained_in_ip"].min is None and staff.items["trained_in_ip"].max is None
    assert staff.items["role"].min is None


# -- the shipped synthetic study scores --------------------------------------------------------

@pytest.fixture(scope="module")
def shipped_study():
    from evaluation import Study
    return Study.load(SHIPPED_STUDY)


@pytest.mark.parametrize("source, instrument, ranges", [
    ("residents", "ip_questionnaire_resident", {"gas_tscore": (0, 100)}),
    ("fit", "ors", {"ors_total": (0, 40)}),
    ("fit", "srs", {"srs_total": (0, 40)}),
    ("inspire", "inspire", {"inspire_support": (0, 100), "inspire_relationship": (0, 100)}),
    ("inspire_brief", "inspire_brief", {"inspire_brief_score": (0, 100)}),
    ("brukerplan", "brukerplan", {"brukerplan_mean": (1, 5), "brukerplan_red_domains": (0, 8),
                                  "brukerplan_green_domains": (0, 8)}),
    ("staff", "ip_questionnaire_staff", {"ip_questionnaire_staff_climate": (1, 5)}),
])
def test_shipped_synthetic_study_scores(shipped_study, source, instrument, ranges):
    table = shipped_study.table(source)
    out = score_instrument(table, load_instrument(instrument))
    assert out.index.equals(table.index)
    for column, (lo, hi) in ranges.items():
        values = out[column].dropna()
        assert len(values) > 0.8 * len(table), f"{column}: too few scores"
        assert values.between(lo, hi).all(), f"{column} outside [{lo}, {hi}]"


def test_shipped_fit_totals_are_item_sums(shipped_study):
    fit = shipped_study.table("fit")
    out = score_instrument(fit, load_instrument("ors"))
    complete = fit[ORS].notna().all(axis=1)
    assert np.allclose(out.loc[complete, "ors_total"], fit.loc[complete, ORS].sum(axis=1))
    assert out.loc[~complete, "ors_total"].isna().all()


def test_shipped_daily_chaos_follows_the_ground_truth_rule(shipped_study):
    truth = json.loads((SHIPPED_STUDY / "ground_truth.json").read_text(encoding="utf-8"))
    rule = truth["effects"]["daily_chaos"]
    assert sorted(rule["reversed_items"]) == ["chaos_1", "chaos_3"]
    residents = shipped_study.table("residents")
    out = score_instrument(residents, load_instrument("ip_questionnaire_resident"))
    items = residents[CHAOS].astype(float)
    valid = items.notna().all(axis=1) & items.isin([1, 2, 3, 4, 5]).all(axis=1)
    assert valid.sum() > 500
    keyed = items.copy()
    for col in rule["reversed_items"]:
        keyed[col] = 6 - keyed[col]                   # "6 − x" (score_rule)
    expected = keyed.loc[valid].mean(axis=1)
    assert np.allclose(out.loc[valid, "daily_chaos"], expected)


def test_shipped_study_quarantines_exactly_the_planted_out_of_range_values(shipped_study):
    """The definitions' ranges and types flag every planted impossible value and nothing else
    (no false alarms on importance flags, years, ROP groups or 0/1 plan items)."""
    truth = json.loads((SHIPPED_STUDY / "ground_truth.json").read_text(encoding="utf-8"))
    sources = ["residents", "fit", "inspire", "inspire_brief", "brukerplan", "staff"]
    for source in sources:
        shipped_study.table(source)
    quarantine = shipped_study.quarantine()
    for source in sources:
        item_columns = {c for inst in shipped_study.instruments(source) for c in inst.item_columns}
        q = quarantine[(quarantine["source"] == source) & quarantine["column"].isin(item_columns)]
        found = set(zip(q["row"].astype(int), q["column"]))
        planted = {(p["row"], p["column"]) for p in truth["planted_problems"]
                   if p["source"] == source and p["problem"] == "out_of_range"}
        assert found == planted, source
