"""Every estimate of IP ↔ one outcome, by every method, in one tidy table.

This is what the notebook, the CLI (``ipeval estimate``) and batches call; each method lives
in its own module and answers one question.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from evaluation.constraints import Options, check_param, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import (ESTIMATE_COLUMNS, ROWS_ATTR, as_estimate_table, warning_notes,
                                  with_counts, with_rows)
from evaluation.association.estimators import adjusted, aipw, crude, ipw
from evaluation.association.evalues import e_value
from evaluation.association.frame import AnalysisFrame, analysis_frame
from evaluation.association.mixed import mixed_model
from evaluation.association.multiplicity import METHOD_NAMES, adjust_pvalues

METHODS = ("crude", "adjusted", "ipw", "aipw", "mixed")
ESTIMANDS = ("ATE", "ATT", "ATO")   # ATO: overlap weights (IPW only; AIPW is for ATE/ATT)
COLUMNS = ESTIMATE_COLUMNS + ["e_value", "e_value_ci", "p_adjusted", "adjustment"]
"""The columns of :func:`evaluate`'s estimates, in order (the estimators' ``se`` … follow)."""


def adjustment_set(frame: AnalysisFrame) -> list[str]:
    """The covariates, plus institution as fixed effects when there are two or more:
    institution drives both who gets an IP and the outcomes."""
    covs = list(frame.covariates)
    if frame.institution in frame.data.columns and frame.data[frame.institution].nunique() > 1 \
            and frame.institution not in covs:
        covs.append(frame.institution)
    return covs


@validate_params({"estimand": [Options(ESTIMANDS)]})
def estimate_effects(frame: AnalysisFrame, *, methods=METHODS, estimand: str = "ATE",
                     name: str | None = None) -> pd.DataFrame:
    """All requested methods for one analysis frame; a row per method × scale.

    BLAS runs on one thread here: the models are tall and narrow (people × a dozen columns),
    gain nothing from a second thread, and a second thread turned 7.5 s into up to 57 s for
    100,000 people when another process shared the machine (bench/estimate_speed.py).
    """
    for method in methods:
        check_param("estimate_effects", "methods", method, [Options(METHODS)])
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate_effects(frame, methods=methods, estimand=estimand, name=name)


def _estimate_effects(frame: AnalysisFrame, *, methods, estimand, name) -> pd.DataFrame:
    d, y, a, kind = frame.data, frame.outcome, frame.exposure, frame.kind
    covs = adjustment_set(frame)
    # Clusters only when there are several institutions (one gives no between-cluster variance).
    cluster = (frame.institution if frame.institution in d.columns
               and d[frame.institution].nunique() > 1 else None)
    rows = []
    if "crude" in methods:
        rows.append(crude(d, y, a, kind=kind))
    if "adjusted" in methods:
        rows.append(adjusted(d, y, a, covs, kind=kind, cluster=cluster))
    if "ipw" in methods:
        rows.append(ipw(d, y, a, covs, estimand=estimand, kind=kind))
    if "aipw" in methods and estimand != "ATO":
        rows.append(aipw(d, y, a, covs, estimand=estimand, kind=kind))
    if "mixed" in methods and cluster:
        rows.append(mixed_model(d, y, a, [c for c in covs if c != cluster], group=cluster,
                                kind=kind))
    table = pd.concat([r for r in rows if r is not None and len(r)], ignore_index=True)
    table["outcome"] = name or y
    return as_estimate_table(table)


def add_e_values(table: pd.DataFrame, frame: AnalysisFrame) -> pd.DataFrame:
    """E-values (VanderWeele & Ding 2017) for every adjusted estimate: how strong unmeasured
    confounding would have to be to explain the estimate away (point, and the CI limit nearer
    the null). Risk differences use the unexposed arm's risk; mean differences the outcome's SD."""
    d, y, a = frame.data, frame.outcome, frame.exposure
    baseline = float(d.loc[d[a] == 0, y].mean()) if frame.kind == "binary" else None
    sd = float(d[y].std()) if frame.kind == "continuous" else None
    table = table.copy()
    table["e_value"] = np.nan
    table["e_value_ci"] = np.nan
    for i, row in table.iterrows():
        if row["method"] == "crude" or not np.isfinite(row["estimate"]):
            continue
        scale = {"risk difference": "RD", "odds ratio": "OR", "mean difference": "SMD"}.get(row["scale"])
        if scale is None:
            continue
        ev = e_value(row["estimate"], row["ci_low"], row["ci_high"], scale=scale,
                     baseline_risk=baseline if scale == "RD" else None,
                     sd=sd if scale == "SMD" else None)
        table.loc[i, ["e_value", "e_value_ci"]] = ev[["e_value_point", "e_value_ci"]].iloc[0].to_numpy()
    return as_estimate_table(table)


@validate_params({"estimand": [Options(ESTIMANDS)], "correction": [Options(METHOD_NAMES)]})
def evaluate(study, outcomes=None, *, methods=METHODS, estimand: str = "ATE", covariates=None,
             correction: str = "holm"):
    """Every method for every outcome of the study (default: all under ``outcomes:``).

    Returns ``(estimates, rows)``: the tidy estimates with E-values and p-values corrected
    across outcomes within each method (Holm by default, said in the ``adjustment`` column),
    and a table of rows used and left out per outcome, with reasons.
    """
    outcomes = list(outcomes or study.manifest.outcomes)
    frames = {name: analysis_frame(study, name, covariates=covariates) for name in outcomes}
    return evaluate_frames(frames, methods=methods, estimand=estimand, correction=correction)


def _noted(fit, *args, **kwargs) -> pd.DataFrame:
    """``fit(...)`` with the warnings its libraries raised (a rank-deficient design, an
    overflow) in the rows' ``note``, not printed: a report says them beside the estimate they
    concern, and a warning printed by a library carries the path of its file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = fit(*args, **kwargs)
    notes = warning_notes(caught)
    if notes and len(table):
        old = table["note"].fillna("").astype(str) if "note" in table.columns else ""
        table["note"] = (old + "; " + "; ".join(notes)).str.lstrip("; ")
    return table


