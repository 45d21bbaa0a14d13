"""Statistical disclosure control: safe tables and plots, and the output checker.

Notebooks show every table through ``Disclosure`` (``Disclosure.for_study(study)``), whose
rules come from ``disclosure:`` in study.yaml.
"""
from evaluation.disclosure.rules import SAFE_ATTRIBUTE, SAFE_CLASS, DisclosureRules
from evaluation.disclosure.suppression import audit, cell_bounds, secondary_suppression
from evaluation.disclosure.safe_tables import Disclosure, SafeTable, hide_small_levels

__all__ = ["hide_small_levels", "Disclosure", "DisclosureRules", "SafeTable", "secondary_suppression", "audit",
           "cell_bounds", "SAFE_CLASS", "SAFE_ATTRIBUTE"]
