"""Weighting estimators for a binary exposure: IPW and augmented IPW (doubly robust).

* :func:`ipw` -- inverse probability weighting (Hajek), ATE, ATT or ATO (overlap weights), with
  an M-estimation sandwich SE that accounts for the estimated propensity score;
* :func:`aipw` -- augmented IPW (doubly robust), ATE or ATT, influence-function CIs, optionally
  a percentile CI from :func:`multiplier_bootstrap_ci`.

Both return an estimate table (:mod:`evaluation.estimates`, with ``se`` and ``se_method``:
:data:`~.result_table.RESULT_COLUMNS`) and are re-exported from :mod:`.estimators`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.special import expit

from evaluation.constraints import Interval, Options, validate_params, name_list
from evaluation.errors import ParameterError
from evaluation.association.estimation_inputs import KINDS, covariate_matrix, estimation_data
from evaluation.association.glm_fits import fit_glm, logistic_propensity, positivity_note
from evaluation.association.result_table import effect_row, effect_table, normal_interval_and_p, percentile_limits

CONFIDENCE = Interval(0, 1, closed="neither")


# --------------------------------------------------------------------------------------------
# Inverse probability weighting
# --------------------------------------------------------------------------------------------

IPW_ESTIMANDS = ("ATE", "ATT", "ATO")


def _weights_from_ps(a, e, estimand):
    if estimand == "ATE":
        return a / e + (1 - a) / (1 - e)
    if estimand == "ATT":
        return a + (1 - a) * e / (1 - e)
    return a * (1 - e) + (1 - a) * e  # ATO: overlap weights


def _dweights_de(a, e, estimand):
    """d w / d e, for the M-estimation Jacobian."""
    if estimand == "ATE":
        return -a / e ** 2 + (1 - a) / (1 - e) ** 2
    if estimand == "ATT":
        return (1 - a) / (1 - e) ** 2
    return -a + (1 - a)


def _ess(w):
    return w.sum() ** 2 / (w ** 2).sum()


@validate_params({"data": ["frame"], "estimand": [Options(IPW_ESTIMANDS)], "kind": [Options(KINDS)],
                  "confidence": [CONFIDENCE]})
def ipw(data: pd.DataFrame, outcome: str, treatment: str, covariates: Sequence[str] = (), *,
        estimand: str = "ATE", kind: str = "binary", weights=None, propensity=None,
        confidence: float = 0.95) -> pd.DataFrame:
    """Inverse probability weighted (Hajek) difference in means or risks.

    Parameters
    ----------
    data : pandas.DataFrame
        A row per person.
    outcome, treatment : str
        Outcome column (0/1 or numeric) and exposure column (0/1).
    covariates : list of str
        Covariates of the logistic propensity model fitted here (ignored when ``weights`` or
        ``propensity`` is given).
    estimand : {'ATE', 'ATT', 'ATO'}
        ATE weights 1/e and 1/(1-e); ATT weights 1 and e/(1-e); ATO (overlap weights) 1-e and e.
    kind : {'binary', 'continuous'}
        Scale of the result: risk difference or mean difference.
    weights : str or array-like, optional
        Ready-made weights (a column name, or values aligned with ``data``'s rows), e.g. from
        :mod:`evaluation.association.propensity` after trimming. Treated as known.
    propensity : str or array-like, optional
        Ready-made propensity scores; the weights for ``estimand`` are made from them. Treated
        as known.
    confidence : float
        Confidence level of the interval (0.95).

    Returns
    -------
    pandas.DataFrame
        One row of an estimate table; scale ``'risk difference'`` or ``'mean difference'``. ``note`` gives the effective sample sizes
        (Kish, (Σw)²/Σw²) per arm and any positivity warning.

    Notes
    -----
    :math:`\\hat\\mu_a = \\sum_i w_i 1[A_i=a] Y_i / \\sum_i w_i 1[A_i=a]` and the estimate is
    :math:`\\hat\\mu_1 - \\hat\\mu_0` (Hajek, i.e. normalised weights within each arm).

    SE when the propensity score is fitted here: M-estimation (Lunceford & Davidian 2004),
    stacking the logistic score equations :math:`X_i(A_i - e_i)` with
    :math:`w_i A_i (Y_i - \\mu_1)` and :math:`w_i (1-A_i)(Y_i - \\mu_0)`; the sandwich
    :math:`A^{-1} B A^{-T} / n` uses the analytic Jacobian. This is what WeightIt's
    ``glm_weightit()`` reports by default. When weights or scores are supplied, the sandwich
    treats them as fixed (the ``se_method`` column says which). Normal-theory intervals.

    Tested on the NSW experiment (estimate equals an independent numpy computation to 1e-6 and
    lies within one SE of the experimental difference 1794.34) and on synthetic data with
    known effects.

    In R: ``W <- WeightIt::weightit(a ~ x, data, method = 'glm', estimand = 'ATE')``;
    ``fit <- WeightIt::lm_weightit(y ~ a, data = d, weightit = W)``;
    ``marginaleffects::avg_comparisons(fit, variables = 'a')``.

    References
    ----------
    Lunceford JK, Davidian M (2004). Stratification and weighting via the propensity score in
    estimation of causal treatment effects. Statistics in Medicine 23: 2937-2960.

    Li F, Morgan KL, Zaslavsky AM (2018). Balancing covariates via propensity score weighting.
    JASA 113: 390-400.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=2000)
    >>> a = rng.binomial(1, 1 / (1 + np.exp(-x)))
    >>> y = 1.0 * a + x + rng.normal(size=2000)
    >>> res = ipw(pd.DataFrame({"y": y, "a": a, "x": x}), "y", "a", ["x"],
    ...           kind="continuous")
    >>> bool(res.ci_low.iloc[0] < 1.0 < res.ci_high.iloc[0])
    True
    """
    if weights is not None and propensity is not None:
        raise ParameterError("give weights= or propensity=, not both.")
    covariates = name_list(covariates, "covariates", "ipw")
    if weights is None and propensity is None and not covariates:
        raise ParameterError("ipw needs covariates for the propensity model, or weights= or "
                             "propensity=.")
    # Arrays are attached as columns so that they follow the rows through the complete-case step.
    for name, value in (("weights", weights), ("propensity", propensity)):
        if value is not None and not isinstance(value, str):
            value = np.asarray(value, dtype=float).ravel()
            if len(value) != len(data):
                raise ParameterError(f"{name} has {len(value)} values but data has "
                                     f"{len(data)} rows.")
            data = data.assign(**{f"__{name}__": value})
            if name == "weights":
                weights = "__weights__"
            else:
                propensity = "__propensity__"
    extra = [("weights", weights), ("propensity", propensity)]
    use_cov = covariates if weights is None and propensity is None else []
    df = estimation_data(data, outcome, treatment, use_cov, kind=kind, extra=extra)
    a = df[treatment].to_numpy()
    y = df[outcome].to_numpy()
    notes = []
    x = None
    if weights is not None:
        w = df[weights].to_numpy(float)
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ParameterError("weights must be finite and non-negative.")
        e = None
        se_method = "robust sandwich, weights treated as known"
    else:
        if propensity is not None:
            e = df[propensity].to_numpy(float)
            if np.any((e <= 0) | (e >= 1)):
                bad = e[(e <= 0) | (e >= 1)][0]
                raise ParameterError(f"propensity score {bad!r} is outside (0, 1).")
            se_method = "robust sandwich, propensity scores treated as known"
        else:
            e, x, _ = logistic_propensity(df, treatment, covariates)
            se_method = "M-estimation sandwich (accounts for the estimated propensity score)"
        w = _weights_from_ps(a, e, estimand)
        pos = positivity_note(e)
        if pos:
            notes.append(pos)
    sw1, sw0 = (w * a).sum(), (w * (1 - a)).sum()
    if sw1 <= 0 or sw0 <= 0:
        raise ParameterError("the weights of one treatment arm sum to zero.")
    mu1 = (w * a * y).sum() / sw1
    mu0 = (w * (1 - a) * y).sum() / sw0
    est = mu1 - mu0
    n = len(df)
    # Stacked estimating functions: [logistic scores (if fitted here), mu1, mu0].
    r1 = w * a * (y - mu1)
    r0 = w * (1 - a) * (y - mu0)
    if x is not None:
        k = x.shape[1]
        psi = np.column_stack([x * (a - e)[:, None], r1, r0])
        jac = np.zeros((k + 2, k + 2))
        jac[:k, :k] = (x * (e * (1 - e))[:, None]).T @ x / n
        dw_dbeta = (_dweights_de(a, e, estimand) * e * (1 - e))[:, None] * x
        jac[k, :k] = -(a * (y - mu1)) @ dw_dbeta / n
        jac[k + 1, :k] = -((1 - a) * (y - mu0)) @ dw_dbeta / n
        jac[k, k] = (w * a).mean()
        jac[k + 1, k + 1] = (w * (1 - a)).mean()
    else:
        k = 0
        psi = np.column_stack([r1, r0])
        jac = np.diag([(w * a).mean(), (w * (1 - a)).mean()])
    meat = psi.T @ psi / n
    jinv = np.linalg.inv(jac)
    cov = jinv @ meat @ jinv.T / n
    c = np.zeros(k + 2)
    c[k], c[k + 1] = 1.0, -1.0
    se = float(np.sqrt(c @ cov @ c))
    lo, hi, p = normal_interval_and_p(est, se, confidence)
    notes.insert(0, f"ESS exposed {_ess(w[a == 1]):.1f}, unexposed {_ess(w[a == 0]):.1f}")
    return effect_table([effect_row(outcome=outcome, method="IPW", estimand=estimand,
                        scale="RD" if kind == "binary" else "MD", estimate=est, se=se,
                        ci_low=lo, ci_high=hi, p_value=p, n=n, n_exposed=int(a.sum()),
                        se_method=se_method, note="; ".join(notes))])


# --------------------------------------------------------------------------------------------
# Augmented IPW
# --------------------------------------------------------------------------------------------

AIPW_ESTIMANDS = ("ATE", "ATT")


def _arm_predictions(y, a, xc, kind, outcome):
    """Outcome model per arm (GLM on the covariates); predictions for everyone."""
    family = sm.families.Binomial() if kind == "binary" else sm.families.Gaussian()
    preds = {}
    for arm in (1, 0):
        m = a == arm
        keep = np.ptp(xc[m], axis=0) > 0 if xc.shape[1] else np.zeros(0, bool)
        x_arm = np.column_stack([np.ones(m.sum()), xc[m][:, keep]])
        x_all = np.column_stack([np.ones(len(y)), xc[:, keep]])
        if kind == "binary" and np.ptp(y[m]) == 0:
            preds[arm] = np.full(len(y), y[m][0])
            continue
        res = fit_glm(y[m], x_arm, family,
                       what=f"outcome model for {outcome!r} in arm {arm}")
        eta = x_all @ np.asarray(res.params)
        preds[arm] = expit(eta) if kind == "binary" else eta
    return preds[1], preds[0]


@validate_params({"data": ["frame"], "estimand": [Options(AIPW_ESTIMANDS)], "kind": [Options(KINDS)],
                  "confidence": [CONFIDENCE], "n_boot": [Interval(0, None, integral=True)],
                  "bootstrap": [Interval(0, None, integral=True), None]})
def aipw(data: pd.DataFrame, outcome: str, treatment: str, covariates: Sequence[str], *,
         estimand: str = "ATE", kind: str = "binary", confidence: float = 0.95,
         n_boot: int = 0, seed=None, bootstrap: int | None = None) -> pd.DataFrame:
    """Augmented inverse probability weighting (doubly robust) estimate.

    Parameters
    ----------
    data : pandas.DataFrame
        A row per person.
    outcome, treatment : str
        Outcome column (0/1 or numeric) and exposure column (0/1).
    covariates : list of str
        Covariates of both the propensity model (logistic GLM) and the outcome models (one GLM
        per arm: logistic for binary, linear for continuous outcomes).
    estimand : {'ATE', 'ATT'}
    kind : {'binary', 'continuous'}
    confidence : float
        Confidence level of the interval (0.95).
    n_boot : int
        Replicates of a multiplier bootstrap of the influence function for a percentile
        interval (0: the influence-function interval). ``bootstrap=`` is its former name.
    seed : int, optional
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row of an estimate table; scale ``'risk difference'`` or ``'mean difference'``.

    Notes
    -----
    With propensity :math:`e_i` and arm-wise outcome predictions :math:`m_{1i}, m_{0i}`:

    ATE: :math:`\\hat\\psi = n^{-1}\\sum_i \\phi_i` with
    :math:`\\phi_i = m_{1i} - m_{0i} + A_i(Y_i - m_{1i})/e_i - (1-A_i)(Y_i - m_{0i})/(1-e_i)`;
    influence function :math:`IF_i = \\phi_i - \\hat\\psi`.

    ATT: :math:`\\hat\\psi = \\sum_i [A_i(Y_i - m_{0i}) - (1-A_i) e_i (Y_i - m_{0i})/(1-e_i)]
    / \\sum_i A_i`; :math:`IF_i = [A_i(Y_i - m_{0i} - \\hat\\psi) - (1-A_i)e_i(Y_i - m_{0i})
    /(1-e_i)] / \\bar A`.

    :math:`se = sd(IF)/\\sqrt n` (sample SD, ddof = 1), normal interval. The estimate is
    consistent if either the propensity or the outcome model is right; the SE ignores the
    estimation of the nuisance models, which is asymptotically justified when both are right.

    Tested against an independent numpy implementation of these formulas on the NSW experiment
    (to 1e-6) and on synthetic data with known effects.

    In R: ``AIPW::AIPW`` or ``PSweight::PSweight(..., augmentation = TRUE)``, with
    ``glm`` nuisance models, give the same point estimate.

    References
    ----------
    Robins JM, Rotnitzky A, Zhao LP (1994). Estimation of regression coefficients when some
    regressors are not always observed. JASA 89: 846-866.

    Glynn AN, Quinn KM (2010). An introduction to the augmented inverse propensity weighted
    estimator. Political Analysis 18: 36-56.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"x1": rng.normal(size=2000), "x2": rng.normal(size=2000)})
    >>> df["a"] = rng.binomial(1, 1 / (1 + np.exp(-df.x1 + 0.5 * df.x2)))
    >>> df["y"] = 0.5 * df.a + df.x1 - df.x2 + rng.normal(size=2000)
    >>> res = aipw(df, "y", "a", ["x1", "x2"], kind="continuous")    # true effect 0.5
    >>> bool(res.ci_low.iloc[0] < 0.5 < res.ci_high.iloc[0])
    True
    """
    n_boot = n_boot if bootstrap is None else bootstrap
    covariates = name_list(covariates, "covariates", "aipw")
    df = estimation_data(data, outcome, treatment, covariates, kind=kind)
    a = df[treatment].to_numpy()
    y = df[outcome].to_numpy()
    e, _, _ = logistic_propensity(df, treatment, covariates)
    xc, _ = covariate_matrix(df, covariates)
    m1, m0 = _arm_predictions(y, a, xc, kind, outcome)
    n = len(df)
    if estimand == "ATE":
        phi = m1 - m0 + a * (y - m1) / e - (1 - a) * (y - m0) / (1 - e)
        est = phi.mean()
        infl = phi - est
    else:
        pa = a.mean()
        odds = e / (1 - e)
        est = (a * (y - m0) - (1 - a) * odds * (y - m0)).sum() / a.sum()
        infl = (a * (y - m0 - est) - (1 - a) * odds * (y - m0)) / pa
    se = float(np.std(infl, ddof=1) / np.sqrt(n))
    lo, hi, p = normal_interval_and_p(est, se, confidence)
    se_method = "influence function (nuisance models treated as known)"
    if n_boot:
        lo, hi = multiplier_bootstrap_ci(est, infl, n_boot, confidence=confidence, seed=seed)
        se_method = (f"multiplier bootstrap of the influence function, {n_boot} replicates, "
                     f"percentile CI (no refits)")
    return effect_table([effect_row(outcome=outcome, method="AIPW", estimand=estimand,
                        scale="RD" if kind == "binary" else "MD", estimate=float(est), se=se,
                        ci_low=lo, ci_high=hi, p_value=p, n=n, n_exposed=int(a.sum()),
                        se_method=se_method, note=positivity_note(e))])


def multiplier_bootstrap_ci(estimate: float, influence: np.ndarray, n_boot: int, *,
                            confidence: float = 0.95, seed=None, chunk: int = 100) -> tuple[float, float]:
    """Percentile CI from a multiplier (wild) bootstrap of an influence function.

    Each replicate is ``estimate + mean(xi * IF)`` with xi standard normal, which reproduces the
    estimator's sampling distribution to first order without refitting any model; a thousand
    replicates on 100 000 people cost a few matrix products. Chunked so that memory stays at
    ``chunk × n`` floats.
    """
    rng = np.random.default_rng(seed)
    influence = np.asarray(influence, dtype=float)
    n = len(influence)
    draws = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws.append(estimate + rng.standard_normal((size, n)) @ influence / n)
    draws = np.concatenate(draws)
    return tuple(float(v) for v in np.percentile(draws, percentile_limits(confidence)))
