"""Which messages the code and the notebooks ask for, and the catalogues brought up to date.

``python -m evaluation.language.extract notebooks`` reads every ``gettext``/``ngettext`` call
of the package (Babel's Python extractor) and every Markdown block of the notebooks, and
updates ``messages/<language>.po``: new messages are added untranslated, translations kept,
messages no longer asked for marked obsolete. The tests use :func:`wanted` to find messages
without a translation.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from evaluation.language.catalogue import LANGUAGES, MESSAGES, SOURCE
from evaluation.language.notebook_text import blocks, context_of

PACKAGE = Path(__file__).resolve().parents[1]
HEADER = ("# The messages of ipeval's reports in {language}.\n"
          "# Update with: python -m evaluation.language.extract notebooks")
KEYWORDS = {"gettext": None, "ngettext": (1, 2), "N_": None}


def wanted(notebooks=()) -> Catalog:
    """A catalogue of every message the package and ``notebooks`` (paths) ask for."""
    catalog = Catalog(locale=None, project="ipeval")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS,
            comment_tags=("Translators:",)):
        catalog.add(message, locations=[(f"evaluation/{filename}", lineno)],
                    auto_comments=comments, context=context)
    for path in map(Path, notebooks):
        nb = nbformat.read(str(path), as_version=4)
        for k, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                for block in blocks(cell.source):
                    catalog.add(block, locations=[(f"notebooks/{path.name}", k + 1)],
                                context=context_of(path.name))
    return catalog


def update(notebooks=()) -> dict:
    """Bring every catalogue up to date with the code; ``{language: untranslated count}``."""
    template = wanted(notebooks)
    counts = {}
    for code, locale in LANGUAGES.items():
        if code == SOURCE:
            continue
        path = MESSAGES / f"{code}.po"
        if path.is_file():
            with open(path, "rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="ipeval", copyright_holder="the ipeval authors",
                              msgid_bugs_address="", header_comment=HEADER)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()      # git keeps the history; the file keeps what is asked
        with open(path, "wb") as fh:
            write_po(fh, catalog, width=100, sort_output=False, include_previous=False,
                     omit_header=False)
        counts[code] = sum(1 for m in catalog if m.id and not m.string)
    return counts


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("notebooks")
    print(update(sorted(folder.glob("*.ipynb"))))
