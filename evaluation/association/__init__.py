"""IP and outcomes: crude, adjusted, propensity weighting, doubly robust, mixed models.

Every estimator returns an estimate table of the result contract (:mod:`evaluation.estimates`).

- :mod:`.analysis` — every method for every outcome of a study (``evaluate``), as the notebook,
  ``ipeval estimate`` and batches call it; :mod:`.frame` builds the analysis frame;
- :mod:`.estimators` — ``crude`` and ``adjusted``; :mod:`.weighted_estimators` — ``ipw`` and
  ``aipw``; :mod:`.mixed` — ``mixed_model``; :mod:`.imputation` — ``mice_estimate`` and
  :mod:`.rubins_rules`; :mod:`.bootstrap` — ``with_bootstrap``;
- :mod:`.propensity`, :mod:`.balancing_weights`, :mod:`.balance` — who gets an IP, the weights,
  covariate balance and Table 1;
- :mod:`.evalues`, :mod:`.multiplicity` — E-values and p-values corrected across outcomes;
- :mod:`.headline`, :mod:`.headline_figures` — the headline report's text, tables and figures.
"""
from evaluation.association.analysis import (COLUMNS, ESTIMANDS, METHODS, add_e_values, adjustment_set,
                                             estimate_effects, evaluate, evaluate_frames)
from evaluation.association.balance import balance, love_plot, overlap_plot, table_one, weight_plot
from evaluation.association.balancing_weights import WeightResult, balancing_weights, positivity
from evaluation.association.bootstrap import with_bootstrap
from evaluation.association.complete_cases import complete_cases
from evaluation.association.estimators import adjusted, crude
from evaluation.association.evalues import e_value
from evaluation.association.frame import AnalysisFrame, analysis_frame, outcome_frame
from evaluation.association.headline import (TABLE_ONE_COUNTS, by_scale, correction_sentence,
                                             coverage_groups, coverage_tables,
                                             estimates_shown, intro, null_value, propensity_or_reason,
                                             scales_of, table_one_shown, weight_frame, with_bands,
                                             balance_shown)
from evaluation.association.headline_figures import (balance_figure, coverage_figure, forest_figure,
                                                     weights_figure)
from evaluation.association.imputation import mice_by_outcome, mice_estimate
from evaluation.association.mixed import mixed_model
from evaluation.association.multiplicity import adjust_pvalues
from evaluation.association.propensity import PropensityModel, propensity_model
from evaluation.association.result_table import (RESULT_COLUMNS, effect_row, effect_table,
                                                 normal_interval_and_p, percentile_limits,
                                                 t_interval_and_p)
from evaluation.association.rubins_rules import rubin_pool
from evaluation.association.weighted_estimators import aipw, ipw, multiplier_bootstrap_ci

__all__ = [
    # every method for every outcome
    "COLUMNS", "ESTIMANDS", "METHODS", "AnalysisFrame", "add_e_values", "adjustment_set",
    "analysis_frame", "estimate_effects", "evaluate", "evaluate_frames", "outcome_frame",
    # the estimators
    "adjusted", "aipw", "crude", "ipw", "mixed_model", "mice_estimate", "mice_by_outcome",
    "rubin_pool", "complete_cases", "with_bootstrap", "multiplier_bootstrap_ci",
    "e_value", "adjust_pvalues",
    # their rows and intervals
    "RESULT_COLUMNS", "effect_row", "effect_table", "normal_interval_and_p", "t_interval_and_p",
    "percentile_limits",
    # propensity, weights, balance
    "PropensityModel", "WeightResult", "balance", "balancing_weights", "love_plot",
    "overlap_plot", "positivity", "propensity_model", "table_one", "weight_plot",
    # the headline report
    "TABLE_ONE_COUNTS", "by_scale", "correction_sentence", "coverage_figure", "coverage_groups",
    "coverage_tables", "estimates_shown", "forest_figure", "intro",
    "null_value", "propensity_or_reason", "scales_of", "table_one_shown", "balance_shown", "weight_frame",
    "balance_figure", "weights_figure", "with_bands",
]
