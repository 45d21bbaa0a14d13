"""The working alliance as the client rates it at the end of each session (SRS).

Three questions: which sessions call for a talk about the alliance (OpenFIT's alert rule), how
the alliance develops over the sessions, and whether an early alliance goes with more change
on the ORS. The cutoffs are parameters whose defaults are those of ``instruments/srs.yaml``:
a total below 36 (OpenFIT; the boundary is disputed) and any item below 9 (secondary sources).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from evaluation.constraints import Interval, Options, name_list, require_frame, validate_params
from evaluation.estimates import estimate_table, measure_table
from evaluation.instruments.definition import OPERATORS

KEY = ["person_id", "episode"]
SRS_ITEMS = ["srs_1", "srs_2", "srs_3", "srs_4"]
ALERTS = ("red", "green", "grey")
# Fewest episodes for which a three-term regression leaves a residual degree of freedom and
# the Fisher z of a correlation has a standard error (n − 3 > 0).
MIN_EPISODES = 4
CONFIDENCE = [Interval(0, 1, closed="neither")]
OLS_MODEL = "OLS: change ~ early_srs_mean + intake_ors"
SPEARMAN = "Spearman correlation"


@validate_params({"sessions": ["frame"], "cutoff": [Interval()], "item_cutoff": [Interval()],
                  "operator": [Options({"<", "<="})]})
def alliance_flags(sessions: pd.DataFrame, *, cutoff: float = 36.0, item_cutoff: float = 9.0,
                   operator: str = "<") -> pd.DataFrame:
    """Alliance alerts per session, by OpenFIT's SRS rule.

    Parameters
    ----------
    sessions : DataFrame
        A row per session: ``person_id``, ``episode``, ``session``, ``srs_total``; optional
        ``srs_1`` to ``srs_4`` for the item rule (``Study.table("fit")``).
    cutoff, operator : float, {'<', '<='}
        A low total is ``srs_total operator cutoff`` (default ``< 36``).
    item_cutoff : float
        An item below this (strictly) is low (default 9).

    Returns
    -------
    DataFrame
        On ``sessions``' index (the file row): ``person_id``, ``episode``, ``session``,
        ``srs_total``, ``previous_srs`` (the total at the latest earlier session of the
        episode that had one), ``low_total``, ``low_item`` (any item below ``item_cutoff``),
        ``drop`` (the total fell by 1 point or more since ``previous_srs``) and ``alert``.

    Notes
    -----
    ``alert`` follows OpenFIT's dashboard ("Overview of the home page dashboard alerts"):
    ``grey`` when the session has no SRS total, ``red`` when the total is low or dropped by
    ≥ 1 point since the last session with an SRS, else ``green``. ``low_item`` is reported
    beside it but is not part of OpenFIT's alert. Sessions are ordered by session number.

    Examples
    --------
    >>> s = pd.DataFrame({"person_id": "a", "episode": 1, "session": [1, 2, 3, 4],
    ...                   "srs_total": [38.0, 37.5, None, 35.0]})
    >>> alliance_flags(s)[["srs_total", "previous_srs", "drop", "alert"]]
       srs_total  previous_srs   drop  alert
    0       38.0           NaN   <NA>  green
    1       37.5          38.0  False  green
    2        NaN          37.5   <NA>   grey
    3       35.0          37.5   True    red
    """
    require_frame(sessions, KEY + ["session", "srs_total"], "alliance_flags")
    # Positions, not labels, carry the order back: the index need not be unique.
    s = sessions.reset_index(drop=True).sort_values(KEY + ["session"], kind="stable")
    srs = s["srs_total"].astype(float)
    # The latest SRS up to each session, shifted by one: the previous session that had an SRS.
    previous = srs.groupby([s[k] for k in KEY]).ffill().groupby([s[k] for k in KEY]).shift()
    out = s[KEY + ["session"]].copy()
    out["srs_total"] = srs
    out["previous_srs"] = previous
    out["low_total"] = _flag(OPERATORS[operator](srs, cutoff), srs.notna())
    items = [c for c in SRS_ITEMS if c in s.columns]
    if items:
        values = s[items].astype(float)
        out["low_item"] = _flag((values < item_cutoff).any(axis=1), values.notna().any(axis=1))
    else:
        out["low_item"] = pd.array([pd.NA] * len(s), dtype="boolean")
    # Totals are sums of one-decimal items: 36.3 − 35.3 must count as a drop of 1.
    out["drop"] = _flag((previous - srs).round(9) >= 1, srs.notna() & previous.notna())
    red = out["low_total"].fillna(False).astype(bool) | out["drop"].fillna(False).astype(bool)
    out["alert"] = np.select([srs.isna(), red], ["grey", "red"], default="green")
    out = out.sort_index()
    out.index = sessions.index
    return out


@validate_params({"sessions": ["frame"], "max_session": [Interval(1, None, integral=True), None],
                  "confidence": CONFIDENCE})
def alliance_over_time(sessions: pd.DataFrame, *, by=None, max_session: int | None = None,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Mean SRS total per session number (and group), with a t-based confidence interval.

    Parameters
    ----------
    sessions : DataFrame
        ``session`` and ``srs_total``, plus the ``by`` columns.
    by : str or list of str, optional
        Grouping columns (for example ``has_ip`` joined from the person table).
    max_session : int, optional
        Leave out sessions numbered above this (few episodes reach them).
    confidence : float
        Level of the intervals.

    Returns
    -------
    DataFrame
        A measure table (:mod:`evaluation.estimates`), a row per (group ×) session number: the
        groups, ``session``, ``measure`` ("mean SRS total"), ``scale`` ("mean"), ``estimate``
        (the mean), ``ci_low``, ``ci_high``, ``n`` (sessions with an SRS total), ``note``, then
        ``n_missing`` and ``sd``. Rows with small n are kept (the interval is missing below
        n = 2); the disclosure layer suppresses them when shown.

    Notes
    -----
    mean ± t(1 − α/2; n − 1) · sd / sqrt(n) per cell, with sessions as the units (a client
    appears once per session number). In R: ``t.test(x)$conf.int``.

    Examples
    --------
    >>> s = pd.DataFrame({"session": [1, 1, 1, 2], "srs_total": [36.0, 38.0, 40.0, None]})
    >>> alliance_over_time(s)[["session", "estimate", "ci_low", "ci_high", "n", "sd"]].round(3)
       session  estimate  ci_low  ci_high  n   sd
    0        1      38.0  33.032   42.968  3  2.0
    1        2       NaN     NaN      NaN  0  NaN
    """
    func = "alliance_over_time"
    groups = name_list(by, "by", func)
    require_frame(sessions, ["session", "srs_total", *groups], func)
    s = sessions
    if max_session is not None:
        s = s[s["session"] <= max_session]
    cells = s.groupby([*groups, "session"], dropna=False, sort=True)["srs_total"]
    out = cells.agg(n="count", srs_total_mean="mean", srs_total_sd="std")
    out.insert(1, "n_missing", cells.size() - out["n"])
    se = out["srs_total_sd"] / np.sqrt(out["n"])
    tcrit = stats.t.ppf(0.5 + confidence / 2, (out["n"] - 1).where(out["n"] > 1))
    out["ci_low"] = out["srs_total_mean"] - tcrit * se
    out["ci_high"] = out["srs_total_mean"] + tcrit * se
    out = out.reset_index().rename(columns={"srs_total_mean": "estimate", "srs_total_sd": "sd"})
    out["measure"], out["scale"] = "mean SRS total", "mean"
    return measure_table(out.to_dict("records"), keys=[*groups, "session"], extra=["n_missing", "sd"])


