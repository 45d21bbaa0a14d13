"""Figures of the feedback notebook, in seaborn's manner: ``data=``, ``x=``, ``y=``, ``hue=``,
``ax=`` in, the Axes out; each applies the disclosure rules (``rules=``, default min_cell 5).

Individual trajectories and the waterfall draw one line or bar per client episode. They carry
no identifier and no label, are drawn only for groups of at least ``min_cell`` clients, and
the trajectories are a random sample, so no reader can pick out a person's series.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

from evaluation.disclosure.figures import (axes_or_new, figure_note, forest_plot, rules_or_default,
                                           trajectory_plot)

CATEGORY_ORDER = ["recovered", "reliably improved", "no reliable change", "deteriorated"]
CATEGORY_COLOURS = {"recovered": "#2e7d32", "reliably improved": "#81c784",
                    "no reliable change": "#bdbdbd", "deteriorated": "#c62828"}


def trajectories_plot(data: pd.DataFrame, *, x: str = "session", y: str = "ors_total",
                      hue: str | None = None, unit: str = "client", sample: int = 20,
                      max_x: int | None = 20, seed: int = 0, ax=None, rules=None):
    """A random sample of ``sample`` client trajectories per ``hue`` group (thin lines) under
    the mean curve of every client in the group, with its 95 % CI (points resting on fewer
    than min_cell clients are not drawn)."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = data.dropna(subset=[y])
    if max_x is not None:
        d = d[d[x] <= max_x]
    rng = np.random.default_rng(seed)
    groups = [(None, d)] if hue is None else list(d.groupby(hue, sort=True, observed=True))
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    hidden = 0
    for colour, (_level, g) in zip(palette, groups):
        units = g[unit].unique()
        if len(units) < rules.min_cell:
            hidden += 1
            continue
        chosen = rng.choice(units, size=min(sample, len(units)), replace=False)
        for _, one in g[g[unit].isin(chosen)].groupby(unit, sort=False):
            one = one.sort_values(x)
            ax.plot(one[x], one[y], color=colour, alpha=0.25, linewidth=0.8)
    trajectory_plot(d, x=x, y=y, hue=hue, ax=ax, rules=rules)
    ax.set_title(f"{sample} random clients per group (thin lines) and the mean with 95 % CI",
                 fontsize=9)
    if hidden:
        figure_note(ax, f"{hidden} group(s) of fewer than {rules.min_cell} clients not drawn.")
    return ax


