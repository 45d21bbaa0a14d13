"""Norwegian national identity numbers in tables and text: where are there IDs?

A study must never carry a person's fødselsnummer into the analysis area. This module finds
them (:func:`find_national_ids`, :func:`scan_frame`, :func:`columns_with_national_ids`);
whether 11 digits are an ID is :mod:`evaluation.intake.id_numbers`, whose functions are
exported here too. Findings are reported masked (:func:`mask_national_id`), so the report of a
leak does not repeat the leak.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from evaluation.constraints import Interval, validate_params
from evaluation.errors import ParameterError
from evaluation.intake.id_numbers import (KINDS, REMAINDERS_1964, REMAINDERS_2032, WEIGHTS_K1,
                                          WEIGHTS_K2, check_digits, is_valid_national_id,
                                          kind_from_date, mask_national_id, national_id_kind)

__all__ = [
    "KINDS",
    "CANDIDATE",
    "check_digits",
    "columns_with_national_ids",
    "find_national_ids",
    "is_valid_national_id",
    "mask_national_id",
    "national_id_kind",
    "scan_frame",
]

# 11 digits, optionally "DDMMYY NNNNN" / "DDMMYY-NNNNN", not inside a longer run of digits.
_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6})[ \-]?([0-9]{5})(?![0-9])")
# A digest in hexadecimal (MD5 and longer: git commits, the SHA-256 of a report's provenance
# stamp) is one number written in base 16; 11 decimal digits inside it are not an ID (about
# one SHA-256 in 5 000 holds a run that passes the check digits).
_HEX_WORD = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-f]{32,}|[0-9A-F]{32,})(?![0-9A-Za-z])")
# Prefilter for pandas: no look-around, so the pyarrow (RE2) string engine can run it too.
CANDIDATE = r"[0-9]{6}[ \-]?[0-9]{5}"

FINDING_COLUMNS = ["column", "row", "kind", "masked", "whole_cell"]


# --------------------------------------------------------------------------- text

def find_national_ids(text: str, *, allow_2032: bool = True) -> list[tuple[int, int, str]]:
    """Spans of valid national IDs in free text.

    Parameters
    ----------
    text : str
        Any text, e.g. a free-text survey answer or a journal note.
    allow_2032 : bool, default True
        Passed to :func:`is_valid_national_id`.

    Returns
    -------
    list of (start, end, id)
        ``text[start:end]`` is the ID as written; ``id`` is its 11 digits without separator.

    Notes
    -----
    Candidates are 11 consecutive digits, or ``DDMMYY NNNNN`` / ``DDMMYY-NNNNN`` (one space or
    hyphen after the sixth digit), not preceded or followed by another digit: a longer run of
    digits (an account number, a timestamp) is never split. Only candidates with valid check
    digits and date count, which rejects about 99 % of random 11-digit numbers. Nor are digits
    read inside a hexadecimal word of 32 characters or more (one case, between characters
    that are neither letters nor digits): an MD5, SHA-1 or SHA-256 digest, whose decimal runs
    are part of a number in base 16.

    Examples
    --------
    >>> find_national_ids("Pasient 311299 56715 ringte")
    [(8, 20, '31129956715')]
    >>> find_national_ids("tlf 12345678901")
    []
    >>> find_national_ids("sha256 22492061879a16b906982f2381ad3b4091282f6ed1cbcc7e0fe4ba370af18e98")
    []
    """
    if not isinstance(text, str):
        return []
    found, hex_words = [], None
    for match in _IN_TEXT.finditer(text):
        digits = match.group(1) + match.group(2)
        if not is_valid_national_id(digits, allow_2032=allow_2032):
            continue
        if hex_words is None:          # looked for only once a candidate passed the checks
            hex_words = [m.span() for m in _HEX_WORD.finditer(text)]
        if any(start < match.end() and match.start() < end for start, end in hex_words):
            continue
        found.append((match.start(), match.end(), digits))
    return found


# --------------------------------------------------------------------------- tables

@validate_params({"max_rows": [Interval(0, None, integral=True), None], "allow_2032": ["boolean"]})
def scan_frame(df: pd.DataFrame, *, columns: Iterable | None = None, max_rows: int | None = None,
               allow_2032: bool = True) -> pd.DataFrame:
    """Every national ID in a table: one row per finding, masked.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to scan. Text columns are searched with :func:`find_national_ids`; numeric
        columns (integer or float) are read as numbers, so a leading zero lost on reading
        (``01017012345`` read as ``1017012345``) is put back before checking.
    columns : iterable of column labels, optional
        Only these columns (default: all).
    max_rows : int, optional
        Only the first ``max_rows`` rows (default: all).
    allow_2032 : bool, default True
        Passed to :func:`is_valid_national_id`.

    Returns
    -------
    pandas.DataFrame
        Columns ``column`` (label), ``row`` (index label), ``kind`` (see
        :func:`national_id_kind`), ``masked`` (:func:`mask_national_id` of the ID as written)
        and ``whole_cell`` (True when the cell holds nothing but the ID, False for an ID inside
        text). Ordered by column, then row. Empty, with these columns, when nothing is found.

    Raises
    ------
    ParameterError
        If a name in ``columns`` is not a column of ``df``, or ``max_rows`` is negative.

    Notes
    -----
    The work is vectorised: a regular-expression prefilter (pandas ``str.contains``) keeps only
    text cells with 11 digits in a row, and the check digits of numeric columns are computed on
    the whole array with NumPy; only the survivors are validated one by one. Boolean, datetime
    and other columns are skipped. Within object columns, Python ints and floats are treated as
    numbers and strings as text. A 10-digit *string* is not zero-padded: only numbers lose
    leading zeros on reading.

    Examples
    --------
    >>> df = pd.DataFrame({"note": ["ring 311299-56715 i morgen", "ok"],
    ...                    "pid": [31129956715, 12345]}, index=["a", "b"])
    >>> scan_frame(df)
      column row           kind        masked  whole_cell
    0   note   a  fødselsnummer  31****-*****       False
    1    pid   a  fødselsnummer   31*********        True
    """
    selected = _selected_columns(df, columns)
    if max_rows is not None:
        df = df.iloc[:int(max_rows)]
    records = [(label, df.index[row], kind, mask_national_id(shown), whole)
               for _, label, row, kind, shown, whole in _findings(df, selected, allow_2032)]
    out = pd.DataFrame.from_records(records, columns=FINDING_COLUMNS)
    return out.astype({"column": object, "row": object, "kind": object, "masked": object,
                       "whole_cell": bool})


@validate_params({"min_share": [Interval(0, 1)], "allow_2032": ["boolean"]})
def columns_with_national_ids(df: pd.DataFrame, min_share: float = 0.0, *,
                              allow_2032: bool = True) -> dict:
    """Columns holding national IDs, with the number of cells that hold one.

    Parameters
    ----------
    df : pandas.DataFrame
    min_share : float, default 0.0
        Keep a column only if the cells holding an ID are at least this share of its
        non-missing cells. 0.0 keeps every column with at least one ID; 0.9 finds ID columns
        rather than stray IDs in free text.
    allow_2032 : bool, default True
        Passed to :func:`is_valid_national_id`.

    Returns
    -------
    dict
        Column label -> number of cells holding at least one valid ID, in column order.

    Examples
    --------
    >>> df = pd.DataFrame({"pid": ["31129956715", "x"], "score": [1, 2]})
    >>> columns_with_national_ids(df)
    {'pid': 1}
    >>> columns_with_national_ids(df, min_share=0.9)
    {}
    """
    selected = _selected_columns(df, None)
    cells: dict[int, set] = {}
    for position, _, row, *_ in _findings(df, selected, allow_2032):
        cells.setdefault(position, set()).add(row)
    result = {}
    for position, label in selected:
        count = len(cells.get(position, ()))
        present = int(df.iloc[:, position].notna().sum())
        if count and count / present >= min_share:
            result[label] = result.get(label, 0) + count
    return result


# --------------------------------------------------------------------------- internals

def _selected_columns(df: pd.DataFrame, columns) -> list[tuple[int, object]]:
    """(position, label) pairs; positions so that duplicate labels are each scanned once."""
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"scan_frame needs a pandas DataFrame; got {type(df).__name__}.")
    everything = list(enumerate(df.columns))
    if columns is None:
        return everything
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable):
        columns = [columns]
    wanted = list(columns)
    missing = [c for c in wanted if c not in set(df.columns)]
    if missing:
        raise ParameterError(f"columns {missing!r} are not in the table. Expected some of "
                             f"{list(df.columns)!r}.")
    wanted_set = set(wanted)
    return [(i, label) for i, label in everything if label in wanted_set]


def _findings(df: pd.DataFrame, selected, allow_2032: bool) -> list[tuple]:
    """(column position, column label, row position, kind, ID as written, whole_cell)."""
    found = []
    for position, label in selected:
        for row_position, kind, shown, whole in _scan_series(df.iloc[:, position], allow_2032):
            found.append((position, label, row_position, kind, shown, whole))
    return found


def _scan_series(series: pd.Series, allow_2032: bool) -> list[tuple]:
    """(row position, kind, ID as written, whole_cell) for one column, in row order."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return []
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        return _scan_numbers(series, np.arange(len(series)), allow_2032)
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    positions = np.arange(len(series))
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return _scan_text(series, positions, allow_2032)
    if not pd.api.types.is_object_dtype(dtype):
        return []                                   # datetimes, periods, intervals …
    present = series.notna().to_numpy(dtype=bool)
    if pd.api.types.infer_dtype(series, skipna=True) == "string":
        return _scan_text(series[present], positions[present], allow_2032)
    # Mixed object column (e.g. read from Excel): numbers as numbers, strings as text.
    values = series.to_numpy(dtype=object)
    is_number = np.fromiter(
        (isinstance(v, (int, float, np.integer, np.floating))
         and not isinstance(v, (bool, np.bool_)) for v in values), dtype=bool, count=len(values))
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    numbers = pd.Series(values[is_number & present].astype("float64"))
    found = _scan_numbers(numbers, positions[is_number & present], allow_2032)
    found += _scan_text(pd.Series(values[is_text], dtype=object), positions[is_text],
                        allow_2032)
    return sorted(found, key=lambda f: f[0])        # stable: spans in a cell keep their order


