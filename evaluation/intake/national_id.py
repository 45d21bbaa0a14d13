"""Norwegian national identity numbers (fødselsnummer, D- and H-numbers): validation and search.

A study must never carry a person's fødselsnummer into the analysis area. This module answers
two questions: *is this an ID?* (:func:`is_valid_national_id`, :func:`national_id_kind`) and
*where in this table or text are there IDs?* (:func:`find_national_ids`, :func:`scan_frame`,
:func:`columns_with_national_ids`). Findings are reported masked (:func:`mask_national_id`), so
the report of a leak does not repeat the leak.

Structure (shared/domain/landscape.md, 7.3): ``DDMMYY`` + individnummer (3 digits) + check
digits ``k1 k2``. D-numbers add 4 to the first digit (day 41–71), H-numbers add 40 to the month
(41–52).

Check digits, with digits ``d1..d11`` (``d10 = k1``, ``d11 = k2``):

* 1964 scheme: ``Σ d1..d10 · [3,7,6,1,8,9,4,5,2,1] ≡ 0`` and
  ``Σ d1..d11 · [5,4,3,2,7,6,5,4,3,2,1] ≡ 0 (mod 11)``. Equivalently
  ``k = 11 − (weighted sum mod 11)``, 11 becomes 0 and 10 means the individnummer is not used.
* 2032 scheme (numbers issued from 1 January 2032, to be accepted alongside the old ones): the
  first sum may leave remainder **0, 1, 2 or 3**; the second must still leave 0. Verified against
  Skatteetaten's reference code as ported in ivarref/norwegian-national-id-validator
  (``src/cljc/norwegian_national_id_validator/core.cljc``: ``gyldig-rest-k1 #{0 1 2 3}``,
  ``gyldig-rest-k2 0``, "Direkte omskriving av kildekode fra
  https://skatteetaten.github.io/folkeregisteret-api-dokumentasjon/nytt-fodselsnummer-fra-2032/")
  and navikt/fnrvalidator (``src/validator.ts``: ``k1 = (11 + rest) − (k1Sum % 11)`` for
  ``rest`` in 0..3, ``k2`` computed from the actual ``k1`` as before).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from evaluation.errors import ParameterError

__all__ = [
    "KINDS",
    "check_digits",
    "columns_with_national_ids",
    "find_national_ids",
    "is_valid_national_id",
    "mask_national_id",
    "national_id_kind",
    "scan_frame",
]

KINDS = ("fødselsnummer", "d-number", "h-number")

WEIGHTS_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)        # over d1..d10 (the last 1 is k1 itself)
WEIGHTS_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)     # over d1..d11
REMAINDERS_1964 = frozenset({0})
REMAINDERS_2032 = frozenset({0, 1, 2, 3})          # first check digit only; the second stays 0

KEPT_DIGITS = 2                                     # digits left visible by mask_national_id

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
# 11 digits, optionally "DDMMYY NNNNN" / "DDMMYY-NNNNN", not inside a longer run of digits.
_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6})[ \-]?([0-9]{5})(?![0-9])")
# Prefilter for pandas: no look-around, so the pyarrow (RE2) string engine can run it too.
CANDIDATE = r"[0-9]{6}[ \-]?[0-9]{5}"

FINDING_COLUMNS = ["column", "row", "kind", "masked", "whole_cell"]


# --------------------------------------------------------------------------- single values

def check_digits(first9: str) -> tuple[int, int] | None:
    """The two check digits of the 1964 scheme for a 9-digit prefix (date + individnummer).

    Parameters
    ----------
    first9 : str
        Nine ASCII digits: ``DDMMYY`` (with the D/H offsets if any) and the individnummer.

    Returns
    -------
    tuple of int or None
        ``(k1, k2)``, or None when either check digit would be 10: Skatteetaten does not issue
        that individnummer on that date.

    Raises
    ------
    ParameterError
        If ``first9`` is not nine ASCII digits. The message gives the length, never the value.

    Notes
    -----
    ``k1 = 11 − (Σ d1..d9 · [3,7,6,1,8,9,4,5,2] mod 11)`` and
    ``k2 = 11 − (Σ d1..d9,k1 · [5,4,3,2,7,6,5,4,3,2] mod 11)``; 11 becomes 0, 10 is invalid.

    References
    ----------
    fnrinfo.no/Teknisk/KontrollsifferBeregning.aspx (the worked example below).

    Examples
    --------
    The worked example of fnrinfo.no: Sum1 = 241, remainder 10, k1 = 1; Sum2 = 215,
    remainder 6, k2 = 5.

    >>> check_digits("311299567")
    (1, 5)
    """
    if not isinstance(first9, str) or len(first9) != 9 or not _is_ascii_digits(first9):
        length = len(first9) if isinstance(first9, str) else type(first9).__name__
        raise ParameterError(
            f"check_digits needs the first nine digits of a national ID as a string of nine "
            f"digits 0-9; got {length!r} (value not shown, it may be personal data).")
    digits = [int(c) for c in first9]
    k1 = -sum(d * w for d, w in zip(digits, WEIGHTS_K1)) % 11
    if k1 == 10:
        return None
    k2 = -sum(d * w for d, w in zip(digits + [k1], WEIGHTS_K2)) % 11
    if k2 == 10:
        return None
    return k1, k2


def national_id_kind(value: str, *, allow_2032: bool = True) -> str | None:
    """Which kind of national ID ``value`` is, or None if it is not a valid one.

    Parameters
    ----------
    value : str
        Exactly 11 ASCII digits; anything else (spaces, hyphens, int) is not an ID here. Use
        :func:`find_national_ids` for formatted numbers in text.
    allow_2032 : bool, default True
        Also accept the check-digit rule for numbers issued from 2032 (first remainder 0–3).

    Returns
    -------
    str or None
        ``'fødselsnummer'``, ``'d-number'`` (first digit + 4), ``'h-number'`` (month + 40),
        or None.

    Notes
    -----
    The date must exist: day 1 to the month's length, month 1–12 after removing the offsets,
    29 February only when ``YY`` is divisible by 4. Without the century this is still exact:
    every such ``YY`` is a leap year in 20YY (2000 included), and no other ``YY`` is a leap year
    in any century. The individnummer is not checked against the birth year, because from 2032
    it no longer encodes the century. A number with both offsets, FH-numbers (first digit 8–9)
    and synthetic test numbers (month + 80) are not recognised.

    Examples
    --------
    >>> national_id_kind("31129956715")
    'fødselsnummer'
    >>> national_id_kind("31129956716") is None
    True
    """
    if not isinstance(value, str) or not _ELEVEN_DIGITS.fullmatch(value):
        return None
    digits = [ord(c) - 48 for c in value]
    remainder_1 = sum(d * w for d, w in zip(digits, WEIGHTS_K1)) % 11
    allowed = REMAINDERS_2032 if allow_2032 else REMAINDERS_1964
    if remainder_1 not in allowed:
        return None
    if sum(d * w for d, w in zip(digits, WEIGHTS_K2)) % 11 != 0:
        return None
    return _kind_from_date(value)


def is_valid_national_id(value: str, *, allow_2032: bool = True) -> bool:
    """True if ``value`` is a valid fødselsnummer, D-number or H-number (11 digits).

    Parameters
    ----------
    value : str
        Exactly 11 ASCII digits.
    allow_2032 : bool, default True
        Accept the 2032 check-digit rule in parallel with the 1964 rule, as Skatteetaten asks
        of every system that reads these numbers.

    Returns
    -------
    bool

    Notes
    -----
    Both check digits are tested as weighted sums over all digits, mod 11:
    ``Σ d1..d10 · [3,7,6,1,8,9,4,5,2,1]`` must leave 0 (1964) or 0–3 (2032), and
    ``Σ d1..d11 · [5,4,3,2,7,6,5,4,3,2,1]`` must leave 0. See :func:`national_id_kind` for the
    date rules.

    References
    ----------
    Skatteetaten, "Nytt fødselsnummer fra 2032",
    https://skatteetaten.github.io/folkeregisteret-api-dokumentasjon/nytt-fodselsnummer-fra-2032/
    (reference code ported in ivarref/norwegian-national-id-validator; the same rule in
    navikt/fnrvalidator).

    Examples
    --------
    The worked example of fnrinfo.no is valid; changing any one digit makes it invalid:

    >>> is_valid_national_id("31129956715")
    True
    >>> is_valid_national_id("31129956725")
    False

    D-number (first digit + 4, check digits recomputed) and H-number (month + 40):

    >>> first9 = "711299567"
    >>> k1, k2 = check_digits(first9)
    >>> is_valid_national_id(f"{first9}{k1}{k2}"), national_id_kind(f"{first9}{k1}{k2}")
    (True, 'd-number')
    """
    return national_id_kind(value, allow_2032=allow_2032) is not None


def mask_national_id(value: str) -> str:
    """``value`` with every digit after the first two replaced by ``*``.

    Parameters
    ----------
    value : str
        An ID, plain or formatted (``'311299 56715'``). Other characters are kept.

    Returns
    -------
    str
        Same length as ``value``.

    Notes
    -----
    Two digits are enough for a reader to find the finding again in the cell named by the
    report (``column``, ``row``), and say no more than the day of the month (or, for a
    D-number, day + 40): one of 31 values, shared by about 3 % of everybody. The birth year,
    month, individnummer and sex stay hidden, and with them everything that could single a
    person out or let someone rebuild the number (check digits leave roughly 10⁷ candidates).

    Examples
    --------
    >>> mask_national_id("31129956715")
    '31*********'
    >>> mask_national_id("311299-56715")
    '31****-*****'
    """
    text = str(value)
    head = text[:KEPT_DIGITS]
    return head + "".join("*" if c.isdigit() else c for c in text[KEPT_DIGITS:])


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
    digits and date count, which rejects about 99 % of random 11-digit numbers.

    Examples
    --------
    >>> find_national_ids("Pasient 311299 56715 ringte")
    [(8, 20, '31129956715')]
    >>> find_national_ids("tlf 12345678901")
    []
    """
    if not isinstance(text, str):
        return []
    found = []
    for match in _IN_TEXT.finditer(text):
        digits = match.group(1) + match.group(2)
        if is_valid_national_id(digits, allow_2032=allow_2032):
            found.append((match.start(), match.end(), digits))
    return found


