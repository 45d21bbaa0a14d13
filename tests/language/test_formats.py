"""Numbers, shares, intervals and dates as each language writes them, and the reading of them
back by the output checker (a number the checker could not read would hide a count from it)."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluation.disclosure.cell_text import parse_number
from evaluation.errors import ParameterError
from evaluation.language import (MISSING, date, interval, language, number, p_value, percent,
                                 points, using, value)


@pytest.mark.parametrize("code, expected", [
    ("nb", "1\u202f234\u202f567,9"), ("nn", "1\u202f234\u202f567,9"), ("en", "1,234,567.9")])
def test_thousands_and_decimals_follow_the_language(code, expected):
    with using(code):
        assert number(1234567.89, 1) == expected


def test_norwegian_writes_the_minus_sign_and_a_space_before_percent():
    with using("nb"):
        assert number(-0.25, 2) == "−0,25"
        assert percent(0.5) == "50\u00a0%"
        assert interval(-0.0512, 0.031, 1, scale=100) == "−5,1 til 3,1"
        assert date(dt.date(2026, 12, 4)) == "4. desember 2026"
    with using("en"):
        assert percent(0.5) == "50%" and date("2026-12-04") == "4 December 2026"


def test_a_number_that_rounds_to_zero_has_no_sign():
    with using("nb"):
        assert number(-0.004, 2) == "0,00"
        assert number(0.04, 1, sign=True) == "+0,0" or number(0.04, 1, sign=True) == "0,0"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, math.inf])
def test_missing_is_a_dash_in_every_format(missing):
    assert number(missing) == percent(missing) == points(missing) == p_value(missing) == MISSING
    assert interval(missing, 1) == MISSING and value(missing) == MISSING


def test_p_values_are_never_zero():
    with using("nb"):
        assert p_value(0.0) == "< 0,001" and p_value(0.0312) == "0,03"
    assert p_value(0.004) == "0.004"


def test_yes_and_no_instead_of_true_and_false():
    with using("nb"):
        assert value(True) == "ja" and value(False) == "nei"


def test_an_unknown_language_is_refused_in_the_one_message_form():
    with pytest.raises(ParameterError, match="parameter 'language' is 'de'; expected one of"):
        language("de")


@given(x=st.floats(-1e7, 1e7, allow_nan=False), decimals=st.integers(0, 3),
       code=st.sampled_from(["nb", "nn", "en"]))
def test_the_output_checker_reads_every_number_back(x, decimals, code):
    """What the reports write, the checker must read as the same number (in Norwegian: the
    thin space and the minus sign), else a count could pass it unread."""
    with using(code):
        text = number(x, decimals)
    if code == "en":      # English thousands commas are read as a list by the checker
        text = text.replace(",", "")
    parsed = parse_number(text)
    assert parsed is not None, text
    assert abs(parsed[0] - x) <= 0.5 * 10 ** -decimals * (1 + 1e-9) + 1e-9    # x, rounded
