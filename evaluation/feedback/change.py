"""Change on the ORS over a client episode: reliable change and clinically significant change.

One row per person × episode, from the FIT session table (``Study.table("fit")``): the ORS at
intake and at the last session with an ORS, the change, and its Jacobson & Truax (1991)
category. The numbers that decide a category (the reliable-change value, the clinical cutoff
and its boundary) are parameters whose defaults are those of ``instruments/ors.yaml``, where
their sources are written down: a change of 5 points (a third-party source; OpenFIT uses a
severity-adjusted effect size instead) and a cutoff of 25 for adults, with the boundary
disputed ("<" or "<="). ``method="jacobson_truax"`` replaces the fixed 5 by the RCI computed
from the data.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evaluation.constraints import Interval, Options, name_list, require_frame, validate_params
from evaluation.describe import proportion_ci
from evaluation.errors import ParameterError
from evaluation.estimates import measure_table
from evaluation.instruments.definition import OPERATORS
from evaluation.instruments.psychometrics import cronbach_alpha

KEY = ["person_id", "episode"]
ORS_ITEMS = ["ors_1", "ors_2", "ors_3", "ors_4"]
CATEGORIES = ("recovered", "reliably improved", "no reliable change", "deteriorated")
SINGLE, NO_ORS = "single ORS", "no ORS"
ALL_CATEGORIES = CATEGORIES + (SINGLE, NO_ORS)
METHODS = ("fixed", "jacobson_truax")
CUTOFF_OPERATORS = ("<", "<=")
SHARE_MEASURE = "share of episodes"
RELIABILITY = Interval(0, 1, closed="neither")


@validate_params({"sd": [Interval(0, None, closed="neither")], "reliability": [RELIABILITY],
                  "z": [Interval(0, None, closed="neither")]})
def reliable_change_index(sd: float, reliability: float, z: float = 1.96) -> float:
    """The smallest change that is reliable: z · SD · sqrt(2 · (1 − r)).

    Parameters
    ----------
    sd : float
        Standard deviation of the scores at intake (pre-treatment).
    reliability : float
        Reliability of the score, between 0 and 1 (Cronbach's alpha or test–retest r).
    z : float
        Normal quantile; 1.96 for a two-sided 95 % criterion.

    Returns
    -------
    float

    Notes
    -----
    Jacobson & Truax (1991): the standard error of the difference of two scores is
    :math:`S_{diff} = \\sqrt{2 S_E^2}` with :math:`S_E = SD\\sqrt{1-r}`, so a change is reliable
    when it exceeds :math:`z \\cdot SD \\sqrt{2(1-r)}`.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
    defining meaningful change in psychotherapy research. Journal of Consulting and Clinical
    Psychology, 59(1), 12–19.

    Examples
    --------
    By hand: 1.96 · 7 · sqrt(2 · 0.1) = 13.72 · 0.447214 = 6.1358.

    >>> round(reliable_change_index(7.0, 0.90), 4)
    6.1358
    """
    return float(z * sd * math.sqrt(2 * (1 - reliability)))


@validate_params({"sessions": ["frame"], "episodes": ["frame", None],
                  "reliable_change": [Interval(0, None, closed="neither")],
                  "method": [Options(METHODS)], "reliability": [RELIABILITY, None],
                  "cutoff": [Interval()], "operator": [Options(CUTOFF_OPERATORS)]})
def episode_change(sessions: pd.DataFrame, episodes: pd.DataFrame | None = None, *,
                   reliable_change: float = 5.0, method: str = "fixed",
                   reliability: float | None = None, cutoff: float = 25.0,
                   operator: str = "<") -> pd.DataFrame:
    """ORS change per client episode, with its Jacobson–Truax category and dropout.

    Parameters
    ----------
    sessions : DataFrame
        A row per session: ``person_id``, ``episode``, ``session`` (number), ``ors_total``;
        optional ``institution``, ``date`` and, for ``method="jacobson_truax"``, ``ors_1`` to
        ``ors_4``. ``Study.table("fit")`` has them all.
    episodes : DataFrame, optional
        A row per person × episode with ``end_reason`` (``Study.table("fit_episodes")``).
        Without it ``dropout`` is missing.
    reliable_change : float
        Points of change that count as reliable, for ``method="fixed"`` (default 5,
        ``instruments/ors.yaml``). Ignored by ``"jacobson_truax"``, which computes its own.
    method : {'fixed', 'jacobson_truax'}
        ``"jacobson_truax"``: RCI = 1.96 · SD · sqrt(2(1 − r)) (:func:`reliable_change_index`),
        with SD the standard deviation of the intake ORS over episodes and r Cronbach's alpha
        of the four items at intake, unless ``reliability`` is given.
    reliability : float, optional
        r for ``"jacobson_truax"`` (for example a published alpha), in (0, 1).
    cutoff, operator : float, {'<', '<='}
        The clinical range is ``ors_total operator cutoff`` (default ``< 25``).

    Returns
    -------
    DataFrame
        A row per person × episode that has at least one session: ``sessions_attended``
        (session rows), ``first_date``/``last_date``, ``ors_sessions`` (sessions with an ORS
        total), ``intake_session``/``intake_ors`` (the first session with an ORS total, in session
        number order), ``last_ors_session``/``last_ors``, ``change`` (last − intake),
        ``reliable_change_value``, ``reliable_improvement``, ``reliable_deterioration``,
        ``clinical_at_intake``, ``clinical_at_last``, ``crossed_cutoff``, ``category``,
        ``end_reason`` and ``dropout``. ``attrs["reliable_change"]`` holds the rule used
        (value, method, r, sd, n) and ``attrs["clinical_cutoff"]`` the cutoff.

    Notes
    -----
    Categories (Jacobson & Truax 1991), with RC the reliable-change value:

    - ``recovered``: change ≥ RC and the ORS crossed from the clinical range at intake to the
      non-clinical range at the last session;
    - ``reliably improved``: change ≥ RC without that crossing (including episodes that started
      outside the clinical range);
    - ``deteriorated``: change ≤ −RC;
    - ``no reliable change``: the rest;
    - ``single ORS``: one ORS total in the episode, so no change (kept and counted, not dropped);
    - ``no ORS``: sessions but no ORS total at all.

    ``dropout`` is True only when the episode's ``end_reason`` is ``"dropout"``: fewer sessions
    than planned is not dropout unless the end reason says so. Episodes in ``episodes`` with no
    session rows are not in the result (they have nothing to measure). For the data's own
    alpha, rows whose items were imputed from a total (``ors_items_imputed``) are left out: four
    equal items would inflate it.

    Examples
    --------
    >>> s = pd.DataFrame({"person_id": ["a", "a", "b", "b", "c"], "episode": 1,
    ...                   "session": [1, 2, 1, 2, 1], "ors_total": [18.0, 26.0, 30.0, 24.0, 20.0]})
    >>> episode_change(s)[["person_id", "intake_ors", "last_ors", "change", "category"]]
      person_id  intake_ors  last_ors  change      category
    0         a        18.0      26.0     8.0     recovered
    1         b        30.0      24.0    -6.0  deteriorated
    2         c        20.0      20.0     NaN    single ORS
    """
    func = "episode_change"
    if reliability is not None and method != "jacobson_truax":
        raise ParameterError(f"{func}: reliability= is used only by method='jacobson_truax'; "
                             f"method is {method!r}.")
    require_frame(sessions, KEY + ["session", "ors_total"], func, "sessions")

    s = sessions.sort_values(KEY + ["session"], kind="stable")
    groups = s.groupby(KEY, sort=True)
    out = groups.size().rename("sessions_attended").to_frame()
    if "institution" in s.columns:
        out.insert(0, "institution", groups["institution"].first())
    if "date" in s.columns:
        out["first_date"] = groups["date"].min()
        out["last_date"] = groups["date"].max()
    rated = s[s["ors_total"].notna()].groupby(KEY, sort=True)
    out["ors_sessions"] = rated.size().reindex(out.index).fillna(0).astype(int)
    out["intake_session"] = rated["session"].first().reindex(out.index).astype("Int64")
    out["intake_ors"] = rated["ors_total"].first().astype(float)
    out["last_ors_session"] = rated["session"].last().reindex(out.index).astype("Int64")
    out["last_ors"] = rated["ors_total"].last().astype(float)
    two = out["ors_sessions"] >= 2
    # Differences of one-decimal totals carry float error (23.3 − 18.3 is not exactly 5).
    out["change"] = (out["last_ors"] - out["intake_ors"]).where(two).round(9)

    rule = _rule(s, out, method, reliable_change, reliability)
    rc = rule["value"]
    compare = OPERATORS[operator]
    out["reliable_change_value"] = rc
    out["reliable_improvement"] = _flag(out["change"] >= rc, two)
    out["reliable_deterioration"] = _flag(out["change"] <= -rc, two)
    out["clinical_at_intake"] = _flag(compare(out["intake_ors"], cutoff), out["ors_sessions"] >= 1)
    out["clinical_at_last"] = _flag(compare(out["last_ors"], cutoff), out["ors_sessions"] >= 1)
    out["crossed_cutoff"] = _flag(out["clinical_at_intake"].fillna(False)
                                  & ~out["clinical_at_last"].fillna(True), two)
    improved = out["reliable_improvement"].fillna(False).astype(bool)
    crossed = out["crossed_cutoff"].fillna(False).astype(bool)
    out["category"] = np.select(
        [out["ors_sessions"] == 0, ~two, improved & crossed, improved,
         out["reliable_deterioration"].fillna(False).astype(bool)],
        [NO_ORS, SINGLE, "recovered", "reliably improved", "deteriorated"],
        default="no reliable change")

    out["end_reason"], out["dropout"] = _dropout(out.index, episodes, func)
    out = out.reset_index()
    out.attrs["reliable_change"] = rule
    out.attrs["clinical_cutoff"] = {"value": float(cutoff), "operator": operator}
    return out


@validate_params({"changes": ["frame"], "confidence": [Interval(0, 1, closed="neither")]})
def category_shares(changes: pd.DataFrame, by=None, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share of episodes in each change category, overall or per group, with Wilson CIs.

    Parameters
    ----------
    changes : DataFrame
        The result of :func:`episode_change`, with any grouping columns joined to it (for
        example ``has_ip`` from ``Study.person_table()`` on ``person_id``).
    by : str or list of str, optional
        Grouping columns; missing group values form their own group.
    confidence : float
        Level of the intervals.

    Returns
    -------
    DataFrame
        A measure table (:mod:`evaluation.estimates`), a row per (group ×) category: the
        groups, ``category``, ``measure`` ("share of episodes"), ``scale`` ("proportion"),
        ``estimate`` (the share), ``ci_low``, ``ci_high``, ``n`` (its denominator), ``note``,
        then ``count`` (its numerator) and ``denominator`` (what ``n`` counts). The four
        change categories share the denominator
        "episodes with a change" (two ORS or more); ``single ORS`` and ``no ORS`` are counted
        against "all episodes", so they are visible without diluting the others.

    Notes
    -----
    Wilson score intervals (:func:`evaluation.describe.overview.proportion_ci`, statsmodels'
    ``proportion_confint(method="wilson")``; in R ``prop.test(count, n, correct=FALSE)``).
    Rows with small counts are kept; the disclosure layer suppresses them when shown.

    Examples
    --------
    >>> ch = pd.DataFrame({"category": ["recovered", "recovered", "deteriorated",
    ...                                 "no reliable change", "single ORS"]})
    >>> category_shares(ch)[["category", "count", "n", "estimate"]]
                 category  count  n  estimate
    0           recovered      2  4      0.50
    1   reliably improved      0  4      0.00
    2  no reliable change      1  4      0.25
    3        deteriorated      1  4      0.25
    4          single ORS      1  5      0.20
    5              no ORS      0  5      0.00
    """
    func = "category_shares"
    groups = name_list(by, "by", func)
    require_frame(changes, ["category", *groups], func, "changes")
    unknown = sorted(set(changes["category"].dropna()) - set(ALL_CATEGORIES))
    if unknown:
        raise ParameterError(f"{func}: column 'category' holds {unknown}, not categories of "
                             f"episode_change ({', '.join(ALL_CATEGORIES)}).")
    parts = changes.groupby(groups, dropna=False, sort=True) if groups else [((), changes)]
    rows = []
    for keys, d in parts:
        keys = keys if isinstance(keys, tuple) else (keys,)
        counts = d["category"].value_counts()
        with_change = int(counts.reindex(list(CATEGORIES)).fillna(0).sum())
        for cat in ALL_CATEGORIES:
            n, denominator = ((with_change, "episodes with a change") if cat in CATEGORIES
                              else (len(d), "all episodes"))
            rows.append({**dict(zip(groups, keys)), "category": cat,
                         "count": int(counts.get(cat, 0)), "n": n, "denominator": denominator})
    out = pd.DataFrame(rows)
    out["estimate"] = (out["count"] / out["n"].where(out["n"] > 0)).round(9)
    out["ci_low"], out["ci_high"] = proportion_ci(out["count"], out["n"], confidence=confidence)
    out["measure"], out["scale"] = SHARE_MEASURE, "proportion"
    table = measure_table(out.to_dict("records"), keys=[*groups, "category"],
                          extra=["count", "denominator"])
    # For the disclosure layer: the categories of one denominator partition it (the four change
    # categories add up to "episodes with a change"), so hidden counts are closed within it.
    table.attrs.update(keys=[*groups, "denominator", "category"], views=["denominator"],
                       population="episodes")
    return table


def rule_text(changes: pd.DataFrame) -> str:
    """The reliable-change rule and clinical range :func:`episode_change` used, in one sentence
    (Markdown), from its ``attrs``.

    >>> s = pd.DataFrame({"person_id": ["a", "a"], "episode": 1, "session": [1, 2],
    ...                   "ors_total": [18.0, 26.0]})
    >>> rule_text(episode_change(s))
    'Reliable change: **5.00 ORS points** (fixed). Clinical range: ORS < 25.'
    """
    rule, cut = changes.attrs["reliable_change"], changes.attrs["clinical_cutoff"]
    data = f"; r = {rule['r']:.3f}, SD of intake = {rule['sd']:.2f}" if rule.get("r") else ""
    return (f"Reliable change: **{rule['value']:.2f} ORS points** ({rule['method']}{data}). "
            f"Clinical range: ORS {cut['operator']} {cut['value']:g}.")
def _rule(s: pd.DataFrame, out: pd.DataFrame, method: str, reliable_change: float,
          reliability: float | None) -> dict:
    if method == "fixed":
        return {"value": float(reliable_change), "method": "fixed", "r": None, "sd": None,
                "n": None, "source": "fixed value (instruments/ors.yaml: 5 points, secondary)"}
    intake = out["intake_ors"].dropna()
    if len(intake) < 2:
        raise ParameterError("episode_change: method='jacobson_truax' needs an intake ORS from at "
                             f"least 2 episodes for the SD; the data has {len(intake)}.")
    sd = float(intake.std(ddof=1))
    if not sd > 0:
        raise ParameterError("episode_change: the intake ORS totals do not vary (SD 0), so the "
                             "Jacobson–Truax RCI is undefined; use method='fixed'.")
    source = "given"
    if reliability is None:
        require_frame(s, ORS_ITEMS, "episode_change", "sessions (for the data's own alpha)")
        first = s[s["ors_total"].notna()].groupby(KEY, sort=True).head(1)
        if "ors_items_imputed" in first.columns:
            first = first[~first["ors_items_imputed"].fillna(False).astype(bool)]
        alpha = cronbach_alpha(first, ORS_ITEMS, nan_policy="listwise")
        reliability = float(alpha["estimate"].iloc[0])
        source = f"Cronbach's alpha of {', '.join(ORS_ITEMS)} at intake (n = {len(first)})"
        if not 0 < reliability < 1:
            raise ParameterError(f"episode_change: the data's own alpha is {reliability:.3f}, "
                                 f"outside (0, 1); give reliability= (for example a published "
                                 f"alpha) or use method='fixed'.")
    return {"value": reliable_change_index(sd, reliability), "method": "jacobson_truax",
            "r": float(reliability), "sd": sd, "n": int(len(intake)), "source": source}


def _dropout(index: pd.MultiIndex, episodes: pd.DataFrame | None, func: str):
    if episodes is None:
        return None, pd.array([pd.NA] * len(index), dtype="boolean")
    require_frame(episodes, KEY + ["end_reason"], func, "episodes")
    reason = episodes.drop_duplicates(KEY).set_index(KEY)["end_reason"].reindex(index)
    dropout = pd.Series(reason == "dropout", index=index).astype("boolean")
    dropout[reason.isna()] = pd.NA
    return reason.to_numpy(), dropout.to_numpy()


def _flag(values, defined) -> pd.Series:
    flag = pd.Series(values).astype("boolean")
    flag[~pd.Series(defined).astype(bool)] = pd.NA
    return flag

