"""The latent population: institutions, persons, and who gets an IP.

Every source is drawn from this one population, so sources join on person and agree with one
another. The IP model follows source 001: more severe cases more often have an IP, and the two
centres of the initiative (source 000) make more IPs, so the crude IP contrast is confounded.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.synthetic.config import INSTITUTIONS, MUNICIPALITIES, SyntheticConfig

ROP_GROUPS = np.array(["substance_only", "rop", "mental_health_only"])
ROP_PROBS = np.array([0.42, 0.45, 0.13])
SIZE_IP_EFFECT = {"small": -0.45, "medium": 0.0, "large": 0.2}

# Coefficients of the IP (propensity) model, on the log-odds scale. Written to ground_truth.json.
IP_MODEL = {
    "intercept": -1.6,
    "severity_std": 0.85,      # per (severity - 5) / 2
    "rop": 0.4,
    "programme": 1.4,          # the two centres of the initiative
    "months_per_year": 0.3,    # per 12 months in service (linear, so a correct model exists)
    "municipality_size": SIZE_IP_EFFECT,
    "institution_sd": 0.3,
}


def make_institutions(cfg: SyntheticConfig, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for k in range(cfg.institutions):
        if k < len(INSTITUTIONS):
            name, code, kind, programme, municipality = INSTITUTIONS[k]
        else:  # beyond the catalogue: plainly numbered comparison institutions
            municipality = list(MUNICIPALITIES)[k % len(MUNICIPALITIES)]
            name, code, kind, programme = f"Institusjon {k + 1}", f"I{k + 1:02d}", "outpatient", False
        rows.append({"institution": name, "institution_code": code, "kind": kind,
                     "programme": programme, "municipality": municipality})
    inst = pd.DataFrame(rows)
    n = len(inst)
    # Unequal sizes, as in the field (a Dirichlet draw; no institution below half the mean).
    weights = rng.dirichlet(np.full(n, 4.0))
    weights = np.maximum(weights, 0.5 / n)
    inst["weight"] = weights / weights.sum()
    inst["ip_effect"] = rng.normal(0, IP_MODEL["institution_sd"], n)
    inst["goal_effect"] = rng.normal(0, 0.2, n)
    inst["chaos_effect"] = rng.normal(0, 0.15, n)
    inst["gas_effect"] = rng.normal(0, 0.1, n)
    # Staff culture: leadership drive and how IP is presented; higher at the programme centres.
    inst["culture"] = np.where(inst["programme"], 1.0, 0.0) + rng.normal(0, 0.4, n)
    return inst


def make_persons(cfg: SyntheticConfig, inst: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = cfg.persons
    k = rng.choice(len(inst), size=n, p=inst["weight"].to_numpy())
    # Every institution gets at least a handful of people, so no source is empty for it.
    k[: len(inst) * 5] = np.repeat(np.arange(len(inst)), 5)[:n]
    rng.shuffle(k)
    rop = rng.choice(ROP_GROUPS, size=n, p=ROP_PROBS)
    is_rop = (rop == "rop").astype(float)
    z = rng.normal(0, 1, n)
    severity = np.clip(np.round(5 + 1.6 * z + 0.6 * is_rop, 1), 0, 10)
    age = np.clip(np.round(rng.normal(40, 11, n)), 18, 79).astype(int)
    sex = np.where(rng.random(n) < 0.3, "female", "male")
    months = np.round(rng.gamma(2.0, 7.0, n)).astype(int)
    home = inst["municipality"].to_numpy()[k]
    others = np.array(list(MUNICIPALITIES))
    elsewhere = rng.random(n) < 0.4
    municipality = np.where(elsewhere, rng.choice(others, size=n), home)
    persons = pd.DataFrame({
        "person_id": [f"KR-{i:06d}" for i in rng.permutation(n) + 1],
        "institution": inst["institution"].to_numpy()[k],
        "age": age,
        "sex": sex,
        "rop_group": rop,
        "severity": severity,
        "months_in_service": months,
        "municipality": municipality,
        "municipality_size": [MUNICIPALITIES[m] for m in municipality],
        "_k": k,
    })
    persons["_s"] = (persons["severity"] - 5.0) / 2.0   # the severity every model uses
    persons["_rop"] = is_rop
    return persons


def assign_ip(persons: pd.DataFrame, inst: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """IP status from the propensity model in ``IP_MODEL`` (the truth for issue 5's models)."""
    m = IP_MODEL
    k = persons["_k"].to_numpy()
    lp = (m["intercept"] + m["severity_std"] * persons["_s"] + m["rop"] * persons["_rop"]
          + m["programme"] * inst["programme"].to_numpy()[k].astype(float)
          + m["months_per_year"] * persons["months_in_service"] / 12
          + persons["municipality_size"].map(m["municipality_size"]).to_numpy()
          + inst["ip_effect"].to_numpy()[k])
    persons = persons.copy()
    persons["_ps"] = expit(lp.to_numpy())
    persons["_ip"] = (rng.random(len(persons)) < persons["_ps"]).astype(int)
    return persons