@validate_params({"sessions": ["frame"], "changes": ["frame"],
                  "early": [Interval(1, None, integral=True)], "confidence": CONFIDENCE})
def early_alliance_and_outcome(sessions: pd.DataFrame, changes: pd.DataFrame, *, early: int = 3,
                               confidence: float = 0.95) -> pd.DataFrame:
    """Does an early alliance go with more ORS change? Regression and rank correlation.

    Parameters
    ----------
    sessions : DataFrame
        ``person_id``, ``episode``, ``session``, ``srs_total`` per session.
    changes : DataFrame
        :func:`evaluation.feedback.change.episode_change` of the same sessions.
    early : int
        The alliance is the mean SRS total of an episode's first ``early`` sessions.
    confidence : float
        Level of the intervals.

    Returns
    -------
    DataFrame
        An estimate table (:mod:`evaluation.estimates`): ``outcome`` ("change"), ``method``
        (the model), ``estimand`` (the term), ``scale`` ("coefficient (ORS points)" or
        "correlation"), ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``n`` (episodes),
        ``n_exposed`` (empty), ``note``, then ``model``, ``term`` and ``ci_method``. Rows: the
        OLS regression of ``change`` on
        ``early_srs_mean`` and ``intake_ors`` (a row per term, intercept included), and
        Spearman's rho of ``early_srs_mean`` with ``change``. With fewer than 4 episodes the
        estimates are missing, and the regression's too when a predictor does not vary.
        ``attrs["episodes"]`` counts the episodes used and left out.

    Notes
    -----
    Episodes used: those with a change (two ORS totals or more), at least one SRS total among
    their first ``early`` sessions (in session-number order), and their last ORS given at a
    session *after* those ``early`` sessions, so the outcome is measured after the alliance it
    is related to. In practice that means episodes with at least ``early + 1`` sessions. The
    early mean uses the SRS totals present among the first ``early`` sessions.

    The regression adjusts for the intake ORS because change depends on where a client starts
    (regression to the mean, and the ORS ceiling at 40). Standard errors are HC3
    (heteroskedasticity-consistent; statsmodels ``cov_type="HC3"``) with t intervals on the
    residual degrees of freedom. In R: ``lmtest::coeftest(fit, sandwich::vcovHC(fit, "HC3"))``.
    Spearman's rho is scipy's; its interval is Fisher's z with the Bonett & Wright (2000)
    standard error sqrt((1 + rho²/2) / (n − 3)), which suits rank correlations better than
    1 / sqrt(n − 3).

    Examples
    --------
    Change = 2 + 0.5 · early SRS − 0.3 · intake exactly, so the slopes come back exactly:

    >>> srs = [30, 32, 34, 36, 38, 40, 31, 35, 39, 33]
    >>> intake = [10, 20, 15, 25, 12, 18, 22, 14, 16, 24]
    >>> s = pd.DataFrame({"person_id": [str(i) for i in range(10) for _ in range(4)],
    ...                   "episode": 1, "session": [1, 2, 3, 4] * 10,
    ...                   "srs_total": [float(v) for v in srs for _ in range(4)]})
    >>> ch = pd.DataFrame({"person_id": [str(i) for i in range(10)], "episode": 1,
    ...                    "intake_ors": intake, "last_ors_session": 4,
    ...                    "change": [2 + 0.5 * a - 0.3 * b for a, b in zip(srs, intake)]})
    >>> res = early_alliance_and_outcome(s, ch)
    >>> res[["term", "estimate"]].round(6).iloc[:3]
                 term  estimate
    0       intercept       2.0
    1  early_srs_mean       0.5
    2      intake_ors      -0.3
    """
    func = "early_alliance_and_outcome"
    early = int(early)
    require_frame(sessions, KEY + ["session", "srs_total"], func)
    require_frame(changes, KEY + ["change", "intake_ors", "last_ors_session"], func, "changes")
    s = sessions.sort_values(KEY + ["session"], kind="stable")
    window = s[s.groupby(KEY).cumcount() < early].groupby(KEY)
    alliance = pd.DataFrame({"early_srs_mean": window["srs_total"].mean(),
                             "early_srs_n": window["srs_total"].count(),
                             "window_end": window["session"].max()})
    data = changes.set_index(KEY)[["change", "intake_ors", "last_ors_session"]].join(alliance)
    has_change = data["change"].notna()
    has_srs = data["early_srs_n"].fillna(0) > 0
    after = data["last_ors_session"].astype(float) > data["window_end"].astype(float)
    used = data[has_change & has_srs & after]
    counts = {"used": len(used), "no change (fewer than two ORS)": int((~has_change).sum()),
              "no SRS in the first sessions": int((has_change & ~has_srs).sum()),
              "last ORS not after the first sessions": int((has_change & has_srs & ~after).sum())}
    rows = _ols_rows(used, confidence) + [_spearman_row(used, confidence)]
    for row in rows:
        row.update(outcome="change", method=row["model"], estimand=row["term"],
                   scale="correlation" if row["model"] == SPEARMAN else "coefficient (ORS points)")
    out = estimate_table(rows, extra=["model", "term", "ci_method"])
    out.attrs["episodes"] = counts
    out.attrs["early"] = early
    return out


