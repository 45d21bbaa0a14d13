"""Every public estimator of evaluation.comparison returns a table of the result contract."""
from __future__ import annotations

import pandas as pd
import pytest

from evaluation.comparison import (brukerplan_models, compare_staggered, critical_group, did,
                                   did_means, event_study, funnel_data, group_time_att,
                                   institution_tables, level_shares_by_year, meta_analysis,
                                   plan_coverage, pool_batch, programme_design, shrunken_effects,
                                   staggered_att, year_difference)
from evaluation.estimates import check_estimate_table, check_measure_table


def _staggered():
    rows = [(u, t, g, 5.0 + u + 0.5 * t + (2.0 * (t - g + 1) if g is not None and t >= g else 0)
             + 0.1 * ((u * 7 + t * 3 + k) % 5))
            for u, g in [(0, 2), (1, 3), (2, None), (3, None)] for t in range(5) for k in range(3)]
    return pd.DataFrame(rows, columns=["unit", "t", "g", "y"])


@pytest.fixture(scope="module")
def design(small_loaded):
    panel, problem = programme_design(small_loaded, programme="ip_initiative",
                                      outcome="goal_retention")
    assert not problem
    return panel


def test_did_and_event_study(design):
    unit = design.attrs["unit"]
    args = dict(outcome="goal_retention", unit=unit, period="period")
    check_estimate_table(did(design, treated="treated", post="post", n_boot=99, **args))
    check_estimate_table(did_means(design, outcome="goal_retention", treated="treated",
                                   post="post"))
    check_estimate_table(event_study(design, event_time="event_time", **args))


def test_staggered():
    args = dict(outcome="y", unit="unit", period="t", cohort="g", n_boot=49)
    check_estimate_table(group_time_att(_staggered(), **args))
    check_estimate_table(staggered_att(_staggered(), **args))
    check_estimate_table(compare_staggered(_staggered(), **args))


def test_brukerplan(small_loaded):
    mapping = small_loaded.table("brukerplan")
    check_measure_table(level_shares_by_year(mapping))
    check_measure_table(year_difference(mapping, n_boot=50))
    check_estimate_table(brukerplan_models(mapping))
    check_measure_table(critical_group(mapping))
    check_measure_table(plan_coverage(mapping))


def test_institutions_and_pooling(small_loaded):
    points, _, effects, _ = institution_tables(small_loaded)
    check_measure_table(points)
    check_measure_table(effects)
    people = small_loaded.person_table()
    check_measure_table(funnel_data(people.dropna(subset=["daily_chaos"]),
                                    unit=small_loaded.institution_column, outcome="daily_chaos")[0])
    check_measure_table(shrunken_effects(people.dropna(subset=["daily_chaos"]),
                                         outcome="daily_chaos", unit=small_loaded.institution_column))
    studies = pd.DataFrame({"estimate": [-0.2, -0.4, -0.3], "ci_low": [-0.4, -0.6, -0.5],
                            "ci_high": [0.0, -0.2, -0.1], "n": [50, 60, 70]})
    check_measure_table(meta_analysis(studies).to_frame())
    runs = pd.DataFrame({"run_id": ["r0", "r1", "r2"], "status": "ok",
                         "grid": ['{"institution": "A"}', '{"institution": "B"}',
                                  '{"institution": "C"}']})
    check_measure_table(pool_batch((runs, studies.assign(run_id=runs["run_id"], p_value=0.1,
                                                         name="y/AIPW/ATE/mean difference")),
                                   name="y/*"))
