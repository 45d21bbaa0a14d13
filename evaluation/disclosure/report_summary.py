"""The report's one sentence on disclosure control and the element that carries its log.

Written by :class:`~evaluation.disclosure.safe_tables.Disclosure` at the end of a notebook, and
again by a batch's release when it hides more cells of a report (``evaluation.release``).
"""
from __future__ import annotations

import html
import json

from evaluation.disclosure.rules import SAFE_CLASS

__all__ = ["LOG_ATTRIBUTE", "SUMMARY_CLASS", "report_sentence", "summary_html"]

SUMMARY_CLASS = f"{SAFE_CLASS}-summary"          # the report's one disclosure sentence
LOG_ATTRIBUTE = "data-ipeval-disclosure"          # the report's disclosure log, as JSON


def report_sentence(rules, tables, *, internal: bool = False) -> str:
    """What the two marks mean and how many cells each hid, over the report's ``tables`` (the
    layer's log entries: ``primary`` and ``secondary`` per table)."""
    p = sum(int(t.get("primary") or 0) for t in tables)
    s = sum(int(t.get("secondary") or 0) for t in tables)
    text = (f"{len(tables)} tables in this report passed the disclosure rules "
            f"({rules.describe()}): {rules.suppressed_text} marks a count of fewer "
            f"than {rules.min_cell} people ({p} cells), {rules.protected_text} a "
            f"number hidden so that no such count can be worked out from the others, the "
            f"totals or another table ({s} cells).")
    return "INTERNAL — not for sharing. " + text if internal else text


def summary_html(log: dict, sentence: str) -> str:
    """The sentence, with the log (structure and shown values only) in an attribute."""
    data = html.escape(json.dumps(log, ensure_ascii=False, default=str), quote=True)
    return (f"<p class=\"{SUMMARY_CLASS}\" {LOG_ATTRIBUTE}=\"{data}\">"
            f"<small>{html.escape(sentence)}</small></p>")
