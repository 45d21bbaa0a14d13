"""Row-level checks whose rejected rows go to quarantine, never silently away.

A quarantine record names the source, the file, the data row (1-based, header not counted), the
column, the value and the rule broken, so that a reader can find the row in the raw export.
"""
from __future__ import annotations

import pandas as pd

QUARANTINE_COLUMNS = ["source", "file", "row", "column", "value", "rule"]


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in QUARANTINE_COLUMNS})


def resolve_duplicates(df: pd.DataFrame, key: list[str], *, source: str, file: str,
                       order_by: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first row per ``key`` and quarantine the others.

    The rule: the earliest submission is kept (by ``order_by`` when the table has it, else by
    position in the file), because a second submission of the same form is, in the exports this
    field sees, a resent copy; each later one is quarantined with the row it duplicates.
    Returns ``(kept, quarantined)``; ``len(kept) + len(quarantined) == len(df)``.
    """
    missing = [k for k in key if k not in df.columns]
    if missing:
        raise KeyError(f"unique key column(s) {missing} not in the table")
    ordered = df
    if order_by and order_by in df.columns:
        ordered = df.sort_values(order_by, kind="stable")
    dup = ordered.duplicated(subset=key, keep="first")
    if not dup.any():
        return df, empty_quarantine()
    first_row = (ordered[~dup].reset_index().set_index(key)[ordered.index.name or "index"])
    later = ordered[dup]
    key_text = later[key].astype(str).agg(" / ".join, axis=1)
    originals = first_row.reindex(pd.MultiIndex.from_frame(later[key]) if len(key) > 1
                                  else later[key[0]]).to_numpy()
    quarantined = pd.DataFrame({
        "source": source,
        "file": file,
        "row": later.index.to_numpy(),
        "column": " × ".join(key),
        "value": key_text.to_numpy(),
        "rule": [f"duplicate submission of row {o}: kept the earliest" for o in originals],
    })
    kept = df.loc[~df.index.isin(later.index)]
    return kept, quarantined
