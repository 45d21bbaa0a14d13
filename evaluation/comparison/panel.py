"""The analysis panel of a programme comparison: who is treated, from when, compared with whom.

:func:`programme_panel` turns respondent-level rows (a survey wave, a register extract) and a
table of programme starts into the frame that :func:`evaluation.comparison.did.did`,
:func:`~evaluation.comparison.did.event_study` and :mod:`evaluation.comparison.staggered` take:
the rows with ``treated``, ``post``, ``D`` (treated × post), ``cohort`` (the first period at or
after the start) and ``event_time`` (periods since the start). It refuses designs in which a
difference-in-differences cannot say what it claims, with a message that says what is missing.

Below it: what the comparison modules share (column checks, the outcome's scale) and the wild
cluster bootstrap behind :func:`~evaluation.comparison.did.did`.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.constraints import Interval, Options, require_frame, validate_params
from evaluation.errors import ParameterError

PANEL_COLUMNS = ["treated", "post", "D", "cohort", "event_time"]
WEBB = np.sqrt(np.array([1.5, 1.0, 0.5]))
WEBB = np.concatenate([-WEBB, WEBB])       # Webb's six-point distribution: mean 0, variance 1


def programme_panel(data: pd.DataFrame, *, outcome: str, unit: str, period: str, starts,
                    group: str | None = None, comparison: Sequence | None = None) -> pd.DataFrame:
    """The difference-in-differences panel: rows of ``data`` with treatment timing added.

    Parameters
    ----------
    data : pandas.DataFrame
        A row per respondent (repeated cross-sections) or per unit and period (a panel).
    outcome, unit, period : str
        Columns: the outcome, the unit compared (institution, department) and the period
        (dates, or numbers such as years).
    starts : pandas.DataFrame or mapping
        When each treated unit (or ``group``) started: a mapping ``{name: start}`` or a frame
        with the column ``group or unit`` and a ``start_date`` column. Units without a start
        are comparisons.
    group : str, optional
        When the programme starts for a coarser level than ``unit`` (e.g. starts per
        institution, units are departments): the column of that level. It is the level
        at which the analysis should cluster (``attrs['cluster']``).
    comparison : sequence, optional
        The comparison units (or groups), if not every unit without a start. Other units
        without a start are left out. Naming a single comparison explicitly is how to accept a
        design with only one: the estimate can then be computed, but no confidence interval.

    Returns
    -------
    pandas.DataFrame
        The rows used, with ``treated`` and ``post`` (0/1), ``D = treated × post``, ``cohort``
        (the first period at or after the unit's start; missing for comparisons) and
        ``event_time`` (periods since that one: 0, 1, ... after, −1, −2, ... before; missing for
        comparisons). ``post`` of a comparison row marks the periods from the earliest start.
        ``attrs`` holds ``rows_read``, ``rows_used``, ``left_out`` ({reason: rows}),
        ``treated_units``, ``comparison_units``, ``periods``, ``cluster``, ``staggered``,
        ``inference`` ('cluster' or 'none') and ``note``.

    Raises
    ------
    ParameterError
        A start outside the data's periods, a treated unit without a period before its start
        (parallel trends can be neither checked nor assumed) or without data after it, no
        comparison unit, or a single one not named in ``comparison``.

    Notes
    -----
    Event time counts the periods present in the data, so it assumes equally spaced periods
    (half-years, years). A start between two period labels counts from the next period: the
    period whose label is before the start is a pre-period (it is partly treated, which makes
    the estimate conservative).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"inst": ["A", "A", "B", "B", "C", "C"] * 2,
    ...                      "year": [2022, 2023] * 6, "y": range(12)})
    >>> panel = programme_panel(rows, outcome="y", unit="inst", period="year",
    ...                         starts={"A": 2023})
    >>> panel.groupby("inst")[["treated", "D"]].sum().to_dict()
    {'treated': {'A': 4, 'B': 0, 'C': 0}, 'D': {'A': 2, 'B': 0, 'C': 0}}
    >>> panel.attrs["comparison_units"], panel.attrs["rows_used"]
    (['B', 'C'], 12)
    """
    level = group or unit
    require_columns(data, [outcome, unit, period] + ([group] if group else []), what="data")
    df = data.copy()
    rows_read = len(df)
    left_out: dict = {}
    for col in dict.fromkeys([outcome, unit, period, level]):
        missing = df[col].isna()
        if missing.any():
            left_out[f"missing {col}"] = int(missing.sum())
            df = df[~missing]
    if group:
        spans = df.groupby(unit)[group].nunique()
        if (spans > 1).any():
            raise ParameterError(f"unit {spans.index[spans > 1][0]!r} belongs to more than one "
                                 f"{group!r}: units must be nested in the group that starts.")
    start_of = _start_mapping(starts, level)
    df[period], start_of = _common_period_type(df[period], start_of, period)
    periods = pd.Index(np.sort(df[period].unique()))

    cohort_of = {}
    for name, start in start_of.items():
        if not (df[level] == name).any():
            raise ParameterError(f"starts names {level} {name!r}, which has no rows in data "
                                 "(after leaving out rows with missing values).")
        if start < periods[0] or start > periods[-1]:
            raise ParameterError(
                f"The start {_show(start)} of {name!r} is outside the data's periods "
                f"({_show(periods[0])} to {_show(periods[-1])}): "
                + ("there is no period before it, so parallel trends can be neither checked nor "
                   f"assumed; the DiD is not identified for {name!r}." if start < periods[0] else
                   f"there is no period after it, so there is no effect to estimate for {name!r}."))
        cohort = periods[periods.searchsorted(start)]
        mine = df.loc[df[level] == name, period]
        if not (mine < cohort).any():
            raise ParameterError(
                f"{name!r} has no data before its start {_show(start)}: a DiD cannot check or "
                f"assume parallel trends without a pre-period; the DiD is not identified for "
                f"{name!r}. Leave it out, or find data from before the start.")
        if not (mine >= cohort).any():
            raise ParameterError(
                f"{name!r} has no data from its start {_show(start)} on: there is nothing to "
                f"estimate for it. Leave it out of starts, or add the later periods.")
        cohort_of[name] = cohort

    never = [v for v in pd.unique(df[level]) if v not in cohort_of]
    if comparison is not None:
        comparison = list(comparison)
        bad = [c for c in comparison if c in cohort_of or c not in never]
        if bad:
            raise ParameterError(f"comparison names {bad}, which "
                                 + ("have a start (treated units cannot be comparisons)"
                                    if any(c in cohort_of for c in bad) else "have no rows in data")
                                 + ".")
        outside = ~df[level].isin(comparison) & ~df[level].isin(list(cohort_of))
        if outside.any():
            left_out[f"{level} neither treated nor in comparison"] = int(outside.sum())
            df = df[~outside]
    comparisons = comparison if comparison is not None else never
    if not comparisons:
        raise ParameterError(
            f"No comparison {level}: every {level} in data has a start. A DiD needs units without "
            "the programme to show what would have happened without it. With staggered starts, "
            "staggered_att(control='not_yet_treated') can use later starters as comparisons.")
    note = ""
    inference = "cluster"
    if len(comparisons) == 1:
        if comparison is None:
            raise ParameterError(
                f"Only one comparison {level} ({comparisons[0]!r}): a DiD estimate can be "
                "computed, but not its uncertainty: cluster-robust standard errors and the wild "
                "cluster bootstrap need several comparison units, and with one, a shock to "
                f"{comparisons[0]!r} at the start is indistinguishable from the programme's "
                f"effect. Add comparison units, or pass comparison=[{comparisons[0]!r}] to get "
                "the panel for a point estimate only (did() then reports no interval; a "
                "placebo test on earlier periods is the check that remains).")
        inference = "none"
        note = (f"single comparison {level} {comparisons[0]!r}: point estimate only, no "
                "cluster-robust inference")

    treated_cohort = df[level].map(cohort_of)
    df["treated"] = treated_cohort.notna().astype(int)
    first = min(cohort_of.values())
    df["post"] = np.where(df["treated"] == 1, df[period] >= treated_cohort.where(
        treated_cohort.notna(), first), df[period] >= first).astype(int)
    df["D"] = df["treated"] * df["post"]
    df["cohort"] = treated_cohort
    since = periods.get_indexer(df[period]) - periods.get_indexer(treated_cohort)
    df["event_time"] = np.where(df["treated"] == 1, since, np.nan)
    df.attrs = {
        "outcome": outcome, "unit": unit, "period": period, "group": group, "cluster": level,
        "rows_read": rows_read, "rows_used": len(df), "left_out": left_out,
        "treated_units": list(cohort_of), "comparison_units": list(comparisons),
        "periods": [_show(p) for p in periods],
        "staggered": len(set(cohort_of.values())) > 1, "inference": inference, "note": note,
    }
    return df


def _start_mapping(starts, level: str) -> dict:
    if isinstance(starts, Mapping):
        return dict(starts)
    if not isinstance(starts, pd.DataFrame):
        raise ParameterError("starts must be a mapping {unit: start} or a DataFrame with the "
                             f"columns {level!r} and 'start_date'.")
    require_columns(starts, [level, "start_date"], what="starts")
    rows = starts.dropna(subset=[level, "start_date"])
    twice = rows[level][rows[level].duplicated()]
    if len(twice):
        raise ParameterError(f"starts gives {level} {twice.iloc[0]!r} more than one start; "
                             "filter it to one programme first.")
    return dict(zip(rows[level], rows["start_date"]))


def _common_period_type(values: pd.Series, start_of: dict, period: str):
    """Periods and starts as numbers when the periods are numbers, else as timestamps."""
    if pd.api.types.is_numeric_dtype(values):
        try:
            return values, {k: float(v) for k, v in start_of.items()}
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"{period!r} holds numbers, but a start is not a number: "
                                 f"{exc}.") from exc
    try:
        return (pd.to_datetime(values),
                {k: pd.Timestamp(v) for k, v in start_of.items()})
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{period!r} and the starts must both be dates or both be "
                             f"numbers: {exc}.") from exc


def _show(value) -> str:
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    return f"{value:g}" if isinstance(value, (int, float, np.number)) else str(value)


# -- shared by the comparison modules ------------------------------------------------------------

def require_columns(data, columns, *, what: str) -> None:
    """:func:`evaluation.constraints.require_frame`, in the comparison modules' wording."""
    require_frame(data, columns, what, "the data")