# --------------------------------------------------------------------------- tables

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
        if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) \
                or max_rows < 0:
            raise ParameterError(f"max_rows must be a non-negative integer or None; got "
                                 f"{max_rows!r}.")
        df = df.iloc[:max_rows]
    records = [(label, df.index[row], kind, mask_national_id(shown), whole)
               for _, label, row, kind, shown, whole in _findings(df, selected, allow_2032)]
    out = pd.DataFrame.from_records(records, columns=FINDING_COLUMNS)
    return out.astype({"column": object, "row": object, "kind": object, "masked": object,
                       "whole_cell": bool})


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
    if not 0.0 <= float(min_share) <= 1.0:
        raise ParameterError(f"min_share must be between 0 and 1; got {min_share!r}.")
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

def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _kind_from_date(value: str) -> str | None:
    day, month, year = int(value[0:2]), int(value[2:4]), int(value[4:6])
    kind = "fødselsnummer"
    if day > 40:
        day -= 40
        kind = "d-number"
    if month > 40:
        if kind == "d-number":
            return None
        month -= 40
        kind = "h-number"
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        return None
    if month == 2 and day == 29 and year % 4:
        return None
    return kind


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
            found.append((position, _kind_from_date(digits), cell[start:end], whole))
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
        kind = _kind_from_date(text)
        if kind is not None:
            found.append((position, kind, text, True))
    return found
