"""Fill untranslated entries of the catalogues from a Python file of translations.

    python scripts/fill_messages.py translations.py

The file defines ``NB`` and ``NN``: ``{msgid: msgstr}`` (a plural as a pair of pairs; a
notebook's block as ``(context, msgid)``). Only empty entries are filled, so a translation
edited in the .po file is never overwritten.
"""
from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import read_po, write_po

from evaluation.language.catalogue import LANGUAGES, MESSAGES

table = runpy.run_path(sys.argv[1])
for code, key in (("nb", "NB"), ("nn", "NN")):
    given = table.get(key) or {}
    path = MESSAGES / f"{code}.po"
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale=LANGUAGES[code])
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        empty = not message.string or (isinstance(message.string, tuple)
                                       and not all(message.string))
        said = given.get((message.context, message.id)) if message.context else \
            given.get(message.id)
        if empty and said:
            message.string = said
            filled += 1
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=100, sort_output=False, include_previous=False)
    print(code, "filled", filled)
