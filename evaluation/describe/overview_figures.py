"""The figures of the study overview that need more than one Axes or a size of their own.

Each takes the data and the disclosure rules and returns its Axes, drawn with the shared
figures of :mod:`evaluation.disclosure.figures` (which leave out what rests on too few people).
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from evaluation.describe.overview import attach_person_columns
from evaluation.describe.shares import coverage, level_shares
from evaluation.disclosure.figures import (distribution_plot, estimate_plot, level_shares_plot,
                                           missingness_plot, trajectory_plot)

ORS_ITEMS = [f"ors_{i}" for i in range(1, 5)]


def missing_answers_plot(data, *, rules=None, ax=None):
    """Bars of the share missing per variable (a table of ``missingness`` rows), one bar
    height per variable; returns the Axes."""
    if ax is None:
        ax = plt.subplots(figsize=(8, 0.3 * len(data) + 1))[1]
    return missingness_plot(data=data, rules=rules, ax=ax)


def key_measures_plot(data, *, exposure=None, outcome=None, by="institution", rules=None):
    """Two panels: baseline ``severity`` by IP status (``exposure``), and the share of the
    binary ``outcome`` per ``by`` group with Wilson CIs. A panel whose columns are missing is
    left empty. Returns the two Axes."""
    axes = plt.subplots(1, 2, figsize=(13, 4))[1]
    if "severity" in data.columns and exposure:
        distribution_plot(data=data, x="severity", hue=exposure, ax=axes[0], rules=rules)
        axes[0].set_title("Baseline severity by IP status")
    if outcome is not None:
        by_group = coverage(data, outcome.variable, by=by)
        estimate_plot(data=by_group, x=by, ax=axes[1], rules=rules,
                      ylabel=f"share {outcome.name}")
        axes[1].set_title(f"{outcome.name} by institution")
    plt.tight_layout()
    return axes


def levels_by_year_plot(data, domains, *, year="year", title="", rules=None):
    """BrukerPlan-style levels (1 green … 5 red): the share at each level per domain, a panel
    per year, titled with ``title`` and the year's number of rows. Returns the Axes."""
    shares = level_shares(data, domains, by=year)
    years = sorted(shares[year].unique())
    axes = plt.subplots(1, len(years), figsize=(6.5 * len(years), 4), sharey=True,
                        squeeze=False)[1][0]
    for ax, value in zip(axes, years):
        level_shares_plot(data=shares[shares[year] == value], x="estimate", n="count", ax=ax,
                          rules=rules)
        ax.set_title(f"{title} {value} (n = {data[data[year] == value].shape[0]})")
    plt.tight_layout()
    return axes


def coverage_plot(data, *, x, ylabel="IP coverage", ax=None, rules=None):
    """The shares of a :func:`~evaluation.describe.shares.coverage` table per ``x`` group, with
    their Wilson CIs and n under each label; returns the Axes."""
    return estimate_plot(data=data, x=x, ylabel=ylabel, ax=ax, rules=rules)


def ors_trajectory_plot(study, source, *, exposure=None, max_session=15, ax=None, rules=None):
    """The mean ORS item (0–10) by session number and IP status (``exposure``), with 95 %
    confidence bands, for the first ``max_session`` sessions of ``source``; titled with the
    number of sessions and people. Returns the Axes."""
    fit = attach_person_columns(study, study.table(source), [exposure] if exposure else [])
    fit["ors_item_mean"] = fit[ORS_ITEMS].mean(axis=1)
    ax = trajectory_plot(data=fit, x="session", y="ors_item_mean", hue=exposure,
                         max_x=max_session, ax=ax, rules=rules)
    ax.set_title(f"{source}: {fit['session'].size} sessions of "
                 f"{fit[study.id_column].nunique()} people")
    return ax
