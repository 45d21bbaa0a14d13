"""Text and tables of the headline report (notebooks/ip_evaluation.ipynb) that would otherwise
be code in its cells. They return text or frames; the notebook displays them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import ParameterError
from evaluation.estimates import with_counts
from evaluation.describe import coverage, severity_band
from evaluation.association.propensity import propensity_model
from evaluation.association.people_rows import arm_people, coverage_people

TABLE_ONE = ["variable", "level", "treated_n", "treated_mean", "treated_sd", "treated_count",
             "treated_percent", "control_n", "control_mean", "control_sd", "control_count",
             "control_percent", "smd"]
SHOWN = ["outcome", "method", "estimand", "scale", "estimate", "ci_low", "ci_high", "p_value",
         "p_adjusted", "n", "n_exposed", "e_value", "e_value_ci", "note"]
BALANCE = ["variable", "level", "treated_count", "control_count", "smd_unweighted", "smd_weighted"]
TABLE_ONE_COUNTS = ["treated_count", "control_count"]
"""Table 1's count columns (people with a level, per arm): shown through the disclosure layer."""


def intro(study, frame, covariates, estimand) -> str:
    """The report's opening line (Markdown): study, institution, people, exposure, adjustment."""
    d = frame.data
    return (f"**Study** {study.name} · **institution** {study.institution or 'all'} · "
            f"**people** {frame.n_read} · **exposure** `{frame.exposure}` "
            f"({int(d[frame.exposure].sum())} of {len(d)} complete rows for `{frame.outcome}`) · "
            f"**adjusted for** {', '.join(covariates)} · **estimand** {estimand} "
            f"({'everyone' if estimand == 'ATE' else 'those with an IP'}).")


def table_one_shown(t1: pd.DataFrame, frame=None) -> pd.DataFrame:
    """Table 1's columns as the report shows them; with the analysis ``frame`` it was made from,
    marked with the people of its counts (so that they link with the report's other tables)."""
    shown = with_counts(t1[[c for c in TABLE_ONE if c in t1.columns]], TABLE_ONE_COUNTS)
    if frame is None:
        return shown
    return arm_people(shown, frame.data, frame.people, frame.exposure)


def balance_shown(bal: pd.DataFrame, frame=None) -> pd.DataFrame:
    """The balance table as the report shows it: per covariate and level, the unweighted and
    weighted standardized differences beside the counts they rest on. For a 0/1 item or a
    level the unweighted difference is a difference of two shares of Table 1 (t/n₁ − c/n₀ to
    three decimals gives a hidden count back), so it is hidden with the counts, here and in a
    batch's release, which knows these counts as Table 1's by their people."""
    shown = with_counts(bal[[c for c in BALANCE if c in bal.columns]], TABLE_ONE_COUNTS)
    if frame is None:
        return shown
    return arm_people(shown, frame.data, frame.people, frame.exposure)


def with_bands(people: pd.DataFrame) -> pd.DataFrame:
    """The person table with ``severity_band`` added (when it has ``severity``)."""
    if "severity" in people.columns:
        people = people.assign(severity_band=severity_band(people["severity"]))
    return people


def coverage_groups(study, people) -> list[str]:
    """The columns IP coverage is shown by: institution, severity band, ROP group, municipality
    size (those the study has)."""
    wanted = [study.institution_column, "severity_band", "rop_group", "municipality_size"]
    have = set(with_bands(people).columns)
    return [g for g in wanted if g in have]


def coverage_tables(study, people: pd.DataFrame, exposure: str, frame=None) -> dict[str, pd.DataFrame]:
    """IP coverage (share with an IP, Wilson CI) by each of :func:`coverage_groups`; with an
    analysis ``frame``, among its people only. (Coverage of everyone beside Table 1 and the
    estimates of the people analysed gives, group by group, the people left out: few, and
    hidden in the rows table.)"""
    groups = coverage_groups(study, people)
    if frame is not None and frame.people is not None:
        people = people[people[study.id_column].astype(str).isin(set(frame.people))]
        # a covariate's levels are rows of Table 1, which shows both arms' counts: its
        # coverage among the same people is those counts again, and is not repeated
        groups = [g for g in groups if g not in frame.covariates]
    banded = with_bands(people)
    ids = banded[study.id_column].astype(str)
    tables = {by: coverage_people(coverage(banded, exposure, by=by), banded, ids, by, exposure)
              for by in groups}
    if frame is not None:       # the analysed have an exposure: a column of zeros says nothing
        tables = {by: _without(t, "n_missing") for by, t in tables.items()}
    return tables


def _without(table: pd.DataFrame, column: str) -> pd.DataFrame:
    out = table.drop(columns=[column])
    out.attrs = {k: ({c: v for c, v in m.items() if c != column} if isinstance(m, dict) else
                     [c for c in m if c != column] if isinstance(m, list) else m)
                 for k, m in table.attrs.items()}
    return out


def propensity_or_reason(frame, covariates):
    """``(model, "")``, or ``(None, reason)`` in Markdown when the model cannot be fitted."""
    try:
        return propensity_model(frame.data, frame.exposure, covariates), ""
    except ParameterError as exc:
        return None, f"**The propensity model could not be fitted:** {exc}"


def weight_frame(frame, model, weights) -> pd.DataFrame:
    """Propensity score, weight and arm ('IP' / 'no IP') per person, for the weight plots."""
    return pd.DataFrame({"propensity": model.scores_.to_numpy(),
                         "weight": np.asarray(weights.weights, dtype=float),
                         "treatment": frame.data[frame.exposure].map({1: "IP", 0: "no IP"}).to_numpy()})


def estimates_shown(estimates: pd.DataFrame) -> pd.DataFrame:
    """The estimates' columns as the report shows them."""
    return estimates[[c for c in SHOWN if c in estimates.columns]]


def correction_sentence(estimates: pd.DataFrame) -> str:
    """How the p-values were corrected across outcomes (Markdown)."""
    kinds = sorted(set(estimates["adjustment"].dropna()))
    return ("p-values are corrected for testing several outcomes within each method "
            f"(`p_adjusted`): {'; '.join(kinds)}.")



def scales_of(estimates) -> list[str]:
    """The scales of the estimates, in order of first appearance."""
    return list(dict.fromkeys(estimates["scale"]))


def by_scale(estimates):
    """``(scale, rows)`` for each scale of the estimates."""
    for scale in scales_of(estimates):
        yield scale, estimates[estimates["scale"] == scale]


def null_value(scale: str) -> float:
    """No association on ``scale``: 1 for a ratio, 0 for a difference.

    >>> null_value("odds ratio"), null_value("risk difference")
    (1.0, 0.0)
    """
    return 1.0 if "ratio" in scale else 0.0
