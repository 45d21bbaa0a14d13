"""What the interviews notebook shows besides the estimators' tables: the segments of a study,
a line about them, counts of problems and disagreements, residents' mentions by IP status, the
gap in mentions per theme, and the two figures (agreement per code, mentions by IP status).

Functions return frames, text or Axes; the notebook displays them.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from evaluation.coding.segments import read_segments, segment_problems
from evaluation.coding.themes import mentions_by_group
from evaluation.disclosure.figure_data import rows_where, with_key
from evaluation.disclosure.figures import estimate_plot
from evaluation.errors import ParameterError
from evaluation.estimates import with_counts

IP_LABELS = {1: "IP", 0: "no IP"}
ALPHA_GOOD, ALPHA_TENTATIVE = 0.8, 0.667      # Krippendorff's thresholds for conclusions


def study_segments(study, segments_file=None) -> pd.DataFrame:
    """The coded segments: ``segments_file`` (CSV, XLSX, .qdpx) when given, else the study's
    first ``coded_segments`` source, read and checked with :func:`read_segments`."""
    if segments_file:
        return read_segments(segments_file)
    source = next((n for n, spec in study.manifest.sources.items()
                   if spec.kind == "coded_segments"), None)
    if source is None:
        raise ParameterError(f"Study {study.name!r} has no coded_segments source; give "
                             "segments_file.")
    return read_segments(study.table(source))


def segments_summary(segments: pd.DataFrame) -> str:
    """One Markdown line: units, interviews and coders (by name)."""
    interviews = segments["interview"].nunique() if "interview" in segments else "?"
    coders = sorted(segments["coder"].unique())
    return (f"**{segments['unit_id'].nunique()} units** from {interviews} interviews, "
            f"coded by {len(coders)} coders ({', '.join(coders)}).")


def problem_counts(segments: pd.DataFrame) -> pd.DataFrame | None:
    """Rows per kind of problem found in the segments (``problem``, ``rows``); None if none."""
    problems = segment_problems(segments)
    if problems is None or not len(problems):
        return None
    return with_counts(problems.groupby("problem").size().rename("rows").reset_index(), "rows")


def disagreements_per_code(disagreements: pd.DataFrame) -> pd.DataFrame:
    """Units with disagreement per code, from :func:`~evaluation.coding.agreement.disagreements`."""
    per_code = disagreements.groupby("code").size().rename("units with disagreement").reset_index()
    return with_counts(per_code, "units with disagreement")


def write_worklist(disagreements: pd.DataFrame, path) -> Path:
    """Write the disagreement list (raw texts: for the coders, not for a report) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    disagreements.to_csv(path, index=False)
    return path


def mentions_by_ip(study, segments: pd.DataFrame, *, rule: str = "majority",
                   role: str = "resident") -> pd.DataFrame:
    """:func:`~evaluation.coding.themes.mentions_by_group` of ``role``'s interviews by the
    study's exposure (IP status), with a column ``IP`` ("IP", "no IP") in place of it."""
    exposure, ids = study.manifest.exposure["column"], study.manifest.id_column
    people = study.person_table()[[ids, exposure]].rename(columns={ids: "participant"})
    own = segments[segments["role"] == role] if "role" in segments.columns else segments
    table = mentions_by_group(own, by=exposure, people=people, rule=rule)
    # In the exposure's place, so that it stays a key of the rows (the disclosure layer and a
    # reader both take the columns before the counts for the row's group).
    table.insert(table.columns.get_loc(exposure), "IP", table[exposure].map(IP_LABELS))
    return table.drop(columns=[exposure])


def mention_gaps(joint: pd.DataFrame) -> dict:
    """Per theme of a joint display, the share mentioning it with IP minus without."""
    gaps = {}
    for label, g in joint.groupby("theme", sort=False):
        share = g[g["evidence"].str.contains("mentioning")].set_index("group")["estimate"]
        if set(IP_LABELS.values()) <= set(share.index):
            gaps[label] = share["IP"] - share["no IP"]
    return gaps


def agreement_plot(data, *, x: str = "code", measure: str = "alpha", ax=None, rules=None,
                   sdc=None):
    """Krippendorff's alpha per code with its CI and the 0.8 and 0.667 reference lines, from the
    agreement table as the report shows it (a code the table hides is labelled with its mark,
    not drawn); returns the Axes."""
    ax = ax if ax is not None else plt.subplots(figsize=(10, 4))[1]
    rows = rows_where(data, lambda v: v["measure"] == measure)
    estimate_plot(rows, x=x, n="n", ax=ax, ylabel="Krippendorff's alpha (nominal)", rules=rules,
                  sdc=sdc, name="inter-coder agreement (alpha)")
    ax.axhline(ALPHA_GOOD, color="#2e7d32", linestyle="--", linewidth=0.8)
    ax.axhline(ALPHA_TENTATIVE, color="#fb8c00", linestyle="--", linewidth=0.8)
    ax.tick_params(axis="x", labelrotation=30)
    ax.figure.tight_layout()
    return ax


def mentions_plot(data, *, hue: str = "IP", ax=None, rules=None, sdc=None):
    """The share mentioning each code, a bar per code and group (``hue``), from the table of
    :func:`mentions_by_ip` as the report shows it; returns the Axes."""
    ax = ax if ax is not None else plt.subplots(figsize=(11, 4))[1]
    labelled = with_key(data, "label", lambda v: v["code"].astype(str) + " · " + v[hue].astype(str))
    estimate_plot(labelled, x="label", ax=ax, ylabel="share of residents mentioning", rules=rules,
                  sdc=sdc, name="mentions by IP status")
    ax.tick_params(axis="x", labelrotation=60)
    ax.figure.tight_layout()
    return ax


def write_tables(folder, tables: dict) -> Path:
    """Write each table (a frame or a shown table: anything with ``to_csv``) of ``{file name:
    table}`` into ``folder``, made if need be."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(folder / name)
    return folder
