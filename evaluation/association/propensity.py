"""Who gets an IP: the propensity model, balancing weights and the positivity check.

One function per question, in pingouin's manner:

* ``propensity_model`` — a logistic model of treatment on covariates (the same model reports
  odds ratios for "who gets an IP" and gives the propensity scores);
* ``balancing_weights`` — inverse-probability (ATE, ATT) or overlap (ATO) weights from the
  scores, with trimming and truncation counted;
* ``positivity`` — per group (e.g. institution): does everyone, or no one, get treated, and how
  many scores lie outside the bounds.

The weights follow WeightIt's definitions (Greifer, ``WeightIt::get_w_from_ps``) and the
effective sample size is Kish's, as ``WeightIt::ESS``.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from ..errors import ParameterError

ESTIMANDS = ("ATE", "ATT", "ATC", "ATO")
_EPS = 1e-8


# --------------------------------------------------------------------------- helpers
def _is_categorical(s: pd.Series) -> bool:
    """Object, string, category and bool columns enter the model as ``C()``."""
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _check_columns(data: pd.DataFrame, columns, role: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ParameterError(
            f"{role} {', '.join(repr(c) for c in missing)} not in the data. "
            f"Expected one of the columns: {', '.join(map(str, data.columns))}.")


def _binary_treatment(values, name: str = "treatment") -> pd.Series:
    """The treatment as 0/1 integers; anything else is a ParameterError naming the values."""
    s = pd.Series(values)
    observed = s.dropna()
    if pd.api.types.is_bool_dtype(observed):
        observed = observed.astype(int)
    try:
        numeric = pd.to_numeric(observed)
    except (TypeError, ValueError):
        numeric = None
    levels = sorted(pd.unique(observed).tolist(), key=str)
    if numeric is None or not set(pd.unique(numeric)).issubset({0, 1}):
        raise ParameterError(
            f"treatment {name!r} must be coded 0/1 (or True/False); found the values "
            f"{levels[:10]}.")
    if numeric.nunique() < 2:
        raise ParameterError(
            f"treatment {name!r} has only one value ({levels[0] if levels else 'none'}) "
            f"in the rows used: nobody can be compared. Expected both 0 and 1.")
    out = pd.Series(np.nan, index=s.index, dtype=float)
    out.loc[observed.index] = numeric.astype(float)
    return out


def _term(name: str) -> str:
    """``C(Q("rop_group"))[T.rop]`` -> ``rop_group[rop]``; ``Q("age")`` -> ``age``."""
    name = re.sub(r'C\(Q\("((?:[^"\\]|\\.)*)"\)\)\[T\.(.*)\]', r"\1[\2]", name)
    return re.sub(r'Q\("((?:[^"\\]|\\.)*)"\)', r"\1", name)


def _quote(column: str) -> str:
    return 'Q("' + str(column).replace("\\", "\\\\").replace('"', '\\"') + '")'


def _separating(frame: pd.DataFrame, treatment: str, covariates) -> list[str]:
    """Covariates (or levels) that alone predict treatment perfectly (quasi-completely)."""
    found = []
    t = frame[treatment]
    for c in covariates:
        x = frame[c]
        if _is_categorical(x):
            shares = t.groupby(x.astype(str), observed=True).agg(["mean", "size"])
            for level, row in shares.iterrows():
                if row["mean"] in (0.0, 1.0):
                    who = "everyone" if row["mean"] == 1.0 else "no one"
                    found.append(f"{c} = {level!r} ({who} of its {int(row['size'])} treated)")
        else:
            x1, x0 = x[t == 1], x[t == 0]
            if x1.nunique() and x0.nunique() and (x1.min() > x0.max() or x1.max() < x0.min()):
                found.append(f"{c} (treated {x1.min():g} to {x1.max():g}, "
                             f"untreated {x0.min():g} to {x0.max():g}: no overlap)")
    return found


# --------------------------------------------------------------------------- model
class PropensityModel:
    """Logistic model of a binary treatment on covariates (scikit-learn style).

    Parameters are stored as given; :meth:`fit` does the work and sets the attributes ending in
    ``_``. Use :func:`propensity_model` for the one-call form.

    Attributes
    ----------
    scores_ : pandas.Series
        Fitted P(treatment = 1 | covariates), aligned to ``data.index``; NaN for rows left out
        because a covariate, the treatment or the cluster was missing.
    result_ : statsmodels results
        The fitted ``statsmodels`` Logit results (cluster-robust covariance when ``cluster``).
    odds_ratios_ : pandas.DataFrame
        A row per model term: term, estimate (odds ratio), ci_low, ci_high, p_value, n, scale.
    formula_ : str
        The patsy formula fitted.
    n_ : int
        Rows used (complete cases); ``n_dropped_`` rows were left out.
    """

    def __init__(self, treatment: str, covariates, *, cluster: str | None = None,
                 alpha: float = 0.05):
        self.treatment = treatment
        self.covariates = covariates
        self.cluster = cluster
        self.alpha = alpha

    def fit(self, data: pd.DataFrame) -> "PropensityModel":
        covariates = [self.covariates] if isinstance(self.covariates, str) else list(self.covariates)
        if not covariates:
            raise ParameterError("covariates is empty: name at least one column of the data.")
        _check_columns(data, [self.treatment], "treatment")
        _check_columns(data, covariates, "covariate")
        if self.cluster is not None:
            _check_columns(data, [self.cluster], "cluster")
        if not 0 < self.alpha < 1:
            raise ParameterError(f"alpha must lie between 0 and 1, got {self.alpha!r}.")

        used = [self.treatment, *covariates] + ([self.cluster] if self.cluster else [])
        frame = data[list(dict.fromkeys(used))].dropna()
        frame = frame.copy()
        frame[self.treatment] = _binary_treatment(frame[self.treatment], self.treatment)
        n_params = 1 + sum(frame[c].nunique() - 1 if _is_categorical(frame[c]) else 1
                           for c in covariates)
        if len(frame) < max(10, 2 * n_params):
            raise ParameterError(
                f"too few rows for the propensity model: {len(frame)} complete rows of "
                f"{len(data)} for {n_params} parameters. Expected at least {max(10, 2 * n_params)}.")
        separating = _separating(frame, self.treatment, covariates)
        if separating:
            raise ParameterError(
                "perfect separation: treatment is perfectly predicted by "
                + "; ".join(separating) + ". The odds ratio is infinite and the propensity is "
                "0 or 1 there: leave the covariate out, merge the level, or restrict the sample "
                "(see positivity()).")

        rhs = " + ".join(f"C({_quote(c)})" if _is_categorical(frame[c]) else _quote(c)
                         for c in covariates)
        self.formula_ = f"{_quote(self.treatment)} ~ {rhs}"
        model_frame = frame.copy()
        for c in covariates:
            if _is_categorical(model_frame[c]):
                model_frame[c] = model_frame[c].astype(str)
        fit_kw = {"disp": 0, "maxiter": 200}
        if self.cluster is not None:
            groups = pd.factorize(frame[self.cluster])[0]
            fit_kw.update(cov_type="cluster", cov_kwds={"groups": groups})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = smf.logit(self.formula_, model_frame).fit(**fit_kw)
            except Exception as exc:  # PerfectSeparationError, singular matrix
                raise ParameterError(
                    f"the propensity model could not be fitted ({type(exc).__name__}: {exc}). "
                    "Look for a covariate that predicts treatment perfectly or covariates that "
                    "are copies of each other.") from None
            p = np.asarray(result.predict(model_frame), dtype=float)
        separation_warned = any("separation" in str(w.message).lower() for w in caught)
        if separation_warned or np.any(p < _EPS) or np.any(p > 1 - _EPS):
            extreme = (p < _EPS) | (p > 1 - _EPS)
            raise ParameterError(
                f"perfect separation: the propensity model predicts treatment with certainty for "
                f"{int(extreme.sum())} of {len(p)} rows (combination of covariates "
                f"{', '.join(covariates)}). Leave out or merge covariates, or restrict the sample.")

        self.result_ = result
        self.n_ = int(len(frame))
        self.n_dropped_ = int(len(data) - len(frame))
        self.scores_ = pd.Series(np.nan, index=data.index, name="propensity")
        self.scores_.loc[frame.index] = p
        ci = np.asarray(result.conf_int(alpha=self.alpha), dtype=float)
        self.odds_ratios_ = pd.DataFrame({
            "term": [_term(t) for t in result.params.index],
            "estimate": np.exp(np.asarray(result.params, dtype=float)),
            "ci_low": np.exp(ci[:, 0]), "ci_high": np.exp(ci[:, 1]),
            "p_value": np.asarray(result.pvalues, dtype=float),
            "n": self.n_,
            "scale": "odds ratio",
            "se": "cluster-robust by " + str(self.cluster) if self.cluster else "model-based",
        })
        return self

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Propensity scores for new rows with the same columns."""
        frame = data.copy()
        for c in ([self.covariates] if isinstance(self.covariates, str) else self.covariates):
            if _is_categorical(frame[c]):
                frame[c] = frame[c].astype(str)
        return pd.Series(np.asarray(self.result_.predict(frame), dtype=float), index=data.index,
                         name="propensity")


