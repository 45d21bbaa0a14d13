"""What the output checker knows of a study: raw identifiers, quotes to look for, person keys.

Read once per check from the study's raw files (before pseudonymisation), so the checker can
tell an identifier or an interview quote in an output from any other word. Used by
:mod:`.output_check` (which reads the study) and :mod:`.findings` (which looks for them).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from evaluation.intake.deidentify import raw_tables, deidentify, study_vocabulary
from evaluation.intake.manifest import load_manifest
from evaluation.study import Study, resolve_study_path

MIN_QUOTE = 25                      # characters of a quote that count as quoting it
MIN_IDENTIFIER = 4                  # shorter values are not looked for
MIN_NUMERIC_IDENTIFIER = 6          # digits-only values: 4-5 digits are years and counts

# Quotes are stored and looked for with whitespace collapsed so, since an output may wrap a
# text or indent it; the checker normalises what it reads with the same pattern.
SPACE = re.compile(r"\s+")
WORDS = re.compile(r"\w+")


@dataclass
class StudyFacts:
    identifiers: dict = field(default_factory=dict)      # casefolded value -> (column, value)
    token: re.Pattern | None = None     # a whole token as identifiers are written (KR-000123)
    strip: str = ""                     # the non-word characters in identifiers ("-"), which
                                        # an output may also put around a token
    quotes: list = field(default_factory=list)           # normalised texts
    quote_keys: dict = field(default_factory=dict)       # key word -> [quote index]
    names: tuple = ()
    places: tuple = ()
    id_columns: frozenset = frozenset()

    @property
    def has_identifiers(self) -> bool:
        return bool(self.identifiers)


def load_study(study):
    """The study given to the checker: None, a loaded Study, or a path to one."""
    if study is None:
        return None
    if isinstance(study, (str, os.PathLike)):
        return Study.load(study)
    return study


_FACTS: dict = {}      # (manifest, file stamps) -> (study, facts); at most a few studies


def facts_of_path(path):
    """``(study, facts)`` for a study given by path, read once per process while its files are
    unchanged: a batch worker checks run after run of the same study, and reading the raw
    files is most of a check's time."""
    manifest = load_manifest(resolve_study_path(path))
    files = [manifest.path, *(spec.file for spec in manifest.sources.values())]
    stamp = (str(manifest.path), tuple((str(f), os.stat(f).st_mtime_ns, os.stat(f).st_size)
                                        for f in files if os.path.exists(f)))
    if stamp not in _FACTS:
        if len(_FACTS) >= 4:
            _FACTS.pop(next(iter(_FACTS)))
        study = Study(manifest)
        _FACTS[stamp] = (study, study_facts(study))
    return _FACTS[stamp]


def study_facts(study) -> StudyFacts | None:
    """Identifiers, quotes and person keys of ``study`` (None without a study)."""
    if study is None:
        return None
    manifest = study.manifest
    tables = raw_tables(study)
    identifiers: dict[str, tuple[str, str]] = {}
    for source, table in tables.items():
        for column in manifest.pseudonymise:
            if column not in table.columns:
                continue
            for value in table[column].dropna().astype(str).unique():
                value = value.strip()
                if len(value) < MIN_IDENTIFIER or (value.isdigit()
                                                   and len(value) < MIN_NUMERIC_IDENTIFIER):
                    continue
                identifiers.setdefault(value.casefold(), (column, value))
    extra = sorted({c for key in identifiers for c in key
                    if not (c.isalnum() or c == "_" or c.isspace())})
    token = re.compile(rf"[\w{re.escape(''.join(extra))}]+") if identifiers else None
    names, places = study_vocabulary(study, tables=tables)
    quotes, keys = [], {}
    for name, spec in manifest.sources.items():
        if spec.kind != "coded_segments" or "text" not in tables[name].columns:
            continue
        for text in tables[name]["text"].dropna().astype(str).unique():
            normal = SPACE.sub(" ", text).strip()
            if len(normal) < MIN_QUOTE:
                continue
            if deidentify(normal, names=names, places=places) == normal:
                continue        # nothing in it to mask: showing it verbatim reveals no one
            key = _quote_key(normal)
            keys.setdefault(key, []).append(len(quotes))
            quotes.append(normal)
    id_columns = frozenset(c.casefold() for c in (manifest.id_column, *manifest.pseudonymise))
    return StudyFacts(identifiers, token, "".join(extra), quotes, keys, tuple(names),
                      tuple(places), id_columns)


def _quote_key(quote: str) -> str:
    """The longest whole word within the first MIN_QUOTE characters (rare words first)."""
    head = quote[:MIN_QUOTE]
    words = WORDS.findall(head)
    if len(quote) > MIN_QUOTE and re.match(r"\w", quote[MIN_QUOTE]) and len(words) > 1:
        words = words[:-1]                      # cut in the middle of a word
    return max(words, key=len) if words else ""

