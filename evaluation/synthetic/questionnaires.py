"""The residents' and the staff's IP questionnaires, and the person register."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.synthetic.config import SyntheticConfig

STAFF_ROLES = np.array(["nurse", "social_worker", "therapist", "milieu_worker", "leader"])
STAFF_ROLE_PROBS = np.array([0.3, 0.25, 0.15, 0.25, 0.05])
PRESENTATION = np.array(["not_presented", "mentioned", "actively_sold_in"])
SUPPORT_OPTIONS = {"housing": 0.4, "work": -0.6, "health": 0.8, "network": -0.2, "economy": 0.0}


def person_register(persons: pd.DataFrame) -> pd.DataFrame:
    """The registry extract: covariates per person, no questionnaire answers."""
    cols = ["person_id", "institution", "age", "sex", "rop_group", "severity",
            "months_in_service", "municipality", "municipality_size"]
    return persons[cols].sort_values("person_id").reset_index(drop=True)


def residents(cfg: SyntheticConfig, persons: pd.DataFrame, goal: np.ndarray, chaos: np.ndarray,
              gas: np.ndarray, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """One Nettskjema-style submission per responding resident (``$``-prefixed system columns).

    Non-response is missing at random given severity (sicker residents answer less often).
    """
    n = len(persons)
    s = persons["_s"].to_numpy()
    responds = rng.random(n) < expit(2.0 - 0.4 * s)
    ip = persons["_ip"].to_numpy()
    culture = persons["_culture"].to_numpy()
    involvement = np.clip(np.round(3.2 + 0.5 * culture + rng.normal(0, 0.9, n)), 1, 5)
    chairs = (rng.random(n) < expit(-1.6 + 0.6 * (involvement - 3) - 0.3 * s)).astype(float)
    usefulness = np.clip(np.round(3.3 + 0.4 * culture + 0.3 * goal + rng.normal(0, 0.9, n)), 1, 5)
    goals_set = np.clip(rng.poisson(2.2, n) + 1, 1, 6)
    start = pd.Timestamp(f"{cfg.years[-1]}-03-01")
    created = start + pd.to_timedelta(rng.integers(0, 75 * 24 * 60, n), unit="min")
    df = pd.DataFrame({
        "$created": created,
        "resp_id": persons["person_id"].to_numpy(),
        "institution": persons["institution"].to_numpy(),
        "has_ip": ip,
        "ip_involvement": np.where(ip == 1, involvement, np.nan),
        "chairs_own_meetings": np.where(ip == 1, chairs, np.nan),
        "ip_usefulness": np.where(ip == 1, usefulness, np.nan),
        "goals_set": goals_set,
        "goal_retention": goal.astype(float),
    })
    for j in range(chaos.shape[1]):
        df[f"chaos_{j + 1}"] = chaos[:, j]
    for j in range(gas.shape[1]):
        df[f"gas_{j + 1}"] = gas[:, j]
    df = df[responds].sort_values("$created", kind="stable").reset_index(drop=True)
    df.insert(0, "$submission_id", np.arange(len(df)) + 3_100_001)
    truth = {"respondents": int(responds.sum()), "invited": n,
             "nonresponse_model": "logit P(respond) = 2.0 - 0.4 * (severity - 5) / 2"}
    return df, truth


def staff(cfg: SyntheticConfig, inst: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Staff survey per institution: perceived usefulness of IP, leadership drive, how IP is
    presented. Answers lean on the institution's culture, higher at the programme centres."""
    frames = []
    for _, row in inst.iterrows():
        m = int(rng.poisson(12) + 4)
        c = row["culture"]
        # Each staff member's own view of IP work runs through all three climate items, so the
        # scale hangs together (alpha about 0.7), as attitude scales do.
        attitude = rng.normal(0, 0.8, m)
        pres_logits = np.array([-0.8 * c, 0.3, 0.9 * c])
        pres_p = np.exp(pres_logits) / np.exp(pres_logits).sum()
        frames.append(pd.DataFrame({
            "staff_id": [f"S-{row['institution_code']}-{i + 1:03d}" for i in range(m)],
            "institution": row["institution"],
            "role": rng.choice(STAFF_ROLES, size=m, p=STAFF_ROLE_PROBS),
            "years_experience": np.round(rng.gamma(2.0, 4.0, m)).astype(int),
            "trained_in_ip": (rng.random(m) < expit(-0.5 + 1.2 * c)).astype(int),
            "ip_usefulness": np.clip(np.round(3.1 + 0.7 * c + attitude + rng.normal(0, 0.7, m)), 1, 5),
            "leadership_drive": np.clip(np.round(2.9 + 0.9 * c + 0.7 * attitude
                                                 + rng.normal(0, 0.7, m)), 1, 5),
            "ip_eases_work": np.clip(np.round(3.0 + 0.6 * c + attitude + rng.normal(0, 0.8, m)), 1, 5),
            "ip_presentation": rng.choice(PRESENTATION, size=m, p=pres_p),
            # A Nettskjema checkbox question: one 0/1 column per option ticked.
            **{f"ip_supports_{opt}": (rng.random(m) < expit(share + 0.5 * c)).astype(int)
               for opt, share in SUPPORT_OPTIONS.items()},
        }))
    df = pd.concat(frames, ignore_index=True)
    start = pd.Timestamp(f"{cfg.years[-1]}-02-01")
    df["submitted"] = start + pd.to_timedelta(rng.integers(0, 40 * 24 * 60, len(df)), unit="min")
    truth = {"institution_culture": dict(zip(inst["institution"], inst["culture"].round(4))),
             "culture_rule": "programme centres +1.0, plus N(0, 0.4); staff items lean on it"}
    return df, truth
