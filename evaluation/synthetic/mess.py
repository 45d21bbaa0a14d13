"""The mistakes real exports have, planted on purpose and listed in the ground truth.

Missing items are missing at random given severity. Out-of-range values and duplicate
submissions are recorded with their file row (1-based, header not counted), so the validation
issue can show it catches exactly these and nothing else.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def add_missing(df: pd.DataFrame, columns: list[str], rate: float, weight: np.ndarray,
                rng: np.random.Generator) -> dict:
    """Blank cells with probability ``rate * weight`` (weight has mean about 1). In place."""
    counts = {}
    for col in columns:
        hit = (rng.random(len(df)) < rate * weight) & df[col].notna().to_numpy()
        df.loc[hit, col] = np.nan
        counts[col] = int(hit.sum())
    return counts


def add_duplicates(df: pd.DataFrame, n: int, rng: np.random.Generator, *,
                   time_column: str | None = None) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """Insert ``n`` copies of random rows. A copy of a timed submission arrives 2–90 minutes
    after the original; otherwise it directly follows its original (a double entry).
    Returns the new frame and (copy row, original row) pairs in 1-based file rows."""
    df = df.reset_index(drop=True)
    n = min(n, len(df))
    if n == 0:
        return df, []
    picked = rng.choice(len(df), size=n, replace=False)
    work = df.assign(_orig=np.arange(len(df)), _copy=0)
    copies = work.iloc[picked].copy()
    copies["_copy"] = 1
    if time_column:
        copies[time_column] = copies[time_column] + pd.to_timedelta(rng.integers(2, 91, n), unit="min")
        order = [time_column, "_orig", "_copy"]
    else:
        order = ["_orig", "_copy"]
    out = pd.concat([work, copies]).sort_values(order, kind="stable").reset_index(drop=True)
    row = pd.Series(np.arange(len(out)) + 1, index=out.index)
    original_row = dict(zip(out.loc[out["_copy"] == 0, "_orig"], row[out["_copy"] == 0]))
    pairs = [(int(row[i]), int(original_row[o]))
             for i, o in zip(out.index[out["_copy"] == 1], out.loc[out["_copy"] == 1, "_orig"])]
    return out.drop(columns=["_orig", "_copy"]), pairs


def add_out_of_range(df: pd.DataFrame, bad_values: dict, n: int, rng: np.random.Generator,
                     avoid_rows: set[int]) -> list[tuple[int, str, float]]:
    """Put ``n`` impossible values into cells that hold a value, one per row, never in a row of
    ``avoid_rows`` (1-based). In place. Returns (row, column, value) triples."""
    planted = []
    columns = list(bad_values)
    rows = [r for r in rng.permutation(len(df)) if (r + 1) not in avoid_rows]
    for r in rows:
        if len(planted) >= n:
            break
        col = columns[int(rng.integers(len(columns)))]
        if pd.isna(df.iat[r, df.columns.get_loc(col)]):
            continue
        value = bad_values[col][int(rng.integers(len(bad_values[col])))]
        df.iat[r, df.columns.get_loc(col)] = value
        planted.append((r + 1, col, value))
        avoid_rows.add(r + 1)
    return planted
