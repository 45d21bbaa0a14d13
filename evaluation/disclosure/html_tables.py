"""HTML as the output checker reads it: the visible text and every ``<table>`` as a grid (internal).

:class:`HTMLScan` keeps the text a reader sees (not scripts, styles or attributes) with the
source line of each piece, so a finding in an HTML report can say ``line 40``; each table
becomes a :class:`~.shown_tables.ShownTable`, its header rows combined and its spans filled
out, marked ``safe`` when it carries the disclosure layer's class or attribute.
"""
from __future__ import annotations

import bisect
import json
import re
from html.parser import HTMLParser

from evaluation.disclosure.rules import SAFE_ATTRIBUTE, SAFE_CLASS
from evaluation.disclosure.shown_tables import ShownTable

_SPACE = re.compile(r"\s+")
# pandas writes "200 rows × 3 columns" under a table it cut short: the size of the whole table.
_HTML_FOOTER = re.compile(r"^\s*(\d+) rows × (\d+) columns")
# Tags that start a new line for a reader: a break keeps the words on either side apart.
_BLOCK_TAGS = {"p", "div", "br", "tr", "td", "th", "li", "ul", "ol", "h1", "h2", "h3", "h4",
               "h5", "h6", "table", "thead", "tbody", "tfoot", "pre", "section", "article",
               "header", "footer", "blockquote", "caption", "dt", "dd", "hr", "main", "nav",
               "figure", "figcaption", "details", "summary"}
# Content a browser does not show as text.
_HIDDEN_TAGS = {"script", "style", "template", "noscript", "svg", "math"}
# What the layer writes into a report (contract of issue 14): the report's disclosure log on its
# one summary sentence, and the class of the "INTERNAL — not for sharing" label.
LOG_ATTRIBUTE = "data-ipeval-disclosure"
INTERNAL_CLASS = "ipeval-internal"


class HTMLScan(HTMLParser):
    """Visible text (outside tables) with its line numbers, and every table as a grid."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.offsets: list[int] = []     # start offset in the joined text of each part
        self.lines: list[int] = []       # source line of each part
        self.length = 0
        self.tables: list[ShownTable] = []
        self.table_lines: list[int] = []
        self._open: list[dict] = []
        self._hidden = 0
        self._pending: ShownTable | None = None
        self.logs: list[tuple[int, object]] = []     # (line, disclosure log JSON or None)
        self.internal_lines: list[int] = []          # lines of elements of INTERNAL_CLASS

    # text outside tables ----------------------------------------------------------------
    def _text(self, text: str) -> None:
        self.offsets.append(self.length)
        self.lines.append(self.getpos()[0])
        self.parts.append(text)
        self.length += len(text)

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
            return
        self._layer_marks(attrs)
        if tag == "table":
            classes = set()
            names = set()
            meta = None
            for name, value in attrs:
                names.add(name)
                if name == "class" and value:
                    classes.update(value.split())
                if name == SAFE_ATTRIBUTE:
                    meta = _json_object(value)
            self._open.append({"safe": SAFE_CLASS in classes or SAFE_ATTRIBUTE in names,
                               "rows": [], "row": None, "cell": None, "head": False,
                               "line": self.getpos()[0], "meta": meta, "caption": [],
                               "before": self._last_line()})
            self._pending = None
            return
        if tag in _BLOCK_TAGS and not self._open:
            self._text("\n")
        if not self._open:
            return
        t = self._open[-1]
        if tag == "thead":
            t["head"] = True
        elif tag in ("tbody", "tfoot"):
            t["head"] = False
        elif tag == "tr":
            self._close_row(t)
            t["row"] = {"cells": [], "head": t["head"]}
        elif tag in ("td", "th"):
            self._close_cell(t)
            if t["row"] is None:
                t["row"] = {"cells": [], "head": t["head"]}
            spans = dict(attrs)
            t["cell"] = {"text": [], "th": tag == "th", "colspan": _span(spans.get("colspan")),
                         "rowspan": _span(spans.get("rowspan"))}
        elif tag == "br" and t["cell"] is not None:
            t["cell"]["text"].append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _HIDDEN_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag == "table":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
            return
        if not self._open:
            if tag in _BLOCK_TAGS:
                self._text("\n")
            return
        t = self._open[-1]
        if tag in ("td", "th"):
            self._close_cell(t)
        elif tag == "tr":
            self._close_row(t)
        elif tag == "thead":
            t["head"] = False
        elif tag == "table":
            self._close_row(t)
            self._open.pop()
            table = _grid_table(t["rows"], t["safe"])
            table.meta = t["meta"]
            table.caption = " ".join("".join(t["caption"]).split()) or t["before"]
            self.tables.append(table)
            self.table_lines.append(t["line"])
            self._pending = table

    def handle_data(self, data):
        if self._hidden:
            return
        if self._open:
            cell = self._open[-1]["cell"]
            if cell is not None:
                cell["text"].append(data)
                return
            if not data.strip():
                return
            # A caption or stray text inside a table but outside its cells: visible text.
            self._open[-1]["caption"].append(data)
        if self._pending is not None and data.strip():
            match = _HTML_FOOTER.match(data)
            if match:
                self._pending.total_rows = int(match.group(1))
            self._pending = None
        self._text(data)

    @staticmethod
    def _close_cell(t):
        if t["cell"] is not None:
            if t["row"] is None:
                t["row"] = {"cells": [], "head": t["head"]}
            cell = t["cell"]
            cell["text"] = _SPACE.sub(" ", "".join(cell["text"])).strip()
            t["row"]["cells"].append(cell)
            t["cell"] = None

    def _close_row(self, t):
        self._close_cell(t)
        if t["row"] is not None:
            if t["row"]["cells"]:
                t["rows"].append(t["row"])
            t["row"] = None

    def close(self):
        super().close()
        while self._open:                    # unclosed tables at the end of the document
            self.handle_endtag("table")

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def _last_line(self) -> str:
        """The last line of visible text so far: a table's heading when it has no caption."""
        tail = "".join(self.parts[-40:])
        lines = [line.strip() for line in tail.split("\n") if line.strip()]
        return " ".join(lines[-1].split())[:200] if lines else ""

    def _layer_marks(self, attrs) -> None:
        """The disclosure log and the internal label, on whatever element carries them."""
        for name, value in attrs:
            if name == LOG_ATTRIBUTE:
                self.logs.append((self.getpos()[0], _json_object(value)))
            elif name == "class" and value and INTERNAL_CLASS in value.split():
                self.internal_lines.append(self.getpos()[0])

    def line_at(self, offset: int) -> int:
        i = bisect.bisect_right(self.offsets, offset) - 1
        return self.lines[max(i, 0)] if self.lines else 1


