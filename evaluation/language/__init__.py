"""Languages of the reports: message catalogues (gettext-style, read with Babel) and the way
numbers, shares, intervals and dates are written in each (see docs/language.md)."""
from evaluation.language.catalogue import (LANGUAGES, Language, activate, active, gettext,
                                           language, ngettext, using)
from evaluation.language.formats import (MISSING, date, integer, interval, is_missing, number,
                                         people,
                                         p_value, percent, points, value)

__all__ = ["LANGUAGES", "Language", "activate", "active", "gettext", "language", "ngettext",
           "using", "MISSING", "date", "integer", "interval", "is_missing", "number", "p_value",
           "people", "percent", "points", "value"]