def propensity_model(data: pd.DataFrame, treatment: str, covariates, *,
                     cluster: str | None = None, alpha: float = 0.05) -> PropensityModel:
    """Fit a logistic propensity model: P(treatment = 1 | covariates).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    treatment : str
        Column coded 0/1 (or bool).
    covariates : list of str
        Columns; object, string, category and bool columns enter as ``C()`` (treatment coding,
        first level in sorted order as reference), numeric columns linearly.
    cluster : str, optional
        Column of clusters (e.g. institution) for cluster-robust standard errors of the odds
        ratios. The scores do not depend on it.
    alpha : float
        1 − confidence level of the odds-ratio intervals.

    Returns
    -------
    PropensityModel
        Fitted: ``scores_``, ``result_``, ``odds_ratios_``, ``n_``, ``n_dropped_``.

    Raises
    ------
    ParameterError
        Treatment not 0/1 or with one value, a covariate not in the data, too few rows, perfect
        separation (the message names the covariate or level that separates).

    Notes
    -----
    Maximum likelihood by Newton–Raphson (``statsmodels`` Logit); Wald intervals
    ``exp(b ± z·se)``. Rows with a missing value in any used column are left out (complete
    cases) and their score is NaN. Tested against ``statsmodels.api.Logit`` on the Lalonde NSW
    data (tests/test_propensity_balance.py).

    In R: ``glm(treat ~ age + educ + ..., family = binomial, data = d)``; the scores are
    ``fitted(m)`` and equal ``WeightIt::weightit(..., method = "glm")$ps``.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.association.propensity import propensity_model
    >>> d = pd.DataFrame({"t": [0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0],
    ...                   "x": [1, 2, 2, 3, 1, 1, 4, 5, 2, 3, 4, 3]})
    >>> m = propensity_model(d, "t", ["x"])
    >>> m.odds_ratios_[["term", "estimate"]].round(3)
            term  estimate
    0  Intercept     0.431
    1          x     1.386
    """
    return PropensityModel(treatment, covariates, cluster=cluster, alpha=alpha).fit(data)


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


