"""Coded interview segments: residents and staff, each unit coded by two or three coders.

Every unit has one true code (or none). Each coder gives the true code with probability
``coder_accuracy`` and otherwise one of the other categories (the other codes and 'no code') at
random, so the expected agreement is known in closed form (see ``expected_nominal_alpha``).
Residents with an IP more often speak of owning their goals and of less chaos (source 000).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.synthetic.config import SyntheticConfig

CODEBOOK = pd.DataFrame([
    ("ip_process", "", "IP process", "How the plan is made and followed up"),
    ("involvement", "ip_process", "Involvement", "The person took part in making the plan"),
    ("chairs_own_meeting", "ip_process", "Chairs own meeting", "The person leads their own responsibility-group meeting"),
    ("ip_presentation", "ip_process", "How IP is presented", "How the IP was introduced or 'sold in'"),
    ("coordination", "ip_process", "Coordination", "Services and coordinator working together"),
    ("outcomes", "", "Outcomes", "What the plan changed"),
    ("goal_ownership", "outcomes", "Goal ownership", "Holding on to one's own goals"),
    ("less_chaos", "outcomes", "Less chaos", "More order and predictability in daily life"),
    ("staff_work_eased", "outcomes", "Work eased", "Systematic IP work makes staff's work easier"),
    ("context", "", "Context", "Conditions around the IP work"),
    ("leadership_drive", "context", "Leadership drive", "Leaders and key people drive the work"),
    ("crisis_instability", "context", "Crisis and instability", "Relapse, crises, unstable periods"),
], columns=["code", "parent", "label", "description"])

RESIDENT_CODES = ["goal_ownership", "less_chaos", "involvement", "chairs_own_meeting",
                  "ip_presentation", "crisis_instability"]
STAFF_CODES = ["leadership_drive", "ip_presentation", "staff_work_eased", "coordination",
               "goal_ownership"]
CODERS = ["Ingrid", "Øystein", "Siri"]
NAMES = ["Kari", "Ola", "Mona", "Per", "Åse"]

TEMPLATES = {
    "goal_ownership": ["Nå er det mine mål som står i planen, ikke deres.",
                       "Jeg bestemte selv hva som skulle stå i planen min, sammen med {name}.",
                       "Målene er små, men de er mine, og jeg holder på dem."],
    "less_chaos": ["Hverdagen er roligere nå, jeg vet hva som skjer hver uke.",
                   "Før var alt kaos, nå har jeg en plan å holde meg til på {place}.",
                   "Det er mindre brannslukking, mer orden i dagene."],
    "involvement": ["Jeg var med på møtet der planen ble laget.",
                    "{name} spurte hva jeg ville, og det ble skrevet inn."],
    "chairs_own_meeting": ["Jeg leder ansvarsgruppemøtet mitt selv nå.",
                           "Det var rart første gang å styre møtet, men nå er det mitt møte."],
    "ip_presentation": ["Det kommer an på hvordan planen blir solgt inn.",
                        "Da {name} forklarte hva en IP var, skjønte jeg poenget.",
                        "Vi snakker om IP fra første dag på {place}."],
    "coordination": ["Koordinatoren holder trådene mellom NAV og kommunen.",
                     "Planen gjør at tjenestene snakker sammen."],
    "staff_work_eased": ["Systematisk IP-arbeid gjør jobben min lettere.",
                         "Vi slipper å starte på nytt hver gang noe skjer."],
    "leadership_drive": ["Lederen vår har drevet dette fram.",
                         "Det står og faller på noen få ildsjeler, som {name}."],
    "crisis_instability": ["Det har vært en tung periode med tilbakefall.",
                           "Kriser skjer, det er en del av det."],
    None: ["Vi snakket mest om været den dagen.", "Jeg husker ikke helt hvordan det var.",
           "Ja, det var vel sånn det var."],
}


def expected_nominal_alpha(true_shares: np.ndarray, accuracy: float) -> float:
    """Large-sample Krippendorff's alpha (nominal) for independent coders who give the true
    category with probability ``accuracy`` and any other of the K − 1 at random.

    Observed agreement P_o = q² + (1 − q)² / (K − 1) whatever the true category; the coders'
    marginal share of category k is m_k = q π_k + (1 − q)(1 − π_k)/(K − 1); P_e = Σ m_k².
    alpha = 1 − (1 − P_o) / (1 − P_e).
    """
    k = len(true_shares)
    q = accuracy
    p_o = q ** 2 + (1 - q) ** 2 / (k - 1)
    m = q * true_shares + (1 - q) * (1 - true_shares) / (k - 1)
    p_e = float(np.sum(m ** 2))
    return 1 - (1 - p_o) / (1 - p_e)


def segments(cfg: SyntheticConfig, persons: pd.DataFrame, responders: pd.Series,
             staff: pd.DataFrame, inst: pd.DataFrame, rng: np.random.Generator):
    """Returns (segments, codebook, truth). ``responders`` marks persons who answered the survey."""
    categories = [c for c in CODEBOOK["code"] if c not in ("ip_process", "outcomes", "context")]
    interviews = []
    for _, row in inst.iterrows():
        pool = persons[(persons["institution"] == row["institution"]) & responders]
        take = min(cfg.residents_interviewed_per_institution, len(pool))
        for j, (_, p) in enumerate(pool.sample(take, random_state=rng.integers(2**31)).iterrows()):
            interviews.append(("resident", p["person_id"], row, j, p["_ip"], p["_goal"], p["_chaos"]))
        st = staff[staff["institution"] == row["institution"]]
        take = min(cfg.staff_interviewed_per_institution, len(st))
        for j, (_, s) in enumerate(st.sample(take, random_state=rng.integers(2**31)).iterrows()):
            interviews.append(("staff", s["staff_id"], row, j, np.nan, np.nan, np.nan))

    records, true_codes = [], []
    for role, participant, irow, j, ip, goal, chaos in interviews:
        interview_id = f"INT-{irow['institution_code']}-{role[0].upper()}{j + 1:02d}"
        coders = CODERS[: cfg.coders]
        if cfg.coders == 3 and rng.random() < 0.25:   # the third coder did not see this one
            coders = list(rng.choice(coders, size=2, replace=False))
        codes = RESIDENT_CODES if role == "resident" else STAFF_CODES
        weights = np.ones(len(codes))
        if role == "resident":
            weights[codes.index("goal_ownership")] += 1.2 * ip + 0.8 * goal
            weights[codes.index("less_chaos")] += 1.0 * ip + 0.5 * (chaos < 2.5)
            weights[codes.index("chairs_own_meeting")] *= 0.2 + ip
        p_code = weights / weights.sum() * 0.65       # 35 % of units carry no code
        for u in range(int(rng.integers(10, 21))):
            r = rng.random()
            cum = np.cumsum(p_code)
            true = codes[int(np.searchsorted(cum, r))] if r < cum[-1] else None
            true_codes.append(true)
            text = rng.choice(TEMPLATES[true]).format(name=rng.choice(NAMES), place=irow["institution"])
            for coder in coders:
                if rng.random() < cfg.coder_accuracy:
                    given = true
                else:
                    others = [c for c in categories + [None] if c != true]
                    given = others[int(rng.integers(len(others)))]
                records.append({"unit_id": f"{interview_id}-U{u + 1:02d}", "interview_id": interview_id,
                                "participant_id": participant, "role": role,
                                "institution": irow["institution"], "coder": coder,
                                "code": given or "", "text": text})
    df = pd.DataFrame.from_records(records)
    cats = categories + [None]
    shares = np.array([np.mean([t == c for t in true_codes]) for c in cats])
    truth = {"coders": CODERS[: cfg.coders], "coder_accuracy": cfg.coder_accuracy,
             "categories": len(cats), "units": len(true_codes),
             "true_code_shares": {str(c or "(none)"): float(s) for c, s in zip(cats, shares)},
             "expected_alpha_nominal": float(expected_nominal_alpha(shares, cfg.coder_accuracy)),
             "alpha_note": "overall nominal Krippendorff alpha across codes (each coder gives each "
                           "unit at most one code, '' = no code); large-sample expectation"}
    return df, CODEBOOK.copy(), truth
