"""What a shown cell says: a number, a mark of a hidden value, a blank, or text (output checker).

The checker's leak rules do arithmetic on what a report shows, so the text of each cell must be
read as a reader reads it: ``1 234`` (space, no-break or thin space between thousands) is one
number, ``0,150`` and ``15,0 %`` are Norwegian decimals, ``12 (40 %)`` is a count with its
percentage, and ``<5``, ``·``, ``x``, ``..`` or ``–`` mark a value that was hidden, not text that
breaks a column of numbers. A table that passed the disclosure layer says its own marks in its
``data-ipeval-sdc`` JSON (``primary_mark``, ``secondary_mark``, ``min_cell``); those are read
first. Column names that say what a column holds (counts, shares, totals) are here too, shared
by every rule.

>>> read_cell("1 234").value, read_cell("15,0 %").share, read_cell("<5").high
(1234.0, 0.15, 4.0)
>>> read_cell("<5 (12,5 %)").mark, read_cell("<5 (12,5 %)").share
('primary', 0.125)
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

BLANK_TEXTS = {"", "nan", "NaN", "<NA>", "None", "NaT", "…", "...", "NA", "N/A", "n/a"}
# Marks other producers use for a suppressed count (SSB ":", "..", "x"; dashes; stars).
OTHER_MARKS = {"x", "X", "..", ":", "–", "—", "-", "*", "**", "·", "•", "‧"}
_SPACES = "\u0020\u00a0\u2009\u202f"
_NUMBER = re.compile(
    rf"^(?P<sign>[-−+])?(?P<int>\d{{1,3}}(?:[{_SPACES}]\d{{3}})+|\d+)"
    rf"(?:[.,](?P<dec>\d+))?(?:[eE](?P<exp>[-+]?\d+))?$")
_PRIMARY = re.compile(r"^[<≤]\s*(\d+)$")
# "12 (40 %)", "<5 (12,5%)", "· (3.1)": a count and its percentage in one cell.
_WITH_PERCENT = re.compile(r"^(?P<head>.+?)\s*\(\s*(?P<pct>[-−]?[\d.,]+)\s*%?\s*\)$")


@dataclass(frozen=True)
class Marks:
    """How one table writes a hidden value: the layer's primary mark (``<5``, a count of
    1 … min_cell − 1) and secondary mark (``·``, 0 or at least min_cell), else the usual ones."""

    primary: frozenset = frozenset()
    secondary: frozenset = frozenset()
    min_cell: int | None = None

    @classmethod
    def of(cls, meta: dict | None) -> "Marks":
        meta = meta if isinstance(meta, dict) else {}
        def texts(key):
            value = meta.get(key)
            return frozenset([value.strip()] if isinstance(value, str) and value.strip() else [])
        min_cell = meta.get("min_cell")
        return cls(texts("primary_mark"), texts("secondary_mark"),
                   int(min_cell) if isinstance(min_cell, (int, float)) and min_cell >= 1 else None)


DEFAULT_MARKS = Marks()


@dataclass(frozen=True)
class Reading:
    """One cell as read. ``low``/``high`` bound a hidden value; ``share`` is a percentage or
    share written in the cell (``15 %`` → 0.15, ``12 (40 %)`` → 0.4); ``decimals`` says how
    finely a number is rounded."""

    kind: str                      # "number", "mark", "blank", "text"
    value: float | None = None
    decimals: int = 0
    percent: bool = False          # the number itself was written as a percentage
    mark: str | None = None        # "primary", "secondary", "other"
    low: float = 0.0
    high: float = math.inf
    share: float | None = None
    share_decimals: int = 0
    text: str = field(default="", compare=False)
    # A value here is 0 or at least ``gap``: the layer's secondary mark in a table that says
    # its min_cell (every count of 1 … min_cell − 1 is marked with the primary mark instead).
    gap: float = 0.0

    @property
    def number(self) -> bool:
        return self.kind == "number"

    @property
    def hidden(self) -> bool:
        return self.kind == "mark"

    @property
    def whole(self) -> bool:
        return self.kind == "number" and not self.percent and self.value is not None \
            and abs(self.value - round(self.value)) < 1e-9


def parse_number(text: str) -> tuple[float, int, bool] | None:
    """``(value, decimals, percent)`` of a number as a table writes it, else None.

    >>> parse_number("1 234,5"), parse_number("15 %"), parse_number("abc")
    ((1234.5, 1, False), (15.0, 0, True), None)
    """
    s = text.strip()
    percent = s.endswith("%")
    if percent:
        s = s[:-1].rstrip(_SPACES)
    match = _NUMBER.match(s)
    if not match:
        return None
    digits = re.sub(f"[{_SPACES}]", "", match.group("int"))
    dec = match.group("dec") or ""
    value = float(f"{digits}.{dec}" if dec else digits)
    if match.group("exp"):
        value *= 10.0 ** int(match.group("exp"))
    if match.group("sign") in ("-", "−"):
        value = -value
    return value, len(dec), percent


def read_cell(text, marks: Marks = DEFAULT_MARKS) -> Reading:
    """A cell's text as a :class:`Reading`."""
    s = " ".join(str(text).split()) if text is not None else ""
    if s in BLANK_TEXTS:
        return Reading("blank", text=s)
    mark = _mark(s, marks)
    if mark is not None:
        return mark
    parsed = parse_number(s)
    if parsed is not None:
        value, decimals, percent = parsed
        return Reading("number", value, decimals, percent, text=s,
                       share=value / 100 if percent else None,
                       share_decimals=decimals + 2 if percent else 0)
    both = _WITH_PERCENT.match(s)
    if both:
        head = read_cell(both.group("head"), marks)
        pct = parse_number(both.group("pct"))
        if head.kind in ("number", "mark") and not head.percent and pct is not None:
            # a hidden count is named by its mark alone: the percentage beside it is no mark
            return Reading(head.kind, head.value, head.decimals, False, head.mark, head.low,
                           head.high, pct[0] / 100, pct[1] + 2,
                           text=head.text if head.hidden else s, gap=head.gap)
    return Reading("text", text=s)