def _with_people(table: pd.DataFrame, frame) -> pd.DataFrame:
    """The estimates of one outcome marked with the people of their n and n exposed: those of
    the frame, where the numbers agree (the layer checks again)."""
    table = table.reset_index(drop=True)
    exposed = frozenset(frame.people[frame.data[frame.exposure].to_numpy() == 1])
    everyone = frozenset(frame.people)
    table = with_rows(table, "n", {i: everyone for i in table.index})
    if "n_exposed" in table.columns:
        table = with_rows(table, "n_exposed", {i: exposed for i in table.index})
    return table


@validate_params({"frames": [dict], "estimand": [Options(ESTIMANDS)],
                  "correction": [Options(METHOD_NAMES)], "on_error": [Options({"raise", "note"})]})
def evaluate_frames(frames: dict, *, methods=METHODS, estimand: str = "ATE",
                    correction: str = "holm", on_error: str = "raise"):
    """:func:`evaluate` for analysis frames already built (name -> AnalysisFrame), such as
    those of :func:`.frame.outcome_frame` for outcomes outside the person table.

    ``on_error="note"``: a method that cannot be estimated for an outcome (perfect separation
    in a small group, say) is left out of the estimates and listed in the rows table with its
    reason, instead of stopping every other estimate.
    """
    tables, accounts, people = [], [], {}
    for name, frame in frames.items():
        if on_error == "raise":
            table = _noted(estimate_effects, frame, methods=methods, estimand=estimand, name=name)
        else:
            parts = []
            for method in methods:
                try:
                    parts.append(_noted(estimate_effects, frame, methods=(method,),
                                        estimand=estimand, name=name))
                except (ParameterError, ValueError) as exc:
                    accounts.append(pd.DataFrame([{"outcome": name, "rows": 0,
                                                   "reason": f"{method} not estimated: {exc}"}]))
            parts = [p for p in parts if len(p)]
            if not parts:
                continue
            table = pd.concat(parts, ignore_index=True)
        table = add_e_values(table, frame)
        if frame.people is not None:
            table = _with_people(table, frame)
        tables.append(table)
        accounts.append(pd.DataFrame([{"outcome": name, "reason": "used", "rows": len(frame.data)}]))
        accounts.append(frame.left_out.assign(outcome=name))
        if frame.people is not None:
            people[(name, "used")] = frozenset(frame.people)
            people.update({(name, r): ids for r, ids in (frame.left_out_people or {}).items()})
    marks = [t.attrs.get(ROWS_ATTR) or {} for t in tables]
    estimates = pd.concat(tables, ignore_index=True)
    offsets = np.cumsum([0] + [len(t) for t in tables])
    for column in ("n", "n_exposed"):
        people = {int(o) + i: ids for o, m in zip(offsets, marks)
                  for i, ids in (m.get(column) or {}).items()}
        if people:
            estimates = with_rows(estimates, column, people)
    # One p-value per outcome in each family (method × estimand): the crude risk difference and
    # odds ratio share one test, and counting both would over-correct.
    key = ["outcome", "method", "estimand"]
    primary = adjust_pvalues(estimates.drop_duplicates(key), method=correction,
                             by=["method", "estimand"])
    factor = (primary["p_adjusted"] / primary["p_value"]).where(primary["p_value"] > 0, 1.0)
    primary = primary.assign(_factor=factor)
    estimates = estimates.merge(primary[key + ["_factor", "adjustment"]], on=key, how="left")
    # A second scale of the same test (the crude odds ratio beside the risk difference) gets
    # the family's multiplier on its own p-value.
    estimates["p_adjusted"] = (estimates["p_value"] * estimates.pop("_factor")).clip(upper=1.0)
    rows = with_counts(pd.concat(accounts, ignore_index=True)[["outcome", "reason", "rows"]], "rows")
    rows = with_rows(rows, "rows", {i: people[key] for i, key in
                                    enumerate(zip(rows["outcome"], rows["reason"])) if key in people})
    first = [c for c in COLUMNS if c in estimates.columns]
    return as_estimate_table(estimates[first + [c for c in estimates.columns if c not in first]]), rows
