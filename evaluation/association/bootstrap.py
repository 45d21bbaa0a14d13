"""A percentile bootstrap of AIPW that refits every model on each resample of people.

:func:`~.weighted_estimators.aipw` offers a multiplier bootstrap of its influence function
(``n_boot=``), which refits nothing; this one resamples people and refits the propensity and
outcome models each time, at the price of a model fit per replicate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.constraints import Interval, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import ROWS_ATTR, as_estimate_table, with_rows
from evaluation.association.analysis import adjustment_set
from evaluation.association.frame import analysis_frame
from evaluation.association.result_table import percentile_limits
from evaluation.association.weighted_estimators import aipw


@validate_params({"n_boot": [Interval(0, None, integral=True)],
                  "confidence": [Interval(0, 1, closed="neither")]})
def with_bootstrap(estimates: pd.DataFrame, study, outcomes, *, n_boot: int, seed: int,
                   estimand: str, covariates, confidence: float = 0.95) -> pd.DataFrame:
    """``estimates`` with an AIPW row per outcome whose CI is a percentile bootstrap.

    Parameters
    ----------
    estimates : pandas.DataFrame
        An estimate table (e.g. of :func:`~.analysis.evaluate`); returned unchanged when
        ``n_boot`` is 0.
    study : Study
        The study the outcomes are taken from (:func:`~.frame.analysis_frame`).
    outcomes : list of str
        Outcome names of the study.
    n_boot : int
        Resamples of people (with replacement); a resample on which AIPW cannot be estimated
        (one arm missing in some stratum) is skipped and the note counts those used.
    seed : int
        Seed of the resampling.
    estimand, covariates
        As for :func:`~.analysis.evaluate`.
    confidence : float
        Confidence level of the percentile interval (0.95).

    Returns
    -------
    pandas.DataFrame
        An estimate table: ``estimates`` and a row per outcome with method
        ``'AIPW (bootstrap)'``: AIPW's point estimate with the percentile interval.
    """
    if not n_boot:
        return estimates
    rng = np.random.default_rng(seed)
    rows = []
    for name in outcomes:
        frame = analysis_frame(study, name, covariates=covariates)
        covs = adjustment_set(frame)
        base = aipw(frame.data, frame.outcome, frame.exposure, covs, estimand=estimand, kind=frame.kind)
        draws = []
        for _ in range(n_boot):
            sample = frame.data.iloc[rng.integers(0, len(frame.data), len(frame.data))]
            try:
                draws.append(aipw(sample, frame.outcome, frame.exposure, covs, estimand=estimand,
                                  kind=frame.kind)["estimate"].iloc[0])
            except ParameterError:
                continue   # a resample without both arms in some stratum: skipped, counted below
        row = base.iloc[[0]].copy()
        row["method"] = "AIPW (bootstrap)"
        row["ci_low"], row["ci_high"] = np.percentile(draws, percentile_limits(confidence))
        row["note"] = f"percentile CI from {len(draws)} of {n_boot} resamples"
        row["outcome"] = name
        rows.append(row)
    out = as_estimate_table(pd.concat([estimates, *rows], ignore_index=True))
    return _marks_kept(estimates, out)


def _marks_kept(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The people marks of ``before`` (``with_rows``) on ``after``: concat drops attrs that
    differ, and unmarked, the n of a bootstrap row would not be known as the same people as
    the n of its outcome's other rows. A new row takes the marks of the first row of its
    outcome with the same n."""
    marked = before.attrs.get(ROWS_ATTR) or {}
    old = before.reset_index(drop=True)
    labels = list(before.index)
    for column, people in marked.items():
        rows = {pos: people[label] for pos, label in enumerate(labels) if label in people}
        for k in range(len(old), len(after)):
            same = [pos for pos in rows if old.at[pos, "outcome"] == after.at[k, "outcome"]
                    and old.at[pos, column] == after.at[k, column]]
            if same:
                rows[k] = rows[same[0]]
        after = with_rows(after, column, rows)
    return after
    old = before.reset_index(drop=True)
    labels = list(before.index)
    for column, people in marked.items():
        for k in range(len(old), len(after)):
            same = old.index[(old["outcome"] == after.at[k, "outcome"])
                             & (old[column] == after.at[k, column])]
            if len(same) and labels[same[0]] in people:
                after = with_rows(after, column, {**(after.attrs.get(ROWS_ATTR) or {}).get(
                    column, {}), k: people[labels[same[0]]]})
        if column not in (after.attrs.get(ROWS_ATTR) or {}):
            after = with_rows(after, column, {pos: people[label] for pos, label
                                              in enumerate(labels) if label in people})
    return after
