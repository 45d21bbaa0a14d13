"""Pieces of the ip_evaluation notebook that would otherwise be code in its cells."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import ParameterError
from evaluation.describe.overview import severity_band

TABLE_ONE = ["variable", "level", "treated_n", "treated_mean", "treated_sd", "treated_count",
             "treated_percent", "control_n", "control_mean", "control_sd", "control_count",
             "control_percent", "smd"]
SHOWN = ["outcome", "method", "estimand", "scale", "estimate", "ci_low", "ci_high", "p_value",
         "p_adjusted", "n", "n_exposed", "e_value", "e_value_ci", "note"]


def intro(study, frame, covariates, estimand) -> str:
    d = frame.data
    return (f"**Study** {study.name} · **institution** {study.institution or 'all'} · "
            f"**people** {frame.n_read} · **exposure** `{frame.exposure}` "
            f"({int(d[frame.exposure].sum())} of {len(d)} complete rows for `{frame.outcome}`) · "
            f"**adjusted for** {', '.join(covariates)} · **estimand** {estimand} "
            f"({'everyone' if estimand == 'ATE' else 'those with an IP'}).")


def table_one_shown(t1: pd.DataFrame) -> pd.DataFrame:
    return t1[[c for c in TABLE_ONE if c in t1.columns]]


def with_bands(people: pd.DataFrame) -> pd.DataFrame:
    if "severity" in people.columns:
        people = people.assign(severity_band=severity_band(people["severity"]))
    return people


def coverage_groups(study, people) -> list[str]:
    wanted = [study.institution_column, "severity_band", "rop_group", "municipality_size"]
    have = set(with_bands(people).columns)
    return [g for g in wanted if g in have]


def propensity_or_none(frame, covariates):
    """The propensity model, or None with the reason shown when it cannot be fitted."""
    from IPython.display import Markdown, display

    from evaluation.association.propensity import propensity_model
    try:
        return propensity_model(frame.data, frame.exposure, covariates)
    except ParameterError as exc:
        display(Markdown(f"**The propensity model could not be fitted:** {exc}"))
        return None


def weight_frame(frame, model, weights) -> pd.DataFrame:
    return pd.DataFrame({"propensity": model.scores_.to_numpy(),
                         "weight": np.asarray(weights.weights, dtype=float),
                         "treatment": frame.data[frame.exposure].map({1: "IP", 0: "no IP"}).to_numpy()})


def with_bootstrap(estimates, study, outcomes, *, bootstrap: int, seed: int, estimand, covariates):
    """Add an AIPW row per outcome with a percentile bootstrap CI (people resampled)."""
    if not bootstrap:
        return estimates
    from evaluation.association.analysis import SCALE_NAMES, adjustment_set
    from evaluation.association.estimators import aipw
    from evaluation.association.frame import analysis_frame
    rng = np.random.default_rng(seed)
    rows = []
    for name in outcomes:
        frame = analysis_frame(study, name, covariates=covariates)
        covs = adjustment_set(frame)
        base = aipw(frame.data, frame.outcome, frame.exposure, covs, estimand=estimand, kind=frame.kind)
        draws = []
        for _ in range(bootstrap):
            sample = frame.data.iloc[rng.integers(0, len(frame.data), len(frame.data))]
            try:
                draws.append(aipw(sample, frame.outcome, frame.exposure, covs, estimand=estimand,
                                  kind=frame.kind)["estimate"].iloc[0])
            except ParameterError:
                continue   # a resample without both arms in some stratum: skipped, counted below
        row = base.iloc[[0]].copy()
        row["method"] = "AIPW (bootstrap)"
        row["ci_low"], row["ci_high"] = np.percentile(draws, [2.5, 97.5])
        row["note"] = f"percentile CI from {len(draws)} of {bootstrap} resamples"
        row["outcome"] = name
        row["scale"] = row["scale"].replace(SCALE_NAMES)
        rows.append(row)
    return pd.concat([estimates, *rows], ignore_index=True)


def estimates_shown(estimates: pd.DataFrame) -> pd.DataFrame:
    return estimates[[c for c in SHOWN if c in estimates.columns]]


def correction_sentence(estimates: pd.DataFrame) -> str:
    kinds = sorted(set(estimates["adjustment"].dropna()))
    return ("p-values are corrected for testing several outcomes within each method "
            f"(`p_adjusted`): {'; '.join(kinds)}.")


def scales(estimates) -> list[str]:
    return list(dict.fromkeys(estimates["scale"]))


def by_scale(estimates):
    for scale in scales(estimates):
        yield scale, estimates[estimates["scale"] == scale]


def null_of(scale: str) -> float:
    return 1.0 if "ratio" in scale else 0.0


def imputed(study, outcomes, *, covariates, seed) -> pd.DataFrame:
    """Multiple imputation (MICE, m = 10) of outcome and covariates among the people who
    answered, pooled by Rubin's rules; a row per outcome."""
    from evaluation.association.imputation import mice_estimate
    m = study.manifest
    exposure = m.exposure["column"]
    covs = list(m.covariates if covariates is None else covariates)
    people = study.person_table()
    rows = []
    for name in outcomes:
        spec = m.outcomes[name]
        data = people[[exposure, spec.variable, *covs]].dropna(subset=[exposure])
        rows.append(mice_estimate(data, spec.variable, exposure, covs, kind=spec.type, seed=seed)
                    .assign(outcome=name))
    return pd.concat(rows, ignore_index=True)


def views(study):
    """(title, table, count columns) for residents' views, the staff survey and interviews."""
    from evaluation.coding.mentions import interview_mentions
    out = []
    exposure = study.manifest.exposure["column"]
    inst = study.institution_column
    people = study.person_table()
    if exposure in people.columns:
        holders = people[people[exposure] == 1]
        items = [c for c in ("ip_involvement", "ip_usefulness", "chairs_own_meetings") if c in holders]
        if items and inst in holders.columns:
            table = holders.groupby(inst)[items].agg(["mean", "count"])
            table.columns = [f"{a}_{'n' if b == 'count' else b}" for a, b in table.columns]
            table = table.reset_index()
            table["n"] = holders.groupby(inst).size().to_numpy()
            out.append(("Residents with an IP: their view of the plan (means, 1–5; chairs own "
                        "meetings as a share)", table, [f"{i}_n" for i in items]))
    staff = [n for n, s in study.manifest.sources.items() if "ip_questionnaire_staff" in s.instruments]
    for source in staff:
        df = study.table(source)
        items = [c for c in ("ip_usefulness", "leadership_drive", "ip_eases_work") if c in df]
        table = df.groupby(inst)[items].mean().reset_index()
        table["actively_sold_in"] = df.groupby(inst)["ip_presentation"].apply(
            lambda s: (s == "actively_sold_in").mean()).to_numpy()
        table["n"] = df.groupby(inst).size().to_numpy()
        out.append(("Staff survey by institution (means, 1–5; share who say IP is actively sold in)",
                    table, []))
    mentions = interview_mentions(study, ["goal_ownership", "less_chaos"])
    if len(mentions):
        out.append(("Residents whose interviews mention the theme, by IP status (Wilson 95 % CI)",
                    mentions.rename(columns={"n_exposed": "n_mentioning"}), ["n_mentioning"]))
    return out
