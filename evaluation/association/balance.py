"""Covariate balance between arms: Table 1, before/after weighting, and the plots.

Standardized mean differences follow cobalt (Greifer, ``cobalt::bal.tab``):

* continuous covariates: (x̄₁ − x̄₀) / s*, with s* computed once from the UNWEIGHTED sample and
  kept fixed after weighting — s* = sqrt((s²₁ + s²₀)/2) for the ATE and ATO ("pooled"), s₁ for
  the ATT ("treated"), s₀ for the ATC ("control");
* binary covariates and each level of a categorical covariate: the raw difference in
  proportions p₁ − p₀ (cobalt's default ``binary = "raw"``).

With weights, means and proportions are weighted (Σwx/Σw per arm); the denominator is not.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.disclosure import DisclosureRules
from evaluation.errors import ParameterError
from evaluation.disclosure.figures import axes_or_new, figure_note, rules_or_default, distribution_plot
from evaluation.association.balancing_weights import WeightResult, estimand_name
from evaluation.association.treatment_columns import binary_treatment, is_categorical, require_columns

ARMS = ((1, "treated"), (0, "control"))


def _denominator_kind(estimand: str) -> str:
    return {"ATT": "treated", "ATC": "control"}.get(estimand, "pooled")


def _weights(weights, data: pd.DataFrame) -> pd.Series | None:
    if weights is None:
        return None
    if isinstance(weights, WeightResult):
        weights = weights.weights
    if isinstance(weights, str):
        require_columns(data, [weights], "weights")
        weights = data[weights]
    if isinstance(weights, pd.Series):
        w = weights.reindex(data.index)
    else:
        arr = np.asarray(weights, dtype=float)
        if arr.shape != (len(data),):
            raise ParameterError(f"weights has {arr.size} values for {len(data)} rows of data.")
        w = pd.Series(arr, index=data.index)
    w = pd.to_numeric(w, errors="coerce").astype(float)
    if (w < 0).any():
        raise ParameterError(f"weights must not be negative; {int((w < 0).sum())} are.")
    return w


def _is_binary(x: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(x) and set(pd.unique(x.dropna())).issubset({0, 1})


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * x) / np.sum(w)) if np.sum(w) > 0 else np.nan


def _wsd(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted SD with the reliability-weights correction (cobalt's ``col_w_sd``)."""
    sw = np.sum(w)
    if sw <= 0 or len(x) < 2:
        return np.nan
    m = np.sum(w * x) / sw
    denom = sw - np.sum(w ** 2) / sw
    return float(np.sqrt(np.sum(w * (x - m) ** 2) / denom)) if denom > 0 else np.nan


def _ess(w: np.ndarray) -> float:
    s2 = np.sum(w ** 2)
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def _rows(data, treatment, covariates, weights, estimand):
    """One dict per covariate (per level for categorical ones)."""
    require_columns(data, [treatment], "treatment")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    require_columns(data, covariates, "covariate")
    t = binary_treatment(data[treatment], treatment)
    w = _weights(weights, data)
    kind = _denominator_kind(estimand)
    out = []
    for c in covariates:
        ok = t.notna() & data[c].notna() & (w.notna() if w is not None else True)
        x, tc = data.loc[ok, c], t[ok]
        wc = w[ok].to_numpy(float) if w is not None else np.ones(int(ok.sum()))
        if is_categorical(x):
            levels = sorted(pd.unique(x.astype(str)))
            parts = [(str(lv), "categorical", (x.astype(str) == lv).astype(float)) for lv in levels]
        elif _is_binary(x):
            parts = [("", "binary", x.astype(float))]
        else:
            parts = [("", "continuous", x.astype(float))]
        for level, typ, values in parts:
            row = {"variable": c, "level": level, "type": typ}
            stats = {}
            for value, arm in ARMS:
                sel = (tc == value).to_numpy()
                xv, wv = values.to_numpy(float)[sel], wc[sel]
                stats[arm] = (xv, wv)
                row[f"{arm}_n"] = int(sel.sum())
                if typ == "continuous":
                    row[f"{arm}_mean"] = _wmean(xv, wv)
                    row[f"{arm}_sd"] = _wsd(xv, wv)
                    row[f"{arm}_count"], row[f"{arm}_percent"] = np.nan, np.nan
                else:
                    row[f"{arm}_mean"], row[f"{arm}_sd"] = np.nan, np.nan
                    row[f"{arm}_count"] = int(np.sum(xv == 1))
                    row[f"{arm}_percent"] = 100 * _wmean(xv, wv)
                if w is not None:
                    row[f"{arm}_ess"] = _ess(wv)
            (x1, w1), (x0, w0) = stats["treated"], stats["control"]
            diff = _wmean(x1, w1) - _wmean(x0, w0)
            if typ == "continuous":
                s1, s0 = np.std(x1, ddof=1), np.std(x0, ddof=1)   # unweighted: fixed denominator
                denom = {"pooled": np.sqrt((s1 ** 2 + s0 ** 2) / 2), "treated": s1, "control": s0}[kind]
                row["smd"] = diff / denom if denom > 0 else np.nan
                row["smd_type"] = f"standardized ({kind} SD, unweighted)"
            else:
                row["smd"] = diff
                row["smd_type"] = "raw difference in proportions"
            out.append(row)
    return out


