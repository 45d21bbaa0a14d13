"""FIT feedback: ORS change categories, SRS alliance alerts, session problems, total-only rows.

Expected numbers are worked by hand in the comments beside them.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from evaluation import Study
from evaluation.errors import ManifestError, ParameterError
from evaluation.feedback.alliance import (alliance_flags, alliance_over_time,
                                          early_alliance_and_outcome)
from evaluation.feedback.change import (ALL_CATEGORIES, category_shares, episode_change,
                                        reliable_change_index)
from evaluation.feedback.problems import problem_summary, session_problems
from evaluation.instruments import load_instrument
from evaluation.instruments.definition import parse_instrument, read_definition
from evaluation.intake.totals import impute_from_total

SHIPPED = "data_synthetic/study.yaml"


def _sessions(episodes: dict) -> pd.DataFrame:
    """{person: [ORS total or None per session]} -> a session table (episode 1)."""
    rows = [{"person_id": p, "episode": 1, "session": i + 1, "ors_total": v}
            for p, values in episodes.items() for i, v in enumerate(values)]
    return pd.DataFrame(rows).astype({"ors_total": float})


# --------------------------------------------------------------------------------------------
# change.py
# --------------------------------------------------------------------------------------------

def test_categories_by_hand():
    s = _sessions({"rec": [18, 22, 26],      # +8 ≥ 5, 18 < 25 → 26 ≥ 25: recovered
                   "imp": [28, 34],          # +6, 28 not clinical at intake: reliably improved
                   "none": [20, 23],         # +3 < 5: no reliable change
                   "det": [30, 24],          # −6 ≤ −5: deteriorated
                   "one": [22],              # one ORS: single ORS, change NaN
                   "edge": [18, 23],         # +5 exactly counts ("5 or more"); 23 still < 25
                   "gap": [None, 15, None, 21],   # intake session 2, last 4: +6, still < 25
                   "empty": [None, None]})   # sessions but no ORS at all
    c = episode_change(s).set_index("person_id")
    assert c["category"].to_dict() == {
        "rec": "recovered", "imp": "reliably improved", "none": "no reliable change",
        "det": "deteriorated", "one": "single ORS", "edge": "reliably improved",
        "gap": "reliably improved", "empty": "no ORS"}
    assert c.loc["rec", "change"] == 8 and c.loc["det", "change"] == -6
    assert math.isnan(c.loc["one", "change"]) and c.loc["one", "ors_sessions"] == 1
    gap = ["sessions_attended", "ors_sessions", "intake_session", "last_ors_session",
           "intake_ors", "last_ors"]
    assert c.loc["gap", gap].tolist() == [4, 2, 2, 4, 15, 21]
    assert c.loc["rec", "crossed_cutoff"] and not c.loc["imp", "clinical_at_intake"]
    assert pd.isna(c.loc["one", "reliable_improvement"])
    assert c.attrs["reliable_change"]["value"] == 5.0


def test_operator_at_exactly_25():
    s = _sessions({"to25": [20, 25],         # +5; last 25: '<' not clinical, '<=' clinical
                   "from25": [25, 31]})      # +6; intake 25: '<' not clinical, '<=' clinical
    lt = episode_change(s, operator="<").set_index("person_id")["category"]
    le = episode_change(s, operator="<=").set_index("person_id")["category"]
    assert lt.to_dict() == {"to25": "recovered", "from25": "reliably improved"}
    assert le.to_dict() == {"to25": "reliably improved", "from25": "recovered"}


def test_dropout_from_end_reason_only():
    s = _sessions({"a": [18, 26], "b": [20, 21], "c": [20, 22]})
    eps = pd.DataFrame({"person_id": ["a", "b"], "episode": 1,
                        "end_reason": ["dropout", "planned_end"],
                        "sessions_planned": [2, 20]})      # b ended 18 sessions early: not dropout
    c = episode_change(s, eps).set_index("person_id")
    assert c.loc["a", "dropout"] is True and c.loc["b", "dropout"] is False
    assert pd.isna(c.loc["c", "dropout"])                   # not in the episodes table
    assert episode_change(s)["dropout"].isna().all()        # no episodes table


def test_reliable_change_index_by_hand():
    # 1.96 · 7 · sqrt(2 · (1 − 0.9)) = 13.72 · 0.4472136 = 6.13577
    assert reliable_change_index(7.0, 0.90) == pytest.approx(6.13577, abs=1e-5)
    with pytest.raises(ParameterError, match="reliability"):
        reliable_change_index(7.0, 1.0)


def test_jacobson_truax_with_the_datas_own_alpha():
    # Intake items of four episodes (totals 10, 18, 22, 30):
    #   item variances (ddof 1): 20/3, 14/3, 8/3, 14/3 → sum 56/3; total variance 208/3
    #   alpha = 4/3 · (1 − 56/208) = 608/624 = 0.974359
    # A fifth episode's intake was a total alone (20, items imputed as 5 each): left out of
    # alpha, kept in the SD: totals 10, 18, 22, 30, 20 → mean 20, SS 208, SD sqrt(208/4) = 7.2111
    #   RCI = 1.96 · 7.2111 · sqrt(2 · 0.025641) = 1.96 · 7.2111 · 0.226455 = 3.20067
    items = [[2, 3, 3, 2], [4, 4, 5, 5], [6, 5, 5, 6], [8, 8, 7, 7], [5, 5, 5, 5]]
    rows = []
    for i, it in enumerate(items):
        for session, bump in ((1, 0.0), (2, 1.0)):
            rows.append({"person_id": f"p{i}", "episode": 1, "session": session,
                         **{f"ors_{k + 1}": v + bump for k, v in enumerate(it)},
                         "ors_items_imputed": i == 4 and session == 1})
    s = pd.DataFrame(rows)
    s["ors_total"] = s[["ors_1", "ors_2", "ors_3", "ors_4"]].sum(axis=1)
    c = episode_change(s, method="jacobson_truax")
    rule = c.attrs["reliable_change"]
    assert rule["r"] == pytest.approx(608 / 624)
    assert rule["sd"] == pytest.approx(math.sqrt(52))
    assert rule["value"] == pytest.approx(3.20067, abs=1e-5)
    assert (c["reliable_change_value"] == rule["value"]).all()
    # Every change is +4 ≥ 3.2; only 22 → 26 crosses the cutoff of 25.
    assert c["category"].tolist() == ["reliably improved", "reliably improved", "recovered",
                                      "reliably improved", "reliably improved"]
    given = episode_change(s, method="jacobson_truax", reliability=0.9).attrs["reliable_change"]
    assert given["value"] == pytest.approx(1.96 * math.sqrt(52) * math.sqrt(0.2))


@pytest.mark.parametrize("kwargs, match", [
    ({"operator": ">"}, "operator"),
    ({"reliable_change": 0}, "reliable_change"),
    ({"reliable_change": -5}, "reliable_change"),
    ({"method": "essa"}, "method"),
    ({"method": "jacobson_truax", "reliability": 1.0}, "reliability"),
    ({"method": "jacobson_truax", "reliability": 0}, "reliability"),
    ({"reliability": 0.9}, "jacobson_truax"),           # given but unused: an error, not ignored
])
def test_parameters_checked_at_the_boundary(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        episode_change(_sessions({"a": [18, 26]}), **kwargs)


def test_defaults_are_those_of_the_definitions():
    ors, srs = load_instrument("ors"), load_instrument("srs")
    change = inspect.signature(episode_change).parameters
    assert change["cutoff"].default == ors.cutoffs["clinical_range"].value
    assert change["operator"].default == ors.cutoffs["clinical_range"].operator
    assert change["reliable_change"].default == ors.reliable_change["total"]["value"]
    flags = inspect.signature(alliance_flags).parameters
    assert flags["cutoff"].default == srs.cutoffs["alliance_concern"].value
    assert flags["item_cutoff"].default == srs.cutoffs["item_concern"].value


def test_category_shares_with_wilson_intervals():
    ch = pd.DataFrame({"has_ip": [1] * 5 + [0] * 3,
                       "category": ["recovered", "recovered", "deteriorated", "single ORS",
                                    "no reliable change", "recovered", "single ORS", "no ORS"]})
    out = category_shares(ch, by="has_ip").set_index(["has_ip", "category"])
    # has_ip 1: 4 episodes with a change, 2 recovered → 0.5; single ORS 1 of all 5 → 0.2
    assert out.loc[(1, "recovered"), ["count", "n", "estimate"]].tolist() == [2, 4, 0.5]
    assert out.loc[(1, "single ORS"), ["count", "n", "estimate"]].tolist() == [1, 5, 0.2]
    # has_ip 0: 1 with a change (recovered 1/1); no ORS 1 of 3
    assert out.loc[(0, "recovered"), ["count", "n"]].tolist() == [1, 1]
    assert out.loc[(0, "no ORS"), ["count", "n"]].tolist() == [1, 3]
    lo, hi = proportion_confint(2, 4, method="wilson")
    assert out.loc[(1, "recovered"), ["ci_low", "ci_high"]].tolist() == pytest.approx([lo, hi])
    assert len(out) == 2 * len(ALL_CATEGORIES)
    with pytest.raises(ParameterError, match="not categories"):
        category_shares(pd.DataFrame({"category": ["better"]}))


ITEM = st.integers(0, 100).map(lambda x: x / 10)
ROW = st.one_of(st.none(), st.lists(ITEM, min_size=4, max_size=4))


@settings(max_examples=60, deadline=None)
@given(episodes=st.lists(st.lists(ROW, min_size=1, max_size=6), min_size=1, max_size=5),
       rc=st.floats(0.5, 10), cutoff=st.floats(0, 40), operator=st.sampled_from(["<", "<="]))
def test_categories_property(episodes, rc, cutoff, operator):
    rows = [{"person_id": f"p{e}", "episode": 1, "session": i + 1,
             "ors_total": np.nan if items is None else round(sum(items), 9)}
            for e, sessions in enumerate(episodes) for i, items in enumerate(sessions)]
    c = episode_change(pd.DataFrame(rows), reliable_change=rc, cutoff=cutoff, operator=operator)
    assert c["category"].isin(ALL_CATEGORIES).all()
    recovered = c["category"] == "recovered"
    assert c.loc[recovered, "reliable_improvement"].all()
    for e, sessions in enumerate(episodes):
        totals = [round(sum(items), 9) for items in sessions if items is not None]
        row = c.set_index("person_id").loc[f"p{e}"]
        if len(totals) >= 2:
            assert row["change"] == pytest.approx(totals[-1] - totals[0], abs=1e-9)
        else:
            assert math.isnan(row["change"])
            assert row["category"] == ("single ORS" if totals else "no ORS")


def test_dropout_share_on_the_shipped_study():
    study = Study.load(SHIPPED)
    sessions, episodes = study.table("fit"), study.table("fit_episodes")
    c = episode_change(sessions, episodes)
    with_sessions = episodes.merge(sessions[["person_id", "episode"]].drop_duplicates())
    assert len(c) == len(with_sessions)
    assert c["dropout"].mean() == pytest.approx((with_sessions["end_reason"] == "dropout").mean())


# --------------------------------------------------------------------------------------------
# alliance.py
# --------------------------------------------------------------------------------------------

def test_alliance_alerts_by_hand():
    items = {1: [8.5, 10, 9.5, 10],          # 38, one item below 9
             2: [9.5, 9.5, 9.5, 9.0],        # 37.5: fell 0.5 < 1; 9.0 is not below 9
             3: [10, 10, 9.5, 9.5],          # 39
             4: [9, 9, 8.5, 8.5],            # 35 < 36 and fell 4 from 39
             5: [None] * 4,                  # no SRS
             6: [9, 9, 9, 9]}                # 36: previous SRS is session 4's 35, so a rise
    s = pd.DataFrame([{"person_id": "a", "episode": 1, "session": k,
                       **{f"srs_{i + 1}": v for i, v in enumerate(vals)}}
                      for k, vals in items.items()], index=[11, 12, 13, 14, 15, 16])
    s["srs_total"] = s[[f"srs_{i}" for i in range(1, 5)]].sum(axis=1, min_count=4)
    s = s.iloc[[3, 0, 5, 1, 4, 2]]           # file order need not be session order
    out = alliance_flags(s).sort_values("session")
    assert out["alert"].tolist() == ["green", "green", "green", "red", "grey", "green"]
    assert out["drop"].tolist() == [pd.NA, False, False, True, pd.NA, False]
    assert out["low_item"].tolist() == [True, False, False, True, pd.NA, False]
    assert out["previous_srs"].tolist()[1:] == [38, 37.5, 39, 35, 35]
    assert list(alliance_flags(s).index) == list(s.index)
    at_most = alliance_flags(s, operator="<=").sort_values("session")["alert"]
    assert at_most.tolist()[-1] == "red"                    # 36 ≤ 36


def test_a_drop_of_one_point_survives_float_error():
    s = pd.DataFrame({"person_id": "a", "episode": 1, "session": [1, 2],
                      "srs_total": [9.1 + 9.1 + 9.1 + 9.0, 9.1 + 9.1 + 9.1 + 8.0]})  # 36.3 → 35.3
    assert alliance_flags(s, cutoff=30)["drop"].tolist() == [pd.NA, True]


def test_alliance_over_time_by_hand():
    s = pd.DataFrame({"group": ["x", "x", "x", "y", "x"], "session": [1, 1, 1, 1, 2],
                      "srs_total": [36.0, 38.0, 40.0, 30.0, 39.0]})
    out = alliance_over_time(s, by="group").set_index(["group", "session"])
    # x, session 1: mean 38, sd 2, t(0.975; 2) = 4.302653,
    # half-width 4.302653 · 2/sqrt(3) = 4.96828
    assert out.loc[("x", 1), "estimate"] == 38
    assert out.loc[("x", 1), ["ci_low", "ci_high"]].tolist() == pytest.approx([33.03172, 42.96828])
    assert out.loc[("y", 1), "n"] == 1 and math.isnan(out.loc[("y", 1), "ci_low"])   # kept
    assert len(alliance_over_time(s, max_session=1)) == 1


def test_early_alliance_exact_linear_relation():
    # change = 2 + 0.5 · SRS − 0.3 · intake with no noise: the estimates are exact, the CIs ~0.
    srs = [30, 32, 34, 36, 38, 40, 31, 35, 39, 33]
    intake = [10, 20, 15, 25, 12, 18, 22, 14, 16, 24]
    people = [str(i) for i in range(10)]
    s = pd.DataFrame({"person_id": [p for p in people for _ in range(4)], "episode": 1,
                      "session": [1, 2, 3, 4] * 10,
                      "srs_total": [float(v) for v in srs for _ in range(4)]})
    ch = pd.DataFrame({"person_id": people, "episode": 1, "intake_ors": intake,
                       "last_ors_session": 4,
                       "change": [2 + 0.5 * a - 0.3 * b for a, b in zip(srs, intake)]})
    # Left out: an episode of only 3 sessions (no ORS after the early window), and one
    # without a change.
    s = pd.concat([s, pd.DataFrame({"person_id": ["short"] * 3 + ["one"] * 4, "episode": 1,
                                    "session": [1, 2, 3, 1, 2, 3, 4], "srs_total": 20.0})])
    ch = pd.concat([ch, pd.DataFrame({"person_id": ["short", "one"], "episode": 1,
                                      "intake_ors": [10, 10], "last_ors_session": [3, 1],
                                      "change": [50.0, np.nan]})])
    out = early_alliance_and_outcome(s, ch).set_index("term")
    assert out.loc["early_srs_mean", "estimate"] == pytest.approx(0.5, abs=1e-9)
    assert out.loc["intake_ors", "estimate"] == pytest.approx(-0.3, abs=1e-9)
    assert out.loc["intercept", "estimate"] == pytest.approx(2.0, abs=1e-8)
    width = out.loc["early_srs_mean", "ci_high"] - out.loc["early_srs_mean", "ci_low"]
    assert 0 <= width < 1e-8
    assert (out["n"] == 10).all()
    assert out.attrs["episodes"]["used"] == 10
    assert out.attrs["episodes"]["last ORS not after the first sessions"] == 1
    assert out.attrs["episodes"]["no change (fewer than two ORS)"] == 1
    rho = out.loc["early_srs_mean ~ change"]
    assert -1 < rho["ci_low"] < rho["estimate"] < rho["ci_high"] < 1


# --------------------------------------------------------------------------------------------
# problems.py and total-only rows through the loader
# --------------------------------------------------------------------------------------------

def _raw(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "fit_sessions.csv", dtype=str, keep_default_na=False)


def _write(folder, raw: pd.DataFrame) -> None:
    raw.to_csv(folder / "fit_sessions.csv", index=False)


def test_planted_session_problems_are_reported_with_their_file_row(study_copy):
    before = Study.load(study_copy)
    fit, eps = before.table("fit"), before.table("fit_episodes")
    raw = _raw(study_copy)
    episodes = fit.groupby(["person_id", "episode"])
    sizes = episodes["session"].agg(["min", "max", "size"])
    candidates = [k for k, r in sizes.iterrows() if r["min"] == 1 and r["size"] >= 3
                  and r["max"] == r["size"]]
    # Out of order: session 3 dated a day before session 2 (still after session 1).
    for key in candidates:
        d = episodes.get_group(key).set_index("session")["date"]
        if d[2] - d[1] > pd.Timedelta(days=1):
            break
    order_key, d = key, episodes.get_group(key).set_index("session")
    order_row = int(fit.index[(fit["person_id"] == key[0]) & (fit["episode"] == key[1])
                              & (fit["session"] == 3)][0])
    raw.loc[order_row - 1, "date"] = (d.loc[2, "date"] - pd.Timedelta(days=1)).date().isoformat()
    # After the end: the last session of another episode, 10 days after its end date.
    late_key = next(k for k in candidates if k != order_key)
    late = episodes.get_group(late_key)
    late_row = int(late["session"].idxmax())
    end = eps.set_index(["person_id", "episode"]).loc[late_key, "end_date"]
    raw.loc[late_row - 1, "date"] = (end + pd.Timedelta(days=10)).date().isoformat()
    # Total only: a third episode's row keeps its total and loses its items.
    total_key = next(k for k in candidates if k not in (order_key, late_key))
    total_row = int(episodes.get_group(total_key).index[1])
    items = ["ors_1", "ors_2", "ors_3", "ors_4"]
    raw["ors_total"] = ""
    raw.loc[total_row - 1, "ors_total"] = f"{fit.loc[total_row, 'ors_total']:.1f}"
    raw.loc[total_row - 1, items] = ""
    # Duplicate session number: a copy of a row, appended with a different ORS.
    dup_of = int(episodes.get_group(candidates[-1]).index[0])
    copy = raw.iloc[[dup_of - 1]].copy()
    copy["ors_1"] = "0.5"
    raw = pd.concat([raw, copy], ignore_index=True)
    _write(study_copy, raw)

    study = Study.load(study_copy)
    sessions = study.table("fit")
    found = session_problems(sessions, study.table("fit_episodes"))
    rows_of = lambda p: set(found.loc[found["problem"] == p, "row"])   # noqa: E731
    assert rows_of("session out of order") == {order_row}
    assert rows_of("dated after the episode ended") == {late_row}
    assert rows_of("ORS total given without items (items imputed as total/4)") == {total_row}
    expected = found.loc[found["row"] == order_row, "expected"].iloc[0]
    assert expected.endswith("(date of session 2)")
    summary = problem_summary(found).set_index("problem")
    assert summary.loc["session out of order", "rows"] == 1
    # The duplicate never reaches the table: the loader quarantined it, naming the original.
    quarantine = study.quarantine()
    dup = quarantine[(quarantine["source"] == "fit") & (quarantine["row"] == len(raw))]
    assert dup["rule"].tolist() == [f"duplicate submission of row {dup_of}: kept the earliest"]
    assert len(raw) not in sessions.index
    report = study.load_report().set_index("source").loc["fit"]
    assert report["rows_read"] == len(raw)
    assert report["rows_read"] == report["rows_used"] + report["rows_quarantined"]
    assert len(sessions) == report["rows_used"]          # flagged rows are kept


def test_ors_total_without_items_through_the_loader(study_copy):
    fit = Study.load(study_copy).table("fit")
    items = ["ors_1", "ors_2", "ors_3", "ors_4"]
    complete = fit.index[fit["ors_total_n_items"] == 4][:5]
    only, match, differs, outside, partial = (int(r) for r in complete)
    raw = _raw(study_copy)
    raw["ors_total"] = ""
    raw.loc[only - 1, items], raw.loc[only - 1, "ors_total"] = "", "23.0"
    raw.loc[match - 1, "ors_total"] = f"{fit.loc[match, 'ors_total']:.1f}"
    items_sum = fit.loc[differs, "ors_total"]
    raw.loc[differs - 1, "ors_total"] = f"{items_sum + 1.5:.1f}"
    raw.loc[outside - 1, items], raw.loc[outside - 1, "ors_total"] = "", "45"
    raw.loc[partial - 1, ["ors_1", "ors_2"]], raw.loc[partial - 1, "ors_total"] = "", "20"
    _write(study_copy, raw)

    study = Study.load(study_copy)
    table = study.table("fit")
    # 23.0 / 4 = 5.75 in every item; scoring gives back 23.0
    assert table.loc[only, items].tolist() == [5.75] * 4
    assert table.loc[only, "ors_total"] == 23.0 and table.loc[only, "ors_items_imputed"]
    assert not table.loc[match, "ors_items_imputed"]
    assert table["ors_items_imputed"].sum() == 1
    assert "srs_items_imputed" not in table.columns       # the file has no srs_total
    q = study.quarantine().query("source == 'fit' and column == 'ors_total'").set_index("row")
    assert q.loc[differs, "rule"] == (f"ors_total {items_sum + 1.5:.1f} does not equal the sum "
                                      f"of ors_1..ors_4 ({items_sum:.1f})")
    assert q.loc[differs, "value"] == f"{items_sum + 1.5:.1f}"     # the cell as written
    assert "outside the score's range 0 to 40" in q.loc[outside, "rule"]
    assert "given with 2 of 4 items" in q.loc[partial, "rule"]
    assert not {differs, outside, partial} & set(table.index)
    report = study.load_report().set_index("source").loc["fit"]
    assert report["rows_read"] == report["rows_used"] + report["rows_quarantined"]


def test_impute_from_total_leaves_a_file_without_totals_alone():
    ors = load_instrument("ors")
    df = pd.DataFrame({"ors_1": [5.0], "ors_2": [5.0], "ors_3": [5.0], "ors_4": [5.0]})
    kept, bad = impute_from_total(df, ors)
    assert kept is df and bad.empty
    text = pd.DataFrame({"ors_1": [None], "ors_2": [None], "ors_3": [None], "ors_4": [None],
                         "ors_total": ["n/a"]})
    kept, bad = impute_from_total(text, ors, source="fit", file="f.csv")
    assert kept.empty and bad["rule"].str.contains("not a number").all()


def test_definition_total_only_needs_a_source_and_a_sum_score():
    path = load_instrument("ors").path
    raw = read_definition(path)
    assert parse_instrument(raw, path).total_only["total"]["certainty"] == "confirmed"
    for change, match in [({"source": None}, "source"), ({"score": "nope"}, "sum"),
                          ({"extra": 1}, "unknown key")]:
        bad = {**raw, "total_only": {k: v for k, v in {**raw["total_only"], **change}.items()
                                     if v is not None}}
        with pytest.raises(ManifestError, match=match):
            parse_instrument(bad, path)
