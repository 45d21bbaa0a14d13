"""FIT (ORS before and SRS after every session), episodes, and INSPIRE.

Sessions are generated as flat arrays (one element per session) so that a million sessions take
seconds: per-episode quantities are repeated onto sessions with ``np.repeat`` and within-episode
running counts come from a cumulative sum minus the episode's offset.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.synthetic.config import SyntheticConfig

ORS_MODEL = {"intake_mean": 18.0, "intake_severity_std": -2.5, "intake_rop": -0.8, "intake_sd": 4.0,
             "slope_mean": 3.0, "slope_severity_std": -0.5, "slope_alliance": 0.25, "slope_sd": 1.2,
             "noise_sd": 2.5, "time": "log(session number)"}


def _within_episode_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For episodes with ``counts`` sessions: the episode of each session and its 0-based number."""
    episode = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return episode, np.arange(counts.sum()) - np.repeat(starts, counts)


def fit_sessions(cfg: SyntheticConfig, persons: pd.DataFrame, rng: np.random.Generator):
    """Returns (sessions, episodes, truth)."""
    n = len(persons)
    uses_fit = rng.random(n) < 0.85
    who = np.flatnonzero(uses_fit)
    second = who[rng.random(len(who)) < 0.12]
    ep_person = np.concatenate([who, second])
    ep_number = np.concatenate([np.ones(len(who), int), np.full(len(second), 2)])
    order = np.lexsort((ep_number, ep_person))
    ep_person, ep_number = ep_person[order], ep_number[order]
    m = len(ep_person)

    s = persons["_s"].to_numpy()[ep_person]
    rop = persons["_rop"].to_numpy()[ep_person]
    ip = persons["_ip"].to_numpy()[ep_person]
    mo = ORS_MODEL
    alliance = rng.normal(0, 1, m)
    intake = (mo["intake_mean"] + mo["intake_severity_std"] * s + mo["intake_rop"] * rop
              + rng.normal(0, mo["intake_sd"], m))
    slope = (mo["slope_mean"] + mo["slope_severity_std"] * s + mo["slope_alliance"] * alliance
             + rng.normal(0, mo["slope_sd"], m) + cfg.effect_ors * ip)
    planned = 1 + rng.negative_binomial(2, 2 / (2 + cfg.sessions_mean - 1), m)
    planned = np.minimum(planned, 60)

    episode, t0 = _within_episode_index(planned)
    t = t0 + 1
    log_t = np.log(t)
    ors_true = intake[episode] + slope[episode] * log_t
    ors_total = np.clip(ors_true + rng.normal(0, mo["noise_sd"], len(t)), 0, 40)
    srs_total = np.clip(35.5 + 1.8 * alliance[episode] + 0.4 * log_t
                        + rng.normal(0, 1.5, len(t)), 0, 40)
    # Dropout: more likely when the client is not improving or the alliance is weak.
    hazard = (0.02 + 0.05 * (ors_total < intake[episode] + 1) + 0.04 * (srs_total < 34))
    event = (rng.random(len(t)) < hazard) & (t < planned[episode])
    before = np.cumsum(event) - event
    offset = np.repeat(np.concatenate([[0], np.cumsum(event)])[np.cumsum(planned) - planned], planned)
    keep = (before - offset) == 0
    dropped = np.bincount(episode, weights=event & keep, minlength=m) > 0

    episode, t, ors_total, srs_total = episode[keep], t[keep], ors_total[keep], srs_total[keep]
    k = len(t)
    ors_items = np.clip(ors_total[:, None] / 4 + rng.normal(0, 0.9, (k, 4)), 0, 10).round(1)
    srs_items = np.clip(srs_total[:, None] / 4 + rng.normal(0, 0.35, (k, 4)), 0, 10).round(1)
    srs_items[rng.random(k) < 0.05] = np.nan     # SRS not given at some sessions

    first = pd.Timestamp(f"{cfg.years[0]}-01-01")
    span = (pd.Timestamp(f"{cfg.years[-1]}-09-30") - first).days
    ep_start = first + pd.to_timedelta(rng.integers(0, span, m), unit="D")
    # A second episode starts two months after the first one's last possible session
    # (gaps are at most 14 days), so a person's episodes never overlap.
    ep_start = ep_start.to_numpy().copy()
    j = np.flatnonzero(ep_number == 2)
    ep_start[j] = ep_start[j - 1] + (planned[j - 1] * 15 + 60).astype("timedelta64[D]")
    gaps = rng.integers(4, 15, k)
    gaps[np.r_[0, np.flatnonzero(np.diff(episode)) + 1]] = 0
    csum = np.cumsum(gaps)
    starts_idx = np.r_[0, np.flatnonzero(np.diff(episode)) + 1]
    day = csum - np.repeat(csum[starts_idx], np.diff(np.r_[starts_idx, k]))
    date = ep_start[episode] + day.astype("timedelta64[D]")

    pid = persons["person_id"].to_numpy()[ep_person]
    inst = persons["institution"].to_numpy()[ep_person]
    sessions = pd.DataFrame({"person_id": pid[episode], "institution": inst[episode],
                             "episode": ep_number[episode], "session": t,
                             "date": pd.to_datetime(date).strftime("%Y-%m-%d")})
    for j in range(4):
        sessions[f"ors_{j + 1}"] = ors_items[:, j]
    for j in range(4):
        sessions[f"srs_{j + 1}"] = srs_items[:, j]

    n_sessions = np.bincount(episode, minlength=m)
    last = np.cumsum(n_sessions) - 1
    ended = pd.to_datetime(date[last]).strftime("%Y-%m-%d")
    episodes = pd.DataFrame({
        "person_id": pid, "institution": inst, "episode": ep_number,
        "start_date": pd.to_datetime(ep_start).strftime("%Y-%m-%d"), "end_date": ended,
        "end_reason": np.where(dropped, "dropout", "planned_end"),
        "sessions_planned": planned,
    })
    truth = {"model": {**ORS_MODEL, "ip_x_log_session": cfg.effect_ors},
             "ip_x_log_session": cfg.effect_ors,
             "episodes": int(m), "sessions": int(k),
             "dropout_share": float(dropped.mean()),
             "note": "ORS total = sum of ors_1..ors_4; intake and slope depend on severity, so "
                     "the IP x time effect is conditional on severity (adjust for it). It is "
                     "the effect on the unbounded trajectory: observed totals are cut at 0 and "
                     "40, and clients with an IP reach the ceiling sooner, so a model of the "
                     "observed scores recovers about 0.95 x the value at scale (1.14 for 1.2 "
                     "with 100,000 persons; bench/feedback.py). Small samples cannot tell "
                     "the two apart."}
    return sessions, episodes, truth


