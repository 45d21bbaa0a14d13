"""``SafeTable``: a table that has passed the disclosure rules, as it is shown.

Two marks, one meaning each: a count of fewer than ``min_cell`` people is shown as the marker
(``<5``); a number hidden only so that such a count cannot be worked out is shown as the
protected mark (``·``). A reader who sees ``<5`` may rely on it: the cell holds 1 to 4 people;
a protecting cell of 15 is never written so. The note under a table says only what that table
needs (the protected mark, when it has one); what the marks mean for the whole report is said
once, by ``display(sdc)``.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evaluation.disclosure.rules import SAFE_ATTRIBUTE, SAFE_CLASS, SIDECAR_SUFFIX, DisclosureRules
from evaluation.disclosure.table_view import TableView
from evaluation.language.catalogue import using
from evaluation.language.formats import MISSING

# Columns shown with decimals even when every value happens to be whole.
DECIMAL_COLUMNS = {"estimate", "ci_low", "ci_high", "share", "p_value", "p_adjusted"}
TOTAL_SHOWN = "Total (shown)"


def with_shown_margins(values: pd.DataFrame) -> pd.DataFrame:
    """A table of counts with a row and a column of totals of the cells shown (hidden cells
    are missing): such totals say nothing of the hidden cells."""
    values = values.drop(index=TOTAL_SHOWN, columns=TOTAL_SHOWN, errors="ignore")
    values[TOTAL_SHOWN] = values.sum(axis=1, skipna=True)
    values.loc[TOTAL_SHOWN] = values.sum(axis=0, skipna=True)
    return values


def with_shown_total(frequencies: pd.DataFrame) -> pd.DataFrame:
    """Frequencies (columns ``n`` and ``share``) with a total row of the shown cells."""
    out = frequencies.drop(index=TOTAL_SHOWN, errors="ignore")
    out.loc[TOTAL_SHOWN] = [out["n"].sum(skipna=True), out["share"].sum(skipna=True)]
    return out


@dataclass
class SafeTable:
    """The values (NaN where hidden), which cells are hidden and why, and the record of it."""

    values: pd.DataFrame           # numbers, NaN where hidden
    primary: pd.DataFrame          # True where a count of fewer than min_cell people is hidden
    secondary: pd.DataFrame        # True where a number is hidden to protect another
    record: dict
    rules: DisclosureRules
    notes: list = field(default_factory=list)
    # The report's Disclosure, so that a figure drawn from this table is logged in its report.
    disclosure: object = field(default=None, repr=False, compare=False)
    # The ledger's name of the count in each cell (None where a cell is no count of people),
    # and per count column the columns hidden with it: what a batch's release needs to hide
    # one more count and draw the table again.
    cell_ids: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    dependents: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def suppressed(self) -> pd.DataFrame:
        """True where hidden, for either reason."""
        return self.primary | self.secondary

    @property
    def shown(self) -> pd.DataFrame:
        """The table as displayed: the two marks, counts as integers."""
        out = self.values.copy()
        for col in out.columns:
            s = out[col]
            if pd.api.types.is_float_dtype(s) and s.notna().any() and (s.dropna() % 1 == 0).all() \
                    and col not in DECIMAL_COLUMNS:
                out[col] = s.astype("Int64")
        out = out.astype(object)
        out[self.secondary] = self.rules.protected_text
        out[self.primary] = self.rules.suppressed_text
        return out

    def footnote(self) -> str:
        """The table's own note: the protected mark when the table uses it, and what else was
        done to it (totals of the shown cells, rules that hid magnitude cells, a model not
        shown). Empty when there is nothing to say."""
        parts = []
        if self.secondary.to_numpy().any():
            parts.append(f"{self.rules.protected_text} hidden to protect another cell.")
        if self.record.get("margins"):
            parts.append("Totals are sums of the cells shown.")
        return " ".join(parts + list(self.notes))

    def html_attributes(self) -> dict:
        return {"name": self.record.get("name"), "serial": self.record.get("serial"),
                "min_cell": self.rules.min_cell,
                "primary_mark": self.rules.suppressed_text,
                "secondary_mark": self.rules.protected_text,
                "population": self.record.get("population"), "kind": self.record.get("kind"),
                # The row's group: the checker must not read a 0/1 key (has_ip) as a count.
                "keys": list(self.record.get("keys") or [])}

    def written(self) -> tuple[pd.DataFrame, dict]:
        """The table as its report writes it (:mod:`.table_view`: labels, the language's
        numbers, no row numbers) and ``{"counts", "shares", "keys"}``: the new headers of its
        count, share and key columns. Without a view (a Disclosure not made for a study),
        the shown table with its own column names."""
        view = TableView.of_record(self.record)
        shown = self.shown
        keys = list(self.record.get("keys") or [])
        if not isinstance(shown.index, pd.RangeIndex):    # the index is a key (a category)
            names = [n if n is not None else "" for n in shown.index.names]
            shown = shown.reset_index(names=names) if len(names) > 1 or names[0] not in \
                shown.columns else shown.reset_index(drop=True)
            keys = [*names, *keys]
        counts = [*self.dependents] + ([c for c in shown.columns if c not in keys
                                        and c != "share"] if self.record.get("kind") == "counts"
                                       else [])
        if view is None:
            return shown, {"counts": counts, "shares": list(self.record.get("shares") or []),
                           "keys": keys}
        with using(view.code):
            frame, kinds = view.frame(shown, keys=keys, counts=counts,
                                      shares=list(self.record.get("shares") or [])
                                      + (["share"] if "share" in shown.columns else []),
                                      marks=(self.rules.suppressed_text, self.rules.protected_text),
                                      percent_shares=set(self.record.get("percent") or []))
        return frame, {**kinds, "keys": [view.header(k) for k in keys]}

    def _repr_html_(self) -> str:
        frame, kinds = self.written()
        attrs = {**self.html_attributes(), **kinds}
        attrs = html.escape(json.dumps(attrs, ensure_ascii=False, default=str), quote=True)
        view = TableView.of_record(self.record)
        body = frame.to_html(classes=["dataframe", SAFE_CLASS], na_rep=MISSING if view else "",
                             escape=True, index=view is None and not isinstance(
                                 frame.index, pd.RangeIndex),
                             float_format=lambda v: f"{v:.3f}")
        body = body.replace("<table ", f"<table {SAFE_ATTRIBUTE}=\"{attrs}\" ", 1)
        note = self.footnote()
        if note:
            body += f"<p class=\"{SAFE_CLASS}-note\"><small>{html.escape(note)}</small></p>"
        return body

    def __repr__(self) -> str:
        note = self.footnote()
        return self.shown.to_string() + (f"\n{note}" if note else "")

    def to_csv(self, path, **kwargs) -> None:
        """Write the table as shown (marks as text), never the hidden numbers, and beside it
        ``<name>.ipeval-sdc.json`` saying it passed the layer (a CSV cannot carry the HTML
        class the output checker looks for)."""
        path = Path(path)
        self.shown.to_csv(path, **kwargs)
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        sidecar.write_text(json.dumps({"table": self.record.get("name"),
                                       "min_cell": self.rules.min_cell,
                                       "primary_mark": self.rules.suppressed_text,
                                       "secondary_mark": self.rules.protected_text,
                                       "rules": self.rules.as_dict(),
                                       "suppressed": self.record.get("suppressed")},
                                      ensure_ascii=False, indent=1), encoding="utf-8")
