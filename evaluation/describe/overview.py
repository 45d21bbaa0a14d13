"""A first look at a study: what was read, how much, how complete, and who has an IP.

Each function answers one question with one tidy DataFrame (a row per group or variable, with
n), in the manner of pingouin; the overview notebook is a few calls to these.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# coverage is re-exported for the callers that still import it from here (it moved to shares).
from evaluation.describe.shares import proportion_ci
from evaluation.errors import ParameterError
from evaluation.estimates import as_measure_table, measure_row, measure_table, with_counts
from evaluation.instruments import keyed_items
from evaluation.instruments.psychometrics import ALPHA, OMEGA, cronbach_alpha, mcdonald_omega
from evaluation.intake.validation import generalise_rules

YEAR_COLUMNS = ("year", "date", "submitted", "start_date")
SEVERITY_BANDS = {"low (0–3.9)": (0, 4), "moderate (4–6.9)": (4, 7), "high (7–10)": (7, 10.01)}


def severity_band(severity: pd.Series) -> pd.Series:
    """Severity score (0–10) in three ordered bands."""
    labels = list(SEVERITY_BANDS)
    edges = [SEVERITY_BANDS[labels[0]][0]] + [SEVERITY_BANDS[b][1] for b in labels]
    return pd.cut(severity, bins=edges, labels=labels, right=False)


def missingness(data: pd.DataFrame, columns=None) -> pd.DataFrame:
    """Per variable: n rows, n missing and the share missing, most incomplete first."""
    columns = list(columns) if columns is not None else list(data.columns)
    n_missing = data[columns].isna().sum()
    out = pd.DataFrame({"variable": columns, "n": len(data),
                        "n_missing": n_missing.to_numpy().astype(int)})
    out["share_missing"] = out["n_missing"] / out["n"] if len(data) else np.nan
    return with_counts(out.sort_values(["share_missing", "variable"], ascending=[False, True],
                                       kind="stable").reset_index(drop=True), "n_missing")


def study_missingness(study, *, top: int | None = None) -> pd.DataFrame:
    """``missingness`` for every source, stacked, with a ``source`` column."""
    frames = []
    for name in study.source_names:
        m = missingness(study.table(name))
        m.insert(0, "source", name)
        frames.append(m.head(top) if top else m)
    return with_counts(pd.concat(frames, ignore_index=True), "n_missing")


def year_of(df: pd.DataFrame) -> pd.Series | None:
    """The calendar year of each row, from the first of year/date/submitted/start_date."""
    for col in YEAR_COLUMNS:
        if col in df.columns:
            if col == "year":
                return pd.to_numeric(df[col], errors="coerce").astype("Int64")
            return pd.to_datetime(df[col], errors="coerce").dt.year.astype("Int64")
    return None


def counts_by_institution_year(study) -> pd.DataFrame:
    """Rows and distinct persons per source, institution and year (long format).

    Sources without an institution column get it through the person table (by person id).
    """
    inst_col, id_col = study.institution_column, study.id_column
    person_inst = None
    frames = []
    for name in study.source_names:
        df = study.table(name)
        if inst_col not in df.columns:
            if id_col not in df.columns:
                continue
            if person_inst is None:
                pt = study.person_table()
                person_inst = pt.set_index(id_col)[inst_col] if inst_col in pt.columns else None
            if person_inst is None:
                continue
            df = df.assign(**{inst_col: df[id_col].map(person_inst)})
        year = year_of(df)
        work = pd.DataFrame({"institution": df[inst_col].astype("str"),
                             "year": year if year is not None else pd.Series(pd.NA, index=df.index,
                                                                              dtype="Int64")})
        work["_id"] = df[id_col] if id_col in df.columns else np.nan
        g = work.groupby(["institution", "year"], dropna=False)
        counts = g.agg(rows=("_id", "size"), persons=("_id", "nunique")).reset_index()
        if id_col not in df.columns:
            counts["persons"] = pd.NA
        counts.insert(0, "source", name)
        frames.append(counts)
    return pd.concat(frames, ignore_index=True)


def sources_with_instrument(study, instrument: str) -> list[str]:
    """Names of the study's sources that carry ``instrument``."""
    return [n for n, s in study.manifest.sources.items() if instrument in s.instruments]


def attach_person_columns(study, data: pd.DataFrame, columns) -> pd.DataFrame:
    """Add person-level columns (such as IP status) to a table keyed by person."""
    pt = study.person_table()
    columns = [c for c in columns if c in pt.columns and c not in data.columns]
    return data.merge(pt[[study.id_column, *columns]], on=study.id_column, how="left")


def instrument_tables(study):
    """(source, table, instrument) for every instrument of every source that has one."""
    for source in study.source_names:
        instruments = study.instruments(source)
        if instruments:
            df = study.table(source)
            for inst in instruments:
                yield source, df, inst


