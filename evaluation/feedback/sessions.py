"""The per-session analysis frame of the FIT data: one row per session with an ORS total.

Growth models and the expected treatment response work on sessions, not on people: each row is
one ORS given at the start of one session of one client episode, carrying the episode's intake
score, the person's IP status and the covariates to adjust for. :func:`session_frame` builds it
from a study (or from a session table and a person table) and accounts for every row it leaves
out.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from evaluation.constraints import name_list, require_frame
from evaluation.errors import ParameterError

KEY = ["person_id", "episode"]
REASONS = ("no person or episode", "no valid session number",
           "duplicate session (same person, episode and session number)", "no ORS total")


def session_frame(study_or_sessions, persons: pd.DataFrame | None = None, *,
                  covariates: Sequence[str] = ("severity",), exposure: str | None = "has_ip",
                  episodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per FIT session with an ORS total, ready for growth models and ETR curves.

    Parameters
    ----------
    study_or_sessions : Study or DataFrame
        A :class:`evaluation.Study` (its ``"fit"`` table, its person table and, when the study
        has it, its ``"fit_episodes"`` table are used), or a session table with ``person_id``,
        ``episode``, ``session`` (1, 2, ... within the episode) and ``ors_total``; optional
        ``srs_total``, ``institution`` and ``date``.
    persons : DataFrame, optional
        One row per ``person_id`` with the exposure and covariates. With a study, its
        ``person_table()`` is the default. Without one, they are taken from the session table.
    covariates : list of str
        Person columns to carry (default ``("severity",)``).
    exposure : str or None
        The person's exposure column (default ``"has_ip"``); None for none.
    episodes : DataFrame, optional
        One row per person × episode with ``end_reason``; gives the ``dropout`` column
        (1 when ``end_reason == "dropout"``). With a study, its ``"fit_episodes"`` table.

    Returns
    -------
    DataFrame
        Sorted by person, episode and session, with columns ``person_id``, ``episode``,
        ``client`` (``"<person_id>/<episode>"``: the grouping key of a client episode),
        ``institution``, ``session``, ``log_session`` (ln of the session number),
        ``ors_total``, ``srs_total``, ``intake_ors``, then ``dropout`` (when episodes are
        known), the exposure and the covariates.

        ``attrs["left_out"]`` counts the session rows left out, by reason (every reason is
        listed, with 0 when none): no person or episode; no valid session number (missing,
        not a whole number, or below 1); a duplicate of an earlier row of the same person,
        episode and session number (the first is kept); no ORS total. ``attrs["rows_in"]``
        is the number of session rows read, so rows in = rows kept + rows left out.
        ``attrs["missing"]`` counts the rows kept whose exposure, covariate or dropout value
        is missing (the models that need these leave those rows out and say so).

    Notes
    -----
    ``intake_ors`` is the ORS total of the first session of the episode that has one (in
    session-number order), as in :func:`evaluation.feedback.change.episode_change`. When the
    first session's ORS is missing, the intake is the next session's; its row then has
    ``session`` > 1. ``log_session`` is the time scale of the synthetic generator and of
    OpenFIT-style trajectories: change is fastest in the first sessions.

    Examples
    --------
    >>> s = pd.DataFrame({"person_id": ["a", "a", "a", "b", "b"], "episode": 1,
    ...                   "session": [1, 2, 3, 1, 2], "ors_total": [18.0, None, 24.5, 30.0, 29.0]})
    >>> p = pd.DataFrame({"person_id": ["a", "b"], "has_ip": [1, 0], "severity": [6.5, 3.0]})
    >>> f = session_frame(s, p)
    >>> f[["client", "session", "ors_total", "intake_ors", "has_ip", "severity"]]
      client  session  ors_total  intake_ors  has_ip  severity
    0    a/1        1       18.0        18.0       1       6.5
    1    a/1        3       24.5        18.0       1       6.5
    2    b/1        1       30.0        30.0       0       3.0
    3    b/1        2       29.0        30.0       0       3.0
    >>> f.attrs["left_out"]["no ORS total"], f.attrs["rows_in"]
    (1, 5)
    """
    func = "session_frame"
    covariates = name_list(covariates, "covariates", func)
    if hasattr(study_or_sessions, "table") and hasattr(study_or_sessions, "person_table"):
        study = study_or_sessions
        sessions = study.table("fit")
        if persons is None:
            persons = study.person_table()
        if episodes is None and "fit_episodes" in getattr(study, "source_names", []):
            episodes = study.table("fit_episodes")
    elif isinstance(study_or_sessions, pd.DataFrame):
        sessions = study_or_sessions
    else:
        raise ParameterError(f"{func}: expected a Study or a session DataFrame, got "
                             f"{type(study_or_sessions).__name__}.")
    require_frame(sessions, KEY + ["session", "ors_total"], func, "the session table")
    person_columns = ([exposure] if exposure else []) + covariates
    if len(set(person_columns)) < len(person_columns):
        raise ParameterError(f"{func}: {person_columns} names a column twice among exposure "
                             f"and covariates.")

    rows_in = len(sessions)
    keep = ["person_id", "episode", "session", "ors_total"]
    keep += [c for c in ("institution", "srs_total") if c in sessions.columns]
    if persons is None:
        keep += [c for c in person_columns if c not in keep]
        require_frame(sessions, person_columns, func, "the session table (no person table given)")
    f = sessions[keep].reset_index(drop=True)

    left_out = dict.fromkeys(REASONS, 0)
    no_key = f["person_id"].isna().to_numpy() | f["episode"].isna().to_numpy()
    session = pd.to_numeric(f["session"], errors="coerce").to_numpy(dtype=float)
    bad_session = ~no_key & ~(np.isfinite(session) & (session >= 1) & (np.mod(session, 1) == 0))
    left_out[REASONS[0]], left_out[REASONS[1]] = int(no_key.sum()), int(bad_session.sum())
    f = f[~(no_key | bad_session)]
    f = f.assign(session=session[~(no_key | bad_session)].astype(np.int64))
    # Stable sort keeps the file order among duplicates, so "the first is kept" means the
    # earlier row of the file.
    f = f.sort_values(KEY + ["session"], kind="stable")
    twice = f.duplicated(KEY + ["session"]).to_numpy()
    left_out[REASONS[2]] = int(twice.sum())
    f = f[~twice]
    ors = pd.to_numeric(f["ors_total"], errors="coerce")
    left_out[REASONS[3]] = int(ors.isna().sum())
    f = f[ors.notna().to_numpy()].reset_index(drop=True)
    f["ors_total"] = f["ors_total"].astype(float)

    f["client"] = f["person_id"].astype(str) + "/" + f["episode"].astype(str)
    # Rows are sorted by client and session, so the first row of each client is its intake.
    first = np.r_[True, f["client"].to_numpy()[1:] != f["client"].to_numpy()[:-1]]
    starts = np.flatnonzero(first)
    f["intake_ors"] = np.repeat(f["ors_total"].to_numpy()[starts], np.diff(np.r_[starts, len(f)]))
    f["log_session"] = np.log(f["session"].to_numpy(dtype=float))
    if "institution" not in f.columns:
        f["institution"] = pd.NA
    if "srs_total" not in f.columns:
        f["srs_total"] = np.nan

    extra = []
    if episodes is not None:
        require_frame(episodes, KEY + ["end_reason"], func, "the episode table")
        ep = episodes.drop_duplicates(KEY)[KEY + ["end_reason"]]
        reason = f[KEY].merge(ep, on=KEY, how="left")["end_reason"]
        f["dropout"] = np.where(reason.isna(), np.nan, (reason == "dropout").astype(float))
        extra.append("dropout")
    if persons is not None and person_columns:
        require_frame(persons, ["person_id"] + person_columns, func, "the person table")
        if persons["person_id"].duplicated().any():
            dup = persons.loc[persons["person_id"].duplicated(), "person_id"].iloc[0]
            raise ParameterError(f"{func}: the person table has person_id {dup!r} more than "
                                 f"once; it must have one row per person.")
        joined = f[["person_id"]].merge(persons[["person_id"] + person_columns],
                                        on="person_id", how="left")
        for col in person_columns:
            f[col] = joined[col].to_numpy()
    order = ["person_id", "episode", "client", "institution", "session", "log_session",
             "ors_total", "srs_total", "intake_ors", *extra, *person_columns]
    f = f[order]
    f.attrs["rows_in"] = int(rows_in)
    f.attrs["left_out"] = left_out
    f.attrs["missing"] = {c: int(f[c].isna().sum()) for c in [*extra, *person_columns]}
    return f


