"""Comparing institutions without ranking noise: funnel plots and shrunken institution effects.

A league table of raw rates puts the smallest institutions at both ends by chance alone. A funnel
plot (Spiegelhalter 2005) draws each institution's rate against its size with control limits
around the overall rate, so only departures larger than chance stand out; a random-intercept
model pulls each institution's effect toward the mean by as much as its size leaves it uncertain
(the BLUP), which is what a ranking should rest on.

References
----------
Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance. Statistics in
Medicine 24(8):1185-1202.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.constraints import Interval, Options, require_frame, validate_params
from evaluation.describe import proportion_ci
from evaluation.errors import ParameterError
from evaluation.estimates import as_measure_table

FLAG_INSIDE = "inside"


def _level_name(level: float) -> str:
    """0.95 -> '95', 0.998 -> '99_8': a column-name-safe percentage."""
    return f"{level * 100:g}".replace(".", "_")


def binomial_limits(n, p0: float, level: float, *, method: str = "exact"):
    """Lower and upper funnel limits for a proportion at sample size(s) ``n``.

    ``method="exact"``: the binomial quantiles with Spiegelhalter's (2005, appendix)
    interpolation, which makes the limit a smooth curve in n: for the tail probability q
    (0.025 and 0.975 for 95 % limits), r is the smallest count with :math:`F(r) \\ge q`
    (``scipy.stats.binom.ppf``), :math:`\\alpha = (F(r) - q) / (F(r) - F(r - 1))` and the limit
    is :math:`(r - \\alpha) / n`. ``method="normal"``: :math:`p_0 \\pm z\\sqrt{p_0(1-p_0)/n}`.

    Examples
    --------
    >>> lo, hi = binomial_limits(100, 0.3, 0.95)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2069, 0.3869)
    >>> lo, hi = binomial_limits(100, 0.3, 0.95, method="normal")
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2102, 0.3898)
    """
    n = np.asarray(n, dtype=float)
    if method == "normal":
        half = stats.norm.ppf(1 - (1 - level) / 2) * np.sqrt(p0 * (1 - p0) / n)
        return p0 - half, p0 + half
    if method != "exact":
        raise ParameterError(f"method must be 'exact' or 'normal', got {method!r}.")
    out = []
    for q in ((1 - level) / 2, 1 - (1 - level) / 2):
        r = stats.binom.ppf(q, n, p0)
        f_r, f_below = stats.binom.cdf(r, n, p0), stats.binom.cdf(r - 1, n, p0)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(f_r > f_below, (f_r - q) / (f_r - f_below), 0.0)
        out.append(np.clip((r - alpha) / n, 0, 1))
    return out[0], out[1]


def _flags(estimate, limits: dict) -> list[str]:
    """The widest limit each point lies outside of ('outside 99.8%'), or 'inside'."""
    flags = []
    for i, est in enumerate(estimate):
        flag = FLAG_INSIDE
        for level in sorted(limits):
            lo, hi = limits[level]
            if np.isfinite(est) and (est < lo[i] or est > hi[i]):
                flag = f"outside {level * 100:g}%"
        flags.append(flag)
    return flags


def funnel_data(data: pd.DataFrame, *, unit: str, successes: str | None = None,
                n: str | None = None, outcome: str | None = None, target: float | None = None,
                limits=(0.95, 0.998), estimate: str | None = None, se: str | None = None,
                sd: float | None = None, method: str = "exact", grid: int = 200):
    """Points and control limits of a funnel plot, for a proportion or a mean per unit.

    Three ways in:

    * person rows: ``outcome`` a 0/1 column (a proportion, such as IP coverage) or a numeric
      one (a mean), grouped by ``unit``;
    * unit rows with counts: ``successes`` and ``n`` (a proportion);
    * unit rows with an adjusted mean: ``estimate`` and ``n``, with ``se`` (a column) or
      ``sd`` (one number); use this for model-adjusted outcomes.

    Parameters
    ----------
    target : float, optional
        The proportion or mean the limits are drawn around; default the overall one (pooled
        over persons).
    limits : tuple of float
        Control-limit levels; Spiegelhalter's 95 % and 99.8 % (about 2 and 3 SD).
    method : {'exact', 'normal'}
        For a proportion: exact binomial limits with Spiegelhalter's interpolation
        (:func:`binomial_limits`) or the normal approximation. Means always use the normal.

    Returns
    -------
    points : DataFrame
        A measure table, a row per unit: ``unit``, ``measure`` ("proportion" or "mean"),
        ``scale``, ``estimate``, ``ci_low``, ``ci_high`` (Wilson for a proportion, estimate ±
        z·SE for a mean), ``n``, ``note``, ``count`` (proportions), ``target``, ``z``
        (standardised distance from the target), ``lower_<level>``/``upper_<level>`` at the
        unit's n (``lower_95``, ``upper_99_8``), ``flag`` ('inside', 'outside 95%', 'outside
        99.8%'), ``direction`` ('above'/'below'), ``kind``, ``method``.
    limits : DataFrame
        The limit curves on a grid of n (long: ``n``, ``level``, ``lower``, ``upper``,
        ``target``, ``kind``).

    Notes
    -----
    Limits for a mean are :math:`\\theta_0 \\pm z\\,\\sigma/\\sqrt{n}`. With person rows
    σ is the pooled within-unit SD; with unit rows and ``se`` each unit is flagged against its
    own ± z·SE and the curve uses :math:`\\hat\\sigma = \\sqrt{\\operatorname{mean}(SE_i^2 n_i)}`.
    No allowance for over-dispersion is made (Spiegelhalter 2005 discusses one): with many
    units outside the 99.8 % limits, suspect it before suspecting the units.

    Examples
    --------
    >>> counts = pd.DataFrame({"site": ["a", "b", "c"], "with_ip": [20, 12, 40],
    ...                        "persons": [100, 20, 400]})
    >>> points, curves = funnel_data(counts, unit="site", successes="with_ip", n="persons")
    >>> points[["unit", "n", "estimate", "target", "flag", "direction"]].round(3)
      unit    n  estimate  target           flag direction
    0    a  100       0.2   0.138         inside     above
    1    b   20       0.6   0.138  outside 99.8%     above
    2    c  400       0.1   0.138    outside 95%     below
    """
    func = "funnel_data"
    limits = tuple(sorted(float(x) for x in limits))
    if not limits or any(not 0 < x < 1 for x in limits):
        raise ParameterError(f"{func}: limits must be levels between 0 and 1, got {limits}.")
    require_frame(data, [unit, successes, n, outcome, estimate, se], func)
    modes = [outcome is not None, successes is not None, estimate is not None]
    if sum(modes) != 1:
        raise ParameterError(f"{func}: give exactly one of outcome= (person rows), successes= "
                             f"with n= (counts per unit) or estimate= with n= (means per unit).")
    if outcome is not None:
        y = pd.to_numeric(data[outcome], errors="coerce")
        frame = pd.DataFrame({"unit": data[unit], "y": y}).dropna()
        kind = "proportion" if frame["y"].isin([0, 1]).all() else "mean"
        g = frame.groupby("unit", observed=True, sort=True)["y"]
        per = g.agg(n="size", count="sum", estimate="mean", var="var").reset_index()
        if kind == "mean":
            pooled = ((per["n"] - 1) * per["var"].fillna(0)).sum() / max((per["n"] - 1).sum(), 1)
            sigma = sd if sd is not None else float(np.sqrt(pooled))
            per["se"] = sigma / np.sqrt(per["n"])
            overall = frame["y"].mean()
        else:
            overall = per["count"].sum() / per["n"].sum()
    elif successes is not None:
        if n is None:
            raise ParameterError(f"{func}: successes= needs n= (people per unit).")
        per = pd.DataFrame({"unit": data[unit], "count": pd.to_numeric(data[successes]),
                            "n": pd.to_numeric(data[n])})
        bad = per[(per["count"] < 0) | (per["count"] > per["n"]) | (per["n"] <= 0)]
        if len(bad):
            raise ParameterError(f"{func}: unit {bad['unit'].iloc[0]!r} has {successes}="
                                 f"{bad['count'].iloc[0]} of {n}={bad['n'].iloc[0]}; expected "
                                 f"0 <= {successes} <= {n} and {n} > 0.")
        per["estimate"] = per["count"] / per["n"]
        kind, overall = "proportion", per["count"].sum() / per["n"].sum()
    else:
        if n is None or (se is None and sd is None):
            raise ParameterError(f"{func}: estimate= needs n= and either se= (column) or sd=.")
        per = pd.DataFrame({"unit": data[unit], "estimate": pd.to_numeric(data[estimate]),
                            "n": pd.to_numeric(data[n])})
        per["se"] = (pd.to_numeric(data[se]) if se is not None else sd / np.sqrt(per["n"]))
        sigma = sd if sd is not None else float(np.sqrt((per["se"] ** 2 * per["n"]).mean()))
        kind = "mean"
        overall = float(np.average(per["estimate"], weights=per["n"]))
    per = per.reset_index(drop=True)
    if kind == "proportion":
        per["count"] = per["count"].astype(int)
    target = overall if target is None else float(target)
    sizes = per["n"].to_numpy(dtype=float)
    grid_n = np.unique(np.round(np.geomspace(max(1, sizes.min() / 2), sizes.max() * 1.2, grid)))
    if kind == "proportion":
        if not 0 < target < 1:
            raise ParameterError(f"{func}: target proportion must be strictly between 0 and 1; "
                                 f"got {target}.")
        per["ci_low"], per["ci_high"] = proportion_ci(per["count"], per["n"])
        per["z"] = (per["estimate"] - target) / np.sqrt(target * (1 - target) / per["n"])
        at_unit = {lv: binomial_limits(sizes, target, lv, method=method) for lv in limits}
        curves = {lv: binomial_limits(grid_n, target, lv, method=method) for lv in limits}
        how = ("exact binomial limits, Spiegelhalter (2005) interpolation" if method == "exact"
               else "normal-approximation binomial limits")
    else:
        zq = {lv: stats.norm.ppf(1 - (1 - lv) / 2) for lv in limits}
        half = stats.norm.ppf(0.975) * per["se"]
        per["ci_low"], per["ci_high"] = per["estimate"] - half, per["estimate"] + half
        per["z"] = (per["estimate"] - target) / per["se"]
        at_unit = {lv: (target - zq[lv] * per["se"].to_numpy(), target + zq[lv] * per["se"].to_numpy())
                   for lv in limits}
        curves = {lv: (target - zq[lv] * sigma / np.sqrt(grid_n),
                       target + zq[lv] * sigma / np.sqrt(grid_n)) for lv in limits}
        how = f"normal limits, target ± z·σ/√n (σ = {sigma:.4g})"
    per["target"] = target
    for lv in limits:
        per[f"lower_{_level_name(lv)}"], per[f"upper_{_level_name(lv)}"] = at_unit[lv]
    per["flag"] = _flags(per["estimate"].to_numpy(dtype=float), at_unit)
    per["direction"] = np.where(per["estimate"] >= target, "above", "below")
    per["kind"], per["method"] = kind, how
    if "n" in per and (per["n"] % 1 == 0).all():
        per["n"] = per["n"].astype(int)
    per["measure"], per["scale"], per["note"] = kind, kind, ""
    first = ["unit", "measure", "scale", "estimate", "ci_low", "ci_high", "n", "note"] + \
        (["count"] if kind == "proportion" else [])
    cols = first + ["target", "z"] + \
        [c for c in per.columns if c.startswith(("lower_", "upper_"))] + \
        ["flag", "direction", "kind", "method"]
    curve_rows = pd.concat([pd.DataFrame({"n": grid_n, "level": lv, "lower": lo, "upper": hi})
                            for lv, (lo, hi) in curves.items()], ignore_index=True)
    curve_rows["target"], curve_rows["kind"] = target, kind
    return as_measure_table(per[cols], keys=["unit"]), curve_rows


@validate_params({"confidence": [Interval(0, 1, closed="neither")],
                  "higher_is_better": ["boolean"]})
def shrunken_effects(data: pd.DataFrame, *, outcome: str, unit: str, covariates=None,
                     higher_is_better: bool = True, confidence: float = 0.95) -> pd.DataFrame:
    """Institution effects from a random-intercept model: shrunken (BLUP) beside raw, with
    prediction intervals, shrinkage and rank.

    Parameters
    ----------
    outcome : str
        Numeric outcome column (person rows); a 0/1 outcome gives a linear probability model.
    unit : str
        Institution column (the random intercept).
    covariates : list of str, optional
        Case-mix adjustment; numeric columns linear, others categorical (``C()``).
    higher_is_better : bool
        Rank 1 is the best unit: the highest effect, or the lowest when False (daily chaos).

    Returns
    -------
    DataFrame, a measure table with a row per unit sorted by rank: ``unit``, ``measure``
    ("institution effect (BLUP)"), ``scale``, ``estimate`` (the BLUP of the random
    intercept), ``ci_low``, ``ci_high`` (its conditional prediction interval, estimate ±
    z·se), ``n``, ``note``, then ``raw_mean`` (the unit's mean outcome), ``raw_effect`` (its
    mean residual from the fixed part: the unshrunken effect), ``se`` (conditional SD),
    ``shrinkage``, ``rank``, ``outcome``, ``sigma_u2``, ``sigma2``, ``method``.

    Notes
    -----
    :math:`y_{ij} = x_{ij}'\\beta + u_j + e_{ij}`, :math:`u_j \\sim N(0, \\sigma_u^2)`, fitted
    by REML (statsmodels ``MixedLM``; in R ``lme4::lmer(y ~ x + (1 | unit))`` with
    ``ranef(fit, condVar = TRUE)``). The BLUP is :math:`\\hat u_j = B_j \\bar r_j` with
    :math:`\\bar r_j` the unit's mean residual and
    :math:`B_j = \\sigma_u^2 / (\\sigma_u^2 + \\sigma^2 / n_j)`; ``shrinkage`` is
    :math:`1 - B_j`, the share of the raw effect pulled toward 0, largest for small units. The
    conditional SD (statsmodels ``random_effects_cov``) treats β and the variances as known, so
    the intervals are slightly narrow with few units.

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> sizes = [5, 20, 40, 80, 160]
    >>> site = np.repeat(list("abcde"), sizes)
    >>> u = dict(zip("abcde", [2.0, -1.0, 0.5, 0.0, -1.5]))
    >>> y = 10 + np.array([u[s] for s in site]) + rng.normal(0, 3, len(site))
    >>> res = shrunken_effects(pd.DataFrame({"y": y, "site": site}), outcome="y", unit="site")
    >>> res[["unit", "n", "estimate", "shrinkage", "rank"]].round(2)
      unit    n  estimate  shrinkage  rank
    0    a    5      0.56       0.73     1
    1    c   40      0.46       0.26     2
    2    d   80      0.34       0.15     3
    3    b   20     -0.55       0.41     4
    4    e  160     -0.80       0.08     5
    """
    import statsmodels.formula.api as smf
    func = "shrunken_effects"
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    require_frame(data, [outcome, unit, *covariates], func)
    frame = pd.DataFrame({"y": pd.to_numeric(data[outcome], errors="coerce"), "g": data[unit]})
    terms = []
    for i, c in enumerate(covariates):
        s = data[c]
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        frame[f"x{i}"] = s.astype(float) if numeric else s.astype("object")
        terms.append(f"x{i}" if numeric else f"C(x{i})")
    frame = frame.dropna()
    if frame["g"].nunique() < 2:
        raise ParameterError(f"{func}: needs two or more units in {unit!r} with complete rows; "
                             f"found {frame['g'].nunique()}.")
    formula = "y ~ " + (" + ".join(terms) if terms else "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = smf.mixedlm(formula, frame, groups=frame["g"]).fit(reml=True)
    sigma_u2, sigma2 = float(fit.cov_re.iloc[0, 0]), float(fit.scale)
    residual = frame["y"] - fit.model.exog @ fit.fe_params.to_numpy()
    per = frame.assign(_r=residual).groupby("g", observed=True, sort=True).agg(
        n=("y", "size"), raw_mean=("y", "mean"), raw_effect=("_r", "mean")).reset_index()
    per = per.rename(columns={"g": "unit"})
    blup = {k: float(v.iloc[0]) for k, v in fit.random_effects.items()}
    cond = {k: float(np.asarray(v)[0, 0]) for k, v in fit.random_effects_cov.items()}
    per["estimate"] = per["unit"].map(blup)
    per["se"] = np.sqrt(per["unit"].map(cond))
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    per["ci_low"], per["ci_high"] = per["estimate"] - z * per["se"], per["estimate"] + z * per["se"]
    reliability = sigma_u2 / (sigma_u2 + sigma2 / per["n"]) if sigma_u2 > 0 else 0.0 * per["n"]
    per["shrinkage"] = 1 - reliability
    per["rank"] = per["estimate"].rank(ascending=not higher_is_better, method="min").astype(int)
    per["outcome"], per["sigma_u2"], per["sigma2"] = outcome, sigma_u2, sigma2
    notes = sorted({str(w.message).splitlines()[0] for w in caught
                    if not issubclass(w.category, DeprecationWarning)})
    per["method"] = ("random-intercept linear mixed model (REML, statsmodels MixedLM); BLUPs "
                     f"with conditional {confidence:.0%} prediction intervals"
                     + (f"; adjusted for {', '.join(covariates)}" if covariates else "")
                     + (f"; {'; '.join(notes)}" if notes else ""))
    per["measure"] = "institution effect (BLUP)"
    per["scale"] = "mean difference (from the overall mean)"
    per = as_measure_table(per, keys=["unit"])
    return per.sort_values(["rank", "unit"], kind="stable").reset_index(drop=True)
