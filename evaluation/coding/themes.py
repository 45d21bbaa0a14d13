"""Themes by group: who mentions what, which codes go together, and the case × code matrix.

A coded unit *mentions* a code when most of the coders who saw it gave that code (``rule=
"majority"``), or when any did (``rule="any"``): one coder's reading alone is not a mention
when others read the same text and did not see it. A participant or interview mentions a code
when any of its units does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats
from statsmodels.stats.multitest import multipletests

from evaluation.constraints import Interval, Options, require_frame, validate_params
from evaluation.describe import proportion_ci
from evaluation.disclosure.figure_data import figure_table
from evaluation.disclosure.figure_provenance import record_panel
from evaluation.disclosure.figures import axes_or_new, figure_note
from evaluation.disclosure.safe_table import SafeTable
from evaluation.errors import ParameterError
from evaluation.estimates import measure_table

RULES = {"majority", "any"}
CASES = {"participant": "participant", "interview": "interview"}
# The contract's names (docs/study-manifest.md, coded segments); exports often carry the *_id spelling.
ALIASES = {"participant_id": "participant", "interview_id": "interview"}


def _contract_names(data: pd.DataFrame) -> pd.DataFrame:
    renames = {a: c for a, c in ALIASES.items() if a in data.columns and c not in data.columns}
    return data.rename(columns=renames) if renames else data


@validate_params({"rule": [Options(RULES)]})
def unit_codes(segments: pd.DataFrame, *, rule: str = "majority") -> pd.DataFrame:
    """A 0/1 table, one row per unit (with its interview, participant, role and institution
    where known) and a column per code, by the coders' ``rule``."""
    segments = _contract_names(segments)
    require_frame(segments, ["unit_id", "coder", "code"], "unit_codes")
    seen = segments.groupby("unit_id")["coder"].nunique()
    coded = segments.dropna(subset=["code"])
    coded = coded[coded["code"].astype(str).str.strip() != ""]
    votes = (coded.drop_duplicates(["unit_id", "coder", "code"])
             .groupby(["unit_id", "code"]).size().unstack(fill_value=0))
    votes = votes.reindex(seen.index, fill_value=0)
    share = votes.div(seen, axis=0)
    hits = (share > 0.5) if rule == "majority" else (votes > 0)
    info = [c for c in ("interview", "participant", "role", "institution")
            if c in segments.columns]
    meta = segments.drop_duplicates("unit_id").set_index("unit_id")[info]
    out = meta.join(hits.astype(int), how="right")
    out.attrs["codes"] = list(hits.columns)
    out.attrs["rule"] = rule
    return out.reset_index()


def case_code_matrix(segments: pd.DataFrame, *, case: str = "participant",
                     rule: str = "majority") -> pd.DataFrame:
    """A case × code 0/1 matrix (a case mentions a code when any of its units does), for use
    in other programs (QualCoder #954). Person-level: keep it inside the project; it is not a
    table to show or share."""
    column = CASES.get(case, case)
    units = unit_codes(segments, rule=rule)
    require_frame(units, [column], "case_code_matrix")
    codes = units.attrs["codes"]
    return units.groupby(column)[codes].max().astype(int)


@validate_params({"confidence": [Interval(0, 1, closed="neither")]})
def mentions_by_group(segments: pd.DataFrame, *, by: str = "role", case: str = "participant",
                      rule: str = "majority", people: pd.DataFrame | None = None,
                      correction: str = "holm", confidence: float = 0.95) -> pd.DataFrame:
    """Per code and group: cases mentioning it, n, share with a Wilson CI; and per code a test
    of independence across groups (Fisher's exact test for two groups, chi-square otherwise)
    with p-values corrected across codes.

    ``by`` is a segment column (role, institution) or, with ``people`` (one row per
    participant with ``participant``), a person column such as IP status.

    Returns a measure table keyed by ``code`` and ``by``: ``measure`` ("share mentioning"),
    ``scale`` ("proportion"), the share as ``estimate`` with its Wilson CI, ``n`` (cases in the
    group), ``note``, ``count`` (cases mentioning), then the test: ``test``, ``statistic``,
    ``p_value``, ``p_adjusted`` and ``adjustment``.

    Examples
    --------
    >>> seg = pd.DataFrame({"unit_id": list("aabbccdd"), "coder": ["x", "y"] * 4,
    ...                     "code": ["c", "c", "c", None, "c", "c", None, None],
    ...                     "participant": list("aabbccdd"), "role": list("rrrrssss")})
    >>> t = mentions_by_group(seg, by="role")
    >>> t[["code", "role", "count", "n", "estimate"]]
      code role  count  n  estimate
    0    c    r      1  2       0.5
    1    c    s      1  2       0.5
    """
    column = CASES.get(case, case)
    units = unit_codes(segments, rule=rule)
    codes = units.attrs["codes"]
    require_frame(units, [column], "mentions_by_group")
    keys = [column] + ([by] if by in units.columns and people is None else [])
    cases = units.groupby(keys)[codes].max().reset_index()
    if people is not None:
        people = _contract_names(people)
        require_frame(people, ["participant", by], "mentions_by_group (people)")
        people = people[["participant", by]].drop_duplicates("participant")
        if column != "participant":
            people = people.rename(columns={"participant": column})
        cases = cases.merge(people, on=column, how="left")
    if by not in cases.columns:
        raise ParameterError(f"mentions_by_group: no column {by!r} in the segments"
                             + (" or people" if people is not None else "") + ".")
    cases = cases.dropna(subset=[by])
    rows, tests = [], []
    for code in codes:
        table = cases.groupby(by)[code].agg(["sum", "size"])
        for level, (count, n) in table.iterrows():
            low, high = proportion_ci(int(count), int(n), confidence=confidence)
            rows.append({"code": code, by: level, "measure": "share mentioning",
                         "scale": "proportion", "estimate": count / n if n else np.nan,
                         "ci_low": float(low), "ci_high": float(high), "n": int(n),
                         "count": int(count)})
        tests.append({"code": code, **_independence(table)})
    out = measure_table(rows, keys=["code", by])
    tested = pd.DataFrame(tests)
    ok = tested["p_value"].notna()
    tested["p_adjusted"] = np.nan
    if ok.any():
        tested.loc[ok, "p_adjusted"] = multipletests(tested.loc[ok, "p_value"], method=correction)[1]
    tested["adjustment"] = f"{correction} across {int(ok.sum())} codes"
    return out.merge(tested, on="code", how="left")


