"""Reliability of multi-item scales: Cronbach's alpha and McDonald's omega.

One function per question, in the manner of pingouin; each returns a measure table of the
result contract (:mod:`evaluation.estimates`): ``measure`` names the coefficient, ``scale`` is
'reliability', with ``estimate``, its confidence interval and the ``n`` it rests on. Item
statistics are in :mod:`evaluation.instruments.item_analysis`.
Items are columns of a wide frame (a row per respondent); :func:`cronbach_alpha` also takes
long format (a row per respondent × item) through ``subject=``, ``item=``, ``score=``.

Reverse-keyed items must be recoded before they are passed here: every function assumes
that every item measures the construct in the same direction.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pingouin as pg
from statsmodels.multivariate.factor import Factor

from evaluation.constraints import Interval, Options, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import measure_row, measure_table
from evaluation.instruments.item_frames import NAN_POLICIES, item_frame

ALPHA = "Cronbach's alpha"
OMEGA = "McDonald's omega total"
CONFIDENCE = [Interval(0, 1, closed="neither")]
# Standardised uniqueness below which a one-factor solution is reported as a Heywood case.
HEYWOOD_UNIQUENESS = 1e-3

__all__ = ["cronbach_alpha", "mcdonald_omega", "reliability", "ALPHA", "OMEGA"]


# --------------------------------------------------------------------------------------------
# Cronbach's alpha
# --------------------------------------------------------------------------------------------

@validate_params({"nan_policy": [Options(NAN_POLICIES)], "confidence": CONFIDENCE})
def cronbach_alpha(data: pd.DataFrame, items: Sequence | None = None, *, subject=None,
                   item=None, score=None, nan_policy: str = "pairwise",
                   confidence: float = 0.95) -> pd.DataFrame:
    """Cronbach's alpha of a set of items, with Feldt's confidence interval.

    Parameters
    ----------
    data : DataFrame
        Wide (a row per respondent, a column per item) or long (a row per respondent × item,
        with ``subject``, ``item`` and ``score`` naming its columns).
    items : list of str, optional
        The item columns (wide) or item names (long). Default: every column (wide) or every
        item (long). At least two; all numeric.
    subject, item, score : str, optional
        Long format: the columns holding the respondent identifier, the item name and the score.
        Give all three or none.
    nan_policy : {'pairwise', 'listwise'}
        ``'pairwise'`` (default) computes each covariance from the respondents who answered both
        items (``DataFrame.cov``); ``'listwise'`` first drops every respondent with a missing item.
    confidence : float
        Level of the confidence interval (default 0.95).

    Returns
    -------
    DataFrame
        A measure table of one row: ``measure`` ("Cronbach's alpha"), ``scale``
        ('reliability'), ``estimate``, ``ci_low``, ``ci_high``, ``n`` (respondents used),
        ``note``, ``k`` (items) and ``ci_method``.

    Notes
    -----
    .. math::

        \\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_i \\sigma^2_i}{\\sigma^2_X}\\right)

    with :math:`\\sigma^2_i` the item variances and :math:`\\sigma^2_X` the variance of the sum
    score, both taken from the item covariance matrix. The computation is
    :func:`pingouin.cronbach_alpha`, called as it is (not re-derived here); this function adds the
    input checks, long-format handling and the tidy result. The interval is Feldt's (Feldt,
    Woodruff & Salih 1987), :math:`1 - (1-\\alpha)F`, with F quantiles on :math:`n-1` and
    :math:`(n-1)(k-1)` degrees of freedom; pingouin rounds its limits to three decimals.

    ``n`` is the number of respondents the estimate rests on: with ``'listwise'`` those with every
    item answered, with ``'pairwise'`` those with at least one item answered. Respondents with no
    answer at all are dropped before pingouin sees the data, and with ``'listwise'`` the
    incomplete rows are dropped here too, so Feldt's interval uses this ``n``. (pingouin alone
    counts the incomplete rows in the listwise interval: it prints [0.581, 0.933] for the
    example below where this function gives [0.533, 0.947] from the 9 complete respondents.)

    Results were checked against pingouin's documented values, which agree with R's
    ``psych::alpha``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297–334.

    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. Applied Psychological Measurement, 11(1), 93–103.

    Examples
    --------
    Likert items in long format (15 respondents × 10 items, pingouin's example data):

    >>> import pingouin as pg
    >>> from evaluation.instruments.psychometrics import cronbach_alpha
    >>> long = pg.read_dataset("cronbach_alpha")
    >>> res = cronbach_alpha(long, subject="Subj", item="Items", score="Scores")
    >>> res[["measure", "estimate", "ci_low", "ci_high", "n", "k"]].round(4)
                measure  estimate  ci_low  ci_high   n   k
    0  Cronbach's alpha    0.5917   0.195     0.84  15  10

    In R: ``psych::alpha(tidyr::pivot_wider(long, names_from=Items, values_from=Scores)[-1])``
    gives raw_alpha 0.59.

    Binary items with missing answers:

    >>> wide = pg.read_dataset("cronbach_wide_missing")
    >>> # In R: psych::alpha(wide, use="pairwise")
    >>> round(float(cronbach_alpha(wide)["estimate"].iloc[0]), 4)
    0.7327
    >>> cronbach_alpha(wide, nan_policy="listwise")[["estimate", "ci_low", "ci_high", "n"]].round(4)
       estimate  ci_low  ci_high  n
    0    0.8017   0.533    0.947  9

    In R: ``psych::alpha(wide, use="complete.obs")`` gives raw_alpha 0.80.
    """
    func = "cronbach_alpha"
    wide = item_frame(data, items, func, subject=subject, item=item, score=score)
    if nan_policy == "listwise":
        wide = wide.dropna(how="any")
        if len(wide) < 2:
            raise ParameterError(f"{func}: fewer than 2 respondents answered every item; "
                                 "listwise deletion leaves nothing to estimate from. "
                                 "Try nan_policy='pairwise'.")
    estimate, (low, high) = pg.cronbach_alpha(data=wide, nan_policy=nan_policy, ci=confidence)
    return measure_table([measure_row(
        measure=ALPHA, scale="reliability", estimate=float(estimate), ci_low=float(low),
        ci_high=float(high), n=len(wide), k=wide.shape[1],
        ci_method=f"Feldt {confidence:.0%} ({nan_policy} covariances)")])


# --------------------------------------------------------------------------------------------
# McDonald's omega
# --------------------------------------------------------------------------------------------

def _one_factor_ml(x: np.ndarray, start=None):
    """Loadings and uniquenesses of a one-factor model fitted by ML, in the items' raw units.

    statsmodels' ``Factor`` fits the correlation matrix; ML is scale invariant, so rescaling
    its standardised solution by the item SDs is the ML solution for the covariance matrix.
    Returns (raw loadings, raw uniquenesses, standardised (loadings, uniquenesses)).
    """
    model = Factor(x, n_factor=1, method="ml")
    if start is None:
        # rng fixed: statsmodels draws random EM starting values otherwise.
        res = model.fit(rng=0)
    else:
        res = model.fit(start=start, em_iter=0)
    load = np.asarray(res.loadings, dtype=float).ravel()
    uniq = np.asarray(res.uniqueness, dtype=float)
    sd = x.std(axis=0, ddof=1)
    return load * sd, uniq * sd**2, (load.reshape(-1, 1), uniq)


def _omega_total(load: np.ndarray, uniq: np.ndarray) -> float:
    common = load.sum() ** 2
    return float(common / (common + uniq.sum()))


@validate_params({"n_boot": [Interval(0, None, integral=True)], "confidence": CONFIDENCE})
def mcdonald_omega(data: pd.DataFrame, items: Sequence | None = None, *, n_boot: int = 1000,
                   seed=None, confidence: float = 0.95) -> pd.DataFrame:
    """McDonald's omega total from a one-factor model fitted by maximum likelihood.

    Parameters
    ----------
    data : DataFrame
        Wide: a row per respondent, a column per item.
    items : list of str, optional
        The item columns (default: every column). At least three, all numeric.
    n_boot : int
        Bootstrap resamples for the confidence interval (default 1000; 0 for no interval).
    seed : int or numpy Generator, optional
        Seed of the bootstrap; give one for a reproducible interval.
    confidence : float
        Level of the confidence interval (default 0.95).

    Returns
    -------
    DataFrame
        A measure table of one row: ``measure`` ("McDonald's omega total"), ``scale``
        ('reliability'), ``estimate``, ``ci_low``, ``ci_high``, ``n`` (complete respondents
        used), ``note``, ``k``, ``method`` (the model and the variant) and ``ci_method``.

    Notes
    -----
    A one-factor model :math:`\\Sigma = \\lambda\\lambda^\\top + \\Psi` is fitted by maximum
    likelihood (statsmodels' ``Factor(method='ml')``) to the complete cases, and

    .. math::

        \\omega_t = \\frac{(\\sum_i \\lambda_i)^2}{(\\sum_i \\lambda_i)^2 + \\sum_i \\psi_i}

    with loadings :math:`\\lambda_i` and uniquenesses :math:`\\psi_i` **in the items' raw units**
    (the covariance-matrix solution): the share of the variance of the unweighted raw sum score
    that the common factor explains, the same quantity Cronbach's alpha estimates under
    tau-equivalence. This is the variant of lavaan-based tools (``semTools::compRelSEM``);
    computing the same formula on standardised loadings (the correlation matrix, as
    ``psych::omega`` does by default) is the reliability of the sum of *z*-scores instead, and
    differs whenever item variances differ: 0.8850 rather than 0.8859 in the example below.
    Factor's solution is on the correlation matrix; as ML is scale invariant, multiplying
    loadings by the item SDs and uniquenesses by the variances gives the covariance solution.

    The interval is a nonparametric percentile bootstrap: respondents are resampled with
    replacement and the model refitted ``n_boot`` times (starting from the full-sample
    solution); resamples in which an item has no variance are skipped, and ``ci_method`` says
    how many were usable. A one-factor model needs at least three items to be identified.

    When the ML solution puts an item's uniqueness at zero (a Heywood case: with three items,
    when :math:`r_{ij} r_{ik} / r_{jk} > 1`), ``method`` says so; the estimate is then on the
    boundary of the parameter space and should be read with care.

    Results were checked against the ω_total of the lavaan one-factor model for Holzinger &
    Swineford's (1939) x4–x6 (0.8859), reproduced with R 4.2.2.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Erlbaum.

    Flora, D. B. (2020). Your coefficient alpha is probably wrong, but which coefficient omega
    is right? Advances in Methods and Practices in Psychological Science, 3(4), 484–501.

    Examples
    --------
    The "textual" items of Holzinger & Swineford (1939) (the file ships with the test suite):

    >>> from pathlib import Path
    >>> import pandas as pd
    >>> import evaluation
    >>> from evaluation.instruments.psychometrics import mcdonald_omega
    >>> data_dir = Path(evaluation.__file__).parents[1] / "tests" / "data"
    >>> hs = pd.read_csv(data_dir / "holzinger_swineford_1939.csv")
    >>> res = mcdonald_omega(hs, ["x4", "x5", "x6"], n_boot=200, seed=1)
    >>> round(float(res["estimate"].iloc[0]), 4), int(res["n"].iloc[0])
    (0.8859, 301)

    In R: ``semTools::compRelSEM(lavaan::cfa("textual =~ x4 + x5 + x6",
    data = lavaan::HolzingerSwineford1939))`` gives 0.886.
    """
    func = "mcdonald_omega"
    n_boot = int(n_boot)
    wide = item_frame(data, items, func, min_items=3).dropna(how="any")
    k = wide.shape[1]
    if len(wide) <= k:
        raise ParameterError(f"{func}: {len(wide)} respondents answered every item; a factor "
                             f"model of {k} items needs more than {k}.")
    flat = wide.columns[wide.std(ddof=1) == 0]
    if len(flat):
        raise ParameterError(f"{func}: column {flat[0]!r} has the same value for every complete "
                             "respondent; a factor model needs variance in every item.")
    x = wide.to_numpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load, uniq, start = _one_factor_ml(x)
    estimate = _omega_total(load, uniq)
    method = "one-factor ML (statsmodels Factor), unstandardised loadings (covariance)"
    heywood = [c for c, u in zip(wide.columns, start[1]) if u < HEYWOOD_UNIQUENESS]
    if heywood:
        # A Heywood case: the ML solution sits on the boundary (uniqueness 0), where BFGS
        # stops with "precision loss"; that warning is explained by the note, so not repeated.
        method += (f"; Heywood case: uniqueness of {', '.join(map(repr, heywood))} is 0, "
                   "the estimate is on the boundary")
    else:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    low = high = np.nan
    ci_method = "none"
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        n = len(x)
        boots = []
        with warnings.catch_warnings():
            # Near-Heywood resamples and slow convergence are part of the bootstrap
            # distribution; statsmodels warns for each of them.
            warnings.simplefilter("ignore")
            for _ in range(n_boot):
                xb = x[rng.integers(0, n, size=n)]
                if np.any(xb.std(axis=0) == 0):
                    continue
                lb, ub, _ = _one_factor_ml(xb, start=start)
                boots.append(_omega_total(lb, ub))
        tail = (1 - confidence) / 2
        if boots:
            low, high = (float(v) for v in np.quantile(boots, [tail, 1 - tail]))
        ci_method = (f"percentile bootstrap {confidence:.0%}, {len(boots)} of {n_boot} "
                     "resamples usable")
    return measure_table([measure_row(
        measure=OMEGA, scale="reliability", estimate=estimate, ci_low=low, ci_high=high,
        n=len(wide), k=k, method=method, ci_method=ci_method)])


# --------------------------------------------------------------------------------------------
# Several scales at once
# --------------------------------------------------------------------------------------------

@validate_params({"data": ["frame"], "nan_policy": [Options(NAN_POLICIES)],
                  "confidence": CONFIDENCE, "n_boot": [Interval(0, None, integral=True)]})
def reliability(data: pd.DataFrame, items_by_scale: Mapping[str, Sequence[str]], *,
                nan_policy: str = "pairwise", confidence: float = 0.95, n_boot: int = 1000,
                seed=None) -> pd.DataFrame:
    """Cronbach's alpha and McDonald's omega total for each scale, in one table.

    Parameters
    ----------
    data : DataFrame
        Wide: a row per respondent, a column per item.
    items_by_scale : dict of str to list of str
        Scale name → its item columns.
    nan_policy : {'pairwise', 'listwise'}
        For alpha (see :func:`cronbach_alpha`); omega always uses complete cases.
    confidence, n_boot, seed
        Passed to :func:`cronbach_alpha` and :func:`mcdonald_omega`.

    Returns
    -------
    DataFrame
        A measure table, two rows per scale (alpha, then omega) with the scale's name in
        ``score`` first and the columns of :func:`cronbach_alpha` and :func:`mcdonald_omega`. A scale of two items gets an omega row
        with NaN and a ``method`` saying why (the one-factor model is not identified).

    Examples
    --------
    Holzinger & Swineford's (1939) three classic scales (the file ships with the test suite):

    >>> from pathlib import Path
    >>> import pandas as pd
    >>> import evaluation
    >>> from evaluation.instruments.psychometrics import reliability
    >>> data_dir = Path(evaluation.__file__).parents[1] / "tests" / "data"
    >>> hs = pd.read_csv(data_dir / "holzinger_swineford_1939.csv")
    >>> scales = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...           "speed": ["x7", "x8", "x9"]}
    >>> res = reliability(hs, scales, n_boot=100, seed=1)
    >>> res[["score", "measure", "estimate", "n", "k"]].round(4)
         score                 measure  estimate    n  k
    0   visual        Cronbach's alpha    0.6261  301  3
    1   visual  McDonald's omega total    0.6326  301  3
    2  textual        Cronbach's alpha    0.8827  301  3
    3  textual  McDonald's omega total    0.8859  301  3
    4    speed        Cronbach's alpha    0.6885  301  3
    5    speed  McDonald's omega total    0.6961  301  3

    The textual values are the published ones (see :func:`mcdonald_omega`); in R,
    ``psych::alpha(HolzingerSwineford1939[c("x4", "x5", "x6")])`` gives raw_alpha 0.88.
    """
    func = "reliability"
    if not isinstance(items_by_scale, Mapping) or not items_by_scale:
        raise ParameterError(f"{func}: items_by_scale must be a non-empty dict of scale name "
                             f"to item columns, got {items_by_scale!r}.")
    parts = []
    for scale, items in items_by_scale.items():
        if isinstance(items, (str, bytes)) or not pd.api.types.is_list_like(items):
            raise ParameterError(f"{func}: the items of scale {scale!r} must be a list of "
                                 f"column names, got {items!r}.")
        try:
            alpha = cronbach_alpha(data, list(items), nan_policy=nan_policy,
                                   confidence=confidence)
            if len(items) >= 3:
                omega = mcdonald_omega(data, list(items), n_boot=n_boot, seed=seed,
                                       confidence=confidence)
            else:
                omega = measure_table([measure_row(
                    measure=OMEGA, scale="reliability", estimate=np.nan,
                    n=int(data[list(items)].notna().all(axis=1).sum()), k=len(items),
                    method="not estimated: a one-factor model needs at least 3 items",
                    ci_method="none")])
        except ParameterError as err:
            raise ParameterError(f"{func}: scale {scale!r}: {err.message}") from err
        alpha["method"] = "coefficient alpha from the item covariances (pingouin)"
        both = pd.concat([alpha, omega], ignore_index=True)
        both.insert(0, "score", scale)
        parts.append(both)
    out = pd.concat(parts, ignore_index=True)
    return out[["score", "measure", "scale", "estimate", "ci_low", "ci_high", "n", "note", "k",
                "method", "ci_method"]]
