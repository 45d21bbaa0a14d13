"""INSPIRE: how much support for personal recovery people feel they get from staff.

Support (only the items a person marks as important to them) and Relationship are scored on
0–100 by the instrument definitions (``instruments/inspire.yaml``), Brief INSPIRE likewise;
here they are put side by side by IP status, institution and year, with CIs and n, and their
reliability. No cutoff or reliable-change value is published for the full INSPIRE
(instruments.md, section 0), so none is applied.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.errors import ParameterError

SCORES = {"inspire_support": "Support (important items)",
          "inspire_relationship": "Relationship",
          "inspire_brief_score": "Brief INSPIRE"}


def inspire_scores(study, *, exposure: str | None = None) -> pd.DataFrame:
    """One row per person × year × measure: person_id, institution, year, the exposure (IP
    status) and ``measure`` / ``score`` (0–100), from every source that carries INSPIRE or
    Brief INSPIRE.

    Raises ParameterError when the study has no INSPIRE source.
    """
    from evaluation.describe.overview import sources_with_instrument
    exposure = exposure or (study.manifest.exposure or {}).get("column")
    frames = []
    for instrument in ("inspire", "inspire_brief"):
        for source in sources_with_instrument(study, instrument):
            table = study.table(source)
            present = [c for c in SCORES if c in table.columns]
            keep = [c for c in (study.manifest.id_column, study.institution_column, "year")
                    if c in table.columns]
            long = table[keep + present].melt(id_vars=keep, value_vars=present,
                                              var_name="measure", value_name="score")
            long["source"] = source
            frames.append(long)
    if not frames:
        raise ParameterError(f"Study {study.name!r} has no source with the instrument inspire "
                             f"or inspire_brief (under `instrument:` in study.yaml).")
    scores = pd.concat(frames, ignore_index=True)
    if exposure:
        people = study.person_table()
        if exposure in people.columns:
            ids = study.manifest.id_column
            scores = scores.merge(people[[ids, exposure]].drop_duplicates(ids), on=ids, how="left")
    scores["measure"] = scores["measure"].map(SCORES)
    return scores


def score_means(scores: pd.DataFrame, *, by=None, confidence: float = 0.95) -> pd.DataFrame:
    """Mean score per measure (and ``by`` groups) with a t-based CI, SD and n.

    Examples
    --------
    >>> d = pd.DataFrame({"measure": ["Relationship"] * 4, "score": [50.0, 60.0, 70.0, 80.0]})
    >>> score_means(d)[["measure", "estimate", "n"]]
            measure  estimate  n
    0  Relationship      65.0  4
    """
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must lie between 0 and 1; got {confidence!r}.")
    by = [by] if isinstance(by, str) else list(by or [])
    missing = [c for c in ["measure", "score", *by] if c not in scores.columns]
    if missing:
        raise ParameterError(f"score_means: column(s) {missing} not in the data; it has "
                             f"{list(scores.columns)}.")
    rows = []
    for key, g in scores.dropna(subset=["score"]).groupby(["measure", *by], sort=True,
                                                           dropna=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        x = g["score"].to_numpy(dtype=float)
        n, mean = len(x), float(np.mean(x))
        sd = float(np.std(x, ddof=1)) if n > 1 else np.nan
        half = (stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else np.nan
        rows.append({**dict(zip(["measure", *by], key)), "estimate": mean,
                     "ci_low": mean - half, "ci_high": mean + half, "sd": sd, "n": n})
    return pd.DataFrame(rows, columns=["measure", *by, "estimate", "ci_low", "ci_high", "sd", "n"])


def difference_by_group(scores: pd.DataFrame, *, group: str, confidence: float = 0.95) -> pd.DataFrame:
    """Per measure, the difference in mean score between the two levels of ``group`` (1 − 0,
    or second − first in sort order) with a Welch CI and p-value: the crude contrast. Adjusted
    contrasts by IP status go through :mod:`evaluation.association` (see
    :func:`evaluation.feedback.ip_contrasts.adjusted_by_ip`)."""
    rows = []
    for measure, g in scores.dropna(subset=["score", group]).groupby("measure", sort=True):
        levels = sorted(g[group].unique())
        if len(levels) != 2:
            continue
        a = g.loc[g[group] == levels[1], "score"].to_numpy(dtype=float)
        b = g.loc[g[group] == levels[0], "score"].to_numpy(dtype=float)
        if min(len(a), len(b)) < 2:
            continue
        test = stats.ttest_ind(a, b, equal_var=False)
        ci = test.confidence_interval(confidence)
        rows.append({"measure": measure, "contrast": f"{group}={levels[1]} − {group}={levels[0]}",
                     "estimate": float(a.mean() - b.mean()), "ci_low": float(ci.low),
                     "ci_high": float(ci.high), "p_value": float(test.pvalue),
                     "n": len(a) + len(b), "n_exposed": len(a)})
    return pd.DataFrame(rows, columns=["measure", "contrast", "estimate", "ci_low", "ci_high",
                                       "p_value", "n", "n_exposed"])


def inspire_reliability(study, *, seed: int = 2026, n_boot: int = 200) -> pd.DataFrame:
    """Cronbach's alpha and McDonald's omega, with CIs and n, of the INSPIRE scales (the
    study's reliability table restricted to INSPIRE sources). Support counts only important
    items per person, so its reliability is that of the Relationship and Brief scales only
    (a person-specific item set has no single alpha)."""
    from evaluation.describe.overview import instrument_reliability, sources_with_instrument
    table = instrument_reliability(study, seed=seed, n_boot=n_boot)
    sources = set(sources_with_instrument(study, "inspire")) | set(
        sources_with_instrument(study, "inspire_brief"))
    if table.empty:
        return table
    return table[table["source"].isin(sources)].reset_index(drop=True)


def first_year_scores(scores: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """One row per person, from the first year they answered: ``id_column`` and a column per
    measure (``support``, ``relationship``, ``brief``) — the per-person values
    :func:`evaluation.feedback.ip_contrasts.compare_by_ip` takes.

    Examples
    --------
    >>> s = pd.DataFrame({"person_id": ["a", "a", "b"], "year": [2024, 2023, 2023],
    ...                   "measure": ["Relationship"] * 3, "score": [70.0, 60.0, 50.0]})
    >>> first_year_scores(s, "person_id")
      person_id  relationship
    0         a          60.0
    1         b          50.0
    """
    from evaluation.feedback.ip_contrasts import first_per_person
    wide = scores.pivot_table(index=[id_column, "year"], columns="measure", values="score")
    wide = wide.reset_index()
    wide.columns = [str(c) for c in wide.columns]
    names = {m: m.split(" ")[0].lower() for m in SCORES.values() if m in wide.columns}
    one = first_per_person(wide.rename(columns=names), id_column, "year")
    return one[[id_column, *names.values()]]
