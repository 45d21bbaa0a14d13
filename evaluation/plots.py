"""Figures shared by the notebooks, in seaborn's manner: ``data=``, ``x=``, ``y=``, ``hue=``,
``ax=`` in, the Axes out. Estimates come with their intervals drawn."""
from __future__ import annotations


import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

LEVEL_COLOURS = {1: "#2e7d32", 2: "#c0ca33", 3: "#fdd835", 4: "#fb8c00", 5: "#c62828"}


def _axes(ax):
    return ax if ax is not None else plt.subplots(figsize=(7, 4))[1]


def estimate_plot(data: pd.DataFrame, *, x: str, y: str = "estimate", low: str = "ci_low",
                  high: str = "ci_high", n: str | None = "n", ax=None, xlabel=None, ylabel=None):
    """Point estimates with their confidence intervals, one per category of ``x``; n under
    each label."""
    ax = _axes(ax)
    pos = np.arange(len(data))
    est = data[y].to_numpy(dtype=float)
    err = np.vstack([est - data[low].to_numpy(dtype=float), data[high].to_numpy(dtype=float) - est])
    ax.errorbar(pos, est, yerr=err, fmt="o", capsize=4, color="#1f4e79")
    labels = data[x].astype(str).tolist()
    if n and n in data.columns:
        labels = [f"{lab}\n(n={int(v)})" for lab, v in zip(labels, data[n])]
    ax.set_xticks(pos, labels)
    ax.set_xlabel(xlabel if xlabel is not None else x)
    ax.set_ylabel(ylabel if ylabel is not None else y)
    ax.grid(axis="y", alpha=0.3)
    return ax


def distribution_plot(data: pd.DataFrame, *, x: str, hue: str | None = None, ax=None,
                      discrete: bool = False, stat: str = "density"):
    """Histogram of one measure, one colour per ``hue`` group, each normalised on its own."""
    ax = _axes(ax)
    sns.histplot(data=data.dropna(subset=[x]), x=x, hue=hue, ax=ax, stat=stat,
                 common_norm=False, discrete=discrete, element="step", fill=True, alpha=0.3)
    return ax


def missingness_plot(data: pd.DataFrame, *, x: str = "share_missing", y: str = "variable",
                     hue: str | None = "source", ax=None):
    """Horizontal bars of the share missing per variable."""
    ax = _axes(ax)
    sns.barplot(data=data, x=x, y=y, hue=hue, ax=ax, dodge=False)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share missing")
    return ax


def level_shares_plot(data: pd.DataFrame, *, x: str = "share", y: str = "domain",
                      hue: str = "level", ax=None):
    """Stacked horizontal bars of the share of people at each level (1 green … 5 red)."""
    ax = _axes(ax)
    wide = data.pivot_table(index=y, columns=hue, values=x, aggfunc="sum", observed=True).fillna(0)
    left = np.zeros(len(wide))
    for level in wide.columns:
        valid = level in LEVEL_COLOURS
        ax.barh(wide.index.astype(str), wide[level], left=left,
                label=str(level) if valid else f"{level} (out of range)",
                color=LEVEL_COLOURS.get(level, "#9e9e9e"), hatch=None if valid else "//")
        left += wide[level].to_numpy()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of people")
    ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left")
    return ax


def trajectory_plot(data: pd.DataFrame, *, x: str, y: str, hue: str | None = None, ax=None,
                    max_x: int | None = None):
    """Mean of ``y`` by ``x`` (for example session number) with 95 % CI bands, per group."""
    ax = _axes(ax)
    d = data if max_x is None else data[data[x] <= max_x]
    sns.lineplot(data=d, x=x, y=y, hue=hue, errorbar=("ci", 95), ax=ax, marker="o")
    ax.grid(alpha=0.3)
    return ax
