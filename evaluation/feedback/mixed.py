"""The mixed-model fit that the growth model and the expected treatment response share.

statsmodels ``MixedLM`` with REML (the estimator of R's ``lme4::lmer``), a random intercept and,
where it can be estimated, a random slope of time per client episode. A numerical failure or a
boundary fit becomes a note, not an exception: the notebook must go on and say what happened.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from threadpoolctl import threadpool_limits

from evaluation.estimates import warning_notes


def fit_mixed(formula: str, data: pd.DataFrame, random_slopes: bool):
    """Fit a REML mixed model with a random intercept (and slope of ``t``) per group ``g``.

    Parameters
    ----------
    formula : str
        The fixed part, in the frame's short names (``y ~ t * e``).
    data : DataFrame
        The frame, with the group column ``g`` and the time column ``t``.
    random_slopes : bool
        Try a random slope of ``t`` first; fall back to a random intercept when that fails.

    Returns
    -------
    (fit or None, bool, list of str)
        The statsmodels fit (None when no model could be fitted), whether it has random
        slopes, and notes on the fit (fallbacks, boundary fits, convergence). Never raises on
        a numerical failure.
    """
    notes = []
    attempts = [True, False] if random_slopes else [False]
    for slopes in attempts:
        with warnings.catch_warnings(record=True) as caught, \
                threadpool_limits(limits=1, user_api="blas"):
            # One BLAS thread: the matrices are small per client, and a second thread only
            # competes with other work on a shared machine.
            warnings.simplefilter("always")
            try:
                fit = smf.mixedlm(formula, data, groups=data["g"],
                                  re_formula="~t" if slopes else "~1").fit(reml=True)
            except (np.linalg.LinAlgError, ValueError) as exc:
                notes.append(f"{'random-slope' if slopes else 'random-intercept'} model failed "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:80]})")
                continue
        if random_slopes and not slopes:
            notes.append("random intercept only")
        cov = np.atleast_2d(np.asarray(fit.cov_re, dtype=float))
        small = 1e-6 * max(float(fit.scale), 1e-300)
        if np.any(np.diag(cov) < small) or np.linalg.eigvalsh(cov)[0] < small:
            # lme4 says "boundary (singular) fit"; the optimiser's own warnings about the
            # singular covariance say the same less plainly, so one sentence replaces them.
            notes.append("boundary (singular) fit: a random-effect variance is estimated at zero "
                         "or the intercept and slope are perfectly correlated")
        else:
            notes += warning_notes(caught)
        if not fit.converged:
            notes.append("the optimiser did not converge: treat the estimates with caution")
        return fit, slopes, notes
    notes.append("no model could be fitted")
    return None, False, notes


def random_effects_table(fit, slopes: bool, time: str) -> pd.DataFrame:
    """The variance components of :func:`fit_mixed`'s fit: ``component``, ``variance`` (the
    covariance in its row), ``sd`` and ``correlation``; missing values without a fit."""
    names = ["client intercept", f"client slope ({time})", "intercept–slope covariance",
             "residual"]
    if fit is None:
        var = [np.nan] * 4
    else:
        cov = np.atleast_2d(np.asarray(fit.cov_re, dtype=float))
        var = [cov[0, 0], cov[1, 1] if slopes else np.nan, cov[0, 1] if slopes else np.nan,
               float(fit.scale)]
    sd = [np.sqrt(v) if i != 2 and np.isfinite(v) else np.nan for i, v in enumerate(var)]
    corr = [np.nan, np.nan, var[2] / (sd[0] * sd[1]) if slopes and sd[0] and sd[1] else np.nan,
            np.nan]
    return pd.DataFrame({"component": names, "variance": var, "sd": sd, "correlation": corr})
