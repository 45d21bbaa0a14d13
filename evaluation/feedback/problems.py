"""Problems in FIT session data that do not stop a row from loading, listed row by row.

The loader quarantines what cannot be used at all: an item outside 0–10, a date that is not a
date, a row without its key, and a second row with the same person × episode × session (the
source's ``unique:`` key; the later row is quarantined as a "duplicate submission of row …",
see ``Study.quarantine()``). What is left can be used but may mislead: sessions whose dates
contradict their numbers or their episode, sessions without an ORS total, totals whose items
were imputed. Those rows are listed here with their file row and kept in the table: whether to
leave them out is the analysis's decision, made in the open.
"""
from __future__ import annotations

import pandas as pd

from evaluation.constraints import require_frame
from evaluation.estimates import with_counts

KEY = ["person_id", "episode"]
COLUMNS = ["row", "person_id", "episode", "session", "problem", "value", "expected"]
OUT_OF_ORDER = "session out of order"
AFTER_END = "dated after the episode ended"
BEFORE_START = "dated before the episode started"
NO_EPISODE = "episode not in the episodes table"
NO_DATE = "no date"
NO_ORS = "no ORS total"
IMPUTED = "{} total given without items (items imputed as total/4)"
PROBLEMS = (OUT_OF_ORDER, AFTER_END, BEFORE_START, NO_EPISODE, NO_DATE, NO_ORS,
            IMPUTED.format("ORS"), IMPUTED.format("SRS"))