def _independence(table: pd.DataFrame) -> dict:
    """Fisher's exact test for a 2 × 2 table, chi-square for larger ones; none when a group or
    the code is empty everywhere (nothing to test)."""
    counts = np.column_stack([table["sum"], table["size"] - table["sum"]]).astype(int)
    if len(counts) < 2 or (counts.sum(axis=0) == 0).any():
        return {"test": "none (no variation)", "statistic": np.nan, "p_value": np.nan}
    if counts.shape == (2, 2):
        res = stats.fisher_exact(counts)
        return {"test": "Fisher's exact", "statistic": float(res.statistic),
                "p_value": float(res.pvalue)}
    res = stats.chi2_contingency(counts)
    return {"test": f"chi-square ({res.dof} df)", "statistic": float(res.statistic),
            "p_value": float(res.pvalue)}


def cooccurrence(segments: pd.DataFrame, *, level: str = "unit", rule: str = "majority"):
    """``(counts, jaccard)``: for every pair of codes, how many units (or cases, with
    ``level="participant"`` / ``"interview"``) carry both, and the Jaccard index
    (both / either). The diagonal of ``counts`` is each code's own count.

    Examples
    --------
    >>> seg = pd.DataFrame({"unit_id": ["u1", "u1", "u2", "u3"], "coder": ["a", "a", "a", "a"],
    ...                     "code": ["x", "y", "x", "y"]})
    >>> counts, jac = cooccurrence(seg)
    >>> int(counts.loc["x", "y"]), round(float(jac.loc["x", "y"]), 3)
    (1, 0.333)
    """
    units = unit_codes(segments, rule=rule)
    codes = units.attrs["codes"]
    m = units[codes] if level == "unit" else units.groupby(CASES.get(level, level))[codes].max()
    x = m.to_numpy(dtype=float)
    both = x.T @ x
    own = np.diag(both)
    either = own[:, None] + own[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(either > 0, both / either, np.nan)
    return (pd.DataFrame(both.astype(int), index=codes, columns=codes),
            pd.DataFrame(jaccard, index=codes, columns=codes))


def cooccurrence_plot(counts, jaccard: pd.DataFrame, *, ax=None, rules=None, sdc=None):
    """Heat map of the Jaccard index, from the co-occurrence counts as the report shows them
    (``sdc.show`` of the counts with a ``code`` column, or the square frame of
    :func:`cooccurrence`): a pair is drawn only where its count and both codes' own counts are
    shown (with them, the index gives the hidden count back); a hidden pair carries its mark."""
    if not isinstance(counts, SafeTable) and "code" not in counts.columns:
        counts = counts.rename_axis("code").reset_index()
    codes = [c for c in jaccard.columns]
    ft = figure_table(counts, rules=rules, sdc=sdc, n=None, counts=codes, keys=["code"])
    ax = axes_or_new(ax)
    marks = ft.marks.assign(code=ft.values["code"]).set_index("code").reindex(index=codes, columns=codes)
    shown = ft.values.set_index("code").reindex(index=codes, columns=codes)
    hidden = (marks != "").to_numpy() | shown.isna().to_numpy()
    own = np.diag(hidden)
    hidden = hidden | own[:, None] | own[None, :]
    values = jaccard.reindex(index=codes, columns=codes).mask(hidden)
    labels = np.where(hidden, marks.where(marks != "", "").to_numpy(),
                      values.map(lambda v: f"{v:.2f}" if pd.notna(v) else "").to_numpy())
    sns.heatmap(values, ax=ax, cmap="Blues", vmin=0, vmax=1, square=True, annot=labels, fmt="",
                annot_kws={"fontsize": 7}, cbar_kws={"label": "Jaccard (both / either)"})
    for i, j in zip(*np.nonzero(hidden)):       # seaborn leaves masked cells unannotated
        ax.text(j + 0.5, i + 0.5, labels[i, j] or "", ha="center", va="center", fontsize=7,
                color="#555555")
    ax.set_title("Codes given to the same units")
    if hidden.any():
        figure_note(ax, f"pairs hidden in the table (or whose codes are) are blank "
                        f"({', '.join(ft.marks_used(marks.to_numpy().ravel())) or 'hidden'})")
    record_panel(ax, "codes given to the same units (Jaccard)", source=ft.source, sdc=ft.sdc)
    return ax

