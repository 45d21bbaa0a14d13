"""Programme and institution comparison: did an initiative change things, and how do the
institutions compare?

- :mod:`.panel` — the analysis panel of an initiative: treated units, periods, starts, checks,
  and the wild cluster bootstrap; :mod:`.study_panel` — a study's programme as such a panel;
- :mod:`.did` — difference-in-differences with unit and period fixed effects, cluster-robust
  and wild-cluster-bootstrap inference (valid with few clusters), and the 2×2 of means;
- :mod:`.event_study` — a coefficient per period around the start and the pre-trend test;
  :mod:`.regression` holds the fits both share;
- :mod:`.staggered` — staggered adoption: group-time effects (Callaway & Sant'Anna style);
  :mod:`.staggered_regressions` — the two-stage DiD and the naive two-way fixed effects;
- :mod:`.brukerplan` / :mod:`.brukerplan_groups` — BrukerPlan one year against another, the
  critical group, IP and crisis-plan coverage by functional level and ROP group;
- :mod:`.institutions` — funnel plots with control limits, shrunken institution effects;
- :mod:`.meta_analysis` — random-effects meta-analysis, also of a batch's per-institution
  estimates (given as the batch's tables);
- :mod:`.plots` — funnel, caterpillar, level shares by year, forest and trend figures;
- :mod:`.summaries` — what the comparison notebook shows besides those tables.
"""
from evaluation.comparison.brukerplan import (domain_columns, level_shares_by_year,
                                              ordinal_year_model, year_difference)
from evaluation.comparison.brukerplan_groups import critical_group, functional_level, plan_coverage
from evaluation.comparison.did import did, did_means
from evaluation.comparison.event_study import event_study, event_study_plot
from evaluation.comparison.institutions import binomial_limits, funnel_data, shrunken_effects
from evaluation.comparison.meta_analysis import (MetaResult, batch_records, meta_analysis,
                                                 pool_batch, reml_tau2)
from evaluation.comparison.panel import programme_panel, wild_cluster_bootstrap
from evaluation.comparison.plots import (caterpillar_plot, funnel_plot, institutions_figure,
                                         level_shares_by_year_plot, meta_forest_plot,
                                         pooled_forest_plots, programme_trends_plot)
from evaluation.comparison.staggered import group_time_att, staggered_att
from evaluation.comparison.staggered_regressions import (compare_staggered, naive_twfe,
                                                         two_stage_did)
from evaluation.comparison.study_panel import study_programme_panel
from evaluation.comparison.summaries import (brukerplan_models, design_summary,
                                             institution_tables, labelled_coverage, panel_rows,
                                             pretrend_text, programme_design)

__all__ = [
    "MetaResult", "batch_records", "binomial_limits", "brukerplan_models", "caterpillar_plot",
    "compare_staggered", "critical_group", "design_summary", "did", "did_means",
    "domain_columns", "event_study", "event_study_plot", "functional_level", "funnel_data",
    "funnel_plot", "group_time_att", "institution_tables", "institutions_figure",
    "labelled_coverage", "level_shares_by_year", "level_shares_by_year_plot", "meta_analysis",
    "meta_forest_plot", "naive_twfe", "ordinal_year_model", "panel_rows", "plan_coverage",
    "pool_batch", "pooled_forest_plots", "pretrend_text", "programme_design",
    "programme_panel", "programme_trends_plot", "reml_tau2", "shrunken_effects",
    "staggered_att", "study_programme_panel", "two_stage_did", "wild_cluster_bootstrap",
    "year_difference",
]
