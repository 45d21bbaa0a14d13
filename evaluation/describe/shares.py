"""Shares with their Wilson intervals, and item means: the measure tables of a first look.

Every table here is a measure table of the result contract (:mod:`evaluation.estimates`): the
share or mean is ``estimate``, ``n`` the people it rests on and, for a share, ``count`` the
people with the attribute (``n - count`` is a count too, which the disclosure layer protects).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from evaluation.constraints import Interval, Options, require_frame, name_list, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import as_measure_table, with_counts

CONFIDENCE = [Interval(0, 1, closed="neither")]


@validate_params({"confidence": CONFIDENCE,
                  "method": [Options({"wilson", "normal", "agresti_coull", "beta", "jeffreys",
                                      "binom_test"})]})
def proportion_ci(successes, n, *, confidence: float = 0.95, method: str = "wilson"):
    """Confidence interval of a proportion (statsmodels' ``proportion_confint``), as two arrays
    (lower, upper); NaN where ``n`` is 0.

    Wilson by default: unlike the Wald interval it stays inside [0, 1] and keeps close to its
    nominal coverage for the small groups this field has.

    Examples
    --------
    >>> lo, hi = proportion_ci(12, 40)
    >>> round(float(lo), 4), round(float(hi), 4)   # In R: prop.test(12, 40, correct=FALSE)$conf.int
    (0.1807, 0.4543)
    """
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    lo, hi = proportion_confint(successes, np.where(n > 0, n, 1), alpha=1 - confidence,
                                method=method)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def _share_columns(out: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """``estimate`` = count / n with its Wilson interval, on a frame holding ``count`` and ``n``."""
    out["estimate"] = np.where(out["n"] > 0, out["count"] / out["n"].where(out["n"] > 0), np.nan)
    out["ci_low"], out["ci_high"] = proportion_ci(out["count"], out["n"], confidence=confidence)
    out["scale"] = "proportion"
    out["method"] = f"Wilson {confidence:.0%} CI"
    return out


@validate_params({"data": ["frame"], "exposure": [str], "confidence": CONFIDENCE})
def coverage(data: pd.DataFrame, exposure: str, by=None, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share of persons with the exposure (for example an IP), overall or per group, with CI.

    Rows with the exposure missing are left out and counted in ``n_missing``.

    Returns
    -------
    DataFrame
        A measure table: the group column(s) (``group`` = 'all' without ``by``), ``measure``
        ('share <exposure>'), ``scale`` ('proportion'), ``estimate``, ``ci_low``, ``ci_high``,
        ``n``, ``note``, then ``count`` (people with the exposure), ``n_missing`` and ``method``.

    Examples
    --------
    >>> df = pd.DataFrame({"has_ip": [1, 0, 1, 1, None], "site": list("aabbb")})
    >>> coverage(df, "has_ip", by="site")[["site", "n", "count", "estimate"]]
      site  n  count  estimate
    0    a  2      1       0.5
    1    b  2      2       1.0
    """
    func = "coverage"
    by = name_list(by, "by", func)
    require_frame(data, [exposure, *by], func)
    values = pd.to_numeric(data[exposure], errors="coerce")
    odd = values.dropna()[~values.dropna().isin([0, 1])]
    if len(odd):
        raise ParameterError(f"{func}: exposure column {exposure!r} must be 0/1; found "
                             f"{odd.iloc[0]!r} in row {odd.index[0]}.")
    frame = data[by].copy() if by else pd.DataFrame(index=data.index)
    frame["_x"] = values
    frame["_missing"] = values.isna()
    keys = by if by else (lambda _: "all")
    grouped = frame.groupby(keys, observed=True, dropna=False)
    out = grouped.agg(n=("_x", "count"), count=("_x", "sum"), n_missing=("_missing", "sum"))
    out = out.reset_index()
    if not by:
        out = out.rename(columns={"index": "group"})
    out["count"] = out["count"].astype(int)
    out = _share_columns(out, confidence)
    out["measure"] = f"share {exposure}"
    table = as_measure_table(out[[*(by or ["group"]), "measure", "scale", "estimate", "ci_low",
                                  "ci_high", "n", "count", "n_missing", "method"]],
                             keys=by or ["group"])
    # For the disclosure layer: the same people in every coverage table, ``count`` those of
    # them with the exposure, so a count hidden in one table is hidden in the next.
    table = with_counts(table, "n_missing")
    table.attrs.update(population=f"people by {exposure}", conditions={"count": {exposure: 1}})
    return table


@validate_params({"data": ["frame"], "confidence": CONFIDENCE})
def level_shares(data: pd.DataFrame, items, *, by: str | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
    """For ordinal items (such as BrukerPlan domains, 1–5): the share of answers at each level,
    per item (and group), with Wilson intervals. Shares within an item and group sum to 1.

    Returns
    -------
    DataFrame
        A measure table keyed by ``domain`` (the item), ``by`` and ``level``: ``estimate`` the
        share, ``n`` the answers to the item in the group, ``count`` those at the level.

    Examples
    --------
    >>> df = pd.DataFrame({"bp_housing": [1, 1, 2, 5], "year": [2023, 2023, 2023, 2024]})
    >>> level_shares(df, ["bp_housing"], by="year")[["domain", "year", "level", "count", "n",
    ...                                             "estimate"]]
           domain  year  level  count  n  estimate
    0  bp_housing  2023      1      2  3  0.666667
    1  bp_housing  2023      2      1  3  0.333333
    2  bp_housing  2024      5      1  1  1.000000
    """
    items = [i for i in items if i in data.columns]
    keys = [by] if by else []
    long = data[items + keys].melt(id_vars=keys or None, var_name="domain", value_name="level")
    long = long.dropna(subset=["level"])
    out = long.groupby(["domain", *keys, "level"], observed=True).size().rename("count").reset_index()
    out["n"] = out.groupby(["domain", *keys], observed=True)["count"].transform("sum")
    out = _share_columns(out, confidence)
    out["measure"] = "share at level"
    return as_measure_table(out, keys=["domain", *keys, "level"])


@validate_params({"data": ["frame"], "confidence": CONFIDENCE})
def item_summary(data: pd.DataFrame, items, *, by: str | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
    """Per item (and group): the mean answer with its t interval, n, SD, median, min and max of
    the answers given.

    Returns
    -------
    DataFrame
        A measure table keyed by ``item`` (and ``by``): ``measure`` 'mean answer', ``scale``
        'mean', ``estimate`` the mean, then ``sd``, ``median``, ``min``, ``max``.

    Examples
    --------
    >>> df = pd.DataFrame({"q1": [1, 2, 3, None], "q2": [4, 4, 5, 5]})
    >>> item_summary(df, ["q1", "q2"])[["item", "estimate", "n", "sd"]].round(3)
      item  estimate  n     sd
    0   q1       2.0  3  1.000
    1   q2       4.5  4  0.577
    """
    items = [i for i in items if i in data.columns]
    long = data[items + ([by] if by else [])].melt(id_vars=[by] if by else None,
                                                     var_name="item", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    keys = ["item"] + ([by] if by else [])
    out = long.dropna(subset=["value"]).groupby(keys, observed=True)["value"].agg(
        n="count", estimate="mean", sd="std", median="median", min="min", max="max").reset_index()
    half = stats.t.ppf((1 + confidence) / 2, out["n"] - 1) * out["sd"] / np.sqrt(out["n"])
    out["ci_low"], out["ci_high"] = out["estimate"] - half, out["estimate"] + half
    out["measure"], out["scale"] = "mean answer", "mean"
    return as_measure_table(out, keys=keys)
