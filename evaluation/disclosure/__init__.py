"""Statistical disclosure control: safe tables and figures, and the output checker.

Notebooks show every table through ``Disclosure`` (``Disclosure.for_study(study)``), whose
rules come from ``disclosure:`` in study.yaml. ``sdc.show(table)`` protects the result
contract's count columns (``n``, ``n_exposed``, ``count``) by default, and any other count
columns a table was marked with by :func:`with_counts` (``table.attrs["counts"]``).

- :mod:`.rules` — the rules (``DisclosureRules``) and the marks of a table that passed them;
- :mod:`.suppression` — secondary suppression and its audit;
- :mod:`.safe_tables` — ``Disclosure`` and the ``SafeTable`` (:mod:`.safe_table`) it returns;
  :mod:`.row_tables` — what ``Disclosure.show`` hides in a table of rows;
- :mod:`.linked` — the ledger of a report's counts, for linked-table suppression;
- :mod:`.figures` — figures that leave out what rests on few people (seaborn style);
- :mod:`.output_check` — the ``ipeval check`` verb (the work in :mod:`.output_files`,
  :mod:`.findings`, :mod:`.study_facts` and the table readers).

The figures load matplotlib and seaborn on first use (PEP 562), so that ``ipeval check`` and
the HTML gate, which import this package, do not pay for them.
"""
from importlib import import_module

from evaluation.disclosure.output_check import check_path, report, run_check, write_json
from evaluation.disclosure.rules import SAFE_ATTRIBUTE, SAFE_CLASS, SIDECAR_SUFFIX, DisclosureRules
from evaluation.disclosure.safe_table import SafeTable
from evaluation.disclosure.safe_tables import Disclosure
from evaluation.disclosure.small_levels import hide_small_levels
from evaluation.disclosure.linked import Ledger, cell_id
# The mark of a table's count columns belongs to the result contract; shown here too, beside
# the Disclosure that honours it.
from evaluation.estimates import COMPLEMENTS_ATTR, COUNTS_ATTR, with_counts
from evaluation.disclosure.suppression import audit, cell_bounds, secondary_suppression

FIGURES = ("axes_or_new", "figure_note", "rules_or_default", "estimate_plot", "forest_plot",
           "trajectory_plot", "distribution_plot", "missingness_plot", "level_shares_plot",
           "curve_plot")

__all__ = ["COMPLEMENTS_ATTR", "COUNTS_ATTR", "Disclosure", "DisclosureRules", "Ledger",
           "SAFE_ATTRIBUTE", "cell_id",
           "SAFE_CLASS", "SIDECAR_SUFFIX", "SafeTable", "audit", "cell_bounds", "check_path",
           "hide_small_levels", "report", "run_check", "secondary_suppression", "with_counts",
           "write_json", *FIGURES]


def __getattr__(name):
    if name in FIGURES:
        return getattr(import_module("evaluation.disclosure.figures"), name)
    raise AttributeError(f"module 'evaluation.disclosure' has no attribute {name!r}")
