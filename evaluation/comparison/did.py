"""Difference-in-differences: did the programme change things where it started?

* :func:`did` -- two-way fixed effects (unit and period) with cluster-robust and wild cluster
  bootstrap inference, the latter more reliable with few clusters;
* :func:`did_means` -- the textbook 2×2: the difference between two mean changes;
* event studies (a coefficient per period before and after the start, with a joint test of the
  pre-period ones) are in :mod:`.event_study`, the shared regression pieces in :mod:`.regression`.

Fits are pyfixest's ``feols`` (fixest's estimator and small-sample corrections). The wild
cluster bootstrap is this package's own
(:func:`~evaluation.comparison.panel.wild_cluster_bootstrap`): pyfixest, through the
wildboottest package, gives its p-value but no confidence interval, and the interval, found by
inverting the bootstrap test, is what a report shows. With staggered starts and effects that
change over time, use :mod:`evaluation.comparison.staggered` instead of :func:`did`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.comparison.panel import (binary_column, outcome_scale, require_columns,
                                         tail_alpha, wild_cluster_bootstrap)
from evaluation.comparison.regression import coefficient, did_work_frame, fit_feols
from evaluation.constraints import Interval, Options, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import ESTIMATE_COLUMNS, estimate_table

DID_COLUMNS = ESTIMATE_COLUMNS + ["se", "boot_p_value", "boot_ci_low", "boot_ci_high",
                                  "n_clusters", "n_treated_clusters", "se_method", "boot_method"]
"""The estimate contract's columns, then the SE, the wild bootstrap's p-value and interval and
the clusters (``n_exposed``: rows with ``D = 1``)."""
CONFIDENCE = Interval(0, 1, closed="neither")
REPLICATES = Interval(1, None, integral=True)
WEBB_BELOW = 12          # clusters: Webb's six-point weights below this, Rademacher from it on
MANY_CLUSTERS = 2000     # above this the bootstrap's G x G matrices cost more than it adds


@validate_params({"vcov": [Options({"cluster", "iid", "hetero"})],
                  "bootstrap": [Options({"wild"}), None], "n_boot": [REPLICATES],
                  "confidence": [CONFIDENCE], "unit_effects": ["boolean"]})
def did(data: pd.DataFrame, *, outcome: str, unit: str, period: str, treated: str, post: str,
        covariates=None, cluster: str | None = None, unit_effects: bool = True,
        vcov: str = "cluster", bootstrap: str | None = "wild", n_boot: int = 9999, seed: int = 0,
        confidence: float = 0.95) -> pd.DataFrame:
    """Difference-in-differences by two-way fixed effects: ``y ~ D + covariates | unit + period``.

    Parameters
    ----------
    data : pandas.DataFrame
        A row per respondent or per unit and period, e.g. from :func:`programme_panel`.
    outcome, unit, period : str
        Outcome, unit (its fixed effects) and period (its fixed effects) columns.
    treated, post : str
        0/1 columns: the unit takes part; the row is from the start on. ``D = treated × post``.
    covariates : list of str, optional
        Numeric columns as they are, text columns dummy-coded.
    cluster : str, optional
        Cluster column (default ``unit``). Units must be nested in clusters.
    unit_effects : bool
        False replaces the unit fixed effects by a ``treated`` dummy: the classic
        ``y ~ treated + period + D`` regression for repeated cross-sections without unit ids.
    vcov : {'cluster', 'iid', 'hetero'}
        Cluster-robust (CRV1, t with G − 1 df), classical OLS, or HC1 standard errors.
    bootstrap : {'wild', None}
        Wild cluster bootstrap (only with ``vcov='cluster'``).
    n_boot, seed : int
        Bootstrap replications and seed. With few clusters every weight vector is enumerated.
    confidence : float
        Level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row, columns :data:`DID_COLUMNS`; ``estimand`` 'ATT', ``scale`` 'risk difference'
        for a 0/1 outcome (linear probability model) or 'mean difference'.

    Notes
    -----
    The coefficient of ``D`` is the ATT when trends would have been parallel without the
    programme and the start is the same for every treated unit (or effects do not change
    over time). The wild cluster bootstrap is the restricted one (WCR; null imposed, bootstrap-t,
    Cameron, Gelbach & Miller 2008) with Webb's six-point weights below 12 clusters and
    Rademacher weights otherwise; when the weights can be enumerated (2^G or 6^G ≤ ``n_boot``)
    they are. Its p-value tests ``D = 0``; its interval is every value the test does not reject
    (test inversion, as Stata's ``boottest`` and R's ``fwildclusterboot``). With few *treated*
    clusters every cluster-based method is unreliable (MacKinnon & Webb 2017); the note says so.

    Tested against Card & Krueger (1994): ``fte ~ nj + d + d_nj`` gives 2.7536 (OLS SE 1.6884)
    with ``unit_effects=False, vcov='iid'``; with store effects, 2.75 as their Table 3. The
    bootstrap was tested against a brute-force refit for each of the 2^G Rademacher weight
    vectors, and agreed with pyfixest's ``wildboottest`` up to the two draws equal to the sample
    (|t*| = |t|), which that counts or not by rounding.

    In R: ``fixest::feols(y ~ D | unit + period, cluster = ~unit)``, then
    ``fwildclusterboot::boottest(fit, param = "D", clustid = ~unit, B = 9999, type = "webb")``.

    References
    ----------
    Cameron AC, Gelbach JB, Miller DL (2008). Bootstrap-based improvements for inference with
    clustered errors. Review of Economics and Statistics 90: 414-427.

    MacKinnon JG, Webb MD (2017). Wild bootstrap inference for wildly different cluster sizes.
    Journal of Applied Econometrics 32: 233-254.

    Webb MD (2023). Reworking wild bootstrap-based inference for clustered errors. Canadian
    Journal of Economics 56: 839-858.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"unit": list("aaaabbbb"), "period": [0, 0, 1, 1] * 2,
    ...                      "treated": [1] * 4 + [0] * 4, "post": [0, 0, 1, 1] * 2,
    ...                      "y": [9.0, 11, 13, 15, 8, 10, 9, 11]})
    >>> res = did(rows, outcome="y", unit="unit", period="period", treated="treated",
    ...           post="post", vcov="iid", bootstrap=None)
    >>> res[["estimate", "se", "n"]].round(4).to_dict("records")
    [{'estimate': 3.0, 'se': 2.0, 'n': 8}]
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    cluster = cluster or unit
    work, n_left = did_work_frame(data, outcome, unit, period, treated, post, covariates, cluster)
    if not (work["_D"] == 1).any():
        raise ParameterError(f"No row has {treated}=1 and {post}=1: there is no treated period "
                             "to estimate an effect for.")
    if not (work["_T"] == 0).any():
        raise ParameterError(f"No row has {treated}=0: a DiD needs comparison units.")
    xcols = [c for c in work.columns if c.startswith("_x")]
    rhs = " + ".join(["_D"] + ([] if unit_effects else ["_T"]) + xcols)
    fml = f"_y ~ {rhs} | " + ("_u + _t" if unit_effects else "_t")
    spec = {"cluster": {"CRV1": "_c"}, "iid": "iid", "hetero": "hetero"}[vcov]
    est, se, p, lo, hi = coefficient(fit_feols(fml, work, spec), "_D", confidence)
    n_clusters = work["_c"].nunique()
    n_treated = work.loc[work["_D"] == 1, "_c"].nunique()
    n_comparison = work.loc[work["_T"] == 0, "_c"].nunique()
    notes = [f"{n_left} row(s) with missing values left out"] if n_left else []
    se_method = {"cluster": f"CRV1 (clusters: {cluster}), t({n_clusters - 1})",
                 "iid": "OLS", "hetero": "HC1"}[vcov]
    boot = (np.nan, np.nan, np.nan)
    boot_method = ""
    if vcov == "cluster" and (n_comparison < 2 or n_treated < 1 or n_clusters < 3):
        se = lo = hi = p = np.nan
        notes.append(f"{n_comparison} comparison and {n_treated} treated cluster(s): the estimate "
                     "can be computed but cluster-robust inference cannot (no interval); a "
                     "placebo test on earlier periods is the check that remains")
    elif vcov == "cluster" and bootstrap == "wild":
        if unit_effects and work.groupby("_u")["_c"].nunique().max() > 1:
            notes.append("no wild bootstrap: units are not nested in clusters")
        elif n_clusters > MANY_CLUSTERS:
            notes.append(f"no wild bootstrap: with {n_clusters} clusters the cluster-robust "
                         "interval is reliable and the bootstrap would be slow")
        else:
            weights = "webb" if n_clusters < WEBB_BELOW else "rademacher"
            boot, used = wild_cluster_bootstrap(work, xcols + ([] if unit_effects else ["_T"]),
                                                unit_effects=unit_effects, n_boot=n_boot,
                                                seed=seed, confidence=confidence,
                                                weights=weights)
            every = (6 if weights == "webb" else 2) ** n_clusters == used
            boot_method = (f"wild cluster bootstrap-t, null imposed (WCR), {weights} weights, "
                           f"{used} draws{' (all)' if every else ''}; CI by test inversion")
            if not np.all(np.isfinite(boot[1:])):
                notes.append("the bootstrap interval is unbounded: too few clusters to exclude "
                             "any effect size at this level")
    if vcov == "cluster" and n_treated < 5:
        notes.append(f"only {n_treated} treated cluster(s): cluster-robust and bootstrap "
                     "inference are unreliable with so few (MacKinnon & Webb 2017)")
    method = ("DiD, two-way fixed effects (unit and period)" if unit_effects
              else "DiD, treated-group and period effects")
    return estimate_table([{
        "outcome": outcome, "method": method, "estimand": "ATT", "scale": outcome_scale(work["_y"]),
        "estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p,
        "boot_p_value": boot[0], "boot_ci_low": boot[1], "boot_ci_high": boot[2],
        "n": len(work), "n_exposed": int((work["_D"] == 1).sum()), "n_clusters": n_clusters,
        "n_treated_clusters": n_treated, "se_method": se_method, "boot_method": boot_method,
        "note": "; ".join(notes)}], extra=DID_COLUMNS[len(ESTIMATE_COLUMNS):])