def sample_clients(data: pd.DataFrame, max_clients: int | None, *, group: str = "client",
                   by: str | None = None, seed: int = 0, name: str | None = None):
    """The rows of a random sample of ``max_clients`` client episodes, stratified by ``by``.

    Parameters
    ----------
    data : DataFrame
        A row per session, with the client column ``group`` and, if given, the stratum ``by``
        (constant within a client).
    max_clients : int or None
        Clients to keep; None, or at least as many as there are, keeps all.
    group, by : str
        Column names; ``name`` is how the notes call ``by`` (default: ``by``).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    (DataFrame, dict, str, int)
        The sampled rows; the record (``sampled``, ``n_clients``, ``of_clients``,
        ``stratified_by``, ``per_stratum``, ``seed``); a note ("" when all are kept); the
        number of rows left out.

    Notes
    -----
    Allocation is proportional (largest remainders), so the sample keeps the exposure mix of
    the whole data and estimates from it target the same quantity; only their precision is
    lower.

    Examples
    --------
    >>> d = pd.DataFrame({"client": np.repeat(np.arange(10), 2),
    ...                   "ip": np.repeat([0] * 6 + [1] * 4, 2)})
    >>> rows, record, note, gone = sample_clients(d, 5, by="ip")
    >>> record["per_stratum"], gone
    ({0: 3, 1: 2}, 10)
    >>> note
    'fitted on a random sample of 5 of 10 client episodes, stratified by ip (seed 0)'
    """
    if by is not None:
        clients = data.groupby(group, sort=True)[by].first()
    else:
        clients = pd.Series(0, index=np.sort(data[group].unique()))
    n_all, name = len(clients), name or by
    record = {"sampled": False, "n_clients": n_all, "of_clients": n_all, "stratified_by": None,
              "per_stratum": None, "seed": None}
    if max_clients is None or n_all <= max_clients:
        return data, record, "", 0
    rng = np.random.default_rng(seed)
    sizes = clients.value_counts().sort_index()
    share = sizes / n_all * max_clients
    take = np.floor(share).astype(int)
    # Largest remainders get the leftover places, so the strata add up to max_clients.
    for level in (share - take).sort_values(ascending=False).index[: max_clients - take.sum()]:
        take[level] += 1
    chosen = np.concatenate([rng.choice(clients.index[clients == level].to_numpy(),
                                        size=int(take[level]), replace=False)
                             for level in sizes.index])
    keep = data[group].isin(chosen).to_numpy()
    record = {"sampled": True, "n_clients": int(take.sum()), "of_clients": n_all,
              "stratified_by": name,
              "per_stratum": {(int(k) if by else "all"): int(v) for k, v in take.items()},
              "seed": seed}
    note = (f"fitted on a random sample of {int(take.sum()):,} of {n_all:,} client episodes"
            + (f", stratified by {name}" if by else "") + f" (seed {seed})")
    return data[keep].reset_index(drop=True), record, note, int((~keep).sum())