def _ols_rows(used: pd.DataFrame, confidence: float) -> list[dict]:
    model = OLS_MODEL
    method = f"HC3 t {confidence:.0%}"
    terms = ["intercept", "early_srs_mean", "intake_ors"]
    n = len(used)
    x = sm.add_constant(used[["early_srs_mean", "intake_ors"]].astype(float), has_constant="add")
    # A constant predictor (everyone rated 40) leaves the slopes undetermined, not zero.
    if n < MIN_EPISODES or np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
        return [dict(model=model, term=t, estimate=np.nan, ci_low=np.nan, ci_high=np.nan,
                     p_value=np.nan, n=n, ci_method=method) for t in terms]
    with warnings.catch_warnings():
        # An exact fit can leave residuals of exactly 0, and the t statistic is then 0 / 0.
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = sm.OLS(used["change"].astype(float), x).fit(cov_type="HC3", use_t=True)
        ci = np.asarray(fit.conf_int(alpha=1 - confidence))
        pvalues = np.asarray(fit.pvalues)
    return [dict(model=model, term=t, estimate=float(fit.params.iloc[i]), ci_low=ci[i, 0],
                 ci_high=ci[i, 1], p_value=float(pvalues[i]), n=n, ci_method=method)
            for i, t in enumerate(terms)]


def _spearman_row(used: pd.DataFrame, confidence: float) -> dict:
    n = len(used)
    row = dict(model=SPEARMAN, term="early_srs_mean ~ change", estimate=np.nan,
               ci_low=np.nan, ci_high=np.nan, p_value=np.nan, n=n,
               ci_method=f"Fisher z, Bonett-Wright SE {confidence:.0%}")
    # A constant column has no ranks to correlate.
    if n < MIN_EPISODES or used[["early_srs_mean", "change"]].nunique().min() < 2:
        return row
    rho, p = stats.spearmanr(used["early_srs_mean"], used["change"])
    z = np.arctanh(np.clip(rho, -1, 1))
    se = np.sqrt((1 + rho ** 2 / 2) / (n - 3))
    q = stats.norm.ppf(0.5 + confidence / 2)
    row.update(estimate=float(rho), ci_low=float(np.tanh(z - q * se)),
               ci_high=float(np.tanh(z + q * se)), p_value=float(p))
    return row


def _flag(values, defined) -> pd.Series:
    flag = pd.Series(values).astype("boolean")
    flag[~pd.Series(defined).astype(bool).to_numpy()] = pd.NA
    return flag