def inspire(cfg: SyntheticConfig, persons: pd.DataFrame, rng: np.random.Generator):
    """INSPIRE (20 support items with an 'important to me' flag, 7 relationship items, 0–4) per
    person and year, and Brief INSPIRE (5 items) for another subset. Returns (full, brief, truth)."""
    n = len(persons)
    ip = persons["_ip"].to_numpy()
    culture = persons["_culture"].to_numpy()
    support = 0.2 + 0.35 * ip + 0.3 * culture - 0.1 * persons["_s"].to_numpy() + rng.normal(0, 0.6, n)
    frames, brief_frames = [], []
    takes_full = rng.random(n) < 0.6
    takes_brief = ~takes_full & (rng.random(n) < 0.5)
    for y, year in enumerate(cfg.years):
        level = support + 0.1 * y
        answered = takes_full & (rng.random(n) < 0.75)
        idx = np.flatnonzero(answered)
        df = pd.DataFrame({"person_id": persons["person_id"].to_numpy()[idx],
                           "institution": persons["institution"].to_numpy()[idx], "year": year})
        lv = level[idx][:, None]
        sup = np.clip(np.round(2 + lv + rng.normal(0, 0.8, (len(idx), 20))), 0, 4)
        imp = (rng.random((len(idx), 20)) < 0.75).astype(int)
        rel = np.clip(np.round(2.3 + lv + rng.normal(0, 0.7, (len(idx), 7))), 0, 4)
        for j in range(20):
            df[f"inspire_sup_{j + 1:02d}"] = sup[:, j]
            df[f"inspire_imp_{j + 1:02d}"] = imp[:, j]
        for j in range(7):
            df[f"inspire_rel_{j + 1}"] = rel[:, j]
        frames.append(df)
        bidx = np.flatnonzero(takes_brief & (rng.random(n) < 0.75))
        bdf = pd.DataFrame({"person_id": persons["person_id"].to_numpy()[bidx],
                            "institution": persons["institution"].to_numpy()[bidx], "year": year})
        b = np.clip(np.round(2 + level[bidx][:, None] + rng.normal(0, 0.8, (len(bidx), 5))), 0, 4)
        for j in range(5):
            bdf[f"inspire_brief_{j + 1}"] = b[:, j]
        brief_frames.append(bdf)
    truth = {"support_model": "latent = 0.2 + 0.35*IP + 0.3*culture - 0.1*severity_std + N(0, 0.6)"
                              " + 0.1 per year; items = round(2 + latent + noise), 0..4",
             "ip_effect_latent": 0.35}
    return (pd.concat(frames, ignore_index=True), pd.concat(brief_frames, ignore_index=True), truth)