def table_one(data: pd.DataFrame, treatment: str, covariates, *, weights=None,
              estimand: str = "ATE", rules: DisclosureRules | None = None) -> pd.DataFrame:
    """Table 1 by treatment: per covariate (per level for categorical ones) n, mean and SD or
    count and %, and the standardized mean difference as cobalt defines it.

    Parameters
    ----------
    data : pandas.DataFrame
    treatment : str
        0/1 column.
    covariates : list of str
        Numeric 0/1 columns are binary; object, string, category and bool columns are
        categorical (a row per level); other numeric columns are continuous.
    weights : str, Series, array or WeightResult, optional
        Balancing weights: means, SDs and percentages become weighted (counts stay people);
        ``treated_ess``/``control_ess`` columns are added.
    estimand : {'ATE', 'ATT', 'ATC', 'ATO'}
        Chooses the SMD denominator: pooled SD (ATE, ATO), treated SD (ATT), control SD (ATC),
        always from the unweighted sample.
    rules : DisclosureRules, optional
        Given, counts of 1 to min_cell − 1 (and their complements within the arm) are
        suppressed with their % and SMD here, and the row is marked ``suppressed``: for a Table
        1 shown outside the disclosure layer. Not given (the notebooks), every count is kept and
        ``Disclosure.show`` hides them when the table is shown: it knows that a variable's
        levels add up to the arm's n and hides a second level with a small one, which a cell
        blanked here beforehand would defeat (38 − 17 − 17 gives the blank back).

    Returns
    -------
    pandas.DataFrame
        variable, level, type, treated_n, treated_mean, treated_sd, treated_count,
        treated_percent, control_… (same), [treated_ess, control_ess], smd, smd_type, estimand,
        weighted, suppressed.

    Notes
    -----
    SMD = (x̄₁ − x̄₀)/s* for continuous covariates, p₁ − p₀ for binary ones (cobalt's defaults).
    Checked by hand (numpy) on the Lalonde NSW data in tests/test_propensity_balance.py; the
    arm means equal Dehejia & Wahba (1999), Table 1.

    In R: ``cobalt::bal.tab(treat ~ age + educ + ..., data = d, estimand = "ATE",
    s.d.denom = "pooled", disp = c("means", "sds"))`` gives the same SMDs (column Diff.Un).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.association.balance import table_one
    >>> from evaluation.disclosure import DisclosureRules
    >>> d = pd.DataFrame({"t": [1] * 6 + [0] * 6, "age": [30, 32, 34, 36, 38, 40, 30, 31, 32, 33, 34, 35],
    ...                   "smoker": [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]})
    >>> t1 = table_one(d, "t", ["age", "smoker"], rules=DisclosureRules(min_cell=1))
    >>> t1[["variable", "type", "treated_mean", "treated_percent", "control_percent", "smd"]].round(3)
      variable        type  treated_mean  treated_percent  control_percent    smd
    0      age  continuous          35.0              NaN              NaN  0.845
    1   smoker      binary           NaN             50.0           33.333  0.167

    With ``rules=DisclosureRules()`` (min_cell 5) the smoker counts 3 and 2 would be suppressed.
    """
    est = estimand_name(estimand, "table_one")
    table = pd.DataFrame(_rows(data, treatment, covariates, weights, est))
    table["estimand"] = est
    table["weighted"] = weights is not None
    table["suppressed"] = False
    for arm in ("treated", "control") if rules is not None else ():
        small = pd.Series(rules.small_count(table[f"{arm}_count"].fillna(0)), index=table.index)
        small |= pd.Series(rules.small_count(table[f"{arm}_count"].fillna(0)
                                             .rsub(table[f"{arm}_n"]).where(table["type"] != "continuous", 0)),
                           index=table.index)
        table.loc[small, "suppressed"] = True
    for arm in ("treated", "control"):
        table[f"{arm}_count"] = table[f"{arm}_count"].astype("Float64")
        table.loc[table["suppressed"], [f"{arm}_count", f"{arm}_percent"]] = np.nan
    table.loc[table["suppressed"], "smd"] = np.nan
    return table


