"""Every public estimator of evaluation.coding returns a table of the result contract."""
from __future__ import annotations

import pytest

from evaluation.coding import (agreement, joint_display, mentions_by_group, mentions_by_ip,
                               study_segments)
from evaluation.estimates import check_measure_table


@pytest.fixture(scope="module")
def segments(small_loaded):
    return study_segments(small_loaded)


def test_agreement(segments):
    table = agreement(segments, n_boot=50)
    check_measure_table(table)
    assert (table["n"] == table["n_units"]).all() and "estimate" in table


def test_themes_and_joint_display(small_loaded, segments):
    check_measure_table(mentions_by_group(segments, by="role"))
    check_measure_table(mentions_by_ip(small_loaded, segments))
    themes = [{"code": "less_chaos", "measure": "daily_chaos"}]
    check_measure_table(joint_display(small_loaded, themes, segments=segments, adjusted=False))
