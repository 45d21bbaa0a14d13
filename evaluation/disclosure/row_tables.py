"""Suppression of a table with a row per group (``Disclosure.show``): what is a key, what is a
count, what each count's hiding takes with it, and the lines along which hidden cells must not
be alone.

A table here is *keys* (the columns that say which group a row is: never hidden, whatever their
type, since a key hidden says nothing and a numeric key such as a year or a session is not a
count), *counts* of people or rows (``n``, ``n_exposed`` … and any column named like a count
whose values are whole numbers), *shares* (a share of n is a count: share × n people), and the
numbers derived from them (estimates, CIs, means), which are hidden with the count they rest on.
Minimum and maximum of a magnitude are one person's value and are never shown.

The rows of a table with several keys form a long table: the rows that share the leading keys
partition their group, and so do the rows that share the last key across groups (the change
categories of each IP group; the levels of each variable in Table 1). Hidden counts are closed
along both, as in a cross-table, so no hidden count is a total minus the shown ones.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.estimates import COUNT_COMPLEMENTS, ESTIMATE_COLUMNS, MEASURE_COLUMNS
from evaluation.disclosure.linked import CellId, Ledger, cell_id
from evaluation.disclosure.suppression import secondary_suppression
from evaluation.disclosure.table_repair import repair_table

# Columns named like counts of people or rows: counts when every value is a whole number.
COUNT_NAME = re.compile(r"^(n_\w+|\w+_n|count_\w+|\w+_count|rows(_\w+)?|antall(_\w+)?)$")
# Names of counts that are not of people (weighted sums, replicates, the study's own coders)
# though named like one. The output checker's list (cell_text.NOT_PEOPLE_COUNT) must hold these
# too, or it would flag a count the layer rightly shows.
NOT_COUNT_NAME = re.compile(r"(weighted|boot|reps|replicates|iterations|dof|df|k|coders|raters)$")
EXTREME_NAME = re.compile(r"^((min|max)(_\w+)?|\w+_(min|max))$")
SHARE_NAME = re.compile(r"^((share|proportion|andel)(_\w+)?|\w+_(share|proportion|andel))$")
PERCENT_NAME = re.compile(r"^((percent|pct|prosent)(_\w+)?|\w+_(percent|pct|prosent))$")
CONTRACT = set(ESTIMATE_COLUMNS) | set(MEASURE_COLUMNS)
# Keys whose values are different questions about the same people (an outcome, a model term,
# a Table-1 variable, a code): their rows do not add up to anything, so hidden counts are
# closed within each of them, never across them.
VIEW_KEYS = {"outcome", "method", "measure", "term", "variable", "code", "score", "source",
             "item", "instrument", "theme", "domain", "kind", "table"}
# Contract columns that say how a number was got, not which group it is of: a key column may
# come after them (``measure`` before ``code``), and they are never keys.
DESCRIPTIVE = {"estimand", "scale", "note"}


@dataclass
class RowSpec:
    """What the layer knows of a table's columns (see the module docstring)."""

    n: str | None
    counts: list
    complements: dict
    keys: list
    shares: dict                    # share column -> its n column (percent: ÷ 100)
    percent: set = field(default_factory=set)
    population: str = "table"
    conditions: dict = field(default_factory=dict)   # count column -> {key: value} it adds
    dropped: list = field(default_factory=list)      # minimum/maximum columns not shown
    views: set = field(default_factory=lambda: set(VIEW_KEYS))
    rows: dict = field(default_factory=dict)         # count column -> ids of people, by row


def whole_numbers(s: pd.Series) -> bool:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) \
        and len(v) > 0 and bool((v >= 0).all() and (v % 1 == 0).all())


def leading_keys(t: pd.DataFrame, stop: set) -> list:
    """The columns before the first count, share or numeric result-contract column, leaving out
    those that say how a number was got (method, scale …): the row's group. ``outcome`` is a
    key: each outcome has its own rows used."""
    keys = []
    for col in t.columns:
        if col in DESCRIPTIVE:
            continue
        named = isinstance(col, str) and any(p.match(col) for p in (SHARE_NAME, PERCENT_NAME,
                                                                      EXTREME_NAME))
        measured = pd.api.types.is_float_dtype(t[col]) and not whole_numbers(t[col])
        if col in stop or (col in CONTRACT and col not in VIEW_KEYS) or named or measured:
            break
        keys.append(col)
    return keys


def named_counts(t: pd.DataFrame, exclude: set) -> list:
    return [c for c in t.columns if isinstance(c, str) and c not in exclude
            and COUNT_NAME.match(c) and not NOT_COUNT_NAME.search(c) and whole_numbers(t[c])]


