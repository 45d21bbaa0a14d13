"""How a finding's excerpt, an error text or a recorded value is written: a report of a leak
must not repeat the leak.

Identifiers keep their first one or two characters, paths are cut after the user's folder,
long excerpts are clipped. National IDs are masked by
:func:`evaluation.intake.national_id.mask_national_id` and quotes de-identified by the checker itself.
:func:`mask_value` and :func:`shorten_path` are public through :mod:`.output_check`.

Texts written by code rather than by the disclosure layer (a run's error, a recorded value) go
through :func:`mask_text`: national IDs, the study's identifiers and names, absolute paths, and
counts of fewer than ``min_cell`` people (:func:`mask_small_numbers`). The checker's own report
writes a small cell as :func:`count_excerpt` (:func:`masked_excerpt`).
"""
from __future__ import annotations

import re

from evaluation.intake.deidentify import deidentify
from evaluation.intake.national_id import find_national_ids, mask_national_id


def mask_value(value: str) -> str:
    """An identifier with all but its first characters as ``*`` (two kept from six up).

    Examples
    --------
    >>> mask_value("KR-000123")
    'KR*******'
    >>> mask_value("S-01")
    'S***'
    """
    text = str(value)
    keep = 2 if len(text) >= 6 else 1
    return text[:keep] + "*" * (len(text) - keep)


def shorten_path(path: str) -> str:
    """An absolute path cut after its second part, which is masked (usually the user's name).

    Examples
    --------
    >>> shorten_path("/home/kari/prosjekt/data.csv")
    '/home/k***/…'
    >>> shorten_path("C:\\\\Users\\\\kari\\\\data.csv")
    'C:\\\\Users\\\\k***\\\\…'
    """
    text = str(path)
    prefix = ""
    if text.startswith("file://"):
        prefix, text = "file://", text[len("file://"):]
    sep = "\\" if re.match(r"^[A-Za-z]:\\", text) else "/"
    parts = text.split(sep)
    if sep == "/":                 # ['', 'home', 'kari', ...]
        head, rest = sep + parts[1] if len(parts) > 1 else "", parts[2:]
    else:                          # ['C:', 'Users', 'kari', ...]
        head, rest = sep.join(parts[:2]), parts[2:]
    if not rest or not rest[0]:
        return prefix + head + sep + "…"
    more = sep + "…" if len(rest) > 1 and any(rest[1:]) else ""
    return prefix + head + sep + rest[0][:1] + "***" + more


def clip(text: str, width: int = 80) -> str:
    """``text`` cut to ``width`` characters with ``…``: a quote's excerpt, not the quote."""
    return text if len(text) <= width else text[:width - 1] + "…"


def identifier_excerpt(column: str, values: list[str]) -> str:
    """The first identifier found at one place, masked, with its column and how many there were."""
    n = len(values)
    return f"{mask_value(values[0])} ({column}; {n} value{'s' if n != 1 else ''})"


# --------------------------------------------------------------------------- texts about people
# An error text or a record is written by code, not by the disclosure layer: "both residents at
# Lillevik have no IP (2 people)" is a small cell in a sentence. These functions mask what such
# a text must not carry before it reaches a page, a status file or the terminal.

PEOPLE_WORDS = (
    "people", "persons?", "personer", "residents?", "beboere?", "beboerne", "clients?",
    "klient(?:er|ene)?", "brukere?", "brukerne", "users?", "patients?", "pasient(?:er|ene)?",
    "participants?", "deltakere?", "deltakerne", "respondents?", "respondent(?:er|ene)",
    "individuals?", "individer", "staff", "ansatte", "employees?", "members?", "children",
    "child", "barn", "youths?", "ungdommer", "men", "women", "man", "woman", "menn",
    "kvinner", "cases?", "subjects?", "informants?", "informanter", "famil(?:y|ies)",
    "famili(?:e|er)")
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "both": 2, "single": 1, "én": 1, "ett": 1, "tre": 3, "fire": 4, "fem": 5, "seks": 6, "sju": 7, "syv": 7, "åtte": 8,
                "ni": 9, "begge": 2}
