"""Missing data: which rows an analysis used and why, and multiple imputation with Rubin's rules.

:func:`complete_cases` keeps the rows with every analysis column present and says, for each row
left out, the first reason (outcome, then exposure, then each covariate). :func:`mice_estimate`
is the alternative: multiple imputation by chained equations (statsmodels ``MICEData``, predictive
mean matching), an estimator applied to each imputed data set, and the results pooled by
:func:`rubin_pool`.

:func:`complete_cases` lives in :mod:`.complete_cases` and :func:`rubin_pool` in :mod:`.rubins_rules`;
both are importable from this module.
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.imputation.mice import MICEData

from evaluation.constraints import Interval, Options, shown_value, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import ESTIMATE_COLUMNS, estimate_table
# Re-exported: callers import complete_cases and rubin_pool from here.
from evaluation.association.complete_cases import complete_cases  # noqa: F401
from evaluation.association.rubins_rules import rubin_pool

KINDS = ("continuous", "binary")

MICE_EXTRAS = ["se", "n_complete", "m", "fmi", "df"]
COLUMNS = ESTIMATE_COLUMNS + MICE_EXTRAS


# Multiple imputation ----------------------------------------------------------------------------

@validate_params({"data": ["frame"], "kind": [Options(KINDS)],
                  "m": [Interval(2, None, integral=True)], "n_iter": [Interval(1, None, integral=True)],
                  "estimator": ["callable", None], "confidence": [Interval(0, 1, closed="neither")]})
def mice_estimate(data: pd.DataFrame, outcome: str, treatment: str,
                  covariates: Sequence[str] = (), *, kind: str, m: int = 10, seed: int = 0,
                  estimator: Callable[[pd.DataFrame], tuple[float, float]] | None = None,
                  n_iter: int = 10, k_pmm: int = 5, df_complete: float | None = None,
                  estimand: str | None = None, scale: str | None = None,
                  exponentiate: bool = False, confidence: float = 0.95) -> pd.DataFrame:
    """Treatment estimate by multiple imputation by chained equations, pooled by Rubin's rules.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person; missing values as NaN.
    outcome, treatment : str
        Outcome column and 0/1 exposure column (both may have missing values).
    covariates : list of str
        Covariates; they are imputed too and serve as predictors in every imputation model.
        Include here any auxiliary variable that predicts missingness or the outcome, even one
        your ``estimator`` does not adjust for.
    kind : {'continuous', 'binary'}
        Outcome type; sets the default estimator's scale.
    m : int
        Number of imputed data sets (at least 2).
    seed : int
        Seed of the imputations; the same seed gives the same result.
    estimator : callable, optional
        ``estimator(df) -> (estimate, se)``, applied to each imputed data set (with the
        original column names). Default: the treatment coefficient of an OLS regression of
        the outcome on treatment and covariates (categoricals as ``C()``): a mean difference
        (continuous) or a linear-probability risk difference with HC1 robust SE (binary).
    n_iter : int
        Cycles of the chained equations run for each imputed data set; each data set comes
        from its own chain, as in R's ``mice``.
    k_pmm : int
        Donors for predictive mean matching: an imputed value is drawn from the observed
        values of the ``k_pmm`` rows with the nearest predicted means (5, as R's ``mice``;
        statsmodels' default of 20 pulls imputations in the tails towards the centre).
    df_complete : float, optional
        Complete-data degrees of freedom for the Barnard–Rubin df; None: Rubin's classic df.
    estimand, scale : str, optional
        Labels for the result (defaults describe the default estimator).
    exponentiate : bool
        If the estimator returns a log odds ratio (or log risk ratio), set True: pooling is on
        the log scale, ``estimate`` and the CI are exponentiated, ``se`` stays on the log scale.
    confidence : float
        Confidence level of the interval (0.95).

    Returns
    -------
    pandas.DataFrame
        One row of an estimate table (:mod:`evaluation.estimates`): ``method`` 'mice',
        ``ci_low``, ``ci_high`` (t interval with the pooled df), ``n`` (all rows),
        ``n_exposed`` (rows with observed treatment 1), then ``se``, ``n_complete``
        (rows with no missing value in the analysis columns), ``m``, ``fmi`` (fraction of
        missing information), ``df`` and ``note``.

    Raises
    ------
    ParameterError
        A column is not in the data; ``kind`` unknown; ``m < 2``; treatment not 0/1; a
        column with no observed value; an estimator that does not return two numbers.

    Notes
    -----
    Imputation uses statsmodels ``MICEData``: each incomplete column is regressed (OLS) on
    all the others and its missing values are filled by predictive mean matching (drawing an
    observed value among the ``k_pmm`` nearest predicted means, after perturbing the
    regression coefficients), so imputed values are always values that occur in the data (0/1 stays
    0/1). Text and category columns are imputed through their integer codes, which keeps
    imputed values legal but treats the codes as ordered in the other columns' imputation
    models. The estimates are pooled by :func:`rubin_pool`. The imputation assumes the data
    are missing at random given the columns passed.

    In R: ``mice::mice(df, m = 10, method = "pmm", maxit = 10, donors = 5)`` then
    ``pool(with(imp, lm(y ~ ip + age)))``; the pooling is tested against a hand-worked
    example and the whole procedure by simulation.

    References
    ----------
    van Buuren S, Groothuis-Oudshoorn K (2011). mice: Multivariate imputation by chained
    equations in R. Journal of Statistical Software 45(3).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> n = 400
    >>> age = rng.normal(0, 1, n)
    >>> ip = rng.integers(0, 2, n)
    >>> chaos = 1 + 2 * ip + age + rng.normal(0, 1, n)
    >>> chaos[rng.random(n) < 0.3] = np.nan
    >>> df = pd.DataFrame({"chaos": chaos, "ip": ip, "age": age})
    >>> res = mice_estimate(df, "chaos", "ip", ["age"], kind="continuous", m=5, seed=1)
    >>> res[["method", "estimate", "ci_low", "ci_high", "n", "n_complete", "m"]].round(2)
      method  estimate  ci_low  ci_high    n  n_complete  m
    0   mice      2.06    1.83      2.3  400         280  5
    """
    func = "mice_estimate"
    m, n_iter = int(m), int(n_iter)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    cols = [outcome, treatment, *covariates]
    for role, column in [("outcome", outcome), ("treatment", treatment),
                         *[("covariate", c) for c in covariates]]:
        if column not in data.columns:
            raise ParameterError(f"{func}: {role} column {column!r} is not in the data; columns: "
                                 f"{', '.join(map(str, data.columns[:30]))}.")
    if len(set(cols)) != len(cols):
        raise ParameterError(f"{func}: a column is named twice among outcome, treatment and "
                             f"covariates: {cols}.")
    frame = data[cols].reset_index(drop=True)
    for column in cols:
        if frame[column].isna().all():
            raise ParameterError(f"{func}: column {column!r} has no observed value to impute from.")
    t = pd.to_numeric(frame[treatment].astype(object).where(frame[treatment].notna()),
                      errors="coerce")
    odd = frame[treatment][frame[treatment].notna() & ~t.isin([0, 1])]
    if len(odd):
        raise ParameterError(f"{func}: treatment {treatment!r} must be 0/1; found value "
                             f"{shown_value(odd.iloc[0])}.")
    if kind == "binary":
        y = pd.to_numeric(frame[outcome].astype(object).where(frame[outcome].notna()),
                          errors="coerce")
        odd = frame[outcome][frame[outcome].notna() & ~y.isin([0, 1])]
        if len(odd):
            raise ParameterError(f"{func}: binary outcome {outcome!r} must be 0/1; found value "
                                 f"{shown_value(odd.iloc[0])}.")

    if estimator is None:
        estimator = _default_estimator(outcome, treatment, covariates, kind)
        estimand = estimand or "conditional (adjusted regression)"
        scale = scale or ("mean difference" if kind == "continuous" else "risk difference")
    estimand = estimand or "as defined by the estimator"
    scale = scale or "coefficient (as returned by the estimator)"

    n = len(frame)
    n_complete = int(frame.notna().all(axis=1).sum())
    n_exposed = int((t == 1).sum())

    numeric, decoders = _encode(frame)
    if n_complete == n:
        est, se = _call(estimator, frame, func)
        pooled = rubin_pool([est, est], [se, se], df_complete=df_complete, confidence=confidence)
        m_used, note = 1, "no missing values: nothing imputed; estimator applied once"
    else:
        rng = np.random.default_rng(seed)
        estimates, ses = [], []
        for _ in range(m):
            imputed = _impute(numeric, n_iter, k_pmm, np.random.default_rng(rng.integers(2 ** 63)))
            est, se = _call(estimator, _decode(imputed, decoders, cols), func)
            estimates.append(est)
            ses.append(se)
        pooled = rubin_pool(estimates, ses, df_complete=df_complete, confidence=confidence)
        m_used = m
        note = (f"MICE, predictive mean matching, {n_iter} cycles per data set; Rubin's rules, "
                + ("Barnard-Rubin df" if df_complete is not None else "classic df")
                + f"; {n - n_complete} of {n} rows had a missing value")
    est, low, high = pooled["estimate"], pooled["ci_low"], pooled["ci_high"]
    if exponentiate:
        est, low, high = np.exp(est), np.exp(low), np.exp(high)
    row = {"outcome": outcome, "method": "mice", "estimand": estimand, "estimate": est,
           "ci_low": low, "ci_high": high, "p_value": pooled["p_value"], "n": n,
           "n_exposed": n_exposed, "scale": scale, "se": pooled["se"], "n_complete": n_complete,
           "m": m_used, "fmi": pooled["fmi"], "df": pooled["df"], "note": note}
    return estimate_table([row], extra=MICE_EXTRAS)


def _default_estimator(outcome, treatment, covariates, kind):

    def estimate(df: pd.DataFrame) -> tuple[float, float]:
        d = df[[outcome, treatment, *covariates]].copy()
        d.columns = ["y", "t", *[f"x{i}" for i in range(len(covariates))]]
        d["y"] = d["y"].astype(float)
        d["t"] = d["t"].astype(float)
        terms = ["t"] + [c if pd.api.types.is_numeric_dtype(d[c]) else f"C({c})"
                         for c in d.columns[2:]]
        fit = smf.ols("y ~ " + " + ".join(terms), d).fit(
            cov_type="HC1" if kind == "binary" else "nonrobust")
        return float(fit.params["t"]), float(fit.bse["t"])

    return estimate


def _call(estimator, df, func) -> tuple[float, float]:
    out = estimator(df)
    try:
        est, se = out
        return float(est), float(se)
    except (TypeError, ValueError):
        raise ParameterError(f"{func}: the estimator must return (estimate, se), "
                             f"got {out!r}.") from None


def _encode(frame: pd.DataFrame):
    """Numeric copy with safe column names c0..ck; text/category/bool columns as codes."""
    numeric = pd.DataFrame(index=frame.index)
    decoders = []
    for i, column in enumerate(frame.columns):
        s = frame[column]
        name = f"c{i}"
        if pd.api.types.is_bool_dtype(s):
            numeric[name] = s.astype(float)
            decoders.append(("bool", None))
        elif pd.api.types.is_numeric_dtype(s):
            numeric[name] = s.astype(float)
            decoders.append(("numeric", None))
        else:
            cat = s.astype("category")
            codes = cat.cat.codes.astype(float).where(cat.notna())
            numeric[name] = codes
            decoders.append(("category", cat.cat.categories))
    return numeric, decoders


def _decode(numeric: pd.DataFrame, decoders, names) -> pd.DataFrame:
    out = {}
    for (how, categories), name, col in zip(decoders, names, numeric.columns):
        v = numeric[col]
        if how == "category":
            out[name] = pd.Categorical.from_codes(v.round().astype(int), categories=categories)
        elif how == "bool":
            out[name] = v.round().astype(bool)
        else:
            out[name] = v
    return pd.DataFrame(out, index=numeric.index)


def _impute(numeric: pd.DataFrame, n_iter: int, k_pmm: int, rng) -> pd.DataFrame:

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chain = MICEData(numeric.copy(), k_pmm=k_pmm, rng=rng)
        chain.update_all(n_iter)
    return chain.data.copy()


def mice_by_outcome(study, outcomes, *, covariates=None, seed: int = 0) -> pd.DataFrame:
    """:func:`mice_estimate` (m = 10) for each of the study's ``outcomes``, among the people
    whose exposure is known: outcome and covariates imputed, pooled by Rubin's rules.

    Returns an estimate table, a row per outcome, ``outcome`` the name under ``outcomes:`` in
    study.yaml; ``covariates`` None takes the manifest's.
    """
    m = study.manifest
    exposure = m.exposure["column"]
    covs = list(m.covariates if covariates is None else covariates)
    people = study.person_table()
    rows = []
    for name in outcomes:
        spec = m.outcomes[name]
        data = people[[exposure, spec.variable, *covs]].dropna(subset=[exposure])
        rows.append(mice_estimate(data, spec.variable, exposure, covs, kind=spec.type, seed=seed)
                    .assign(outcome=name))
    return pd.concat(rows, ignore_index=True)
