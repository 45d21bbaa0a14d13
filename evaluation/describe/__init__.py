"""A first look at a study: what was read, how complete, shares with their Wilson intervals,
reliability of the instruments and the answers to questionnaires.

>>> from evaluation import describe
>>> describe.coverage(study.person_table(), "has_ip", by="institution")   # doctest: +SKIP
"""
from evaluation.describe.overview import (
    attach_person_columns, binary_outcomes, counts_by_institution_year, exposure_column,
    instrument_reliability, instrument_tables, likert_items, missingness, quarantine_reasons,
    score_summary, severity_band, sources_with_instrument, study_heading, study_missingness,
    write_tables, year_of)
from evaluation.describe.overview_figures import (coverage_plot, key_measures_plot, levels_by_year_plot,
                                                 missing_answers_plot, ors_trajectory_plot)
from evaluation.describe.questionnaires import item_distribution, likert_plot
from evaluation.describe.shares import coverage, item_summary, level_shares, proportion_ci

__all__ = [
    "attach_person_columns", "binary_outcomes", "counts_by_institution_year", "coverage",
    "coverage_plot",
    "exposure_column", "instrument_reliability", "instrument_tables", "item_distribution",
    "item_summary", "key_measures_plot", "level_shares", "levels_by_year_plot", "likert_items",
    "likert_plot", "missing_answers_plot", "missingness", "ors_trajectory_plot", "proportion_ci", "quarantine_reasons",
    "score_summary", "severity_band", "sources_with_instrument", "study_heading",
    "study_missingness", "write_tables", "year_of",
]
