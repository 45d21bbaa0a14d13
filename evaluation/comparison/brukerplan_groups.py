"""BrukerPlan's critical ("dark red") group and plan coverage by functional level: how many
of the worst off have an individual plan or a crisis plan (source 003: many have neither).
The year-over-year level shares and models are in :mod:`.brukerplan`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import ParameterError
from evaluation.instruments.definition import OPERATORS, Cutoff
from evaluation.instruments.scoring import score_instrument

from evaluation.comparison.brukerplan import (CONFIDENCE, PLANS, brukerplan_instrument,
                                              domain_columns, domain_levels, shares_with_ci,
                                              year_values)
from evaluation.constraints import require_frame, validate_params


def _rule(rule) -> Cutoff:
    """The critical-group rule: brukerplan.yaml's ``critical`` cutoff, a Cutoff, or a mapping
    with ``score`` (a score of brukerplan.yaml), ``operator`` and ``value``."""
    inst = brukerplan_instrument()
    if rule is None or isinstance(rule, Cutoff):
        return rule or inst.cutoffs["critical"]
    ok = (isinstance(rule, dict) and set(rule) == {"score", "operator", "value"}
          and rule["score"] in inst.scores and rule["operator"] in OPERATORS)
    if not ok:
        raise ParameterError(f"critical_group: rule must be a Cutoff or a dict with score (one of "
                             f"{sorted(inst.scores)}), operator (one of {sorted(OPERATORS)}) "
                             f"and value; got {rule!r}.")
    return Cutoff(name="critical", score=rule["score"], value=float(rule["value"]),
                  operator=rule["operator"], flag="critical", certainty="given by the analysis")


def _scores(data: pd.DataFrame, func: str) -> pd.DataFrame:
    inst = brukerplan_instrument()
    require_frame(data, inst.levels["items"], func)
    for item in inst.levels["items"]:
        domain_levels(data, item, func)
    return score_instrument(data, inst, apply_cutoffs=False)


@validate_params({"confidence": [CONFIDENCE]})
def critical_group(data: pd.DataFrame, *, years=None, rule=None, year: str = "year",
                   confidence: float = 0.95) -> pd.DataFrame:
    """Size of the critical ("dark red") group per mapping year, with Wilson CI.

    Parameters
    ----------
    years : list of int, optional
        Years to report; default all.
    rule : dict or Cutoff, optional
        ``{"score": "red_domains", "operator": ">=", "value": 3}``; default the ``critical``
        cutoff of ``instruments/brukerplan.yaml``, whose definition is unverified (Bergen did
        not publish it), so state the rule with the figure.

    Returns
    -------
    DataFrame, a measure table with a row per year: ``year``, ``measure`` ("share in the
    critical group"), ``scale`` ("proportion"), ``estimate`` (the share), ``ci_low``,
    ``ci_high``, ``n`` (people rated on all eight domains), ``note``, ``count``, ``rule``,
    ``certainty``, ``method``.

    Examples
    --------
    >>> keys = domain_columns()
    >>> df = pd.DataFrame({k: [5, 5, 2, 5] for k in keys} | {"year": [2015, 2015, 2017, 2017]})
    >>> critical_group(df)[["year", "count", "n", "estimate", "rule", "certainty"]]
       year  count  n  estimate                rule   certainty
    0  2015      2  2       1.0  red_domains >= 3.0  unverified
    1  2017      1  2       0.5  red_domains >= 3.0  unverified
    """
    func = "critical_group"
    cutoff = _rule(rule)
    require_frame(data, [year], func)
    score = _scores(data, func)[brukerplan_instrument().scores[cutoff.score].column]
    flag = pd.Series(cutoff.compare(score), index=data.index).where(score.notna())
    frame = pd.DataFrame({"year": year_values(data[year], year, func), "flag": flag}).dropna()
    if years is not None:
        frame = frame[frame["year"].isin([int(y) for y in years])]
    out = frame.groupby("year").agg(count=("flag", "sum"), n=("flag", "size")).reset_index()
    out["year"] = out["year"].astype(int)
    out = shares_with_ci(out, confidence, measure="share in the critical group", keys=["year"])
    out.insert(len(out.columns) - 1, "rule", f"{cutoff.score} {cutoff.operator} {cutoff.value}")
    out.insert(len(out.columns) - 1, "certainty", cutoff.certainty)
    return out


def functional_level(data: pd.DataFrame) -> pd.Series:
    """Overall functional level of each row: the mean of the eight domain levels rounded half
    up to a whole level (1 green … 5 red); missing unless all eight domains are rated.

    The mean, not the worst domain, because one red domain is common (work/activity is red for
    about four in ten nationally) and would put most people in the worst band; the mean keeps
    the overall picture source 003 describes, and the critical group (several red domains)
    is reported on its own by :func:`critical_group`.

    Examples
    --------
    >>> keys = domain_columns()
    >>> df = pd.DataFrame({k: [1, 3] for k in keys})
    >>> df.loc[1, "bp_activity"] = 4   # mean 3.125
    >>> functional_level(df).tolist()
    [1, 3]
    """
    mean = _scores(data, "functional_level")[brukerplan_instrument().scores["mean"].column]
    return np.floor(mean + 0.5).astype("Int64").rename("functional_level")


@validate_params({"confidence": [CONFIDENCE]})
def plan_coverage(data: pd.DataFrame, *, by=("functional_level", "rop_group"), plans=PLANS,
                  years=None, year: str = "year", confidence: float = 0.95) -> pd.DataFrame:
    """Share with an IP, with a crisis plan, and with neither, by overall functional level and
    problem group, with Wilson CIs.

    Parameters
    ----------
    by : list of str
        Grouping columns; ``functional_level`` is computed (:func:`functional_level`) when the
        data has no such column, and ``year`` may be one of them.
    plans : list of str
        0/1 columns; a ``neither`` row (none of them) is added.
    years : list of int, optional
        Years to use. By default the latest year only (coverage is a cross-sectional figure, and
        pooling years would count a person once per year), or all years when ``year`` is in
        ``by``.

    Returns
    -------
    DataFrame, a measure table with a row per group × plan: the ``by`` columns, ``plan`` (a
    plan column or ``neither``), ``measure`` ("share with the plan"), ``scale``
    ("proportion"), ``estimate`` (the share), ``ci_low``, ``ci_high``, ``n`` (rows with that
    plan recorded; for ``neither``, with every plan recorded), ``note``, ``count``, ``years``,
    ``method``.

    Examples
    --------
    >>> keys = domain_columns()
    >>> df = pd.DataFrame({k: [5, 5, 5, 1] for k in keys} | {"year": 2017,
    ...                    "has_ip": [1, 0, 0, 1], "has_crisis_plan": [0, 0, 1, 1]})
    >>> plan_coverage(df, by=["functional_level"])[["functional_level", "plan", "count", "n"]]
       functional_level             plan  count  n
    0                 1           has_ip      1  1
    1                 1  has_crisis_plan      1  1
    2                 1          neither      0  1
    3                 5           has_ip      1  3
    4                 5  has_crisis_plan      1  3
    5                 5          neither      1  3
    """
    func = "plan_coverage"
    by = [by] if isinstance(by, str) else list(by)
    plans = [plans] if isinstance(plans, str) else list(plans)
    require_frame(data, plans, func)
    frame = data.copy()
    if "functional_level" in by and "functional_level" not in frame.columns:
        frame["functional_level"] = functional_level(frame)
    if year in frame.columns:
        frame[year] = year_values(frame[year], year, func)
        if years is not None:
            frame = frame[frame[year].isin([int(y) for y in years]).fillna(False)]
        elif year not in by:
            frame = frame[frame[year] == frame[year].max()]
        used = sorted(int(y) for y in frame[year].dropna().unique())
    elif years is not None:
        raise ParameterError(f"{func}: years= needs a year column; {year!r} is not in the data.")
    else:
        used = []
    require_frame(frame, by, func)
    values = {}
    for p in plans:
        x = pd.to_numeric(frame[p], errors="coerce")
        odd = x.dropna()[~x.dropna().isin([0, 1])]
        if len(odd):
            raise ParameterError(f"{func}: plan column {p!r} must be 0/1; found {odd.iloc[0]!r} "
                                 f"in row {odd.index[0]}.")
        values[p] = x
    recorded = pd.concat(values, axis=1).notna().all(axis=1)
    values["neither"] = (pd.concat(values, axis=1).sum(axis=1) == 0).astype(float).where(recorded)
    frames = [frame[by].assign(_x=x).dropna(subset=by).groupby(by, observed=True)["_x"]
              .agg(count="sum", n="count").reset_index().assign(plan=plan)
              for plan, x in values.items()]
    # Stable sort on the groups keeps the plans in the order given, "neither" last.
    out = pd.concat(frames, ignore_index=True).sort_values(by, kind="stable")
    out = shares_with_ci(out[[*by, "plan", "count", "n"]].reset_index(drop=True), confidence,
                         measure="share with the plan", keys=[*by, "plan"])
    out.insert(len(out.columns) - 1, "years", ", ".join(map(str, used)))
    return out
