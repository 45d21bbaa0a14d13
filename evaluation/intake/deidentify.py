"""De-identification of free text: interview quotes, free-text answers, journal-like notes.

A quote may be shown in a report only after the people and places in it are masked
(docs/architecture.md, "Data and privacy rules"). :func:`deidentify` masks

* national ID numbers (fødselsnummer, D- and H-numbers with valid check digits) as ``[fnr]``;
* the names it is given as ``[navn]`` and the places as ``[sted]`` — whole words, any case;
* with ``mask_capitalised`` (default), every other capitalised word that does not begin a
  sentence and is not a common capitalised word (:data:`ALLOWED_CAPITALISED`) as ``[navn]``:
  a name nobody listed is still caught, at the price of masking some harmless proper nouns.

:func:`study_vocabulary` collects the names and places a study itself knows of, so that a
study's quotes are masked with its own institutions and municipalities.

Words are runs of Unicode word characters, so æ, ø, å (and á, č, đ, ŋ, š, ŧ, ž of Sámi
names) belong to words: ``Åse`` is one word, and ``Vårli`` does not match inside
``Vårlien``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from evaluation.errors import ParameterError
from evaluation.intake.national_id import find_national_ids
from evaluation.intake.readers import read_table

__all__ = ["ALLOWED_CAPITALISED", "NAME_TAG", "PLACE_TAG", "ID_TAG", "deidentify",
           "study_vocabulary"]

NAME_TAG = "[navn]"
PLACE_TAG = "[sted]"
ID_TAG = "[fnr]"

# Capitalised words that are never a person's name: pronouns and function words (capitalised
# after a quotation mark or a dash, and the polite De/Dem/Deres mid-sentence), the services
# interviews keep naming, and a few country and language words. Acronyms (two or more capitals,
# NAV, IP, ROP, DPS, …) and words with digits are never masked either, so they need no entry.
ALLOWED_CAPITALISED = frozenset({
    # pronouns, articles, conjunctions, adverbs, question words, answers
    "Jeg", "Du", "Han", "Hun", "Vi", "Dere", "De", "Dem", "Deres", "Den", "Det", "Denne",
    "Dette", "Disse", "Meg", "Deg", "Seg", "Oss", "Min", "Mitt", "Mine", "Din", "Ditt",
    "Dine", "Sin", "Sitt", "Sine", "Vår", "Vårt", "Våre", "En", "Ei", "Et", "Og", "Men",
    "Eller", "Så", "Da", "Nå", "Når", "Som", "Om", "Hvis", "Fordi", "At", "Ja", "Nei",
    "Jo", "Hva", "Hvem", "Hvor", "Hvordan", "Hvorfor", "Hvilken", "Hvilket", "Hvilke",
    "Ikke", "Også", "Bare", "Kanskje", "Etter", "Før", "Med", "Uten", "For", "Til", "Fra",
    "På", "Av", "Hos", "Mellom", "Under", "Over", "Alle", "Ingen", "Noen", "Mange",
    "Andre", "Ok", "Okei",
    # services, plans and places that are not one person's or one institution's
    "NAV", "IP", "Individuell", "Koordinator", "Koordinatoren", "Kommunen", "Fastlegen",
    "Helse", "Norge", "Norsk", "Samisk",
})

# Uppercase letters that start a name: ASCII, Latin-1 (À–Þ without ×) and Sámi letters.
_UPPER = "A-ZÀ-ÖØ-ÞÁČĐŊŠŦŽ"
# A word: word characters, hyphenated parts joined (Anne-Lise, IP-arbeid).
_WORD = re.compile(r"(?<!\w)\w+(?:-\w+)*(?!\w)")
_BEFORE_NAME = re.compile(rf"(?<!\w)([{_UPPER}]\w*(?:-\w+)*) \[navn\]")
_CAPITALISED = re.compile(rf"[{_UPPER}]")
# Abbreviations after which a full stop does not end a sentence ("dr. Hansen", "f.eks. Kari").
_ABBREVIATIONS = frozenset({"dr", "hr", "fr", "fru", "frk", "mr", "mrs", "ms", "prof", "st",
                            "ca", "nr", "jf", "f.eks", "bl.a", "evt", "ev", "ang", "tlf", "kl",
                            "v", "vs", "m.fl", "sml"})
_OPENERS = " \t\"'«»“”‘’„([{-–—•*"          # skipped when looking back for a sentence end
_SENTENCE_END = ".!?…"
_LOOKBACK = 60

_NAME_COLUMNS = re.compile(
    r"^(name|navn|full_?name|fullt_?navn|first_?name|given_?name|fornavn|last_?name|surname|"
    r"family_?name|etternavn|mellomnavn|middle_?name|[a-z]+_(name|navn))$", re.IGNORECASE)
_PLACE_COLUMNS = re.compile(
    r"^(municipality|municipality_name|kommune|kommunenavn|bydel|district|city|by|"
    r"poststed|place|sted|town|county|fylke)$", re.IGNORECASE)
_NOT_NAME_COLUMNS = re.compile(r"(institution|file|source|instrument|code|coder|scale|"
                               r"measure|item|variable)", re.IGNORECASE)


def deidentify(text: str, *, names: Iterable[str] = (), places: Iterable[str] = (),
               mask_capitalised: bool = True, allow: Iterable[str] = ()) -> str:
    """``text`` with national IDs, names and places masked.

    Parameters
    ----------
    text : str
        Free text (a quote, an answer, a note). Anything else is returned unchanged.
    names : iterable of str
        People's names (first names, surnames or full names); each occurrence as a whole word,
        in any case, becomes ``[navn]``. A name of several words matches with any whitespace
        between them.
    places : iterable of str
        Institutions, municipalities, addresses; each becomes ``[sted]`` the same way.
    mask_capitalised : bool, default True
        Also mask as ``[navn]`` every capitalised word that does not begin a sentence, unless it
        is in :data:`ALLOWED_CAPITALISED` or ``allow``, is an acronym (all capitals, at least two
        letters) or holds a digit.
    allow : iterable of str
        More capitalised words to leave alone (case-sensitive, e.g. a programme's name).

    Returns
    -------
    str
        The masked text. Masking is idempotent: ``deidentify(deidentify(t)) == deidentify(t)``
        for the same arguments.

    Notes
    -----
    Order: national IDs first (:func:`evaluation.intake.national_id.find_national_ids`: 11 digits, or
    ``DDMMYY NNNNN`` with one space or hyphen, valid check digits), then the listed names and
    places in one pass, longest first, so that ``Kari Nordmann`` is masked whole before
    ``Kari``; a string listed both as name and as place is masked as a name. Last, capitalised
    words.

    A word begins a sentence when only opening quotes, brackets, dashes or spaces stand between
    it and the start of the text, a line break, or a ``.``, ``!``, ``?`` or ``…`` — except a full
    stop after a common abbreviation (``dr.``, ``f.eks.``, ``ca.``). A name at the start of a
    sentence is therefore only masked when it is listed in ``names``: list the names you know.
    Hyphenated words count as one (``Anne-Lise``); a hyphenated word whose first part is allowed
    is allowed (``IP-arbeid``, ``NAV-kontoret``).

    This is a safeguard, not a guarantee: nicknames written in lower case, descriptions
    ("the tall man from the third floor") and rare facts are not found by any word rule. Read
    the quotes you publish.

    Examples
    --------
    >>> deidentify("Da Kari forklarte hva en IP var, skjønte jeg poenget.")
    'Da [navn] forklarte hva en IP var, skjønte jeg poenget.'
    >>> deidentify("Vi snakker om IP fra første dag på Lassonløkken.", places=["Lassonløkken"])
    'Vi snakker om IP fra første dag på [sted].'
    >>> deidentify("Kari Nordmann sa det selv.")   # a first name before a masked surname
    '[navn] sa det selv.'
    >>> deidentify("Åse ringte fra 311299 56715.", names=["åse"])
    '[navn] ringte fra [fnr].'
    """
    if not isinstance(text, str) or not text:
        return text
    if isinstance(names, str) or isinstance(places, str) or isinstance(allow, str):
        raise ParameterError("deidentify: names, places and allow must be lists of strings, "
                             "not a single string (a string would be read letter by letter).")
    spans = find_national_ids(text)
    if spans:
        parts, last = [], 0
        for start, end, _ in spans:
            parts += [text[last:start], ID_TAG]
            last = end
        text = "".join(parts) + text[last:]
    pattern, tags = _vocabulary_pattern(tuple(names), tuple(places))
    if pattern is not None:
        text = pattern.sub(lambda m: tags[_fold(m.group(0))], text)
    if mask_capitalised:
        allowed = ALLOWED_CAPITALISED | frozenset(allow)
        text = _WORD.sub(lambda m: _mask_if_name(m, allowed), text)
        # A capitalised word right before a masked name is its first part ("Kari Nordmann"
        # at the start of a sentence): the sentence-start exemption does not cover it.
        # Repeated until nothing changes, so that masking stays idempotent ("Åse Kari" → one tag).
        while True:
            masked = _BEFORE_NAME.sub(lambda m: m.group(0) if _allowed(m.group(1), allowed)
                                      else NAME_TAG, text)
            if masked == text:
                break
            text = masked
    return text


def study_vocabulary(study, *, tables: dict | None = None) -> tuple[list[str], list[str]]:
    """The names and places a study knows of, for :func:`deidentify`.

    Parameters
    ----------
    study : evaluation.Study
    tables : dict of source name -> DataFrame, optional
        The study's sources as read raw, with the manifest's ``columns:`` mapping applied (what
        the output checker has read already). Default: read them now.

    Returns
    -------
    (names, places) : two sorted lists of str
        ``places``: every value of the study's institution column and of a municipality-like
        column (``municipality``, ``kommune``, ``bydel``, ``city``, ``poststed``, ``fylke``, …)
        in any source. ``names``: the values of name-like columns in any source (``name``,
        ``navn``, ``first_name``, ``fornavn``, ``surname``, ``etternavn``, ``*_name``, …), each
        full name also split into its words. ``names`` is empty when no source has such a
        column, which is the usual case: the manifest has no list of names, and a study of
        pseudonymised data seldom carries them. Interview coders (column ``coder``) belong to
        the research team and are not included; the capitalised-word rule of
        :func:`deidentify` still masks names nobody listed.

    Notes
    -----
    The raw files are read (``evaluation.intake.readers.read_table`` with each source's ``read:``
    options), not the validated tables: a row quarantined for a bad answer still names its
    institution, and no pseudonym key is needed. Values shorter than two characters are left
    out.
    """
    if tables is None:
        tables = raw_tables(study)
    institution = study.manifest.institution_column
    places: set[str] = set()
    names: set[str] = set()
    for table in tables.values():
        for column in table.columns:
            label = str(column)
            if label == institution or _PLACE_COLUMNS.match(label):
                places.update(_distinct_text(table[column]))
            elif _NAME_COLUMNS.match(label) and not _NOT_NAME_COLUMNS.search(label):
                for value in _distinct_text(table[column]):
                    names.add(value)
                    names.update(w for w in re.findall(r"\w+(?:-\w+)*", value) if len(w) >= 2)
    places = {p for p in places if len(p) >= 2}
    names = {n for n in names if len(n) >= 2}
    return sorted(names), sorted(places)


# --------------------------------------------------------------------------- internals

def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold()


_PATTERN_CACHE: dict = {}


def _vocabulary_pattern(names: tuple, places: tuple):
    """One regular expression for all names and places, longest first; and fold -> tag."""
    key = (names, places)
    found = _PATTERN_CACHE.get(key)
    if found is not None:
        return found
    tags: dict[str, str] = {}
    for tag, words in ((NAME_TAG, names), (PLACE_TAG, places)):
        for word in words:
            if not isinstance(word, str):
                raise ParameterError(f"deidentify: every name and place must be a string; got "
                                     f"{type(word).__name__}.")
            word = word.strip()
            if word:
                tags.setdefault(_fold(word), tag)          # names first: they win a tie
    if not tags:
        result = (None, {})
    else:
        alternatives = sorted(tags, key=len, reverse=True)
        body = "|".join(r"\s+".join(re.escape(part) for part in alt.split(" "))
                        for alt in alternatives)
        # The tags come first and are kept as they are: a name "navn" or a place "sted" must
        # not reach into an earlier mask (idempotence).
        for tag in (NAME_TAG, PLACE_TAG, ID_TAG):
            tags[tag] = tag
        kept = "|".join(re.escape(tag) for tag in (NAME_TAG, PLACE_TAG, ID_TAG))
        pattern = re.compile(rf"{kept}|(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)
        result = (pattern, tags)
    if len(_PATTERN_CACHE) > 64:
        _PATTERN_CACHE.clear()
    _PATTERN_CACHE[key] = result
    return result


def _allowed(word: str, allowed: frozenset) -> bool:
    """An allowed capitalised word: listed (or its first hyphenated part is), holds a digit, or
    is an acronym."""
    first = word.split("-", 1)[0]
    if word in allowed or first in allowed or any(c.isdigit() for c in word):
        return True
    letters = [c for c in first if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _mask_if_name(match: re.Match, allowed: frozenset) -> str:
    word = match.group(0)
    if not _CAPITALISED.match(word) or _allowed(word, allowed):
        return word
    if _starts_sentence(match.string, match.start()):
        return word
    return NAME_TAG


def _starts_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - _LOOKBACK):start].rstrip(_OPENERS)
    if not before and start > _LOOKBACK:
        before = text[:start].rstrip(_OPENERS)          # a long run of spaces or quotes
    if not before:
        return True
    last = before[-1]
    if last in "\n\r":
        return True
    if last not in _SENTENCE_END:
        return False
    if last == ".":
        abbreviation = re.search(r"([\w]+(?:\.[\w]+)*)\.$", before)
        if abbreviation and abbreviation.group(1).casefold() in _ABBREVIATIONS:
            return False
    return True


def raw_tables(study) -> dict:
    """Every source of ``study`` read raw, ``columns:`` mapping applied; identifier columns
    (the id column and ``pseudonymise:``) read as text so that leading zeros stay."""
    manifest = study.manifest
    id_like = {manifest.id_column, *manifest.pseudonymise}
    tables = {}
    for name, spec in manifest.sources.items():
        raw_names = {raw for raw, canonical in spec.columns.items() if canonical in id_like}
        raw_names |= id_like - set(spec.columns.values())
        df = read_table(spec.file, text_columns=raw_names, **spec.read)
        tables[name] = df.rename(columns=spec.columns)
    return tables


def _distinct_text(series) -> list[str]:
    values = series.dropna()
    return [str(v).strip() for v in values.astype(str).unique() if str(v).strip()]
