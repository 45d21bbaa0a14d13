"""Event studies: a difference-in-differences coefficient for every period before and after
the start, relative to the period before it, and the joint test of the periods before (parallel
pre-trends). The overall estimate is in :mod:`.did`."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.comparison.panel import outcome_scale, require_columns
from evaluation.comparison.regression import coefficient, fit_feols, with_covariates
from evaluation.constraints import Interval, validate_params
from evaluation.disclosure.figure_data import figure_table
from evaluation.disclosure.figure_provenance import record_panel
from evaluation.disclosure.figures import axes_or_new, hidden_note
from evaluation.errors import ParameterError
from evaluation.estimates import estimate_table

EVENT_METHOD = "event study, two-way fixed effects (unit and period)"


@validate_params({"confidence": [Interval(0, 1, closed="neither")]})
def event_study(data: pd.DataFrame, *, outcome: str, unit: str, period: str, event_time: str,
                reference: int = -1, covariates=None, cluster: str | None = None,
                confidence: float = 0.95) -> pd.DataFrame:
    """A DiD coefficient per period before and after the start, relative to ``reference``.

    Parameters
    ----------
    data : pandas.DataFrame
        Rows with ``event_time`` (periods since the start; missing for comparison units), e.g.
        from :func:`programme_panel`.
    outcome, unit, period, event_time : str
        Columns.
    reference : int
        The event time every coefficient is relative to (its row has estimate 0).
    covariates : list of str, optional
        As in :func:`did`.
    cluster : str, optional
        Cluster column (default ``unit``).
    confidence : float
        Level of the intervals.

    Returns
    -------
    pandas.DataFrame
        An estimate table, a row per event time: ``outcome``, ``method``, ``estimand`` ('ATT'),
        ``scale``, ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``n`` (rows at that event
        time), ``n_exposed`` (empty), ``note``, then ``event_time``, ``se``, ``n_clusters``
        (clusters with rows there) and ``period_kind`` ('pre', 'reference', 'post'). ``attrs['pretrend']`` holds
        the joint test that every pre-period coefficient is 0: ``statistic`` (F), ``df1``,
        ``df2`` (clusters − 1), ``p_value``, ``event_times`` and a ``note``.

    Notes
    -----
    ``y ~ Σ_k 1[event_time = k] + covariates | unit + period`` with CRV1 standard errors and
    t(G − 1) intervals; comparison units have every indicator 0. Pre-period coefficients near
    0 (a joint test that does not reject) are consistent with parallel trends, though they
    cannot prove them, and a test with few clusters has little power (Roth 2022). With
    staggered starts and effects that differ between cohorts, these coefficients mix cohorts
    with weights that can be negative (Sun & Abraham 2021): use
    :func:`evaluation.comparison.staggered.staggered_att` with ``aggregation`` by event time.

    In R: ``fixest::feols(y ~ i(event_time, ref = -1) | unit + period, cluster = ~unit)``.

    References
    ----------
    Roth J (2022). Pretest with caution: event-study estimates after testing for parallel
    trends. American Economic Review: Insights 4: 305-322.

    Sun L, Abraham S (2021). Estimating dynamic treatment effects in event studies with
    heterogeneous treatment effects. Journal of Econometrics 225: 175-199.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> rows = pd.DataFrame([(u, t) for u in range(8) for t in range(5) for _ in range(20)],
    ...                     columns=["unit", "t"])
    >>> rows["event_time"] = np.where(rows["unit"] < 4, rows["t"] - 3, np.nan)
    >>> rows["y"] = (rows["unit"] + rows["t"] + 1.0 * (rows["event_time"] >= 0)
    ...              + rng.normal(0, 0.1, len(rows)))
    >>> res = event_study(rows, outcome="y", unit="unit", period="t", event_time="event_time")
    >>> res[["event_time", "estimate"]].round(1).values.tolist()
    [[-3.0, 0.0], [-2.0, -0.0], [-1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    >>> {k: res.attrs["pretrend"][k] for k in ("df1", "df2", "event_times")}
    {'df1': 2, 'df2': 7, 'event_times': [-3, -2]}
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    cluster = cluster or unit
    require_columns(data, [outcome, unit, period, event_time, cluster, *covariates], what="data")
    df = data.dropna(subset=[outcome, unit, period, cluster, *covariates])
    k = df[event_time]
    if k.notna().sum() == 0:
        raise ParameterError(f"{event_time!r} is missing in every row: no treated unit.")
    if k.isna().sum() == 0:
        raise ParameterError(f"{event_time!r} is given in every row: no comparison unit (its "
                             "event time is missing), so period effects and effects are confounded.")
    times = sorted(int(v) for v in k.dropna().unique())
    if reference not in times:
        raise ParameterError(f"reference={reference} is not an event time in the data {times}.")
    work = pd.DataFrame({"_y": df[outcome].astype(float), "_u": pd.factorize(df[unit])[0],
                         "_t": pd.factorize(df[period])[0], "_c": pd.factorize(df[cluster])[0]})
    names = {}
    for t in times:
        if t != reference:
            names[t] = f"_e{'m' if t < 0 else 'p'}{abs(t)}"
            work[names[t]] = (k == t).astype(float).to_numpy()
    work = with_covariates(work, df, covariates)
    rhs = " + ".join(list(names.values()) + [c for c in work.columns if c.startswith("_x")])
    fit = fit_feols(f"_y ~ {rhs} | _u + _t", work.reset_index(drop=True), {"CRV1": "_c"})
    dropped = [t for t, n in names.items() if n not in fit.coef().index]
    if dropped:
        raise ParameterError(f"event time(s) {dropped} cannot be told apart from the unit and "
                             "period effects (collinear); without never-treated units, bin or "
                             "drop the most distant event times.")
    rows = []
    clusters_at = work.groupby(k.to_numpy())["_c"].nunique()
    scale = outcome_scale(work["_y"])
    for t in times:
        row = {"outcome": outcome, "method": EVENT_METHOD, "estimand": "ATT", "scale": scale,
               "event_time": t, "estimate": 0.0, "se": np.nan, "ci_low": np.nan,
               "ci_high": np.nan, "p_value": np.nan, "n": int((k == t).sum()),
               "n_clusters": int(clusters_at[t]),
               "period_kind": "reference" if t == reference else ("pre" if t < 0 else "post")}
        if t != reference:
            row.update(zip(["estimate", "se", "p_value", "ci_low", "ci_high"],
                           coefficient(fit, names[t], confidence)))
        rows.append(row)
    out = estimate_table(rows, extra=["event_time", "se", "n_clusters", "period_kind"])
    pre = [t for t in times if t < 0 and t != reference]
    test = _pretrend_test(fit, [names[t] for t in pre], work["_c"].nunique())
    single = [t for t in pre if clusters_at[t] < 2]
    n_treated = work.loc[k.notna().to_numpy(), "_c"].nunique()
    notes = [test["note"]]
    if single:
        notes.append(f"event time(s) {single} rest on one cluster each")
    if n_treated < 5:
        notes.append(f"only {n_treated} treated cluster(s): the SEs and this test understate the "
                     "uncertainty (MacKinnon & Webb 2017); if units have no period-specific "
                     "shocks, cluster by row")
    test["note"] = "; ".join(filter(None, notes))
    out.attrs["pretrend"] = {**test, "event_times": pre}
    return out


def _pretrend_test(fit, names, n_clusters) -> dict:
    """Wald test that the pre-period coefficients are all 0: W / q against F(q, G − 1), as
    Stata's ``test`` after a clustered regression. (pyfixest gives W; for a restriction matrix
    other than the identity it reports a chi-squared p-value, too optimistic with few clusters.)"""
    q, dfd = len(names), n_clusters - 1
    result = {"statistic": np.nan, "df1": q, "df2": dfd, "p_value": np.nan, "note": ""}
    if q == 0:
        result["note"] = "no pre-period coefficient to test"
    elif q > dfd:
        result["note"] = (f"{q} pre-period coefficients but only {n_clusters} clusters: the "
                          "joint test is not available; bin the earlier event times")
    else:
        coef = fit.coef()
        r = np.zeros((q, len(coef)))
        for i, name in enumerate(names):
            r[i, list(coef.index).index(name)] = 1.0
        f_stat = float(fit.wald_test(R=r, distribution="chi2")["statistic"]) / q
        result.update(statistic=f_stat, p_value=float(stats.f.sf(f_stat, q, dfd)))
    return result


def event_study_plot(data, *, x: str = "event_time", y: str = "estimate", ax=None, rules=None,
                     sdc=None):
    """Event-study coefficients with their intervals, from the table as the report shows it (a
    coefficient the table hides is not drawn); returns the Axes.

    ``data`` is the output of :func:`event_study` (columns ``ci_low`` and ``ci_high`` give the
    bars). A dashed line marks the start (between event times −1 and 0).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> res = pd.DataFrame({"event_time": [-2, -1, 0, 1], "estimate": [0.01, 0.0, 0.1, 0.12],
    ...                     "ci_low": [-0.05, np.nan, 0.03, 0.04], "ci_high": [0.07, np.nan, 0.17, 0.2]})
    >>> event_study_plot(data=res).get_xlabel()
    'periods since the start'
    """
    ft = figure_table(data, rules=rules, sdc=sdc)
    ax = axes_or_new(ax)
    d = ft.values
    ok = ft.drawable([y], counts=["n"] if "n" in d.columns else [])
    est = ft.numbers(y)
    low = np.where(ok, est - ft.numbers("ci_low"), 0)
    high = np.where(ok, ft.numbers("ci_high") - est, 0)
    ax.errorbar(d[x][ok], est[ok], yerr=[np.nan_to_num(low[ok]), np.nan_to_num(high[ok])],
                fmt="o", capsize=3, color="C0")
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.axvline(-0.5, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_xlabel("periods since the start")
    ax.set_ylabel(f"effect ({d['outcome'].iloc[0]})" if "outcome" in d and len(d) else "effect")
    hidden_note(ax, ft, ~ok, "coefficient(s)")
    record_panel(ax, "event study", source=ft.source, sdc=ft.sdc)
    return ax