def binary_column(values: pd.Series, name: str) -> pd.Series:
    """A 0/1 (or True/False) column as integers; anything else is a ParameterError."""
    bad = ~values.isin([0, 1, True, False])
    if bad.any():
        raise ParameterError(f"{name!r} must be 0/1 (or True/False); it holds "
                             f"{values[bad].iloc[0]!r}.")
    return values.astype(int)


def tail_alpha(confidence: float) -> float:
    """1 − ``confidence``, rounded so that 0.95 gives exactly 0.05 (what the fits take)."""
    return round(1.0 - confidence, 12)


def outcome_scale(values: pd.Series) -> str:
    """'risk difference' for a 0/1 outcome (a linear probability model), else 'mean difference'."""
    return "risk difference" if values.isin([0, 1]).all() else "mean difference"


# -- wild cluster bootstrap -------------------------------------------------------------------------

@validate_params({"n_boot": [Interval(1, None, integral=True)],
                  "confidence": [Interval(0, 1, closed="neither")],
                  "weights": [Options({"webb", "rademacher"})]})
def wild_cluster_bootstrap(work, controls, *, unit_effects=True, n_boot=9999, seed=0,
                           confidence=0.95, weights="webb"):
    """Restricted wild cluster bootstrap-t for the coefficient of ``_D``: ((p, ci_low, ci_high),
    draws used), the interval at level ``confidence`` from ``n_boot`` draws (or every weight
    vector, when there are fewer).

    ``work`` has ``_y``, ``_D``, ``_u``, ``_t``, ``_c`` and the ``controls`` columns. Unit fixed
    effects are removed by demeaning within unit, which is exact because units are nested in
    clusters and the weights are constant within a cluster; period effects enter as dummies,
    since they cross clusters and demeaning them would change the bootstrap. By
    Frisch-Waugh-Lovell everything is then linear in the null value b0, so the bootstrap
    t-statistics for any b0 cost one pass over the draws, and the interval is found by bisection.
    """
    z = pd.concat([pd.get_dummies(work["_t"], dtype=float), work[controls]], axis=1).to_numpy(float)
    y, d = work["_y"].to_numpy(float), work["_D"].to_numpy(float)
    if unit_effects:
        u = work["_u"].to_numpy()
        y, d, z = (_demean(v, u) for v in (y, d, z))
    # An orthonormal basis of the controls (collinear columns, such as the period dummies
    # summing to the removed unit means, drop out): M_Z v = v - q (q'v).
    left, sv, _ = np.linalg.svd(z, full_matrices=False)
    q = left[:, sv > sv.max() * 1e-10]
    dt = d - q @ (q.T @ d)
    yt = y - q @ (q.T @ y)
    dd = dt @ dt
    if dd <= 1e-12:
        raise ParameterError("D is collinear with the fixed effects and covariates: every treated "
                             "row is explained by them, so there is no contrast left.")
    beta = dt @ yt / dd
    g = work["_c"].to_numpy()
    n_g = int(g.max()) + 1

    def agg(m):   # sums by cluster: (n,) -> (1, G), (n, k) -> (k, G)
        return np.stack([np.bincount(g, weights=c, minlength=n_g) for c in np.atleast_2d(m.T)])

    e = yt - beta * dt
    se_orig = np.sqrt(np.sum(agg(dt * e) ** 2)) / dd          # CRV without the ssc factor
    # Per cluster: a_g(b0) = dt_g'(yt - b0 dt)_g; Z_g'(.)_g for the projection; dt_g'dt_g.
    a1, a2 = agg(dt * yt)[0], agg(dt * dt)[0]
    qy, qd = agg(q * yt[:, None]), agg(q * dt[:, None])        # k x G
    # H[g, h] = dt_g'q_g q_h'u_h + (dt_g'dt_g) a_h / dd: cluster g's share of the refit.
    h1 = qd.T @ qy + np.outer(a2, a1) / dd
    h2 = qd.T @ qd + np.outer(a2, a2) / dd
    stats_ = []
    for v in _weights(n_g, n_boot, seed, weights):     # blocks of draws, to bound the memory
        s1 = a1[:, None] * v - h1 @ v
        s2 = a2[:, None] * v - h2 @ v
        stats_.append([a1 @ v, a2 @ v, (s1 * s1).sum(0), (s1 * s2).sum(0), (s2 * s2).sum(0)])
    n1, n2, q11, q12, q22 = (np.concatenate(parts) for parts in zip(*stats_))

    def pvalue(b0):
        t = (beta - b0) / se_orig
        with np.errstate(invalid="ignore", divide="ignore"):
            t_star = (n1 - b0 * n2) / np.sqrt(q11 - 2 * b0 * q12 + b0 * b0 * q22)
        # The tolerance keeps a draw equal to the sample (all weights 1) from counting by
        # rounding alone.
        return float(np.mean(np.abs(t_star) > abs(t) * (1 + 1e-9)))

    alpha = tail_alpha(confidence)
    return (pvalue(0.0), _invert(pvalue, beta, se_orig, alpha, -1),
            _invert(pvalue, beta, se_orig, alpha, +1)), len(n1)


