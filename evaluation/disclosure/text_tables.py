"""pandas tables printed as text, read back as grids (output checker, internal).

A notebook that prints a DataFrame or Series (``repr``, ``to_string``, ``value_counts``,
``groupby`` results) shows a table without HTML; the checker's table rules must see it all the
same. Blocks of text between blank lines are cut into columns where every line is blank at
the same positions; a block that does not line up as pandas prints is not a table.
"""
from __future__ import annotations

import re

import numpy as np

from evaluation.disclosure.cell_text import parse_number, read_cell
from evaluation.disclosure.shown_tables import PLAIN_INTEGER, ShownTable

# The disclosure layer's footnote under a SafeTable's repr: the table above it passed the layer.
_SAFE_FOOTNOTE = re.compile(r"^Cells resting on fewer than \d+ people are shown as ")
# What pandas prints under a DataFrame or Series, with the size of the whole when it cut rows.
_DF_FOOTER = re.compile(r"^\[(\d+) rows x (\d+) columns\]$")
_SERIES_FOOTER = re.compile(r"^(?:Name: (.*?), )?(?:Length: (\d+), )?dtype: \S+$")


def text_tables(text: str) -> list[ShownTable]:
    """pandas DataFrames and Series printed as text (``repr``/``to_string``), as grids."""
    lines = text.replace("\t", "    ").split("\n")
    blocks, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    # A DataFrame's "[n rows x m columns]" stands after a blank line: join it to its table.
    merged = []
    for block in blocks:
        if merged and len(block) >= 1 and (_DF_FOOTER.match(block[0].strip())
                                          or _SAFE_FOOTNOTE.match(block[0].strip())):
            merged[-1] = merged[-1] + block
        else:
            merged.append(block)
    tables = []
    for block in merged:
        table = _parse_text_block(block)
        if table is not None:
            tables.append(table)
    return tables


def _parse_text_block(block: list[str]) -> ShownTable | None:
    safe, total, series_name, is_series = False, None, None, False
    for i, line in enumerate(block):
        if _SAFE_FOOTNOTE.match(line.strip()):
            safe = True
            block = block[:i]
            break
    while block:
        last = block[-1].strip()
        match = _DF_FOOTER.match(last)
        if match:
            total = int(match.group(1))
            block = block[:-1]
            continue
        match = _SERIES_FOOTER.match(last)
        if match:
            is_series = True
            series_name = match.group(1)
            if match.group(2):
                total = int(match.group(2))
            block = block[:-1]
            continue
        break
    if len(block) < 2 or len(block) > 20000:
        return None
    if is_series and "  " not in block[0].strip():
        # value_counts and groupby: the index name alone on the first line, often wider than
        # the index labels below it.
        rest = _grid_of(block[1:])
        if rest is not None and len(rest[0]) == 2:
            header = [block[0].strip(), series_name or "values"]
            body = [r for r in rest if not all(c in ("...", "..", "…", "") for c in r)]
            if body and all(r[0] for r in body):
                return ShownTable(header, body, {0}, safe, total)
    blank = _blank_columns(block)
    if blank is None:
        return None
    # pandas separates the columns of a repr by two or more spaces; a single space can be
    # inside a value ("Total (shown)").
    spans = _spans(blank, 2)
    table = None
    if len(spans) >= 2:
        table = _pandas_repr(_cells(block, spans), is_series, series_name)
    if table is None:                   # to_string(index=False): one space between columns
        table = _plain_grid(_cells(block, _spans(blank, 1)))
    if table is None:
        return None
    table.safe, table.total_rows = safe, total
    return table


def _blank_columns(lines: list[str]) -> np.ndarray | None:
    """For each character position: is it a space in every line?"""
    width = max((len(line) for line in lines), default=0)
    if width == 0:
        return None
    padded = "".join(line.ljust(width) for line in lines)
    try:
        codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return None
    return (codes.reshape(len(lines), width) == 32).all(axis=0)


def _grid_of(lines: list[str]) -> list[list[str]] | None:
    blank = _blank_columns(lines)
    if blank is None:
        return None
    spans = _spans(blank, 2)
    return _cells(lines, spans) if len(spans) >= 2 else None


def _spans(blank: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """Column spans between runs of at least ``min_gap`` positions blank in every line."""
    edges = np.flatnonzero(np.diff(np.concatenate(([1], blank.astype(np.int8), [1]))))
    runs = list(zip(edges[::2], edges[1::2]))           # (start, end) of non-blank runs
    spans: list[list[int]] = []
    for a, b in runs:
        if spans and a - spans[-1][1] < min_gap:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    return [(int(a), int(b)) for a, b in spans]


def _cells(block: list[str], spans) -> list[list[str]]:
    return [[line[a:b].strip() for a, b in spans] for line in block]


def _pandas_repr(cells: list[list[str]], is_series: bool, series_name) -> ShownTable | None:
    first = cells[0]
    index_name = ""
    body = cells
    if is_series:
        if len(first) != 2:
            return None
        if first[1] == "" and first[0]:              # index name on its own line
            index_name, body = first[0], cells[1:]
        header = [index_name, series_name or "values"]
    else:
        if len(cells) > 1 and cells[1][0] and not any(cells[1][1:]):
            index_name = cells[1][0]                  # named index under the column names
            header = [" / ".join(x for x in (first[0], index_name) if x)] + first[1:]
            body = cells[2:]
        elif first[0] == "":
            header, body = first, cells[1:]
        else:
            return None
        if not body or any(row[0] == "" for row in body if any(row[1:])):
            return None
    body = [row for row in body if not all(c in ("...", "..", "…", "") for c in row)]
    if not body:
        return None
    return ShownTable(list(header), body, {0})


def _plain_grid(cells: list[list[str]]) -> ShownTable | None:
    """A table printed without index: every cell filled, a header of words, and at least
    one column of numbers. Prose almost never lines up so."""
    if len(cells) < 2 or len(cells[0]) < 2 or any(c == "" for row in cells for c in row):
        return None
    header, body = cells[0], cells[1:]
    if any(PLAIN_INTEGER.match(h) or _is_number(h) for h in header):
        return None
    # a column of numbers may hold marks of hidden cells (<5, ·) among them
    if not any(all(_is_number(row[j]) or read_cell(row[j]).hidden for row in body)
               and any(_is_number(row[j]) for row in body) for j in range(len(header))):
        return None
    return ShownTable(list(header), body, set())


def _is_number(text: str) -> bool:
    """A number as a table writes it: ``12``, ``0.150``, ``0,150``, ``15 %``."""
    return parse_number(text) is not None