def share_columns(t: pd.DataFrame, spec_n: str | None, marked: dict, skip: set) -> tuple[dict, set]:
    """Share and percent columns with the n each is a share of (``x_share`` → ``x_n`` when the
    table has it, else ``n``), and those the table is marked with (``attrs['shares']``)."""
    shares, percent = dict(marked), set()
    for col in t.columns:
        if not isinstance(col, str) or col in shares or col in skip:
            continue
        pct = bool(PERCENT_NAME.match(col))
        if not (pct or SHARE_NAME.match(col)) or not pd.api.types.is_numeric_dtype(t[col]):
            continue
        prefix = col.split("_")[0]
        partner = f"{prefix}_n" if f"{prefix}_n" in t.columns else (spec_n or "n")
        if partner and partner in t.columns:
            shares[col] = partner
            if pct:
                percent.add(col)
    if "estimate" in t.columns and "scale" in t.columns and spec_n and "estimate" not in shares:
        if not ({"count", "n_exposed"} & set(t.columns)) and \
                t["scale"].astype(str).str.startswith("proportion").any():
            shares["estimate"] = spec_n
    return shares, percent


def derived_columns(spec: RowSpec, count: str, numeric: list) -> list:
    """The numbers hidden with a count: all of the row's for n; for a count with a prefix of
    its own (``treated_count``) the columns of that prefix and those of no count's prefix; for
    the contract's counts and their like the row's non-count numbers; for other marked counts
    (rows left out, ``n_missing``) the count alone."""
    counts = set(spec.counts) | ({spec.n} if spec.n else set())
    others = [c for c in numeric if c not in counts]
    if count == spec.n:
        return [c for c in numeric if c != count]
    prefix = count.split("_")[0]
    if prefix not in ("n", "count", "rows", "antall"):
        prefixes = {c.split("_")[0] for c in counts}
        return [c for c in others if c.split("_")[0] == prefix or c.split("_")[0] not in prefixes]
    if count in COUNT_COMPLEMENTS or count in spec.complements or count == "count":
        return others
    return [c for c, partner in spec.shares.items() if partner == count or c.endswith(count[2:])]


def protect_rows(t: pd.DataFrame, spec: RowSpec, rules, ledger: Ledger):
    """``(primary, secondary, ids, dependents)`` for the table ``t`` under ``spec``: boolean
    frames of the cells hidden, suppressed consistently with what ``ledger`` holds (which is
    then told what the table showed), the ledger's id of each count (per count column, a list
    by row) and the columns hidden with each count column."""
    numeric = [c for c in t.columns if c not in spec.keys and pd.api.types.is_numeric_dtype(t[c])
               and not pd.api.types.is_bool_dtype(t[c])]
    counts = ([spec.n] if spec.n else []) + [c for c in spec.counts if c != spec.n]
    primary = pd.DataFrame(False, index=t.index, columns=t.columns)
    hidden = primary.copy()
    ids = {c: _ids(t, spec, c) for c in counts}
    _same_people(t, spec, ledger, ids)

    def hide(rows, cols):
        hidden.loc[rows, cols] = True

    for col in counts:
        small = rules.small_count(t[col])
        primary.loc[small, col] = True
        hide(small, [col, *derived_columns(spec, col, numeric)])
        partner = spec.complements.get(col)
        if partner:
            other = rules.small_count(t[partner] - t[col])
            hide(other, [col, *derived_columns(spec, col, numeric)])
            # a part already shown elsewhere (Table 1's count of the same people) hides
            # nothing: the whole must go instead, or whole minus part gives the small rest
            known = np.array([ledger.published(i) for i in ids[col]], dtype=bool) & other
            if known.any() and partner in ids:
                hide(known, [partner, *derived_columns(spec, partner, numeric)])
        forced = np.array([ledger.hidden_elsewhere(i) for i in ids[col]], dtype=bool)
        hide(forced, [col, *derived_columns(spec, col, numeric)])
    for col, base in spec.shares.items():
        k = pd.to_numeric(t[col], errors="coerce") * pd.to_numeric(t[base], errors="coerce")
        k = (k / 100 if col in spec.percent else k).round()
        total = pd.to_numeric(t[base], errors="coerce")
        hide(rules.small_count(k) | rules.small_count(total - k), [col])
    lines = _lines(t, spec.keys, spec.views)
    pairs = _parts_of_n(t, spec)
    for _ in range(len(counts) + 2):   # hiding a row's n hides its other counts: close again
        changed = False
        for a, b in pairs:     # n shown, a hidden: b = n − a would give it back
            gives = hidden[a] & ~hidden[b]
            if gives.any():
                hide(gives, [b, *derived_columns(spec, b, numeric)])
                changed = True
        for col in counts:
            values = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype=float)
            published = np.array([ledger.published(i) for i in ids[col]], dtype=bool)
            extra = _close_distinct(ids[col], values, hidden[col].to_numpy(), published, lines,
                                    rules.min_cell)
            if extra.any():
                hide(extra, [col, *derived_columns(spec, col, numeric)])
                changed = True
        if not changed:
            break
    _hide_summaries(t, spec, hidden, counts, numeric)
    known = {i for col in counts for i in ids[col] if ledger.published(i)}
    _record(t, spec, ledger, ids, counts, hidden, rules)
    # Every table, marked with its people or not: its counts add up with other tables' (a
    # hidden part of a total another table gives), so the report's attacker checks the sums.
    own = {i for col in counts for i in ids[col] if i not in known}
    for cid in repair_table(ledger, rules, own):
        for col in counts:
            at = np.array([i == cid for i in ids[col]], dtype=bool)
            hide(at, [col, *derived_columns(spec, col, numeric)])
    dependents = {col: [col, *derived_columns(spec, col, numeric)] for col in counts}
    return primary & hidden, hidden & ~primary, ids, dependents


