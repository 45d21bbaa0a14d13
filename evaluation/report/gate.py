"""What a run may leave where it is shared: the gate of ``ipeval run`` and of every batch run.

A run executes into ``OUT/internal/``, a folder only its owner can read (mode 0700). Its
executed notebook, its records (:mod:`.record_checks`), its HTML and its slides are then
checked by the output checker (:func:`evaluation.disclosure.output_check.check_path`); only
when nothing is found are they moved to ``OUT``, where they are shared. A run with findings,
and every internal run (parameter ``internal = True``: person-level outputs, labelled
"INTERNAL — not for sharing" on every page and slide), leaves them in ``internal/`` with the
check's report (``disclosure_check.json``, excerpts masked).

Texts about a run that reach a terminal, a log or a page (:meth:`Gate.masked`) are masked
first (:func:`evaluation.disclosure.excerpts.mask_text`): an error may quote the data.
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import nbformat
import pandas as pd

from evaluation.disclosure.excerpts import mask_text
from evaluation.disclosure.output_check import COLUMNS, REPORT_NAME, check_path, write_json
from evaluation.disclosure.rules import DisclosureRules
from evaluation.disclosure.study_facts import facts_of_path
from evaluation.errors import DisclosureFindings
from evaluation.report.record_checks import check_records
from evaluation.report.records import read_records
from evaluation.study import resolve_study_path

__all__ = ["BANNER_CLASS", "BANNER_TEXT", "INTERNAL_DIR", "INTERNAL_RULE", "Gate",
           "internal_folder", "is_internal", "rule_counts", "with_banner"]

INTERNAL_DIR = "internal"
INTERNAL_RULE = "internal_output"
BANNER_TEXT = "INTERNAL — not for sharing"
BANNER_CLASS = "ipeval-internal"
_BANNER = (f'<div class="{BANNER_CLASS}" role="note" style="position:sticky;top:0;z-index:1000;'
           f'background:#8e1b1b;color:#fff;font:700 1rem/1.6 system-ui,sans-serif;'
           f'text-align:center;letter-spacing:.06em;padding:.3rem">{html.escape(BANNER_TEXT)}</div>')
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_LEAF_SECTION = re.compile(r"<section\b[^>]*>(?!\s*<section\b)", re.IGNORECASE)
_DISCLOSURE_LOG = re.compile(r'data-ipeval-disclosure="([^"]*)"')
_TRUE = {True, "true", "True", "yes", "1", 1}


def internal_folder(out_dir) -> Path:
    """``OUT/internal``, created readable by its owner only (0700, whatever the umask)."""
    folder = Path(out_dir) / INTERNAL_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def is_internal(notebook, parameters: dict | None = None) -> bool:
    """Whether a run is internal: its ``internal`` parameter (given, or as papermill recorded
    it in the notebook's metadata), or a disclosure log or banner in its outputs that says so.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(metadata={"papermill": {"parameters": {"internal": True}}})
    >>> is_internal(nb), is_internal(nbformat.v4.new_notebook(), {"internal": False})
    (True, False)
    """
    if parameters and parameters.get("internal") in _TRUE:
        return True
    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else \
        nbformat.read(str(notebook), as_version=4)
    given = nb.metadata.get("papermill", {}).get("parameters", {}) or {}
    if given.get("internal") in _TRUE:
        return True
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            shown = output.get("data", {}).get("text/html", "")
            shown = "".join(shown) if isinstance(shown, list) else str(shown)
            if f'class="{BANNER_CLASS}' in shown or any(
                    _says_internal(m) for m in _DISCLOSURE_LOG.findall(shown)):
                return True
    return False


def _says_internal(attribute: str) -> bool:
    try:
        return json.loads(html.unescape(attribute)).get("internal") is True
    except (ValueError, AttributeError):
        return False


def with_banner(body: str, *, slides: bool = False) -> str:
    """The page with the banner "INTERNAL — not for sharing" at its top, or (``slides``) at
    the top of every slide.

    Examples
    --------
    >>> with_banner("<html><body><p>x</p></body></html>").count("ipeval-internal")
    1
    >>> with_banner("<section><section>a</section><section>b</section></section>",
    ...             slides=True).count("INTERNAL")
    2
    """
    if slides:
        return _LEAF_SECTION.sub(lambda m: m.group(0) + _BANNER, body)
    match = _BODY.search(body)
    return body[:match.end()] + _BANNER + body[match.end():] if match else _BANNER + body


def rule_counts(findings: pd.DataFrame) -> dict:
    """Findings per rule, most first: ``{"national_id": 2, ...}``."""
    return {str(k): int(v) for k, v in findings["rule"].value_counts().items()} \
        if len(findings) else {}


class Gate:
    """The checks of one run into ``out_dir``: :meth:`check` its files, :meth:`masked` its
    texts, :meth:`refuse` or :meth:`release` its outputs."""

    def __init__(self, out_dir: Path, study):
        self.out_dir = Path(out_dir)
        self.private = internal_folder(self.out_dir)
        self.study_path = resolve_study_path(study) if isinstance(study, (str, os.PathLike)) \
            and str(study) else None
        self._context = None

    @property
    def context(self) -> tuple:
        """``(facts, min_cell)`` of the study, for masking; ``(None, 5)`` when it cannot be read
        (a run may fail because of its study)."""
        if self._context is None:
            facts, min_cell = None, DisclosureRules().min_cell
            if self.study_path is not None:
                try:
                    study, facts = facts_of_path(self.study_path)
                    min_cell = DisclosureRules.from_manifest(study.manifest.disclosure).min_cell
                except Exception:  # noqa: BLE001 — masking must work whatever broke the run
                    facts = None
            self._context = (facts, min_cell)
        return self._context

    def masked(self, text, *, everywhere: bool = False):
        """``text`` as a terminal, a log or (``everywhere``) a shared page may show it."""
        facts, min_cell = self.context
        return mask_text(text, min_cell=min_cell, facts=facts, everywhere=everywhere)

    def check(self, files: dict, *, records_of: Path | None = None,
              internal: bool = False) -> pd.DataFrame:
        """Findings in ``files`` (``{name shown in the report: path}``), in the records of the
        executed notebook ``records_of``, and ``internal_output`` for an internal run."""
        parts, checked = [], []
        for name, path in files.items():
            found = check_path(path, study=self.study_path)
            parts.append(found.assign(file=name))
            checked.append(name)
        rows = [tuple(r) for part in parts for r in part[COLUMNS].itertuples(index=False)]
        if records_of is not None and records_of.is_file():
            facts, min_cell = self.context
            _, found = check_records(read_records(records_of), min_cell=min_cell, facts=facts)
            rows += [(records_of.name, where, rule, excerpt) for where, rule, excerpt in found]
        if internal and not any(r[2] == INTERNAL_RULE for r in rows):
            rows.append((next(iter(files), ""), "metadata papermill.parameters.internal",
                         INTERNAL_RULE, "internal = True"))
        findings = pd.DataFrame.from_records(rows, columns=COLUMNS).astype(object)
        findings.attrs.update(path=self.out_dir.name, files_checked=checked,
                              min_cell=parts[0].attrs.get("min_cell") if parts
                              else self.context[1])
        return findings

    def summary(self, findings: pd.DataFrame, *, report: str | None, internal: bool,
                accept_risk: str | None, written: bool) -> dict:
        """What ``run.log`` and a batch's status keep of the check: counts, never values."""
        return {"report": report, "findings": int(len(findings)),
                "rules": sorted(set(findings["rule"])) if len(findings) else [],
                "counts": rule_counts(findings), "internal": bool(internal),
                "accepted_risk": accept_risk if len(findings) and not internal else None,
                "written": written,
                "internal_folder": None if written else INTERNAL_DIR}

    def refuse(self, findings: pd.DataFrame, kept: list[str], *, internal: bool,
               summary: dict, executed: Path) -> DisclosureFindings:
        """The error of a run whose outputs stay in ``internal/``, its report written there."""
        write_json(findings, self.private / REPORT_NAME)
        what = _listing(kept)
        counts = rule_counts(findings)
        others = {rule: n for rule, n in counts.items() if rule != INTERNAL_RULE}
        found = ", ".join(f"{rule}: {n}" for rule, n in others.items())
        where = f"{self.private}{os.sep}"
        if internal:
            text = (f"This is an internal run (internal = True): {what}, labelled "
                    f"\"{BANNER_TEXT}\", are in {where} only (readable by you only). Run with "
                    f"internal = False for outputs to share."
                    + (f" The output check also found: {found}." if others else ""))
        else:
            text = (f"The run's outputs were not put where they are shared: the output check "
                    f"found {len(findings)} problem(s) that must not be shared ({found}). "
                    f"{what[0].upper() + what[1:]} are in {where} (readable by you only), with "
                    f"what was found in {REPORT_NAME}. Fix the notebook (show tables through the "
                    f"disclosure layer), or share it anyway with --accept-risk \"reason\"; the "
                    f"reason is kept in the run's log.")
        refused = DisclosureFindings(text)
        refused.summary = summary
        refused.executed_path = executed
        refused.internal_folder = self.private
        return refused

    def release(self, drafts: dict) -> dict:
        """Move each checked draft (``{shared path: draft path}``) where it is shared; the
        internal folder goes when nothing else is in it. Returns ``{shared path: path}``."""
        for target, draft in drafts.items():
            os.replace(draft, target)
        try:
            self.private.rmdir()
        except OSError:         # files of earlier internal runs are kept
            pass
        return drafts


def _listing(kept: list[str]) -> str:
    """'the executed notebook, its HTML report and its slides'."""
    return ", ".join(kept[:-1]) + (" and " if len(kept) > 1 else "") + kept[-1] if kept \
        else "its outputs"
