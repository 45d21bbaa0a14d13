"""Tables whose count columns are not the contract's (rows, sessions, units) carry their mark
(``evaluation.estimates.with_counts``), so ``Disclosure.show(table)`` protects them without the
notebook naming them: a builder that lost its mark would let a small count through."""
from __future__ import annotations

import pandas as pd
import pytest

from evaluation import association, coding, describe, feedback
from evaluation.disclosure import Disclosure, DisclosureRules
from evaluation.estimates import COUNTS_ATTR, with_counts


def _marked(table: pd.DataFrame, *columns: str) -> None:
    assert set(columns) <= set(table.attrs.get(COUNTS_ATTR, [])), table.attrs


def test_study_tables_are_marked(small_loaded):
    _marked(small_loaded.load_report(), "rows_read", "rows_used", "rows_quarantined")
    _marked(describe.study_missingness(small_loaded), "n_missing")
    people = small_loaded.person_table()
    _marked(describe.coverage(people, "has_ip", by=small_loaded.institution_column), "n_missing")


def test_analysis_account_tables_are_marked(small_loaded):
    _, rows = association.evaluate(small_loaded, ["daily_chaos"], methods=["crude"])
    _marked(rows, "rows")
    frame = pd.DataFrame()
    frame.attrs["left_out"] = {"no ORS total": 3}
    _marked(feedback.left_out_table(frame), "rows")
    disagreements = pd.DataFrame({"code": ["a", "a", "b"], "unit_id": [1, 2, 3]})
    _marked(coding.disagreements_per_code(disagreements), "units with disagreement")


def test_a_marked_small_count_is_hidden_with_its_partner():
    table = with_counts(pd.DataFrame({"reason": ["used", "no outcome", "no covariate"],
                                      "rows": [120, 2, 9]}), "rows")
    shown = Disclosure(DisclosureRules(min_cell=5)).show(table).shown
    assert shown["rows"].tolist()[0] == 120
    assert "2" not in shown["rows"].astype(str).tolist()
    assert "9" not in shown["rows"].astype(str).tolist()   # else 2 = total − 120 − 9


@pytest.mark.parametrize("counts", [[], ["rows"]])
def test_counts_given_override_the_mark(counts):
    table = with_counts(pd.DataFrame({"reason": ["a", "b"], "rows": [50, 2]}), "rows")
    shown = Disclosure(DisclosureRules(min_cell=5)).show(table, n=None, counts=counts).shown
    assert (shown["rows"].astype(str).tolist() == ["50", "2"]) == (counts == [])
