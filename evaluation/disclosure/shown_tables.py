"""A table as an output showed it: rows of cell text under one header (output checker, internal).

HTML tables (:mod:`.html_tables`), pandas tables printed as text (:mod:`.text_tables`) and
CSV/XLSX sheets (:func:`table_from_frame`) all become a :class:`ShownTable`, so the checker's
table rules (:mod:`.findings`) read one shape whatever the file was.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

# A whole number as a cell shows it ("12", "12.0", "12,0"); also how text tables tell a header
# of numbers from one of words, so both places must read numbers alike.
PLAIN_INTEGER = re.compile(r"^\s*(\d{1,15})(?:[.,]0+)?\s*$")


@dataclass
class ShownTable:
    header: list            # one label per column
    rows: list              # body rows: lists of cell text, same length as header
    index_columns: set      # columns that hold row labels
    safe: bool = False      # passed the disclosure layer
    total_rows: int | None = None   # rows of the whole table when the display is cut
    meta: dict | None = None        # the layer's data-ipeval-sdc JSON (name, min_cell, marks)
    caption: str = ""               # its <caption>, else the last line of text before it

    @property
    def name(self) -> str:
        """The table's name as the layer recorded it, else its caption."""
        named = (self.meta or {}).get("name")
        return str(named).strip() if named else self.caption


def table_from_frame(df: pd.DataFrame, *, safe: bool = False) -> ShownTable:
    """A table read from CSV/XLSX: every cell as text, data rows numbered from 1.

    ``safe`` when the file carries the disclosure layer's marker (a sidecar beside it), which
    only the small-cell rule heeds."""
    header = ["" if str(c).startswith("Unnamed: ") else str(c) for c in df.columns]
    columns = []
    for col in range(df.shape[1]):
        series = df.iloc[:, col]
        if pd.api.types.is_float_dtype(series.dtype):
            values = series.map(lambda v: "" if pd.isna(v) else
                                (str(int(v)) if float(v).is_integer() else repr(float(v))))
        else:
            values = series.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v))
                                else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                      else str(v)))
        columns.append(values.tolist())
    rows = [list(r) for r in zip(*columns)] if columns else []
    index = {j for j, h in enumerate(header) if h == "" and j == 0}
    return ShownTable(header, rows, index, safe)