def _mark(s: str, marks: Marks) -> Reading | None:
    if s in marks.primary:
        top = (marks.min_cell - 1) if marks.min_cell else _bound(s)
        return Reading("mark", mark="primary", low=1.0, high=top if top is not None else math.inf,
                       text=s)
    if s in marks.secondary:
        return Reading("mark", mark="secondary", text=s, gap=float(marks.min_cell or 0))
    bound = _bound(s)
    if bound is not None:
        return Reading("mark", mark="primary", low=1.0, high=bound, text=s)
    if s in OTHER_MARKS:
        return Reading("mark", mark="secondary" if s == "·" else "other", text=s)
    return None


def _bound(s: str) -> float | None:
    match = _PRIMARY.match(s)
    return float(int(match.group(1)) - 1) if match else None


# --------------------------------------------------------------------------- column names

# Columns named like counts: whole numbers in them are counts of people.
COUNT_NAME = re.compile(
    r"^(n|count|counts|antall|freq|frequency|frekvens|n_\w+|\w+_n|count_\w+|\w+_count|"
    r"antall_\w+|\w+_antall|n\s*\(.*\)|rows|rader|people|personer|persons)$", re.IGNORECASE)
# Columns whose whole numbers are not counts of people, though nothing else says so.
NOT_COUNT_NAME = re.compile(
    r"(^|_)(year|years|år|aar|id|code|kode|nr|number|nummer|session|sessions|episode|"
    r"week|uke|month|måned|day|dag|date|dato|age|alder|item|items|rank|score|level|nivå|"
    r"scale|skala|point|points|poeng|version|versjon|index|quarter|kvartal|wave|time|tid|hour|"
    r"round|step|grade|trinn|mean|median|sd|std|min|max|mode|q1|q3|iqr|k|df|dof|resid|"
    r"estimate|ci|low|high|p|value|share|pct|percent|prosent|alpha|omega|weight|order|"
    r"position|priority|rating|answer|svar|response|unnamed|columns|cols|variables|kolonner|"
    r"seconds|sekunder|minutes|minutter|duration|varighet|size|bytes|length|lengde)"
    r"($|_)", re.IGNORECASE)
# Counts named so that are not counts of people: the rules about people leave them alone.
NOT_PEOPLE_COUNT = re.compile(
    r"(^|_)(groups?|clusters?|items?|levels?|categories|codes?|institutions?|units?|sites?|"
    r"waves?|rounds?|iterations?|bins?|columns?|variables?|sources?|files?|tables?|models?|"
    r"terms?|params?|parameters?|obs_per_group|trimmed_total|truncated_total|weighted|"
    r"imputations?|draws?|folds?|boot|bootstrap|df|dof|cells|coders?|raters?|reps|replicates|"
    r"k)($|_)", re.IGNORECASE)
SHARE_NAME = re.compile(
    r"(^|[_\s(])(share|andel|pct|percent|prosent|proportion|prop|%)($|[_\s)])", re.IGNORECASE)
TOTAL_LABEL = re.compile(
    r"^(total|totalt|totals|sum|i alt|alle|all|overall|samlet|in all|"
    r"(total|sum|totalt|alle) \((shown|vist)\))$", re.IGNORECASE)
HEADER_N_LABEL = re.compile(r"^(n|N|antall|n \(people\)|personer|people)$")
# "with IP (n=38)", "Med IP, N = 38": a column's own n in its header.
N_IN_LABEL = re.compile(r"\(?\b[nN]\s*=\s*(\d[\d\u00a0\u2009\u202f ]*)\)?")


def last_label(label) -> str:
    """The last part of a combined header (``"has_ip / 1"`` → ``"1"``)."""
    return str(label).split(" / ")[-1].strip()


def is_total_label(text) -> bool:
    return bool(TOTAL_LABEL.match(str(text).strip()))


def is_share_label(label) -> bool:
    return bool(SHARE_NAME.search(last_label(label)))
