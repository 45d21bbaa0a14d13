"""What the programme-comparison notebook shows besides the estimators' tables: the design (or
why it cannot be estimated), the rows of the panel, the pre-trend test in words, the BrukerPlan
models per domain, plan coverage with labelled levels, and the institution tables of a study.

Functions return frames or text; the notebook displays them.
"""
from __future__ import annotations

import pandas as pd

from evaluation.comparison.brukerplan import domain_columns, ordinal_year_model
from evaluation.comparison.brukerplan_groups import plan_coverage
from evaluation.comparison.institutions import funnel_data, shrunken_effects
from evaluation.comparison.study_panel import study_programme_panel
from evaluation.errors import ParameterError
from evaluation.estimates import with_counts


def programme_design(study, **options) -> tuple[pd.DataFrame | None, str]:
    """``(design, "")`` from :func:`~evaluation.comparison.study_panel.study_programme_panel`
    (``options`` passed on), or ``(None, reason)`` when the design cannot be estimated as
    given (no pre-period, a single comparison, an unknown programme …)."""
    try:
        return study_programme_panel(study, **options), ""
    except ParameterError as exc:
        return None, str(exc)


def design_summary(design: pd.DataFrame, programme: str, outcome: str) -> str:
    """One Markdown paragraph: the programme, outcome, units, treated and comparison units."""
    a = design.attrs
    return (f"Programme **{programme}**, outcome **{outcome}**, units: **{a['unit']}**. Treated: "
            f"{', '.join(map(str, a['treated_units']))}; comparisons: "
            f"{', '.join(map(str, a['comparison_units']))}. {a.get('note') or ''}")


def panel_rows(design: pd.DataFrame) -> pd.DataFrame:
    """The rows of the panel used and those left out, by reason (``reason``, ``rows``)."""
    left_out = design.attrs["left_out"]
    return with_counts(pd.DataFrame({"reason": ["used", *left_out],
                                     "rows": [design.attrs["rows_used"], *left_out.values()]}), "rows")


def pretrend_text(events: pd.DataFrame) -> str | None:
    """The joint pre-trend test of an event study (``attrs['pretrend']``) in words, or None."""
    pre = events.attrs.get("pretrend")
    if not pre:
        return None
    return (f"Joint test that every period before the start is 0 (parallel pre-trends): "
            f"F({pre['df1']}, {pre['df2']}) = {pre['statistic']:.2f}, p = {pre['p_value']:.3f}. "
            "A small p-value says the groups were already moving apart; a large one does not "
            f"prove they moved together. {pre.get('note') or ''}")


def brukerplan_models(mapping: pd.DataFrame) -> pd.DataFrame:
    """:func:`~evaluation.comparison.brukerplan.ordinal_year_model` for every domain, stacked."""
    return pd.concat([ordinal_year_model(mapping, domain=d) for d in domain_columns()],
                     ignore_index=True)


def labelled_coverage(mapping: pd.DataFrame) -> pd.DataFrame:
    """:func:`~evaluation.comparison.brukerplan_groups.plan_coverage` with the functional level
    as a label ("level 3"), so that it is shown as a group, not as a number."""
    coverage = plan_coverage(mapping)
    coverage["functional_level"] = "level " + coverage["functional_level"].astype(str)
    return coverage


def institution_tables(study):
    """``(points, limits, effects, variable)``: the IP-coverage funnel of the study's
    institutions and the shrunken institution effects on its first outcome's variable."""
    people = study.person_table()
    exposure = study.manifest.exposure["column"]
    points, limits = funnel_data(people.dropna(subset=[exposure]), unit=study.institution_column,
                                 outcome=exposure)
    variable = next(iter(study.manifest.outcomes.values())).variable
    effects = shrunken_effects(people.dropna(subset=[variable]), outcome=variable,
                               unit=study.institution_column)
    return points, limits, effects, variable
