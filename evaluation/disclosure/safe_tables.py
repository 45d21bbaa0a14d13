"""Showing tables safely: the one call every notebook uses for every table.

``Disclosure.show`` takes any table that carries a count of people per row (summaries with n,
coverage tables, estimate tables); ``crosstab`` and ``frequencies`` count people themselves;
``aggregate`` summarises magnitude data; ``model`` guards a fitted regression. Each returns a
``SafeTable``: the values with suppressed cells written as the marker (``<5``), a footnote that
says what was done, and a record in the ``Disclosure``'s log. Its HTML carries the class
``ipeval-sdc``, which the output checker recognises as having passed this layer.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.constraints import name_list, validate_params
from evaluation.estimates import COMPLEMENTS_ATTR, COUNT_COMPLEMENTS, COUNTS_ATTR
from evaluation.errors import ParameterError
from evaluation.disclosure.rules import SAFE_ATTRIBUTE, SAFE_CLASS, SIDECAR_SUFFIX, DisclosureRules
from evaluation.disclosure.suppression import secondary_suppression

@dataclass
class SafeTable:
    """A table that has passed the disclosure rules."""

    values: pd.DataFrame           # numbers, NaN where suppressed
    suppressed: pd.DataFrame       # True where suppressed (primary or secondary)
    record: dict
    rules: DisclosureRules
    notes: list = field(default_factory=list)

    @property
    def shown(self) -> pd.DataFrame:
        """The table as displayed: suppressed cells as the marker text, counts as integers."""
        out = self.values.copy()
        for col in out.columns:
            s = out[col]
            if pd.api.types.is_float_dtype(s) and s.notna().any() and (s.dropna() % 1 == 0).all() \
                    and col not in {"estimate", "ci_low", "ci_high", "share", "p_value"}:
                out[col] = s.astype("Int64")
        out = out.astype(object)
        out[self.suppressed] = self.rules.suppressed_text
        return out

    def footnote(self) -> str:
        r = self.record
        parts = [f"Cells resting on fewer than {self.rules.min_cell} people are shown as "
                 f"{self.rules.suppressed_text}."]
        if r.get("secondary"):
            parts.append(f"{r['secondary']} further cell(s) are hidden so that no hidden cell "
                         f"can be worked out from the others or from the totals.")
        if r.get("margins"):
            parts.append("Totals are sums of the cells shown.")
        return " ".join(parts + self.notes)

    def _repr_html_(self) -> str:
        attrs = html.escape(json.dumps({"name": self.record.get("name"),
                                        "min_cell": self.rules.min_cell}), quote=True)
        body = self.shown.to_html(classes=["dataframe", SAFE_CLASS], na_rep="", escape=True,
                                  float_format=lambda v: f"{v:.3f}")
        body = body.replace("<table ", f"<table {SAFE_ATTRIBUTE}=\"{attrs}\" ", 1)
        return f"{body}<p class=\"{SAFE_CLASS}-note\"><small>{html.escape(self.footnote())}</small></p>"

    def __repr__(self) -> str:
        return f"{self.shown.to_string()}\n{self.footnote()}"

    def to_csv(self, path, **kwargs) -> None:
        """Write the table as shown (markers as text), never the suppressed numbers, and beside
        it ``<name>.ipeval-sdc.json`` saying it passed the layer (a CSV cannot carry the HTML
        class the output checker looks for)."""
        path = Path(path)
        self.shown.to_csv(path, **kwargs)
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        sidecar.write_text(json.dumps({"table": self.record.get("name"),
                                       "min_cell": self.rules.min_cell,
                                       "rules": self.rules.as_dict(),
                                       "suppressed": self.record.get("suppressed")},
                                      ensure_ascii=False, indent=1), encoding="utf-8")


class Disclosure:
    """Applies the study's disclosure rules to every table shown, and remembers what it did.

    Examples
    --------
    >>> sdc = Disclosure(DisclosureRules(min_cell=5))
    >>> t = pd.DataFrame({"group": ["a", "b", "c"], "n": [40, 3, 25], "estimate": [.5, .3, .6]})
    >>> print(sdc.show(t, name="demo").shown.to_string(index=False))
    group  n estimate
        a 40      0.5
        b <5       <5
        c <5       <5

    Group c is hidden too although it has 25 people: with b alone hidden, b's n would be the
    total shown elsewhere minus the others.
    """

    def __init__(self, rules: DisclosureRules | None = None):
        self.rules = rules or DisclosureRules()
        self.log: list[dict] = []

    @classmethod
    def for_study(cls, study) -> "Disclosure":
        return cls(DisclosureRules.from_manifest(study.manifest.disclosure))

    # -- tables with an n per row ------------------------------------------------------------
    @validate_params({"table": ["frame"], "n": [str, None], "complements": [dict, None],
                      "name": [str, None]})
    def show(self, table: pd.DataFrame, *, n: str | None = "n", counts=None, complements=None,
             name: str | None = None) -> SafeTable:
        """Any table with a count of people per row: a row resting on fewer than min_cell people
        has all its numbers hidden; other count columns (``counts``) hide their row's derived
        numbers when small, as does a small complement (``complements={"n_exposed": "n"}``:
        n − n_exposed is a count too). A row hidden alone is joined by the next smallest row,
        so that it cannot be found by subtraction from a total shown elsewhere.

        Without ``counts``, the count columns are the result contract's in the table, with
        their complements (``n_exposed`` and ``count`` within ``n``:
        :data:`evaluation.estimates.COUNT_COMPLEMENTS`), and those the table is marked with
        (``table.attrs["counts"]`` and ``table.attrs["complements"]``, set by
        :func:`with_counts`). So a table built through the contract, or marked by the function
        that made it, needs no more than ``sdc.show(table)``. ``counts=[]`` means no count
        column but ``n``. A marked table without a column ``n`` has no count of people per row
        (as ``n=None``).

        Examples
        --------
        >>> sdc = Disclosure()
        >>> t = pd.DataFrame({"outcome": ["y", "z"], "estimate": [0.2, 0.4], "n": [40, 30],
        ...                   "n_exposed": [20, 28]})
        >>> sdc.show(t).shown["estimate"].tolist()    # z: 2 unexposed; then y joins it
        ['<5', '<5']
        >>> sdc.show(t, counts=[]).shown["estimate"].tolist()
        [0.2, 0.4]
        """
        t = table.reset_index(drop=True).copy()
        n, counts, complements = self._count_columns(t, n, counts, complements)
        count_cols = ([n] if n else []) + [c for c in counts if c != n]
        absent = [c for c in count_cols if c not in t.columns]
        if absent:
            raise ParameterError(f"Disclosure.show: count column(s) {absent} are not in the "
                                 f"table; its columns: {list(t.columns)}.")
        numeric = [c for c in t.columns if pd.api.types.is_numeric_dtype(t[c])
                   and not pd.api.types.is_bool_dtype(t[c])]
        sup = pd.DataFrame(False, index=t.index, columns=t.columns)
        small_rows = np.zeros(len(t), dtype=bool)
        if n:
            small_rows = self.rules.small_count(t[n])
        for col in count_cols:
            small = self.rules.small_count(t[col])
            partner = (complements or {}).get(col)
            if partner:
                small |= self.rules.small_count(t[partner] - t[col])
            sup.loc[small, col] = True
            derived = [c for c in numeric if c not in count_cols]
            sup.loc[small, derived] = True
        sup.loc[small_rows, numeric] = True
        secondary = 0
        for col in count_cols:   # complementary suppression down each count column
            extra = secondary_suppression(t[col].to_numpy()[None, :], sup[col].to_numpy()[None, :])[0]
            if extra.any():
                secondary += int(extra.sum())
                sup.loc[extra, numeric] = True
        values = t.copy()
        for col in numeric:
            values[col] = values[col].astype(float).where(~sup[col])
        return self._finish(values, sup, name, kind="rows", secondary=secondary)

    @staticmethod
    def _count_columns(t: pd.DataFrame, n, counts, complements) -> tuple:
        """``(n, counts, complements)`` for :meth:`show`: what it was told, else the contract's
        count columns and those the table is marked with in its attrs."""
        marked = t.attrs.get(COUNTS_ATTR)
        if counts is not None:
            return n, name_list(counts, "counts", "Disclosure.show"), complements
        if marked is not None and n == "n" and n not in t.columns:
            n = None
        counts = [c for c in COUNT_COMPLEMENTS if c in t.columns and c != n]
        default = {c: COUNT_COMPLEMENTS[c] for c in counts
                   if COUNT_COMPLEMENTS[c] in t.columns and COUNT_COMPLEMENTS[c] == n}
        if marked is not None:
            counts += [c for c in name_list(marked, "attrs['counts']", "Disclosure.show")
                       if c in t.columns and c not in counts and c != n]
            default.update({c: p for c, p in (t.attrs.get(COMPLEMENTS_ATTR) or {}).items()
                            if c in t.columns and p in t.columns})
        return n, counts, default if complements is None else complements

    # -- counts of people ---------------------------------------------------------------------
    def crosstab(self, data: pd.DataFrame, index: str, columns: str, *, margins: bool = True,
                 name: str | None = None) -> SafeTable:
        """People counted by two variables, with primary and secondary suppression and totals
        recomputed from the cells shown."""
        for col in (index, columns):
            if col not in data.columns:
                raise ParameterError(f"Disclosure.crosstab: {col!r} is not a column.")
        counts = pd.crosstab(data[index], data[columns])
        return self._count_table(counts, margins=margins, name=name or f"{index} × {columns}")

    def frequencies(self, data: pd.DataFrame, column: str, *, name: str | None = None) -> SafeTable:
        """People per category of one variable, with share of the shown total."""
        if column not in data.columns:
            raise ParameterError(f"Disclosure.frequencies: {column!r} is not a column.")
        counts = data[column].value_counts(dropna=False).sort_index().to_frame("n")
        safe = self._count_table(counts.T, margins=False, name=name or column)
        n = safe.values.T
        sup = safe.suppressed.T
        # Shares of everyone counted: the hidden cells' sum can be read off (at least two are
        # hidden together), no single one of them.
        n["share"] = n["n"] / counts["n"].sum()
        sup["share"] = sup["n"]
        n.loc["Total (shown)"] = [n["n"].sum(skipna=True), n["share"].sum(skipna=True)]
        # (the shown total and its share say how many are in hidden cells, together)
        sup.loc["Total (shown)"] = False
        self.log.pop()
        return self._finish(n, sup, name or column, kind="frequencies",
                            secondary=safe.record["secondary"], margins=True)

    def counts(self, table: pd.DataFrame, *, margins: bool = False, name: str | None = None) -> SafeTable:
        """A table whose every cell is a count of people (a pivot of counts): primary and
        secondary suppression over rows and columns; totals, if asked, from the shown cells."""
        return self._count_table(table.fillna(0), margins=margins, name=name)

    def _count_table(self, counts: pd.DataFrame, *, margins: bool, name: str | None) -> SafeTable:
        c = counts.to_numpy(dtype=float)
        primary = self.rules.small_count(c)
        extra = secondary_suppression(c, primary)
        mask = primary | extra
        values = counts.astype(float).where(~mask)
        sup = pd.DataFrame(mask, index=counts.index, columns=counts.columns)
        if margins:
            values["Total (shown)"] = values.sum(axis=1, skipna=True)
            sup["Total (shown)"] = False
            values.loc["Total (shown)"] = values.sum(axis=0, skipna=True)
            sup.loc["Total (shown)"] = False
        return self._finish(values, sup, name, kind="counts", secondary=int(extra.sum()),
                            margins=margins)

    # -- magnitude data ---------------------------------------------------------------------------
    def aggregate(self, data: pd.DataFrame, by, value: str, *, stats=("mean", "sd", "median"),
                  name: str | None = None) -> SafeTable:
        """Summaries of a magnitude variable per group, each cell checked with the threshold,
        dominance, p-ratio and zeros rules on its contributions."""
        by = [by] if isinstance(by, str) else list(by)
        for col in [*by, value]:
            if col not in data.columns:
                raise ParameterError(f"Disclosure.aggregate: {col!r} is not a column.")
        funcs = {"mean": "mean", "sd": "std", "median": "median", "sum": "sum", "min": "min",
                 "max": "max"}
        grouped = data.groupby(by, observed=True, dropna=False)[value]
        table = grouped.agg(**{s: funcs[s] for s in stats}).reset_index()
        table.insert(len(by), "n", grouped.count().to_numpy())
        fails = grouped.apply(lambda s: ",".join(self.rules.magnitude_fails(s.to_numpy()))).to_numpy()
        sup = pd.DataFrame(False, index=table.index, columns=table.columns)
        failed = np.array([bool(f) for f in fails])
        sup.loc[failed, ["n", *stats]] = True
        extra = secondary_suppression(table["n"].to_numpy()[None, :], failed[None, :])[0]
        sup.loc[extra, ["n", *stats]] = True
        values = table.copy()
        for col in ["n", *stats]:
            values[col] = values[col].astype(float).where(~sup[col])
        rules = {r for f in fails for r in f.split(",") if r}
        notes = [f"Rules that hid cells: {', '.join(sorted(rules))}."] if rules else []
        return self._finish(values, sup, name or f"{value} by {', '.join(by)}", kind="magnitude",
                            secondary=int(extra.sum()), notes=notes)

    # -- models -----------------------------------------------------------------------------------
    def model(self, result, *, name: str | None = None) -> SafeTable:
        """A fitted statsmodels model's coefficients, or nothing when it has fewer residual
        degrees of freedom than the rules allow (a model of few people can be solved back)."""
        dof = float(getattr(result, "df_resid", np.nan))
        params = pd.DataFrame({"estimate": result.params, "ci_low": result.conf_int()[0],
                               "ci_high": result.conf_int()[1], "p_value": result.pvalues})
        params["n"] = int(result.nobs)
        params["df_resid"] = dof
        sup = pd.DataFrame(dof < self.rules.min_residual_dof, index=params.index,
                           columns=params.columns)
        notes = []
        if dof < self.rules.min_residual_dof:
            notes.append(f"Model not shown: {dof:g} residual degrees of freedom, fewer than "
                         f"{self.rules.min_residual_dof}.")
        return self._finish(params.where(~sup), sup, name or "model", kind="model", secondary=0,
                            notes=notes, extra={"df_resid": dof})

    # -- record ---------------------------------------------------------------------------------
    def _finish(self, values, sup, name, *, kind, secondary, margins=False, notes=(), extra=None):
        record = {"name": name or f"table {len(self.log) + 1}", "kind": kind,
                  "cells": int(sup.size), "suppressed": int(sup.to_numpy().sum()),
                  "secondary": int(secondary), "margins": margins, **(extra or {})}
        self.log.append(record)
        return SafeTable(values, sup, record, self.rules, list(notes))

    def summary(self) -> pd.DataFrame:
        """What the layer did, a row per table shown."""
        return pd.DataFrame(self.log, columns=["name", "kind", "cells", "suppressed", "secondary",
                                               "margins"])


def hide_small_levels(dist: pd.DataFrame, rules: DisclosureRules, *, keys, n: str = "n",
                      share: str = "share") -> pd.DataFrame:
    """For a table of answers per level (``item_distribution``, ``level_shares``): mark the
    level cells of fewer than min_cell people, plus the next smallest cell of the same row
    when only one is marked, in a ``suppressed`` column, and blank their share. Plots draw the
    hidden cells as one grey segment, so only their sum can be seen."""
    out = dist.copy()
    out["suppressed"] = False
    group = out.groupby(list(keys), observed=True, dropna=False).ngroup().to_numpy()
    for g in np.unique(group):
        idx = out.index[group == g]
        counts = out.loc[idx, n].to_numpy(dtype=float)
        primary = rules.small_count(counts)
        extra = secondary_suppression(counts[None, :], primary[None, :])[0]
        out.loc[idx, "suppressed"] = primary | extra
    out.loc[out["suppressed"], share] = np.nan
    return out
