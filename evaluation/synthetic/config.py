"""Parameters of the synthetic study, checked at the boundary."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from evaluation.errors import ParameterError

# (name, code, kind, takes part in the IP initiative, municipality). The first two are the
# residential rehabilitation centres evaluated in source 000; the rest are made-up comparison
# institutions. Names and codes carry æ, ø and å on purpose: exports must keep them intact.
INSTITUTIONS = [
    ("Lassonløkken", "LAS", "residential_rehab", True, "Oslo"),
    ("Karlsborg", "KAR", "residential_rehab", True, "Oslo"),
    ("Fjærholmen", "FJÆ", "residential_rehab", False, "Bærum"),
    ("Sørbråten", "SØR", "outpatient", False, "Lørenskog"),
    ("Vårli", "VÅR", "residential_rehab", False, "Nesodden"),
    ("Østhagen", "ØST", "municipal_service", False, "Ås"),
    ("Bjørkåsen", "BJØ", "outpatient", False, "Frogn"),
    ("Grønnåsen", "GRØ", "municipal_service", False, "Hurdal"),
]

# Municipality and its size class (small < 10 000 inhabitants, medium < 50 000, else large).
MUNICIPALITIES = {
    "Oslo": "large", "Bærum": "large", "Lørenskog": "medium", "Nesodden": "medium",
    "Ås": "medium", "Frogn": "medium", "Hurdal": "small", "Våler": "small", "Rømskog": "small",
    "Nes": "medium",
}


@dataclass
class SyntheticConfig:
    """What to generate. Effects are the truths that analyses should recover.

    effect_goal : average causal risk difference of IP on goal retention (ATE, probability scale).
    effect_chaos : effect of IP on the latent daily-chaos level, in points of the 1–5 item scale
        (negative = less chaos). The realised effect on the scored outcome is in ground_truth.json.
    effect_gas : effect of IP on the latent goal-attainment level (GAS points, −2…+2 scale).
    effect_ors : extra ORS gain per unit of log(session number) with an IP (IP × time).
    effect_programme : risk difference that the IP initiative adds to goal retention in the
        routine survey waves of its institutions, from its start (programme.py).
    effect_rollout : effect of FIT on daily chaos (1–5 points) in the 1st, 2nd, ... half-year
        after a department adopts it; the last value holds from then on (programme.py).
    """

    persons: int = 800
    institutions: int = 6
    seed: int = 2026
    effect_goal: float = 0.12
    effect_chaos: float = -0.35
    effect_gas: float = 0.30
    effect_ors: float = 1.2
    effect_programme: float = 0.10
    effect_rollout: tuple = (-0.10, -0.20, -0.30, -0.40, -0.50)
    sessions_mean: float = 14.0
    years: tuple = (2023, 2024)
    coders: int = 3
    coder_accuracy: float = 0.85
    missing_rate: float = 0.04
    problem_rate: float = 0.004
    duplicate_rate: float = 0.01
    residents_interviewed_per_institution: int = 8
    staff_interviewed_per_institution: int = 3
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.years = tuple(int(y) for y in self.years)
        if isinstance(self.effect_rollout, (int, float)):   # one number: the same every half-year
            self.effect_rollout = (self.effect_rollout,)
        self.effect_rollout = tuple(float(e) for e in self.effect_rollout)
        checks = [
            ("persons", self.persons >= 20, "at least 20"),
            ("institutions", 1 <= self.institutions <= 60, "between 1 and 60"),
            ("effect_goal", -0.5 < self.effect_goal < 0.5, "a risk difference between -0.5 and 0.5"),
            ("effect_chaos", -2 <= self.effect_chaos <= 2, "between -2 and 2 scale points"),
            ("effect_gas", -2 <= self.effect_gas <= 2, "between -2 and 2 GAS points"),
            ("effect_programme", -0.25 <= self.effect_programme <= 0.25,
             "a risk difference between -0.25 and 0.25"),
            ("effect_rollout", len(self.effect_rollout) >= 1
             and all(-2 <= e <= 2 for e in self.effect_rollout),
             "one or more effects between -2 and 2 scale points"),
            ("sessions_mean", 1 <= self.sessions_mean <= 60, "between 1 and 60"),
            ("years", len(self.years) >= 2 and list(self.years) == sorted(set(self.years)),
             "at least two distinct years in increasing order"),
            ("coders", self.coders in (2, 3), "2 or 3"),
            ("coder_accuracy", 0 < self.coder_accuracy <= 1, "a probability in (0, 1]"),
            ("missing_rate", 0 <= self.missing_rate < 0.5, "a probability below 0.5"),
            ("problem_rate", 0 <= self.problem_rate < 0.1, "a probability below 0.1"),
            ("duplicate_rate", 0 <= self.duplicate_rate < 0.1, "a probability below 0.1"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ParameterError(f"Synthetic study parameter {name}={getattr(self, name)!r} "
                                     f"is out of range: expected {expected}.")
        if self.persons < 10 * self.institutions:
            raise ParameterError(f"persons={self.persons} is too few for {self.institutions} "
                                 f"institutions: give at least 10 persons per institution.")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["years"] = list(self.years)
        d["effect_rollout"] = list(self.effect_rollout)
        return d
