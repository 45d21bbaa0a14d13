"""Programme and institution comparison: did an initiative change things, and how do the
institutions compare?

- :mod:`.panel` — the analysis panel of an initiative: treated units, periods, starts, checks;
- :mod:`.did` — difference-in-differences with unit and period fixed effects, cluster-robust
  and wild-cluster-bootstrap inference (valid with few clusters), event studies;
- :mod:`.staggered` — staggered adoption: group-time effects (Callaway & Sant'Anna style),
  not a naive two-way fixed-effects regression;
- :mod:`.brukerplan` / :mod:`.brukerplan_groups` — BrukerPlan one year against another, the
  critical group, IP and crisis-plan coverage by functional level and ROP group;
- :mod:`.institutions` — funnel plots with control limits, shrunken institution effects;
- :mod:`.pooling` — random-effects meta-analysis of a batch's per-institution estimates;
- :mod:`.plots` — funnel, caterpillar, level shares by year, meta-analysis forest plot.
"""