def balance(data: pd.DataFrame, treatment: str, covariates, weights, *, estimand: str = "ATE",
            threshold: float = 0.1) -> pd.DataFrame:
    """Balance before and after weighting: SMD unweighted and weighted, per covariate/level.

    Parameters
    ----------
    data, treatment, covariates
        As :func:`table_one`.
    weights : str, Series, array or WeightResult
        The balancing weights.
    estimand : {'ATE', 'ATT', 'ATC', 'ATO'}
        Fixes the SMD denominator (from the unweighted sample, the same before and after).
        Taken from ``weights`` when that is a WeightResult and ``estimand`` is not given.
    threshold : float
        |SMD| below it counts as balanced (cobalt ``thresholds = c(m = .1)``).

    Returns
    -------
    pandas.DataFrame
        variable, level, type, treated_n, treated_count, control_n, control_count (the
        unweighted counts: people in each arm, and of them those at the level; missing for a
        continuous covariate), smd_unweighted, smd_weighted, smd_type, threshold,
        balanced_unweighted, balanced (|smd_weighted| < threshold), estimand.

    Notes
    -----
    In R: ``cobalt::bal.tab(W, stats = "m", thresholds = c(m = .1), un = TRUE)`` with
    ``W <- WeightIt::weightit(treat ~ ..., data = d, estimand = "ATE")`` — columns Diff.Un,
    Diff.Adj and M.Threshold.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.association.balance import balance
    >>> d = pd.DataFrame({"t": [1, 1, 0, 0, 0, 1], "x": [1.0, 2.0, 1.0, 0.0, 1.0, 3.0]})
    >>> balance(d, "t", ["x"], [1, 1, 1, 1, 1, 1])[["variable", "smd_unweighted", "smd_weighted"]].round(3)
      variable  smd_unweighted  smd_weighted
    0        x           1.633         1.633
    """
    if threshold is None or not threshold > 0:
        raise ParameterError(f"threshold must be positive, e.g. 0.1; got {threshold!r}.")
    if weights is None:
        raise ParameterError("weights is required: pass a WeightResult, a column name or values.")
    est = estimand_name(estimand, "balance")
    # the same rows with weights; rows with a missing weight are left out of both for comparability
    w = _weights(weights, data)
    keep = w.notna()
    before = pd.DataFrame(_rows(data.loc[keep], treatment, covariates, None, est))
    after = pd.DataFrame(_rows(data.loc[keep], treatment, covariates, w[keep], est))
    out = before[["variable", "level", "type"]].copy()
    for arm in ("treated", "control"):      # what the unweighted difference of a level rests on
        out[f"{arm}_n"] = before[f"{arm}_n"]
        out[f"{arm}_count"] = before[f"{arm}_count"].astype("Float64")
    out["smd_unweighted"] = before["smd"]
    out["smd_weighted"] = after["smd"]
    out["smd_type"] = before["smd_type"]
    out["threshold"] = threshold
    out["balanced_unweighted"] = out["smd_unweighted"].abs() < threshold
    out["balanced"] = out["smd_weighted"].abs() < threshold
    out["estimand"] = est
    return out


# --------------------------------------------------------------------------- plots
def _label(d: pd.DataFrame, y: str) -> pd.Series:
    if "level" in d.columns:
        lev = d["level"].fillna("").astype(str)
        return d[y].astype(str) + np.where(lev != "", ": " + lev, "")
    return d[y].astype(str)


