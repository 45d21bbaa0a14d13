"""The report's answer in words (evaluation.association.summary): sizes, CIs, directions and
how sure, read from the estimates as shown, and nothing said of a hidden estimate."""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from evaluation.association import analysis_frame, estimates_shown, evaluate
from evaluation.association.summary import Z_POWER, answer
from evaluation.disclosure import Disclosure
from evaluation.language import using


def _shown(rows: list[dict], hidden: set = frozenset()):
    """A stand-in for a SafeTable: its values and which of them are hidden."""
    values = pd.DataFrame(rows)
    suppressed = pd.DataFrame(False, index=values.index, columns=values.columns)
    for i, col in hidden:
        suppressed.loc[i, col] = True
    return SimpleNamespace(values=values, suppressed=suppressed)


def _row(method="AIPW", scale="risk difference", estimate=0.123, low=0.051, high=0.195,
         outcome="goal_retention", **more):
    return {"outcome": outcome, "method": method, "scale": scale, "estimate": estimate,
            "ci_low": low, "ci_high": high, "n": 120, "n_exposed": 70, "e_value": 1.91,
            "e_value_ci": 1.42, **more}


STUDY = SimpleNamespace(label=lambda name, code=None: {"goal_retention": "goal retention",
                                                        "daily_chaos": "daily chaos",
                                                        "age": "age"}.get(name, name),
                        institution=None)
FRAME = SimpleNamespace(outcome="goal_retention", institution="institution",
                        data=pd.DataFrame({"institution": ["a", "b", "c", "a"]}))


def test_a_share_is_said_in_percentage_points_with_its_interval_and_e_value():
    text = answer(_shown([_row()]), FRAME, STUDY, covariates=["age"])
    assert "12.3 percentage points more (95 % CI 5.1 to 19.5)" in text
    assert "120 residents (70 of them with an IP) at 3 institutions" in text
    assert "adjusted for age" in text and "doubly robust (AIPW)" in text
    assert "at least 1.91" in text and "of 1.42" in text


def test_the_doubly_robust_row_is_preferred_to_the_crude_one():
    rows = [_row(method="crude", estimate=-0.2, low=-0.3, high=-0.1), _row()]
    assert "more common" in answer(_shown(rows), FRAME, STUDY)


def test_lower_is_better_is_said_for_a_score_that_fell():
    frame = SimpleNamespace(**{**vars(FRAME), "outcome": "daily_chaos"})
    text = answer(_shown([_row(outcome="daily_chaos", scale="mean difference", estimate=-0.456,
                               low=-0.8, high=-0.11)]), frame, STUDY, lower_is_better=True)
    assert "0.46 scale points lower (95 % CI -0.80 to -0.11)" in text
    assert "Lower is better on this scale, so this is the better direction." in text


def test_a_null_result_says_what_the_study_could_have_detected():
    text = answer(_shown([_row(estimate=0.02, low=-0.08, high=0.12)]), FRAME, STUDY)
    se = 0.20 / (2 * 1.959964)
    assert "no clear difference: 2.0 percentage points (95 % CI -8.0 to 12.0)" in text
    assert f"about {100 * Z_POWER * se:.1f} percentage points" in text
    assert "E-value" not in text and "risk ratio" not in text


def test_a_hidden_estimate_is_not_said_at_all():
    text = answer(_shown([_row()], hidden={(0, "estimate"), (0, "ci_low"), (0, "ci_high")}),
                  FRAME, STUDY)
    assert "not shown" in text
    assert not re.search(r"\d", text.split("**Answer.**")[1])


def test_hidden_counts_are_not_said_in_who_was_compared():
    text = answer(_shown([_row()], hidden={(0, "n_exposed")}), FRAME, STUDY)
    assert "70" not in text and "120" not in text and "the residents with an answer" in text


def test_the_answer_is_written_in_bokmal_with_a_decimal_comma():
    with using("nb"):
        text = answer(_shown([_row()]), FRAME, STUDY)
    assert "12,3 prosentpoeng" in text and "Svar" in text
    assert "percentage" not in text


@pytest.mark.parametrize("outcome", ["goal_retention", "daily_chaos"])
def test_every_number_of_the_answer_is_one_the_estimates_table_shows(small_loaded, outcome):
    frame = analysis_frame(small_loaded, outcome)
    estimates, _ = evaluate(small_loaded, [outcome], methods=("crude", "aipw"))
    sdc = Disclosure.for_study(small_loaded)
    shown = sdc.show(estimates_shown(estimates), name="estimates")
    text = answer(shown, frame, small_loaded, lower_is_better=outcome == "daily_chaos")
    written = shown._repr_html_()
    # every number of the sentences (the size without its sign) is written in the table
    for said in re.findall(r"\d+(?:\.\d+)?", text.split("**How sure.**")[0]):
        if said not in ("95",):
            assert said in written, (said, text)
    aipw = shown.values[(shown.values["method"] == "AIPW")
                        & shown.values["scale"].isin(["risk difference", "mean difference"])]
    assert len(aipw) == 1
    factor, decimals = (100, 1) if aipw["scale"].iloc[0] == "risk difference" else (1, 2)
    assert f"{abs(aipw['estimate'].iloc[0]) * factor:.{decimals}f}" in text or \
        not np.isfinite(aipw["estimate"].iloc[0])
