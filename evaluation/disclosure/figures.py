"""Figures shared by the notebooks, in seaborn's manner: ``data=``, ``x=``, ``y=``, ``hue=``,
``ax=`` in, the Axes out. Estimates come with their intervals drawn.

Two kinds of figure, two rules:

- A figure of a table (``estimate_plot``, ``forest_plot``, ``curve_plot``,
  ``missingness_plot``, ``level_shares_plot``) takes the table the report shows, the
  ``SafeTable`` of ``sdc.show`` (or a DataFrame, which it first protects with the same rules),
  and draws only the cells shown: a hidden estimate, share or count is not drawn, and its
  label says hidden with the table's mark (``<5``, ``·``).
- A figure of data (``distribution_plot``, ``trajectory_plot``) applies the rules to what it
  draws: a bin or point rests on at least min_cell people; a bin hidden alone is joined by the
  next smallest (the group's total would give it away); a mean of a 0/1 variable is a share,
  and its count and complement must both reach min_cell.

Each records its provenance (:mod:`.figure_provenance`) with ``sdc=`` (the report's Disclosure)
or the Disclosure of the table it was given.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from evaluation.disclosure.figure_data import FigureTable, columns_of, figure_table
from evaluation.disclosure.figure_provenance import record_panel
from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.suppression import secondary_suppression

LEVEL_COLOURS = {1: "#2e7d32", 2: "#c0ca33", 3: "#fdd835", 4: "#fb8c00", 5: "#c62828"}
HIDDEN_COLOUR = "#bdbdbd"
POINT_COLOUR = "#1f4e79"


def axes_or_new(ax, size=(7, 4)):
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def rules_or_default(rules) -> DisclosureRules:
    return rules if rules is not None else DisclosureRules()


def figure_note(ax, text: str) -> None:
    """A line under the Axes (what was left out, and why), below the x label wherever the
    tick labels push it (placed relative to the label, so rotated ticks do not cover it)."""
    ax.annotate(text, xy=(0.5, 0), xycoords=ax.xaxis.label, va="top", ha="center",
                fontsize=8, color="#555555", annotation_clip=False,
                xytext=(0, -4), textcoords="offset points")


def hidden_note(ax, ft: FigureTable, rows, what: str = "group(s)") -> None:
    """Say how many rows of the table were not drawn, with the table's marks."""
    rows = np.asarray(rows, dtype=bool)
    if rows.any():
        marks = ft.marks_used([ft.row_mark(i, ft.values.columns) for i in np.flatnonzero(rows)])
        figure_note(ax, f"{int(rows.sum())} {what} hidden in the table not drawn "
                        f"({', '.join(marks) or 'hidden'}).")


def hidden_label(label: str, mark: str) -> str:
    return f"{label}\nhidden ({mark})"


def estimate_plot(data, *, x: str, y: str = "estimate", low: str = "ci_low",
                  high: str = "ci_high", n: str | None = "n", ax=None, xlabel=None, ylabel=None,
                  rules: DisclosureRules | None = None, sdc=None, name: str | None = None):
    """Point estimates with their confidence intervals, one per row (category of ``x``), n under
    each label. A row whose estimate (or n) the table hides is labelled with its mark and not
    drawn; its interval is drawn only where both limits are shown.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> t = pd.DataFrame({"g": list("abc"), "n": [40, 3, 30], "estimate": [.5, .2, .4],
    ...                   "ci_low": [.3, .1, .2], "ci_high": [.7, .4, .6]})
    >>> ax = estimate_plot(t, x="g")        # b has 3 people, c is hidden to protect it
    >>> ax.lines[0].get_xydata().tolist()
    [[0.0, 0.5]]
    >>> plt.close("all")
    """
    ft = figure_table(data, rules=rules, sdc=sdc, n=n)
    ax = axes_or_new(ax)
    counts = [n] if n and n in ft.values.columns else []
    ok = ft.drawable([y], counts=counts)
    with_ci = ok & ft.drawable([low, high])
    pos = np.arange(len(ft))
    est, lo, hi = ft.numbers(y), ft.numbers(low), ft.numbers(high)
    # Clipped at 0: at a share of exactly 0 or 1 a limit can differ from the estimate by a
    # rounding error in the wrong direction.
    yerr = np.clip(np.vstack([est[with_ci] - lo[with_ci], hi[with_ci] - est[with_ci]]), 0, None)
    ax.errorbar(pos[with_ci], est[with_ci], yerr=yerr, fmt="o", capsize=4, color=POINT_COLOUR)
    if (ok & ~with_ci).any():
        ax.plot(pos[ok & ~with_ci], est[ok & ~with_ci], "o", color=POINT_COLOUR)
    labels = []
    for i, lab in enumerate(ft.values[x].astype(str)):
        text = f"{lab}\n(n={ft.count_text(i, n)})" if counts else lab
        labels.append(text if ok[i] else hidden_label(text, ft.row_mark(i, [y, *counts])))
    ax.set_xticks(pos, labels)
    ax.set_xlim(-0.5, len(ft) - 0.5)           # a hidden group keeps its place, empty
    ax.set_xlabel(xlabel if xlabel is not None else x)
    ax.set_ylabel(ylabel if ylabel is not None else y)
    ax.grid(axis="y", alpha=0.3)
    hidden_note(ax, ft, ~ok)
    record_panel(ax, name or f"{y} by {x}", source=ft.source, sdc=ft.sdc)
    return ax


