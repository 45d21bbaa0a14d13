"""Programme data: when the IP initiative and the FIT rollout started, and the routine survey
waves that show whether anything changed (issue 9, difference-in-differences).

Two sources:

* ``programme_starts`` -- a row per programme and unit that took it up: the IP initiative at the
  institutions flagged ``programme`` (institution-wide, so ``department`` is empty) and the FIT
  rollout in three of seven departments of one comparison institution (source 004 introduced FIT
  in 3 of 7 departments), at three different dates (staggered adoption).
* ``routine_waves`` -- repeated cross-sections: every half-year, 12--20 anonymous respondents per
  department answer two questions (goal retention, 0/1; daily chaos, 1--5).

Outcomes: institution and department effects plus a period trend common to everyone, so parallel
trends hold. The IP initiative adds a constant risk difference to goal retention; FIT lowers daily
chaos by an amount that grows with time since adoption, the case where a two-way fixed-effects
regression is biased under staggered adoption. Both potential outcomes of every respondent share
every random draw (common random numbers), so the sample ATTs in the truth are exact.

The data come from their own random stream, ``default_rng([seed, 9])``, drawn after everything
else, so adding them left every other source of a seed byte-identical.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.synthetic.config import SyntheticConfig

PERIODS = pd.date_range("2021-01-01", periods=10, freq="6MS")   # 2021-01-01 ... 2025-07-01
IP_PROGRAMME = "ip_initiative"
IP_START = pd.Timestamp("2023-01-01")
FIT_PROGRAMME = "fit_rollout"
FIT_DEPARTMENTS = 7
FIT_STARTS = (pd.Timestamp("2022-01-01"), pd.Timestamp("2023-07-01"), pd.Timestamp("2024-07-01"))
RESPONDENTS = (12, 20)          # per department and half-year, inclusive

# Goal retention is drawn on the probability scale (a linear probability model), so that the
# programme's risk difference is the same for everyone and parallel trends hold on that scale.
# The bounds keep p0 within [0.35, 0.74], so p0 + effect stays inside (0, 1) for |effect| <= 0.25.
GOAL_MODEL = {"base": 0.50, "institution_halfwidth": 0.08, "department_halfwidth": 0.05,
              "trend_per_period": 0.01, "period_halfwidth": 0.02}
CHAOS_MODEL = {"base": 2.9, "institution_sd": 0.15, "department_sd": 0.12,
               "trend_per_period": -0.02, "period_sd": 0.04, "person_sd": 0.5}


def programme_sources(cfg: SyntheticConfig, institutions: pd.DataFrame) -> tuple[dict, dict]:
    """Returns ``({"programme_starts": df, "routine_waves": df}, truth)``.

    ``institutions`` has a row per institution with ``institution``, ``institution_code``,
    ``programme`` (bool) and ``persons`` (the largest comparison institution hosts the FIT
    rollout). ``truth`` has the keys ``programme_ip`` and ``fit_rollout``.
    """
    resp, design = respondents(cfg, institutions)
    waves = resp[["response_id", "institution", "department", "period", "goal_retention",
                  "daily_chaos"]].copy()
    waves["period"] = waves["period"].dt.strftime("%Y-%m-%d")
    starts = [(IP_PROGRAMME, name, "", IP_START) for name in design["programme"]]
    starts += [(FIT_PROGRAMME, design["fit_institution"], d, s)
               for d, s in design["fit_starts"].items()]
    starts = pd.DataFrame(starts, columns=["programme", "institution", "department", "start_date"])
    starts["start_date"] = pd.to_datetime(starts["start_date"]).dt.strftime("%Y-%m-%d")
    truth = {"programme_ip": _ip_truth(cfg, resp, design), "fit_rollout": _fit_truth(cfg, resp, design)}
    return {"programme_starts": starts, "routine_waves": waves}, truth


def respondents(cfg: SyntheticConfig, institutions: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Every respondent of the routine waves with both potential outcomes of each outcome.

    Returns the rows of ``routine_waves`` (``period`` as timestamps) plus ``goal_retention_0``,
    ``goal_retention_1``, ``daily_chaos_0``, ``daily_chaos_1``, ``p0``, ``p1``, ``ip_treated``,
    ``fit_treated`` and ``event_time`` (half-years since the department's FIT start; missing
    where FIT never started), and the design: ``programme`` and ``comparison`` institutions,
    ``fit_institution`` and ``fit_starts`` {department: start}.
    """
    rng = np.random.default_rng([cfg.seed, 9])
    inst = institutions.reset_index(drop=True)
    n_inst = len(inst)
    programme = inst["programme"].to_numpy(bool)
    comparison = np.flatnonzero(~programme)
    fit_k = (int(comparison[np.argmax(inst["persons"].to_numpy()[comparison])])
             if len(comparison) else None)
    n_dept = rng.integers(2, 5, n_inst)
    if fit_k is not None:
        n_dept[fit_k] = FIT_DEPARTMENTS
    dept_k = np.repeat(np.arange(n_inst), n_dept)
    dept_name = np.array([f"{inst.at[k, 'institution_code']} avd {j + 1}"
                          for k in range(n_inst) for j in range(n_dept[k])])
    g, c = GOAL_MODEL, CHAOS_MODEL
    goal_inst = rng.uniform(-g["institution_halfwidth"], g["institution_halfwidth"], n_inst)
    chaos_inst = rng.normal(0, c["institution_sd"], n_inst)
    goal_dept = rng.uniform(-g["department_halfwidth"], g["department_halfwidth"], len(dept_k))
    chaos_dept = rng.normal(0, c["department_sd"], len(dept_k))
    t = np.arange(len(PERIODS))
    goal_period = (g["trend_per_period"] * t
                   + rng.uniform(-g["period_halfwidth"], g["period_halfwidth"], len(t)))
    chaos_period = c["trend_per_period"] * t + rng.normal(0, c["period_sd"], len(t))
    start_pos = np.full(len(dept_k), -1)
    if fit_k is not None:
        chosen = np.sort(rng.choice(np.flatnonzero(dept_k == fit_k), len(FIT_STARTS), replace=False))
        start_pos[chosen] = [PERIODS.get_loc(s) for s in FIT_STARTS]

    # A respondent per draw, department x period cells in a fixed order, sorted by wave (as a
    # survey export is); then the draws every respondent's outcomes share.
    sizes = rng.integers(RESPONDENTS[0], RESPONDENTS[1] + 1, (len(dept_k), len(PERIODS)))
    d_of = np.repeat(np.repeat(np.arange(len(dept_k)), len(PERIODS)), sizes.ravel())
    t_of = np.repeat(np.tile(t, len(dept_k)), sizes.ravel())
    order = np.lexsort((d_of, t_of))
    d_of, t_of = d_of[order], t_of[order]
    k_of = dept_k[d_of]
    u = rng.random(len(d_of))
    chaos_noise = rng.normal(0, c["person_sd"], len(d_of))

    ip_treated = programme[k_of] & (PERIODS[t_of] >= IP_START)
    p0 = g["base"] + goal_inst[k_of] + goal_dept[d_of] + goal_period[t_of]
    p1 = np.clip(p0 + cfg.effect_programme, 0, 1)
    event = np.where(start_pos[d_of] >= 0, t_of - start_pos[d_of], np.nan)
    fit_treated = event >= 0
    effects = np.asarray(cfg.effect_rollout, float)
    tau = np.where(fit_treated, effects[np.clip(np.nan_to_num(event), 0, len(effects) - 1).astype(int)], 0.0)
    latent = c["base"] + chaos_inst[k_of] + chaos_dept[d_of] + chaos_period[t_of] + chaos_noise
    # Tenths as integers, so the file holds one decimal exactly and both outcomes round alike.
    resp = pd.DataFrame({
        "response_id": [f"RW-{i:06d}" for i in range(1, len(d_of) + 1)],
        "institution": inst["institution"].to_numpy()[k_of], "department": dept_name[d_of],
        "period": PERIODS[t_of],
        "goal_retention_0": (u < p0).astype(int), "goal_retention_1": (u < p1).astype(int),
        "daily_chaos_0": np.clip(np.rint(latent * 10), 10, 50) / 10,
        "daily_chaos_1": np.clip(np.rint((latent + tau) * 10), 10, 50) / 10,
        "p0": p0, "p1": p1, "ip_treated": ip_treated, "fit_treated": fit_treated,
        "event_time": event})
    resp["goal_retention"] = resp["goal_retention_1"].where(ip_treated, resp["goal_retention_0"])
    resp["daily_chaos"] = resp["daily_chaos_1"].where(fit_treated, resp["daily_chaos_0"])
    names = inst["institution"].tolist()
    design = {"programme": [names[k] for k in np.flatnonzero(programme)],
              "comparison": [names[k] for k in comparison],
              "fit_institution": None if fit_k is None else names[fit_k],
              "fit_starts": {dept_name[d]: PERIODS[start_pos[d]] for d in np.flatnonzero(start_pos >= 0)},
              "fit_never": [dept_name[d] for d in np.flatnonzero((dept_k == fit_k) & (start_pos < 0))]}
    return resp, design


