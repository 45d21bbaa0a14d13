"""Item analysis of a multi-item scale: each item's mean, SD, corrected item–total correlation
and the alpha of the other items.

Reverse-keyed items must be recoded before they are passed here (as for
:mod:`evaluation.instruments.psychometrics`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.constraints import Options, validate_params
from evaluation.errors import ParameterError
from evaluation.instruments.item_frames import NAN_POLICIES, item_covariance, item_frame

__all__ = ["item_total", "alpha_from_covariance"]



def alpha_from_covariance(cov: np.ndarray) -> float:
    """Cronbach's alpha of the items whose covariance matrix is ``cov`` (NaN below 2 items)."""
    k = cov.shape[0]
    if k < 2:
        return np.nan
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


@validate_params({"nan_policy": [Options(NAN_POLICIES)]})
def item_total(data: pd.DataFrame, items: Sequence | None = None, *,
               nan_policy: str = "pairwise") -> pd.DataFrame:
    """Item statistics: mean, SD, corrected item–total correlation and alpha if deleted.

    Parameters
    ----------
    data : DataFrame
        Wide: a row per respondent, a column per item.
    items : list of str, optional
        The item columns (default: every column). At least two, all numeric.
    nan_policy : {'pairwise', 'listwise'}
        As in :func:`evaluation.instruments.psychometrics.cronbach_alpha`. With ``'listwise'`` every statistic uses the respondents
        who answered every item.

    Returns
    -------
    DataFrame
        A row per item: ``item``, ``n`` (answers to the item), ``mean``, ``sd``,
        ``r_item_total`` (corrected: the item against the sum of the *other* items) and
        ``alpha_if_deleted`` (Cronbach's alpha of the other items; NaN with two items).

    Notes
    -----
    Both item–scale statistics come from the item covariance matrix :math:`C`, as ``psych::alpha``
    computes its ``r.drop`` and ``alpha.drop``:

    .. math::

        r_{i,\\text{rest}} = \\frac{\\sum_{j\\ne i} C_{ij}}
        {\\sqrt{C_{ii}\\,\\sum_{j\\ne i}\\sum_{l\\ne i} C_{jl}}}

    which with complete data is the Pearson correlation of item i with the sum of the others,
    and alpha if deleted is alpha of :math:`C` without row and column i. With pairwise missing
    data the matrix is the pairwise one, consistent with :func:`cronbach_alpha`.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.instruments.item_analysis import item_total
    >>> df = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 2, 3, 5, 4], "q3": [1, 3, 2, 4, 5]})
    >>> item_total(df).round(3)   # In R: psych::alpha(df)$item.stats; psych::alpha(df)$alpha.drop
      item  n  mean     sd  r_item_total  alpha_if_deleted
    0   q1  5   3.0  1.581         0.943             0.833
    1   q2  5   3.2  1.304         0.809             0.947
    2   q3  5   3.0  1.581         0.855             0.909
    """
    func = "item_total"
    wide = item_frame(data, items, func)
    used, cov = item_covariance(wide, nan_policy)
    if nan_policy == "listwise" and len(used) < 2:
        raise ParameterError(f"{func}: fewer than 2 respondents answered every item; "
                             "try nan_policy='pairwise'.")
    c = cov.to_numpy()
    rows = []
    for i, name in enumerate(wide.columns):
        rest = np.delete(np.arange(c.shape[0]), i)
        rest_cov = c[np.ix_(rest, rest)]
        denom = np.sqrt(c[i, i] * rest_cov.sum())
        r = float(c[i, rest].sum() / denom) if denom > 0 else np.nan
        col = used[name]
        rows.append({"item": name, "n": int(col.notna().sum()), "mean": float(col.mean()),
                     "sd": float(col.std(ddof=1)), "r_item_total": r,
                     "alpha_if_deleted": alpha_from_covariance(rest_cov)})
    return pd.DataFrame(rows)
