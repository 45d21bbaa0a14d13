"""Balancing weights from propensity scores, and the positivity check.

* ``balancing_weights`` -- inverse-probability (ATE, ATT, ATC) or overlap (ATO) weights from the
  scores, with trimming and truncation counted, returned as a :class:`WeightResult`;
* ``positivity`` -- per group (e.g. institution): does everyone, or no one, get treated, and how
  many scores lie outside the bounds.

The weights follow WeightIt's definitions (Greifer, ``WeightIt::get_w_from_ps``) and the
effective sample size is Kish's, as ``WeightIt::ESS``. Both functions are re-exported from
:mod:`evaluation.association.propensity`, where the scores come from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.constraints import Interval, Options, check_param, validate_params
from evaluation.errors import ParameterError
from evaluation.association.treatment_columns import binary_treatment, require_columns

ESTIMANDS = ("ATE", "ATT", "ATC", "ATO")


def estimand_name(estimand, func: str) -> str:
    """The estimand in capitals ('overlap' is 'ATO'); ParameterError unless one of ESTIMANDS."""
    est = str(estimand).upper()
    est = "ATO" if est == "OVERLAP" else est
    check_param(func, "estimand", est, [Options(ESTIMANDS)])
    return est


# --------------------------------------------------------------------------- weights
@dataclass
class WeightResult:
    """Balancing weights with what was done to them.

    Attributes
    ----------
    weights : pandas.Series
        One weight per unit (trimmed units: 0, kept in the index; missing score: NaN).
    treatment : pandas.Series
        The 0/1 treatment the weights were made for.
    estimand : str
        ATE, ATT, ATC or ATO (overlap weights).
    n_trimmed, n_truncated, n_missing : int
        Units given weight 0 by ``trim``; weights capped by ``truncate``; units without a score.
    trim, truncate : float or None
        The settings used.
    cap : float or None
        The weight at which ``truncate`` capped.
    """

    weights: pd.Series
    treatment: pd.Series
    estimand: str
    n_trimmed: int = 0
    n_truncated: int = 0
    n_missing: int = 0
    trim: float | None = None
    truncate: float | None = None
    cap: float | None = None
    notes: list = field(default_factory=list)

    def effective_sample_size(self) -> pd.DataFrame:
        """Kish's effective sample size per arm: ESS = (Σw)² / Σw².

        Returns a tidy frame: group (treated / control), treatment (1 / 0), n (units with a
        weight, trimmed ones included), n_weighted (weight > 0), sum_weights, ess.
        In R: ``WeightIt::ESS(w[treat == 1])``. ESS equals n when all weights are equal.
        """
        rows = []
        for value, label in ((1, "treated"), (0, "control")):
            w = self.weights[(self.treatment == value) & self.weights.notna()].to_numpy(float)
            ess = float(w.sum() ** 2 / np.sum(w ** 2)) if np.sum(w ** 2) > 0 else 0.0
            rows.append({"group": label, "treatment": value, "n": int(len(w)),
                         "n_weighted": int((w > 0).sum()), "sum_weights": float(w.sum()),
                         "ess": ess, "estimand": self.estimand})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Weight range and what trimming and truncation did, one row per arm."""
        ess = self.effective_sample_size()
        extra = []
        for value in (1, 0):
            w = self.weights[(self.treatment == value) & (self.weights > 0)]
            extra.append({"min_weight": float(w.min()) if len(w) else np.nan,
                          "max_weight": float(w.max()) if len(w) else np.nan})
        out = pd.concat([ess, pd.DataFrame(extra)], axis=1)
        out["n_trimmed_total"] = self.n_trimmed
        out["n_truncated_total"] = self.n_truncated
        return out


def as_series(values, name: str, index=None) -> pd.Series:
    """A Series as it is, or one-dimensional values as a Series (anything else: ParameterError)."""
    if isinstance(values, pd.Series):
        return values
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    return pd.Series(arr, index=index, name=name)


@validate_params({"trim": [Interval(0, 0.5, closed="neither"), None],
                  "truncate": [Interval(0.5, 1, closed="neither"), None]})
