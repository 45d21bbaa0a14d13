"""Levels of a distribution hidden for a plot: the shares of answers per level that rest on
fewer than min_cell people, with a partner so that none is the difference of the others."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.suppression import secondary_suppression

__all__ = ["hide_small_levels"]


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
        extra = secondary_suppression(counts[None, :], primary[None, :],
                                      min_cell=rules.min_cell)[0]
        out.loc[idx, "suppressed"] = primary | extra
    out.loc[out["suppressed"], share] = np.nan
    return out