def _hide_summaries(t, spec, hidden, counts, numeric) -> None:
    """A row of a group without a level (the "mean level" beside the shares of each level) is
    computed from the group's rows: its mean times n is the sum of level × count, one more
    equation that gives two hidden levels back. With a count of the group hidden, its numbers
    go too."""
    parts = [k for k in spec.keys if k not in spec.views]
    if not parts or not counts:
        return
    level = t[parts[-1]]
    if not level.isna().any():
        return
    lead = [k for k in spec.keys if k in spec.views] + parts[:-1]
    groups = (t.groupby(lead, sort=False, dropna=False).ngroup().to_numpy() if lead
              else np.zeros(len(t), dtype=int))
    some = hidden[counts].to_numpy().any(axis=1)
    for g in np.unique(groups[some]):
        rows = (groups == g) & level.isna().to_numpy()
        hidden.loc[rows, [c for c in numeric if c not in counts]] = True


def _parts_of_n(t: pd.DataFrame, spec: RowSpec) -> list[tuple[str, str]]:
    """Pairs of count columns that make up n on every row (``n_treated`` and ``n_control``),
    both ways round: with n shown, hiding one of them hides nothing unless the other goes too."""
    if not spec.n or spec.n not in t.columns or not len(t):
        return []
    n = pd.to_numeric(t[spec.n], errors="coerce")
    others = [c for c in spec.counts if c != spec.n and c in t.columns]
    out = []
    for i, a in enumerate(others):
        for b in others[i + 1:]:
            total = pd.to_numeric(t[a], errors="coerce") + pd.to_numeric(t[b], errors="coerce")
            if total.notna().any() and (total[total.notna()] == n[total.notna()]).all():
                out += [(a, b), (b, a)]
    return out


def _ids(t: pd.DataFrame, spec: RowSpec, col: str) -> list[str]:
    name, extra = (col, {}) if col not in spec.conditions else ("n", spec.conditions[col])
    return [cell_id(spec.population, name, {**{k: row[k] for k in spec.keys}, **extra})
            for _, row in t.iterrows()]


def _same_people(t: pd.DataFrame, spec: RowSpec, ledger: Ledger, ids: dict) -> None:
    """Counts marked with the people they count (``with_rows``) take the name of a count of
    the same people shown before, and the ledger keeps their people, so that the reader's sums
    over any tables of the report are the ledger's too. Ids that do not number as many as the
    count are not used: the mark belongs to another version of the table."""
    universe = None
    for col, people in spec.rows.items():
        if col not in ids:
            continue
        for pos, labels in enumerate(people):
            value = pd.to_numeric(t[col].iloc[pos], errors="coerce")
            if not labels or pd.isna(value) or len(labels) != value:
                continue
            universe = ledger.universe_of("people") if universe is None else universe
            cid = ledger.same_rows(universe, labels) or _free_name(ledger, ids[col][pos], value,
                                                                   universe, labels)
            ledger.record_rows(cid, universe, labels)
            ids[col][pos] = cid


def _free_name(ledger: Ledger, cid, value, universe, labels):
    """``cid``, or ``cid#k`` when ``cid`` names other people or a count of another value."""
    name, k = cid, 1
    while (name in ledger.rows and ledger.rows[name] != (universe, frozenset(labels))) or \
            (name in ledger.cells and not np.isclose(ledger.cells[name]["value"], value)):
        k += 1
        parts = getattr(cid, "parts", None)
        name = CellId(f"{cid}#{k}", *parts) if parts else f"{cid}#{k}"
    return name


def _lines(t: pd.DataFrame, keys: list, views: set):
    """Row positions as ``(group, level, across)``: the rows of a group partition it along the
    last key that is not a view; ``across`` when the same level in different groups also adds up
    (no view among the keys). None when no key partitions anything."""
    parts = [k for k in keys if k not in views]
    if not parts:
        return None
    lead = [k for k in keys if k in views] + parts[:-1]
    group = (t.groupby(lead, sort=False, dropna=False).ngroup().to_numpy() if lead
             else np.zeros(len(t), dtype=int))
    level = t.groupby(parts[-1], sort=False, dropna=False).ngroup().to_numpy()
    return group, level, not any(k in views for k in keys)