def expected_response_plot(curves: pd.DataFrame, *, intake=None, x: str = "session",
                           y: str = "expected", low: str = "lower", high: str | None = "upper",
                           hue: str = "intake", max_x: int | None = None, ax=None):
    """Expected ORS by session for chosen intake scores (lines), with the band from ``low``
    to ``high`` where given, up to ``max_x`` sessions; labelled as locally derived, since the
    commercial expected treatment response tables are not public."""
    ax = axes_or_new(ax)
    d = curves if intake is None else curves[curves[hue].isin(list(intake))]
    if max_x is not None:
        d = d[d[x] <= max_x]
    palette = sns.color_palette(n_colors=max(d[hue].nunique(), 1))
    for colour, (level, g) in zip(palette, d.groupby(hue, sort=True)):
        g = g.sort_values(x)
        ax.plot(g[x], g[y], color=colour, label=f"intake {level:g}")
        if low in g.columns:
            upper = g[high] if high and high in g.columns else g[y]
            ax.fill_between(g[x], g[low], upper, color=colour, alpha=0.15)
    ax.set_xlabel(x)
    ax.set_ylabel("ORS total (locally derived expectation)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def waterfall_plot(data: pd.DataFrame, *, y: str = "change", hue: str | None = "category",
                   ax=None, rules=None, reliable_change: float | None = None):
    """Every client episode's change, sorted, one bar each, coloured by category; dashed
    lines at ± the reliable change. Drawn only with at least min_cell episodes."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = data.dropna(subset=[y]).sort_values(y, ascending=False).reset_index(drop=True)
    if len(d) < rules.min_cell:
        figure_note(ax, f"fewer than {rules.min_cell} episodes: not drawn.")
        return ax
    colours = (d[hue].map(CATEGORY_COLOURS).fillna("#1f4e79") if hue and hue in d.columns
               else "#1f4e79")
    ax.bar(np.arange(len(d)), d[y], width=1.0, color=colours, linewidth=0)
    if reliable_change:
        for v in (reliable_change, -reliable_change):
            ax.axhline(v, color="#555555", linestyle="--", linewidth=0.8)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks([])
    ax.set_xlabel(f"client episodes, sorted (n={len(d)})")
    ax.set_ylabel(f"{y} (last − intake ORS)")
    if hue and hue in d.columns:
        present = [c for c in CATEGORY_ORDER if c in set(d[hue])]
        ax.legend(handles=[Patch(color=CATEGORY_COLOURS[c], label=c) for c in present], fontsize=8)
    return ax


def category_plot(data: pd.DataFrame, *, x: str = "category", y: str = "estimate",
                  hue: str | None = None, low: str = "ci_low", high: str = "ci_high",
                  count: str = "count", ax=None, rules=None):
    """Share of episodes per change category with 95 % CIs, per ``hue`` group; a bar resting
    on fewer than min_cell episodes (or its complement) is not drawn."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = data[data[x].isin(CATEGORY_ORDER)].copy()
    counts = pd.to_numeric(d[count], errors="coerce")
    rest = pd.to_numeric(d["n"], errors="coerce") - counts if "n" in d.columns else counts
    small = rules.small_count(counts) | rules.small_count(rest)
    shown = d[~small]
    levels = [None] if hue is None else sorted(d[hue].dropna().unique())
    width = 0.8 / max(len(levels), 1)
    palette = sns.color_palette(n_colors=max(len(levels), 1))
    for k, (colour, level) in enumerate(zip(palette, levels)):
        g = shown if level is None else shown[shown[hue] == level]
        pos = np.array([CATEGORY_ORDER.index(c) for c in g[x]]) + (k - (len(levels) - 1) / 2) * width
        err = np.clip(np.vstack([g[y] - g[low], g[high] - g[y]]).astype(float), 0, None)
        ax.bar(pos, g[y], width=width, color=colour, yerr=err, capsize=3,
               label=None if level is None else f"{hue} = {level}")
    ax.set_xticks(range(len(CATEGORY_ORDER)), CATEGORY_ORDER)
    ax.set_ylabel("share of episodes")
    ax.set_ylim(0, 1)
    if hue is not None:
        ax.legend(fontsize=8)
    if small.any():
        figure_note(ax, f"{int(small.sum())} bar(s) resting on fewer than {rules.min_cell} episodes "
                  f"not drawn.")
    return ax


def change_figure(shares: pd.DataFrame, changes: pd.DataFrame, *, hue: str | None = "IP",
                  hide=(), reliable_change: float | None = None, rules=None):
    """The change categories by ``hue`` (:func:`category_plot`, leaving out the ``hide``
    levels) beside the waterfall of every episode's change (:func:`waterfall_plot`).

    Returns
    -------
    array of two Axes
    """
    _, axes = plt.subplots(1, 2, figsize=(15, 4.5), layout="constrained")
    shown = shares if hue is None else shares[~shares[hue].isin(list(hide))]
    category_plot(data=shown, hue=hue, ax=axes[0], rules=rules)
    waterfall_plot(data=changes, ax=axes[1], rules=rules, reliable_change=reliable_change)
    return axes


def contrasts_plot(estimates: pd.DataFrame, *, y: str = "method", hue: str | None = "outcome",
                   ax=None, rules=None):
    """The IP contrasts of an estimate table on their difference scales (odds ratios left out,
    their null is 1), a row per ``y`` and ``hue``; rows of fewer than min_cell not drawn."""
    differences = estimates[estimates["scale"] != "odds ratio"]
    if ax is None:
        ax = plt.subplots(figsize=(8, 0.5 * len(estimates) + 1.5), layout="constrained")[1]
    return forest_plot(differences, y=y, hue=hue, ax=ax, rules=rules)


def alliance_plot(data: pd.DataFrame, *, x: str = "session", y: str = "srs_total",
                  hue: str | None = "IP", cutoff: float | None = None, max_x: int | None = None,
                  ax=None, rules=None):
    """Mean SRS total by session (and ``hue``) with 95 % CIs (:func:`trajectory_plot` of the
    disclosure layer), with a dashed line at the alliance ``cutoff``."""
    if ax is None:
        ax = plt.subplots(figsize=(9, 4), layout="constrained")[1]
    d = data.dropna(subset=[y] if hue is None else [hue, y])
    trajectory_plot(d, x=x, y=y, hue=hue, max_x=max_x, ax=ax, rules=rules)
    if cutoff is not None:
        ax.axhline(cutoff, color="#c62828", linestyle="--", linewidth=0.8)
    return ax