def _mean_by(effect: pd.Series, key: pd.Series) -> dict:
    return {str(k): float(v) for k, v in effect.groupby(key, sort=True).mean().items()}


def _ip_truth(cfg, resp, design) -> dict:
    treated = resp[resp["ip_treated"]]
    effect = treated["goal_retention_1"] - treated["goal_retention_0"]
    truth = {
        "outcome": "goal_retention", "programme": IP_PROGRAMME, "source": "routine_waves",
        "start": IP_START.strftime("%Y-%m-%d"),
        "treated_institutions": design["programme"],
        "comparison_institutions": design["comparison"],
        "scale": "risk difference", "parameter": cfg.effect_programme,
        "att": float(effect.mean()) if len(treated) else None,
        "att_expected": float((treated["p1"] - treated["p0"]).mean()) if len(treated) else None,
        "att_by_period": _mean_by(effect, treated["period"].dt.strftime("%Y-%m-%d")),
        "n_treated_post": len(treated),
        "model": {**GOAL_MODEL, "effect": "p1 = p0 + effect_programme (risk difference)"},
        "note": "att is the sample ATT over respondents of the treated institutions from the start "
                "(both potential outcomes drawn with common random numbers); att_expected is the "
                "mean of p1 - p0 over the same respondents. Parallel trends hold by construction.",
    }
    if not design["comparison"]:
        truth["note"] += " No comparison institution: the DiD is not identified in this study."
    return truth


