"""Figures of the feedback notebook, in seaborn's manner: ``data=``, ``x=``, ``y=``, ``hue=``,
``ax=`` in, the Axes out.

A figure of a table takes the table the report shows (the ``SafeTable`` of ``sdc.show``, or a
DataFrame it protects with the same rules) and draws only its shown cells: the change
categories, the IP contrasts, SRS over sessions. Figures with a bar or a line per client
episode (the waterfall, individual ORS trajectories) are person-level: they are drawn only in
an internal run (``internal=True``, with the report's Disclosure internal too); otherwise the
waterfall says so in one line and the trajectories show the group means alone.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

from evaluation.disclosure.figure_data import figure_table, rows_where
from evaluation.disclosure.figure_provenance import (composed_figure, person_level_allowed,
                                                     record_panel)
from evaluation.disclosure.figures import (axes_or_new, curve_plot, figure_note, forest_plot,
                                           hidden_note, trajectory_plot)
from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.safe_table import SafeTable

CATEGORY_ORDER = ["recovered", "reliably improved", "no reliable change", "deteriorated"]
CATEGORY_COLOURS = {"recovered": "#2e7d32", "reliably improved": "#81c784",
                    "no reliable change": "#bdbdbd", "deteriorated": "#c62828"}
INTERNAL_ONLY = "{what}: one {unit} per client episode, drawn only in an internal run (internal=True)."


def _rules(rules, sdc) -> DisclosureRules:
    return rules if rules is not None else getattr(sdc, "rules", None) or DisclosureRules()


def trajectories_plot(data: pd.DataFrame, *, x: str = "session", y: str = "ors_total",
                      hue: str | None = None, unit: str = "client", sample: int = 20,
                      max_x: int | None = 20, seed: int = 0, ax=None, rules=None, sdc=None,
                      internal: bool = False):
    """The mean curve of each ``hue`` group with its 95 % CI (points resting on fewer than
    min_cell clients are not drawn); in an internal run (``internal=True``) also a random
    sample of ``sample`` client trajectories per group (thin lines), for groups of at least
    min_cell clients."""
    person_level = person_level_allowed("trajectories_plot", internal, sdc)   # before drawing
    rules, ax = _rules(rules, sdc), axes_or_new(ax)
    d = data.dropna(subset=[y])
    if max_x is not None:
        d = d[d[x] <= max_x]
    with composed_figure(ax, f"mean {y} by {x}" + (" and individual clients" if person_level
                                                    else ""), sdc=sdc):
        hidden = 0
        if person_level:
            rng = np.random.default_rng(seed)
            groups = [(None, d)] if hue is None else list(d.groupby(hue, sort=True, observed=True))
            palette = sns.color_palette(n_colors=max(len(groups), 1))
            for colour, (_level, g) in zip(palette, groups):
                units = g[unit].unique()
                if len(units) < rules.min_cell:
                    hidden += 1
                    continue
                chosen = rng.choice(units, size=min(sample, len(units)), replace=False)
                for _, one in g[g[unit].isin(chosen)].groupby(unit, sort=False):
                    one = one.sort_values(x)
                    ax.plot(one[x], one[y], color=colour, alpha=0.25, linewidth=0.8)
            record_panel(ax, "individual client trajectories", person_level=True, sdc=sdc)
        trajectory_plot(d, x=x, y=y, hue=hue, unit=unit if unit in d.columns else None, ax=ax,
                        rules=rules, sdc=sdc)
        if person_level:
            ax.set_title(f"{sample} random clients per group (thin lines) and the mean with "
                         f"95 % CI (internal)", fontsize=9)
        else:
            ax.set_title("mean with 95 % CI (individual clients: internal runs only)", fontsize=9)
        if hidden:
            figure_note(ax, f"{hidden} group(s) of fewer than {rules.min_cell} clients: no "
                            f"individual lines.")
    return ax


def expected_response_plot(curves: pd.DataFrame, *, intake=None, x: str = "session",
                           y: str = "expected", low: str = "lower", high: str | None = "upper",
                           hue: str = "intake", max_x: int | None = None, n: str = "n_clients",
                           ax=None, rules=None, sdc=None):
    """Expected ORS by session for chosen intake scores (lines), with the band from ``low``
    to ``high`` where given, up to ``max_x`` sessions; labelled as locally derived, since the
    commercial expected treatment response tables are not public. A point resting on fewer
    than min_cell clients (column ``n``, where the curves have it: the percentiles of a few
    clients are their own scores) is not drawn."""
    rules, ax = _rules(rules, sdc), axes_or_new(ax)
    d = curves if intake is None else curves[curves[hue].isin(list(intake))]
    if max_x is not None:
        d = d[d[x] <= max_x]
    few = (rules.small_count(pd.to_numeric(d[n], errors="coerce").fillna(0)) if n in d.columns
           else np.zeros(len(d), dtype=bool))
    d = d.assign(**{c: d[c].where(~few) for c in (y, low, high) if c and c in d.columns})
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
    if few.any():
        figure_note(ax, f"{int(few.sum())} point(s) resting on fewer than {rules.min_cell} "
                        f"clients not drawn.")
    record_panel(ax, "expected treatment response (locally derived)", sdc=sdc)
    return ax


def waterfall_plot(data: pd.DataFrame, *, y: str = "change", hue: str | None = "category",
                   ax=None, rules=None, sdc=None, reliable_change: float | None = None,
                   internal: bool = False):
    """Every client episode's change, sorted, one bar each, coloured by category; dashed
    lines at ± the reliable change. Person-level: drawn only in an internal run
    (``internal=True``) and with at least min_cell episodes; otherwise the Axes says why."""
    person_level = person_level_allowed("waterfall_plot", internal, sdc)     # before drawing
    rules, ax = _rules(rules, sdc), axes_or_new(ax)
    if not person_level:
        ax.text(0.5, 0.5, INTERNAL_ONLY.format(what="Waterfall of changes", unit="bar"),
                transform=ax.transAxes, ha="center", va="center", fontsize=9, wrap=True,
                color="#555555")
        ax.set_xticks([])
        ax.set_yticks([])
        record_panel(ax, "waterfall of episode changes (not drawn: person-level)", sdc=sdc)
        return ax
    d = data.dropna(subset=[y]).sort_values(y, ascending=False).reset_index(drop=True)
    if len(d) < rules.min_cell:
        figure_note(ax, f"fewer than {rules.min_cell} episodes: not drawn.")
        record_panel(ax, "waterfall of episode changes (not drawn: too few)", sdc=sdc)
        return ax
    colours = (d[hue].map(CATEGORY_COLOURS).fillna("#1f4e79") if hue and hue in d.columns
               else "#1f4e79")
    ax.bar(np.arange(len(d)), d[y], width=1.0, color=colours, linewidth=0)
    if reliable_change:
        for v in (reliable_change, -reliable_change):
            ax.axhline(v, color="#555555", linestyle="--", linewidth=0.8)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks([])
    ax.set_xlabel(f"client episodes, sorted (n={len(d)}; internal)")
    ax.set_ylabel(f"{y} (last − intake ORS)")
    if hue and hue in d.columns:
        present = [c for c in CATEGORY_ORDER if c in set(d[hue])]
        ax.legend(handles=[Patch(color=CATEGORY_COLOURS[c], label=c) for c in present], fontsize=8)
    record_panel(ax, "waterfall of episode changes", person_level=True, sdc=sdc)
    return ax


def category_plot(data, *, x: str = "category", y: str = "estimate", hue: str | None = None,
                  low: str = "ci_low", high: str = "ci_high", count: str = "count", ax=None,
                  rules=None, sdc=None, hide=()):
    """Share of episodes per change category with 95 % CIs, per ``hue`` group (levels in
    ``hide`` left out), from the table of :func:`category_shares` as the report shows it: a
    bar whose share or count the table hides is not drawn, and its place carries the mark."""
    ft = figure_table(data, rules=rules, sdc=sdc)
    ax = axes_or_new(ax)
    d = ft.values
    rows = d[x].isin(CATEGORY_ORDER).to_numpy().copy()
    if hue is not None:
        rows &= ~d[hue].isin(list(hide)).to_numpy()
    ok = ft.drawable([y], counts=[c for c in (count, "n") if c in d.columns])
    levels = [None] if hue is None else sorted(d.loc[rows, hue].dropna().unique())
    width = 0.8 / max(len(levels), 1)
    palette = sns.color_palette(n_colors=max(len(levels), 1))
    est, lo, hi = ft.numbers(y), ft.numbers(low), ft.numbers(high)
    for k, (colour, level) in enumerate(zip(palette, levels)):
        mine = rows if level is None else rows & (d[hue] == level).to_numpy()
        idx = np.flatnonzero(mine)
        pos = np.array([CATEGORY_ORDER.index(c) for c in d[x].iloc[idx]]) \
            + (k - (len(levels) - 1) / 2) * width
        shown = ok[idx]
        err = np.clip(np.vstack([est[idx] - lo[idx], hi[idx] - est[idx]]), 0, None)[:, shown]
        ax.bar(pos[shown], est[idx][shown], width=width, color=colour, yerr=np.nan_to_num(err),
               capsize=3, label=None if level is None else f"{hue} = {level}")
        for p, i in zip(pos[~shown], idx[~shown]):
            ax.text(p, 0.02, ft.row_mark(i, [y, count, "n"]), ha="center", va="bottom",
                    fontsize=10, color="#555555")
    ax.set_xticks(range(len(CATEGORY_ORDER)), CATEGORY_ORDER)
    ax.set_xlim(-0.5, len(CATEGORY_ORDER) - 0.5)   # a hidden bar keeps its place, with its mark
    ax.set_ylabel("share of episodes")
    ax.set_ylim(0, 1)
    if hue is not None:
        ax.legend(fontsize=8)
    hidden_note(ax, ft, rows & ~ok, "bar(s)")
    record_panel(ax, "change categories", source=ft.source, sdc=ft.sdc)
    return ax


def change_figure(shares, changes: pd.DataFrame, *, hue: str | None = "IP", hide=(),
                  reliable_change: float | None = None, rules=None, sdc=None,
                  internal: bool = False):
    """The change categories by ``hue`` (:func:`category_plot` of the shown table, leaving out
    the ``hide`` levels) beside the waterfall of every episode's change
    (:func:`waterfall_plot`, person-level: drawn only with ``internal=True``).

    Returns
    -------
    array of two Axes
    """
    person_level_allowed("change_figure", internal, sdc)       # refused before anything is drawn
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.5), layout="constrained")
    with composed_figure(fig, "change per episode", sdc=sdc):
        category_plot(data=shares, hue=hue, hide=hide, ax=axes[0], rules=rules, sdc=sdc)
        waterfall_plot(data=changes, ax=axes[1], rules=rules, sdc=sdc,
                       reliable_change=reliable_change, internal=internal)
    return axes


def contrasts_plot(estimates, *, y: str = "method", hue: str | None = "outcome", ax=None,
                   rules=None, sdc=None):
    """The IP contrasts of an estimate table (as shown) on their difference scales (odds
    ratios left out, their null is 1), a row per ``y`` and ``hue``; hidden rows not drawn."""
    differences = rows_where(estimates, lambda v: v["scale"] != "odds ratio")
    if ax is None:
        rows = len(figure_table(differences, rules=rules, sdc=sdc))
        ax = plt.subplots(figsize=(8, 0.5 * rows + 1.5), layout="constrained")[1]
    return forest_plot(differences, y=y, hue=hue, ax=ax, rules=rules, sdc=sdc,
                       name="IP contrasts")


def alliance_plot(data, *, x: str = "session", y: str = "srs_total", hue: str | None = "IP",
                  cutoff: float | None = None, max_x: int | None = None, ax=None, rules=None,
                  sdc=None):
    """Mean SRS total by session (and ``hue``) with 95 % CIs and a dashed line at the alliance
    ``cutoff``. ``data`` is the table of :func:`alliance_over_time` as shown (a SafeTable, or
    a frame with ``estimate``), drawn with :func:`~evaluation.disclosure.figures.curve_plot`,
    or the sessions themselves (a column ``y``), drawn as their mean by session."""
    if ax is None:
        ax = plt.subplots(figsize=(9, 4), layout="constrained")[1]
    if max_x is not None:
        data = rows_where(data, lambda v: pd.to_numeric(v[x], errors="coerce") <= max_x)
    if isinstance(data, SafeTable) or (y not in data.columns and "estimate" in data.columns):
        curve_plot(data, x=x, y="estimate", hue=hue, ax=ax, rules=rules, sdc=sdc,
                   name="SRS over sessions")
        ax.set_ylabel("mean SRS total")
    else:
        d = data.dropna(subset=[y] if hue is None else [hue, y])
        trajectory_plot(d, x=x, y=y, hue=hue, ax=ax, rules=rules, sdc=sdc,
                        name="SRS over sessions")
    if cutoff is not None:
        ax.axhline(cutoff, color="#c62828", linestyle="--", linewidth=0.8)
    return ax
