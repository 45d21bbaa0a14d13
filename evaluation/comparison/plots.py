"""Figures for comparing institutions, programmes and years, in seaborn's manner (``data=``,
``x=``, ``y=``, ``ax=`` in, the Axes out), with the disclosure rules applied: a unit resting on
fewer than min_cell people is not drawn, and the figure says how many were left out.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evaluation.disclosure import DisclosureRules
from evaluation.disclosure.figures import level_shares_plot, trajectory_plot

POINT_COLOURS = {"inside": "#1f4e79"}
OUTSIDE_COLOURS = ["#fb8c00", "#c62828", "#6a1b9a"]


def _axes(ax, size=(7, 4)):
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def _note(ax, text: str) -> None:
    ax.annotate(text, xy=(0, -0.02), xycoords="axes fraction", va="top", ha="left",
                fontsize=8, color="#555555", annotation_clip=False,
                xytext=(0, -28), textcoords="offset points")


def _small(data: pd.DataFrame, n: str | None, rules: DisclosureRules) -> np.ndarray:
    if not n or n not in data.columns:
        return np.zeros(len(data), dtype=bool)
    counts = pd.to_numeric(data[n], errors="coerce").to_numpy(dtype=float)
    return rules.small_count(counts) | np.isnan(counts)


def funnel_plot(points: pd.DataFrame, limits: pd.DataFrame, *, x: str = "n",
                y: str = "estimate", unit: str = "unit", label: bool = True, ax=None,
                rules: DisclosureRules | None = None):
    """Funnel plot from :func:`evaluation.comparison.institutions.funnel_data`: each unit's
    estimate against its size, the target line and the control limits; units outside a limit
    are coloured (and labelled when ``label``).

    Examples
    --------
    >>> from evaluation.comparison.institutions import funnel_data
    >>> counts = pd.DataFrame({"site": list("abcd"), "ip": [20, 12, 40, 2],
    ...                        "persons": [100, 20, 400, 3]})
    >>> ax = funnel_plot(*funnel_data(counts, unit="site", successes="ip", n="persons"))
    >>> len(ax.collections[0].get_offsets())     # site d (3 people) is not drawn
    3
    >>> plt.close("all")
    """
    rules, ax = rules or DisclosureRules(), _axes(ax)
    small = _small(points, x, rules)
    shown = points[~small]
    target = float(limits["target"].iloc[0])
    styles = ["--", ":", "-."]
    for style, (level, curve) in zip(styles, limits.groupby("level", sort=True)):
        curve = curve.sort_values("n")
        ax.plot(curve["n"], curve["lower"], style, color="#555555", linewidth=0.9,
                label=f"{level * 100:g}% limits")
        ax.plot(curve["n"], curve["upper"], style, color="#555555", linewidth=0.9)
    ax.axhline(target, color="#333333", linewidth=0.8)
    flags = sorted(shown["flag"].unique(), key=lambda f: (f != "inside", f)) \
        if "flag" in shown.columns else []
    colours = [POINT_COLOURS.get(f, OUTSIDE_COLOURS[min(i, 2)]) for i, f in
               enumerate(f for f in flags if f != "inside")]
    colour_of = {"inside": POINT_COLOURS["inside"],
                 **dict(zip([f for f in flags if f != "inside"], colours))}
    ax.scatter(shown[x], shown[y], c=[colour_of.get(f, "#1f4e79") for f in
                                      shown.get("flag", ["inside"] * len(shown))],
               zorder=3, s=28)
    if label:
        for _, row in shown[shown.get("flag", "inside") != "inside"].iterrows():
            ax.annotate(str(row[unit]), (row[x], row[y]), xytext=(4, 3),
                        textcoords="offset points", fontsize=8)
    kind = points["kind"].iloc[0] if "kind" in points.columns and len(points) else y
    ax.set_xlabel("people per unit (n)" if x == "n" else x)
    ax.set_ylabel(kind if y == "estimate" else y)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    if small.any():
        _note(ax, f"{int(small.sum())} unit(s) of fewer than {rules.min_cell} people not drawn.")
    return ax


def caterpillar_plot(data: pd.DataFrame, *, x: str = "estimate", y: str = "unit",
                     low: str = "ci_low", high: str = "ci_high", raw: str | None = "raw_effect",
                     n: str | None = "n", null: float | None = 0.0, ax=None,
                     rules: DisclosureRules | None = None):
    """Units sorted by their (shrunken) effect with intervals, a row each; the raw effect as an
    open circle beside it, so the pull toward the mean can be seen. Rows of fewer than
    min_cell people are not drawn.

    Examples
    --------
    >>> effects = pd.DataFrame({"unit": list("abc"), "estimate": [0.3, -0.1, 0.5],
    ...                         "ci_low": [0.1, -0.3, 0.0], "ci_high": [0.5, 0.1, 1.0],
    ...                         "raw_effect": [0.35, -0.12, 0.9], "n": [60, 80, 3]})
    >>> ax = caterpillar_plot(effects)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['b (n=80)', 'a (n=60)']
    >>> plt.close("all")
    """
    rules, ax = rules or DisclosureRules(), _axes(ax)
    small = _small(data, n, rules)
    d = data[~small].sort_values(x, kind="stable").reset_index(drop=True)
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
    labels = [f"{u} (n={int(k)})" if n and n in d.columns else str(u)
              for u, k in zip(d[y], d[n] if n and n in d.columns else [0] * len(d))]
    ax.set_yticks(pos, labels)
    ax.set_xlabel(x)
    ax.grid(axis="x", alpha=0.3)
    if small.any():
        _note(ax, f"{int(small.sum())} unit(s) of fewer than {rules.min_cell} people not drawn.")
    return ax


def level_shares_by_year_plot(data: pd.DataFrame, *, x: str = "estimate", y: str = "label",
                              year: str = "year", hue: str = "level", n: str = "count", ax=None,
                              rules: DisclosureRules | None = None):
    """Stacked bars of the share at each level (1 green … 5 red), a bar per domain and year,
    from :func:`evaluation.comparison.brukerplan.level_shares_by_year`. Drawn with
    :func:`evaluation.disclosure.figures.level_shares_plot`, so levels of fewer than min_cell people are
    merged into a grey segment.

    Examples
    --------
    >>> shares = pd.DataFrame({"label": "housing", "year": [2015] * 5 + [2017] * 5,
    ...                        "level": [1, 2, 3, 4, 5] * 2,
    ...                        "count": [10, 20, 30, 20, 20, 15, 25, 30, 20, 10]})
    >>> shares["estimate"] = shares["count"] / 100
    >>> ax = level_shares_by_year_plot(shares)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['housing 2015', 'housing 2017']
    >>> plt.close("all")
    """
    d = data.copy()
    d["_row"] = d[y].astype(str) + " " + d[year].astype(str)
    ax = level_shares_plot(d, x=x, y="_row", hue=hue, n=n, ax=_axes(ax, (7, 6)), rules=rules)
    ax.invert_yaxis()        # first domain and earliest year at the top, read downwards
    ax.set_ylabel("")
    return ax


def meta_forest_plot(data: pd.DataFrame, summary, *, x: str = "estimate", y: str = "label",
                     low: str = "ci_low", high: str = "ci_high", weight: str | None = "weight",
                     n: str | None = "n", null: float | None = None, ax=None,
                     rules: DisclosureRules | None = None):
    """Forest plot of a meta-analysis: a row per study (square sized by its weight, with CI),
    the pooled estimate as a diamond, and the prediction interval as a line through it.

    ``data`` is ``MetaResult.studies`` (or any table with ``y``, ``x``, ``low``, ``high``);
    ``summary`` the :class:`~evaluation.comparison.meta_analysis.MetaResult` or its ``to_frame()``
    row. Ratios (``analysis_scale == "log"``) are drawn on a log axis with the null at 1.

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
    rules, ax = rules or DisclosureRules(), _axes(ax, (7, 0.45 * len(data) + 2))
    if isinstance(summary, pd.Series):          # a row of pool_batch's or to_frame()'s table
        s = summary
    elif isinstance(summary, pd.DataFrame):
        s = summary.iloc[0]
    else:                                       # a MetaResult
        s = summary.to_frame().iloc[0]
    log = s.get("analysis_scale") == "log"
    small = _small(data, n, rules)
    d = data.reset_index(drop=True)
    sizes = (d[weight].to_numpy(float) if weight and weight in d.columns
             else np.full(len(d), 100 / max(len(d), 1)))
    for i, row in d.iterrows():
        if small[i]:
            continue
        est = float(row[x])
        ax.plot([row[low], row[high]], [i, i], color="#333333", linewidth=1)
        ax.scatter([est], [i], marker="s", s=20 + 3 * sizes[i], color="#1f4e79", zorder=3)
    k = len(d) + 1
    est, lo, hi = float(s["estimate"]), float(s["ci_low"]), float(s["ci_high"])
    if np.isfinite(s.get("pi_low", np.nan)):
        ax.plot([s["pi_low"], s["pi_high"]], [k, k], color="#c62828", linewidth=1.2,
                label="prediction interval")
    ax.fill([lo, est, hi, est], [k, k - 0.3, k, k + 0.3], color="#1f4e79", zorder=3,
            label="pooled estimate and CI")
    labels = [f"{lab}" if not small[i] else f"{lab} (n<{rules.min_cell}, not drawn)"
              for i, lab in enumerate(d[y])]
    ax.set_yticks(list(range(len(d))) + [k], labels + ["Pooled (random effects)"])
    ax.set_ylim(k + 0.8, -0.8)
    if log:
        ax.set_xscale("log")
    ref = null if null is not None else (1.0 if log else 0.0)
    ax.axvline(ref, color="#555555", linewidth=0.8, linestyle="--")
    ax.set_xlabel(x if not log else f"{x} (log scale)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    tau2, i2 = s.get("tau2", np.nan), s.get("i2_percent", np.nan)
    if np.isfinite(tau2):
        ax.set_title(f"τ² = {tau2:.3g}, I² = {i2:.0f}%, k = {int(s['k'])}", fontsize=9)
    if small.any():
        _note(ax, f"{int(small.sum())} study row(s) of fewer than {rules.min_cell} people not "
                  f"drawn (still pooled).")
    return ax


def programme_trends_plot(design: pd.DataFrame, *, y: str, x: str = "period", ax=None,
                          rules: DisclosureRules | None = None):
    """Mean of ``y`` by period for the programme and the comparison units of a
    :func:`~evaluation.comparison.panel.programme_panel`, with a dashed line at the first start
    (``design.attrs['starts']``); returns the Axes."""
    ax = _axes(ax, (9, 4))
    d = design.assign(group=design["treated"].map({1: "programme", 0: "comparison"}))
    trajectory_plot(d, x=x, y=y, hue="group", ax=ax, rules=rules)
    starts = design.attrs.get("starts") or {}
    if starts:
        ax.axvline(min(pd.to_datetime(list(starts.values()))), color="#555555", linestyle="--",
                   linewidth=0.8)
    ax.set_title("mean by period, programme and comparison units")
    ax.figure.tight_layout()
    return ax


def institutions_figure(points: pd.DataFrame, limits: pd.DataFrame, effects: pd.DataFrame, *,
                        variable: str, rules: DisclosureRules | None = None):
    """The funnel of IP coverage beside the caterpillar of shrunken effects on ``variable``,
    one figure; returns its two Axes."""
    _, axes = plt.subplots(1, 2, figsize=(15, 5))
    funnel_plot(points, limits, ax=axes[0], rules=rules)
    axes[0].set_title("IP coverage against size")
    caterpillar_plot(effects, ax=axes[1], rules=rules)
    axes[1].set_title(f"{variable}: shrunken institution effects")
    axes[0].figure.tight_layout()
    return axes


def pooled_forest_plots(pooled: pd.DataFrame, records: pd.DataFrame, *,
                        rules: DisclosureRules | None = None) -> list:
    """A :func:`meta_forest_plot` per pooled name of a batch (``pooled`` from ``pool_batch``,
    ``records`` from ``batch_records``), each in a figure of its own; returns the Axes."""
    out = []
    for name, one in pooled.groupby("name"):
        rows = records[(records["name"] == name) & records["left_out"].isna()]
        ax = meta_forest_plot(rows, one.iloc[0], ax=_axes(None, (8, 0.5 * len(rows) + 2)),
                              rules=rules)
        ax.set_title(name)
        ax.figure.tight_layout()
        out.append(ax)
    return out
