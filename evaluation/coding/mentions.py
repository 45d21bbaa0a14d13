"""Residents' and staff's views beside the estimates: the first joint display."""
from __future__ import annotations

import pandas as pd

from evaluation.describe.overview import coverage


def interview_mentions(study, codes, *, exposure: str | None = None, role: str = "resident",
                       source: str | None = None) -> pd.DataFrame:
    """Share of participants (of ``role``) whose interview mentions each code, by IP status,
    with Wilson CIs and n. A unit counts as mentioning a code when most of the coders who saw
    it gave that code (coders disagree; one coder's reading is not a mention)."""
    source = source or next((n for n, s in study.manifest.sources.items() if s.kind == "coded_segments"), None)
    if source is None:
        return pd.DataFrame()
    seg = study.table(source)
    seg = seg[seg["role"] == role] if "role" in seg.columns else seg
    exposure = exposure or study.manifest.exposure["column"]
    people = study.person_table()[[study.id_column, exposure]]
    rows = []
    for code in codes:
        given = seg.assign(hit=(seg["code"] == code).astype(int))
        unit = given.groupby(["unit_id", "participant_id"])["hit"].mean().reset_index()
        unit["mentioned"] = unit["hit"] > 0.5
        person = unit.groupby("participant_id")["mentioned"].any().astype(int).reset_index()
        person = person.merge(people, left_on="participant_id", right_on=study.id_column, how="inner")
        person = person.dropna(subset=[exposure])     # IP status unknown: not compared
        table = coverage(person, "mentioned", by=exposure)
        table.insert(0, "code", code)
        rows.append(table)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
