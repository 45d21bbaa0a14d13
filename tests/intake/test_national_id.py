"""National ID validation and search (evaluation.intake.national_id).

Every number here is computed from the check-digit rules, not taken from a person.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.errors import ParameterError
from evaluation.intake.national_id import (
    check_digits,
    columns_with_national_ids,
    find_national_ids,
    is_valid_national_id,
    mask_national_id,
    national_id_kind,
    scan_frame,
)

WORKED = "31129956715"   # fnrinfo.no's worked example (landscape.md 7.3)
W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def complete(first9: str) -> str:
    """first9 + its 1964 check digits (the test fails if the prefix has none)."""
    digits = check_digits(first9)
    assert digits is not None, first9
    return first9 + "".join(map(str, digits))


def first_completable(prefix6: str, start: int = 0) -> str:
    """The first individnummer >= start that gives prefix6 valid 1964 check digits."""
    for individ in range(start, 1000):
        if check_digits(f"{prefix6}{individ:03d}") is not None:
            return complete(f"{prefix6}{individ:03d}")
    raise AssertionError(prefix6)


def complete_2032(first9: str, remainder: int) -> str | None:
    """first9 + check digits under the 2032 rule with the given first remainder, if possible."""
    digits = [int(c) for c in first9]
    k1 = (remainder - sum(d * w for d, w in zip(digits, W1))) % 11
    if k1 == 10:
        return None
    k2 = -sum(d * w for d, w in zip(digits + [k1], W2)) % 11
    if k2 == 10:
        return None
    return f"{first9}{k1}{k2}"


# ------------------------------------------------------------------ check digits and validity

def test_worked_example_is_valid_and_check_digits_are_derived():
    assert is_valid_national_id(WORKED)
    assert is_valid_national_id(WORKED, allow_2032=False)
    assert national_id_kind(WORKED) == "fødselsnummer"
    assert check_digits("311299567") == (1, 5)


def test_check_digits_rejects_malformed_prefix_without_echoing_it():
    for bad in ["31129956", "3112995670", "31129956x", "３１１２９９５６７"]:
        with pytest.raises(ParameterError) as info:
            check_digits(bad)
        assert bad not in str(info.value)


def test_non_strings_and_formatted_values_are_not_ids():
    assert not is_valid_national_id(int(WORKED))           # type: ignore[arg-type]
    assert not is_valid_national_id(WORKED + " ")
    assert not is_valid_national_id("311299 56715")
    assert not is_valid_national_id("３１１２９９５６７１５")     # full-width digits
    assert national_id_kind(None) is None                  # type: ignore[arg-type]


def single_digit_changes(number: str):
    for position in range(11):
        for digit in "0123456789":
            if digit != number[position]:
                yield number[:position] + digit + number[position + 1:]


def test_every_single_digit_change_is_invalid():
    changed = list(single_digit_changes(WORKED))
    assert len(changed) == 99
    assert not any(is_valid_national_id(v, allow_2032=False) for v in changed)
    # Under the 2032 rule the first sum may leave 1-3, but the second sum covers all 11 digits
    # with weights 1..7, none divisible by 11, so a one-digit change (by 1..9) always moves it
    # off 0: the 2032 scheme still catches every single-digit error. Count: 0.
    valid_2032 = [v for v in changed if is_valid_national_id(v, allow_2032=True)]
    assert valid_2032 == []


def test_single_digit_changes_of_a_2032_number_are_invalid_too():
    number = complete_2032("010170123", 2) or complete_2032("010170125", 2)
    assert number is not None and is_valid_national_id(number)
    assert not any(is_valid_national_id(v) for v in single_digit_changes(number))


def test_d_number_and_h_number():
    d_number = complete("711299567")            # 31.12.99, first digit + 4
    h_number = first_completable("315299")      # 31.12.99, month + 40
    assert is_valid_national_id(d_number) and national_id_kind(d_number) == "d-number"
    assert is_valid_national_id(h_number) and national_id_kind(h_number) == "h-number"
    # A number with both offsets is not one of the kinds recognised.
    both = first_completable("715299")
    assert national_id_kind(both) is None


@pytest.mark.parametrize("prefix6, why", [
    ("321299", "day 32"),
    ("311399", "month 13"),
    ("300299", "30 February"),
    ("310499", "31 April"),
    ("001299", "day 0"),
    ("310099", "month 0"),
    ("291201", "sanity: a good date"),
    ("290201", "29 February in a year that is not a leap year in any century"),
    ("725299", "D-number of day 32"),
    ("315399", "H-number of month 13"),
])
def test_impossible_dates_are_invalid(prefix6, why):
    number = first_completable(prefix6)
    assert is_valid_national_id(number) == (why.startswith("sanity")), why


def test_29_february_is_accepted_when_some_century_makes_it_a_leap_day():
    for yy in ["00", "04", "96"]:                # 2000 (leap, unlike 1900), 2004/1904, 1996
        assert is_valid_national_id(first_completable(f"2902{yy}")), yy


def test_2032_scheme_number_depends_on_allow_2032():
    for remainder in (1, 2, 3):
        number = next(n for n in (complete_2032(f"010170{i:03d}", remainder) for i in range(1000))
                      if n is not None)
        first_sum = sum(int(c) * w for c, w in zip(number, W1 + (1,))) % 11
        assert first_sum == remainder
        assert is_valid_national_id(number, allow_2032=True), number
        assert not is_valid_national_id(number, allow_2032=False), number
        assert national_id_kind(number) == "fødselsnummer"
        assert national_id_kind(number, allow_2032=False) is None
    for remainder in range(4, 11):                  # the 2032 rule stops at 3
        number = next(n for n in (complete_2032(f"010170{i:03d}", remainder) for i in range(1000))
                      if n is not None)
        assert not is_valid_national_id(number, allow_2032=True), (remainder, number)


def test_remainder_10_prefix_has_no_valid_1964_number():
    # k1 = 10 when the weighted sum of the first nine digits leaves remainder 1.
    prefix = next(f"010170{i:03d}" for i in range(1000)
                  if sum(int(c) * w for c, w in zip(f"010170{i:03d}", W1)) % 11 == 1)
    assert check_digits(prefix) is None
    endings = [f"{prefix}{k:02d}" for k in range(100)]
    assert not any(is_valid_national_id(n, allow_2032=False) for n in endings)
    # The 2032 rule gives such a prefix a first check digit again (remainders 1-3).
    assert any(is_valid_national_id(n, allow_2032=True) for n in endings)


# ------------------------------------------------------------------ text

def test_find_in_free_text():
    text = "Pasient 311299 56715 ringte"
    found = find_national_ids(text)
    assert found == [(8, 20, WORKED)]
    assert text[8:20] == "311299 56715"
    assert find_national_ids("ID 311299-56715.") == [(3, 15, WORKED)]
    assert find_national_ids(f"a {WORKED} b {complete('711299567')}") == [
        (2, 13, WORKED), (16, 27, complete("711299567"))]


def test_invalid_checksum_and_longer_digit_runs_are_not_found():
    assert not is_valid_national_id("12345678901")
    assert find_national_ids("tlf 12345678901") == []
    assert find_national_ids(f"konto {WORKED}0") == []
    assert find_national_ids(f"konto 0{WORKED}") == []
    assert find_national_ids("311299  56715") == []          # two spaces: not the format
    assert find_national_ids("3112 9956715") == []           # separator in the wrong place


# ------------------------------------------------------------------ masking

def test_mask_keeps_two_digits_and_the_length():
    assert mask_national_id(WORKED) == "31*********"
    assert mask_national_id("311299 56715") == "31**** *****"


# ------------------------------------------------------------------ tables

@pytest.fixture
def leading_zero_id() -> str:
    number = first_completable("010170")
    assert number.startswith("0") and len(str(int(number))) == 10
    return number


def test_scan_frame_finds_text_and_zero_padded_integers(leading_zero_id):
    d_number = complete("711299567")
    df = pd.DataFrame({
        "note": ["ok", f"Pasient {WORKED[:6]} {WORKED[6:]} ringte", None, "12345678901"],
        "pid": np.array([1, int(leading_zero_id), 12345678901, int(d_number)], dtype="int64"),
        "clean": ["a", "b", "c", "d"],
    }, index=[10, 11, 12, 13])
    found = scan_frame(df)
    assert list(found.columns) == ["column", "row", "kind", "masked", "whole_cell"]
    expected = pd.DataFrame({
        "column": ["note", "pid", "pid"],
        "row": [11, 11, 13],
        "kind": ["fødselsnummer", "fødselsnummer", "d-number"],
        "masked": ["31**** *****", "01*********", "71*********"],
        "whole_cell": [False, True, True],
    })
    pd.testing.assert_frame_equal(found.reset_index(drop=True), expected, check_dtype=False)
    for masked, number in zip(found["masked"], [WORKED, leading_zero_id, d_number]):
        assert number not in masked and number[2:] not in masked.replace(" ", "")
    assert columns_with_national_ids(df) == {"note": 1, "pid": 2}
    assert columns_with_national_ids(df, min_share=0.5) == {"pid": 2}


def test_scan_frame_float_and_mixed_object_columns(leading_zero_id):
    df = pd.DataFrame({
        "as_float": [float(leading_zero_id), np.nan, 1.5, float(WORKED) + 0.5],
        "mixed": [int(WORKED), "x", f"{WORKED}", 3.0],
        "categorical": pd.Categorical([WORKED, "a", "a", WORKED]),
        "flag": [True, False, True, False],
    })
    found = scan_frame(df)
    got = list(zip(found["column"], found["row"], found["whole_cell"]))
    assert got == [("as_float", 0, True), ("mixed", 0, True), ("mixed", 2, True),
                   ("categorical", 0, True), ("categorical", 3, True)]


def test_scan_frame_options(leading_zero_id):
    df = pd.DataFrame({"a": [WORKED, "x", WORKED], "b": [WORKED, "y", "z"]})
    assert scan_frame(df, columns=["b"])["column"].tolist() == ["b"]
    assert scan_frame(df, max_rows=2)["row"].tolist() == [0, 0]
    empty = scan_frame(df, columns=["b"], max_rows=0)
    assert empty.empty and list(empty.columns) == ["column", "row", "kind", "masked",
                                                    "whole_cell"]
    with pytest.raises(ParameterError, match="not in the table"):
        scan_frame(df, columns=["c"])
    with pytest.raises(ParameterError, match="max_rows"):
        scan_frame(df, max_rows=-1)


def test_scan_frame_two_ids_in_one_cell_and_a_duplicate_index():
    df = pd.DataFrame({"t": [f"{WORKED} og {complete('711299567')}", WORKED]}, index=["r", "r"])
    found = scan_frame(df)
    assert found["whole_cell"].tolist() == [False, False, True]
    assert found["kind"].tolist() == ["fødselsnummer", "d-number", "fødselsnummer"]
    assert columns_with_national_ids(df) == {"t": 2}        # cells, not findings


def test_scan_frame_is_fast_on_a_large_frame():
    import time
    rng = np.random.default_rng(1)
    n = 200_000
    df = pd.DataFrame({
        "ints": rng.integers(10**10, 10**11, n),
        "text": pd.Series(rng.integers(0, 10**6, n)).astype(str) + " svar",
    })
    start = time.perf_counter()
    found = scan_frame(df)
    assert time.perf_counter() - start < 1.5
    # Random 11-digit numbers: about 1/121 pass the 1964 sums (4/121 with 2032) and fewer
    # have a real date, so a small share is "found"; every finding is a valid ID.
    assert len(found) < 0.04 * n
    assert (found["column"] == "ints").all()


# ------------------------------------------------------------------ properties

@st.composite
def prefixes(draw):
    date = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
    kind = draw(st.sampled_from(["fødselsnummer", "d-number", "h-number"]))
    day = date.day + (40 if kind == "d-number" else 0)
    month = date.month + (40 if kind == "h-number" else 0)
    individ = draw(st.integers(0, 999))
    return f"{day:02d}{month:02d}{date.year % 100:02d}{individ:03d}", kind


@settings(max_examples=300, deadline=None)
@given(prefixes())
def test_completed_prefixes_are_valid_and_masks_hide_them(prefix_and_kind):
    first9, kind = prefix_and_kind
    digits = check_digits(first9)
    if digits is None:
        assert not any(is_valid_national_id(f"{first9}{k:02d}", allow_2032=False)
                       for k in range(100))
        return
    number = first9 + "".join(map(str, digits))
    assert is_valid_national_id(number, allow_2032=False)
    assert national_id_kind(number) == kind
    assert find_national_ids(f"x {number} y") == [(2, 13, number)]
    masked = mask_national_id(number)
    assert len(masked) == 11 and sum(c.isdigit() for c in masked) <= 2
