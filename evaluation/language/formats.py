r"""Numbers, shares, intervals and dates as a reader of the language writes them (Babel).

Norwegian: decimal comma, a thin space between thousands (U+202F, the narrow no-break space,
so that a number never breaks over two lines), the minus sign U+2212; English: a decimal
point and a comma between thousands. Missing is "–" in every language.

>>> from evaluation.language.catalogue import using
>>> with using("nb"):
...     number(-1234.56, 1), percent(0.1234, 1), interval(-0.5, 3.26, 1), p_value(0.0004)
('−1\u202f234,6', '12,3\xa0%', '−0,5 til 3,3', '< 0,001')
>>> number(float("nan")), number(1234.5, 0), points(0.032)
('–', '1,234', '3.2')
"""
from __future__ import annotations

import datetime as dt
import math
import numbers as _numbers

from babel import dates as babel_dates
from babel import numbers as babel_numbers

from evaluation.language.catalogue import Language, active, gettext, ngettext

MISSING = "–"
THIN_SPACE = "\u202f"


def is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(x != x) or (isinstance(x, float) and math.isinf(x))   # NaN, pd.NA
    except TypeError:           # pd.NA compares to NA: bool(NA) raises
        return True


def number(x, decimals: int = 1, *, sign: bool = False, lang: Language | None = None) -> str:
    """``x`` rounded to ``decimals`` places; ``sign`` writes + before a positive number."""
    if is_missing(x):
        return MISSING
    lang = lang or active()
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = babel_numbers.format_decimal(abs(float(x)), format=pattern, locale=lang.locale,
                                        decimal_quantization=True)
    if lang.code != "en":
        text = text.replace("\u00a0", THIN_SPACE).replace(" ", THIN_SPACE)
    negative = round(float(x), decimals) < 0
    minus = "−" if lang.code != "en" else "-"
    return (minus if negative else "+" if sign and float(x) > 0 else "") + text


def integer(x, *, lang: Language | None = None) -> str:
    return number(x, 0, lang=lang)


def people(n, *, lang: Language | None = None) -> str:
    """``12 people``, ``1 person`` (``12 personer``)."""
    lang = lang or active()
    return lang.ngettext("{n} person", "{n} people", int(n)).format(n=integer(n, lang=lang))


def percent(share, decimals: int = 0, *, lang: Language | None = None) -> str:
    """A share (0.123) as a percentage (``12 %`` in Norwegian, ``12%`` in English)."""
    if is_missing(share):
        return MISSING
    lang = lang or active()
    value = number(100 * float(share), decimals, lang=lang)
    return value + ("\u00a0%" if lang.code != "en" else "%")


def points(difference, decimals: int = 1, *, sign: bool = False,
           lang: Language | None = None) -> str:
    """A difference of two shares in percentage points (0.032 → ``3.2``); the unit is said
    by the header or sentence (:func:`points_unit`)."""
    if is_missing(difference):
        return MISSING
    return number(100 * float(difference), decimals, sign=sign, lang=lang)


def points_unit() -> str:
    return gettext("percentage points")


def interval(low, high, decimals: int = 1, *, scale: float = 1.0,
             lang: Language | None = None) -> str:
    """A confidence interval: ``−0,5 til 3,2``; either end missing gives "–"."""
    if is_missing(low) or is_missing(high):
        return MISSING
    lang = lang or active()
    to = lang.gettext("{low} to {high}")
    return to.format(low=number(scale * float(low), decimals, lang=lang),
                     high=number(scale * float(high), decimals, lang=lang))


def p_value(p, *, lang: Language | None = None) -> str:
    """A p-value as a reader expects it: ``0,03``, ``< 0,001`` (never ``0.000``)."""
    if is_missing(p):
        return MISSING
    if float(p) < 0.001:
        return "< " + number(0.001, 3, lang=lang)
    return number(float(p), 3 if float(p) < 0.01 else 2, lang=lang)


def date(value, *, lang: Language | None = None) -> str:
    """A date written out (``4. desember 2026``, ``4 December 2026``)."""
    if is_missing(value):
        return MISSING
    lang = lang or active()
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.date()
    return babel_dates.format_date(value, format="long", locale=lang.locale)


def value(x, decimals: int = 1, *, lang: Language | None = None) -> str:
    """Any cell: numbers formatted, True/False as yes/no, missing as "–", text as it is."""
    if isinstance(x, bool) or (hasattr(x, "dtype") and getattr(x, "dtype", None) == bool):
        lang = lang or active()
        return lang.gettext("yes") if x else lang.gettext("no")
    if is_missing(x):
        return MISSING
    if isinstance(x, _numbers.Integral):
        return integer(x, lang=lang)
    if isinstance(x, _numbers.Real):
        return number(x, 0 if float(x).is_integer() and abs(float(x)) >= 100 else decimals,
                      lang=lang)
    return str(x)
