"""Staggered adoption: units start at different times, and effects may grow after the start.

A two-way fixed-effects regression on ``D`` then compares later adopters with earlier ones whose
effect is still changing, and is biased, even in sign (Goodman-Bacon 2021). Two valid estimators:

* :func:`group_time_att` and :func:`staggered_att` -- Callaway & Sant'Anna (2021): an ATT(g, t)
  for each cohort g (units that started in period g) and period t, a 2×2 DiD of cell means
  against never-treated (or not-yet-treated) units with base period g − 1, aggregated over
  cohorts and periods, or by time since the start; unconditional (no covariates);
* :func:`~evaluation.comparison.staggered_regressions.two_stage_did` -- Gardner's two-stage DiD (pyfixest's ``did2s``): unit and period
  effects fitted on the untreated rows, then the treated rows' mean residual;

and :func:`~evaluation.comparison.staggered_regressions.naive_twfe`, the regression to contrast
them with; :func:`~evaluation.comparison.staggered_regressions.compare_staggered` stacks the
three overall estimates in one table. The two regressions are in :mod:`.staggered_regressions`. Every function takes a row per respondent (repeated
cross-sections) or per unit and period, with a ``cohort`` column (the start period; missing for
never-treated units) such as :func:`evaluation.comparison.panel.programme_panel` makes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.comparison.panel import outcome_scale, require_columns, tail_alpha
from evaluation.constraints import Interval, Options, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import ESTIMATE_COLUMNS, estimate_table

STAGGERED_EXTRA = ["aggregation", "cohort", "period", "event_time", "se", "se_method"]
STAGGERED_COLUMNS = ESTIMATE_COLUMNS + STAGGERED_EXTRA
"""The estimate contract's columns, then which aggregate a row is, its SE and how it was found
(``n_exposed``: treated rows from the start on)."""
CONTROLS = ("never_treated", "not_yet_treated")
AGGREGATIONS = ("overall", "event_time", "cohort")
CONFIDENCE = Interval(0, 1, closed="neither")
REPLICATES = Interval(1, None, integral=True)


@validate_params({"control": [Options(CONTROLS)], "n_boot": [REPLICATES],
                  "confidence": [CONFIDENCE]})
def group_time_att(data: pd.DataFrame, *, outcome: str, unit: str, period: str, cohort: str,
                   control: str = "never_treated", cluster: str | None = None, n_boot: int = 999,
                   seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """ATT(g, t) for every cohort g and period t: a 2×2 DiD of cell means.

    Parameters
    ----------
    data : pandas.DataFrame
        A row per respondent (or per unit and period).
    outcome, unit, period : str
        Columns.
    cohort : str
        The period in which the unit started (a value of ``period``); missing = never treated.
    control : {'never_treated', 'not_yet_treated'}
        Comparison units: never treated, or also those that start after both t and g − 1.
    cluster : str, optional
        Level of the multiplier bootstrap. Default: each row (as Callaway & Sant'Anna for
        repeated cross-sections); give ``unit`` to allow for unit-by-period shocks.
    n_boot, seed : int
        Bootstrap draws and seed.
    confidence : float
        Level of the (pointwise) intervals.

    Returns
    -------
    pandas.DataFrame
        A row per (cohort, period) with ``aggregation`` 'group_time', the ``event_time``, the
        estimate, bootstrap SE, interval and p-value, ``n`` (rows in the four cells) and
        ``n_exposed`` (treated rows in period t); columns :data:`STAGGERED_COLUMNS`.

    Notes
    -----
    ATT(g, t) = mean over cohort-g units of (ȳ_ut − ȳ_u,g−1) − the same over comparison units,
    with ȳ_ut a unit's mean in period t: a fixed (universal) base period g − 1, so that the
    pre-period rows (t < g − 1) are placebo estimates with the same reference as an event
    study. Unit means first, so that units whose sample sizes change between periods do not
    shift the comparison. The SE comes from a multiplier bootstrap of the estimates'
    influence functions with Mammen weights (Callaway & Sant'Anna 2021, sec. 4), summed
    within ``cluster``: SE = IQR of the draws / (z₀.₇₅ − z₀.₂₅), interval estimate ± z·SE.

    In R: ``did::att_gt(yname, tname, idname, gname, panel = FALSE,
    control_group = "nevertreated", base_period = "universal")``.
    """
    cells, info = _cells(data, outcome, unit, period, cohort, control, cluster)
    rows, psi = _att_gt(cells, info)
    draws = _multiplier(psi, n_boot, seed)
    out = []
    for r, d in zip(rows, draws):
        out.append(_result(info, r, d, confidence, aggregation="group_time"))
    return estimate_table(out, extra=STAGGERED_EXTRA)


@validate_params({"control": [Options(CONTROLS)], "n_boot": [REPLICATES],
                  "confidence": [CONFIDENCE]})
def staggered_att(data: pd.DataFrame, *, outcome: str, unit: str, period: str, cohort: str,
                  control: str = "never_treated", aggregation=AGGREGATIONS,
                  cluster: str | None = None, n_boot: int = 999, seed: int = 0,
                  confidence: float = 0.95) -> pd.DataFrame:
    """The ATT(g, t) of :func:`group_time_att` aggregated: overall, by event time, by cohort.

    Parameters
    ----------
    data, outcome, unit, period, cohort, control, cluster, n_boot, seed, confidence
        As in :func:`group_time_att`.
    aggregation : str or sequence of {'overall', 'event_time', 'cohort'}
        Which aggregations to return.

    Returns
    -------
    pandas.DataFrame
        A row per aggregate (``aggregation`` says which; ``event_time`` or ``cohort`` which
        one), columns :data:`STAGGERED_COLUMNS`.

    Notes
    -----
    Each ATT(g, t) is weighted by the treated rows in its cell, so that the overall estimate
    is the ATT over every treated row from the start on (respondents, or unit-periods for a
    panel), by event time e over rows e periods after their start, by cohort over the rows of
    one cohort. Pre-period event times (e < −1) are placebo estimates. The bootstrap draws of
    the aggregates are the same weighted sums of the ATT(g, t) draws.

    Tested on the synthetic FIT rollout against its planted truth, and against the two-stage
    estimator (:func:`two_stage_did`), which targets the same ATT when effects are
    heterogeneous.

    In R: ``did::aggte(att_gt(...), type = "simple" | "dynamic" | "group")`` (which weights
    cohorts by their size rather than by cell).

    References
    ----------
    Callaway B, Sant'Anna PHC (2021). Difference-in-differences with multiple time periods.
    Journal of Econometrics 225: 200-230.

    Goodman-Bacon A (2021). Difference-in-differences with variation in treatment timing.
    Journal of Econometrics 225: 254-277.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = [(u, t, g, 5.0 + u + 0.5 * t + (2.0 * (t - g + 1) if g is not None and t >= g else 0))
    ...         for u, g in [(0, 2), (1, 3), (2, None), (3, None)] for t in range(5) for _ in range(3)]
    >>> df = pd.DataFrame(rows, columns=["unit", "t", "g", "y"])
    >>> res = staggered_att(df, outcome="y", unit="unit", period="t", cohort="g", n_boot=99)
    >>> res.loc[res["aggregation"] == "event_time", ["event_time", "estimate"]].round(6).values.tolist()
    [[-3.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [1.0, 4.0], [2.0, 6.0]]
    """
    aggregation = [aggregation] if isinstance(aggregation, str) else list(aggregation)
    bad = [a for a in aggregation if a not in AGGREGATIONS]
    if bad:
        raise ParameterError(f"aggregation {bad}: expected some of {list(AGGREGATIONS)}.")
    cells, info = _cells(data, outcome, unit, period, cohort, control, cluster)
    rows, psi = _att_gt(cells, info)
    draws = _multiplier(psi, n_boot, seed)
    n_cell = cells["n"]
    att = np.array([r["estimate"] for r in rows])
    w = np.array([r["n_exposed"] for r in rows], float)
    e = np.array([r["event_time"] for r in rows])
    g = [r["cohort"] for r in rows]
    out = []
    for agg in aggregation:
        groups = ([("overall", e >= 0)] if agg == "overall" else
                  [(k, e == k) for k in sorted(set(e)) if k != -1] if agg == "event_time" else
                  [(c, (e >= 0) & np.array([x == c for x in g])) for c in dict.fromkeys(g)])
        for key, mask in groups:
            if not mask.any():
                continue
            ww = w[mask] / w[mask].sum()
            used = [rows[i] for i in np.flatnonzero(mask)]
            used_cells = set().union(*(r["cells"] for r in used))
            r = {"estimate": float(ww @ att[mask]), "n_exposed": int(w[mask].sum()),
                 "n": int(sum(n_cell[c] for c in used_cells)),
                 "units": (min(r["units"][0] for r in used), min(r["units"][1] for r in used)),
                 "cohort": key if agg == "cohort" else None,
                 "event_time": key if agg == "event_time" else np.nan, "period": None}
            out.append(_result(info, r, ww @ draws[mask], confidence, aggregation=agg))
    return estimate_table(out, extra=STAGGERED_EXTRA)


def _cells(data, outcome, unit, period, cohort, control, cluster):
    require_columns(data, [outcome, unit, period, cohort, cluster], what="data")
    df = data.dropna(subset=[outcome, unit, period] + ([cluster] if cluster else []))
    periods = pd.Index(np.sort(df[period].unique()))
    starts = df.groupby(unit)[cohort].agg(lambda s: s.dropna().unique())
    if (starts.map(len) > 1).any():
        raise ParameterError(f"{cohort!r} differs within unit {starts.index[starts.map(len) > 1][0]!r}: "
                             "a unit has one start.")
    g_pos = {u: (periods.get_indexer([s[0]])[0] if len(s) else None) for u, s in starts.items()}
    odd = [u for u, s in starts.items() if len(s) and g_pos[u] < 0]
    if odd:
        raise ParameterError(f"the cohort of {odd[0]!r} ({starts[odd[0]][0]}) is not one of the "
                             f"periods in {period!r}: give the first period from the start.")
    first = [u for u, p in g_pos.items() if p == 0]
    if first:
        raise ParameterError(f"{first[0]!r} starts in the first period: with no period before "
                             "its start, parallel trends can be neither checked nor assumed; "
                             f"the DiD is not identified for {first[0]!r}.")
    if all(p is not None for p in g_pos.values()) and control == "never_treated":
        raise ParameterError("No never-treated unit: use control='not_yet_treated' (later "
                             "starters as comparisons until they start).")
    t_pos = periods.get_indexer(df[period])
    u_code, units = pd.factorize(df[unit])
    unit_cluster = None
    if cluster is not None:
        per_unit = df.groupby(u_code)[cluster].nunique()
        if (per_unit > 1).any():
            raise ParameterError(f"units of {unit!r} must be nested in {cluster!r}; "
                                 f"{units[per_unit.index[per_unit > 1][0]]!r} is in several.")
        unit_cluster = pd.factorize(df.groupby(u_code)[cluster].first().sort_index())[0]
    y = df[outcome].to_numpy(float)
    key = u_code * len(periods) + t_pos
    n_cell = np.bincount(key, minlength=len(units) * len(periods)).reshape(len(units), -1)
    sums = np.bincount(key, weights=y, minlength=n_cell.size).reshape(n_cell.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / n_cell
    info = {"outcome": outcome, "periods": periods, "control": control, "cluster": cluster,
            "scale": outcome_scale(df[outcome]), "unit_cluster": unit_cluster,
            "g_pos": np.array([np.nan if g_pos[u] is None else g_pos[u] for u in units])}
    return {"n": n_cell, "mean": mean, "key": key, "resid": y - mean.ravel()[key]}, info


def _att_gt(cells, info):
    """Every ATT(g, t) and its influence function, summed by cluster (rows x clusters)."""
    n, mean, g_pos = cells["n"], cells["mean"], info["g_pos"]
    n_periods = n.shape[1]
    rows, psi = [], []
    for g in np.unique(g_pos[~np.isnan(g_pos)]).astype(int):
        base = g - 1
        treated_units = np.flatnonzero(g_pos == g)
        for t in range(n_periods):
            if t == base:
                continue
            later = max(t, base)
            ctrl = np.isnan(g_pos) if info["control"] == "never_treated" else (
                np.isnan(g_pos) | (g_pos > later))
            ctrl &= g_pos != g
            have = (n[:, t] > 0) & (n[:, base] > 0)
            tr, co = treated_units[have[treated_units]], np.flatnonzero(ctrl & have)
            if not len(tr) or not len(co):
                continue
            att = (np.mean(mean[tr, t] - mean[tr, base]) - np.mean(mean[co, t] - mean[co, base]))
            psi.append(_influence(cells, info, tr, co, t, base))
            rows.append({"cohort": info["periods"][g], "period": info["periods"][t],
                         "event_time": t - g, "estimate": float(att),
                         "n": int(n[tr][:, [t, base]].sum() + n[co][:, [t, base]].sum()),
                         "n_exposed": int(n[tr, t].sum()), "units": (len(tr), len(co)),
                         "cells": {(u, s) for u in (*tr, *co) for s in (t, base)}})
    if not rows:
        raise ParameterError("No cohort has both treated and comparison units with data in its "
                             "base period and a later one: nothing to estimate.")
    return rows, np.array(psi)


def _influence(cells, info, tr, co, t, base):
    """How the ATT(g, t) moves with each cluster's data, as a vector over clusters.

    Rows as clusters: with the units fixed, only which respondents were asked varies, so the
    influence is each row's deviation from its cell mean, scaled by its share of the estimate.
    Clusters of units: the units are the sample, so the influence is each unit's change minus
    its group's mean change (Callaway & Sant'Anna's panel case), summed within the cluster; a
    group of one unit then contributes nothing, which ``_result`` notes.
    """
    n, mean = cells["n"], cells["mean"]
    if info["unit_cluster"] is None:
        weight = np.zeros(n.shape)
        weight[tr, t], weight[tr, base] = 1 / (len(tr) * n[tr, t]), -1 / (len(tr) * n[tr, base])
        weight[co, t], weight[co, base] = -1 / (len(co) * n[co, t]), 1 / (len(co) * n[co, base])
        return weight.ravel()[cells["key"]] * cells["resid"]
    psi = np.zeros(n.shape[0])
    for units, sign in ((tr, 1.0), (co, -1.0)):
        change = mean[units, t] - mean[units, base]
        psi[units] = sign * (change - change.mean()) / len(units)
    return np.bincount(info["unit_cluster"], weights=psi)


def _multiplier(psi, n_boot, seed):
    """Draws of ATT* − ATT = psi @ xi with Mammen weights xi per cluster: (rows x n_boot)."""
    rng = np.random.default_rng(seed)
    s5 = np.sqrt(5)
    chunk = int(np.clip(2_000_000 // psi.shape[1], 1, 200))   # about 16 MB of weights at a time
    out = []
    for start in range(0, n_boot, chunk):
        k = min(chunk, n_boot - start)
        low = rng.random((psi.shape[1], k)) < (s5 + 1) / (2 * s5)
        xi = np.where(low, (1 - s5) / 2, (1 + s5) / 2)
        out.append(psi @ xi)
    return np.concatenate(out, axis=1)


def _result(info, r, draws, confidence, *, aggregation):
    z = stats.norm.ppf(1 - tail_alpha(confidence) / 2)
    q25, q75 = np.quantile(draws, [0.25, 0.75])
    se = float((q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25)))
    est = r["estimate"]
    level = "each row" if info["cluster"] is None else info["cluster"]
    before = r["event_time"] is not None and r["event_time"] < 0    # NaN compares False
    notes = ["placebo: before the start"] if before else []
    if info["unit_cluster"] is not None and min(r["units"]) < 2:
        notes.append("a group of one unit: its own variation is not in the SE, which is too "
                     "small (use cluster=None if units have no period-specific shocks)")
    note = "; ".join(notes)
    return {
        "outcome": info["outcome"], "method": f"Callaway–Sant'Anna group-time DiD ({info['control']})",
        "estimand": "ATT", "aggregation": aggregation, "cohort": r.get("cohort"),
        "period": r.get("period"), "event_time": r.get("event_time"), "scale": info["scale"],
        "estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se,
        "p_value": float(2 * stats.norm.sf(abs(est / se))) if se > 0 else np.nan,
        "n": r["n"], "n_exposed": r["n_exposed"],
        "se_method": f"multiplier bootstrap (Mammen), clusters: {level}, {draws.size} draws",
        "note": note}
