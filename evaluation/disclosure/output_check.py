"""The ``ipeval check`` verb: what an output checker on a secure platform would look for, before
sharing. ``check_path`` finds, ``run_check`` runs the verb, ``report`` and ``write_json`` give
what was found as text and as JSON.

``check_path`` reads executed notebooks (``.ipynb``), HTML reports (``.html``/``.htm``),
tables (``.csv``, ``.xlsx``), Word files and PDFs (``.docx``, ``.pdf``: :mod:`.document_files`),
a file or a whole folder, and returns one row per finding:
``file``, ``where`` (``cell 7 output 1``, ``table 2 row 5 column n``, ``row 12 column n``,
``metadata papermill.input_path``, ``line 40``), ``rule`` and ``excerpt``. The excerpt is masked:
a report of a leak must not repeat the leak (national IDs through
:func:`evaluation.intake.national_id.mask_national_id`, identifiers with all but their first one or
two characters as ``*``, paths cut after the user's folder, quotes de-identified). The reports
written from the findings (:func:`report`, :func:`write_json`) also write a small cell as "a count
under 5", and no count of fewer than ``min_cell`` people in any excerpt.

Rules (:data:`RULES`):

``national_id``
    A fødselsnummer, D- or H-number with valid check digits anywhere: outputs, notebook
    metadata, cell sources (code and markdown), HTML text and tables, CSV/XLSX cells.
``identifier``
    A value of a column the study pseudonymises (``pseudonymise:`` in study.yaml), as read
    raw from the study's files, appearing as a whole token. Only with ``study``.
``person_level_table``
    A table with more than ``max_person_rows`` rows keyed by person: an id-like column
    (the study's id column or pseudonymised columns, ``person_id``, ``participant_id``,
    ``staff_id``, ``resp_id``, ``*_id``, ``id``) whose values are mostly (90 %) distinct, or
    pseudonyms (``ps_`` + 16 hex digits) in more than ``max_person_rows`` rows. Checked in
    every table, those shown through the disclosure layer included.
``small_cell``
    A count from 1 to ``min_cell − 1`` in a table that did not pass the disclosure layer (HTML
    tables without the class ``ipeval-sdc``, pandas tables printed as text, CSV/XLSX files
    without the sidecar ``<file name>.ipeval-sdc.json`` that ``SafeTable.to_csv`` writes
    beside them: a CSV cannot carry an HTML class, so the sidecar stands in for it). Counts
    are the columns named like counts (``n``, ``N``, ``count``, ``antall``, ``n_*``, ``*_n``,
    ``count_*``, ``*_count``, ``n (%)``) and columns whose values are all whole numbers ≥ 0,
    unless named like a year, id, code, session, score, statistic and the like, or holding a
    running row number or years.
``quote``
    A coded-segment text of the study (sources of ``kind: coded_segments``, column ``text``)
    of at least 25 characters that appears verbatim (whitespace normalised; also as the
    beginning of the text cut off with ``...`` as pandas shows long text) while
    :func:`evaluation.intake.deidentify.deidentify` would change it. Only with ``study``.
``absolute_path``
    An absolute path of the user's machine: ``/home/``, ``/Users/``, ``/root/``, ``/mnt/``,
    ``/media/``, ``/tsd/``, ``/cluster/``, ``/work/``, ``/data/``, ``/scratch/``, ``/srv/``,
    ``/tmp/``, ``/var/``, ``/opt/``, the user's home folder and the working directory, and
    Windows drive paths (``C:\\Users\\...``), in outputs, tracebacks and notebook metadata
    (papermill writes the input and output paths there). The files ipykernel names cells by
    (``/tmp/ipykernel_<pid>/<n>.py``, in every traceback and warning of notebook code) are
    not paths of the user's and are not reported.
``unreadable``
    The file could not be read, so nothing in it was checked.

What is read: in a notebook, every output of every code cell (stream text, the richest text
representation of each result — HTML, else Markdown, else plain text —, error name, value and
traceback) and the notebook's metadata; cell sources only for national IDs. Images are not
read. In an HTML file, the visible text (not scripts, styles or attributes) and every
``<table>``. In CSV/XLSX files every cell of every sheet.

The leaks a reader with a calculator finds — ``recoverable_cell``, ``small_share``,
``unprotected_count``, ``extreme_value``, ``inconsistent_suppression``,
``person_level_figure``, ``unprotected_figure`` and ``internal_output`` — are described in
docs/output-checker.md and found by :mod:`.recoverable` and :mod:`.provenance` (figures and the
report's disclosure log, which is solved exactly by :mod:`.attacker`). Images are not read, but
the provenance the layer writes beside them is.

``run_check`` is the engine of ``ipeval check``: it prints the report, writes it as JSON and
returns the exit code (1 with findings).

This module is the checker's public face; the work is done in :mod:`.output_files` (taking
each file apart into texts and tables), :mod:`.html_tables` and :mod:`.text_tables` (tables
as grids of :mod:`.shown_tables`), :mod:`.study_facts` (what is looked for from a study),
:mod:`.findings` (the rules, applied by its ``Checker``) and :mod:`.excerpts` (masking
what a finding shows).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from evaluation.constraints import InstanceOf, Interval, validate_params
from evaluation.errors import InputFileError, OutputError, ParameterError
from evaluation.disclosure.findings import MAX_PER_RULE, Checker  # noqa: F401  (MAX_PER_RULE: documented here)
from evaluation.disclosure.excerpts import mask_value, masked_excerpt, shorten_path
from evaluation.disclosure.output_files import SIDECAR_SUFFIX, check_file
from evaluation.disclosure.recoverable import LEAK_RULES
from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.study_facts import facts_of_path, load_study, study_facts

__all__ = ["COLUMNS", "RULES", "SUFFIXES", "check_path", "mask_value", "report", "run_check",
           "shorten_path", "shown_excerpts", "write_json"]

COLUMNS = ["file", "where", "rule", "excerpt"]
RULES = {
    "national_id": "national ID number (fødselsnummer, D- or H-number) with valid check digits",
    "identifier": "raw value of a column the study pseudonymises",
    "person_level_table": "table of more than a few rows keyed by person",
    "small_cell": "count below the minimum cell size in a table that did not pass the "
                  "disclosure layer",
    "quote": "interview text shown verbatim although it holds names or places to mask",
    "absolute_path": "absolute path of the user's machine",
    "unreadable": "file that could not be read, so it was not checked",
    **LEAK_RULES,     # the leaks a reader with a calculator finds (docs/output-checker.md)
}
SUFFIXES = (".ipynb", ".html", ".htm", ".csv", ".xlsx", ".docx", ".pdf")
REPORT_NAME = "disclosure_check.json"


# --------------------------------------------------------------------------- public API

@validate_params({"path": [str, os.PathLike], "max_person_rows": [Interval(0, None, integral=True)],
                  "rules": [InstanceOf(DisclosureRules, dict, name="DisclosureRules or a dict of "
                                                               "settings"), None]})
def check_path(path, *, study=None, rules=None, max_person_rows: int = 10) -> pd.DataFrame:
    """Check a file or a folder of outputs for disclosure risks.

    Parameters
    ----------
    path : str or Path
        An executed notebook, an HTML report, a CSV or XLSX table, or a folder (searched
        recursively for those; hidden folders, ``.ipynb_checkpoints`` and Office lock files
        ``~$*`` are skipped, other files ignored, the disclosure layer's sidecars
        ``*.ipeval-sdc.json`` and the checker's own reports among them).
    study : evaluation.Study or path to a study, optional
        Enables the ``identifier`` and ``quote`` rules, adds the study's id column and
        pseudonymised columns to the person keys, and gives the disclosure rules (``min_cell``)
        unless ``rules`` is given.
    rules : DisclosureRules or dict, optional
        The rules whose ``min_cell`` the ``small_cell`` rule uses (default: the study's, else
        ``DisclosureRules()``, min_cell 5).
    max_person_rows : int, default 10
        A table keyed by person may have at most this many rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``file`` (relative to ``path`` when it is a folder), ``where``, ``rule``,
        ``excerpt`` (masked); one row per finding, in file order. ``attrs`` holds ``path``
        and ``files_checked`` (list of the files read). At most :data:`MAX_PER_RULE` findings
        are listed per file and rule; a last row says how many more there were.

    Raises
    ------
    InputFileError
        If ``path`` does not exist.
    ParameterError
        If ``path`` is a file of a type that cannot be checked, or ``max_person_rows`` is not
        a non-negative integer.

    Notes
    -----
    Each file is read once; text rules run on whole texts with compiled regular expressions
    (identifiers: the set of tokens of the text against the set of identifiers), and only the
    texts with a hit are located row by row, so a folder of a hundred executed notebooks
    takes seconds.
    """
    root = Path(path)
    if not root.exists():
        raise InputFileError(root, "not found: nothing to check.",
                             expected="an executed notebook, an HTML report, a CSV/XLSX table "
                                      "or a folder of them")
    if root.is_file():
        if root.suffix.lower() not in SUFFIXES:
            raise ParameterError(f"{root}: cannot check files of type {root.suffix or '(none)'}; "
                                 f"the checker reads {', '.join(SUFFIXES)} files or folders.")
        files = [(root, str(path))]
    else:
        files = [(f, f.relative_to(root).as_posix()) for f in _walk(root)]
    if isinstance(study, (str, os.PathLike)):
        study, facts = facts_of_path(study)
    else:
        study = load_study(study)
        facts = study_facts(study)
    checker = Checker(facts, _min_cell(rules, study), int(max_person_rows))
    rows: list[tuple] = []
    for file, name in files:
        rows += check_file(checker, file, name)
    findings = pd.DataFrame.from_records(rows, columns=COLUMNS).astype(object)
    findings.attrs["path"] = str(path)
    findings.attrs["files_checked"] = [name for _, name in files]
    findings.attrs["min_cell"] = checker.min_cell     # for the report's masked excerpts
    return findings


def report(findings: pd.DataFrame) -> str:
    """The findings as text for a person: grouped per file, then a count per rule.

    Excerpts are written as :func:`shown_excerpts` gives them: a small cell as "a count under
    5", and no count of fewer than ``min_cell`` in any other excerpt either.

    Parameters
    ----------
    findings : pandas.DataFrame
        As returned by :func:`check_path`.

    Returns
    -------
    str
    """
    checked = findings.attrs.get("files_checked")
    where = findings.attrs.get("path")
    n_files = f" in {len(checked)} file{'s' if len(checked) != 1 else ''}" if checked is not None \
        else ""
    title = f"Disclosure check{f' of {where}' if where else ''}"
    if not len(findings):
        return f"{title}: no findings{n_files}."
    files = list(dict.fromkeys(findings["file"]))
    lines = [f"{title}: {len(findings)} finding{'s' if len(findings) != 1 else ''} in "
             f"{len(files)} file{'s' if len(files) != 1 else ''}"
             f"{f' (of {len(checked)} checked)' if checked is not None else ''}.", ""]
    width_where = min(44, max(len(str(w)) for w in findings["where"]))
    width_rule = max(len(str(r)) for r in findings["rule"])
    shown = findings.assign(excerpt=shown_excerpts(findings))
    for name in files:
        lines.append(str(name))
        for row in shown[shown["file"] == name].itertuples(index=False):
            lines.append(f"  {str(row.where):<{width_where}}  {row.rule:<{width_rule}}  "
                         f"{row.excerpt}")
        lines.append("")
    lines.append("Findings per rule:")
    counts = findings["rule"].value_counts()
    for rule in [r for r in RULES if r in counts.index] + \
            [r for r in counts.index if r not in RULES]:
        lines.append(f"  {rule:<{max(width_rule, 18)}} {counts[rule]:>5}  {RULES.get(rule, '')}")
    return "\n".join(lines)


def write_json(findings: pd.DataFrame, path) -> Path:
    """Write the findings as JSON: ``{"path", "files_checked", "min_cell", "counts", "rules",
    "findings": [...]}``.

    ``findings`` is a list of records with ``file``, ``where``, ``rule``, ``excerpt``, the
    excerpt as :func:`shown_excerpts` writes it (a small cell is "a count under 5", never the
    count: the report is kept beside the outputs and must not repeat what it is about);
    ``counts`` maps each rule found to its number of findings. Returns the path written.
    """
    target = Path(path)
    shown = findings[COLUMNS].assign(excerpt=shown_excerpts(findings))
    records = [{c: (None if pd.isna(v) else str(v)) for c, v in zip(COLUMNS, row)}
               for row in shown.itertuples(index=False, name=None)]
    document = {
        "path": findings.attrs.get("path"),
        "files_checked": len(findings.attrs.get("files_checked") or []),
        "min_cell": _report_min_cell(findings),
        "counts": {str(k): int(v) for k, v in findings["rule"].value_counts().items()},
        "rules": RULES,
        "findings": records,
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n",
                          encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"Cannot write the disclosure report to {target}: "
                          f"{exc.strerror or exc}.") from None
    return target


def run_check(path, *, study=None, report_path=None, out=print) -> int:
    """Check ``path``, print the report, write it as JSON; 1 if anything was found, else 0.

    Parameters
    ----------
    path : str or Path
        File or folder, as for :func:`check_path`.
    study : evaluation.Study or path to a study, optional
        As for :func:`check_path`.
    report_path : str or Path, optional
        Where the JSON goes. Default: ``<folder>/disclosure_check.json`` for a folder,
        ``<file>.check.json`` beside a file (``report.html`` → ``report.html.check.json``).
    out : callable, default print
        Receives the report text, then one line naming the JSON file.

    Returns
    -------
    int
        The exit code: 1 when there are findings, 0 when there are none.
    """
    findings = check_path(path, study=study)
    out(report(findings))
    source = Path(path)
    if report_path is None:
        report_path = source / REPORT_NAME if source.is_dir() else \
            source.with_name(source.name + ".check.json")
    written = write_json(findings, report_path)
    out(f"Report written to {written}")
    return 1 if len(findings) else 0


def shown_excerpts(findings: pd.DataFrame) -> list:
    """The excerpts of ``findings`` as the checker's reports write them
    (:func:`.excerpts.masked_excerpt`, with the ``min_cell`` the check used).

    Examples
    --------
    >>> found = pd.DataFrame({"file": ["t.csv"], "where": ["row 2 column n"],
    ...                       "rule": ["small_cell"], "excerpt": ["3 (below 5)"]})
    >>> shown_excerpts(found)
    ['a count under 5']
    """
    min_cell = _report_min_cell(findings)
    return [masked_excerpt(str(rule), excerpt, min_cell)
            for rule, excerpt in zip(findings["rule"], findings["excerpt"])]


def _report_min_cell(findings: pd.DataFrame) -> int:
    return int(findings.attrs.get("min_cell") or DisclosureRules().min_cell)


# --------------------------------------------------------------------------- arguments, folders

def _min_cell(rules, study) -> int:
    if isinstance(rules, DisclosureRules):
        return rules.min_cell
    if isinstance(rules, dict):
        return DisclosureRules.from_manifest(rules).min_cell
    if study is not None:
        return DisclosureRules.from_manifest(study.manifest.disclosure).min_cell
    return DisclosureRules().min_cell


def _walk(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("~$") or _is_record_of_a_check(name):
                continue
            if os.path.splitext(name)[1].lower() in SUFFIXES:
                found.append(Path(folder) / name)
    return found


def _is_record_of_a_check(name: str) -> bool:
    """A sidecar of the disclosure layer or a report of this checker: records about outputs,
    not outputs. Named here so they stay skipped should JSON files ever be read."""
    lower = name.lower()
    return lower.endswith(SIDECAR_SUFFIX) or lower == REPORT_NAME or lower.endswith(".check.json")
