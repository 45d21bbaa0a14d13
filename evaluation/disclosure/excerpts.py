"""How a finding's excerpt is written: a report of a leak must not repeat the leak.

Identifiers keep their first one or two characters, paths are cut after the user's folder,
long excerpts are clipped. National IDs are masked by
:func:`evaluation.intake.national_id.mask_national_id` and quotes de-identified by the checker itself.
:func:`mask_value` and :func:`shorten_path` are public through :mod:`.output_check`.
"""
from __future__ import annotations

import re


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

