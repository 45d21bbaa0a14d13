"""Figures shared by the notebooks, in seaborn's manner: ``data=``, ``x=``, ``y=``, ``hue=``,
``ax=`` in, the Axes out. Estimates come with their intervals drawn.

Every figure applies the disclosure rules (``rules=``, default: cells of fewer than 5 people):
a point, bin or segment that rests on fewer people is not drawn, and the figure says how many
were left out.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.safe_tables import hide_small_levels

LEVEL_COLOURS = {1: "#2e7d32", 2: "#c0ca33", 3: "#fdd835", 4: "#fb8c00", 5: "#c62828"}
HIDDEN_COLOUR = "#bdbdbd"


def axes_or_new(ax):
    return ax if ax is not None else plt.subplots(figsize=(7, 4))[1]


def rules_or_default(rules) -> DisclosureRules:
    return rules if rules is not None else DisclosureRules()


def figure_note(ax, text: str) -> None:
    ax.annotate(text, xy=(0, -0.02), xycoords="axes fraction", va="top", ha="left",
                fontsize=8, color="#555555", annotation_clip=False,
                xytext=(0, -28), textcoords="offset points")


def estimate_plot(data: pd.DataFrame, *, x: str, y: str = "estimate", low: str = "ci_low",
                  high: str = "ci_high", n: str | None = "n", ax=None, xlabel=None, ylabel=None,
                  rules: DisclosureRules | None = None):
    """Point estimates with their confidence intervals, one per category of ``x``; n under
    each label. A category of fewer than min_cell people (or with its estimate hidden by the
    disclosure layer) is labelled but not drawn."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = data.reset_index(drop=True)
    est = pd.to_numeric(d[y], errors="coerce").to_numpy(dtype=float)
    hidden = np.isnan(est)
    if n and n in d.columns:
        counts = pd.to_numeric(d[n], errors="coerce").to_numpy(dtype=float)
        hidden |= rules.small_count(counts) | np.isnan(counts)
    lo = pd.to_numeric(d[low], errors="coerce").to_numpy(dtype=float)
    hi = pd.to_numeric(d[high], errors="coerce").to_numpy(dtype=float)
    pos = np.arange(len(d))
    ok = ~hidden
    # Clipped at 0: at a share of exactly 0 or 1 a limit can differ from the estimate by a
    # rounding error in the wrong direction.
    yerr = np.clip(np.vstack([est[ok] - lo[ok], hi[ok] - est[ok]]), 0, None)
    ax.errorbar(pos[ok], est[ok], yerr=yerr, fmt="o", capsize=4, color="#1f4e79")
    labels = d[x].astype(str).tolist()
    if n and n in d.columns:
        labels = [f"{lab}\n(n={rules.suppressed_text})" if h else f"{lab}\n(n={int(v)})"
                  for lab, v, h in zip(labels, pd.to_numeric(d[n], errors="coerce").fillna(0), hidden)]
    ax.set_xticks(pos, labels)
    ax.set_xlabel(xlabel if xlabel is not None else x)
    ax.set_ylabel(ylabel if ylabel is not None else y)
    ax.grid(axis="y", alpha=0.3)
    if hidden.any():
        figure_note(ax, f"{int(hidden.sum())} group(s) of fewer than {rules.min_cell} people not drawn.")
    return ax


def distribution_plot(data: pd.DataFrame, *, x: str, hue: str | None = None, ax=None,
                      bins="auto", rules: DisclosureRules | None = None):
    """Histogram (density per ``hue`` group) of one measure; bins of fewer than min_cell
    people in a group are not drawn. Hand-written on numpy's bins because seaborn's histplot
    cannot leave out single bins."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = data.dropna(subset=[x])
    values = pd.to_numeric(d[x], errors="coerce").dropna()
    edges = np.histogram_bin_edges(values, bins=bins)
    widths = np.diff(edges)
    groups = [(None, d)] if hue is None else list(d.groupby(hue, observed=True))
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    hidden = 0
    for colour, (level, g) in zip(palette, groups):
        counts, _ = np.histogram(pd.to_numeric(g[x], errors="coerce").dropna(), bins=edges)
        small = rules.small_count(counts)
        hidden += int(small.sum())
        density = np.where(small, 0, counts) / max(counts.sum(), 1) / widths
        label = None if level is None else f"{level} (n={int(counts.sum())})"
        ax.stairs(density, edges, fill=True, alpha=0.35, color=colour, label=label)
        ax.stairs(density, edges, color=colour)
    ax.set_xlabel(x)
    ax.set_ylabel("density")
    if hue is not None:
        ax.legend(title=hue)
    if hidden:
        figure_note(ax, f"{hidden} bin(s) with fewer than {rules.min_cell} people not drawn.")
    return ax


def missingness_plot(data: pd.DataFrame, *, x: str = "share_missing", y: str = "variable",
                     hue: str | None = "source", ax=None, rules: DisclosureRules | None = None):
    """Horizontal bars of the share missing per variable; a variable with 1 to min_cell − 1
    missing answers is left out (it would single out the few who skipped it)."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    small = rules.small_count(data["n_missing"]) if "n_missing" in data.columns else np.zeros(len(data), bool)
    sns.barplot(data=data[~small], x=x, y=y, hue=hue, ax=ax, dodge=False)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share missing")
    if small.any():
        figure_note(ax, f"{int(small.sum())} variable(s) with fewer than {rules.min_cell} missing not drawn.")
    return ax


