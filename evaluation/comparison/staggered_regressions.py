"""Staggered adoption by regression: Gardner's two-stage DiD, the naive two-way fixed-effects
regression it is contrasted with, and :func:`compare_staggered`, the overall ATT three ways
(with Callaway & Sant'Anna's from :mod:`.staggered`).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from evaluation.comparison.panel import outcome_scale, require_columns, tail_alpha
from evaluation.comparison.staggered import (CONFIDENCE, STAGGERED_COLUMNS, STAGGERED_EXTRA,
                                             staggered_att)
from evaluation.constraints import validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import estimate_table

TWFE_WARNING = ("biased under staggered adoption when effects change with time since the start "
                "or differ between cohorts: earlier adopters serve as controls for later ones "
                "(Goodman-Bacon 2021)")


def _regression_frame(data, outcome, unit, period, cohort, cluster):
    require_columns(data, [outcome, unit, period, cohort, cluster], what="data")
    df = data.dropna(subset=[outcome, unit, period] + ([cluster] if cluster else []))
    periods = pd.Index(np.sort(df[period].unique()))
    g = periods.get_indexer(df[cohort].where(df[cohort].notna(), periods[0]))
    if (df[cohort].notna() & (g < 0)).any():
        raise ParameterError(f"a value of {cohort!r} is not one of the periods in {period!r}.")
    t = periods.get_indexer(df[period])
    work = pd.DataFrame({"_y": df[outcome].to_numpy(float), "_u": pd.factorize(df[unit])[0],
                         "_t": t, "_D": (df[cohort].notna().to_numpy() & (t >= g)).astype(int),
                         "_c": np.arange(len(df)) if cluster is None else pd.factorize(df[cluster])[0]})
    always = work.groupby("_u")["_D"].min()
    if (always == 1).any():
        name = df[unit].iloc[np.flatnonzero(work["_u"] == always.index[always == 1][0])[0]]
        raise ParameterError(f"{name!r} is treated in every period it has data: with no period "
                             "before its start, parallel trends can be neither checked nor "
                             f"assumed; the DiD is not identified for {name!r}.")
    return work


@validate_params({"confidence": [CONFIDENCE]})
def two_stage_did(data: pd.DataFrame, *, outcome: str, unit: str, period: str, cohort: str,
                  cluster: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Gardner's two-stage DiD (pyfixest ``did2s``): the ATT over treated rows, one row.

    Stage 1 fits ``y ~ unit + period`` effects on the untreated rows (never-treated units and
    treated units before their start); stage 2 regresses the residuals on ``D``. Valid under
    staggered adoption with heterogeneous effects, like Borusyak, Jaravel & Spiess's imputation
    estimator; it uses every pre-period, so it is less noisy than :func:`staggered_att` when
    the errors are independent. SEs account for the first stage (GMM, clustered by ``cluster``,
    default: each row). In R: ``did2s::did2s(data, yname, first_stage = ~ 0 | unit + period,
    second_stage = ~ i(D), treatment = "D", cluster_var)``.

    References
    ----------
    Gardner J (2022). Two-stage differences in differences. arXiv:2207.05943.
    """
    import pyfixest as pf
    work = _regression_frame(data, outcome, unit, period, cohort, cluster)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.did2s(work, yname="_y", first_stage="~ 0 | _u + _t", second_stage="~ _D",
                       treatment="_D", cluster="_c")
    return _fit_row(fit, work, outcome, "two-stage DiD (Gardner 2022)", confidence, "",
                    f"GMM with the first stage, clusters: {cluster or 'each row'}")


@validate_params({"confidence": [CONFIDENCE]})
def naive_twfe(data: pd.DataFrame, *, outcome: str, unit: str, period: str, cohort: str,
               cluster: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """``y ~ D | unit + period``: for contrast only, labelled as biased under staggered adoption.

    The coefficient is a weighted average of all 2×2 comparisons, including 'forbidden' ones
    that use already-treated units as controls; when effects grow after the start it is pulled
    towards zero (Goodman-Bacon 2021). SEs clustered by ``cluster`` (default: HC1 per row).
    """
    import pyfixest as pf
    work = _regression_frame(data, outcome, unit, period, cohort, cluster)
    vcov = "hetero" if cluster is None else {"CRV1": "_c"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("_y ~ _D | _u + _t", data=work, vcov=vcov, fixef_rm="none")
    return _fit_row(fit, work, outcome, "naive two-way fixed effects", confidence, TWFE_WARNING,
                    f"CRV1, clusters: {cluster}" if cluster else "HC1")


def _fit_row(fit, work, outcome, method, confidence, note, se_method):
    lo, hi = (float(v) for v in fit.confint(alpha=tail_alpha(confidence)).loc["_D"])
    row = dict.fromkeys(STAGGERED_COLUMNS)
    row.update(outcome=outcome, method=method, estimand="ATT", aggregation="overall",
               event_time=np.nan, scale=outcome_scale(work["_y"]),
               estimate=float(fit.coef()["_D"]), se=float(fit.se()["_D"]), ci_low=lo, ci_high=hi,
               p_value=float(fit.pvalue()["_D"]), n=len(work), n_exposed=int(work["_D"].sum()),
               se_method=se_method, note=note)
    return estimate_table([row], extra=STAGGERED_EXTRA)


def compare_staggered(data: pd.DataFrame, *, outcome: str, unit: str, period: str, cohort: str,
                      control: str = "never_treated", cluster: str | None = None,
                      n_boot: int = 999, seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """The overall ATT three ways: Callaway–Sant'Anna, two-stage, and the naive TWFE (biased).

    Parameters are those of :func:`staggered_att`; returns three rows with the columns
    :data:`STAGGERED_COLUMNS`.

    Examples
    --------
    Two cohorts whose effect grows by 2 each period after the start; no noise. The true ATT
    over the treated rows is (2 + 4 + 6 + 2 + 4) / 5 = 3.6:

    >>> import pandas as pd
    >>> rows = [(u, t, g, 5.0 + u + 0.5 * t + (2.0 * (t - g + 1) if g is not None and t >= g else 0))
    ...         for u, g in [(0, 2), (1, 3), (2, None), (3, None)] for t in range(5) for _ in range(3)]
    >>> df = pd.DataFrame(rows, columns=["unit", "t", "g", "y"])
    >>> res = compare_staggered(df, outcome="y", unit="unit", period="t", cohort="g", n_boot=99)
    >>> res["estimate"].round(4).tolist()
    [3.6, 3.6, 3.1429]
    """
    args = dict(outcome=outcome, unit=unit, period=period, cohort=cohort, cluster=cluster,
                confidence=confidence)
    return pd.concat([staggered_att(data, control=control, aggregation="overall", n_boot=n_boot,
                                    seed=seed, **args),
                      two_stage_did(data, **args), naive_twfe(data, **args)], ignore_index=True)
