"""Norwegian national identity numbers (fødselsnummer, D- and H-numbers): is this an ID?

:func:`is_valid_national_id`, :func:`national_id_kind`, :func:`check_digits`, and
:func:`mask_national_id` to report one without repeating it. Searching tables and text for IDs
is :mod:`evaluation.intake.national_id`.

Structure (Skatteetaten, "Fødselsnummer"): ``DDMMYY`` + individnummer (3 digits) + check
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

from evaluation.errors import ParameterError

__all__ = ["KINDS", "check_digits", "is_valid_national_id", "kind_from_date", "mask_national_id",
           "national_id_kind"]

KINDS = ("fødselsnummer", "d-number", "h-number")

WEIGHTS_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)        # over d1..d10 (the last 1 is k1 itself)
WEIGHTS_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)     # over d1..d11
REMAINDERS_1964 = frozenset({0})
REMAINDERS_2032 = frozenset({0, 1, 2, 3})          # first check digit only; the second stays 0

KEPT_DIGITS = 2                                     # digits left visible by mask_national_id

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")


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
    return kind_from_date(value)


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


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def kind_from_date(value: str) -> str | None:
    """The kind of ID the date part of 11 digits makes (D-number: day + 40, H-number: month
    + 40), or None when it is not a date."""
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
