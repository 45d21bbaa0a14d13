"""A first look at a study: what was read, how much, how complete, and who has an IP.

Each function answers one question with one tidy DataFrame (a row per group or variable, with
n), in the manner of pingouin; the overview notebook is a few calls to these.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from evaluation.errors import ParameterError

YEAR_COLUMNS = ("year", "date", "submitted", "start_date")
SEVERITY_BANDS = {"low (0–3.9)": (0, 4), "moderate (4–6.9)": (4, 7), "high (7–10)": (7, 10.01)}


def proportion_ci(successes, n, *, confidence: float = 0.95, method: str = "wilson"):
    """Confidence interval of a proportion (statsmodels' ``proportion_confint``).

    Wilson by default: unlike the Wald interval it stays inside [0, 1] and keeps close to its
    nominal coverage for the small groups this field has.

    Examples
    --------
    >>> lo, hi = proportion_ci(12, 40)
    >>> round(float(lo), 4), round(float(hi), 4)   # In R: prop.test(12, 40, correct=FALSE)$conf.int
    (0.1807, 0.4543)
    """
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    lo, hi = proportion_confint(successes, np.where(n > 0, n, 1), alpha=1 - confidence,
                                method=method)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def coverage(data: pd.DataFrame, exposure: str, by=None, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share of persons with the exposure (for example an IP), overall or per group, with CI.

    Rows with the exposure missing are left out and counted in ``n_missing``.

    Returns
    -------
    DataFrame with the group column(s), ``n``, ``n_exposed``, ``estimate``, ``ci_low``,
    ``ci_high``, ``n_missing`` and ``method``.

    Examples
    --------
    >>> df = pd.DataFrame({"has_ip": [1, 0, 1, 1, None], "site": list("aabbb")})
    >>> coverage(df, "has_ip", by="site")[["site", "n", "n_exposed", "estimate"]]
      site  n  n_exposed  estimate
    0    a  2          1       0.5
    1    b  2          2       1.0
    """
    if exposure not in data.columns:
        raise ParameterError(f"Exposure column {exposure!r} is not in the data; columns: "
                             f"{', '.join(map(str, data.columns))}.")
    by = [by] if isinstance(by, str) else list(by or [])
    missing_by = [b for b in by if b not in data.columns]
    if missing_by:
        raise ParameterError(f"Grouping column(s) {missing_by} not in the data.")
    values = pd.to_numeric(data[exposure], errors="coerce")
    odd = values.dropna()[~values.dropna().isin([0, 1])]
    if len(odd):
        raise ParameterError(f"Exposure column {exposure!r} must be 0/1; found {odd.iloc[0]!r} "
                             f"in row {odd.index[0]}.")
    frame = data[by].copy() if by else pd.DataFrame(index=data.index)
    frame["_x"] = values
    frame["_missing"] = values.isna()
    keys = by if by else (lambda _: "all")
    grouped = frame.groupby(keys, observed=True, dropna=False)
    out = grouped.agg(n=("_x", "count"), n_exposed=("_x", "sum"), n_missing=("_missing", "sum"))
    out = out.reset_index()
    if not by:
        out = out.rename(columns={"index": "group"})
    out["n_exposed"] = out["n_exposed"].astype(int)
    out["estimate"] = np.where(out["n"] > 0, out["n_exposed"] / out["n"].where(out["n"] > 0), np.nan)
    out["ci_low"], out["ci_high"] = proportion_ci(out["n_exposed"], out["n"], confidence=confidence)
    out["method"] = f"Wilson {confidence:.0%} CI"
    cols = [c for c in out.columns if c not in {"n_missing", "method"}] + ["n_missing", "method"]
    return out[cols]


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
    return out.sort_values(["share_missing", "variable"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def study_missingness(study, *, top: int | None = None) -> pd.DataFrame:
    """``missingness`` for every source, stacked, with a ``source`` column."""
    frames = []
    for name in study.source_names:
        m = missingness(study.table(name))
        m.insert(0, "source", name)
        frames.append(m.head(top) if top else m)
    return pd.concat(frames, ignore_index=True)


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


def item_summary(data: pd.DataFrame, items, *, by: str | None = None) -> pd.DataFrame:
    """Per item (and group): n, mean, SD, median, min and max of the answers given."""
    items = [i for i in items if i in data.columns]
    long = data[items + ([by] if by else [])].melt(id_vars=[by] if by else None,
                                                     var_name="item", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    keys = ["item"] + ([by] if by else [])
    out = long.dropna(subset=["value"]).groupby(keys, observed=True)["value"].agg(
        n="count", mean="mean", sd="std", median="median", min="min", max="max").reset_index()
    return out


def level_shares(data: pd.DataFrame, items, *, by: str | None = None) -> pd.DataFrame:
    """For ordinal items (such as BrukerPlan domains, 1–5): n and share at each level, per item
    (and group). Shares within an item and group sum to 1."""
    items = [i for i in items if i in data.columns]
    keys = [by] if by else []
    long = data[items + keys].melt(id_vars=keys or None, var_name="domain", value_name="level")
    long = long.dropna(subset=["level"])
    counts = long.groupby(["domain", *keys, "level"], observed=True).size().rename("n").reset_index()
    totals = counts.groupby(["domain", *keys], observed=True)["n"].transform("sum")
    counts["n_domain"] = totals
    counts["share"] = counts["n"] / totals
    return counts


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
    """Every score of every instrument in the study: n, mean, SD, range and how many rows were
    prorated, a row per source × score; and each cutoff flag as a share with its Wilson CI."""
    rows = []
    for source, df, inst in instrument_tables(study):
        for score in inst.scores.values():
            x = pd.to_numeric(df.get(score.column), errors="coerce")
            if x is None or not len(df):
                continue
            prorated = df.get(f"{score.column}_prorated")
            rows.append({"source": source, "instrument": inst.name, "measure": score.column,
                         "kind": "score", "n": int(x.notna().sum()), "n_flagged": np.nan,
                         "n_missing": int(x.isna().sum()), "estimate": x.mean(),
                         "sd": x.std(), "min": x.min(), "max": x.max(),
                         "n_prorated": int(prorated.fillna(False).sum()) if prorated is not None else 0,
                         "ci_low": np.nan, "ci_high": np.nan})
        for cutoff in inst.cutoffs.values():
            if not cutoff.apply or cutoff.flag not in df.columns:
                continue
            flag = df[cutoff.flag].dropna().astype(bool)
            lo, hi = proportion_ci(flag.sum(), len(flag))
            rows.append({"source": source, "instrument": inst.name, "measure": cutoff.flag,
                         "kind": f"share {cutoff.score} {cutoff.operator} {cutoff.value:g}",
                         "n": len(flag), "n_flagged": int(flag.sum()),
                         "n_missing": int(df[cutoff.flag].isna().sum()),
                         "estimate": flag.mean() if len(flag) else np.nan, "sd": np.nan,
                         "min": np.nan, "max": np.nan, "n_prorated": 0,
                         "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(rows)


def quarantine_reasons(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows per source and rule, with row numbers and dates in rules generalised
    ('duplicate submission of row …'), most common first."""
    if not len(quarantine):
        return pd.DataFrame(columns=["source", "rule", "rows", "cells"])
    from evaluation.intake.validation import generalise_rules
    q = quarantine.assign(rule=generalise_rules(quarantine["rule"]))
    out = q.groupby(["source", "rule"]).agg(rows=("row", "nunique"), cells=("row", "size"))
    return out.reset_index().sort_values(["source", "rows"], ascending=[True, False],
                                         kind="stable").reset_index(drop=True)


def instrument_reliability(study, *, seed: int = 2026, n_boot: int = 200) -> pd.DataFrame:
    """Cronbach's alpha and McDonald's omega (with CIs and n) for every multi-item score in the
    study, on the items after reverse keying; a row per source × score × coefficient."""
    from evaluation.instruments import keyed_items
    from evaluation.instruments.psychometrics import cronbach_alpha, mcdonald_omega
    frames = []
    for source, df, inst in instrument_tables(study):
        items = keyed_items(df, inst)
        scales = {s.column: [i for i in s.items if items[i].notna().any()]
                  for s in inst.scores.values() if s.method in {"sum", "mean"}}
        scales = {k: v for k, v in scales.items() if len(v) >= 2}
        if not scales:
            continue
        for scale, cols in scales.items():
            for measure, estimate in (("cronbach_alpha", lambda c: cronbach_alpha(items, c)),
                                      ("omega_total", lambda c: mcdonald_omega(
                                          items, c, n_boot=n_boot, seed=seed))):
                try:
                    row = estimate(cols)
                except ParameterError as exc:
                    # Too few complete answers (one small institution, say): a row that
                    # says why, and the other coefficient still reported.
                    row = pd.DataFrame({"measure": [measure], "estimate": [np.nan],
                                        "ci_low": [np.nan], "ci_high": [np.nan],
                                        "n": [int(items[cols].notna().all(axis=1).sum())],
                                        "k": [len(cols)], "method": [f"not estimated: {exc}"]})
                row.insert(0, "scale", scale)
                row.insert(0, "source", source)
                frames.append(row)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def likert_items(instrument, data: pd.DataFrame | None = None) -> list[str]:
    """Items answered on a 1–5 agreement scale (present in ``data`` when given): the ones a
    diverging stacked bar shows well."""
    return [i.key for i in instrument.items.values()
            if i.type == "integer" and i.min == 1 and i.max == 5
            and (data is None or i.key in data.columns)]
