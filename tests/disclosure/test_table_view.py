"""A protected table written for people (labels, the language's numbers, one CI column) shows
exactly what the layer let through: every hidden cell keeps its mark, and the output checker
still finds the counts under headers in Norwegian."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.disclosure import Disclosure
from evaluation.disclosure.output_check import check_path
from evaluation.disclosure.table_view import TableView

LABELS = {"goal_retention": {"nb": "Holder fast ved egne mål", "en": "Goal retention"},
          "institution": {"nb": "Institusjon", "en": "Institution"}}


def _sdc(code: str) -> Disclosure:
    sdc = Disclosure()
    sdc.view = TableView(code, LABELS)
    return sdc


def _estimates(n_exposed: int) -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": ["goal_retention"] * 2, "method": ["crude", "aipw"],
        "estimand": ["unadjusted", "ATE"], "scale": ["risk difference"] * 2,
        "estimate": [0.0251, 0.108], "ci_low": [-0.05, 0.031], "ci_high": [0.098, 0.185],
        "p_value": [0.51, 0.0004], "n": [683, 683], "n_exposed": [n_exposed] * 2,
        "note": ["", ""]})


def test_an_estimate_table_in_norwegian_has_labels_percentage_points_and_one_ci():
    frame, kinds = _sdc("nb").show(_estimates(276), name="estimates").written()
    assert list(frame.columns) == ["Utfall", "Metode", "Estimand", "Skala", "Estimat",
                                   "95 % KI", "p", "n", "n med IP"]
    row = frame.iloc[1].tolist()
    assert row == ["Holder fast ved egne mål", "dobbelt robust (AIPW)", "ATE",
                   "risikoforskjell (prosentpoeng)", "10,8", "3,1 til 18,5", "< 0,001", "683",
                   "276"]
    assert kinds["counts"] == ["n", "n med IP"] and kinds["keys"] == ["Utfall", "Metode"]
    assert not any(re.search(r"[a-z]_[a-z]", c) for c in frame.columns)


def test_a_hidden_row_keeps_its_marks_and_its_interval_is_hidden_with_it():
    frame, _ = _sdc("nb").show(_estimates(681), name="estimates").written()   # 2 unexposed
    assert set(frame["Estimat"]) == {"·"} and set(frame["95 % KI"]) == {"·"}
    assert "681" not in frame.to_string()


counts = st.lists(st.integers(0, 40), min_size=3, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=counts, code=st.sampled_from(["nb", "nn", "en"]))
def test_the_written_table_shows_a_mark_wherever_the_layer_hid_a_cell(n, code):
    table = pd.DataFrame({"institution": [f"inst {k}" for k in range(len(n))], "n": n,
                          "share": [0.5] * len(n)})
    safe = _sdc(code).show(table, name="by institution")
    frame, kinds = safe.written()
    marks = {safe.rules.suppressed_text, safe.rules.protected_text}
    hidden = safe.suppressed["n"].to_numpy()
    written = frame[kinds["counts"][0]].to_numpy()
    assert all((w in marks) == h for w, h in zip(written, hidden))
    for w, v, h in zip(written, n, hidden):
        if not h:
            assert w == str(v)


def test_the_checker_reads_counts_under_norwegian_headers(tmp_path):
    safe = _sdc("nb").show(_estimates(276), name="estimates")
    page = tmp_path / "r.html"
    page.write_text(safe._repr_html_(), encoding="utf-8")
    assert check_path(page).empty
    # The same table with its "n med IP" of 276 turned into 3, as a hand edit would: the
    # checker must know that column holds counts although its header is no name it knows.
    page.write_text(safe._repr_html_().replace("<td>276</td>", "<td>3</td>"), encoding="utf-8")
    found = check_path(page)
    assert not found.empty and "n med IP" in " ".join(found["where"])
