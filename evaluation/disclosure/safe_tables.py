"""Showing tables safely: the one call every notebook uses for every table.

``Disclosure.show`` takes any table that carries a count of people per row (summaries with n,
coverage tables, estimate tables); ``crosstab`` and ``frequencies`` count people themselves;
``aggregate`` summarises magnitude data; ``model`` guards a fitted regression. Each returns a
:class:`~evaluation.disclosure.safe_table.SafeTable`: the values with a count of too few people
written as the marker (``<5``) and a number hidden to protect one as the protected mark (``·``),
and a record in the ``Disclosure``'s log. Its HTML carries the class ``ipeval-sdc``, which the
output checker recognises as having passed this layer.

One ``Disclosure`` serves one report: its ledger (:mod:`.linked`) remembers every count shown,
so a count hidden in one table is hidden in the next, a count published in one is never chosen
to protect a cell in another, and the report's last line, ``display(sdc)``, says once what the
marks mean and carries the structure an attacker or the output checker needs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.constraints import name_list, validate_params
from evaluation.estimates import COMPLEMENTS_ATTR, COUNT_COMPLEMENTS, COUNTS_ATTR, ROWS_ATTR
from evaluation.errors import ParameterError
from evaluation.disclosure.attacker import attack
from evaluation.disclosure.linked import Ledger, cell_id
from evaluation.disclosure.row_tables import (EXTREME_NAME, VIEW_KEYS, RowSpec, leading_keys, named_counts,
                                              protect_rows, share_columns)
from evaluation.disclosure.rules import SAFE_CLASS, DisclosureRules
from evaluation.disclosure.private_record import write_private
from evaluation.disclosure.report_summary import (LOG_ATTRIBUTE, SUMMARY_CLASS, report_sentence,
                                                  summary_html)
from evaluation.disclosure.safe_table import SafeTable, with_shown_margins, with_shown_total
from evaluation.disclosure.suppression import secondary_suppression
from evaluation.disclosure.table_view import TableView
from evaluation.language.catalogue import activate


class Disclosure:
    """Applies the study's disclosure rules to every table shown, and remembers what it did.

    Examples
    --------
    >>> sdc = Disclosure(DisclosureRules(min_cell=5))
    >>> t = pd.DataFrame({"group": ["a", "b", "c"], "n": [40, 3, 25], "estimate": [.5, .3, .6]})
    >>> print(sdc.show(t, name="demo").shown.to_string(index=False))
    group  n estimate
        a 40      0.5
        b <5        ·
        c  ·        ·

    Group c is hidden too although it has 25 people: with b alone hidden, b's n would be the
    total shown elsewhere minus the others. Its n is marked ``·``, not ``<5``: a count of 25 is
    hidden to protect b, and ``<5`` would say it was fewer than 5.
    """

    def __init__(self, rules: DisclosureRules | None = None, *, internal: bool = False):
        self.rules = rules or DisclosureRules()
        self.internal = bool(internal)
        self.log: list[dict] = []
        self.figures: list[dict] = []
        self.ledger = Ledger()
        self.tables: list[SafeTable] = []
        self.figure_recipes: list[dict] = []   # figures a release may draw again (figure_recipes)
        # The run's part of the study ({"institution": "Karlsborg"}) and the parts there are:
        # a batch's release links the counts of the runs through them.
        self.subset: dict = {}
        self.partition: dict = {}
        self.view: TableView | None = None     # the language and labels tables are written in

    @classmethod
    def for_study(cls, study, *, internal: bool = False,
                  language: str | None = None) -> "Disclosure":
        """The study's rules (``disclosure:`` in study.yaml); ``internal`` for a run whose
        report is not to be shared (person-level figures allowed, every page labelled); tables
        written in ``language`` (default: the manifest's) with the study's labels."""
        sdc = cls(DisclosureRules.from_manifest(study.manifest.disclosure), internal=internal)
        # The report's language: its tables, and the messages of what follows (gettext-style).
        sdc.view = TableView(activate(language or study.manifest.language).code, study.labels())
        column = getattr(study, "institution_column", None)
        if column and hasattr(study, "institutions"):
            sdc.partition = {str(column): [str(i) for i in study.institutions()]}
            if getattr(study, "institution", None) is not None:
                sdc.subset = {str(column): str(study.institution)}
        return sdc

    # -- tables with an n per row ------------------------------------------------------------
    @validate_params({"table": ["frame"], "n": [str, None], "complements": [dict, None],
                      "population": [str, None], "name": [str, None]})
    def show(self, table: pd.DataFrame, *, n: str | None = "n", counts=None, complements=None,
             keys=None, population: str | None = None, name: str | None = None) -> SafeTable:
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
        >>> sdc.show(t).shown["estimate"].tolist()    # z: 2 unexposed
        [0.2, '·']

        Outcomes are different questions about the same people (their rows add up to
        nothing), so y need not hide with z; rows of groups (institutions, bands) would.
        >>> sdc.show(t, counts=[]).shown["estimate"].tolist()
        [0.2, 0.4]
        """
        t = table.reset_index(drop=True).copy()
        t.attrs = {k: v for k, v in table.attrs.items() if k != ROWS_ATTR}   # ids stay here
        spec = self._spec(t, n, counts, complements, keys, population, name)
        spec.rows = {col: [marked.get(label) for label in table.index]
                     for col, marked in (table.attrs.get(ROWS_ATTR) or {}).items()}
        absent = [c for c in ([spec.n] if spec.n else []) + spec.counts if c not in t.columns]
        if absent:
            raise ParameterError(f"Disclosure.show: count column(s) {absent} are not in the "
                                 f"table; its columns: {list(t.columns)}.")
        t = t.drop(columns=spec.dropped)
        primary, secondary, ids, dependents = protect_rows(t, spec, self.rules, self.ledger)
        values = t.copy()
        for col in t.columns:
            if (primary[col] | secondary[col]).any():
                values[col] = values[col].astype(float).where(~(primary[col] | secondary[col]))
        notes = ([f"Not shown: {', '.join(map(str, spec.dropped))} (a minimum or maximum is one "
                  f"person's value)."] if spec.dropped else [])
        cell_ids = pd.DataFrame(None, index=values.index, columns=values.columns, dtype=object)
        for col, names in ids.items():
            cell_ids[col] = pd.Series(names, index=values.index, dtype=object)
        return self._finish(values, primary, secondary, name, kind="rows", notes=notes,
                            population=spec.population,
                            extra={"keys": list(map(str, spec.keys)), "shares": list(spec.shares),
                                   "percent": sorted(spec.percent)},
                            cell_ids=cell_ids, dependents=dependents)

    def _spec(self, t, n, counts, complements, keys, population, name) -> RowSpec:
        """What :meth:`show` knows of the table's columns: told, marked, or read off."""
        told = counts is not None
        n, counts, complements = self._count_columns(t, n, counts, complements)
        stop = set(counts) | ({n} if n else set())
        if not told:    # columns named like counts (n_missing, treated_n …) are counts too
            counts = counts + named_counts(t, exclude=stop | set(t.attrs.get("keys") or []))
            stop |= set(counts)
            prefixed = {c: f"{c.rsplit('_', 1)[0]}_n" for c in counts if c.endswith("_count")}
            complements = {**{c: p for c, p in prefixed.items() if p in t.columns}, **complements}
        keys = (name_list(keys, "keys", "Disclosure.show") if keys is not None
                else list(t.attrs.get("keys") or leading_keys(t, stop)))
        shares, percent = share_columns(t, n, dict(t.attrs.get("shares") or {}),
                                        skip=set(keys) | stop)
        dropped = [c for c in t.columns if isinstance(c, str) and c not in keys and c not in stop
                   and EXTREME_NAME.match(c) and pd.api.types.is_numeric_dtype(t[c])]
        return RowSpec(n=n, counts=[c for c in counts if c != n], complements=complements or {},
                       keys=keys, shares=shares, percent=percent,
                       population=str(population or t.attrs.get("population")
                                      or f"table {name or len(self.log) + 1}"),
                       conditions=dict(t.attrs.get("conditions") or {}), dropped=dropped,
                       views=VIEW_KEYS | set(t.attrs.get("views") or []))

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
                 population: str | None = None, name: str | None = None) -> SafeTable:
        """People counted by two variables, with primary and secondary suppression and totals
        recomputed from the cells shown."""
        for col in (index, columns):
            if col not in data.columns:
                raise ParameterError(f"Disclosure.crosstab: {col!r} is not a column.")
        counts = pd.crosstab(data[index], data[columns])
        groups = data.groupby([index, columns], observed=True).groups
        return self._count_table(counts, margins=margins, name=name or f"{index} × {columns}",
                                 population=population or data.attrs.get("population"),
                                 axes=(index, columns), rows=(data, [index, columns], groups))

    def frequencies(self, data: pd.DataFrame, column: str, *, population: str | None = None,
                    name: str | None = None) -> SafeTable:
        """People per category of one variable, with share of the shown total."""
        if column not in data.columns:
            raise ParameterError(f"Disclosure.frequencies: {column!r} is not a column.")
        counts = data[column].value_counts(dropna=False).sort_index().to_frame("n")
        groups = {("n", k): v for k, v in data.groupby(column, dropna=False).groups.items()}
        safe = self._count_table(counts.T, margins=False, name=name or column,
                                 population=population or data.attrs.get("population"),
                                 axes=(None, column), rows=(data, [column], groups))
        n, primary, secondary = safe.values.T, safe.primary.T, safe.secondary.T
        cell_ids = safe.cell_ids.T
        # Shares of everyone counted: the hidden cells' sum can be read off (at least two are
        # hidden together), no single one of them.
        n["share"] = n["n"] / counts["n"].sum()
        primary["share"], secondary["share"] = False, primary["n"] | secondary["n"]
        n = with_shown_total(n)
        primary.loc["Total (shown)"] = secondary.loc["Total (shown)"] = False
        cell_ids = cell_ids.reindex(index=n.index, columns=n.columns)
        self.log.pop()
        self.tables.pop()
        return self._finish(n, primary, secondary, name or column, kind="frequencies",
                            margins=True, population=safe.record["population"],
                            cell_ids=cell_ids, dependents={"n": ["n", "share"]})

    def counts(self, table: pd.DataFrame, *, margins: bool = False, population: str | None = None,
               name: str | None = None) -> SafeTable:
        """A table whose every cell is a count of people (a pivot of counts): primary and
        secondary suppression over rows and columns; totals, if asked, from the shown cells."""
        # Unnamed axes still name their cells: else every cell would be the table's total.
        axes = (table.index.name or "row", table.columns.name or "column")
        return self._count_table(table.fillna(0), margins=margins, name=name, axes=axes,
                                 population=population or table.attrs.get("population"))

    def _count_table(self, counts: pd.DataFrame, *, margins: bool, name: str | None,
                     population=None, axes=(None, None), rows=None) -> SafeTable:
        population = str(population or f"table {name or len(self.log) + 1}")
        c = counts.to_numpy(dtype=float)
        ids = [[cell_id(population, "n", _conditions(axes, i, j)) for j in counts.columns]
               for i in counts.index]
        if rows is not None:    # cells of the same rows as a cell shown before are that cell
            data, columns, groups = rows
            universe = self.ledger.universe(data, columns)
            for r, i in enumerate(counts.index):
                for k, j in enumerate(counts.columns):
                    labels = groups.get((i, j), [])
                    if not len(labels):      # every empty cell holds the same (no) rows
                        continue
                    ids[r][k] = (self.ledger.same_rows(universe, labels)
                                 or self.ledger.unique_for_rows(ids[r][k], universe, labels))
                    self.ledger.record_rows(ids[r][k], universe, labels)
        forced = np.array([[self.ledger.hidden_elsewhere(x) for x in row] for row in ids], dtype=bool)
        known = np.array([[self.ledger.published(x) for x in row] for row in ids], dtype=bool)
        primary = self.rules.small_count(c)
        extra = (secondary_suppression(c, primary | forced, published=known,
                                       min_cell=self.rules.min_cell) | (forced & ~primary))
        mask = primary | extra
        for r, row in enumerate(ids):
            for k, x in enumerate(row):
                ids[r][k] = self.ledger.record(x, c[r, k], "primary" if primary[r, k] else
                                               "secondary" if extra[r, k] else "shown")
        if rows is None:    # counted from rows, the cells are tied by the rows they hold
            self._relate_grid(ids, population, counts, axes)
        values = counts.astype(float).where(~mask)
        prim = pd.DataFrame(primary, index=counts.index, columns=counts.columns)
        sec = pd.DataFrame(extra & ~primary, index=counts.index, columns=counts.columns)
        cell_ids = pd.DataFrame(ids, index=counts.index, columns=counts.columns, dtype=object)
        if margins:
            values = with_shown_margins(values)
            prim, sec = (f.reindex(index=values.index, columns=values.columns, fill_value=False)
                         for f in (prim, sec))
            cell_ids = cell_ids.reindex(index=values.index, columns=values.columns)
        return self._finish(values, prim, sec, name, kind="counts", margins=margins,
                            population=population, cell_ids=cell_ids)

    def _relate_grid(self, ids, population, counts, axes) -> None:
        """A reader of a cross-table knows its rows and columns add up to their totals."""
        index, columns = axes
        for r, i in enumerate(counts.index):
            self.ledger.relate(cell_id(population, "n", _conditions((index, None), i, None)), ids[r])
        for k, j in enumerate(counts.columns):
            self.ledger.relate(cell_id(population, "n", _conditions((None, columns), None, j)),
                               [row[k] for row in ids])
        self.ledger.relate(cell_id(population, "n", {}), [x for row in ids for x in row])

    # -- magnitude data ---------------------------------------------------------------------------
    def aggregate(self, data: pd.DataFrame, by, value: str, *, stats=("mean", "sd", "median"),
                  name: str | None = None) -> SafeTable:
        """Summaries of a magnitude variable per group, each cell checked with the threshold,
        dominance, p-ratio and zeros rules on its contributions. A minimum or maximum is one
        person's value: asked for, it is left out and the note says so."""
        by = [by] if isinstance(by, str) else list(by)
        for col in [*by, value]:
            if col not in data.columns:
                raise ParameterError(f"Disclosure.aggregate: {col!r} is not a column.")
        funcs = {"mean": "mean", "sd": "std", "median": "median", "sum": "sum"}
        unknown = [s for s in stats if s not in funcs and s not in ("min", "max")]
        if unknown:
            raise ParameterError(f"Disclosure.aggregate: unknown statistic(s) {unknown}; "
                                 f"known: {sorted(funcs)}.")
        dropped = [s for s in stats if s in ("min", "max")]
        stats = [s for s in stats if s in funcs]
        grouped = data.groupby(by, observed=True, dropna=False)[value]
        table = grouped.agg(**{s: funcs[s] for s in stats}).reset_index()
        table.insert(len(by), "n", grouped.count().to_numpy())
        fails = grouped.apply(lambda s: ",".join(self.rules.magnitude_fails(s.to_numpy()))).to_numpy()
        failed = np.array([bool(f) for f in fails])
        extra = secondary_suppression(table["n"].to_numpy()[None, :], failed[None, :],
                                      min_cell=self.rules.min_cell)[0]
        primary = pd.DataFrame(False, index=table.index, columns=table.columns)
        secondary = primary.copy()
        primary.loc[self.rules.small_count(table["n"]) & failed, "n"] = True
        secondary.loc[failed | extra, ["n", *stats]] = True
        secondary &= ~primary
        values = table.copy()
        for col in ["n", *stats]:
            values[col] = values[col].astype(float).where(~(primary[col] | secondary[col]))
        rules = {r for f in fails for r in f.split(",") if r}
        notes = [f"Rules that hid cells: {', '.join(sorted(rules))}."] if rules else []
        if dropped:
            notes.append(f"Not shown: {', '.join(dropped)} (one person's value).")
        return self._finish(values, primary, secondary, name or f"{value} by {', '.join(by)}",
                            kind="magnitude", notes=notes)

    # -- models -----------------------------------------------------------------------------------
    def model(self, result, *, name: str | None = None) -> SafeTable:
        """A fitted statsmodels model's coefficients, or nothing when it has fewer residual
        degrees of freedom than the rules allow (a model of few people can be solved back)."""
        dof = float(getattr(result, "df_resid", np.nan))
        params = pd.DataFrame({"estimate": result.params, "ci_low": result.conf_int()[0],
                               "ci_high": result.conf_int()[1], "p_value": result.pvalues})
        params["n"] = int(result.nobs)
        params["df_resid"] = dof
        refused = dof < self.rules.min_residual_dof
        secondary = pd.DataFrame(refused, index=params.index, columns=params.columns)
        primary = pd.DataFrame(False, index=params.index, columns=params.columns)
        notes = []
        if refused:
            notes.append(f"Model not shown: {dof:g} residual degrees of freedom, fewer than "
                         f"{self.rules.min_residual_dof}.")
        return self._finish(params.where(~secondary), primary, secondary, name or "model",
                            kind="model", notes=notes, extra={"df_resid": dof})

    # -- record -----------------------------------------------------------------------------------
    def _finish(self, values, primary, secondary, name, *, kind, margins=False, notes=(),
                population=None, extra=None, cell_ids=None, dependents=None):
        record = {"name": name or f"table {len(self.log) + 1}", "serial": len(self.log),
                  "kind": kind,
                  "cells": int(primary.size), "primary": int(primary.to_numpy().sum()),
                  "secondary": int(secondary.to_numpy().sum()),
                  "suppressed": int((primary | secondary).to_numpy().sum()),
                  "margins": margins, "population": population, **(extra or {})}
        self.log.append(record)
        if self.view is not None:    # kept with the table: a release writes it again alike
            record = {**record, "view": self.view.as_record(values)}
        table = SafeTable(values, primary, secondary, record, self.rules, list(notes),
                          disclosure=self, cell_ids=cell_ids, dependents=dict(dependents or {}))
        self.tables.append(table)
        return table

    def figure_drawn(self, name: str, *, source: str | None = None,
                     person_level: bool = False) -> None:
        """Log a figure of the report (the figure functions call this): which table it
        illustrates, and whether it shows single people, which only an internal report may."""
        if person_level and not self.internal:
            raise ParameterError(f"Figure {name!r} shows single people; it is drawn only in an "
                                 f"internal run (internal=True), never in a report to share.")
        self.figures.append({"name": str(name), "source": source,
                             "person_level": bool(person_level)})

    def summary(self) -> pd.DataFrame:
        """What the layer did, a row per table shown."""
        return pd.DataFrame(self.log, columns=["name", "kind", "cells", "suppressed", "primary",
                                               "secondary", "margins"])

    def sentence(self) -> str:
        """The report's one sentence on disclosure control: what the two marks mean and how
        many cells each hid."""
        return report_sentence(self.rules, self.log, internal=self.internal)

    def attack(self) -> pd.DataFrame:
        """Every hidden cell of the report as the linear-programming attacker
        (:func:`~evaluation.disclosure.attacker.attack`) sees it over all the report's linked
        tables: its interval and whether it is worked out exactly (``exposed``)."""
        log = self.ledger.log(self.rules)
        return attack(log["cells"], log["relations"], min_cell=self.rules.min_cell,
                      primary_marks=(self.rules.suppressed_text,))

    def exposed(self) -> pd.DataFrame:
        """The hidden cells of the report a reader can work out exactly (none, if all is well)."""
        found = self.attack()
        return found[found["exposed"]] if len(found) else found

    def disclosure_log(self) -> dict:
        """Structure of what the report showed (never a hidden value): for the output checker
        and an attacker."""
        return {"rules": self.rules.as_dict(), "internal": self.internal,
                "tables": [{k: r.get(k) for k in ("name", "kind", "primary", "secondary",
                                                  "population")} for r in self.log],
                "figures": list(self.figures), **self.ledger.log(self.rules)}

    def _repr_html_(self) -> str:
        write_private(self)     # only when the runner asked for it (a batch's release)
        return summary_html(self.disclosure_log(), self.sentence())

    def _repr_markdown_(self) -> str:
        return self.sentence()


def _conditions(axes, i, j) -> dict:
    out = {}
    if axes[0] is not None and i is not None:
        out[str(axes[0])] = i
    if axes[1] is not None and j is not None:
        out[str(axes[1])] = j
    return out