def balancing_weights(scores, treatment, *, estimand: str = "ATE", trim: float | None = None,
                      truncate: float | None = None) -> WeightResult:
    """Balancing weights from propensity scores.

    Parameters
    ----------
    scores : pandas.Series or array
        P(treatment = 1 | covariates), e.g. ``propensity_model(...).scores_``.
    treatment : pandas.Series or array
        0/1 treatment, aligned with ``scores``.
    estimand : {'ATE', 'ATT', 'ATC', 'ATO'}
        ATE: t/e + (1−t)/(1−e). ATT: t + (1−t)·e/(1−e). ATC: t·(1−e)/e + (1−t).
        ATO (overlap weights, Li, Morgan & Zaslavsky 2018): t·(1−e) + (1−t)·e.
    trim : float, optional
        e.g. 0.01: units with a score outside [trim, 1 − trim] get weight 0 (they stay in the
        result and are counted in ``n_trimmed``). Crump et al. (2009) suggest 0.1.
    truncate : float, optional
        e.g. 0.99: weights above that quantile of the non-fixed weights are set to it (for ATT
        only control weights, for ATC only treated weights); counted in ``n_truncated``.

    Returns
    -------
    WeightResult

    Notes
    -----
    As ``WeightIt::get_w_from_ps(ps, treat, estimand)``; truncation as ``WeightIt::trim(w,
    at = 0.99)``. Weights are not normalised: for the ATE they sum to about 2n in expectation
    (n per arm), for the ATT the treated weights sum to the number treated.

    Examples
    --------
    >>> from evaluation.association.propensity import balancing_weights
    >>> w = balancing_weights([0.2, 0.5, 0.8, 0.4], [1, 0, 1, 0], estimand="ATE")
    >>> w.weights.round(3).tolist()
    [5.0, 2.0, 1.25, 1.667]
    >>> balancing_weights([0.2, 0.5, 0.8, 0.4], [1, 0, 1, 0], estimand="ATT").weights.round(3).tolist()
    [1.0, 1.0, 1.0, 0.667]
    """
    est = estimand_name(estimand, "balancing_weights")
    scores = as_series(scores, "scores")
    treatment = as_series(treatment, "treatment", index=scores.index)
    if len(scores) != len(treatment):
        raise ParameterError(f"scores ({len(scores)}) and treatment ({len(treatment)}) differ in length.")
    if not scores.index.equals(treatment.index):
        treatment = treatment.reindex(scores.index)
    e = pd.to_numeric(scores, errors="coerce").astype(float)
    bad = e.notna() & ((e < 0) | (e > 1))
    if bad.any():
        raise ParameterError(f"scores must lie in [0, 1]; {int(bad.sum())} do not "
                             f"(first: {e[bad].iloc[0]!r} at index {e[bad].index[0]!r}).")
    t = binary_treatment(treatment, getattr(treatment, "name", None) or "treatment")

    missing = e.isna() | t.isna()
    keep = ~missing
    trimmed = pd.Series(False, index=e.index)
    if trim is not None:
        trimmed = keep & ((e < trim) | (e > 1 - trim))
    live = keep & ~trimmed
    ev, tv = e[live].to_numpy(), t[live].to_numpy()
    needs_low = {"ATE": tv == 1, "ATC": tv == 1}.get(est, np.zeros(len(tv), bool))
    needs_high = {"ATE": tv == 0, "ATT": tv == 0}.get(est, np.zeros(len(tv), bool))
    if np.any(needs_low & (ev <= 0)) or np.any(needs_high & (ev >= 1)):
        raise ParameterError(
            f"a propensity score of exactly 0 or 1 makes the {est} weight infinite "
            "(positivity violated). Use trim= (e.g. 0.01), the ATO estimand, or restrict the "
            "sample; positivity() shows where.")
    with np.errstate(divide="ignore", invalid="ignore"):
        if est == "ATE":
            w = np.where(tv == 1, 1 / ev, 1 / (1 - ev))
        elif est == "ATT":
            w = np.where(tv == 1, 1.0, ev / (1 - ev))
        elif est == "ATC":
            w = np.where(tv == 1, (1 - ev) / ev, 1.0)
        else:
            w = np.where(tv == 1, 1 - ev, ev)
    weights = pd.Series(np.nan, index=e.index, name="weight")
    weights[live] = w
    weights[trimmed] = 0.0

    n_truncated, cap = 0, None
    if truncate is not None:
        free = live.copy()
        if est == "ATT":
            free &= t == 0
        elif est == "ATC":
            free &= t == 1
        if free.any():
            cap = float(np.quantile(weights[free].to_numpy(), truncate))
            over = free & (weights > cap)
            n_truncated = int(over.sum())
            weights[over] = cap
    return WeightResult(weights=weights, treatment=t, estimand=est, n_trimmed=int(trimmed.sum()),
                        n_truncated=n_truncated, n_missing=int(missing.sum()), trim=trim,
                        truncate=truncate, cap=cap)


