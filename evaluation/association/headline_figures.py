"""The headline report's figures, one call each: IP coverage by group, the weighting
diagnostics (balance; weights and overlap) and the forest plots of the estimates. Each returns its matplotlib Figure.

The coverage and forest figures take the tables the report shows (``SafeTable``s of
``sdc.show``; a plain DataFrame is protected with the same rules first) and draw only their
shown cells, so a row hidden in the table is not drawn under it; see
:mod:`evaluation.disclosure.figures`. Each figure is recorded once, with the tables it
illustrates, in the report's Disclosure (``sdc=``, or the one the tables know).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from evaluation.disclosure.figure_data import figure_table, rows_where
from evaluation.disclosure.figure_provenance import composed_figure, record_panel
from evaluation.disclosure.figure_recipes import redrawable
from evaluation.disclosure.figures import estimate_plot, figure_note, forest_plot
from evaluation.association.balance import love_plot, overlap_plot, weight_plot
from evaluation.association.headline import null_value, scales_of


@redrawable
def coverage_figure(tables: dict, *, rules=None, sdc=None):
    """IP coverage with its CI per level, a panel per grouping: ``tables`` maps each grouping
    to its coverage table as shown (of :func:`~.headline.coverage_tables`, through
    ``sdc.show``)."""
    fig, axes = plt.subplots(1, len(tables), figsize=(4.5 * len(tables), 4), squeeze=False)
    with composed_figure(fig, "IP coverage", sdc=sdc):
        for ax, (by, table) in zip(axes[0], tables.items()):
            estimate_plot(data=table, x=by, ylabel="IP coverage", ax=ax, rules=rules, sdc=sdc,
                          name=f"IP coverage by {by}")
            ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


@redrawable
def balance_figure(balance_table, *, rules=None, sdc=None):
    """Love plot of the balance table as shown (a hidden difference is not drawn): drawn
    again by a batch's release when it hides one more count of Table 1."""
    shown = figure_table(balance_table, rules=rules, sdc=sdc, n=None)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    with composed_figure(fig, "balance (love plot)", sdc=sdc or shown.sdc):
        love_plot(shown.values, ax=ax)          # records nothing itself: recorded here
        record_panel(ax, "balance (love plot)", source=shown.source, sdc=shown.sdc)
    fig.tight_layout()
    return fig


def weights_figure(weights: pd.DataFrame, *, rules=None, sdc=None):
    """Weight distribution and propensity overlap side by side; ``weights`` as
    :func:`~.headline.weight_frame` gives them (histograms whose bins rest on at least min_cell
    people). It illustrates no table, so a release that hides a count leaves it as it is."""
    rules = rules if rules is not None else getattr(sdc, "rules", None)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    with composed_figure(fig, "weights and overlap", sdc=sdc):
        w = pd.to_numeric(weights["weight"], errors="coerce") if "weight" in weights else None
        drawn = weights if w is None else weights[w > 0]
        weight_plot(drawn, ax=axes[0], rules=rules)   # zeros counted here, by the rules
        if w is not None and (w == 0).any():
            zero = int((w == 0).sum())
            text = rules.suppressed_text if rules.small_count([zero])[0] else str(zero)
            figure_note(axes[0], f"{text} trimmed unit(s) with weight 0 not drawn.")
        overlap_plot(weights, ax=axes[1], rules=rules)
    fig.tight_layout()
    return fig


@redrawable
def forest_figure(estimates, *, rules=None, sdc=None):
    """A forest plot per scale of the estimates as shown (methods down, outcomes in colour),
    each with its null line; a row hidden in the table is labelled, not drawn."""
    shown = figure_table(estimates, rules=rules, sdc=sdc).values
    scales, rows = scales_of(shown), len(shown)
    fig, axes = plt.subplots(1, len(scales), figsize=(7 * len(scales), 0.45 * rows + 2),
                             squeeze=False)
    with composed_figure(fig, "estimates", sdc=sdc):
        for ax, scale in zip(axes[0], scales):
            part = rows_where(estimates, lambda v, s=scale: v["scale"] == s)
            forest_plot(part, y="method", hue="outcome", null=null_value(scale), ax=ax,
                        rules=rules, sdc=sdc, name=f"estimates ({scale})")
            ax.set_xlabel(scale)
    fig.tight_layout()
    return fig
