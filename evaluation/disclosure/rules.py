"""Disclosure rules and their settings (``disclosure:`` in study.yaml).

The rules are ACRO's (AI-SDC/ACRO ``default.yaml``): a minimum count of contributors per cell,
N-K dominance and the p-ratio for sums and means of magnitude data, a minimum of residual
degrees of freedom for models, and a rule for zeros. ACRO's threshold is 10; this field
usually publishes with 5, so 5 is the default here and either can be set per study.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from evaluation.errors import ManifestError

SAFE_CLASS = "ipeval-sdc"           # HTML class of every table shown through the layer
SAFE_ATTRIBUTE = "data-ipeval-sdc"  # carries the rules applied, for the output checker
SIDECAR_SUFFIX = ".ipeval-sdc.json"  # beside a CSV/XLSX the layer wrote (a CSV has no class)


@dataclass(frozen=True)
class DisclosureRules:
    """Settings of every disclosure rule.

    min_cell : smallest count of people a shown cell may rest on (threshold rule).
    dominance_n, dominance_k : a magnitude cell fails when its ``n`` largest contributions make
        up more than ``k`` of its total (N-K rule; ACRO 2, 0.90).
    p_ratio : a magnitude cell fails when (total − x1 − x2) / x1 < p (ACRO 0.10): the second
        largest contributor could estimate the largest one too closely.
    min_residual_dof : a model with fewer residual degrees of freedom is not shown (ACRO 10).
    zeros_are_disclosive : a magnitude cell with a total of zero or less, or a single
        contributor, fails (ACRO True). Zero counts in frequency tables are shown: a structural
        zero reveals nothing about a person.
    marker : how a cell of too few people is written (primary suppression); ``{min_cell}`` is
        filled in.
    protected_marker : how a cell hidden only to protect another is written (secondary
        suppression). It must differ from the marker: a reader who sees ``<5`` is told the cell
        holds fewer than 5 people, which a protecting cell of 15 does not.
    """

    min_cell: int = 5
    dominance_n: int = 2
    dominance_k: float = 0.90
    p_ratio: float = 0.10
    min_residual_dof: int = 10
    zeros_are_disclosive: bool = True
    marker: str = "<{min_cell}"
    protected_marker: str = "\u00b7"

    def __post_init__(self):
        checks = [("min_cell", self.min_cell >= 1), ("dominance_n", self.dominance_n >= 1),
                  ("dominance_k", 0 < self.dominance_k <= 1), ("p_ratio", 0 <= self.p_ratio < 1),
                  ("min_residual_dof", self.min_residual_dof >= 0)]
        checks.append(("protected_marker", bool(self.protected_marker.strip())
                       and self.protected_marker != self.suppressed_text))
        for name, ok in checks:
            if not ok:
                raise ManifestError(f"disclosure.{name} = {getattr(self, name)!r} is out of range.")

    @classmethod
    def from_manifest(cls, settings: dict | None) -> "DisclosureRules":
        settings = dict(settings or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ManifestError(f"study.yaml: unknown disclosure setting(s) {unknown}; known: "
                                f"{sorted(known)}.")
        return cls(**settings)

    @property
    def suppressed_text(self) -> str:
        return self.marker.format(min_cell=self.min_cell)

    @property
    def protected_text(self) -> str:
        """The mark of a cell hidden only so that a small cell cannot be worked out."""
        return self.protected_marker

    def describe(self) -> str:
        return (f"cells of fewer than {self.min_cell} people suppressed; magnitude cells checked "
                f"for dominance ({self.dominance_n} largest > {self.dominance_k:.0%}) and p-ratio "
                f"(< {self.p_ratio:.0%}); models need ≥ {self.min_residual_dof} residual df")

    def as_dict(self) -> dict:
        return asdict(self)

    # -- cell rules ------------------------------------------------------------------------------
    def small_count(self, counts) -> np.ndarray:
        """Counts of 1 to min_cell − 1 (zeros are not small: nobody is in the cell)."""
        c = np.asarray(counts, dtype=float)
        return (c > 0) & (c < self.min_cell)

    def magnitude_fails(self, values) -> list[str]:
        """The rules a magnitude cell (its contributions) breaks: threshold, dominance,
        p-ratio, zeros. Missing contributions are ignored."""
        x = np.asarray(values, dtype=float)
        x = x[~np.isnan(x)]
        failed = []
        if 0 < len(x) < self.min_cell:
            failed.append("threshold")
        total = x.sum()
        top = np.sort(np.abs(x))[::-1]
        if self.zeros_are_disclosive and (total <= 0 or len(x) == 1):
            failed.append("zeros")
        if total > 0 and len(x) > 0:
            if top[: self.dominance_n].sum() / np.abs(x).sum() > self.dominance_k:
                failed.append("dominance")
            if len(x) >= 2 and top[0] > 0:
                p = (total - top[0] - top[1]) / top[0]
                if p < self.p_ratio:
                    failed.append("p-ratio")
        return failed