# --------------------------------------------------------------------------- positivity
def column_or_values(value, data, name):
    """A column of ``data`` named by ``value``, or ``value`` itself as a Series (None stays None)."""
    if isinstance(value, str):
        if data is None:
            raise ParameterError(f"{name}={value!r} is a column name, so data= is needed.")
        require_columns(data, [value], name)
        return data[value]
    if value is None:
        return None
    return as_series(value, name, index=None if data is None else data.index)


def positivity(scores, treatment, *, by=None, data: pd.DataFrame | None = None,
               bounds: tuple = (0.05, 0.95)) -> pd.DataFrame:
    """Positivity diagnostics: per group, who is treated and how extreme the scores are.

    Parameters
    ----------
    scores, treatment : str, pandas.Series or array
        Propensity scores and 0/1 treatment (column names of ``data`` or aligned values).
    by : str or Series, optional
        Groups, e.g. ``'institution'``. Without it, one row for all units.
    data : pandas.DataFrame, optional
        Where column names are looked up.
    bounds : (low, high)
        Scores outside are counted as near-violations.

    Returns
    -------
    pandas.DataFrame
        A row per group and a last row ``'all'``: group, n, n_treated, n_control, share_treated,
        min_propensity, max_propensity, n_outside, share_outside, problem (``'everyone
        treated'``, ``'no one treated'``, ``'scores outside bounds'`` or ``''``), usable (False
        where nobody in the group can be compared: everyone or no one treated), bounds.
        A group where everyone or no one is treated is reported, never an exception: leave it
        out of the comparison (``usable``) or estimate the ATT/ATO.

    Notes
    -----
    In R, the same counts come from ``table(d$institution, d$treat)`` and
    ``tapply(ps, d$institution, range)``; cobalt's ``bal.plot(which = "both")`` shows the overlap.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.association.propensity import positivity
    >>> d = pd.DataFrame({"inst": ["A"] * 4 + ["B"] * 4, "t": [1, 1, 1, 1, 0, 1, 0, 1],
    ...                   "ps": [0.9, 0.97, 0.8, 0.99, 0.4, 0.5, 0.3, 0.6]})
    >>> positivity("ps", "t", by="inst", data=d)[["group", "n", "n_treated", "problem", "usable"]]
      group  n  n_treated                problem  usable
    0     A  4          4       everyone treated   False
    1     B  4          2                           True
    2   all  8          6  scores outside bounds    True
    """
    lo, hi = bounds
    if not 0 <= lo < hi <= 1:
        raise ParameterError(f"bounds must be (low, high) with 0 <= low < high <= 1; got {bounds!r}.")
    e = pd.to_numeric(column_or_values(scores, data, "scores"), errors="coerce").astype(float)
    t = column_or_values(treatment, data, "treatment")
    t = pd.Series(np.asarray(t), index=e.index)
    tt = pd.to_numeric(t.astype(float) if pd.api.types.is_bool_dtype(t) else t, errors="coerce")
    if not set(tt.dropna().unique()).issubset({0, 1}):
        raise ParameterError(f"treatment must be coded 0/1; found {sorted(tt.dropna().unique())[:10]}.")
    frame = pd.DataFrame({"e": e.to_numpy(), "t": tt.to_numpy()})
    if by is not None:
        g = column_or_values(by, data, "by")
        frame["group"] = np.asarray(g.astype(str) if hasattr(g, "astype") else g, dtype=object)
    else:
        frame["group"] = "all"
    frame = frame[frame["t"].notna()]

    def row(name, d):
        n, n1 = len(d), int((d["t"] == 1).sum())
        outside = int(((d["e"] < lo) | (d["e"] > hi)).sum())
        if n1 == n:
            problem = "everyone treated"
        elif n1 == 0:
            problem = "no one treated"
        elif outside:
            problem = "scores outside bounds"
        else:
            problem = ""
        return {"group": name, "n": n, "n_treated": n1, "n_control": n - n1,
                "share_treated": n1 / n if n else np.nan,
                "min_propensity": d["e"].min(), "max_propensity": d["e"].max(),
                "n_outside": outside, "share_outside": outside / n if n else np.nan,
                "problem": problem, "usable": 0 < n1 < n, "bounds": f"[{lo:g}, {hi:g}]"}

    rows = []
    if by is not None:
        rows = [row(name, d) for name, d in frame.groupby("group", sort=True)]
    rows.append(row("all", frame))
    return pd.DataFrame(rows)
