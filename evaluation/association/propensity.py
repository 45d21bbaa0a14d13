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

The propensity model is defined here; the weights and the positivity check live in
:mod:`.balancing_weights` and the column and treatment checks in :mod:`.treatment_columns`. All are
importable from this module.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from evaluation.constraints import Interval, check_param
from evaluation.errors import ParameterError
from evaluation.estimates import as_measure_table
from evaluation.association.treatment_columns import binary_treatment, is_categorical, require_columns
# Re-exported: callers import the weights and the positivity check from here.
from evaluation.association.balancing_weights import ESTIMANDS, WeightResult, balancing_weights, positivity  # noqa: F401

_EPS = 1e-8


# --------------------------------------------------------------------------- helpers
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
        if is_categorical(x):
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
        A measure table (:mod:`evaluation.estimates`), a row per model term: term, then
        measure, scale ('odds ratio'), estimate, ci_low, ci_high, n, note, then p_value and
        se_method.
    formula_ : str
        The patsy formula fitted.
    n_ : int
        Rows used (complete cases); ``n_dropped_`` rows were left out.
    """

    def __init__(self, treatment: str, covariates, *, cluster: str | None = None,
                 confidence: float = 0.95):
        self.treatment = treatment
        self.covariates = covariates
        self.cluster = cluster
        self.confidence = confidence

    def fit(self, data: pd.DataFrame) -> "PropensityModel":
        covariates = [self.covariates] if isinstance(self.covariates, str) else list(self.covariates)
        if not covariates:
            raise ParameterError("covariates is empty: name at least one column of the data.")
        require_columns(data, [self.treatment], "treatment")
        require_columns(data, covariates, "covariate")
        if self.cluster is not None:
            require_columns(data, [self.cluster], "cluster")
        check_param("propensity_model", "confidence", self.confidence,
                    [Interval(0, 1, closed="neither")])

        used = [self.treatment, *covariates] + ([self.cluster] if self.cluster else [])
        frame = data[list(dict.fromkeys(used))].dropna()
        frame = frame.copy()
        frame[self.treatment] = binary_treatment(frame[self.treatment], self.treatment)
        n_params = 1 + sum(frame[c].nunique() - 1 if is_categorical(frame[c]) else 1
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

        rhs = " + ".join(f"C({_quote(c)})" if is_categorical(frame[c]) else _quote(c)
                         for c in covariates)
        self.formula_ = f"{_quote(self.treatment)} ~ {rhs}"
        model_frame = frame.copy()
        for c in covariates:
            if is_categorical(model_frame[c]):
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
        ci = np.asarray(result.conf_int(alpha=1 - self.confidence), dtype=float)
        self.odds_ratios_ = as_measure_table(pd.DataFrame({
            "term": [_term(t) for t in result.params.index],
            "measure": "propensity model term",
            "scale": "odds ratio",
            "estimate": np.exp(np.asarray(result.params, dtype=float)),
            "ci_low": np.exp(ci[:, 0]), "ci_high": np.exp(ci[:, 1]),
            "n": self.n_,
            "p_value": np.asarray(result.pvalues, dtype=float),
            "se_method": "cluster-robust by " + str(self.cluster) if self.cluster else "model-based",
        }), keys=["term"])
        return self

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Propensity scores for new rows with the same columns."""
        frame = data.copy()
        for c in ([self.covariates] if isinstance(self.covariates, str) else self.covariates):
            if is_categorical(frame[c]):
                frame[c] = frame[c].astype(str)
        return pd.Series(np.asarray(self.result_.predict(frame), dtype=float), index=data.index,
                         name="propensity")


def propensity_model(data: pd.DataFrame, treatment: str, covariates, *,
                     cluster: str | None = None, confidence: float = 0.95) -> PropensityModel:
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
    confidence : float
        Confidence level of the odds-ratio intervals (0.95).

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
    return PropensityModel(treatment, covariates, cluster=cluster, confidence=confidence).fit(data)
