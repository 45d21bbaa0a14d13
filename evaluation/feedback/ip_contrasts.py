"""Feedback measures by IP status, adjusted as the headline analysis adjusts: the same
analysis frames, estimators, E-values and Holm correction (:mod:`evaluation.association`),
applied to outcomes that live outside the person table (an FIT episode's change, whether it
improved reliably, an INSPIRE score).

One row per person enters: the first episode (or the first INSPIRE year) of each, since the
estimators assume independent people and who gets an IP is a property of the person.
"""
from __future__ import annotations

import pandas as pd

from evaluation.association.analysis import COLUMNS, evaluate_frames
from evaluation.association.frame import outcome_frame
from evaluation.constraints import require_frame
from evaluation.errors import ParameterError
from evaluation.estimates import as_estimate_table, with_counts

DEFAULT_METHODS = ("crude", "adjusted", "aipw")
SHOWN_COLUMNS = ["outcome", "method", "scale", "estimate", "ci_low", "ci_high", "p_value",
                 "p_adjusted", "n", "n_exposed", "e_value"]
"""The columns of :func:`compare_by_ip`'s estimates that the feedback report shows."""
INSPIRE_SHOWN_COLUMNS = ["outcome", "method", "scale", "estimate", "ci_low", "ci_high",
                         "p_adjusted", "n", "n_exposed"]
"""The columns shown of the INSPIRE contrasts (no E-values: scores with no clinical threshold)."""


def shown_contrasts(estimates: pd.DataFrame, columns=SHOWN_COLUMNS) -> pd.DataFrame:
    """The columns of an estimate table a report shows (those present, in ``columns``' order).

    >>> t = pd.DataFrame({"outcome": ["x"], "estimate": [1.0], "se": [0.1], "n": [40]})
    >>> list(shown_contrasts(t).columns)
    ['outcome', 'estimate', 'n']
    """
    return estimates[[c for c in columns if c in estimates.columns]]


def first_episode_outcomes(changes: pd.DataFrame, id_column: str):
    """The first episode with a change of each person, and the FIT outcomes to compare by IP.

    Returns
    -------
    (DataFrame, dict)
        One row per person (the first episode in episode order among those with a change),
        ``reliable_improvement`` and ``dropout`` as 0/1 floats; and the outcomes for
        :func:`compare_by_ip`: ``change`` (continuous), ``reliable_improvement`` (binary) and,
        when any episode's end reason is known, ``dropout`` (binary, lower is better).
    """
    require_frame(changes, [id_column, "episode", "change", "reliable_improvement", "dropout"],
                  "first_episode_outcomes", "changes")
    first = first_per_person(changes.dropna(subset=["change"]), id_column, ["episode"])
    first["reliable_improvement"] = first["reliable_improvement"].astype(float)
    outcomes = {"change": "continuous", "reliable_improvement": "binary"}
    if first["dropout"].notna().any():
        first["dropout"] = first["dropout"].astype(float)
        outcomes["dropout"] = ("binary", True)
    return first, outcomes


def first_per_person(data: pd.DataFrame, id_column: str, order) -> pd.DataFrame:
    """The first row per person in the order of the ``order`` columns."""
    order = [order] if isinstance(order, str) else list(order)
    return data.sort_values(order, kind="stable").drop_duplicates(id_column).reset_index(drop=True)


def compare_by_ip(study, values: pd.DataFrame, outcomes: dict, *, methods=DEFAULT_METHODS,
                  estimand: str = "ATE", covariates=None):
    """Adjusted IP contrasts for per-person ``values``.

    Parameters
    ----------
    values : DataFrame
        One row per person: the study's id column and one column per outcome.
    outcomes : dict
        Outcome column -> ``"binary"`` or ``"continuous"``, or ``(kind, True)`` for an outcome
        where lower is better (it orients the E-values' notes, not the estimates).

    Returns
    -------
    (estimates, rows)
        As :func:`evaluation.association.analysis.evaluate`: a row per outcome × method ×
        scale with CI, p-value (and Holm-adjusted across these outcomes), n, n exposed and
        E-value; and the rows used and left out per outcome, with reasons.
    """
    if not outcomes:
        raise ParameterError("compare_by_ip: name at least one outcome column.")
    ids = study.manifest.id_column
    require_frame(values, [ids, *outcomes], "compare_by_ip", "values")
    if values[ids].duplicated().any():
        raise ParameterError(f"compare_by_ip: one row per person is needed; some {ids} have "
                             f"several (take the first episode or year: first_per_person).")
    frames, unusable = {}, []
    for column, kind in outcomes.items():
        lower = False
        if isinstance(kind, tuple):
            kind, lower = kind
        try:
            frames[column] = outcome_frame(study, values, column, kind=kind,
                                           covariates=covariates, lower_is_better=lower)
        except ParameterError as exc:
            if kind not in {"binary", "continuous"}:
                raise
            # Too few people with this outcome (one small institution): said, not fatal.
            unusable.append({"outcome": column, "reason": f"not estimated: {exc}", "rows": 0})
    # A method that fails for one outcome (perfect separation in one institution's few
    # people) is listed with its reason; the other estimates stand.
    if frames:
        estimates, rows = evaluate_frames(frames, methods=methods, estimand=estimand,
                                          on_error="note")
    else:
        estimates = as_estimate_table(pd.DataFrame(columns=COLUMNS))
        rows = pd.DataFrame(columns=["outcome", "reason", "rows"])
    rows = pd.concat([rows, pd.DataFrame(unusable, columns=["outcome", "reason", "rows"])],
                     ignore_index=True)
    return estimates, with_counts(rows, "rows")
