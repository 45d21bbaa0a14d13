"""Joint displays (mixed methods): for each theme, what the interviews say and what the numbers
say, side by side by IP status, with de-identified example quotes.

A theme pairs a code (``less_chaos``) with a measured quantity of the people interviewed or of
the study (``daily_chaos``): the share of resident participants whose interview mentions the
code, by IP status, beside the measure's mean (or share) by IP status among everyone measured,
and the adjusted difference from the headline analysis when the measure is one of the study's
outcomes. Quotes are masked (names, places, national ID numbers) before they are shown.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.association.analysis import evaluate
from evaluation.coding.themes import mentions_by_group, unit_codes
from evaluation.describe import proportion_ci
from evaluation.errors import ParameterError
from evaluation.estimates import as_measure_table
from evaluation.intake.deidentify import deidentify, study_vocabulary

GROUPS = {1: "IP", 0: "no IP"}


def joint_display(study, themes, *, segments: pd.DataFrame | None = None, role: str = "resident",
                  rule: str = "majority", quotes: int = 2, max_chars: int = 220, seed: int = 0,
                  adjusted: bool = True) -> pd.DataFrame:
    """One row per theme: the code's mentions by IP status, the measure by IP status, the
    adjusted IP difference where the measure is a study outcome, and example quotes.

    Parameters
    ----------
    themes : list of dict
        Each with ``code`` and ``measure`` (a column of the person table, e.g. an outcome or a
        score) and optionally ``label``.
    quotes : int
        Example quotes per theme, drawn at random (``seed``) from units of ``role`` that carry
        the code by the coders' ``rule``; masked with :func:`evaluation.intake.deidentify.deidentify`
        and the study's vocabulary, and cut to ``max_chars``.

    Returns
    -------
    DataFrame
        The joint display as one long table, rows grouped by theme: ``theme``, ``evidence``
        (what the row says: residents mentioning the code; the measure's mean or share; the
        adjusted difference; example quotes), ``group`` (IP, no IP, or IP − no IP), ``count``
        then the measure contract (``measure``, ``scale``, ``estimate``, ``ci_low``,
        ``ci_high``, ``n``, ``note``), ``count`` (people mentioning; empty for measures) and
        ``quotes``. Show it with ``sdc.show(table, n=None)``: the contract's ``count`` and
        ``n`` are protected, so a small count, a small complement or a small n hides its row's
        numbers, and the rows of other evidence are unaffected.
    """
    if not themes:
        raise ParameterError("joint_display: give at least one theme {code, measure}.")
    if segments is None:
        source = next((n for n, s in study.manifest.sources.items() if s.kind == "coded_segments"),
                      None)
        if source is None:
            raise ParameterError(f"Study {study.name!r} has no coded_segments source.")
        segments = study.table(source)
    exposure = study.manifest.exposure["column"]
    people = study.person_table()
    ids = study.manifest.id_column
    persons = people[[ids, exposure]].rename(columns={ids: "participant"})
    own = segments[segments["role"] == role] if "role" in segments.columns else segments
    mentions = mentions_by_group(own, by=exposure, people=persons, rule=rule)
    units = unit_codes(own, rule=rule)
    texts = own.dropna(subset=["text"]).drop_duplicates("unit_id").set_index("unit_id")["text"] \
        if "text" in own.columns else pd.Series(dtype=object)
    names, places = study_vocabulary(study)
    rng = np.random.default_rng(seed)
    rows = []
    for theme in themes:
        code, measure = theme.get("code"), theme.get("measure")
        if code not in units.attrs["codes"]:
            raise ParameterError(f"joint_display: code {code!r} was not given to any {role}'s "
                                 f"unit; codes: {', '.join(units.attrs['codes'])}.")
        if measure not in people.columns:
            raise ParameterError(f"joint_display: measure {measure!r} is not a column of the "
                                 f"person table of study {study.name!r}.")
        label = theme.get("label", code)
        m = mentions[mentions["code"] == code]
        for value, group in GROUPS.items():
            g = m[m[exposure] == value]
            count, n = (int(g["count"].iloc[0]), int(g["n"].iloc[0])) if len(g) else (0, 0)
            low, high = proportion_ci(count, n)
            rows.append({"theme": label, "evidence": f"{role}s mentioning '{code}' (interviews)",
                         "group": group, "measure": "share mentioning", "scale": "proportion",
                         "count": count, "n": n,
                         "estimate": count / n if n else np.nan, "ci_low": float(low),
                         "ci_high": float(high)})
        rows += _measure(people, measure, exposure, label)
        if adjusted:
            rows += _adjusted(study, measure, label)
        hits = units.loc[units[code] == 1, "unit_id"]
        hits = [u for u in hits if u in texts.index]
        chosen = rng.choice(hits, size=min(quotes, len(hits)), replace=False) if hits else []
        if len(chosen):
            rows.append({"theme": label, "evidence": "example quotes (masked)", "group": "",
                         "measure": "example quotes",
                         "quotes": " / ".join(
                             "«" + _cut(deidentify(str(texts[u]), names=names, places=places),
                                        max_chars) + "»" for u in chosen)})
    columns = ["theme", "evidence", "group", "measure", "scale", "estimate", "ci_low", "ci_high",
               "n", "note", "count", "quotes"]
    out = pd.DataFrame(rows, columns=columns)
    out["count"] = out["count"].astype(float)
    out["n"] = out["n"].astype(float)
    out["quotes"] = out["quotes"].fillna("")
    return as_measure_table(out, keys=["theme", "evidence", "group"])


def _measure(people: pd.DataFrame, measure: str, exposure: str, label: str) -> list[dict]:
    values = pd.to_numeric(people[measure], errors="coerce")
    binary = set(values.dropna().unique()) <= {0, 1}
    rows = []
    for value, group in GROUPS.items():
        x = values[people[exposure] == value].dropna().to_numpy(dtype=float)
        n = len(x)
        est = x.mean() if n else np.nan
        if binary:
            low, high = (float(v) for v in proportion_ci(int(x.sum()), n))
        else:
            half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
            low, high = est - half, est + half
        rows.append({"theme": label, "evidence": f"{measure}: {'share' if binary else 'mean'} "
                     f"(everyone measured)", "group": group, "measure": measure,
                     "scale": "proportion" if binary else "mean", "n": n, "estimate": est,
                     "ci_low": low, "ci_high": high})
    return rows


def _adjusted(study, measure: str, label: str) -> list[dict]:
    """The AIPW ATE of the headline analysis when ``measure`` is one of the study's outcomes."""
    name = next((o for o, spec in study.manifest.outcomes.items() if spec.variable == measure),
                None)
    if name is None:
        return []
    try:
        est, _ = evaluate(study, [name], methods=("aipw",))
    except ParameterError:
        return []
    row = est.iloc[0]
    return [{"theme": label, "evidence": f"{measure}: adjusted difference (AIPW ATE, "
             f"{row['scale']})", "group": "IP − no IP", "measure": "adjusted difference (AIPW ATE)",
             "scale": row["scale"], "n": row["n"],
             "estimate": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}]


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
