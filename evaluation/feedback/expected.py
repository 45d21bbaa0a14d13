"""Expected treatment response (ETR) estimated from local data, and OpenFIT-style alerts.

FIT systems compare each client's ORS with the score expected for clients who started at the
same level. The commercial ETR tables (PCOMS/Better Outcomes Now, MyOutcomes, OpenFIT) are
licensed and their parameters unpublished, so they cannot be reproduced here. This module
estimates the expectation from the study's own sessions instead, and labels every output
"locally derived": it is not equivalent to the PCOMS/ICCE trajectories.

Two rules, one per method:

* ``"percentile"`` (MyOutcomes' rule): for each whole intake score, the empirical percentiles
  of the ORS at each session number among clients whose intake was within ±1. The target is
  the median (``band[1]``), the lower bound the 25th percentile (``band[0]``).
* ``"mixed"`` (OpenFIT's idea: a hierarchical model by intake level): a mixed model of the ORS
  on log(session) × intake, with a random intercept and slope per client; the target is its
  fixed-effect prediction and the lower bound the target minus the reliable change (5 points
  by default, ``instruments/ors.yaml``).

OpenFIT's green line is the trajectory of *successful* cases, which needs its definition of
success and its normative sample; that is not reproducible, so the target here is the local
expected (median-type) score for clients with the same intake.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.constraints import Interval, Options, check_param, require_frame
from evaluation.errors import ParameterError
from evaluation.estimates import estimate_row, estimate_table
from evaluation.feedback.mixed import fit_mixed
from evaluation.feedback.sessions import sample_clients

LABEL = "locally derived"
METHODS = ("mixed", "percentile")
ALERTS = ("grey", "green", "orange", "red")
REASONS = ("no ORS total at this session", "first ORS of the episode (intake)",
           "no expected score for this intake and session",
           "at or above the target", "below the target, at or above the lower bound",
           "below the lower bound")
ORS_RANGE = (0, 40)


class ExpectedResponse:
    """Locally derived expected ORS by intake score and session number.

    Parameters
    ----------
    method : {'mixed', 'percentile'}
        How the expectation is estimated (see the module notes).
    band : (float, float)
        For ``"percentile"``: the quantiles of the lower bound and of the target (default
        25th and 50th); the upper line is the ``1 - band[0]`` quantile.
    reliable_change : float
        For ``"mixed"``: lower and upper lines are the target ∓ this many points (default 5).
    min_count : int
        For ``"percentile"``: a cell (intake level × session) with fewer clients is left
        empty (NaN) and says so; for ``"mixed"`` it is kept and flagged as model-based.
    max_clients : int, optional
        For ``"mixed"``: fit on a random sample of this many client episodes.
    seed : int
        Seed of that sample.

    Attributes
    ----------
    curves_ : DataFrame
        A row per whole intake score (0–40) × session (2 to the last session seen):
        ``intake``, ``session``, ``expected`` (the target), ``lower``, ``upper``,
        ``n_clients`` (clients with intake within ±1 seen at that session), ``note`` and
        ``label``.
    n_clients_, n_sessions_ : int
        Client episodes and post-intake sessions the curves rest on.
    fixed_effects_ : DataFrame or None
        ``"mixed"``: the ETR model's coefficients as an estimate table
        (:mod:`evaluation.estimates`; Wald 95 % intervals, ``n`` client episodes), with
        ``term``, ``se`` and ``label`` after the contract's columns.
    sampled_, converged_, notes_
        As in :class:`evaluation.feedback.growth.GrowthModel` (``"mixed"`` only; else
        no sample and True).

    Notes
    -----
    Only sessions after the intake enter: the intake is the condition, and a client's intake
    session would compare the intake with itself. Expectations therefore start at session 2
    (:meth:`predict` gives NaN before). Intake is the episode's first ORS
    (:func:`evaluation.feedback.sessions.session_frame`). ``"percentile"`` quantiles are
    numpy's default (linear interpolation, R's type 7). ``"mixed"`` predictions are clipped
    to the ORS range 0–40. Both use every post-intake session seen, so they describe the
    clients who stayed: a local expectation, not a counterfactual.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n, k = 400, 6
    >>> intake = np.repeat(rng.normal(19, 5, n).round(1), k)
    >>> sess = np.tile(np.arange(1, k + 1), n)
    >>> ors = np.clip(intake + 3 * np.log(sess) + rng.normal(0, 2, n * k) * (sess > 1), 0, 40)
    >>> f = pd.DataFrame({"client": np.repeat(np.arange(n), k), "session": sess,
    ...                   "ors_total": ors.round(1), "intake_ors": intake})
    >>> etr = ExpectedResponse(method="percentile").fit(f)
    >>> etr.predict([19, 19], [2, 6]).round(1)
       intake  session  expected  lower  upper
    0    19.0        2      20.8   19.3   22.2
    1    19.0        6      24.3   22.5   25.4
    >>> etr.curves_["label"].iloc[0]
    'locally derived'
    """

    def __init__(self, method: str = "mixed", band=(0.25, 0.5), *, reliable_change: float = 5.0,
                 min_count: int = 20, max_clients: int | None = None, seed: int = 0):
        self.method, self.band, self.reliable_change = method, band, reliable_change
        self.min_count, self.max_clients, self.seed = min_count, max_clients, seed

    def fit(self, frame: pd.DataFrame) -> "ExpectedResponse":
        """Estimate the curves from a per-session frame (``session_frame``)."""
        func = "ExpectedResponse.fit"
        self._check(func)
        post = _post_intake(frame, func)
        if post.empty:
            raise ParameterError(f"{func}: no session after an intake; an expectation needs "
                                 f"clients seen at least twice.")
        self.label_ = LABEL
        self.n_clients_, self.n_sessions_ = int(post["client"].nunique()), len(post)
        self.max_session_ = int(post["session"].max())
        levels = np.arange(ORS_RANGE[0], ORS_RANGE[1] + 1)
        sessions = np.arange(2, self.max_session_ + 1)
        lo, mid = self.band
        qs = (lo, mid, 1 - lo) if self.method == "percentile" else ()
        counts, quant = _cells(post, levels, sessions, qs)
        thin = counts < self.min_count
        self.fixed_effects_, self.converged_, self.notes_ = None, True, []
        self.sampled_ = sample_clients(post, None)[1]
        if self.method == "percentile":
            expected, lower, upper = (np.where(thin, np.nan, quant[i]) for i in (1, 0, 2))
            note = np.where(thin, f"fewer than {self.min_count} clients with intake within ±1 "
                                  f"at this session: no expectation", "")
        else:
            expected = self._mixed_curves(post, levels, sessions)
            lower = np.clip(expected - self.reliable_change, *ORS_RANGE)
            upper = np.clip(expected + self.reliable_change, *ORS_RANGE)
            note = np.where(thin, f"model-based: fewer than {self.min_count} clients with intake "
                                  f"within ±1 at this session", "")
        grid = pd.MultiIndex.from_product([levels, sessions], names=["intake", "session"])
        self.curves_ = pd.DataFrame({"expected": expected.ravel(), "lower": lower.ravel(),
                                     "upper": upper.ravel(), "n_clients": counts.ravel(),
                                     "note": note.ravel(), "label": LABEL},
                                    index=grid).reset_index()
        self._grid = (levels[0], expected, lower, upper)
        return self

    @classmethod
    def from_curves(cls, curves: pd.DataFrame, *, label: str = LABEL) -> "ExpectedResponse":
        """An expectation from a given table: ``intake`` (whole scores), ``session`` (≥ 2),
        ``expected``, ``lower`` and optionally ``upper``, for instance one derived elsewhere.
        :meth:`predict` looks it up as for ``"percentile"`` (intake rounded to whole points)."""
        need = ["intake", "session", "expected", "lower"]
        missing = [c for c in need if c not in curves.columns]
        if missing:
            raise ParameterError(f"ExpectedResponse.from_curves: the table has no column(s) "
                                 f"{missing}; it has {list(curves.columns)}.")
        whole = np.isfinite(curves["intake"]) & (np.mod(curves["intake"], 1) == 0)
        if not (whole.all() and (curves["session"] >= 2).all()):
            raise ParameterError("ExpectedResponse.from_curves: intake must be whole scores and "
                                 "session numbers 2 or more (the intake session has no "
                                 "expectation).")
        self = cls(method="percentile")
        c = curves.assign(upper=curves["upper"] if "upper" in curves.columns else np.nan)
        levels = np.arange(int(c["intake"].min()), int(c["intake"].max()) + 1)
        self.max_session_ = int(c["session"].max())
        arrays = []
        for col in ("expected", "lower", "upper"):
            a = np.full((len(levels), self.max_session_ - 1), np.nan)
            a[c["intake"].astype(int) - levels[0], c["session"].astype(int) - 2] = c[col]
            arrays.append(a)
        self._grid = (levels[0], *arrays)
        self.curves_, self.label_ = c.assign(label=label), label
        return self

    def predict(self, intake, session) -> pd.DataFrame:
        """Target (``expected``), ``lower`` and ``upper`` for intake scores and session numbers
        (array-likes of equal length, or scalars); NaN where there is no expectation."""
        intake = np.atleast_1d(np.asarray(intake, dtype=float))
        session = np.atleast_1d(np.asarray(session, dtype=float))
        intake, session = np.broadcast_arrays(intake, session)
        out = {"intake": intake, "session": session.astype(int) if np.all(np.isfinite(session))
               else session}
        ok = np.isfinite(intake) & np.isfinite(session) & (session >= 2) & \
            (session <= getattr(self, "max_session_", -1))
        if self.method == "mixed" and getattr(self, "_beta", None) is not None:
            b0, b1, b2, b3 = self._beta
            t = np.log(np.where(ok, session, 1.0))
            exp_ = np.clip(b0 + b1 * t + b2 * intake + b3 * t * intake, *ORS_RANGE)
            cols = [exp_, np.clip(exp_ - self.reliable_change, *ORS_RANGE),
                    np.clip(exp_ + self.reliable_change, *ORS_RANGE)]
        else:
            first, *arrays = self._grid
            row = np.floor(np.where(ok, intake, first) + 0.5).astype(int) - first
            ok &= (row >= 0) & (row < arrays[0].shape[0])
            row = np.where(ok, row, 0)
            col = np.where(ok, session, 2).astype(int) - 2
            cols = [a[row, col] for a in arrays]
        for name, values in zip(("expected", "lower", "upper"), cols):
            out[name] = np.where(ok, values, np.nan)
        return pd.DataFrame(out)

    # -- steps ---------------------------------------------------------------------------------
    def _check(self, func: str) -> None:
        check_param(func, "method", self.method, [Options(METHODS)])
        try:
            lo, mid = (float(b) for b in self.band)
        except (TypeError, ValueError):
            raise ParameterError(f"{func}: band must be two quantiles (lower, target), got "
                                 f"{self.band!r}.") from None
        if not 0 < lo < mid < 1:
            raise ParameterError(f"{func}: band must satisfy 0 < lower < target < 1, got "
                                 f"{self.band!r}.")
        check_param(func, "reliable_change", self.reliable_change,
                    [Interval(0, None, closed="neither")])
        check_param(func, "max_clients", self.max_clients, [Interval(2, None, integral=True), None])
        check_param(func, "min_count", self.min_count, [Interval(1, None, integral=True)])

    def _mixed_curves(self, post: pd.DataFrame, levels, sessions) -> np.ndarray:
        data = pd.DataFrame({"y": post["ors_total"].to_numpy(), "g": post["client"].to_numpy(),
                             "t": np.log(post["session"].to_numpy(dtype=float)),
                             "i": post["intake_ors"].to_numpy()})
        max_clients = None if self.max_clients is None else int(self.max_clients)
        data, self.sampled_, note, _ = sample_clients(data, max_clients, group="g", seed=self.seed)
        fit, _, notes = fit_mixed("y ~ t * i", data, True)
        self.notes_ = ([note] if note else []) + notes
        self.converged_ = bool(fit is not None and fit.converged)
        if fit is None:
            self._beta = None
            return np.full((len(levels), len(sessions)), np.nan)
        fe = fit.fe_params
        terms = ["Intercept", "t", "i", "t:i"]
        self._beta = tuple(float(fe[k]) for k in terms)
        self.fixed_effects_ = _coefficients(fit, terms, int(data["g"].nunique()), self.notes_)
        t = np.log(sessions)[None, :]
        lv = levels[:, None].astype(float)
        b0, b1, b2, b3 = self._beta
        return np.clip(b0 + b1 * t + b2 * lv + b3 * t * lv, *ORS_RANGE)


def alerts(frame: pd.DataFrame, expected) -> pd.DataFrame:
    """OpenFIT's ORS alert per session, against a locally derived expectation.

    Parameters
    ----------
    frame : DataFrame
        A per-session frame with ``client``, ``session``, ``ors_total`` and ``intake_ors``
        (:func:`evaluation.feedback.sessions.session_frame`).
    expected : ExpectedResponse
        Fitted (or any object whose ``predict(intake, session)`` returns ``expected`` and
        ``lower`` columns).

    Returns
    -------
    DataFrame
        On ``frame``'s index: the frame's key columns (those present of ``person_id``,
        ``episode``, ``client``, ``institution``, ``session``), ``ors_total``, ``intake_ors``,
        ``ors_number`` (how many ORS the episode has so far, this one included), ``target``,
        ``lower``, ``alert`` (categorical: grey, green, orange, red), ``reason`` and ``label``.

    Notes
    -----
    OpenFIT's rules ("Overview of the home page dashboard alerts"): grey when the client has
    at most one ORS so far (so the intake session is grey); green when ORS ≥ target; orange
    when target > ORS ≥ lower bound; red when ORS < lower bound. Where the expectation has no
    value for the client's intake and session (a thin cell, or beyond the last session seen)
    the alert is grey too, with that reason: no judgement is made without a reference.

    Examples
    --------
    >>> class Flat:  # target 25, lower bound 20 everywhere after the intake
    ...     label_ = "locally derived"
    ...     def predict(self, intake, session):
    ...         s = np.asarray(session)
    ...         return pd.DataFrame({"expected": np.where(s >= 2, 25.0, np.nan),
    ...                              "lower": np.where(s >= 2, 20.0, np.nan)})
    >>> f = pd.DataFrame({"client": "a/1", "session": [1, 2, 3, 4],
    ...                   "ors_total": [18.0, 25.0, 24.9, 19.9], "intake_ors": 18.0})
    >>> alerts(f, Flat())[["session", "ors_total", "target", "lower", "alert"]]
       session  ors_total  target  lower   alert
    0        1       18.0     NaN    NaN    grey
    1        2       25.0    25.0   20.0   green
    2        3       24.9    25.0   20.0  orange
    3        4       19.9    25.0   20.0     red
    """
    func = "alerts"
    need = ["client", "session", "ors_total", "intake_ors"]
    require_frame(frame, need, func, "frame", hint="build it with session_frame().")
    if not hasattr(expected, "predict"):
        raise ParameterError(f"{func}: expected must be a fitted ExpectedResponse, got "
                             f"{type(expected).__name__}.")
    keys = [c for c in ("person_id", "episode", "client", "institution", "session") if c in frame]
    out = frame[keys + ["ors_total", "intake_ors"]].copy()
    ors = frame["ors_total"].to_numpy(dtype=float)
    has = np.isfinite(ors)
    # The ORS count so far: rows with an ORS, numbered in session order within the episode
    # (a running sum restarted at each client: cumsum minus its value before the client).
    codes = pd.factorize(frame["client"])[0]
    order = np.lexsort((frame["session"].to_numpy(), codes))
    run = np.cumsum(has[order])
    new_client = np.r_[True, codes[order][1:] != codes[order][:-1]]
    before = (run - has[order])[new_client]
    number = np.empty(len(frame), dtype=np.int64)
    number[order] = run - np.repeat(before, np.diff(np.r_[np.flatnonzero(new_client), len(frame)]))
    pred = expected.predict(frame["intake_ors"].to_numpy(dtype=float),
                            frame["session"].to_numpy(dtype=float))
    target, lower = pred["expected"].to_numpy(), pred["lower"].to_numpy()
    first = has & (number <= 1)
    none = has & ~first & ~(np.isfinite(target) & np.isfinite(lower))
    conditions = [~has, first, none, ors >= target, ors >= lower]
    code = np.select(conditions, [0, 0, 0, 1, 2], default=3)
    why = np.select(conditions, [0, 1, 2, 3, 4], default=5)
    out["ors_number"] = number
    out["target"], out["lower"] = np.where(first, np.nan, target), np.where(first, np.nan, lower)
    out["alert"] = pd.Categorical.from_codes(code, categories=list(ALERTS))
    out["reason"] = pd.Categorical.from_codes(why, categories=list(REASONS))
    out["label"] = getattr(expected, "label_", LABEL)
    return out


# helpers ----------------------------------------------------------------------------------------

def _coefficients(fit, terms, n_clients: int, notes) -> pd.DataFrame:
    """The ETR model's fixed effects as an estimate table (Wald 95 % intervals)."""
    names = ["Intercept", "log_session", "intake_ors", "intake_ors:log_session"]
    z = stats.norm.ppf(0.975)
    rows = []
    for term, name in zip(terms, names):
        est, se = float(fit.fe_params[term]), float(fit.bse_fe[term])
        rows.append(estimate_row(
            outcome="ors_total", method="mixed model (REML)", estimand="expected response",
            scale="coefficient (ORS points)", estimate=est, ci_low=est - z * se,
            ci_high=est + z * se, p_value=float(2 * stats.norm.sf(abs(est / se))) if se > 0
            else np.nan, n=n_clients, note="; ".join(notes) + (f"; {LABEL}" if notes else LABEL),
            term=name, se=se, label=LABEL))
    return estimate_table(rows)