def level_shares_plot(data: pd.DataFrame, *, x: str = "share", y: str = "domain",
                      hue: str = "level", n: str = "n", ax=None, rules: DisclosureRules | None = None):
    """Stacked horizontal bars of the share of people at each level (1 green … 5 red). Levels of
    fewer than min_cell people are hidden together (with the next smallest level if only one
    is) in a grey segment at the end of the bar."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = hide_small_levels(data, rules, keys=[y], n=n, share=x)
    total = d.groupby(y, observed=True)[n].transform("sum")
    d["_hidden"] = np.where(d["suppressed"], d[n] / total, 0.0)
    wide = d.pivot_table(index=y, columns=hue, values=x, aggfunc="sum", observed=True).fillna(0)
    hidden = d.groupby(y, observed=True)["_hidden"].sum().reindex(wide.index).fillna(0)
    left = np.zeros(len(wide))
    for level in wide.columns:
        valid = level in LEVEL_COLOURS
        ax.barh(wide.index.astype(str), wide[level], left=left,
                label=str(level) if valid else f"{level} (out of range)",
                color=LEVEL_COLOURS.get(level, "#9e9e9e"), hatch=None if valid else "//")
        left += wide[level].to_numpy()
    if hidden.any():
        ax.barh(wide.index.astype(str), hidden.to_numpy(), left=left, color=HIDDEN_COLOUR,
                hatch="..", label=f"hidden (<{rules.min_cell} per level)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of people")
    ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left")
    return ax


def trajectory_plot(data: pd.DataFrame, *, x: str, y: str, hue: str | None = None, ax=None,
                    max_x: int | None = None, rules: DisclosureRules | None = None):
    """Mean of ``y`` by ``x`` (for example session number) with 95 % CI bands, per group; a
    point resting on fewer than min_cell people is not drawn."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = data if max_x is None else data[data[x] <= max_x]
    d = d.dropna(subset=[y])
    keys = [x] + ([hue] if hue else [])
    size = d.groupby(keys, observed=True)[y].transform("size")
    small = rules.small_count(size)
    sns.lineplot(data=d[~small], x=x, y=y, hue=hue, errorbar=("ci", 95), ax=ax, marker="o")
    ax.grid(alpha=0.3)
    dropped = d[small].groupby(keys, observed=True).ngroups if small.any() else 0
    if dropped:
        figure_note(ax, f"{dropped} point(s) resting on fewer than {rules.min_cell} people not drawn.")
    return ax


def forest_plot(data: pd.DataFrame, *, x: str = "estimate", y: str = "method", hue: str | None = None,
                low: str = "ci_low", high: str = "ci_high", null: float | None = 0.0, ax=None,
                n: str | None = "n", rules: DisclosureRules | None = None):
    """Estimates with their confidence intervals, a row per ``y`` (and ``hue`` group), with a
    line at the null; rows of fewer than min_cell people are not drawn."""
    rules, ax = rules_or_default(rules), axes_or_new(ax)
    d = data.reset_index(drop=True)
    groups = [(None, d)] if hue is None else list(d.groupby(hue, sort=False))
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    labels, pos = [], 0
    for colour, (level, g) in zip(palette, groups):
        for _, row in g.iterrows():
            est, lo, hi = (pd.to_numeric(pd.Series([row[x], row[low], row[high]]), errors="coerce")
                           .to_numpy(dtype=float))
            small = n and n in g.columns and rules.small_count([row[n]])[0]
            if np.isfinite(est) and not small:
                ax.errorbar(est, pos, xerr=[[max(est - lo, 0)], [max(hi - est, 0)]], fmt="o",
                            capsize=3, color=colour)
            labels.append(f"{row[y]}" + (f" · {level}" if level is not None else ""))
            pos += 1
    if null is not None:
        ax.axvline(null, color="#555555", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(pos), labels)
    ax.set_ylim(pos - 0.5, -0.5)
    ax.set_xlabel(x)
    ax.grid(axis="x", alpha=0.3)
    return ax