def love_plot(data: pd.DataFrame, *, x: str = "smd", y: str = "variable", hue: str = "stage",
              ax=None, threshold: float | None = 0.1, absolute: bool = True):
    """Love plot: |SMD| per covariate, one marker per stage (unweighted / weighted), with a
    vertical line at the threshold. Accepts the long form (columns ``x``, ``y``, ``hue``) or the
    table from :func:`balance` (``smd_unweighted``/``smd_weighted``), which it melts.

    In R: ``cobalt::love.plot(W, abs = TRUE, thresholds = c(m = .1))``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from evaluation.association.balance import love_plot
    >>> t = pd.DataFrame({"variable": ["age", "sex"], "level": ["", "male"],
    ...                   "smd_unweighted": [0.4, -0.2], "smd_weighted": [0.02, 0.01]})
    >>> love_plot(t).get_xlabel()
    'absolute standardized mean difference'
    """
    d = data.copy()
    if x not in d.columns and {"smd_unweighted", "smd_weighted"} <= set(d.columns):
        ids = [c for c in (y, "level") if c in d.columns]
        d = d.melt(id_vars=ids, value_vars=["smd_unweighted", "smd_weighted"], var_name=hue, value_name=x)
        d[hue] = d[hue].str.replace("smd_", "", regex=False)
    for col in (x, y) + ((hue,) if hue else ()):
        if col not in d.columns:
            raise ParameterError(f"love_plot: column {col!r} not in data; columns are {list(d.columns)}.")
    ax = axes_or_new(ax)
    d["_label"] = _label(d, y)
    d["_x"] = pd.to_numeric(d[x], errors="coerce")
    if absolute:
        d["_x"] = d["_x"].abs()
    order = list(dict.fromkeys(d["_label"]))
    pos = {lab: i for i, lab in enumerate(order)}
    markers = ["o", "s", "^", "D"]
    groups = [(None, d)] if not hue else list(d.groupby(hue, sort=False))
    for i, (stage, g) in enumerate(groups):
        ax.scatter(g["_x"], g["_label"].map(pos), marker=markers[i % 4], label=stage, zorder=3)
    ax.set_yticks(range(len(order)), order)
    ax.invert_yaxis()
    if threshold is not None:
        ax.axvline(threshold, color="#888888", linestyle="--", linewidth=1)
        if not absolute:
            ax.axvline(-threshold, color="#888888", linestyle="--", linewidth=1)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("absolute standardized mean difference" if absolute else "standardized mean difference")
    ax.set_ylabel("")
    if hue:
        ax.legend(title=hue)
    ax.grid(axis="x", alpha=0.3)
    return ax


def overlap_plot(data: pd.DataFrame, *, x: str = "propensity", hue: str = "treatment", ax=None,
                 bins=20, rules: DisclosureRules | None = None):
    """Overlaid histograms (density) of the propensity score by arm, on [0, 1]; bins with
    fewer than min_cell people are not drawn (``evaluation.disclosure.figures.distribution_plot``).

    In R: ``cobalt::bal.plot(W, var.name = "prop.score", which = "both")``.
    """
    for col in (x, hue):
        if col not in data.columns:
            raise ParameterError(f"overlap_plot: column {col!r} not in data; columns are {list(data.columns)}.")
    edges = np.linspace(0, 1, int(bins) + 1) if np.isscalar(bins) else bins
    ax = distribution_plot(data, x=x, hue=hue, ax=ax, bins=edges, rules=rules_or_default(rules))
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{x} (propensity score)")
    return ax


def weight_plot(data: pd.DataFrame, *, x: str = "weight", hue: str = "treatment", ax=None,
                bins="auto", rules: DisclosureRules | None = None):
    """Histogram (density) of the balancing weights by arm; bins with fewer than min_cell
    people are not drawn. Weight-0 (trimmed) units are counted in a note, not drawn.

    In R: ``hist(W$weights[W$treat == 1])`` or ``cobalt::bal.plot(W, "weights")``-style checks.
    """
    for col in (x, hue):
        if col not in data.columns:
            raise ParameterError(f"weight_plot: column {col!r} not in data; columns are {list(data.columns)}.")
    w = pd.to_numeric(data[x], errors="coerce")
    zero = int((w == 0).sum())
    ax = distribution_plot(data[w > 0], x=x, hue=hue, ax=ax, bins=bins, rules=rules_or_default(rules))
    ax.set_xlabel(f"{x} (balancing weight)")
    if zero:
        figure_note(ax, f"{zero} trimmed unit(s) with weight 0 not drawn.")
    return ax
