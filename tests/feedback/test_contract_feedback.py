"""Every public estimator and measure of evaluation.feedback returns a table of the result
contract (evaluation.estimates), on the small synthetic study; and the named helpers the
feedback notebook calls instead of doing the work in its cells."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation import feedback as fb  # noqa: E402
from evaluation.estimates import check_estimate_table, check_measure_table  # noqa: E402


@pytest.fixture(scope="module")
def fit(small_loaded):
    return fb.fit_tables(small_loaded)


@pytest.fixture(scope="module")
def changes(small_loaded, fit):
    s = small_loaded
    ch = fb.episode_change(fit.sessions, fit.episodes)
    return fb.join_ip(ch, s.person_table(), "has_ip", s.manifest.id_column, unknown=fb.UNKNOWN_IP)


@pytest.fixture(scope="module")
def frame(small_loaded):
    return fb.session_frame(small_loaded)


@pytest.fixture(scope="module")
def scores(small_loaded):
    return fb.inspire_scores(small_loaded)


def test_category_shares_is_a_measure_table(changes):
    for by in (None, "IP", ["IP", "institution"]):
        table = fb.category_shares(changes, by=by)
        check_measure_table(table)
        assert set(table["scale"]) == {"proportion"}
        assert (table["estimate"].dropna() == (table["count"] / table["n"]).dropna().round(9)).all()


def test_alliance_measures_are_contract_tables(fit, changes):
    check_measure_table(fb.alliance_over_time(fit.sessions, max_session=10))
    early = fb.early_alliance_and_outcome(fit.sessions, changes)
    check_estimate_table(early)
    assert list(early["scale"]) == ["coefficient (ORS points)"] * 3 + ["correlation"]


def test_growth_model_fixed_effects_are_an_estimate_table(frame):
    m = fb.growth_model(frame, max_clients=150, seed=1)
    check_estimate_table(m.fixed_effects_)
    key = m.interaction_
    assert key["scale"].startswith("slope difference") and key["n"] == m.n_clients_
    assert 0 < key["n_exposed"] < key["n"]
    m = fb.GrowthModel(exposure=None, covariates=(), institution_effects=None,
                       max_clients=100).fit(frame)
    check_estimate_table(m.fixed_effects_)


def test_expected_response_coefficients_are_an_estimate_table(frame):
    etr = fb.ExpectedResponse(method="mixed", max_clients=150, seed=1).fit(frame)
    check_estimate_table(etr.fixed_effects_)
    assert set(etr.fixed_effects_["label"]) == {"locally derived"}


def test_inspire_tables_follow_the_contract(small_loaded, scores):
    for by in (None, "has_ip", "institution", "year"):
        check_measure_table(fb.score_means(scores, by=by))
    check_estimate_table(fb.difference_by_group(scores, group="has_ip"))
    reliability = fb.inspire_reliability(small_loaded, n_boot=20)
    check_measure_table(reliability)
    assert set(reliability["scale"]) == {"reliability"}


def test_ip_contrasts_are_estimate_tables(small_loaded, changes, scores):
    first, outcomes = fb.first_episode_outcomes(changes, small_loaded.manifest.id_column)
    estimates, _ = fb.compare_by_ip(small_loaded, first, outcomes, methods=["crude"])
    check_estimate_table(estimates)
    one = fb.first_year_scores(scores, small_loaded.manifest.id_column)
    estimates, _ = fb.compare_by_ip(small_loaded, one, {"relationship": "continuous"},
                                    methods=["crude"])
    check_estimate_table(estimates)


def test_alert_shares_are_measure_tables(fit, frame):
    srs = fb.alliance_flags(fit.sessions)
    table = fb.alert_shares(srs)
    check_measure_table(table)
    assert table["count"].sum() == len(srs) and (table["n"] == len(srs)).all()
    etr = fb.ExpectedResponse(method="percentile").fit(frame)
    flags = fb.alerts(frame, etr).assign(IP=fb.ip_label(frame["has_ip"]))
    by_ip = fb.alert_shares(flags, by="IP")
    check_measure_table(by_ip)
    assert by_ip.groupby("IP")["estimate"].sum().round(9).eq(1).all()


# -- the notebook's helpers -------------------------------------------------------------------

def test_fit_tables_find_sessions_and_episodes(small_loaded, fit):
    assert "ors_total" in fit.sessions.columns and "end_reason" in fit.episodes.columns
    text = fit.describe("demo", "Karlsborg")
    assert text.startswith("Study **demo** — Karlsborg") and f"`{fit.episode_source}`" in text


def test_join_ip_labels_people_and_keeps_rows():
    table = pd.DataFrame({"person_id": ["a", "b", "c", "a"], "x": [1, 2, 3, 4]})
    people = pd.DataFrame({"person_id": ["a", "b", "b"], "has_ip": [1, 0, 0]})
    out = fb.join_ip(table, people, "has_ip", "person_id", unknown=fb.UNKNOWN_IP)
    assert out["x"].tolist() == [1, 2, 3, 4]
    assert out["IP"].tolist() == ["IP", "no IP", "IP status unknown", "IP"]
    assert fb.join_ip(table, people, "has_ip", "person_id")["IP"].isna().sum() == 1


def test_rule_text_names_the_data_rule():
    s = pd.DataFrame({"person_id": list("aabbcc"), "episode": 1, "session": [1, 2] * 3,
                      "ors_total": [10.0, 20.0, 20.0, 22.0, 30.0, 29.0],
                      "ors_1": [2.0, 5, 5, 5, 7, 7], "ors_2": [3.0, 5, 5, 6, 8, 7],
                      "ors_3": [2.0, 5, 5, 5, 7, 7], "ors_4": [3.0, 5, 5, 6, 8, 8]})
    text = fb.rule_text(fb.episode_change(s, method="jacobson_truax", operator="<="))
    assert "(jacobson_truax; r = " in text and text.endswith("Clinical range: ORS <= 25.")


def test_first_episode_outcomes_one_row_per_person():
    ch = pd.DataFrame({"person_id": ["a", "a", "b"], "episode": [2, 1, 1],
                       "change": [1.0, 2.0, np.nan],
                       "reliable_improvement": pd.array([True, False, pd.NA], dtype="boolean"),
                       "dropout": pd.array([pd.NA] * 3, dtype="boolean")})
    first, outcomes = fb.first_episode_outcomes(ch, "person_id")
    assert first[["person_id", "episode", "change"]].values.tolist() == [["a", 1, 2.0]]
    assert outcomes == {"change": "continuous", "reliable_improvement": "binary"}
    ch["dropout"] = pd.array([True, False, False], dtype="boolean")
    assert fb.first_episode_outcomes(ch, "person_id")[1]["dropout"] == ("binary", True)


def test_shown_contrasts_and_left_out_table():
    t = pd.DataFrame({"se": [1.0], "n": [5], "outcome": ["x"], "p_adjusted": [0.1]})
    assert list(fb.shown_contrasts(t).columns) == ["outcome", "p_adjusted", "n"]
    f = pd.DataFrame()
    f.attrs["left_out"] = {"no ORS total": 2, "no valid session number": 0}
    assert fb.left_out_table(f).values.tolist() == [["no ORS total", 2],
                                                    ["no valid session number", 0]]


def test_write_tables_makes_the_folder(tmp_path):
    class Table:
        def to_csv(self, path):
            path.write_text("a\n1\n")
    written = fb.write_tables(tmp_path / "new" / "dir", {"t.csv": Table()})
    assert [p.read_text() for p in written] == ["a\n1\n"]


def test_figure_helpers_draw_on_their_own_axes(changes, fit):
    shares = fb.category_shares(changes, by="IP")
    axes = fb.change_figure(shares, changes, hide=[fb.UNKNOWN_IP], reliable_change=5.0)
    assert len(axes) == 2 and axes[0].get_ylabel() == "share of episodes"
    assert not any("unknown" in t.get_text() for t in axes[0].get_legend().get_texts())
    est = pd.DataFrame({"outcome": "change", "method": ["crude", "crude"],
                        "scale": ["mean difference", "odds ratio"], "estimate": [1.0, 2.0],
                        "ci_low": [0.0, 1.0], "ci_high": [2.0, 3.0], "n": [100, 100]})
    assert fb.contrasts_plot(est) is not None
    with_ip = fit.sessions.assign(IP="IP")
    ax = fb.alliance_plot(with_ip, cutoff=36.0, max_x=10)
    assert any(line.get_linestyle() == "--" for line in ax.lines)
    plt.close("all")
