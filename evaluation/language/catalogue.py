"""The message catalogues: every sentence, heading and label a report shows, in each language.

Messages are written in English in the code (gettext's model: the English text is the key) and
translated in ``messages/<language>.po``, read with Babel. A module asks for a message with
:func:`gettext` (or :func:`ngettext` for a count) in the language that is active, set once per
report by :func:`activate` (the notebook's ``language`` parameter, else the study manifest's).

>>> with using("nb"):
...     gettext("percentage points"), ngettext("{n} person", "{n} people", 3).format(n=3)
('prosentpoeng', '3 personer')
>>> gettext("percentage points")
'percentage points'
"""
from __future__ import annotations

import contextvars
import functools
import gettext as stdlib_gettext
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

from evaluation.errors import ParameterError

MESSAGES = Path(__file__).resolve().parent / "messages"
SOURCE = "en"
# bokmål and nynorsk; the English of the code is the source.
LANGUAGES = {"en": "en_GB", "nb": "nb_NO", "nn": "nn_NO"}


@dataclass(frozen=True)
class Language:
    """One language: its code (``nb``), Babel locale and catalogue."""

    code: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(LANGUAGES[self.code])

    def gettext(self, message: str, context: str | None = None) -> str:
        if self.code == SOURCE:
            return message
        entry = _catalogue(self.code).get(message, context=context)
        if entry is None or not entry.string or entry.fuzzy:
            return message          # a missing translation shows in English; tests find it
        return entry.string if isinstance(entry.string, str) else entry.string[0]

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if self.code != SOURCE:
            entry = _catalogue(self.code).get(singular)
            if entry is not None and not entry.fuzzy and isinstance(entry.string, tuple) \
                    and all(entry.string):
                return entry.string[_plural_index(self.code, abs(n))]
        return singular if abs(n) == 1 else plural


def language(code: str | None) -> Language:
    """The :class:`Language` of ``code`` (``None``: English)."""
    code = SOURCE if code is None else str(code).strip().lower()
    if code not in LANGUAGES:
        raise ParameterError(f"language: parameter 'language' is {code!r}; expected one of "
                             f"{', '.join(sorted(LANGUAGES))}.")
    return Language(code)


_ACTIVE: contextvars.ContextVar[Language] = contextvars.ContextVar("ipeval_language",
                                                                   default=Language(SOURCE))


def activate(code: str | None) -> Language:
    """Make ``code`` the language of what follows (a report sets it once, in its first cell)."""
    chosen = language(code)
    _ACTIVE.set(chosen)
    return chosen


def active() -> Language:
    return _ACTIVE.get()


@contextmanager
def using(code: str | None):
    """``with using("nb"):`` the messages inside are in bokmål; the language before after."""
    token = _ACTIVE.set(language(code))
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


def gettext(message: str, context: str | None = None) -> str:
    """``message`` in the active language."""
    return active().gettext(message, context)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message about ``n`` things, in the active language."""
    return active().ngettext(singular, plural, n)


def _plural_index(code: str, n: int) -> int:
    # The catalogue's own Plural-Forms expression, evaluated as GNU gettext does (stdlib c2py).
    return _plural_rule(code)(n)


@functools.lru_cache(maxsize=None)
def _plural_rule(code: str):
    return stdlib_gettext.c2py(_catalogue(code).plural_expr)


@functools.lru_cache(maxsize=None)
def _catalogue(code: str):
    path = MESSAGES / f"{code}.po"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the catalogue of language {code!r} is missing; "
                                f"reinstall ipeval.")
    with open(path, "rb") as fh:
        return read_po(fh, locale=LANGUAGES[code])