_PEOPLE = "|".join(PEOPLE_WORDS)
_NUMBER = rf"(?<![\w.,:-])(?:\d+|{'|'.join(NUMBER_WORDS)})(?![\w]|[.,:]\d)"
# Norwegian "to" (two) is also the English "to": a count only right before a Norwegian word.
_NORWEGIAN_PEOPLE = ("personer|beboere|beboerne|klienter|klientene|brukere|brukerne|pasienter|"
                     "deltakere|deltakerne|respondenter|individer|ansatte|barn|ungdommer|menn|"
                     "kvinner|informanter|familier")
_TWO = re.compile(rf"\bto(?=\s+(?:{_NORWEGIAN_PEOPLE})\b)", re.IGNORECASE)
# A number, then at most two words, then a word for people: "2 people", "both complete
# residents", "2 of 16 clients"; or a count given as n = 2 / residents: 2.
_NEAR_PEOPLE = re.compile(rf"(?P<number>{_NUMBER})(?=(?:[\s(]+[^\s]+){{0,2}}?[\s(]+(?:{_PEOPLE})\b)"
                          rf"|(?:\bn|\b(?:{_PEOPLE}))\s*[=:]\s*(?P<given>\d+)(?![\w]|[.,]\d)",
                          re.IGNORECASE)
_WHOLE_NUMBER = re.compile(r"(?<![\w.,:-])\d+(?![\w]|[.,:]\d)")
# Numbers that place something (cell 4, line 12, attempt 1) or measure time are not counts.
_PLACE_BEFORE = re.compile(r"(?:\b(?:cell|cells|line|lines|output|row|rows|column|columns|"
                           r"table|tables|attempt|attempts|step|page|figure|chapter|section|"
                           r"version|python|celle|linje|rad|kolonne|tabell|forsøk)|"
                           r"\bexecution count)\s*$", re.IGNORECASE)
# A level of a variable (has_ip=1, severity=2) is not a count; n=3 and count=2 are.
_LEVEL_BEFORE = re.compile(r"(?<![\w])([A-Za-z_]\w*)\s*=\s*$")
_COUNT_NAME = re.compile(r"^(?:n|count|counts|antall|n_\w+|\w+_n|count_\w+|\w+_count)$",
                         re.IGNORECASE)
_TIME_AFTER = re.compile(r"\s*(?:s|ms|sec|seconds?|sekunder|min|minutes?|minutter|h|hours?|"
                         r"timer)\b", re.IGNORECASE)
_PSEUDONYM = re.compile(r"ps_[0-9a-f]{16}")
_ABSOLUTE = re.compile(r"(?<![\w.~/\\-])(?:file://)?(?:/[^\s\"'<>`|,;(){}\[\]/]+){2,}/?"
                       r"|(?<![\w])[A-Za-z]:\\[^\s\"'<>`|,;(){}\[\]]+")
_KERNEL_CELL = re.compile(r"^(?:file://)?/tmp/ipykernel_\d+/")
WITHHELD = "[withheld]"


def count_excerpt(min_cell: int) -> str:
    """What a report says of a small count instead of the count.

    Examples
    --------
    >>> count_excerpt(5)
    'a count under 5'
    """
    return f"a count under {int(min_cell)}"


def mask_small_numbers(text: str, min_cell: int = 5, *, everywhere: bool = False) -> str:
    """``text`` with counts of 1 … ``min_cell`` − 1 people written ``<min_cell``.

    A count is a whole number (or a number word: *two*, *both*, *tre*) at most two words before
    a word for people (*people*, *residents*, *personer*, *klienter* …), or given as
    ``n = 3``. With ``everywhere`` every whole number in that range is masked (for a page
    that is shared), except one that places something (``cell 4``, ``line 3``,
    ``attempt 1``) or measures time (``3 s``).

    Examples
    --------
    >>> mask_small_numbers("both complete residents at Lillevik have no IP (2 people)")
    '<5 complete residents at Lillevik have no IP (<5 people)'
    >>> mask_small_numbers("2 of 16 clients; 12 people; n = 3")
    '<5 of 16 clients; 12 people; n = <5'
    >>> mask_small_numbers("to beboere ved Lillevik, sent to residents")
    '<5 beboere ved Lillevik, sent to residents'
    >>> mask_small_numbers("failed in cell 4: expected 3 columns, got 0.3", everywhere=True)
    'failed in cell 4: expected <5 columns, got 0.3'
    >>> mask_small_numbers("cell [has_ip=1, n=3] hidden", everywhere=True)
    'cell [has_ip=1, n=<5] hidden'
    """
    if not isinstance(text, str) or not text:
        return text
    mark = f"<{int(min_cell)}"

    def small(word: str) -> bool:
        value = int(word) if word.isdigit() else NUMBER_WORDS.get(word.casefold())
        return value is not None and 1 <= value < min_cell

    def near_people(match: re.Match) -> str:
        group = "number" if match.group("number") is not None else "given"
        if not small(match.group(group)):
            return match.group(0)
        start, end = match.span(group)
        base = match.start()
        return match.group(0)[:start - base] + mark + match.group(0)[end - base:]

    text = _NEAR_PEOPLE.sub(near_people, text)
    if min_cell > 2:
        text = _TWO.sub(mark, text)
    if not everywhere:
        return text

    def anywhere(match: re.Match) -> str:
        before, after = text[:match.start()], text[match.end():]
        level = _LEVEL_BEFORE.search(before)
        if not small(match.group(0)) or _PLACE_BEFORE.search(before) or \
                _TIME_AFTER.match(after) or (level and not _COUNT_NAME.match(level.group(1))):
            return match.group(0)
        return mark
    return _WHOLE_NUMBER.sub(anywhere, text)


