"""Which people each count of the headline report's tables counts, for the disclosure layer.

A reader with the whole report adds and subtracts across its tables: the people with no row in
the residents' source are the coverage table's ``n_missing``; the people with an IP minus those
used for an outcome are those left out of it. The layer can only hide consistently what it
knows to be the same people, so the tables that count people are marked with their ids
(:func:`evaluation.estimates.with_rows`); the ids stay inside the layer.
"""
from __future__ import annotations

import pandas as pd

from evaluation.estimates import with_rows

ARMS = ((1, "treated"), (0, "control"))


def coverage_people(table: pd.DataFrame, people: pd.DataFrame, ids: pd.Series, by: str,
                    exposure: str) -> pd.DataFrame:
    """A coverage table (:func:`evaluation.describe.coverage` by ``by``) marked with the people
    of its ``n`` (exposure known), ``count`` (exposure 1) and ``n_missing`` of each row."""
    x = pd.to_numeric(people[exposure], errors="coerce")
    marks = {"n": {}, "count": {}, "n_missing": {}}
    for label, value in table[by].items():
        at = people[by].isna() if pd.isna(value) else people[by].astype(str) == str(value)
        marks["n"][label] = ids[at & x.notna()]
        marks["count"][label] = ids[at & (x == 1)]
        marks["n_missing"][label] = ids[at & x.isna()]
    for column, rows in marks.items():
        if column in table.columns:
            table = with_rows(table, column, rows)
    return table


def arm_people(table: pd.DataFrame, data: pd.DataFrame, ids: pd.Series | None,
               treatment: str) -> pd.DataFrame:
    """A table with a row per covariate and level (Table 1, the balance table) marked with the
    people of each arm's ``_n`` and ``_count`` (those at the level, or with the 0/1 item)."""
    if ids is None:
        return table
    t = pd.to_numeric(data[treatment], errors="coerce")
    marks = {f"{arm}_{what}": {} for _, arm in ARMS for what in ("n", "count")}
    for label, row in table.iterrows():
        x = data[row["variable"]]
        level = row.get("level")
        if isinstance(level, str) and level != "":
            has = x.astype(str) == level
        else:
            has = pd.to_numeric(x, errors="coerce") == 1
        for value, arm in ARMS:
            at = (t == value) & x.notna()
            marks[f"{arm}_n"][label] = ids[at]
            if pd.notna(row.get(f"{arm}_count", float("nan"))):
                marks[f"{arm}_count"][label] = ids[at & has]
    for column, rows in marks.items():
        if column in table.columns:
            table = with_rows(table, column, rows)
    return table