def forest_plot(data, *, x: str = "estimate", y: str = "method", hue: str | None = None,
                low: str = "ci_low", high: str = "ci_high", null: float | None = 0.0, ax=None,
                n: str | None = "n", rules: DisclosureRules | None = None, sdc=None,
                name: str | None = None):
    """Estimates with their confidence intervals, a row per ``y`` (and ``hue`` group), with a
    line at the null; a row the table hides is labelled with its mark and not drawn."""
    ft = figure_table(data, rules=rules, sdc=sdc, n=n)
    ax = axes_or_new(ax)
    d = ft.values
    counts = [n] if n and n in d.columns else []
    ok = ft.drawable([x], counts=counts)
    with_ci = ok & ft.drawable([low, high])
    est, lo, hi = ft.numbers(x), ft.numbers(low), ft.numbers(high)
    groups = [(None, d.index)] if hue is None else [
        (level, g.index) for level, g in d.groupby(hue, sort=False, dropna=False)]
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    labels, pos = [], 0
    for colour, (level, rows) in zip(palette, groups):
        for i in rows:
            if ok[i]:
                xerr = ([[max(est[i] - lo[i], 0)], [max(hi[i] - est[i], 0)]] if with_ci[i]
                        else None)
                ax.errorbar(est[i], pos, xerr=xerr, fmt="o", capsize=3, color=colour)
            text = f"{d[y].iloc[i]}" + (f" · {level}" if level is not None else "")
            labels.append(text if ok[i] else f"{text}  [hidden ({ft.row_mark(i, [x, *counts])})]")
            pos += 1
    if null is not None:
        ax.axvline(null, color="#555555", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(pos), labels)
    ax.set_ylim(pos - 0.5, -0.5)
    ax.set_xlabel(x)
    ax.grid(axis="x", alpha=0.3)
    hidden_note(ax, ft, ~ok, "row(s)")
    record_panel(ax, name or f"{x} by {y}", source=ft.source, sdc=ft.sdc)
    return ax


def curve_plot(data, *, x: str, y: str = "estimate", low: str | None = "ci_low",
               high: str | None = "ci_high", hue: str | None = None, n: str | None = "n",
               ax=None, rules: DisclosureRules | None = None, sdc=None, name: str | None = None):
    """A table of means by ``x`` (a session, a period) drawn as lines with their CI bands, one
    per ``hue`` group; a point the table hides is not drawn (the line breaks there)."""
    ft = figure_table(data, rules=rules, sdc=sdc, n=n)
    ax = axes_or_new(ax)
    d = ft.values
    counts = [n] if n and n in d.columns else []
    ok = ft.drawable([y], counts=counts)
    band = ok & ft.drawable([c for c in (low, high) if c])
    groups = [(None, d.index)] if hue is None else [
        (level, g.index) for level, g in d.groupby(hue, sort=True, dropna=False)]
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    for colour, (level, rows) in zip(palette, groups):
        rows = np.asarray(sorted(rows, key=lambda i: d[x].iloc[i]))
        xs = d[x].iloc[rows].to_numpy()
        ax.plot(xs, np.where(ok[rows], ft.numbers(y)[rows], np.nan), marker="o", color=colour,
                label=None if level is None else str(level))
        if low and high:
            ax.fill_between(xs, np.where(band[rows], ft.numbers(low)[rows], np.nan),
                            np.where(band[rows], ft.numbers(high)[rows], np.nan),
                            color=colour, alpha=0.2)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue is not None:
        ax.legend(title=hue)
    ax.grid(alpha=0.3)
    hidden_note(ax, ft, ~ok, "point(s)")
    record_panel(ax, name or f"{y} by {x}", source=ft.source, sdc=ft.sdc)
    return ax


