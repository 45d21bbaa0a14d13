"""GLM fitting shared by the effect estimators: outcome and propensity models.

:func:`fit_glm` turns perfect separation into a :class:`ParameterError` naming the model;
:func:`logistic_propensity` is the plain logistic propensity model of
:func:`~.weighted_estimators.ipw` and :func:`~.weighted_estimators.aipw`;
:func:`positivity_note` flags extreme scores.
"""
from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

from evaluation.errors import ParameterError
from evaluation.association.estimation_inputs import covariate_matrix

# Propensity scores this close to 0 or 1 are reported as a positivity problem.
POSITIVITY_EPS = 0.01


def fit_glm(y, x, family, *, what: str, **fit_kwargs):
    """Fit a GLM; perfect separation becomes a ParameterError that says which model."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.filterwarnings("ignore", message=".*divide by zero.*")
        try:
            res = sm.GLM(y, x, family=family).fit(**fit_kwargs)
        except (PerfectSeparationError, PerfectSeparationWarning) as exc:
            raise ParameterError(f"{what}: perfect separation (some covariate pattern predicts "
                                 "the response exactly), so the model has no finite estimate. "
                                 "Drop or merge the covariate levels concerned.") from exc
    if not np.all(np.isfinite(res.params)):
        raise ParameterError(f"{what}: the model did not converge to finite estimates.")
    return res


def logistic_propensity(df, treatment, covariates) -> tuple[np.ndarray, np.ndarray, object]:
    """Logistic propensity model A ~ 1 + covariates. Returns (e, design with intercept, fit)."""
    xc, _ = covariate_matrix(df, covariates)
    x = np.column_stack([np.ones(len(df)), xc])
    res = fit_glm(df[treatment].to_numpy(float), x, sm.families.Binomial(),
                   what=f"propensity model for {treatment!r}")
    return np.asarray(res.fittedvalues), x, res


def positivity_note(e: np.ndarray) -> str:
    """A note naming how many scores lie outside [POSITIVITY_EPS, 1 - POSITIVITY_EPS] ('' if none)."""
    extreme = int(np.sum((e < POSITIVITY_EPS) | (e > 1 - POSITIVITY_EPS)))
    if extreme:
        return (f"{extreme} propensity score(s) outside [{POSITIVITY_EPS}, {1 - POSITIVITY_EPS}]: "
                "positivity is doubtful, consider trimming or overlap weights")
    return ""
