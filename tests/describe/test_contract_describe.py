"""Every public estimator of describe and of the instruments' psychometrics returns a measure
table of the result contract (evaluation.estimates)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evaluation import describe
from evaluation.estimates import check_measure_table
from evaluation.instruments.psychometrics import ALPHA, OMEGA, cronbach_alpha, mcdonald_omega, reliability

# Holzinger & Swineford (1939): three items a scale, as in the psychometrics tests.
SCALES = Path(__file__).parents[1] / "data" / "holzinger_swineford_1939.csv"
TEXTUAL = ["x4", "x5", "x6"]


@pytest.fixture(scope="module")
def people(small_loaded):
    return small_loaded.person_table()


def test_coverage_is_a_share_table(people, small_loaded):
    for by in (None, small_loaded.institution_column):
        table = describe.coverage(people, "has_ip", by=by)
        check_measure_table(table)
        assert set(table["scale"]) == {"proportion"}
        assert (table["count"] <= table["n"]).all()
        assert table["estimate"].tolist() == pytest.approx((table["count"] / table["n"]).tolist())


def test_level_shares_is_a_share_table(small_loaded):
    source = describe.sources_with_instrument(small_loaded, "brukerplan")[0]
    bp = small_loaded.table(source)
    domains = [c for c in bp.columns if c.startswith("bp_")]
    table = describe.level_shares(bp, domains, by="year")
    check_measure_table(table)
    assert list(table.columns[:3]) == ["domain", "year", "level"]
    sums = table.groupby(["domain", "year"])["estimate"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)


def test_item_summary_is_a_measure_table(small_loaded):
    source = describe.sources_with_instrument(small_loaded, "ors")[0]
    table = describe.item_summary(small_loaded.table(source), ["ors_1", "ors_2"], by="session")
    check_measure_table(table)
    assert set(table["scale"]) == {"mean"}


def test_score_summary_and_reliability_of_the_study(small_loaded):
    scores = describe.score_summary(small_loaded)
    check_measure_table(scores)
    assert set(scores["scale"]) <= {"mean", "proportion"}
    flags = scores[scores["scale"] == "proportion"]
    assert (flags["count"] <= flags["n"]).all()
    table = describe.instrument_reliability(small_loaded, n_boot=10)
    check_measure_table(table)
    assert set(table["measure"]) == {ALPHA, OMEGA} and set(table["scale"]) == {"reliability"}
    assert list(table.columns[:2]) == ["source", "score"]


def test_proportion_ci_limits_hold_the_share():
    low, high = describe.proportion_ci([0, 3, 10], [10, 10, 10])
    share = [0, 0.3, 1]
    # At a share of 0 or 1 a Wilson limit can miss the share by a rounding error.
    assert (low <= pd.Series(share) + 1e-12).all() and (high >= pd.Series(share) - 1e-12).all()


@pytest.mark.parametrize("estimator", [
    lambda d: cronbach_alpha(d, TEXTUAL),
    lambda d: mcdonald_omega(d, TEXTUAL, n_boot=20, seed=1),
    lambda d: reliability(d, {"textual": TEXTUAL, "pair": ["x7", "x8"]}, n_boot=20, seed=1),
], ids=["cronbach_alpha", "mcdonald_omega", "reliability"])
def test_psychometrics_are_reliability_measure_tables(estimator):
    table = estimator(pd.read_csv(SCALES))
    check_measure_table(table)
    assert set(table["scale"]) == {"reliability"}
    assert set(table["measure"]) <= {ALPHA, OMEGA}


def test_overview_helpers_of_the_notebook(small_loaded, people, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evaluation.disclosure import Disclosure
    sdc = Disclosure.for_study(small_loaded)
    heading = describe.study_heading(small_loaded, sdc.rules)
    assert small_loaded.name in heading and "has_ip" in heading
    binary = describe.binary_outcomes(small_loaded, people)
    assert binary and all(o.type == "binary" for o in binary)
    axes = describe.key_measures_plot(people, exposure="has_ip", outcome=binary[0],
                                      by=small_loaded.institution_column, rules=sdc.rules)
    assert len(axes) == 2 and axes[1].get_title().endswith("by institution")
    bp = small_loaded.table(describe.sources_with_instrument(small_loaded, "brukerplan")[0])
    panels = describe.levels_by_year_plot(bp, [c for c in bp if c.startswith("bp_")], title="bp")
    assert len(panels) == bp["year"].nunique()
    source = describe.sources_with_instrument(small_loaded, "ors")[0]
    ax = describe.ors_trajectory_plot(small_loaded, source, exposure="has_ip")
    assert "sessions of" in ax.get_title()
    miss = describe.study_missingness(small_loaded).head(5)
    assert describe.missing_answers_plot(miss).get_xlabel() == "share missing"
    shown = sdc.show(describe.coverage(people, "has_ip"), name="all")
    out = describe.write_tables({"coverage": shown}, tmp_path / "tables")
    assert (out / "coverage.csv").is_file()
    plt.close("all")
