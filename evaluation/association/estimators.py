"""Effect estimators for a binary exposure: crude, regression-adjusted, IPW and AIPW.

One public function per question, in the manner of pingouin. Each takes a tidy frame (a row per
person) and column names, and returns an estimate table of the result contract
(:mod:`evaluation.estimates`) with one row per estimate: the columns

``outcome, method, estimand, scale, estimate, ci_low, ci_high, p_value, n, n_exposed, note``

then ``se`` and ``se_method`` (:data:`~.result_table.RESULT_COLUMNS`), so that the rows of several
calls can be concatenated into one table (and one forest plot).

* :func:`crude` -- unadjusted risk difference and odds ratio (binary outcome) or mean
  difference (continuous outcome);
* :func:`adjusted` -- outcome regression (GLM) with model-based or cluster-robust SEs; for a
  binary outcome the conditional odds ratio and the marginal risk difference by g-computation;
* :func:`ipw` -- inverse probability weighting (Hajek), ATE, ATT or ATO (overlap weights), with
  an M-estimation sandwich SE that accounts for the estimated propensity score;
* :func:`aipw` -- augmented IPW (doubly robust), ATE or ATT, influence-function CIs.

Rows with a missing value in any column an analysis uses are left out (complete cases); ``n``
says how many rows the estimate rests on. The estimates describe associations; they are causal
effects only under no unmeasured confounding, positivity and a correct model (see the notebook).

Covariates are column names. Numeric and boolean columns enter the models as they are; text or
categorical columns are dummy-coded (first level as reference). Derived terms (a square, an
interaction) are made as columns before the call. The propensity model here is a plain logistic
GLM fitted internally; :mod:`evaluation.association.propensity` offers richer weights, which
:func:`ipw` accepts through ``weights=`` or ``propensity=``.

Layout: :func:`crude` and :func:`adjusted` are defined here; :func:`ipw`, :func:`aipw` and
:func:`multiplier_bootstrap_ci` in :mod:`.weighted_estimators`; the shared input checks in
:mod:`.estimation_inputs`, GLM fitting in :mod:`.glm_fits` and the rows and intervals in
:mod:`.result_table`. All public names are importable from this module.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.stats.proportion import confint_proportions_2indep

from evaluation.constraints import Interval, Options, name_list, validate_params
from evaluation.errors import ParameterError
from evaluation.association.estimation_inputs import KINDS, MIN_ROWS, covariate_matrix, estimation_data  # noqa: F401
from evaluation.association.glm_fits import POSITIVITY_EPS, fit_glm  # noqa: F401
from evaluation.association.result_table import (RESULT_COLUMNS, effect_row, effect_table,  # noqa: F401
                                                 normal_interval_and_p, t_interval_and_p)
# ipw and aipw live in .weighted_estimators; re-exported here, where callers have always found them.
from evaluation.association.weighted_estimators import AIPW_ESTIMANDS, IPW_ESTIMANDS, aipw, ipw, multiplier_bootstrap_ci  # noqa: F401

__all__ = ["crude", "adjusted", "ipw", "aipw", "RESULT_COLUMNS"]

FEW_CLUSTERS = 10
CONFIDENCE = Interval(0, 1, closed="neither")


# --------------------------------------------------------------------------------------------
# Crude
# --------------------------------------------------------------------------------------------

@validate_params({"data": ["frame"], "kind": [Options(KINDS)], "se": [Options({"welch", "pooled"})],
                  "confidence": [CONFIDENCE]})
def crude(data: pd.DataFrame, outcome: str, treatment: str, *, kind: str = "binary",
          se: str = "welch", confidence: float = 0.95) -> pd.DataFrame:
    """Unadjusted difference between the exposed and the unexposed.

    Parameters
    ----------
    data : pandas.DataFrame
        A row per person.
    outcome : str
        Outcome column: 0/1 for ``kind='binary'``, numeric for ``kind='continuous'``.
    treatment : str
        Exposure column coded 0/1 (or True/False).
    kind : {'binary', 'continuous'}
        Scale of the outcome.
    se : {'welch', 'pooled'}
        Continuous outcomes only: Welch's unequal-variance t interval (default) or the
        pooled-variance (OLS, Student t) interval that ``lm(y ~ a)`` gives.
    confidence : float
        Confidence level of the interval (0.95).

    Returns
    -------
    pandas.DataFrame
        Binary: two rows, the risk difference (scale ``'risk difference'``) and the odds
        ratio (``'odds ratio'``). Continuous: one row, the mean difference
        (``'mean difference'``). An estimate table (:mod:`evaluation.estimates`), columns as in
        :data:`RESULT_COLUMNS`; ``estimand`` is ``'unadjusted'``.

    Notes
    -----
    Risk difference :math:`\\hat p_1 - \\hat p_0` with Newcombe's hybrid score interval
    (statsmodels ``confint_proportions_2indep(method='newcomb')``); the p-value is the pooled
    two-proportion z-test (Pearson's chi-squared without continuity correction). The ``se``
    column is the unpooled Wald SE. Odds ratio with Woolf's log-scale Wald interval; a zero cell
    gets 0.5 added to every cell (Haldane), which the ``note`` says.

    Mean difference :math:`\\bar y_1 - \\bar y_0` with a Welch t interval (Welch-Satterthwaite
    df) or, with ``se='pooled'``, the classical two-sample t interval.

    Tested against the experimental NSW sample of Dehejia & Wahba (1999): mean difference in
    1978 earnings 1794.34 with pooled SE 632.85, as printed in their Table 3.

    In R: ``t.test(re78 ~ treat, data = nsw)`` (Welch);
    ``summary(lm(re78 ~ treat, data = nsw))`` (pooled);
    ``prop.test(c(x1, x0), c(n1, n0), correct = FALSE)`` (p-value of the RD).

    References
    ----------
    Newcombe RG (1998). Interval estimation for the difference between independent proportions.
    Statistics in Medicine 17: 873-890.

    Dehejia RH, Wahba S (1999). Causal effects in nonexperimental studies. JASA 94: 1053-1062.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1] * 20 + [0] * 20,
    ...                    "y": [1] * 12 + [0] * 8 + [1] * 6 + [0] * 14})
    >>> res = crude(df, "y", "a", kind="binary")
    >>> for r in res.itertuples():
    ...     print(f"{r.scale} {r.estimate:.4f} ({r.ci_low:.4f}, {r.ci_high:.4f})")
    risk difference 0.3000 (-0.0058, 0.5381)
    odds ratio 3.5000 (0.9448, 12.9659)

    In R, Newcombe's hybrid score interval for the same counts:
    ``DescTools::BinomDiffCI(12, 20, 6, 20, method = "score")``.
    """
    df = estimation_data(data, outcome, treatment, kind=kind)
    a = df[treatment].to_numpy()
    y = df[outcome].to_numpy()
    y1, y0 = y[a == 1], y[a == 0]
    n1, n0 = len(y1), len(y0)
    base = dict(outcome=outcome, method="crude", estimand="unadjusted", n=len(df),
                n_exposed=n1)
    if kind == "continuous":
        diff = y1.mean() - y0.mean()
        v1, v0 = y1.var(ddof=1), y0.var(ddof=1)
        if se == "welch":
            s = np.sqrt(v1 / n1 + v0 / n0)
            dof = (v1 / n1 + v0 / n0) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v0 / n0) ** 2 / (n0 - 1))
            method = "Welch t"
        else:
            sp2 = ((n1 - 1) * v1 + (n0 - 1) * v0) / (n1 + n0 - 2)
            s = np.sqrt(sp2 * (1 / n1 + 1 / n0))
            dof = n1 + n0 - 2
            method = "pooled-variance t (OLS)"
        lo, hi, p = t_interval_and_p(diff, s, dof, confidence)
        return effect_table([effect_row(**base, scale="MD", estimate=diff, se=s, ci_low=lo, ci_high=hi,
                            p_value=p, se_method=method)])

    x1, x0 = y1.sum(), y0.sum()
    p1, p0 = x1 / n1, x0 / n0
    rd = p1 - p0
    rd_se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    lo, hi = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff",
                                        alpha=1 - confidence)
    pbar = (x1 + x0) / (n1 + n0)
    se0 = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    p_rd = 2 * stats.norm.sf(abs(rd / se0)) if se0 > 0 else np.nan
    rows = [effect_row(**base, scale="RD", estimate=rd, se=rd_se, ci_low=lo, ci_high=hi, p_value=p_rd,
                 se_method="Newcombe hybrid score CI; pooled z-test p")]
    cells = np.array([x1, n1 - x1, x0, n0 - x0], float)
    note = ""
    if (cells == 0).any():
        cells = cells + 0.5
        note = "a zero cell: 0.5 added to every cell (Haldane) for the odds ratio"
    log_or = np.log(cells[0] * cells[3] / (cells[1] * cells[2]))
    log_se = np.sqrt((1 / cells).sum())
    llo, lhi, p_or = normal_interval_and_p(log_or, log_se, confidence)
    rows.append(effect_row(**base, scale="OR", estimate=np.exp(log_or), se=log_se, ci_low=np.exp(llo),
                     ci_high=np.exp(lhi), p_value=p_or,
                     se_method="Woolf (Wald on log OR); se is on the log scale", note=note))
    return effect_table(rows)


# --------------------------------------------------------------------------------------------
# Regression adjustment
# --------------------------------------------------------------------------------------------

@validate_params({"data": ["frame"], "kind": [Options(KINDS)], "confidence": [CONFIDENCE]})
def adjusted(data: pd.DataFrame, outcome: str, treatment: str, covariates: Sequence[str], *,
             kind: str = "binary", cluster: str | None = None,
             confidence: float = 0.95) -> pd.DataFrame:
    """Covariate-adjusted association from an outcome regression (GLM).

    Parameters
    ----------
    data : pandas.DataFrame
        A row per person.
    outcome, treatment : str
        Outcome column (0/1 or numeric) and exposure column (0/1).
    covariates : list of str
        Adjustment covariates; text columns are dummy-coded.
    kind : {'binary', 'continuous'}
        Binary: logistic GLM. Continuous: Gaussian GLM (ordinary least squares).
    cluster : str, optional
        Column of cluster labels (e.g. institution) for cluster-robust (sandwich) SEs.
        Without it, model-based SEs are used.
    confidence : float
        Confidence level of the interval (0.95).

    Returns
    -------
    pandas.DataFrame
        An estimate table. Continuous: one row, the treatment coefficient (scale
        ``'mean difference'``, estimand ``'conditional'``; with a linear model it is also the
        marginal mean difference). Binary: two rows, the conditional odds ratio ``exp(beta_A)``
        (scale ``'odds ratio'``, estimand ``'conditional'``) and the marginal risk difference
        by g-computation (scale ``'risk difference'``, estimand ``'ATE'``).

    Notes
    -----
    G-computation (standardisation): with the fitted logistic model, predict every person's risk
    with the exposure set to 1 (:math:`p_{1i}`) and to 0 (:math:`p_{0i}`);
    :math:`\\widehat{RD} = n^{-1}\\sum_i (p_{1i} - p_{0i})`. Its SE is the delta method with
    gradient :math:`g = n^{-1}\\sum_i [p_{1i}(1-p_{1i})x_{1i} - p_{0i}(1-p_{0i})x_{0i}]` and the
    model's (cluster-robust, when asked) covariance :math:`V`: :math:`se = \\sqrt{g^T V g}`.
    This treats the covariate distribution as fixed, as Stata's ``margins`` and R's
    ``marginaleffects::avg_comparisons`` do.

    Intervals: Student t with the residual df for a Gaussian model without clusters (as ``lm``);
    with clusters, t with G - 1 df (G = number of clusters, Stata's convention); otherwise normal.
    Cluster-robust SEs use statsmodels' small-sample correction (G/(G-1) (n-1)/(n-p)), as
    Stata and ``sandwich::vcovCL(type = 'HC1')``. With fewer than 10 clusters they are unreliable
    and the ``note`` says so.

    Tested on the NSW experimental sample: with Dehejia & Wahba's (1999, Table 3, note a)
    covariates (age, age², education, no degree, black, Hispanic, re74, re75) the coefficient is
    1672 with SE 638, as printed in their Table 3, column (2).

    In R: ``lm(re78 ~ treat + age + I(age^2) + educ + nodegr + black + hisp + re74 + re75,
    data = nsw)``; for a binary outcome ``fit <- glm(y ~ a + x, binomial)`` then
    ``marginaleffects::avg_comparisons(fit, variables = 'a', vcov = ~institution)``.

    References
    ----------
    Dehejia RH, Wahba S (1999). Causal effects in nonexperimental studies. JASA 94: 1053-1062.

    Hernan MA, Robins JM (2020). Causal Inference: What If, ch. 13 (standardization).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> x = rng.normal(size=400)
    >>> a = rng.binomial(1, 1 / (1 + np.exp(-x)))
    >>> y = 2.0 * a + x + rng.normal(size=400)
    >>> res = adjusted(pd.DataFrame({"y": y, "a": a, "x": x}), "y", "a", ["x"],
    ...                kind="continuous")
    >>> r = res.iloc[0]
    >>> print(f"{r.estimate:.2f} ({r.ci_low:.2f}, {r.ci_high:.2f})")
    1.97 (1.74, 2.19)
    """
    covariates = name_list(covariates, "covariates", "adjusted")
    df = estimation_data(data, outcome, treatment, covariates, kind=kind, extra=[("cluster", cluster)])
    xc, names = covariate_matrix(df, covariates)
    a = df[treatment].to_numpy()
    y = df[outcome].to_numpy()
    x = np.column_stack([np.ones(len(df)), a, xc])
    family = sm.families.Binomial() if kind == "binary" else sm.families.Gaussian()
    note = ""
    if cluster is not None:
        groups = pd.factorize(df[cluster])[0]
        n_clusters = int(groups.max()) + 1
        if n_clusters < 2:
            raise ParameterError(f"cluster column {cluster!r} has one value among the complete "
                                 "rows; cluster-robust SEs need at least 2 clusters.")
        fit_kwargs = dict(cov_type="cluster", cov_kwds={"groups": groups})
        dist = ("t", n_clusters - 1)
        se_method = f"cluster-robust by {cluster!r} ({n_clusters} clusters), t df = G - 1"
        if n_clusters < FEW_CLUSTERS:
            note = (f"only {n_clusters} clusters in {cluster!r}: cluster-robust SEs are "
                    f"unreliable with fewer than {FEW_CLUSTERS}")
    else:
        fit_kwargs = {}
        if kind == "continuous":
            dist = ("t", len(df) - np.linalg.matrix_rank(x))
            se_method = "model-based (OLS), t df = n - p"
        else:
            dist = ("z", None)
            se_method = "model-based (logistic GLM)"
    res = fit_glm(y, x, family, what=f"outcome model for {outcome!r}", **fit_kwargs)
    beta = np.asarray(res.params)
    cov = np.asarray(res.cov_params())

    def interval(est, s):
        if dist[0] == "t":
            return t_interval_and_p(est, s, dist[1], confidence)
        return normal_interval_and_p(est, s, confidence)

    base = dict(outcome=outcome, method="regression", n=len(df), n_exposed=int(a.sum()))
    b, s = beta[1], np.sqrt(cov[1, 1])
    lo, hi, p = interval(b, s)
    if kind == "continuous":
        return effect_table([effect_row(**base, estimand="conditional", scale="MD", estimate=b, se=s,
                            ci_low=lo, ci_high=hi, p_value=p, se_method=se_method, note=note)])
    rows = [effect_row(**base, estimand="conditional", scale="OR", estimate=np.exp(b), se=s,
                 ci_low=np.exp(lo), ci_high=np.exp(hi), p_value=p,
                 se_method=se_method + "; se is on the log scale", note=note)]
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = expit(x1 @ beta), expit(x0 @ beta)
    rd = float(np.mean(p1 - p0))
    grad = ((p1 * (1 - p1))[:, None] * x1 - (p0 * (1 - p0))[:, None] * x0).mean(axis=0)
    rd_se = float(np.sqrt(grad @ cov @ grad))
    lo, hi, p = interval(rd, rd_se)
    rows.append(effect_row(**{**base, "method": "g-computation"}, estimand="ATE", scale="RD",
                     estimate=rd,
                     se=rd_se, ci_low=lo, ci_high=hi, p_value=p,
                     se_method="delta method, " + se_method, note=note))
    return effect_table(rows)
