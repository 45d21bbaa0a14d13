"""Feedback measures over time: FIT (ORS before and SRS after every session) and INSPIRE.

- :mod:`.change` — per episode: intake and last ORS, reliable and clinically significant
  change, Jacobson–Truax categories, dropout;
- :mod:`.alliance` — SRS alerts, alliance over time, early alliance and outcome;
- :mod:`.expected` — expected treatment response estimated from the local data, and alerts
  in the OpenFIT style (labelled locally derived);
- :mod:`.growth` — growth-curve mixed models of ORS over sessions, IP status × time;
- :mod:`.inspire` — INSPIRE Support, Relationship and Brief scores by group, reliability;
- :mod:`.compare` — contrasts by IP status through the headline analysis's adjustment code;
- :mod:`.problems` — bad FIT input (order, dates, totals without items), reported by row;
- :mod:`.plots` — trajectories, expected-response bands, waterfall, category bars.
"""
