"""Recorded figures checked before they are stored where they are shared.

A notebook's records (:func:`evaluation.record`) travel inside the executed notebook and are
shown nowhere in its report, so the output check of the report never sees them; a batch then
puts them into ``results.duckdb``, ``results.csv`` and ``index.html``. :func:`check_records`
applies the output checker's text rules (:class:`evaluation.disclosure.findings.Checker`:
national ID numbers, the study's raw identifiers, absolute paths, verbatim quotes) and the
threshold of the disclosure rules to every record first:

- a field that is or holds what the checker refuses is not kept: a text field other than the
  name becomes missing, the name is masked, and the record's ``note`` says what was withheld;
  each is a finding of the run (``where`` = ``record 'name' field``);
- a record whose count of people (``n``, ``n_exposed``, ``count`` or another ``n_…`` field,
  or ``n − n_exposed``, ``n − count``) is 1 … ``min_cell`` − 1 keeps none of the numbers that
  rest on it (stored missing; the note says "rests on fewer than 5 people");
- a count of people written in a text (``"3 persons"``) is written ``<5``.

The checks are idempotent: a checked record passes them again unchanged.
"""
from __future__ import annotations

import math
import re

import pandas as pd

from evaluation.disclosure.excerpts import WITHHELD, mask_small_numbers, mask_text
from evaluation.disclosure.findings import Checker
from evaluation.disclosure.rules import DisclosureRules
from evaluation.estimates import COUNT_COMPLEMENTS

__all__ = ["COUNT_FIELDS", "check_record", "check_records", "count_fields"]

COUNT_FIELDS = tuple(COUNT_COMPLEMENTS)
"""The contract's counts of people (``n``, ``n_exposed``, ``count``); other ``n_…`` fields
count people too, unless :data:`NOT_PEOPLE` says they count something else."""
NOT_PEOPLE = frozenset({
    "n_boot", "n_groups", "n_clusters", "n_units", "n_sessions", "n_items", "n_iter",
    "n_imputations", "n_reps", "n_folds", "n_outcomes", "n_methods", "n_coders", "n_codes",
    "n_cells", "n_rows", "n_columns", "n_tables", "n_years", "n_periods", "n_institutions",
    "n_sites", "n_episodes", "n_segments", "n_waves", "n_parameters"})
_COUNT_NAME = re.compile(r"^(?:n|count|n_\w+|\w+_count)$")
_RULE_WORDS = {"national_id": "a national ID number", "identifier": "a raw identifier of the study",
               "absolute_path": "an absolute path of this machine",
               "quote": "an interview text not de-identified"}


def count_fields(record: dict) -> list[str]:
    """The fields of ``record`` that count people.

    Examples
    --------
    >>> count_fields({"name": "x", "n": 40, "n_exposed": 12, "n_boot": 999, "estimate": 0.1})
    ['n', 'n_exposed']
    """
    return [k for k in record if k in COUNT_FIELDS
            or (_COUNT_NAME.match(str(k)) and k not in NOT_PEOPLE)]


def check_records(records, *, min_cell: int | None = None, facts=None):
    """Check every record; returns ``(records, findings)``.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        As :func:`evaluation.report.read_records` or a run's ``results.json`` gives them.
    min_cell : int, optional
        The disclosure rules' threshold (default ``DisclosureRules().min_cell``, 5).
    facts : evaluation.disclosure.study_facts.StudyFacts, optional
        The study's raw identifiers, names and quotes (without: national IDs and paths only).

    Returns
    -------
    (list of dict, list of (where, rule, excerpt))
        The records as they may be stored, and one finding per field withheld (the excerpt
        masked).

    Examples
    --------
    >>> kept, found = check_records([
    ...     {"name": "coverage/Lillevik", "value": None, "estimate": 0.5, "n": 3},
    ...     {"name": "caller", "value": "ringte 31129956715", "estimate": None}])
    >>> kept[0]["estimate"], kept[0]["n"], kept[0]["note"]
    (None, None, 'rests on fewer than 5 people')
    >>> kept[1]["value"], [rule for _, rule, _ in found]
    (None, ['national_id'])
    """
    if isinstance(records, pd.DataFrame):
        records = [{k: _missing_out(v) for k, v in row.items()}
                   for row in records.to_dict(orient="records")]
    min_cell = int(min_cell or DisclosureRules().min_cell)
    checker = Checker(facts, min_cell, 10)
    kept, found = [], []
    for record in records:
        record, findings = check_record(record, min_cell=min_cell, facts=facts, checker=checker)
        kept.append(record)
        found += findings
    return kept, found


def check_record(record: dict, *, min_cell: int = 5, facts=None, checker=None):
    """One record checked (:func:`check_records`): ``(record, findings)``; ``record`` is not
    changed, a checked copy is returned."""
    checker = checker or Checker(facts, min_cell, 10)
    record = {k: _missing_out(v) for k, v in dict(record).items()}
    name = str(record.get("name") or "")
    notes, findings = [], []
    for key in list(record):
        rules = _refused(checker, record[key], key)
        if not rules:
            continue
        shown_name = _safe_name(checker, name, facts, min_cell)
        for rule in rules:
            findings.append((f"record {shown_name!r} {key}".strip(), rule,
                             f"{key} withheld ({_RULE_WORDS.get(rule, rule)})"))
        if key == "name":
            record[key] = _safe_name(checker, name, facts, min_cell)
        elif key == "note":
            record[key] = WITHHELD
        else:
            record[key] = None
        notes.append(f"{key} withheld: it held " + " and ".join(_RULE_WORDS.get(r, r)
                                                                 for r in rules))
    small = _small_counts(record, min_cell)
    if small:
        people = "n" in small
        for key, value in list(record.items()):
            if _is_number(value) and (people or key in small or key not in count_fields(record)):
                record[key] = None
        notes.append(f"rests on fewer than {min_cell} people")
    for key, value in record.items():       # "3 persons" in a text is a small cell too
        if isinstance(value, str) and key != "name":
            record[key] = mask_small_numbers(value, min_cell)
    if notes:
        earlier = record.get("note")
        record["note"] = "; ".join(dict.fromkeys(
            ([earlier] if isinstance(earlier, str) and earlier else []) + notes))
    return record, findings


def _refused(checker: Checker, value, key: str) -> list[str]:
    """The rules of the output checker that ``value`` breaks (each once)."""
    text = _as_text(value)
    if not text:
        return []
    checker.start("record")
    checker.check_text(text, key)
    return list(dict.fromkeys(rule for *_, rule, _ in checker.findings()))


def _safe_name(checker: Checker, name: str, facts, min_cell: int) -> str:
    masked = mask_text(name, min_cell=min_cell, facts=facts)
    return masked if not _refused(checker, masked, "name") else WITHHELD


def _small_counts(record: dict, min_cell: int) -> set[str]:
    """The count fields of ``record`` (or their complements) of 1 … min_cell − 1 people."""
    small = set()
    for key in count_fields(record):
        value = record[key]
        if not _is_number(value):
            continue
        if 1 <= value < min_cell:
            small.add(key)
        whole = COUNT_COMPLEMENTS.get(key)
        if whole and _is_number(record.get(whole)) and 1 <= record[whole] - value < min_cell:
            small.add(key)
    return small


def _as_text(value) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dict, list)):
        return repr(value)
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _missing_out(value):
    """NaN (a missing number in a frame) as None; numpy scalars as Python numbers."""
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
