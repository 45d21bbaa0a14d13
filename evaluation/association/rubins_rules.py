"""Rubin's rules: pooling the estimates of multiply imputed data sets.

:func:`rubin_pool` is used by :func:`~.imputation.mice_estimate` and re-exported from
:mod:`evaluation.association.imputation`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import ParameterError
from evaluation.constraints import Interval, shown_value, validate_params


@validate_params({"df_complete": [Interval(0, None, closed="neither"), None],
                  "confidence": [Interval(0, 1, closed="neither")]})
def rubin_pool(estimates: Sequence[float], ses: Sequence[float], *,
               df_complete: float | None = None, confidence: float = 0.95) -> pd.Series:
    """Pool m estimates and their standard errors by Rubin's rules.

    Parameters
    ----------
    estimates : sequence of float
        The estimate from each of the m imputed data sets (on a scale where it is roughly
        normal: a difference, or a log odds ratio rather than an odds ratio).
    ses : sequence of float
        Their standard errors.
    df_complete : float, optional
        Degrees of freedom of the analysis had there been no missing data (for a regression,
        n - p). When given, the Barnard–Rubin (1999) small-sample degrees of freedom are used;
        when None (default), Rubin's (1987) classic ones.
    confidence : float
        Confidence level of the interval (0.95).

    Returns
    -------
    pandas.Series
        ``estimate`` (:math:`\\bar Q`), ``se`` (:math:`\\sqrt T`), ``within`` (:math:`\\bar W`),
        ``between`` (:math:`B`), ``total`` (:math:`T`), ``riv`` (relative increase in variance
        :math:`r`), ``lambda`` (:math:`\\lambda`), ``df`` (:math:`\\nu`), ``fmi`` (fraction of
        missing information), ``ci_low``, ``ci_high``, ``p_value`` (H0: the quantity is 0)
        and ``m``.

    Raises
    ------
    ParameterError
        Fewer than two estimates, lengths that differ, or a standard error that is missing or
        negative.

    Notes
    -----
    With :math:`q_i, u_i = se_i^2` for :math:`i = 1..m`:

    .. math::

        \\bar Q = \\frac1m \\sum q_i, \\quad \\bar W = \\frac1m \\sum u_i, \\quad
        B = \\frac{1}{m-1} \\sum (q_i - \\bar Q)^2, \\quad T = \\bar W + (1 + 1/m) B

    :math:`r = (1 + 1/m)B/\\bar W`, :math:`\\lambda = (1 + 1/m)B/T`, and Rubin's degrees of
    freedom :math:`\\nu = (m-1)(1 + 1/r)^2 = (m-1)/\\lambda^2`. Barnard–Rubin:
    :math:`\\nu_{obs} = \\frac{\\nu_{com}+1}{\\nu_{com}+3}\\nu_{com}(1-\\lambda)` and
    :math:`\\nu_{BR} = (1/\\nu + 1/\\nu_{obs})^{-1}`. The fraction of missing information is
    :math:`\\gamma = (r + 2/(\\nu + 3))/(r + 1)`. The interval is
    :math:`\\bar Q \\pm t_{\\nu, 1-\\alpha/2}\\sqrt T`. When :math:`B = 0`, :math:`\\nu = \\infty`
    (a normal interval) and :math:`\\gamma = 0`.

    In R: ``mice::pool.scalar(Q, U, n = Inf)`` (classic df) gives the same ``qbar``, ``ubar``,
    ``b``, ``t``, ``df`` and ``fmi``; tested against a hand-worked example.

    References
    ----------
    Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.

    Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation.
    Biometrika 86(4):948-955.

    van Buuren S (2018). Flexible Imputation of Missing Data, 2nd ed., section 2.3.

    Examples
    --------
    >>> res = rubin_pool([1.0, 1.2, 1.1], [0.2, 0.2, 0.2])
    >>> res[["estimate", "within", "between", "total", "df"]].round(4)
    estimate     1.1000
    within       0.0400
    between      0.0100
    total        0.0533
    df          32.0000
    dtype: float64
    """
    func = "rubin_pool"
    q = np.asarray(estimates, dtype=float).ravel()
    s = np.asarray(ses, dtype=float).ravel()
    if q.size != s.size:
        raise ParameterError(f"{func}: got {q.size} estimates but {s.size} standard errors.")
    if q.size < 2:
        raise ParameterError(f"{func}: needs at least 2 estimates (one per imputed data set), "
                             f"got {q.size}.")
    if not np.all(np.isfinite(q)):
        raise ParameterError(f"{func}: estimate {shown_value(q[~np.isfinite(q)][0])} is not a finite number.")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        bad = s[~(np.isfinite(s) & (s >= 0))][0]
        raise ParameterError(f"{func}: standard error {shown_value(bad)} is not a non-negative number.")
    m = q.size
    qbar = float(q.mean())
    within = float(np.mean(s ** 2))
    between = float(q.var(ddof=1))
    total = within + (1 + 1 / m) * between
    if between <= 0 or total <= 0:
        riv, lam, df, fmi = 0.0, 0.0, np.inf, 0.0
    else:
        riv = (1 + 1 / m) * between / within if within > 0 else np.inf
        lam = (1 + 1 / m) * between / total
        df = (m - 1) / lam ** 2
        if df_complete is not None:
            df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
            df = 1 / (1 / df + 1 / df_obs) if df_obs > 0 else df
        fmi = (riv + 2 / (df + 3)) / (riv + 1) if np.isfinite(riv) else 1.0
    se = float(np.sqrt(total))
    alpha = 1 - confidence
    crit = stats.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else stats.norm.ppf(1 - alpha / 2)
    if se > 0:
        tstat = abs(qbar) / se
        p = float(2 * (stats.t.sf(tstat, df) if np.isfinite(df) else stats.norm.sf(tstat)))
    else:
        p = np.nan
    return pd.Series({"estimate": qbar, "se": se, "within": within, "between": between,
                      "total": total, "riv": riv, "lambda": lam, "df": float(df),
                      "fmi": float(fmi), "ci_low": qbar - crit * se, "ci_high": qbar + crit * se,
                      "p_value": p, "m": m})
