"""BrukerPlan-style yearly mapping: eight functional domains scored 1–5 by staff.

1 = green (good), 2–4 = yellow, 5 = red (very poor), as source 003 reports; the ROP group is
worst off on every domain, and function improves a little from one year to the next (Bergen had
fewer people with very poor function in 2017 than in 2015). Many of the worst off have neither an
IP nor a crisis plan.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.synthetic.config import SyntheticConfig

DOMAINS = {  # domain: shift of its latent level (activity is worst: 38 % red nationally in 2015)
    "bp_substance_use": 0.3, "bp_economy": 0.2, "bp_mental_health": 0.1,
    "bp_physical_health": -0.2, "bp_housing": -0.1, "bp_social": 0.0,
    "bp_network": 0.1, "bp_activity": 0.6,
}
YEAR_IMPROVEMENT = 0.2   # latent points of improvement per later mapping year


def mapping(cfg: SyntheticConfig, persons: pd.DataFrame, rng: np.random.Generator):
    n = len(persons)
    s = persons["_s"].to_numpy()
    rop = persons["_rop"].to_numpy()
    mental_only = (persons["rop_group"].to_numpy() == "mental_health_only").astype(float)
    person_level = rng.normal(0, 0.4, n)
    ip_now = persons["_ip"].to_numpy()
    frames = []
    for y, year in enumerate(cfg.years):
        mapped = np.flatnonzero(rng.random(n) < 0.85)
        df = pd.DataFrame({"person_id": persons["person_id"].to_numpy()[mapped], "year": year,
                           "municipality": persons["municipality"].to_numpy()[mapped],
                           "rop_group": persons["rop_group"].to_numpy()[mapped]})
        base = (2.7 + 0.7 * s + 0.3 * rop + person_level - YEAR_IMPROVEMENT * y)[mapped]
        for domain, shift in DOMAINS.items():
            extra = np.where(mental_only[mapped] == 1, -0.5 if domain == "bp_substance_use" else 0.0,
                             0.0)
            level = base + shift + extra + rng.normal(0, 0.7, len(mapped))
            df[domain] = np.clip(np.round(level), 1, 5).astype(int)
        last_year = y == len(cfg.years) - 1
        # Earlier years: some of today's IPs were not yet made.
        has_ip = ip_now[mapped] * (1 if last_year else (rng.random(len(mapped)) < 0.65))
        df["has_ip"] = has_ip.astype(int)
        crisis_p = expit(-1.6 + 1.6 * has_ip + 0.3 * s[mapped])
        df["has_crisis_plan"] = (rng.random(len(mapped)) < crisis_p).astype(int)
        frames.append(df)
    truth = {"domains": list(DOMAINS), "domain_shift": DOMAINS,
             "year_improvement_latent": YEAR_IMPROVEMENT,
             "levels": "1 green, 2-4 yellow, 5 red",
             "crisis_plan_model": "logit P = -1.6 + 1.6*has_ip + 0.3*severity_std"}
    return pd.concat(frames, ignore_index=True), truth