def missingness_plot(data, *, x: str = "share_missing", y: str = "variable",
                     hue: str | None = "source", ax=None, rules: DisclosureRules | None = None,
                     sdc=None, name: str | None = None):
    """Horizontal bars of the share missing per variable; a variable whose share or count of
    missing answers the table hides is labelled with its mark, not drawn."""
    ft = figure_table(data, rules=rules, sdc=sdc, n=None)
    ax = axes_or_new(ax)
    counts = [c for c in ("n_missing", "n") if c in ft.values.columns]
    ok = ft.drawable([x], counts=counts)
    d = ft.values.assign(_label=[lab if ok[i] else hidden_label(lab, ft.row_mark(i, [x, *counts]))
                                 for i, lab in enumerate(ft.values[y].astype(str))])
    d[x] = np.where(ok, ft.numbers(x), 0.0)
    has_hue = hue is not None and hue in d.columns
    sns.barplot(data=d, x=x, y="_label", hue=hue if has_hue else None, ax=ax, dodge=False)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share missing")
    ax.set_ylabel(y)
    hidden_note(ax, ft, ~ok, "variable(s)")
    record_panel(ax, name or "share missing per variable", source=ft.source, sdc=ft.sdc)
    return ax


def level_shares_plot(data, *, x: str = "share", y: str = "domain", hue: str = "level",
                      n: str = "n", ax=None, rules: DisclosureRules | None = None, sdc=None,
                      name: str | None = None):
    """Stacked horizontal bars of the share of people at each level (1 green … 5 red). Levels
    the table hides are drawn together, as one grey segment at the end of the bar (their sum
    is what the shown shares leave; the table hides at least two of a bar, or none). ``n`` is
    the column of people at the level (``count`` in a table of the result contract, whose
    ``n`` is the people of the bar)."""
    people = "n" if n != "n" and "n" in columns_of(data) else n
    ft = figure_table(data, rules=rules, sdc=sdc, n=people, keys=[y, hue])
    ax = axes_or_new(ax)
    d = ft.values.copy()
    ok = ft.drawable([x], counts=[n] if n in d.columns else [])
    d["_share"] = np.where(ok, ft.numbers(x), 0.0)
    wide = d.pivot_table(index=y, columns=hue, values="_share", aggfunc="sum", observed=True,
                         sort=False).fillna(0)
    hidden_rows = d.assign(_hidden=~ok).groupby(y, observed=True, sort=False)["_hidden"].any()
    hidden = (1 - wide.sum(axis=1)).clip(lower=0).where(hidden_rows.reindex(wide.index), 0.0)
    left = np.zeros(len(wide))
    for level in wide.columns:
        valid = level in LEVEL_COLOURS
        text = f"{level:g}" if isinstance(level, float) else str(level)
        ax.barh(wide.index.astype(str), wide[level], left=left,
                label=text if valid else f"{text} (out of range)",
                color=LEVEL_COLOURS.get(level, "#9e9e9e"), hatch=None if valid else "//")
        left += wide[level].to_numpy()
    if hidden.any():
        marks = ft.marks_used([ft.row_mark(i, [x, n]) for i in np.flatnonzero(~ok)])
        ax.barh(wide.index.astype(str), hidden.to_numpy(), left=left, color=HIDDEN_COLOUR,
                hatch="..", label=f"hidden ({', '.join(marks)})")
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of people")
    ax.legend(title=hue, bbox_to_anchor=(1.01, 1), loc="upper left")
    record_panel(ax, name or f"{x} at each {hue} by {y}", source=ft.source, sdc=ft.sdc)
    return ax