def _as_series(values, name: str, index=None) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    return pd.Series(arr, index=index, name=name)


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
    est = str(estimand).upper()
    if est == "OVERLAP":
        est = "ATO"
    if est not in ESTIMANDS:
        raise ParameterError(f"estimand {estimand!r} is not known. Expected one of {', '.join(ESTIMANDS)}.")
    scores = _as_series(scores, "scores")
    treatment = _as_series(treatment, "treatment", index=scores.index)
    if len(scores) != len(treatment):
        raise ParameterError(f"scores ({len(scores)}) and treatment ({len(treatment)}) differ in length.")
    if not scores.index.equals(treatment.index):
        treatment = treatment.reindex(scores.index)
    e = pd.to_numeric(scores, errors="coerce").astype(float)
    bad = e.notna() & ((e < 0) | (e > 1))
    if bad.any():
        raise ParameterError(f"scores must lie in [0, 1]; {int(bad.sum())} do not "
                             f"(first: {e[bad].iloc[0]!r} at index {e[bad].index[0]!r}).")
    t = _binary_treatment(treatment, getattr(treatment, "name", None) or "treatment")
    if trim is not None and not 0 < trim < 0.5:
        raise ParameterError(f"trim must lie in (0, 0.5), e.g. 0.01; got {trim!r}.")
    if truncate is not None and not 0.5 < truncate < 1:
        raise ParameterError(f"truncate must be a quantile in (0.5, 1), e.g. 0.99; got {truncate!r}.")

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
def _column_or_values(value, data, name):
    if isinstance(value, str):
        if data is None:
            raise ParameterError(f"{name}={value!r} is a column name, so data= is needed.")
        _check_columns(data, [value], name)
        return data[value]
    if value is None:
        return None
    return _as_series(value, name, index=None if data is None else data.index)


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
    e = pd.to_numeric(_column_or_values(scores, data, "scores"), errors="coerce").astype(float)
    t = _column_or_values(treatment, data, "treatment")
    t = pd.Series(np.asarray(t), index=e.index)
    tt = pd.to_numeric(t.astype(float) if pd.api.types.is_bool_dtype(t) else t, errors="coerce")
    if not set(tt.dropna().unique()).issubset({0, 1}):
        raise ParameterError(f"treatment must be coded 0/1; found {sorted(tt.dropna().unique())[:10]}.")
    frame = pd.DataFrame({"e": e.to_numpy(), "t": tt.to_numpy()})
    if by is not None:
        g = _column_or_values(by, data, "by")
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
