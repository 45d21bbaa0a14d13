"""Several outcomes, one conclusion: p-values adjusted for multiple testing, said in the table."""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from evaluation.constraints import Columns, Options, validate_params
from evaluation.errors import ParameterError

METHOD_NAMES = {
    "holm": "Holm",
    "bonferroni": "Bonferroni",
    "sidak": "Šidák",
    "holm-sidak": "Holm–Šidák",
    "simes-hochberg": "Hochberg",
    "hommel": "Hommel",
    "fdr_bh": "Benjamini–Hochberg (FDR)",
    "fdr_by": "Benjamini–Yekutieli (FDR)",
}


@validate_params({"table": ["frame"], "method": [Options(METHOD_NAMES)], "by": [Columns(), None],
                  "p_column": [Columns(many=False)]})
def adjust_pvalues(table: pd.DataFrame, *, method: str = "holm", by=None,
                   p_column: str = "p_value") -> pd.DataFrame:
    """Add p-values adjusted for testing several outcomes, and say how they were adjusted.

    Parameters
    ----------
    table : pandas.DataFrame
        A tidy result table with a ``p_value`` column (one row per outcome and method).
    method : str
        A method of :func:`statsmodels.stats.multitest.multipletests`: 'holm' (default),
        'bonferroni', 'sidak', 'holm-sidak', 'simes-hochberg', 'hommel', 'fdr_bh', 'fdr_by'.
    by : str or list of str, optional
        Columns whose values form the families: p-values are adjusted within each group (for
        example ``by='method'``: across outcomes within each estimation method). None: the
        whole table is one family.
    p_column : str
        The column holding the unadjusted p-values.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with two columns added: ``p_adjusted`` and ``adjustment`` (for
        example ``"Holm over 3 outcomes"``). Rows whose p-value is missing are left out of
        their family and get NaN and the adjustment ``"none (no p-value)"``.

    Raises
    ------
    ParameterError
        An unknown method, or a ``by`` or ``p_column`` column that is not in the table.

    Notes
    -----
    Holm's step-down procedure: sort the k p-values, :math:`p_{(1)} \\le \\dots \\le p_{(k)}`;
    :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min(1, (k - j + 1) p_{(j)})`. It controls the
    family-wise error rate under any dependence between the outcomes.

    In R: ``p.adjust(p, method = "holm")``. Tested to equal statsmodels' ``multipletests``
    and a hand-worked Holm example.

    References
    ----------
    Holm S (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics 6(2):65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"outcome": ["goal", "chaos", "gas"],
    ...                     "p_value": [0.01, 0.04, 0.03]})
    >>> adjust_pvalues(res)
      outcome  p_value  p_adjusted            adjustment
    0    goal     0.01        0.03  Holm over 3 outcomes
    1   chaos     0.04        0.06  Holm over 3 outcomes
    2     gas     0.03        0.06  Holm over 3 outcomes
    """
    func = "adjust_pvalues"
    if p_column not in table.columns:
        raise ParameterError(f"{func}: column {p_column!r} is not in the table; columns: "
                             f"{', '.join(map(str, table.columns))}.")
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    for column in by:
        if column not in table.columns:
            raise ParameterError(f"{func}: by column {column!r} is not in the table; columns: "
                                 f"{', '.join(map(str, table.columns))}.")
    out = table.copy()
    p = pd.to_numeric(out[p_column], errors="coerce")
    bad = out[p_column][p.notna() & ((p < 0) | (p > 1))]
    if len(bad):
        raise ParameterError(f"{func}: column {p_column!r} has value {bad.iloc[0]!r}; p-values "
                             f"lie between 0 and 1.")
    adjusted = pd.Series(np.nan, index=out.index, dtype=float)
    label = pd.Series("none (no p-value)", index=out.index, dtype=object)
    positions = pd.RangeIndex(len(out))
    groups = ([positions] if not by else
              [np.asarray(idx) for idx in out.reset_index(drop=True).groupby(
                  by, dropna=False, sort=False).indices.values()])
    unit = "outcomes" if "outcome" in out.columns else "tests"
    for idx in groups:
        idx = np.asarray(idx)
        idx = idx[p.iloc[idx].notna().to_numpy()]
        if idx.size == 0:
            continue
        k = idx.size
        if unit == "outcomes" and out["outcome"].iloc[idx].nunique() != k:
            word = "tests"
        else:
            word = unit
        _, padj, _, _ = multipletests(p.iloc[idx].to_numpy(dtype=float), method=method)
        adjusted.iloc[idx] = padj
        label.iloc[idx] = f"{METHOD_NAMES[method]} over {k} {word}" if k > 1 else \
            f"none needed (1 {word[:-1]})"
    out["p_adjusted"] = adjusted.to_numpy()
    out["adjustment"] = label.to_numpy()
    return out