# -- figures of data --------------------------------------------------------------------------
def distribution_plot(data: pd.DataFrame, *, x: str, hue: str | None = None, ax=None,
                      bins="auto", rules: DisclosureRules | None = None, sdc=None,
                      name: str | None = None):
    """Histogram (density per ``hue`` group) of one measure. A bin of fewer than min_cell people
    is not drawn, nor, when it is alone, the next smallest bin of its group (the group's n
    would give it away); a group of fewer than min_cell people is not drawn at all.
    Hand-written on numpy's bins because seaborn's histplot cannot leave out single bins."""
    rules = rules if rules is not None else getattr(sdc, "rules", None) or DisclosureRules()
    ax = axes_or_new(ax)
    d = data.dropna(subset=[x])
    values = pd.to_numeric(d[x], errors="coerce").dropna()
    edges = np.histogram_bin_edges(values, bins=bins)
    widths = np.diff(edges)
    groups = [(None, d)] if hue is None else list(d.groupby(hue, observed=True))
    palette = sns.color_palette(n_colors=max(len(groups), 1))
    hidden, small_groups = 0, 0
    for colour, (level, g) in zip(palette, groups):
        counts, _ = np.histogram(pd.to_numeric(g[x], errors="coerce").dropna(), bins=edges)
        total = int(counts.sum())
        if rules.small_count([total])[0]:
            small_groups += 1
            continue
        small = rules.small_count(counts)
        small |= secondary_suppression(counts[None, :], small[None, :], min_cell=rules.min_cell)[0]
        hidden += int(small.sum())
        density = np.where(small, 0, counts) / max(total, 1) / widths
        label = None if level is None else f"{level} (n={total})"
        ax.stairs(density, edges, fill=True, alpha=0.35, color=colour, label=label)
        ax.stairs(density, edges, color=colour)
    ax.set_xlabel(x)
    ax.set_ylabel("density")
    if hue is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(title=hue)
    notes = []
    if hidden:
        notes.append(f"{hidden} bin(s) not drawn (fewer than {rules.min_cell} people, or "
                     f"hidden to protect one)")
    if small_groups:
        notes.append(f"{small_groups} group(s) of fewer than {rules.min_cell} people not drawn")
    if notes:
        figure_note(ax, "; ".join(notes) + ".")
    record_panel(ax, name or f"distribution of {x}", sdc=sdc)
    return ax


def binary(values: pd.Series) -> bool:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return len(v) > 0 and bool(v.isin([0, 1]).all())


def trajectory_plot(data: pd.DataFrame, *, x: str, y: str, hue: str | None = None, ax=None,
                    max_x: int | None = None, unit: str | None = None,
                    rules: DisclosureRules | None = None, sdc=None, name: str | None = None):
    """Mean of ``y`` by ``x`` (a session number, a period) with 95 % CI bands, per group. A
    point resting on fewer than min_cell people (distinct ``unit``s, or rows) is not drawn;
    for a 0/1 ``y`` the mean is a share, so its count and complement must reach min_cell too."""
    rules = rules if rules is not None else getattr(sdc, "rules", None) or DisclosureRules()
    ax = axes_or_new(ax)
    d = data if max_x is None else data[data[x] <= max_x]
    d = d.dropna(subset=[y])
    keys = [x] + ([hue] if hue else [])
    grouped = d.groupby(keys, observed=True)
    people = grouped[unit].transform("nunique") if unit else grouped[y].transform("size")
    small = rules.small_count(people)
    if binary(d[y]):
        yes = grouped[y].transform(lambda s: (pd.to_numeric(s) == 1).sum())
        small |= rules.small_count(yes) | rules.small_count(grouped[y].transform("size") - yes)
    sns.lineplot(data=d[~small], x=x, y=y, hue=hue, errorbar=("ci", 95), ax=ax, marker="o")
    ax.grid(alpha=0.3)
    dropped = d[small].groupby(keys, observed=True).ngroups if small.any() else 0
    if dropped:
        figure_note(ax, f"{dropped} point(s) resting on fewer than {rules.min_cell} people "
                        f"(or a share of fewer) not drawn.")
    record_panel(ax, name or f"mean {y} by {x}", sdc=sdc)
    return ax