def _unique_cells(lines, rows):
    """The lines of the distinct cells ``rows``; when the keys do not tell those cells apart
    (two measures of one instrument), each is its own level of its group, closed within it."""
    group, level, across = lines[0][rows], lines[1][rows], lines[2]
    if len(set(zip(group, level))) < len(rows):
        return group, np.arange(len(rows)), False
    return group, level, across


def _close_distinct(ids, values, hidden, published, lines, min_cell) -> np.ndarray:
    """:func:`_close` over the distinct cells of a column: rows that repeat a count (the n of an
    outcome on each method's row) are one cell, hidden or shown together."""
    keys = list(zip(ids, np.nan_to_num(values, nan=-1.0)))
    first = {}
    for pos, key in enumerate(keys):
        first.setdefault(key, pos)
    rows = np.array(list(first.values()), dtype=int)
    where = np.array([list(first).index(k) for k in keys], dtype=int)
    any_hidden = np.zeros(len(rows), dtype=bool)
    np.logical_or.at(any_hidden, where, hidden)
    sub_lines = None if lines is None else _unique_cells(lines, rows)
    extra = _close(values[rows], any_hidden, published[rows], sub_lines, min_cell)
    return (extra | any_hidden)[where] & ~hidden


def _close(values, hidden, published, lines, min_cell) -> np.ndarray:
    """Cells of one count column to hide so that no hidden cell is alone in a line."""
    if not hidden.any() or len(values) < 2 or lines is None:
        return np.zeros(len(values), dtype=bool)
    group, level, across = lines
    if not across:
        extra = np.zeros(len(values), dtype=bool)
        for g in np.unique(group):
            at = group == g
            extra[at] = secondary_suppression(values[at][None, :], hidden[at][None, :],
                                              published=published[at][None, :],
                                              min_cell=min_cell)[0]
        return extra
    grid = np.full((group.max() + 1, level.max() + 1), np.nan)
    mask = np.zeros(grid.shape, dtype=bool)
    known = np.zeros(grid.shape, dtype=bool)
    grid[group, level] = np.nan_to_num(values, nan=0.0)
    mask[group, level] = hidden
    known[group, level] = published
    extra = secondary_suppression(grid, mask, published=known, min_cell=min_cell)
    return extra[group, level]


def _record(t, spec, ledger, ids, counts, hidden, rules) -> None:
    for col in counts:
        for pos, cid in enumerate(ids[col]):
            value = t[col].iloc[pos]
            if pd.isna(value):
                continue
            state = "shown"
            if hidden[col].iloc[pos]:
                state = "primary" if rules.small_count(value) else "secondary"
            ids[col][pos] = ledger.record(cid, value, state)
    for col in counts:      # a count and its complement within n
        partner = spec.complements.get(col)
        if partner in ids:
            for total, part, a, b in zip(ids[partner], ids[col], t[partner], t[col]):
                if pd.notna(a) and pd.notna(b):
                    ledger.relate(total, [part], remainder=True)
    for col in counts:      # the rows of each leading group partition the group's total
        parts = [k for k in spec.keys if k not in spec.views]
        if not parts:
            continue
        lead = [k for k in spec.keys if k in spec.views] + parts[:-1]
        name, extra = (col, {}) if col not in spec.conditions else ("n", spec.conditions[col])
        for _, part in t.reset_index(drop=True).groupby(lead, sort=False, dropna=False) if lead \
                else [(None, t.reset_index(drop=True))]:
            rows = [i for i in part.index if pd.notna(t[col].iloc[i])]
            if rows:
                conds = {k: part[k].iloc[0] for k in lead}
                total = cell_id(spec.population, name, {**conds, **extra})
                ledger.relate(total, [ids[col][i] for i in rows])
                _levels_make_up_whole(t, spec, ledger, ids, col, rows, total)



def _levels_make_up_whole(t, spec, ledger, ids, col, rows, total) -> None:
    """Levels of a variable beside the n they are counted in (Table 1: each level's count of
    the arm, and the arm's n on every row): when the levels add up to that n, a reader takes
    the n as their total, and so does the ledger."""
    partner = spec.complements.get(col)
    if partner not in ids:
        return
    whole = pd.to_numeric(t[partner].iloc[rows], errors="coerce")
    parts = pd.to_numeric(t[col].iloc[rows], errors="coerce")
    if whole.isna().any() or whole.nunique() != 1 or not np.isclose(parts.sum(), whole.iloc[0]):
        return
    for i in rows:
        ledger.relate(ids[partner][i], [total], remainder=False)
