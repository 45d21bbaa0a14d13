"""Potential outcomes under no IP and under IP, drawn with common random numbers.

Both potential outcomes of a person share every random draw but the IP term, so the individual
effect Y(1) − Y(0) is known for everyone and the sample ATE and ATT are exact. Severity worsens
every outcome and raises the chance of an IP (population.py): the crude contrast is biased
towards "IP does not help".
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from evaluation.synthetic.config import SyntheticConfig

CHAOS_ITEMS = 6
CHAOS_REVERSED = (1, 3)   # "my life is organised", "my routine is the same" — agreeing = less chaos
GAS_RHO = 0.3             # Kiresuk & Sherman's conventional inter-goal correlation

GOAL_MODEL = {"intercept": 0.5, "severity_std": -0.75, "rop": -0.25, "female": 0.15,
              "age_per_10y": -0.1, "institution_sd": 0.2}


def gas_tscore(items: np.ndarray) -> np.ndarray:
    """Kiresuk–Sherman T-score, unweighted, rho = 0.3; missing goals (NaN) are left out.

    T = 50 + 10 Σx / sqrt((1 − ρ) n + ρ n²). Checked by hand: goals (+1, 0, −1) → 50.0;
    (+2, +2) → 50 + 40 / sqrt(0.7·2 + 0.3·4) = 74.81.
    """
    n = np.sum(~np.isnan(items), axis=1)
    total = np.nansum(items, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = 50 + 10 * total / np.sqrt((1 - GAS_RHO) * n + GAS_RHO * n ** 2)
    return np.where(n > 0, t, np.nan)


def _summary(effect: np.ndarray, ip: np.ndarray, observed: np.ndarray) -> dict:
    return {
        "ate": float(np.mean(effect)),
        "att": float(np.mean(effect[ip == 1])),
        "atc": float(np.mean(effect[ip == 0])),
        "crude": float(np.nanmean(observed[ip == 1]) - np.nanmean(observed[ip == 0])),
    }


def goal_retention(cfg: SyntheticConfig, persons: pd.DataFrame, inst: pd.DataFrame,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
    """Binary: holds on to own goals at follow-up. Logistic model with a constant log-odds
    effect chosen so that the sample ATE on the risk-difference scale equals ``effect_goal``."""
    m = GOAL_MODEL
    k = persons["_k"].to_numpy()
    lp0 = (m["intercept"] + m["severity_std"] * persons["_s"].to_numpy()
           + m["rop"] * persons["_rop"].to_numpy()
           + m["female"] * (persons["sex"].to_numpy() == "female")
           + m["age_per_10y"] * (persons["age"].to_numpy() - 40) / 10
           + inst["goal_effect"].to_numpy()[k])
    target = cfg.effect_goal
    f = lambda b: float(np.mean(expit(lp0 + b) - expit(lp0))) - target  # noqa: E731
    beta = 0.0 if target == 0 else brentq(f, -15, 15, xtol=1e-12)
    p0, p1 = expit(lp0), expit(lp0 + beta)
    u = rng.random(len(persons))
    y0, y1 = (u < p0).astype(int), (u < p1).astype(int)
    ip = persons["_ip"].to_numpy()
    y = np.where(ip == 1, y1, y0)
    truth = _summary(p1 - p0, ip, y)
    truth.update({"scale": "risk difference", "parameter": target,
                  "conditional_log_odds_ratio": float(beta),
                  "conditional_odds_ratio": float(np.exp(beta)),
                  "ate_realised": float(np.mean(y1 - y0)),
                  "model": {**m, "ip_log_odds": float(beta)}})
    return y, p1 - p0, truth


def daily_chaos(cfg: SyntheticConfig, persons: pd.DataFrame, inst: pd.DataFrame,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Six Life-Chaos-style items (1–5, higher = more chaos before reverse keying).

    Returns the stored items (items in ``CHAOS_REVERSED`` stored reversed, 6 − x, as a
    questionnaire would record agreement with a positively worded statement), the observed
    score (mean of the six items in the 'more chaos' direction) and the truth.
    """
    n = len(persons)
    k = persons["_k"].to_numpy()
    latent = (0.45 * persons["_s"].to_numpy() + 0.2 * persons["_rop"].to_numpy()
              - 0.1 * (persons["months_in_service"].to_numpy() >= 12)
              + inst["chaos_effect"].to_numpy()[k] + rng.normal(0, 0.5, n))
    noise = rng.normal(0, 0.7, (n, CHAOS_ITEMS))

    def items(ip_value):
        x = 3 + latent[:, None] + cfg.effect_chaos * ip_value + noise
        return np.clip(np.round(x), 1, 5)

    x0, x1 = items(0.0), items(1.0)
    ip = persons["_ip"].to_numpy()
    x = np.where(ip[:, None] == 1, x1, x0)
    score0, score1, score = x0.mean(axis=1), x1.mean(axis=1), x.mean(axis=1)
    stored = x.copy()
    for j in CHAOS_REVERSED:
        stored[:, j - 1] = 6 - stored[:, j - 1]
    truth = _summary(score1 - score0, ip, score)
    truth.update({"scale": "mean difference (daily_chaos, 1–5, higher = more chaos)",
                  "parameter": cfg.effect_chaos,
                  "score_rule": "mean of chaos_1..chaos_6 after reversing chaos_1 and chaos_3 "
                                "(6 − x); higher = more chaos",
                  "reversed_items": [f"chaos_{j}" for j in CHAOS_REVERSED]})
    return stored, score, score1 - score0, truth


def goal_attainment(cfg: SyntheticConfig, persons: pd.DataFrame, inst: pd.DataFrame,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """GAS ratings (−2…+2) for two or three goals and the Kiresuk–Sherman T-score."""
    n = len(persons)
    k = persons["_k"].to_numpy()
    latent = (0.1 - 0.35 * persons["_s"].to_numpy() + inst["gas_effect"].to_numpy()[k]
              + rng.normal(0, 0.5, n))
    noise = rng.normal(0, 0.6, (n, 3))
    two_goals = rng.random(n) < 0.3

    def ratings(ip_value):
        g = np.clip(np.round(latent[:, None] + cfg.effect_gas * ip_value + noise), -2, 2)
        g[two_goals, 2] = np.nan
        return g

    g0, g1 = ratings(0.0), ratings(1.0)
    ip = persons["_ip"].to_numpy()
    g = np.where(ip[:, None] == 1, g1, g0)
    t0, t1, t = gas_tscore(g0), gas_tscore(g1), gas_tscore(g)
    truth = _summary(t1 - t0, ip, t)
    truth.update({"scale": "mean difference (GAS T-score)", "parameter": cfg.effect_gas,
                  "score_rule": "Kiresuk–Sherman T, unweighted, rho = 0.3, over gas_1..gas_3"})
    return g, t, t1 - t0, truth
