"""Feedback measures over time: FIT (ORS before and SRS after every session) and INSPIRE.

- :mod:`.change` — per episode: intake and last ORS, reliable and clinically significant
  change, Jacobson–Truax categories, dropout;
- :mod:`.alliance` — SRS alerts, alliance over time, early alliance and outcome;
- :mod:`.sessions` — the per-session frame of the models, and client samples;
- :mod:`.mixed` — the REML mixed-model fit the growth model and the expectation share;
- :mod:`.growth` — growth-curve mixed models of ORS over sessions, IP status × time;
- :mod:`.expected` — expected treatment response estimated from the local data, and alerts
  in the OpenFIT style (labelled locally derived);
- :mod:`.inspire` — INSPIRE Support, Relationship and Brief scores by group, reliability;
- :mod:`.ip_contrasts` — contrasts by IP status through the headline analysis's adjustment code;
- :mod:`.problems` — bad FIT input (order, dates, totals without items), reported by row;
- :mod:`.sources` — a study's FIT tables and the IP label joined to them;
- :mod:`.summaries` — alert shares, rows left out, tables written;
- :mod:`.plots` — trajectories, expected-response bands, waterfall, category bars.

Estimates and measures come back as tables of the result contract (:mod:`evaluation.estimates`).
"""
from evaluation.feedback.alliance import alliance_flags, alliance_over_time, early_alliance_and_outcome
from evaluation.feedback.change import (ALL_CATEGORIES, CATEGORIES, category_shares, episode_change,
                                        reliable_change_index, rule_text)
from evaluation.feedback.expected import ExpectedResponse, alerts
from evaluation.feedback.growth import GrowthModel, growth_model
from evaluation.feedback.inspire import (difference_by_group, first_year_scores, has_inspire,
                                         inspire_reliability, inspire_scores, score_means)
from evaluation.feedback.ip_contrasts import (INSPIRE_SHOWN_COLUMNS, SHOWN_COLUMNS, compare_by_ip,
                                              first_episode_outcomes, first_per_person,
                                              shown_contrasts)
from evaluation.feedback.plots import (alliance_plot, category_plot, change_figure, contrasts_plot,
                                       expected_response_plot, trajectories_plot, waterfall_plot)
from evaluation.feedback.problems import problem_summary, session_problems
from evaluation.feedback.sessions import sample_clients, session_frame
from evaluation.feedback.sources import UNKNOWN_IP, FitTables, fit_tables, ip_label, join_ip
from evaluation.feedback.summaries import alert_shares, left_out_table, write_tables

__all__ = [
    "episode_change", "category_shares", "reliable_change_index", "rule_text", "CATEGORIES",
    "ALL_CATEGORIES", "alliance_flags", "alliance_over_time", "early_alliance_and_outcome",
    "session_frame", "sample_clients", "GrowthModel", "growth_model", "ExpectedResponse",
    "alerts", "inspire_scores", "has_inspire", "score_means", "difference_by_group",
    "inspire_reliability", "first_year_scores", "compare_by_ip", "first_per_person",
    "first_episode_outcomes", "shown_contrasts", "SHOWN_COLUMNS", "INSPIRE_SHOWN_COLUMNS",
    "session_problems", "problem_summary", "FitTables", "fit_tables", "ip_label", "join_ip",
    "UNKNOWN_IP", "alert_shares", "left_out_table", "write_tables", "category_plot",
    "waterfall_plot", "change_figure", "contrasts_plot", "trajectories_plot",
    "expected_response_plot", "alliance_plot",
]