def mask_paths(text: str) -> str:
    """Absolute paths in ``text`` shortened (:func:`shorten_path`); the files ipykernel names
    notebook cells by are left as they are.

    Examples
    --------
    >>> mask_paths("cannot read /home/kari/data/persons.csv")
    'cannot read /home/k***/…'
    """
    if not isinstance(text, str) or not text:
        return text

    def shorten(match: re.Match) -> str:
        path = match.group(0)
        return path if _KERNEL_CELL.match(path) else shorten_path(path)
    return _ABSOLUTE.sub(shorten, text)


def mask_identifiers(text: str, facts) -> str:
    """The study's raw identifiers (``facts``: :class:`.study_facts.StudyFacts`) and pseudonyms
    in ``text`` masked with :func:`mask_value`; names of people in the study as ``[navn]``."""
    if not isinstance(text, str) or not text:
        return text
    text = _PSEUDONYM.sub(lambda m: mask_value(m.group(0)), text)
    if facts is None:
        return text
    if facts.has_identifiers:
        def masked(match: re.Match) -> str:
            key = match.group(0).casefold()
            if key in facts.identifiers or (facts.strip and key.strip(facts.strip)
                                            in facts.identifiers):
                return mask_value(match.group(0))
            return match.group(0)
        text = facts.token.sub(masked, text)
    if facts.names:
        text = deidentify(text, names=facts.names, mask_capitalised=False)
    return text


def mask_text(text, *, min_cell: int = 5, facts=None, everywhere: bool = False):
    """A text written by code (an error, a recorded value) as it may be shown: national IDs
    masked, then identifiers and names of the study (``facts``), absolute paths, and counts of
    fewer than ``min_cell`` people (:func:`mask_small_numbers`). Anything not a text is
    returned as it is.

    Examples
    --------
    >>> mask_text("ValueError: 31129956715 and 2 others have no IP (2 residents)")
    'ValueError: 31********* and 2 others have no IP (<5 residents)'
    >>> mask_text("expected 3 columns", everywhere=True)
    'expected <5 columns'
    """
    if not isinstance(text, str) or not text:
        return text
    for start, end, _ in reversed(find_national_ids(text)):
        text = text[:start] + mask_national_id(text[start:end]) + text[end:]
    text = mask_paths(mask_identifiers(text, facts))
    return mask_small_numbers(text, min_cell, everywhere=everywhere)


def masked_excerpt(rule: str, excerpt, min_cell: int = 5):
    """A finding's excerpt as the checker's own report writes it: a small cell as
    :func:`count_excerpt`, and no other count of fewer than ``min_cell`` in any excerpt.

    Examples
    --------
    >>> masked_excerpt("small_cell", "3 (below 5)")
    'a count under 5'
    >>> masked_excerpt("recoverable_cell", "hidden cell = 38 - 17 - 17 = 4")
    'hidden cell = 38 - 17 - 17 = <5'
    """
    if not isinstance(excerpt, str):
        return excerpt
    if rule == "small_cell":
        return count_excerpt(min_cell)
    return mask_small_numbers(excerpt, min_cell, everywhere=True)