@validate_params({"confidence": [CONFIDENCE]})
def did_means(data: pd.DataFrame, *, outcome: str, treated: str, post: str, unit: str | None = None,
              confidence: float = 0.95) -> pd.DataFrame:
    """The textbook 2×2 difference-in-differences: the difference between two mean changes.

    Parameters
    ----------
    data : pandas.DataFrame
        Rows of two groups (``treated`` 0/1) in two periods (``post`` 0/1).
    outcome, treated, post : str
        Columns.
    unit : str, optional
        Unit identifier of a panel. Given: each unit's change (mean after − mean before) is
        compared between the groups, from units seen in both periods. Not given: the four cell
        means are taken as independent samples (repeated cross-sections).
    confidence : float
        Level of the interval.

    Returns
    -------
    pandas.DataFrame
        One row of an estimate table: ``estimate = (ȳ₁₁ − ȳ₁₀) − (ȳ₀₁ − ȳ₀₀)``, a t interval
        with Welch–Satterthwaite degrees of freedom, ``n`` (rows or units), ``n_exposed`` (those
        of the treated group), then its ``se`` and the four
        means (``mean_treated_pre`` ...).

    Notes
    -----
    Panel: SE² = s²₁/n₁ + s²₀/n₀ of the unit changes (Welch). Cross-sections: SE² is the sum of
    s²/n over the four cells. Tested against Card & Krueger (1994), Table 3: New Jersey minus
    Pennsylvania change in FTE employment in the balanced sample of 384 stores, 2.75 (SE 1.34).

    In R: ``t.test(change ~ nj, data = balanced)`` (the panel case, with the sign reversed).

    References
    ----------
    Card D, Krueger AB (1994). Minimum wages and employment: a case study of the fast-food
    industry in New Jersey and Pennsylvania. American Economic Review 84: 772-793.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.DataFrame({"g": [1, 1, 1, 1, 0, 0, 0, 0], "after": [0, 0, 1, 1] * 2,
    ...                       "y": [10, 12, 15, 15, 9, 11, 10, 12]})
    >>> res = did_means(cells, outcome="y", treated="g", post="after")
    >>> res[["estimate", "se"]].round(4).to_dict("records")
    [{'estimate': 3.0, 'se': 1.7321}]
    """
    require_columns(data, [outcome, treated, post, unit], what="data")
    used = [c for c in (outcome, treated, post, unit) if c]
    df = data[used].dropna()
    df = df.assign(**{treated: binary_column(df[treated], treated), post: binary_column(df[post], post)})
    cells = df.groupby([treated, post])[outcome]
    if cells.ngroups < 4 or (cells.size() < 2).any():
        raise ParameterError("did_means needs at least two rows in each of the four cells "
                             f"({treated} × {post}); it found {cells.size().to_dict()}.")
    if unit is None:
        means = cells.mean()
        sizes = cells.size()
        var = cells.var() / sizes
        n, n_exposed, what = len(df), int((df[treated] == 1).sum()), "four independent cell means"
    else:
        by_unit = df.groupby([unit, post])[outcome].mean().unstack(post).dropna()
        groups = df.groupby(unit)[treated].first().loc[by_unit.index]
        if groups.nunique() < 2 or groups.value_counts().min() < 2:
            raise ParameterError("did_means with unit= needs at least two units in each group "
                                 "seen both before and after.")
        means = by_unit.groupby(groups).mean().stack()          # (treated, post) -> mean
        change = (by_unit[1] - by_unit[0]).groupby(groups)
        sizes = change.size()
        var = change.var() / sizes
        n, n_exposed = len(by_unit), int(change.size()[1])
        what = f"unit changes; {df[unit].nunique() - n} unit(s) seen in one period only left out"
    se = float(np.sqrt(var.sum()))
    dof = float(var.sum() ** 2 / (var ** 2 / (sizes - 1)).sum())   # Welch–Satterthwaite
    est = float((means[1, 1] - means[1, 0]) - (means[0, 1] - means[0, 0]))
    t = stats.t.ppf(1 - tail_alpha(confidence) / 2, dof)
    return estimate_table([{
        "outcome": outcome, "method": "DiD, difference of mean changes (2×2)", "estimand": "ATT",
        "scale": outcome_scale(df[outcome]), "estimate": est, "se": se,
        "ci_low": est - t * se, "ci_high": est + t * se,
        "p_value": float(2 * stats.t.sf(abs(est / se), dof)) if se > 0 else np.nan,
        "n": n, "n_exposed": n_exposed,
        "mean_treated_pre": float(means[1, 0]), "mean_treated_post": float(means[1, 1]),
        "mean_comparison_pre": float(means[0, 0]), "mean_comparison_post": float(means[0, 1]),
        "se_method": f"Welch ({what}), t({dof:.1f})", "note": ""}], extra=["se"])
