"""The fixed-effects regressions the DiD and event-study estimators share: a work frame with
formula-safe column names, covariates as columns, one pyfixest fit and one coefficient's row.

Both :mod:`.did` and :mod:`.event_study` fit ``feols`` on frames whose columns are ``_y``
(outcome), ``_u`` (unit), ``_t`` (period), ``_c`` (cluster) and ``_x0, _x1, …`` (covariates),
so that user column names never have to be valid in a formula.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from evaluation.comparison.panel import binary_column, require_columns, tail_alpha
from evaluation.errors import ParameterError


def did_work_frame(data, outcome, unit, period, treated, post, covariates, cluster):
    """Complete cases with safe column names (formulas need them): _y, _D, _T, _u, _t, _c, _x*;
    returns the frame and the number of rows left out."""
    require_columns(data, [outcome, unit, period, treated, post, cluster, *covariates], what="data")
    used = list(dict.fromkeys([outcome, unit, period, treated, post, cluster, *covariates]))
    complete = data[used].dropna()
    if not pd.api.types.is_numeric_dtype(complete[outcome]):
        raise ParameterError(f"outcome {outcome!r} must be numeric; it is {complete[outcome].dtype}.")
    work = pd.DataFrame({"_y": complete[outcome].astype(float),
                         "_T": binary_column(complete[treated], treated),
                         "_u": pd.factorize(complete[unit])[0],
                         "_t": pd.factorize(complete[period], sort=True)[0],
                         "_c": pd.factorize(complete[cluster])[0]}, index=complete.index)
    work["_D"] = work["_T"] * binary_column(complete[post], post)
    return with_covariates(work, complete, covariates).reset_index(drop=True), len(data) - len(complete)


def with_covariates(work, frame, covariates):
    """Covariates as columns _x0, _x1, ...: numbers as they are, text dummy-coded."""
    if covariates:
        x = pd.get_dummies(frame[covariates], drop_first=True, dtype=float)
        work = work.assign(**{f"_x{i}": x[col].to_numpy(float) for i, col in enumerate(x.columns)})
    return work


def coefficient(fit, name, confidence):
    """(estimate, se, p, ci_low, ci_high) of one coefficient; quiet when the SE is 0 or NaN."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        return (float(fit.coef()[name]), float(fit.se()[name]), float(fit.pvalue()[name]),
                *(float(v) for v in fit.confint(alpha=tail_alpha(confidence)).loc[name]))


def fit_feols(fml, work, vcov):
    """pyfixest's ``feols`` without its warnings; no residual degrees of freedom is an error."""
    import pyfixest as pf   # imported here: it is slow to import and only the fits need it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # pyfixest warns about dropped singletons and the like
        try:
            return pf.feols(fml, data=work, vcov=vcov, fixef_rm="none")
        except np.linalg.LinAlgError as exc:
            raise ParameterError("The regression has no residual degrees of freedom (as many "
                                 "parameters as rows, e.g. one row per cell), so no standard "
                                 "error; use did_means on the rows behind the cells.") from exc
