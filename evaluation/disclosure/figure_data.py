"""What a figure may draw of a table: the cells the report shows, and the marks of the others.

A figure that illustrates a table draws from the table as shown (the ``SafeTable`` of
``sdc.show``), so a cell hidden in the table is never drawn beside it: its point, bar or
segment is left out and its label carries the table's own mark (``<5`` for a count of too few
people, ``·`` for a number hidden to protect another). A plain DataFrame (a user's own table)
goes through the same rules first, in a ``Disclosure`` of its own; a frame taken from
``SafeTable.values`` has its hidden cells as NaN, which are not drawn either (labelled
:data:`HIDDEN_WORD`, since a bare frame no longer says which mark they had).

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"g": ["a", "b", "c"], "n": [40, 3, 25], "estimate": [0.5, 0.2, 0.4]})
>>> ft = figure_table(t)           # c protects b: neither is drawn
>>> ft.drawable(["estimate"]).tolist(), ft.mark(1, "n"), ft.mark(2, "n")
([True, False, False], '<5', '·')
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.safe_table import SafeTable
from evaluation.disclosure.safe_tables import Disclosure

HIDDEN_WORD = "hidden"       # the label of a NaN cell of a bare frame (its mark is unknown)


@dataclass
class FigureTable:
    """A table as a figure may draw it (index 0 … len − 1, columns as the table's)."""

    values: pd.DataFrame          # numbers as shown, NaN where hidden
    marks: pd.DataFrame           # "" where shown; the mark (or HIDDEN_WORD) where hidden
    rules: DisclosureRules
    source: str | None            # the shown table's name; None for a frame not shown
    sdc: object | None            # the report's Disclosure, when known

    def __len__(self) -> int:
        return len(self.values)

    def numbers(self, column: str | None) -> np.ndarray:
        """A column as floats (NaN where hidden); all NaN for a column the table lacks."""
        if not column or column not in self.values.columns:
            return np.full(len(self), np.nan)
        return pd.to_numeric(self.values[column], errors="coerce").to_numpy(dtype=float)

    def hidden(self, columns) -> np.ndarray:
        """Rows where any of ``columns`` (present in the table) is hidden or missing."""
        out = np.zeros(len(self), dtype=bool)
        for c in columns:
            if c and c in self.values.columns:
                out |= (self.marks[c] != "").to_numpy()
                if pd.api.types.is_numeric_dtype(self.values[c]):
                    out |= np.isnan(self.numbers(c))
        return out

    def drawable(self, columns, *, counts=()) -> np.ndarray:
        """Rows whose ``columns`` are all shown, and whose ``counts`` are all shown: a point
        drawn beside a hidden count of its row would let the count be read off the figure."""
        return ~self.hidden([*columns, *counts])

    def mark(self, i: int, column: str) -> str:
        """The mark of a hidden cell, "" for a shown one."""
        if column not in self.marks.columns:
            return ""
        m = self.marks[column].iloc[i]
        if m:
            return m
        v = self.values[column].iloc[i]
        return HIDDEN_WORD if isinstance(v, float) and np.isnan(v) else ""

    def row_mark(self, i: int, columns) -> str:
        """The first mark among ``columns`` of row ``i`` (primary marks first)."""
        found = [self.mark(i, c) for c in columns if c and c in self.values.columns]
        found = [m for m in found if m]
        for preferred in (self.rules.suppressed_text, self.rules.protected_text):
            if preferred in found:
                return preferred
        return found[0] if found else ""

    def count_text(self, i: int, column: str) -> str:
        """A count as a label shows it: the number, or its mark."""
        m = self.mark(i, column)
        return m if m else f"{int(round(float(self.values[column].iloc[i])))}"

    def marks_used(self, rows) -> list:
        """The marks of the hidden rows, primary first, for a figure's note."""
        order = [self.rules.suppressed_text, self.rules.protected_text, HIDDEN_WORD]
        return [m for m in order if m in set(rows)]


def columns_of(data) -> list:
    """The columns of a SafeTable or a DataFrame."""
    return list((data.values if isinstance(data, SafeTable) else data).columns)


def safe_parts(table: SafeTable):
    """``(values, marks)`` of a SafeTable, index reset."""
    values = table.values.reset_index(drop=True)
    marks = pd.DataFrame("", index=values.index, columns=values.columns, dtype=object)
    for frame, mark in ((table.secondary, table.rules.protected_text),
                        (table.primary, table.rules.suppressed_text)):
        f = frame.reset_index(drop=True).reindex(index=values.index, columns=values.columns,
                                                fill_value=False).astype(bool)
        marks = marks.mask(f, mark)
    return values, marks


def figure_table(data, *, rules: DisclosureRules | None = None, sdc=None, n: str | None = "n",
                 counts=None, complements=None, keys=None) -> FigureTable:
    """The table a figure draws: a SafeTable as shown, or a DataFrame after the rules.

    ``sdc`` is the report's Disclosure (it gets the figure's record); a SafeTable that knows its
    own (``table.disclosure``) gives it too. A DataFrame is protected by a Disclosure of its
    own with ``rules`` (or ``sdc``'s, or the default), as ``Disclosure.show`` would with
    ``n``, ``counts``, ``complements`` and ``keys``: the figure is not a table of the report,
    so it is not logged as one.
    """
    if isinstance(data, SafeTable):
        values, marks = safe_parts(data)
        known = sdc if sdc is not None else getattr(data, "disclosure", None)
        return FigureTable(values, marks, data.rules, data.record.get("name"), known)
    rules = rules if rules is not None else getattr(sdc, "rules", None) or DisclosureRules()
    frame = pd.DataFrame(data).reset_index(drop=True)
    before = frame.isna()
    safe = Disclosure(rules).show(frame, n=n if n in frame.columns else None, counts=counts,
                                  complements=complements, keys=keys, name="figure data")
    values, marks = safe_parts(safe)
    values = values.reindex(columns=frame.columns)
    marks = marks.reindex(columns=frame.columns, fill_value="")
    was_nan = before.reindex(columns=frame.columns, fill_value=False).to_numpy()
    marks = marks.mask(was_nan & (marks == "").to_numpy(), "")
    return FigureTable(values, marks, rules, None, sdc)


def rows_where(data, keep):
    """The rows of a SafeTable or DataFrame for which ``keep(values)`` (a boolean Series of
    the shown values) is true; a SafeTable stays a SafeTable, with its marks and record."""
    if not isinstance(data, SafeTable):
        return data[keep(data).to_numpy()]
    mask = keep(data.values).to_numpy()
    part = replace(data, values=data.values[mask], primary=data.primary[mask],
                   secondary=data.secondary[mask])
    if hasattr(data, "disclosure"):
        part.disclosure = data.disclosure
    return part


def with_key(data, column: str, make):
    """``data`` with a key column ``column`` = ``make(values)`` (a label to draw by); a
    SafeTable stays one, the new column never hidden."""
    if not isinstance(data, SafeTable):
        return data.assign(**{column: make(data)})
    values = data.values.assign(**{column: make(data.values)})
    never = pd.DataFrame(False, index=values.index, columns=[column])
    part = replace(data, values=values, primary=pd.concat([data.primary, never], axis=1),
                   secondary=pd.concat([data.secondary, never], axis=1))
    if hasattr(data, "disclosure"):
        part.disclosure = data.disclosure
    return part
