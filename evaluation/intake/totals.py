"""Totals given in the data: a score column that arrives already summed.

FIT systems export ORS and SRS either as four item scores or, for a total-only import, as the
total alone with the items blank; OpenFIT then fills each item with total / 4 and rejects a
row that mixes partial items with a total ("Importing data into OpenFIT";
docs/instruments.md). An instrument whose definition carries
``total_only:`` is read the same way here, with every imputed row flagged, and a given total
that contradicts its items (or its range) sent to quarantine rather than believed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.intake.validation import empty_quarantine, records
from evaluation.instruments.definition import Instrument

# Items and totals are written to one decimal; a gap above half that step is a different
# number, not rounding or floating-point noise.
TOLERANCE = 0.05


def impute_from_total(df: pd.DataFrame, instrument: Instrument, *, source: str = "",
                      file: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items filled from a total given alone; given totals checked against their items.

    For each score the definition names under ``total_only:``, when ``df`` has a column named
    like the score (``ors_total``; map an export's own name to it with ``columns:`` in
    study.yaml). The item columns must be in the file, blank where only the total was given:

    - items all blank, total given and in range: each item becomes total / number of items, and
      the row is flagged ``<instrument>_items_imputed = True``;
    - all items and a total given: the total must equal the items' sum within 0.05;
    - a given total outside the score's range, not a number, beside only some of the items, or
      different from the items' sum: the row is quarantined, with the reason.

    The given-total column is then dropped, because scoring recomputes it from the items (for an
    imputed row the recomputed total equals the given one).

    Parameters
    ----------
    df : DataFrame
        Rows of one source after row checks, on the file-row index.
    instrument : Instrument
        The definition; nothing happens without ``total_only:``.
    source, file : str
        Named in the quarantine records.

    Returns
    -------
    (DataFrame, DataFrame)
        The rows kept (items filled, flag column added, given total dropped) and the quarantine
        records of the rows left out (``evaluation.intake.validation.records``); ``len(kept)`` plus the
        quarantined rows is ``len(df)``. Without a total column, ``df`` comes back unchanged and
        without the flag column.

    Examples
    --------
    >>> from evaluation.instruments import load_instrument
    >>> ors = load_instrument("ors")
    >>> df = pd.DataFrame({"ors_1": [None, 5.0, 5.0], "ors_2": [None, 6.0, 6.0],
    ...                    "ors_3": [None, 4.0, 4.0], "ors_4": [None, 5.5, 5.5],
    ...                    "ors_total": [23.0, 20.5, 23.0]}, index=[1, 2, 3])
    >>> kept, bad = impute_from_total(df, ors, source="fit", file="fit_sessions.csv")
    >>> kept
       ors_1  ors_2  ors_3  ors_4  ors_items_imputed
    1   5.75   5.75   5.75   5.75               True
    2   5.00   6.00   4.00   5.50              False
    >>> bad[["row", "rule"]].to_dict("records")
    [{'row': 3, 'rule': 'ors_total 23.0 does not equal the sum of ors_1..ors_4 (20.5)'}]
    """
    problems = []
    flag = pd.Series(False, index=df.index)
    seen = False
    out = df
    for spec in instrument.total_only.values():
        score = instrument.scores[spec["score"]]
        if score.column not in df.columns:
            continue
        if not seen:
            out = df.copy()
            seen = True
        given, bad_rows = _given_total(out[score.column], score.column, source, file)
        problems.append(bad_rows)
        items = out[list(score.items)].apply(pd.to_numeric, errors="coerce")
        answered = items.notna().sum(axis=1)
        k = len(score.items)
        has_total = given.notna()
        span = f"{score.items[0]}..{score.items[-1]}"
        if score.range:
            lo, hi = score.range
            outside = has_total & ((given < lo) | (given > hi))
            problems.append(_records(source, file, outside, score.column, out, [
                f"{score.column} {_num(g)} is outside the score's range {lo:g} to {hi:g}"
                for g in given[outside]]))
        else:
            outside = pd.Series(False, index=df.index)
        partial = has_total & ~outside & (answered > 0) & (answered < k)
        problems.append(_records(source, file, partial, score.column, out, [
            f"{score.column} {_num(g)} given with {a} of {k} items ({span}): a total goes "
            f"with all items or with none" for g, a in zip(given[partial], answered[partial])]))
        total = items.sum(axis=1).round(9)
        differs = has_total & ~outside & (answered == k) & ((total - given).abs() > TOLERANCE)
        problems.append(_records(source, file, differs, score.column, out, [
            f"{score.column} {_num(g)} does not equal the sum of {span} ({_num(t)})"
            for g, t in zip(given[differs], total[differs])]))
        fill = has_total & ~outside & (answered == 0)
        # Every item gets the same share: the total says nothing about how it was split.
        for item in score.items:
            out[item] = items[item].where(~fill, given / k)
        flag |= fill
        out = out.drop(columns=score.column)
    if not seen:
        return df, empty_quarantine()
    quarantine = pd.concat([p for p in problems if len(p)] or [empty_quarantine()],
                           ignore_index=True)
    out[f"{instrument.name}_items_imputed"] = flag
    return out[~out.index.isin(quarantine["row"])], quarantine


def _given_total(column: pd.Series, name: str, source: str, file: str):
    """The given totals as floats, and quarantine records of cells that are not numbers."""
    if column.dtype.kind in "biuf":
        return column.astype(float), empty_quarantine()
    # A text column: the loader left it as text because some cell is not a number.
    text = column.astype("string").str.strip().replace("", pd.NA)
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    bad = (numbers.isna() & text.notna()).fillna(False).astype(bool)
    return (numbers.astype(float),
            records(source, file, column.index[bad], name, column[bad],
                    f"{name} is not a number (a total of the items expected)"))


def _records(source, file, mask, column, df, rules) -> pd.DataFrame:
    if not mask.any():
        return empty_quarantine()
    return records(source, file, df.index[mask], column, df.loc[mask, column], rules)


def _num(x) -> str:
    return str(float(np.round(float(x), 6)))
