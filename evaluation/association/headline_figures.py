"""The headline report's figures, one call each: IP coverage by group, the weighting
diagnostics and the forest plots of the estimates. Each returns its matplotlib Figure; what
rests on fewer than min_cell people is left out, as in :mod:`evaluation.disclosure.figures`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from evaluation.disclosure.figures import estimate_plot, forest_plot
from evaluation.association.balance import love_plot, overlap_plot, weight_plot
from evaluation.association.headline import by_scale, null_value, scales_of


def coverage_figure(tables: dict[str, pd.DataFrame], *, rules=None):
    """IP coverage with its CI per level, a panel per grouping (of
    :func:`~.headline.coverage_tables`)."""
    fig, axes = plt.subplots(1, len(tables), figsize=(4.5 * len(tables), 4), squeeze=False)
    for ax, (by, table) in zip(axes[0], tables.items()):
        estimate_plot(data=table, x=by, ylabel="IP coverage", ax=ax, rules=rules)
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


def weighting_figure(balance_table: pd.DataFrame, weights: pd.DataFrame, *, rules=None):
    """Love plot, weight distribution and propensity overlap side by side; ``weights`` as
    :func:`~.headline.weight_frame` gives them."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    love_plot(balance_table, ax=axes[0])
    weight_plot(weights, ax=axes[1], rules=rules)
    overlap_plot(weights, ax=axes[2], rules=rules)
    fig.tight_layout()
    return fig


def forest_figure(estimates: pd.DataFrame, *, rules=None):
    """A forest plot per scale of the estimates (methods down, outcomes in colour), each with
    its null line."""
    scales = scales_of(estimates)
    fig, axes = plt.subplots(1, len(scales), figsize=(7 * len(scales), 0.45 * len(estimates) + 2),
                             squeeze=False)
    for ax, (scale, part) in zip(axes[0], by_scale(estimates)):
        forest_plot(part, y="method", hue="outcome", null=null_value(scale), ax=ax, rules=rules)
        ax.set_xlabel(scale)
    fig.tight_layout()
    return fig