def session_problems(sessions: pd.DataFrame, episodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every session row with a problem, named, with its value and what was expected.

    Parameters
    ----------
    sessions : DataFrame
        ``Study.table("fit")``: ``person_id``, ``episode``, ``session``, and where present
        ``date``, ``ors_total`` (with ``ors_total_n_items``), ``ors_items_imputed``,
        ``srs_items_imputed``. Its index is the 1-based row of the raw file.
    episodes : DataFrame, optional
        ``Study.table("fit_episodes")`` with ``start_date`` and ``end_date``; without it the
        checks against the episode are skipped.

    Returns
    -------
    DataFrame
        ``row``, ``person_id``, ``episode``, ``session``, ``problem``, ``value``, ``expected``;
        a row per problem found (a session can have several), ordered by file row.

    Notes
    -----
    Problems:

    - ``session out of order``: dated earlier than a session with a lower number in the same
      person × episode (the higher-numbered session is listed; same-day sessions are fine);
    - ``dated after the episode ended`` / ``dated before the episode started``;
    - ``episode not in the episodes table``;
    - ``no date``;
    - ``no ORS total``: fewer than four ORS items and no total given;
    - ``ORS total given without items (items imputed as total/4)``, and the same for SRS (set by
      the loader; see ``evaluation.intake.totals``).

    Duplicate session numbers never reach this table: the loader quarantines them.

    Examples
    --------
    >>> s = pd.DataFrame({"person_id": "a", "episode": 1, "session": [1, 2, 3],
    ...                   "date": pd.to_datetime(["2024-01-10", "2024-01-05", "2024-01-20"]),
    ...                   "ors_total": [20.0, None, 24.0]}, index=[1, 2, 3])
    >>> for r in session_problems(s).itertuples():
    ...     print(r.row, r.session, r.problem, "|", r.value, "|", r.expected)
    2 2 session out of order | 2024-01-05 | on or after 2024-01-10 (date of session 1)
    2 2 no ORS total | 0 of 4 items | all 4 ORS items, or the total alone
    """
    func = "session_problems"
    require_frame(sessions, KEY + ["session"], func, "sessions")
    frames = []
    s = sessions.copy()
    s["row"] = sessions.index
    s = s.reset_index(drop=True)
    if "date" in s.columns:
        s["date"] = pd.to_datetime(s["date"], errors="coerce")
        frames.append(_out_of_order(s))
        frames.append(_problem(s, s["date"].isna(), NO_DATE, "", "the date of the session"))
    if episodes is not None and "date" in s.columns:
        frames += _against_episode(s, episodes, func)
    if "ors_total" in s.columns:
        missing = s["ors_total"].isna()
        if "ors_total_n_items" in s.columns:
            answered = s["ors_total_n_items"]
        else:
            answered = s[[c for c in s.columns if c in {"ors_1", "ors_2", "ors_3", "ors_4"}]
                         ].notna().sum(axis=1)
        frames.append(_problem(s, missing, NO_ORS, [f"{int(a)} of 4 items"
                                                    for a in answered[missing]],
                               "all 4 ORS items, or the total alone"))
    for name in ("ors", "srs"):
        flag = f"{name}_items_imputed"
        if flag in s.columns:
            imputed = s[flag].fillna(False).astype(bool)
            total = s.get(f"{name}_total", pd.Series(index=s.index, dtype=float))
            frames.append(_problem(s, imputed, IMPUTED.format(name.upper()),
                                   [f"total {t:g}" for t in total[imputed]],
                                   f"4 {name.upper()} item scores"))
    out = pd.concat([f for f in frames if len(f)] or [pd.DataFrame(columns=COLUMNS)],
                    ignore_index=True)
    order = {p: i for i, p in enumerate(PROBLEMS)}
    out["_order"] = out["problem"].map(order)
    out = out.sort_values(["row", "_order"], kind="stable").drop(columns="_order")
    return out.reset_index(drop=True)[COLUMNS]


def problem_summary(problems: pd.DataFrame) -> pd.DataFrame:
    """Counts per problem: rows, episodes and persons concerned (every known problem listed).

    Examples
    --------
    >>> p = pd.DataFrame({"row": [2, 5, 9], "person_id": ["a", "a", "b"], "episode": 1,
    ...                   "session": [2, 5, 1], "problem": ["no ORS total"] * 3,
    ...                   "value": "", "expected": ""})
    >>> problem_summary(p).query("rows > 0")
            problem  rows  episodes  persons
    5  no ORS total     3         2        2
    """
    require_frame(problems, ["problem", "person_id", "episode"], "problem_summary", "problems")
    names = list(PROBLEMS) + sorted(set(problems["problem"]) - set(PROBLEMS))
    rows = []
    for name in names:
        d = problems[problems["problem"] == name]
        rows.append({"problem": name, "rows": len(d),
                     "episodes": len(d.drop_duplicates(KEY)),
                     "persons": d["person_id"].nunique()})
    # Rows, episodes and persons are all counts (persons of people): the layer protects them.
    return with_counts(pd.DataFrame(rows), ["rows", "episodes", "persons"])


def _out_of_order(s: pd.DataFrame) -> pd.DataFrame:
    s = s.sort_values(KEY + ["session"], kind="stable")
    keys = [s[k] for k in KEY]
    # The latest date so far and the session that set it, carried over undated sessions.
    latest = s["date"].groupby(keys).cummax().groupby(keys).ffill()
    setter = s["session"].where(s["date"].notna() & (s["date"] == latest)).groupby(keys).ffill()
    before, by_session = latest.groupby(keys).shift(), setter.groupby(keys).shift()
    early = (s["date"] < before).fillna(False)
    return _problem(s, early, OUT_OF_ORDER, [d.date().isoformat() for d in s["date"][early]],
                    [f"on or after {d.date().isoformat()} (date of session {int(n)})"
                     for d, n in zip(before[early], by_session[early])])


def _against_episode(s: pd.DataFrame, episodes: pd.DataFrame, func: str) -> list:
    require_frame(episodes, KEY + ["start_date", "end_date"], func, "episodes")
    ep = episodes.drop_duplicates(KEY).set_index(KEY)[["start_date", "end_date"]]
    ep = ep.apply(pd.to_datetime, errors="coerce")
    known = pd.MultiIndex.from_frame(s[KEY]).isin(ep.index)
    span = ep.reindex(pd.MultiIndex.from_frame(s[KEY]))
    start, end = span["start_date"].to_numpy(), span["end_date"].to_numpy()
    after = pd.Series(s["date"].to_numpy() > end, index=s.index) & known
    before = pd.Series(s["date"].to_numpy() < start, index=s.index) & known
    dates = s["date"].dt.date.astype(str)
    return [
        _problem(s, after, AFTER_END, dates[after],
                 [f"on or before {pd.Timestamp(e).date()} (end of the episode)"
                  for e in end[after]]),
        _problem(s, before, BEFORE_START, dates[before],
                 [f"on or after {pd.Timestamp(b).date()} (start of the episode)"
                  for b in start[before]]),
        _problem(s, pd.Series(~known, index=s.index), NO_EPISODE,
                 [f"episode {e}" for e in s.loc[~known, "episode"]],
                 "a row in the episodes table"),
    ]


def _problem(s, mask, problem, values, expected) -> pd.DataFrame:
    mask = pd.Series(mask, index=s.index).fillna(False).astype(bool)
    if not mask.any():
        return pd.DataFrame(columns=COLUMNS)
    d = s.loc[mask]
    return pd.DataFrame({"row": d["row"].to_numpy(), "person_id": d["person_id"].to_numpy(),
                         "episode": d["episode"].to_numpy(), "session": d["session"].to_numpy(),
                         "problem": problem, "value": list(values) if not isinstance(values, str)
                         else values, "expected": expected}, columns=COLUMNS)