def _demean(v, unit):
    v = np.asarray(v, float)
    two = v.reshape(len(v), -1)
    counts = np.bincount(unit)
    means = np.stack([np.bincount(unit, weights=c) for c in two.T], axis=1) / counts[:, None]
    out = two - means[unit]
    return out.ravel() if v.ndim == 1 else out


def _weights(n_clusters, n_boot, seed, kind, block=1000):
    """Weight vectors as (clusters x draws) blocks: all of them when there are at most ``n_boot``."""
    values = np.array([-1.0, 1.0]) if kind == "rademacher" else WEBB
    if len(values) ** n_clusters <= n_boot:
        yield np.array(list(itertools.product(values, repeat=n_clusters))).T
        return
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, block):
        yield rng.choice(values, size=(n_clusters, min(block, n_boot - start)))


def _invert(pvalue, beta, se, alpha, side):
    """The end of {b0: p(b0) > alpha} on one side of beta: a grid to bracket it, then bisection."""
    inside = beta
    for k in (0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128):
        b0 = beta + side * k * se
        if pvalue(b0) <= alpha:
            outside = b0
            break
        inside = b0
    else:
        return side * np.inf
    for _ in range(60):
        mid = (inside + outside) / 2
        if pvalue(mid) > alpha:
            inside = mid
        else:
            outside = mid
        if abs(outside - inside) < 1e-7 * se:
            break
    return float((inside + outside) / 2)