def _post_intake(frame: pd.DataFrame, func: str) -> pd.DataFrame:
    need = ["client", "session", "ors_total", "intake_ors"]
    require_frame(frame, need, func, "frame", hint="build it with session_frame().")
    f = frame[need].dropna()
    # The intake row is each client's first: later rows (by session number) are post-intake.
    first_session = f.groupby("client", sort=False)["session"].transform("min")
    return f[f["session"].to_numpy() > first_session.to_numpy()]


def _cells(post: pd.DataFrame, levels, sessions, qs):
    """Client counts and quantiles of the ORS per (intake level, session) cell, where a row
    belongs to every whole level within ±1 of its intake. Arrays (levels × sessions)."""
    intake = post["intake_ors"].to_numpy(dtype=float)
    sess = post["session"].to_numpy(dtype=np.int64)
    ors = post["ors_total"].to_numpy(dtype=float)
    base = np.floor(intake).astype(np.int64)
    lv, ss, yy = [], [], []
    for off in (-1, 0, 1, 2):
        level = base + off
        # A small tolerance: one-decimal intakes such as 18.1 sit exactly 1 from 17.1's levels.
        near = np.abs(intake - level) <= 1 + 1e-9
        lv.append(level[near]), ss.append(sess[near]), yy.append(ors[near])
    lv, ss, yy = np.concatenate(lv), np.concatenate(ss), np.concatenate(yy)
    inside = (lv >= levels[0]) & (lv <= levels[-1]) & (ss >= sessions[0]) & (ss <= sessions[-1])
    lv, ss, yy = lv[inside] - levels[0], ss[inside] - sessions[0], yy[inside]
    shape = (len(levels), len(sessions))
    cell = lv * shape[1] + ss
    counts = np.bincount(cell, minlength=shape[0] * shape[1])
    quant = []
    if qs:
        order = np.lexsort((yy, cell))
        y_sorted = yy[order]
        start = np.r_[0, np.cumsum(counts)[:-1]]
        n = counts.astype(float)
        for q in qs:
            # numpy's default quantile (R type 7): linear between order statistics.
            pos = q * np.maximum(n - 1, 0)
            lo_i = np.floor(pos).astype(np.int64)
            frac = pos - lo_i
            idx_lo = np.minimum(start + lo_i, len(y_sorted) - 1)
            idx_hi = np.minimum(idx_lo + (frac > 0), len(y_sorted) - 1)
            v = y_sorted[idx_lo] * (1 - frac) + y_sorted[idx_hi] * frac if len(y_sorted) \
                else n * np.nan
            quant.append(np.where(counts > 0, v, np.nan).reshape(shape))
    return counts.reshape(shape), quant