def _fit_truth(cfg, resp, design) -> dict:
    if design["fit_institution"] is None:
        return {"outcome": "daily_chaos", "programme": FIT_PROGRAMME, "institution": None,
                "note": "every institution is in the IP initiative: no comparison institution "
                        "to host the FIT rollout, so none was generated."}
    treated = resp[resp["fit_treated"]]
    effect = treated["daily_chaos_1"] - treated["daily_chaos_0"]
    cohort = treated["department"].map(design["fit_starts"]).dt.strftime("%Y-%m-%d")
    period = treated["period"].dt.strftime("%Y-%m-%d")
    return {
        "outcome": "daily_chaos", "programme": FIT_PROGRAMME, "source": "routine_waves",
        "institution": design["fit_institution"],
        "departments": {d: s.strftime("%Y-%m-%d") for d, s in design["fit_starts"].items()},
        "never_treated": design["fit_never"],
        "scale": "mean difference (daily_chaos, 1–5, higher = more chaos)",
        "parameter_by_event_time": list(cfg.effect_rollout),
        "att_overall": float(effect.mean()),
        "att_by_event_time": _mean_by(effect, treated["event_time"].astype(int)),
        "att_by_cohort": _mean_by(effect, cohort),
        "att_by_cohort_period": {g: _mean_by(effect[cohort == g], period[cohort == g])
                                 for g in sorted(set(cohort))},
        "n_treated_post": len(treated),
        "model": CHAOS_MODEL,
        "note": "Sample ATTs over the treated departments' respondents from each start (both "
                "potential outcomes drawn with common random numbers, rounded to one decimal and "
                "kept within 1–5). The effect grows with time since adoption (the last value of "
                "parameter_by_event_time holds from then on), so a two-way fixed-effects "
                "regression that uses earlier adopters as controls is biased towards zero.",
    }