def _scan_text(series: pd.Series, positions: np.ndarray, allow_2032: bool) -> list[tuple]:
    present = series.notna().to_numpy(dtype=bool)
    series, positions = series[present], positions[present]
    if series.empty:
        return []
    hit = series.astype(str).str.contains(CANDIDATE, regex=True)
    hit = hit.fillna(False).to_numpy(dtype=bool)
    found = []
    for position, cell in zip(positions[hit].tolist(), series[hit].astype(str).tolist()):
        spans = find_national_ids(cell, allow_2032=allow_2032)
        whole = len(spans) == 1 and cell[spans[0][0]:spans[0][1]] == cell.strip()
        for start, end, digits in spans:
            found.append((position, kind_from_date(digits), cell[start:end], whole))
    return found


def _scan_numbers(series: pd.Series, positions: np.ndarray, allow_2032: bool) -> list[tuple]:
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        # Floats hold 11-digit integers exactly (< 2**53); fractions are not IDs.
        with np.errstate(invalid="ignore"):
            usable = (np.isfinite(values) & (values == np.floor(values))
                      & (values >= 1e9) & (values < 1e11))
        numbers = values[usable].astype(np.int64)
    else:
        present = series.notna().to_numpy(dtype=bool)
        ints = series.to_numpy(dtype="int64", na_value=0)
        usable = present & (ints >= 10**9) & (ints < 10**11)   # 10 digits: a lost leading 0
        numbers = ints[usable]
    positions = positions[usable]
    if numbers.size == 0:
        return []
    # Check digits for the whole array at once; only the survivors reach Python.
    powers = 10 ** np.arange(10, -1, -1, dtype=np.int64)
    digits = (numbers[:, None] // powers[None, :]) % 10
    remainder_1 = (digits @ np.array(WEIGHTS_K1 + (0,), dtype=np.int64)) % 11
    remainder_2 = (digits @ np.array(WEIGHTS_K2, dtype=np.int64)) % 11
    allowed = sorted(REMAINDERS_2032 if allow_2032 else REMAINDERS_1964)
    keep = np.isin(remainder_1, allowed) & (remainder_2 == 0)
    found = []
    for position, number in zip(positions[keep].tolist(), numbers[keep].tolist()):
        text = f"{number:011d}"
        kind = kind_from_date(text)
        if kind is not None:
            found.append((position, kind, text, True))
    return found
