"""Residents' and staff's views beside the estimates: the first joint display."""
from __future__ import annotations

import pandas as pd

from evaluation.describe import coverage
from evaluation.estimates import with_counts


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


def views_by_ip(study) -> list[tuple[str, pd.DataFrame, list[str]]]:
    """Residents' view of their plan, the staff survey by institution, and the share of
    residents whose interviews mention owning their goals or less chaos, by IP status.

    Returns ``(title, table, None)`` for each view the study has. Each table is marked with
    its count columns and shares (``attrs``), so ``Disclosure.show(table)`` protects them; the
    third item (``counts=``, once a list) is None and kept so that callers passing it on work.
    """
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
            # A mean of a 0/1 item is a share: share × n people said yes.
            table = with_counts(table, [f"{i}_n" for i in items])
            table.attrs["shares"] = {f"{i}_mean": f"{i}_n" for i in items
                                     if holders[i].dropna().isin([0, 1]).all()}
            out.append(("Residents with an IP: their view of the plan (means, 1–5; chairs own "
                        "meetings as a share)", table, None))
    staff = [n for n, s in study.manifest.sources.items() if "ip_questionnaire_staff" in s.instruments]
    for source in staff:
        df = study.table(source)
        items = [c for c in ("ip_usefulness", "leadership_drive", "ip_eases_work") if c in df]
        table = df.groupby(inst)[items].mean().reset_index()
        table["actively_sold_in"] = df.groupby(inst)["ip_presentation"].apply(
            lambda s: (s == "actively_sold_in").mean()).to_numpy()
        table["n"] = df.groupby(inst).size().to_numpy()
        table = with_counts(table, [])
        table.attrs["shares"] = {"actively_sold_in": "n"}
        out.append(("Staff survey by institution (means, 1–5; share who say IP is actively sold in)",
                    table, None))
    mentions = interview_mentions(study, ["goal_ownership", "less_chaos"])
    if len(mentions):
        # the mentioning residents are the share's numerator, whatever coverage() calls it
        numerator = "count" if "count" in mentions.columns else "n_exposed"
        counted = mentions.rename(columns={numerator: "n_mentioning"})
        counted = with_counts(counted, ["n_mentioning", "n_missing"],
                              complements={"n_mentioning": "n"})
        out.append(("Residents whose interviews mention the theme, by IP status (Wilson 95 % CI)",
                    counted, None))
    return out
