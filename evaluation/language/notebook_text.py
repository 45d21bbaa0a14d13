"""The prose of a notebook in the report's language: its Markdown cells, block by block.

A shipped notebook is written in English, as its code is; each block of a Markdown cell (a
heading, a paragraph, a list: text between blank lines) is a message of the catalogue with the
notebook's name as its context, the way Sphinx translates documentation by paragraph. A run in
``nb`` replaces each block by its translation in the executed notebook before it is rendered,
so the notebook, the HTML, the slides and the Word and PDF files say the same.

>>> blocks("# Title\\n\\nOne paragraph\\nover two lines.\\n\\n- a\\n- b")
['# Title', 'One paragraph\\nover two lines.', '- a\\n- b']
"""
from __future__ import annotations

import re

from evaluation.language.catalogue import Language

_BLANK = re.compile(r"\n[ \t]*\n")


def blocks(markdown: str) -> list[str]:
    """The blocks of a Markdown text (separated by blank lines), stripped."""
    return [b.strip() for b in _BLANK.split(markdown) if b.strip()]


def context_of(notebook_name: str) -> str:
    """The catalogue context of a notebook's prose: its file name without the suffix."""
    name = notebook_name.rsplit("/", 1)[-1]
    return name[:-len(".ipynb")] if name.endswith(".ipynb") else name


def translate_markdown(nb, lang: Language, notebook_name: str) -> list[str]:
    """Translate the Markdown cells of ``nb`` (an nbformat notebook) in place; returns the
    blocks that have no translation (shown in English)."""
    if lang.code == "en":
        return []
    context = context_of(notebook_name)
    missing = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        out = []
        for block in blocks(cell.source):
            said = lang.gettext(block, context=context)
            if said == block:
                missing.append(block)
            out.append(said)
        cell.source = "\n\n".join(out)
    return missing
