"""The analysis frame: one row per person with exposure, outcome, covariates and institution,
taken from a study by the names in its manifest, with every row left out accounted for."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaluation.constraints import Options, check_param
from evaluation.disclosure import DisclosureRules
from evaluation.errors import ParameterError

MIN_ROWS = 20


@dataclass
class AnalysisFrame:
    data: pd.DataFrame          # complete cases: exposure, outcome, covariates, institution
    outcome: str                # the outcome's column in ``data``
    kind: str                   # 'binary' or 'continuous'
    exposure: str
    covariates: list
    institution: str
    left_out: pd.DataFrame      # reason, rows
    n_read: int                 # people in the person table
    lower_is_better: bool = False
    # The ids of the people in ``data`` (by row) and of those left out (by reason): for the
    # disclosure layer only, which ties counts of the same people across tables by them.
    people: pd.Series | None = None
    left_out_people: dict | None = None


def analysis_frame(study, outcome: str, *, covariates=None) -> AnalysisFrame:
    """Exposure, outcome and covariates of ``study`` for ``outcome`` (a name under
    ``outcomes:`` in study.yaml), complete cases only, with the reasons rows were left out.

    Raises ParameterError (exit 2 from the CLI) for an outcome or covariate that is not in
    the study, an exposure that is not 0/1 or has one value, or too few complete rows.
    """
    m = study.manifest
    if not m.exposure:
        raise ParameterError(f"Study {study.name!r} names no `exposure:` in study.yaml.")
    if outcome not in m.outcomes:
        raise ParameterError(f"Outcome {outcome!r} is not in study {study.name!r}; its outcomes: "
                             f"{', '.join(m.outcomes) or 'none'} (under `outcomes:` in study.yaml).")
    spec = m.outcomes[outcome]
    return _frame(study, study.person_table(), outcome, spec.variable, spec.type,
                  covariates=covariates, lower_is_better=spec.lower_is_better,
                  source=m.exposure["source"])


def outcome_frame(study, values: pd.DataFrame, outcome: str, *, kind: str, covariates=None,
                  lower_is_better: bool = False, what: str | None = None) -> AnalysisFrame:
    """The analysis frame for an outcome that is not a column of the person table (an FIT
    episode's change, an INSPIRE score): ``values`` has one row per person, the study's id
    column and ``outcome``; exposure, covariates and institution come from the person table,
    and rows are left out with reasons exactly as for the manifest's outcomes.
    """
    ids = study.manifest.id_column
    check_param("outcome_frame", "kind", kind, [Options({"binary", "continuous"})])
    missing = [c for c in (ids, outcome) if c not in values.columns]
    if missing:
        raise ParameterError(f"outcome_frame: column(s) {missing} not in the values given.")
    if values[ids].duplicated().any():
        raise ParameterError(f"outcome_frame: one row per person is needed; {what or outcome} "
                             f"has several rows for some {ids} (take the first episode or year).")
    people = study.person_table()
    people = people.drop(columns=[outcome], errors="ignore").merge(
        values[[ids, outcome]], on=ids, how="left")
    return _frame(study, people, what or outcome, outcome, kind, covariates=covariates,
                  lower_is_better=lower_is_better, source=study.manifest.exposure["source"])


def _frame(study, people, outcome, variable, kind, *, covariates, lower_is_better, source):
    m = study.manifest
    if not m.exposure:
        raise ParameterError(f"Study {study.name!r} names no `exposure:` in study.yaml.")
    exposure = m.exposure["column"]
    covariates = list(m.covariates if covariates is None else covariates)
    missing = [c for c in [exposure, variable, *covariates] if c not in people.columns]
    if missing:
        raise ParameterError(f"Column(s) {missing} are not in the data of study {study.name!r} "
                             f"(exposure, outcome {outcome!r} or covariates); the person table has "
                             f"{', '.join(map(str, people.columns[:30]))}.")
    inst = study.institution_column
    cols = [exposure, variable, *covariates] + ([inst] if inst in people.columns and inst not in covariates else [])
    frame = people[cols].copy()
    values = pd.to_numeric(frame[exposure], errors="coerce")
    odd = frame[exposure][values.notna() & ~values.isin([0, 1])]
    if len(odd):
        raise ParameterError(f"Exposure {exposure!r} must be 0/1; found {odd.iloc[0]!r}.")
    frame[exposure] = values
    if kind == "binary":
        frame[variable] = pd.to_numeric(frame[variable], errors="coerce")
    ids = people[m.id_column].astype(str) if m.id_column in people.columns else None
    left_out, gone = _reasons(frame, variable, exposure, covariates, source=source, ids=ids)
    complete = frame.dropna(subset=[exposure, variable, *covariates])
    kept = None if ids is None else ids.loc[complete.index].reset_index(drop=True)
    data = complete.reset_index(drop=True)
    if len(data) and data[exposure].nunique() < 2:
        raise ParameterError(f"Exposure {exposure!r} has one value ({data[exposure].iloc[0]:g}) "
                             f"among the {len(data)} complete rows: there is nothing to compare.")
    data, no_contrast, kept = _without_positivity_violations(data, exposure, inst, kept, gone)
    left_out = pd.concat([left_out, no_contrast], ignore_index=True)
    if len(data) < MIN_ROWS:
        raise ParameterError(f"Only {len(data)} people have {outcome!r}, {exposure!r} and every "
                             f"covariate ({MIN_ROWS} are needed). Left out: "
                             + "; ".join(f"{r.reason} ({_shown_count(r.rows)})"
                                         for r in left_out.itertuples()))
    if data[exposure].nunique() < 2:
        raise ParameterError(f"Exposure {exposure!r} has one value ({data[exposure].iloc[0]:g}) "
                             f"among the {len(data)} complete rows: there is nothing to compare.")
    return AnalysisFrame(data, variable, kind, exposure, covariates, inst, left_out,
                         len(people), lower_is_better, people=kept,
                         left_out_people=None if ids is None else gone)


def _without_positivity_violations(data: pd.DataFrame, exposure: str, inst: str, kept, gone):
    """An institution where everyone (or no one) has an IP offers no comparison: its people
    cannot be weighted or matched (positivity fails), so they leave the analysis, by name."""
    if inst not in data.columns or data[inst].nunique() < 2:
        return data, pd.DataFrame(columns=["reason", "rows"]), kept
    share = data.groupby(inst)[exposure].mean()
    bad = share[(share == 0) | (share == 1)]
    rows = []
    for name, value in bad.items():
        reason = (f"institution {name!r}: {'everyone' if value == 1 else 'no one'} has an IP "
                  f"(no comparison within it; positivity)")
        rows.append({"reason": reason, "rows": int((data[inst] == name).sum())})
        if kept is not None:
            gone[reason] = frozenset(kept[data[inst] == name])
    stay = ~data[inst].isin(bad.index)
    kept = None if kept is None else kept[stay].reset_index(drop=True)
    return data[stay].reset_index(drop=True), pd.DataFrame(rows, columns=["reason", "rows"]), kept


def _reasons(frame: pd.DataFrame, outcome: str, exposure: str, covariates, *, source: str,
             ids=None):
    """Each left-out row counted once, under the first reason: no row in the exposure's
    source, then outcome, exposure, covariates. Returns the table and, per reason, the ids of
    the people (empty without ``ids``)."""
    absent = frame[exposure].isna() & frame[outcome].isna()
    reasons = [(absent, f"no row in source {source!r} (did not answer, or quarantined)")]
    remaining = ~absent
    for column, reason in [(outcome, "outcome missing"), (exposure, "exposure missing"),
                           *[(c, f"covariate {c!r} missing") for c in covariates]]:
        hit = remaining & frame[column].isna()
        reasons.append((hit, reason))
        remaining &= ~hit
    rows, people = [], {}
    for hit, reason in reasons:
        if hit.any():
            rows.append({"reason": reason, "rows": int(hit.sum())})
            if ids is not None:
                people[reason] = frozenset(ids[hit])
    return pd.DataFrame(rows, columns=["reason", "rows"]), people


def _shown_count(rows) -> str:
    """A count of people in an error text, which may reach a report: a small one as ``<5``
    (the default rule; the study's own is applied to the report's tables)."""
    rules = DisclosureRules()
    return rules.suppressed_text if rules.small_count([rows])[0] else str(int(rows))