def _json_object(value):
    """A JSON object written in an attribute, else None (unreadable is no information)."""
    try:
        found = json.loads(value) if value else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _span(value) -> int:
    if value is None:
        return 1
    try:
        return max(1, min(int(value), 1000))
    except (TypeError, ValueError):
        return 1


def _grid_table(raw_rows: list, safe: bool) -> ShownTable:
    """Rows of cells (with colspan/rowspan) as a rectangular grid; header rows combined."""
    grid, kinds, heads = [], [], []
    carry: dict[int, list] = {}          # column -> [text, th, rows left]
    for row in raw_rows:
        cells, th = [], []
        col = 0
        queue = list(row["cells"])
        while queue or col in carry:
            if col in carry:
                text, is_th, left = carry[col]
                cells.append(text)
                th.append(is_th)
                if left <= 1:
                    del carry[col]
                else:
                    carry[col][2] = left - 1
                col += 1
                continue
            cell = queue.pop(0)
            for _ in range(cell["colspan"]):
                if cell["rowspan"] > 1:
                    carry[col] = [cell["text"], cell["th"], cell["rowspan"] - 1]
                cells.append(cell["text"])
                th.append(cell["th"])
                col += 1
        grid.append(cells)
        kinds.append(th)
        heads.append(row["head"])
    width = max((len(r) for r in grid), default=0)
    grid = [r + [""] * (width - len(r)) for r in grid]
    kinds = [k + [False] * (width - len(k)) for k in kinds]
    n_head = 0
    if any(heads):
        n_head = max(i + 1 for i, h in enumerate(heads) if h)
    else:
        while n_head < len(grid) - 1 and all(kinds[n_head]):
            n_head += 1
    header = []
    for j in range(width):
        labels = [grid[i][j] for i in range(n_head) if grid[i][j]]
        labels = list(dict.fromkeys(labels))
        header.append(" / ".join(labels))
    body = grid[n_head:]
    body_kinds = kinds[n_head:]
    keep = [i for i, r in enumerate(body) if not all(c in ("...", "…", "") for c in r)]
    body = [body[i] for i in keep]
    body_kinds = [body_kinds[i] for i in keep]
    index_columns = {j for j in range(width)
                     if body_kinds and all(k[j] for k in body_kinds)}
    return ShownTable(header, body, index_columns, safe)