def score_summary(study) -> pd.DataFrame:
    """Every score of every instrument in the study and each of its cutoff flags, a measure
    table keyed by source and instrument: a score's mean (``scale`` 'mean', with n, SD, range
    and how many rows were prorated), a flag's share with its Wilson CI (``scale``
    'proportion', ``count`` the people flagged)."""
    rows = []
    for source, df, inst in instrument_tables(study):
        for score in inst.scores.values():
            x = pd.to_numeric(df.get(score.column), errors="coerce")
            if x is None or not len(df):
                continue
            prorated = df.get(f"{score.column}_prorated")
            rows.append(measure_row(
                source=source, instrument=inst.name, measure=score.column, scale="mean",
                estimate=x.mean(), n=int(x.notna().sum()), kind="score", count=np.nan,
                n_missing=int(x.isna().sum()), sd=x.std(), min=x.min(), max=x.max(),
                n_prorated=int(prorated.fillna(False).sum()) if prorated is not None else 0))
        for cutoff in inst.cutoffs.values():
            if not cutoff.apply or cutoff.flag not in df.columns:
                continue
            flag = df[cutoff.flag].dropna().astype(bool)
            lo, hi = proportion_ci(flag.sum(), len(flag))
            rows.append(measure_row(
                source=source, instrument=inst.name, measure=cutoff.flag, scale="proportion",
                estimate=flag.mean() if len(flag) else np.nan, ci_low=float(lo),
                ci_high=float(hi), n=len(flag),
                kind=f"share {cutoff.score} {cutoff.operator} {cutoff.value:g}",
                count=int(flag.sum()), n_missing=int(df[cutoff.flag].isna().sum()), sd=np.nan,
                min=np.nan, max=np.nan, n_prorated=0))
    return measure_table(rows, keys=["source", "instrument"])


def quarantine_reasons(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows per source and rule, with row numbers and dates in rules generalised
    ('duplicate submission of row …'), most common first."""
    if not len(quarantine):
        return pd.DataFrame(columns=["source", "rule", "rows", "cells"])
    q = quarantine.assign(rule=generalise_rules(quarantine["rule"]))
    out = q.groupby(["source", "rule"]).agg(rows=("row", "nunique"), cells=("row", "size"))
    return out.reset_index().sort_values(["source", "rows"], ascending=[True, False],
                                         kind="stable").reset_index(drop=True)


def instrument_reliability(study, *, seed: int = 2026, n_boot: int = 200) -> pd.DataFrame:
    """Cronbach's alpha and McDonald's omega (with CIs and n) for every multi-item score in the
    study, on the items after reverse keying: a measure table keyed by ``source`` and ``score``
    (the score column), a row per coefficient."""
    frames = []
    for source, df, inst in instrument_tables(study):
        items = keyed_items(df, inst)
        scales = {s.column: [i for i in s.items if items[i].notna().any()]
                  for s in inst.scores.values() if s.method in {"sum", "mean"}}
        scales = {k: v for k, v in scales.items() if len(v) >= 2}
        for score, cols in scales.items():
            for measure, estimate in ((ALPHA, lambda c: cronbach_alpha(items, c)),
                                      (OMEGA, lambda c: mcdonald_omega(
                                          items, c, n_boot=n_boot, seed=seed))):
                try:
                    row = estimate(cols)
                except ParameterError as exc:
                    # Too few complete answers (one small institution, say): a row that
                    # says why, and the other coefficient still reported.
                    row = measure_table([measure_row(
                        measure=measure, scale="reliability", estimate=np.nan,
                        n=int(items[cols].notna().all(axis=1).sum()), k=len(cols),
                        note=f"not estimated: {exc}")])
                row.insert(0, "score", score)
                row.insert(0, "source", source)
                frames.append(row)
    return as_measure_table(pd.concat(frames, ignore_index=True),
                            keys=["source", "score"]) if frames else pd.DataFrame()


def likert_items(instrument, data: pd.DataFrame | None = None) -> list[str]:
    """Items answered on a 1–5 agreement scale (present in ``data`` when given): the ones a
    diverging stacked bar shows well."""
    return [i.key for i in instrument.items.values()
            if i.type == "integer" and i.min == 1 and i.max == 5
            and (data is None or i.key in data.columns)]


def exposure_column(study) -> str | None:
    """The manifest's exposure column (IP status), or None when the study has none."""
    return study.manifest.exposure["column"] if study.manifest.exposure else None


def study_heading(study, rules) -> str:
    """One Markdown line naming the study, its sources, institution, exposure and the
    disclosure rules applied (``rules``: a DisclosureRules)."""
    return (f"**Study:** {study.name} · **sources:** {len(study.source_names)} · "
            f"**institution:** {study.institution or 'all'} · **exposure:** "
            f"{exposure_column(study)} · **disclosure:** {rules.describe()}")


def binary_outcomes(study, people: pd.DataFrame) -> list:
    """The manifest's binary outcomes whose variable is a column of ``people``."""
    return [o for o in study.manifest.outcomes.values()
            if o.type == "binary" and o.variable in people.columns]


def write_tables(tables: dict, folder) -> Path:
    """Write each table of ``tables`` (name → a table shown through the disclosure layer, or a
    DataFrame) to ``folder/<name>.csv``, as shown; returns the folder."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv")      # as shown: hidden cells written as the marker
    return out
