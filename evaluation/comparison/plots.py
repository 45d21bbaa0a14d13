"""Figures for comparing institutions, programmes and years, in seaborn's manner (``data=``,
``x=``, ``y=``, ``ax=`` in, the Axes out), with the disclosure rules applied. A figure of a
table (funnel, caterpillar, level shares, forest plots) takes the table as the report shows it
(the ``SafeTable`` of ``sdc.show``, or a DataFrame it protects with the same rules) and draws
only the shown rows; the figure says how many were left out and with which mark. The trends of
a programme panel are means of the panel's rows by period, each resting on at least min_cell
people (a mean of a 0/1 outcome is a share: its count and complement too).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaluation.disclosure import DisclosureRules
from evaluation.disclosure.figure_data import figure_table, with_key
from evaluation.disclosure.figure_provenance import composed_figure, record_panel
from evaluation.disclosure.figures import (figure_note, hidden_note, level_shares_plot,
                                           trajectory_plot)

POINT_COLOURS = {"inside": "#1f4e79"}
OUTSIDE_COLOURS = ["#fb8c00", "#c62828", "#6a1b9a"]


def _axes(ax, size=(7, 4)):
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def funnel_plot(points, limits: pd.DataFrame, *, x: str = "n", y: str = "estimate",
                unit: str = "unit", label: bool = True, ax=None,
                rules: DisclosureRules | None = None, sdc=None):
    """Funnel plot from :func:`evaluation.comparison.institutions.funnel_data` (the points as
    the report shows them): each unit's estimate against its size, the target line and the
    control limits; units outside a limit are coloured (and labelled when ``label``). A unit
    whose estimate or size the table hides is not drawn.

    Examples
    --------
    >>> from evaluation.comparison.institutions import funnel_data
    >>> counts = pd.DataFrame({"site": list("abcde"), "ip": [20, 12, 40, 2, 30],
    ...                        "persons": [100, 20, 400, 3, 90]})
    >>> ax = funnel_plot(*funnel_data(counts, unit="site", successes="ip", n="persons"))
    >>> len(ax.collections[0].get_offsets())     # d (3 people) and the unit protecting it
    3
    >>> plt.close("all")
    """
    ft = figure_table(points, rules=rules, sdc=sdc, n=x)
    ax = _axes(ax)
    d = ft.values
    ok = ft.drawable([y], counts=[c for c in (x, "count") if c in d.columns])
    shown = d[ok]
    target = float(limits["target"].iloc[0])
    styles = ["--", ":", "-."]
    for style, (level, curve) in zip(styles, limits.groupby("level", sort=True)):
        curve = curve.sort_values("n")
        ax.plot(curve["n"], curve["lower"], style, color="#555555", linewidth=0.9,
                label=f"{level * 100:g}% limits")
        ax.plot(curve["n"], curve["upper"], style, color="#555555", linewidth=0.9)
    ax.axhline(target, color="#333333", linewidth=0.8)
    flag = shown["flag"] if "flag" in shown.columns else pd.Series("inside", index=shown.index)
    outside = sorted(f for f in flag.unique() if f != "inside")
    colour_of = {"inside": POINT_COLOURS["inside"],
                 **{f: OUTSIDE_COLOURS[min(i, 2)] for i, f in enumerate(outside)}}
    ax.scatter(shown[x], shown[y], c=[colour_of.get(f, "#1f4e79") for f in flag], zorder=3, s=28)
    if label:
        for _, row in shown[flag != "inside"].iterrows():
            ax.annotate(str(row[unit]), (row[x], row[y]), xytext=(4, 3),
                        textcoords="offset points", fontsize=8)
    kind = d["kind"].iloc[0] if "kind" in d.columns and len(d) else y
    ax.set_xlabel("people per unit (n)" if x == "n" else x)
    ax.set_ylabel(kind if y == "estimate" else y)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    hidden_note(ax, ft, ~ok, "unit(s)")
    record_panel(ax, "funnel plot", source=ft.source, sdc=ft.sdc)
    return ax


def caterpillar_plot(data, *, x: str = "estimate", y: str = "unit", low: str = "ci_low",
                     high: str = "ci_high", raw: str | None = "raw_effect", n: str | None = "n",
                     null: float | None = 0.0, ax=None, rules: DisclosureRules | None = None,
                     sdc=None):
    """Units sorted by their (shrunken) effect with intervals, a row each; the raw effect as an
    open circle beside it, so the pull toward the mean can be seen. Rows the table (as shown)
    hides are not drawn.

    Examples
    --------
    >>> effects = pd.DataFrame({"unit": list("abcd"), "estimate": [0.3, -0.1, 0.5, 0.2],
    ...                         "ci_low": [0.1, -0.3, 0.0, 0.0], "ci_high": [0.5, 0.1, 1.0, 0.4],
    ...                         "raw_effect": [0.35, -0.12, 0.9, 0.25], "n": [60, 80, 3, 90]})
    >>> ax = caterpillar_plot(effects)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['b (n=80)', 'd (n=90)']
    >>> plt.close("all")
    """
    ft = figure_table(data, rules=rules, sdc=sdc, n=n)
    ax = _axes(ax)
    counts = [n] if n and n in ft.values.columns else []
    ok = ft.drawable([x, low, high], counts=counts)
    d = ft.values[ok].sort_values(x, kind="stable").reset_index(drop=True)
    pos = np.arange(len(d))
    est = d[x].to_numpy(dtype=float)
    err = np.clip(np.vstack([est - d[low].to_numpy(float), d[high].to_numpy(float) - est]), 0, None)
    ax.errorbar(est, pos, xerr=err, fmt="o", color="#1f4e79", capsize=3, label=x)
    if raw and raw in d.columns:
        ax.scatter(d[raw], pos, facecolors="none", edgecolors="#c62828", zorder=3,
                   label=f"{raw} (unshrunken)")
        ax.legend(loc="best", fontsize=8)
    if null is not None:
        ax.axvline(null, color="#555555", linewidth=0.8, linestyle="--")
    labels = [f"{u} (n={int(k)})" if counts else str(u)
              for u, k in zip(d[y], d[n] if counts else [0] * len(d))]
    ax.set_yticks(pos, labels)
    ax.set_xlabel(x)
    ax.grid(axis="x", alpha=0.3)
    hidden_note(ax, ft, ~ok, "unit(s)")
    record_panel(ax, "institution effects (caterpillar)", source=ft.source, sdc=ft.sdc)
    return ax


def level_shares_by_year_plot(data, *, x: str = "estimate", y: str = "label", year: str = "year",
                              hue: str = "level", n: str = "count", ax=None,
                              rules: DisclosureRules | None = None, sdc=None):
    """Stacked bars of the share at each level (1 green … 5 red), a bar per domain and year,
    from :func:`evaluation.comparison.brukerplan.level_shares_by_year` as the report shows it.
    Drawn with :func:`evaluation.disclosure.figures.level_shares_plot`, so levels the table
    hides are drawn together in a grey segment.

    Examples
    --------
    >>> shares = pd.DataFrame({"label": "housing", "year": [2015] * 5 + [2017] * 5,
    ...                        "level": [1, 2, 3, 4, 5] * 2,
    ...                        "count": [10, 20, 30, 20, 20, 15, 25, 30, 20, 10], "n": 100})
    >>> shares["estimate"] = shares["count"] / 100
    >>> ax = level_shares_by_year_plot(shares)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['housing 2015', 'housing 2017']
    >>> plt.close("all")
    """
    labelled = with_key(data, "_row", lambda v: v[y].astype(str) + " " + v[year].astype(str))
    ax = level_shares_plot(labelled, x=x, y="_row", hue=hue, n=n, ax=_axes(ax, (7, 6)),
                           rules=rules, sdc=sdc, name="level shares by year")
    ax.invert_yaxis()        # first domain and earliest year at the top, read downwards
    ax.set_ylabel("")
    return ax


def _summary_row(summary) -> pd.Series:
    if isinstance(summary, pd.Series):          # a row of pool_batch's or to_frame()'s table
        return summary
    if isinstance(summary, pd.DataFrame):
        return summary.iloc[0]
    return summary.to_frame().iloc[0]           # a MetaResult


def meta_forest_plot(data, summary, *, x: str = "estimate", y: str = "label", low: str = "ci_low",
                     high: str = "ci_high", weight: str | None = "weight", n: str | None = "n",
                     null: float | None = None, ax=None, rules: DisclosureRules | None = None,
                     sdc=None):
    """Forest plot of a meta-analysis: a row per study (square sized by its weight, with CI),
    the pooled estimate as a diamond, and the prediction interval as a line through it.

    ``data`` is ``MetaResult.studies`` (or any table with ``y``, ``x``, ``low``, ``high``, as
    shown: a row whose estimate or n is hidden is labelled, not drawn); ``summary`` the
    :class:`~evaluation.comparison.meta_analysis.MetaResult` or its ``to_frame()`` row. Ratios
    (``analysis_scale == "log"``) are drawn on a log axis with the null at 1.

    Examples
    --------
    >>> from evaluation.comparison.meta_analysis import meta_analysis
    >>> studies = pd.DataFrame({"site": list("ABC"), "estimate": [-0.2, -0.4, -0.3],
    ...                         "ci_low": [-0.4, -0.6, -0.5], "ci_high": [0.0, -0.2, -0.1]})
    >>> res = meta_analysis(studies, label="site")
    >>> ax = meta_forest_plot(res.studies, res)
    >>> [t.get_text() for t in ax.get_yticklabels()][-1]
    'Pooled (random effects)'
    >>> plt.close("all")
    """
    ft = figure_table(data, rules=rules, sdc=sdc, n=n)
    d = ft.values
    ax = _axes(ax, (7, 0.45 * len(d) + 2))
    s = _summary_row(summary)
    log = s.get("analysis_scale") == "log"
    counts = [n] if n and n in d.columns else []
    ok = ft.drawable([x, low, high], counts=counts)
    sizes = (pd.to_numeric(d[weight], errors="coerce").fillna(0).to_numpy(float)
             if weight and weight in d.columns else np.full(len(d), 100 / max(len(d), 1)))
    for i in np.flatnonzero(ok):
        row = d.iloc[i]
        ax.plot([row[low], row[high]], [i, i], color="#333333", linewidth=1)
        ax.scatter([float(row[x])], [i], marker="s", s=20 + 3 * sizes[i], color="#1f4e79", zorder=3)
    k = len(d) + 1
    est, lo, hi = (pd.to_numeric(pd.Series([s.get("estimate"), s.get("ci_low"), s.get("ci_high")]),
                                 errors="coerce").to_numpy(float))
    if np.isfinite(pd.to_numeric(s.get("pi_low", np.nan), errors="coerce")):
        ax.plot([s["pi_low"], s["pi_high"]], [k, k], color="#c62828", linewidth=1.2,
                label="prediction interval")
    if np.isfinite([est, lo, hi]).all():
        ax.fill([lo, est, hi, est], [k, k - 0.3, k, k + 0.3], color="#1f4e79", zorder=3,
                label="pooled estimate and CI")
    labels = [f"{lab}" if ok[i] else f"{lab} (hidden ({ft.row_mark(i, [x, *counts])}), not drawn)"
              for i, lab in enumerate(d[y])]
    ax.set_yticks(list(range(len(d))) + [k], labels + ["Pooled (random effects)"])
    ax.set_ylim(k + 0.8, -0.8)
    if log:
        ax.set_xscale("log")
    ref = null if null is not None else (1.0 if log else 0.0)
    ax.axvline(ref, color="#555555", linewidth=0.8, linestyle="--")
    ax.set_xlabel(x if not log else f"{x} (log scale)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    tau2, i2 = (pd.to_numeric(s.get(c, np.nan), errors="coerce") for c in ("tau2", "i2_percent"))
    if np.isfinite(tau2):
        ax.set_title(f"τ² = {tau2:.3g}, I² = {i2:.0f}%, k = {int(s['k'])}", fontsize=9)
    if (~ok).any():
        figure_note(ax, f"{int((~ok).sum())} study row(s) hidden not drawn (still pooled).")
    record_panel(ax, "meta-analysis forest plot", source=ft.source, sdc=ft.sdc)
    return ax


def programme_trends_plot(design: pd.DataFrame, *, y: str, x: str = "period", ax=None,
                          rules: DisclosureRules | None = None, sdc=None):
    """Mean of ``y`` by period for the programme and the comparison units of a
    :func:`~evaluation.comparison.panel.programme_panel`, with a dashed line at the first start
    (``design.attrs['starts']``); a point resting on fewer than min_cell people (for a 0/1
    ``y``: a count or complement of fewer) is not drawn. Returns the Axes."""
    ax = _axes(ax, (9, 4))
    d = design.assign(group=design["treated"].map({1: "programme", 0: "comparison"}))
    trajectory_plot(d, x=x, y=y, hue="group", ax=ax, rules=rules, sdc=sdc,
                    name=f"{y}: mean by period, programme and comparison units")
    starts = design.attrs.get("starts") or {}
    if starts:
        ax.axvline(min(pd.to_datetime(list(starts.values()))), color="#555555", linestyle="--",
                   linewidth=0.8)
    ax.set_title("mean by period, programme and comparison units")
    ax.figure.tight_layout()
    return ax


def institutions_figure(points, limits: pd.DataFrame, effects, *, variable: str,
                        rules: DisclosureRules | None = None, sdc=None):
    """The funnel of IP coverage beside the caterpillar of shrunken effects on ``variable``
    (both tables as the report shows them), one figure; returns its two Axes."""
    fig, axes = plt.subplots(1, 2, figsize=(15, 5))
    with composed_figure(fig, "institutions side by side", sdc=sdc):
        funnel_plot(points, limits, ax=axes[0], rules=rules, sdc=sdc)
        axes[0].set_title("IP coverage against size")
        caterpillar_plot(effects, ax=axes[1], rules=rules, sdc=sdc)
        axes[1].set_title(f"{variable}: shrunken institution effects")
    fig.tight_layout()
    return axes


def pooled_forest_plots(pooled, records: pd.DataFrame, *, rules: DisclosureRules | None = None,
                        sdc=None) -> list:
    """A :func:`meta_forest_plot` per pooled name of a batch (``pooled`` from ``pool_batch``, as
    shown; ``records`` from ``batch_records``), each in a figure of its own; returns the Axes."""
    table = figure_table(pooled, rules=rules, sdc=sdc)
    out = []
    for name, one in table.values.groupby("name"):
        rows = records[(records["name"] == name) & records["left_out"].isna()]
        ax = _axes(None, (8, 0.5 * len(rows) + 2))
        with composed_figure(ax, f"pooled: {name}", sdc=table.sdc):
            meta_forest_plot(rows, one.iloc[0], ax=ax, rules=table.rules, sdc=table.sdc)
            record_panel(ax, f"pooled: {name}", source=table.source, sdc=table.sdc)
        ax.set_title(name)
        ax.figure.tight_layout()
        out.append(ax)
    return out
