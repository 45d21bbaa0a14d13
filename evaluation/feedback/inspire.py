"""INSPIRE: how much support for personal recovery people feel they get from staff.

Support (only the items a person marks as important to them) and Relationship are scored on
0–100 by the instrument definitions (``instruments/inspire.yaml``), Brief INSPIRE likewise;
here they are put side by side by IP status, institution and year, with CIs and n, and their
reliability. No cutoff or reliable-change value is published for the full INSPIRE
(docs/instruments.md), so none is applied.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.constraints import (Interval, InstanceOf, check_param, name_list, require_frame,
                                    validate_params)
from evaluation.describe import instrument_reliability, sources_with_instrument
from evaluation.errors import ContractError, ParameterError
from evaluation.estimates import (as_measure_table, check_measure_table, estimate_row,
                                  estimate_table, measure_row, measure_table)
from evaluation.feedback.ip_contrasts import first_per_person

SCORES = {"inspire_support": "Support (important items)",
          "inspire_relationship": "Relationship",
          "inspire_brief_score": "Brief INSPIRE"}
INSTRUMENTS = ("inspire", "inspire_brief")
CONFIDENCE = [Interval(0, 1, closed="neither")]
SCORE_SCALE = "mean (score 0–100)"


def inspire_scores(study, *, exposure: str | None = None) -> pd.DataFrame:
    """One row per person × year × measure: person_id, institution, year, the exposure (IP
    status) and ``measure`` / ``score`` (0–100), from every source that carries INSPIRE or
    Brief INSPIRE.

    Raises ParameterError when the study has no INSPIRE source (:func:`has_inspire` asks).
    """
    exposure = exposure or (study.manifest.exposure or {}).get("column")
    frames = []
    for source in inspire_sources(study):
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


def inspire_sources(study) -> list[str]:
    """The study's sources that carry INSPIRE or Brief INSPIRE, in instrument order."""
    return [source for instrument in INSTRUMENTS
            for source in sources_with_instrument(study, instrument)]


def has_inspire(study) -> bool:
    """Whether the study has a source with INSPIRE or Brief INSPIRE."""
    return bool(inspire_sources(study))


@validate_params({"scores": ["frame"], "confidence": CONFIDENCE})
def score_means(scores: pd.DataFrame, *, by=None, confidence: float = 0.95) -> pd.DataFrame:
    """Mean score per measure (and ``by`` groups) with a t-based CI, SD and n.

    Returns
    -------
    DataFrame
        A measure table (:mod:`evaluation.estimates`): the ``by`` groups, ``measure`` (the
        INSPIRE score), ``scale`` ("mean (score 0–100)"), ``estimate``, ``ci_low``,
        ``ci_high``, ``n``, ``note``, then ``sd``.

    Examples
    --------
    >>> d = pd.DataFrame({"measure": ["Relationship"] * 4, "score": [50.0, 60.0, 70.0, 80.0]})
    >>> score_means(d)[["measure", "estimate", "n"]]
            measure  estimate  n
    0  Relationship      65.0  4
    """
    by = name_list(by, "by", "score_means")
    require_frame(scores, ["measure", "score", *by], "score_means", "scores",
                  hint=f"they are not in the data; it has {list(scores.columns)}.")
    rows = []
    for key, g in scores.dropna(subset=["score"]).groupby(["measure", *by], sort=True,
                                                           dropna=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        x = g["score"].to_numpy(dtype=float)
        n, mean = len(x), float(np.mean(x))
        sd = float(np.std(x, ddof=1)) if n > 1 else np.nan
        half = (stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else np.nan
        keys = dict(zip(["measure", *by], key))
        rows.append({**measure_row(**keys, scale=SCORE_SCALE, estimate=mean, ci_low=mean - half,
                                   ci_high=mean + half, n=n), "sd": sd})
    return measure_table(rows, keys=by, extra=["sd"])


@validate_params({"scores": ["frame"], "group": [str], "confidence": CONFIDENCE})
def difference_by_group(scores: pd.DataFrame, *, group: str, confidence: float = 0.95) -> pd.DataFrame:
    """Per measure, the difference in mean score between the two levels of ``group`` (1 − 0,
    or second − first in sort order) with a Welch CI and p-value: the crude contrast. Adjusted
    contrasts by IP status go through :mod:`evaluation.association` (see
    :func:`evaluation.feedback.ip_contrasts.compare_by_ip`).

    Returns
    -------
    DataFrame
        An estimate table (:mod:`evaluation.estimates`): ``outcome`` (the INSPIRE score),
        ``method`` ("Welch t"), ``estimand`` ("unadjusted"), ``scale``, ``estimate``,
        ``ci_low``, ``ci_high``, ``p_value``, ``n``, ``n_exposed`` (people in the second
        level), ``note``, then ``contrast``.
    """
    require_frame(scores, ["measure", "score", group], "difference_by_group", "scores")
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
        rows.append(estimate_row(
            outcome=measure, method="Welch t", estimand="unadjusted",
            scale="mean difference (score 0–100)", estimate=float(a.mean() - b.mean()),
            ci_low=float(ci.low), ci_high=float(ci.high), p_value=float(test.pvalue),
            n=len(a) + len(b), n_exposed=len(a),
            contrast=f"{group}={levels[1]} − {group}={levels[0]}"))
    return estimate_table(rows, extra=["contrast"])


def inspire_reliability(study, *, seed: int = 2026, n_boot: int = 200) -> pd.DataFrame:
    """Cronbach's alpha and McDonald's omega, with CIs and n, of the INSPIRE scales (the
    study's reliability table restricted to INSPIRE sources). Support counts only important
    items per person, so its reliability is that of the Relationship and Brief scales only
    (a person-specific item set has no single alpha).

    Returns
    -------
    DataFrame
        A measure table (:mod:`evaluation.estimates`), keys ``source`` and ``score`` (the
        scored column), ``measure`` (``cronbach_alpha``, ``omega_total``), ``scale``
        ("reliability"), ``estimate``, ``ci_low``, ``ci_high``, ``n``, ``note``, then the
        reliability table's other columns (``k``, ``method``).
    """
    check_param("inspire_reliability", "n_boot", n_boot, [Interval(1, None, integral=True)])
    check_param("inspire_reliability", "seed", seed, [InstanceOf(int, np.integer)])
    table = instrument_reliability(study, seed=seed, n_boot=n_boot)
    if table.empty:
        return measure_table([], keys=["source", "score"])
    table = table[table["source"].isin(set(inspire_sources(study)))].reset_index(drop=True)
    return reliability_measures(table)


def reliability_measures(table: pd.DataFrame) -> pd.DataFrame:
    """A reliability table (a row per source × score × coefficient) as a measure table: kept
    as it is when it already is one, else its ``scale`` column (the scored column) becomes
    ``score`` and ``scale`` says "reliability"."""
    try:
        check_measure_table(table)
        return table
    except ContractError:
        pass
    out = table.rename(columns={"scale": "score"}).assign(scale="reliability")
    if "method" in out.columns and "note" not in out.columns:
        out["note"] = out["method"].where(out["method"].astype(str).str.startswith("not estimated"), "")
    return as_measure_table(out, keys=[c for c in ("source", "score") if c in out.columns])


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
    wide = scores.pivot_table(index=[id_column, "year"], columns="measure", values="score")
    wide = wide.reset_index()
    wide.columns = [str(c) for c in wide.columns]
    names = {m: m.split(" ")[0].lower() for m in SCORES.values() if m in wide.columns}
    one = first_per_person(wide.rename(columns=names), id_column, "year")
    return one[[id_column, *names.values()]]
