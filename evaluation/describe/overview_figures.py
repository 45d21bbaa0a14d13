"""The figures of the study overview that need more than one Axes or a size of their own.

Each returns its Axes, drawn with the shared figures of :mod:`evaluation.disclosure.figures`:
a figure of a table takes the table as the report shows it (``sdc.show``'s SafeTable, or a
DataFrame protected with the same rules) and draws only its shown cells; a number written in
a title is a count, and is written as the table's mark when it is small.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from evaluation.describe.overview import attach_person_columns, severity_band
from evaluation.describe.shares import coverage, level_shares
from evaluation.disclosure.figure_provenance import composed_figure
from evaluation.disclosure.figures import (estimate_plot, level_shares_plot, missingness_plot,
                                           trajectory_plot)
from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.safe_table import SafeTable

ORS_ITEMS = [f"ors_{i}" for i in range(1, 5)]


def count_text(count: int, rules: DisclosureRules) -> str:
    """A count as a title writes it: the marker when it is small."""
    return rules.suppressed_text if rules.small_count([count])[0] else str(int(count))


def _rules(rules, sdc) -> DisclosureRules:
    return rules if rules is not None else getattr(sdc, "rules", None) or DisclosureRules()


def missing_answers_plot(data, *, rules=None, sdc=None, ax=None):
    """Bars of the share missing per variable (a table of ``missingness`` rows, as shown), one
    bar per variable the table shows; returns the Axes."""
    if ax is None:
        rows = len(data.values) if isinstance(data, SafeTable) else len(data)
        ax = plt.subplots(figsize=(8, 0.3 * rows + 1))[1]
    return missingness_plot(data=data, rules=rules, sdc=sdc, ax=ax,
                            name="share missing per variable")


def key_measures_plot(data, *, exposure=None, outcome=None, by="institution", rules=None,
                      sdc=None):
    """Two panels: IP coverage (``exposure``) by severity band, and the share of the binary
    ``outcome`` per ``by`` group, each with Wilson CIs, from the person table ``data``, each
    table protected by the rules before it is drawn. (A histogram of severity by IP status
    is not drawn: its bins add up to the cells of the coverage table, hidden ones too.) A
    panel whose columns are missing is left empty. Returns the two Axes."""
    axes = plt.subplots(1, 2, figsize=(13, 4))[1]
    with composed_figure(axes[0], "key measures", sdc=sdc):
        if "severity" in data.columns and exposure:
            bands = data.assign(severity_band=severity_band(data["severity"]))
            estimate_plot(data=coverage(bands, exposure, by="severity_band"), x="severity_band",
                          ax=axes[0], rules=rules, sdc=sdc, ylabel="IP coverage",
                          name="IP coverage by severity band")
            axes[0].set_title("IP coverage by severity band")
        if outcome is not None:
            by_group = coverage(data, outcome.variable, by=by)
            estimate_plot(data=by_group, x=by, ax=axes[1], rules=rules, sdc=sdc,
                          ylabel=f"share {outcome.name}", name=f"{outcome.name} by {by}")
            axes[1].set_title(f"{outcome.name} by institution")
    plt.tight_layout()
    return axes


def levels_by_year_plot(data, domains, *, year="year", title="", rules=None, sdc=None):
    """BrukerPlan-style levels (1 green … 5 red): the share at each level per domain, a panel
    per year, titled with ``title`` and the year's number of rows. Levels of too few people
    are drawn together in grey. Returns the Axes."""
    rules = _rules(rules, sdc)
    shares = level_shares(data, domains, by=year)
    years = sorted(shares[year].unique())
    axes = plt.subplots(1, len(years), figsize=(6.5 * len(years), 4), sharey=True,
                        squeeze=False)[1][0]
    with composed_figure(axes[0], f"{title} levels by year".strip(), sdc=sdc):
        for ax, value in zip(axes, years):
            level_shares_plot(data=shares[shares[year] == value], x="estimate", n="count", ax=ax,
                              rules=rules, sdc=sdc, name=f"{title} levels {value}".strip())
            rows = data[data[year] == value].shape[0]
            ax.set_title(f"{title} {value} (n = {count_text(rows, rules)})")
    plt.tight_layout()
    return axes


def coverage_plot(data, *, x, ylabel="IP coverage", ax=None, rules=None, sdc=None):
    """The shares of a :func:`~evaluation.describe.shares.coverage` table, as the report shows
    it, per ``x`` group, with their Wilson CIs and n under each label (a row the table hides is
    labelled with its mark, not drawn); returns the Axes."""
    return estimate_plot(data=data, x=x, ylabel=ylabel, ax=ax, rules=rules, sdc=sdc,
                         name=f"{ylabel} by {x}")


def ors_trajectory_plot(study, source, *, exposure=None, max_session=15, ax=None, rules=None,
                        sdc=None):
    """The mean ORS item (0–10) by session number and IP status (``exposure``), with 95 %
    confidence bands, for the first ``max_session`` sessions of ``source``; titled with the
    number of sessions and people. A point resting on fewer than min_cell people is not drawn.
    Returns the Axes."""
    rules = _rules(rules, sdc)
    fit = attach_person_columns(study, study.table(source), [exposure] if exposure else [])
    fit["ors_item_mean"] = fit[ORS_ITEMS].mean(axis=1)
    ax = trajectory_plot(data=fit, x="session", y="ors_item_mean", hue=exposure,
                         max_x=max_session, unit=study.id_column, ax=ax, rules=rules, sdc=sdc,
                         name=f"{source}: mean ORS item by session")
    ax.set_title(f"{source}: {count_text(fit['session'].size, rules)} sessions of "
                 f"{count_text(fit[study.id_column].nunique(), rules)} people")
    return ax
