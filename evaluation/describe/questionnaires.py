"""Answers to questionnaire items: how they spread over the answer levels, and the Likert chart.

:func:`item_distribution` answers "how many chose each level of each item" as one tidy table
(a row per item × level, per group if asked); :func:`likert_plot` draws that table as diverging
stacked bars, in seaborn's manner (``data=``, ``x=``, ``y=``, ``hue=``, ``ax=`` in, the Axes out).
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from evaluation.constraints import validate_params
from evaluation.disclosure import DisclosureRules, hide_small_levels
from evaluation.disclosure.figure_provenance import record_panel
from evaluation.errors import ParameterError
from evaluation.instruments.item_frames import columns_text, plain_value

__all__ = ["item_distribution", "likert_plot"]


def _default_levels(data: pd.DataFrame, items: list) -> list:
    """The answer levels when none are given: the shared categories of ordered categorical
    items, otherwise every value observed in any item, sorted."""
    dtypes = [data[c].dtype for c in items]
    if all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        cats = [list(d.categories) for d in dtypes]
        if all(c == cats[0] for c in cats):
            return cats[0]
    observed = pd.unique(pd.concat([data[c].dropna().astype(object) for c in items]))
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
           and float(v).is_integer() for v in observed):
        # Whole-number scores stored as float (because of missing answers) are shown as 1, 2, …
        observed = pd.unique(np.array([int(v) for v in observed], dtype=object))
    try:
        return sorted(observed)
    except TypeError as err:
        raise ParameterError(
            f"item_distribution: the answers mix values that cannot be ordered "
            f"({', '.join(repr(plain_value(v)) for v in observed[:6])}); pass levels= in the "
            "intended order."
        ) from err


@validate_params({"data": ["frame"]})
def item_distribution(data: pd.DataFrame, items: Sequence, *, by: str | None = None,
                      levels: Sequence | None = None) -> pd.DataFrame:
    """How the answers to each item spread over the answer levels, overall or per group.

    Parameters
    ----------
    data : DataFrame
        A row per respondent, a column per item.
    items : list of str
        The item columns.
    by : str, optional
        A grouping column (for example the institution); a row per group in the result.
        Respondents with ``by`` missing form a group of their own (shown as NaN).
    levels : list, optional
        The answer levels in order (for example ``[1, 2, 3, 4, 5]``). Default: the categories of
        the items when they are categoricals with the same categories, otherwise the values
        observed in any item, sorted. Levels nobody chose appear with ``n = 0``. An answer that
        is not one of the given levels is an error (rather than silently left out).

    Returns
    -------
    DataFrame
        A row per item (× group) × level: ``item``, ``group`` (only with ``by``), ``level``,
        ``n`` (answers at this level), ``share`` (``n / n_item``), ``n_item`` (non-missing
        answers to the item in the group) and ``n_missing`` (missing answers to the item in the
        group). Shares are of the answers given, so within an item × group they sum to 1; NaN
        when nobody in the group answered the item.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.describe.questionnaires import item_distribution
    >>> df = pd.DataFrame({"q1": [1, 2, 2, 5, None], "q2": [4, 4, 5, 5, 5]})
    >>> item_distribution(df, ["q1", "q2"], levels=[1, 2, 3, 4, 5]).head(5)
      item  level  n  share  n_item  n_missing
    0   q1      1  1   0.25       4          1
    1   q1      2  2   0.50       4          1
    2   q1      3  0   0.00       4          1
    3   q1      4  0   0.00       4          1
    4   q1      5  1   0.25       4          1

    In R: ``prop.table(table(factor(df$q1, levels = 1:5)))``.
    """
    func = "item_distribution"
    if isinstance(items, (str, bytes)) or not pd.api.types.is_list_like(items):
        raise ParameterError(f"{func}: items must be a list of column names, got {items!r}.")
    items = list(items)
    if not items:
        raise ParameterError(f"{func}: items is empty; name at least one item column.")
    for c in items:
        if c not in data.columns:
            raise ParameterError(f"{func}: item {c!r} is not a column of data; columns: "
                                 f"{columns_text(data)}.")
    if by is not None:
        if by not in data.columns:
            raise ParameterError(f"{func}: by={by!r} is not a column of data; columns: "
                                 f"{columns_text(data)}.")
        if by in items:
            raise ParameterError(f"{func}: by={by!r} is also one of the items.")
    if levels is None:
        levels = _default_levels(data, items)
    else:
        if isinstance(levels, (str, bytes)) or not pd.api.types.is_list_like(levels):
            raise ParameterError(f"{func}: levels must be a list of answer values, got "
                                 f"{levels!r}.")
        levels = list(levels)
        if len(set(levels)) != len(levels):
            raise ParameterError(f"{func}: levels {levels!r} has a value more than once.")
        allowed = pd.Index(levels)
        for c in items:
            answers = data[c].dropna()
            outside = answers[~answers.isin(allowed)]
            if len(outside):
                raise ParameterError(
                    f"{func}: column {c!r}, row {plain_value(outside.index[0])!r}: value "
                    f"{plain_value(outside.iloc[0])!r} is not one of the levels {levels!r}. Expected: "
                    "every answer among the levels (recode it, or set it to missing).")

    if by is None:
        groups = [(None, data)]
    else:
        groups = list(data.groupby(by, dropna=False, observed=True, sort=True))
    rows = []
    for item in items:
        for key, part in groups:
            answers = part[item]
            n_item = int(answers.notna().sum())
            counts = answers.dropna().astype(object).value_counts()
            for level in levels:
                n = int(counts.get(level, 0))
                row = {"item": item}
                if by is not None:
                    row["group"] = key
                row.update(level=level, n=n, share=n / n_item if n_item else np.nan,
                           n_item=n_item, n_missing=int(answers.isna().sum()))
                rows.append(row)
    columns = ["item"] + (["group"] if by is not None else []) + \
        ["level", "n", "share", "n_item", "n_missing"]
    return pd.DataFrame(rows, columns=columns)


def _neutral_index(levels: list, neutral) -> int | None:
    if neutral is None:
        return len(levels) // 2 if len(levels) % 2 == 1 else None
    matches = [i for i, lev in enumerate(levels) if lev == neutral or str(lev) == str(neutral)]
    if not matches:
        raise ParameterError(f"likert_plot: neutral={neutral!r} is not one of the levels "
                             f"{levels!r}.")
    return matches[0]


@validate_params({"data": ["frame"]})
def likert_plot(data: pd.DataFrame | None = None, *, x: str = "share", y: str = "item",
                hue: str = "level", col: str | None = None, ax=None, neutral=None,
                palette="RdYlGn", rules=None, sdc=None):
    """Diverging stacked bars of the answers to each item (a "Likert chart").

    Levels below the neutral level go to the left of zero, levels above it to the right, and
    the neutral level is split half and half around zero, so the bars line up on the middle of
    the scale. The tick label of each item gives its number of answers.

    Parameters
    ----------
    data : DataFrame
        The output of :func:`item_distribution` for one group: a row per item × level.
    x : str
        Column with the share of answers at the level (default ``'share'``).
    y : str
        Column with the item (default ``'item'``). Items are drawn top to bottom in the order
        they first appear.
    hue : str
        Column with the answer level (default ``'level'``); levels are taken in the order they
        first appear, which for :func:`item_distribution` output is the scale order.
    col : str, optional
        Column that identifies groups (default: ``'group'`` when ``data`` has it). The chart is
        of one group: if this column holds more than one value, filter ``data`` first or draw
        each group on its own ``ax``. (Axes-level function: no faceting here.)
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    neutral : level, optional
        The neutral level. Default: the middle level when their number is odd, none when even.
    palette : str or list of colours
        Seaborn palette name or colours, one per level from the lowest (default ``'RdYlGn'``,
        red for low to green for high).
    rules : DisclosureRules, optional
        Disclosure rules (default: cells of fewer than 5 answers). Levels with fewer answers
        (and the next smallest level when only one is) are not drawn in place but hidden
        together in a grey segment at the right end of the bar. Applies when ``data`` has
        the counts column ``n``.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Drawn with matplotlib's ``barh``: seaborn has no diverging stacked bar. Each bar segment is
    one patch; those left of zero have widths that sum to the share below the neutral level
    plus half the neutral share. The counts behind the tick labels come from ``n_item`` when
    ``data`` has it, otherwise from the sum of ``n`` over the levels.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluation.describe.questionnaires import item_distribution, likert_plot
    >>> df = pd.DataFrame({"q1": [1, 2, 2, 5, 3], "q2": [4, 4, 5, 5, 3]})
    >>> dist = item_distribution(df, ["q1", "q2"], levels=[1, 2, 3, 4, 5])
    >>> ax = likert_plot(dist)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['q1 (n=5)', 'q2 (n=5)']
    >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    func = "likert_plot"
    for name, column in (("x", x), ("y", y), ("hue", hue)):
        if column not in data.columns:
            raise ParameterError(f"{func}: {name}={column!r} is not a column of data; columns: "
                                 f"{columns_text(data)}.")
    group_col = col if col is not None else ("group" if "group" in data.columns else None)
    if group_col is not None:
        if group_col not in data.columns:
            raise ParameterError(f"{func}: col={group_col!r} is not a column of data; columns: "
                                 f"{columns_text(data)}.")
        groups = pd.unique(data[group_col])
        if len(groups) > 1:
            shown = ", ".join(repr(plain_value(g)) for g in groups[:6])
            raise ParameterError(
                f"{func}: data holds {len(groups)} groups in column {group_col!r} ({shown}); "
                f"the chart is of one group. Filter first (data[data[{group_col!r}] == …]) or "
                "draw each group on its own ax.")
    if data.duplicated(subset=[y, hue]).any():
        dup = data.loc[data.duplicated(subset=[y, hue])].iloc[0]
        raise ParameterError(f"{func}: item {plain_value(dup[y])!r} has more than one row for "
                             f"level {plain_value(dup[hue])!r}; pass the table of one group.")

    hidden_share = None
    if "n" in data.columns:
        rules = rules if rules is not None else DisclosureRules()
        data = hide_small_levels(data, rules, keys=[y], n="n", share=x)
        total = data.groupby(y, sort=False)["n"].transform("sum")
        data = data.assign(_hidden=np.where(data["suppressed"], data["n"] / total.where(total > 0), 0.0))
        hidden_share = data.groupby(y, sort=False)["_hidden"].sum()
    items = list(pd.unique(data[y]))
    levels = list(pd.unique(data[hue]))
    shares = (data.pivot(index=y, columns=hue, values=x).reindex(index=items, columns=levels)
              .astype(float).fillna(0.0))
    if "n_item" in data.columns:
        n_by_item = data.groupby(y, sort=False)["n_item"].max().reindex(items)
    elif "n" in data.columns:
        n_by_item = data.groupby(y, sort=False)["n"].sum().reindex(items)
    else:
        n_by_item = None
    mid = _neutral_index(levels, neutral)

    colours = sns.color_palette(palette, len(levels)) if isinstance(palette, str) \
        else list(palette)
    if len(colours) < len(levels):
        raise ParameterError(f"{func}: palette has {len(colours)} colours for "
                             f"{len(levels)} levels.")
    if ax is None:
        ax = plt.subplots(figsize=(8, 0.5 * len(items) + 1.5))[1]

    # Matplotlib barh: seaborn has no diverging stacked bar chart.
    pos = np.arange(len(items))
    values = shares.to_numpy()
    half = values[:, mid] / 2 if mid is not None else np.zeros(len(items))
    below = list(range(mid if mid is not None else len(levels) // 2))
    above = list(range(mid + 1 if mid is not None else len(levels) // 2, len(levels)))
    # Left of zero, from zero outwards: half the neutral, then the levels below it, nearest first.
    edge = -half
    for j in reversed(below):
        edge = edge - values[:, j]
        ax.barh(pos, values[:, j], left=edge, color=colours[j], label=str(levels[j]),
                edgecolor="white", linewidth=0.5)
    if mid is not None:
        ax.barh(pos, half, left=-half, color=colours[mid], edgecolor="white", linewidth=0.5,
                label=str(levels[mid]))
        ax.barh(pos, half, left=np.zeros(len(items)), color=colours[mid], edgecolor="white",
                linewidth=0.5)
    edge = half.copy()
    for j in above:
        ax.barh(pos, values[:, j], left=edge, color=colours[j], label=str(levels[j]),
                edgecolor="white", linewidth=0.5)
        edge = edge + values[:, j]
    if hidden_share is not None and hidden_share.fillna(0).any():
        hid = hidden_share.reindex(items).fillna(0).to_numpy()
        ax.barh(pos, hid, left=edge, color="#bdbdbd", hatch="..", edgecolor="white",
                linewidth=0.5, label="hidden")
        edge = edge + hid

    labels = [str(it) for it in items]
    if n_by_item is not None:
        small = DisclosureRules() if rules is None else rules
        labels = [f"{lab} (n={small.suppressed_text})" if small.small_count([n])[0]
                  else f"{lab} (n={int(n) if pd.notna(n) else 0})"
                  for lab, n in zip(labels, pd.to_numeric(n_by_item, errors="coerce"))]
    ax.set_yticks(pos, labels)
    ax.set_ylim(len(items) - 0.5, -0.5)          # first item on top
    left_total = values[:, below].sum(axis=1) + half
    right_total = edge
    reach = max(float(left_total.max(initial=0)), float(right_total.max(initial=0)), 0.05)
    reach = min(1.0, np.ceil(reach * 10) / 10)
    ax.set_xlim(-reach, reach)
    ax.axvline(0, color="#424242", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(v):.0%}"))
    ax.set_xlabel("share of answers")
    ax.set_ylabel("")
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(str(lev)) for lev in [*levels, "hidden"] if str(lev) in names]
    ax.legend([handles[i] for i in order], [names[i] for i in order], title=hue,
              bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    ax.grid(axis="x", alpha=0.3)
    record_panel(ax, f"answers per item ({hue})", sdc=sdc)
    return ax
