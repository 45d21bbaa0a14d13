"""Does a report still match its inputs? ``ipeval verify REPORT --study study.yaml``.

:func:`read_stamp` reads the provenance stamp (:mod:`.stamp`) back from a report (``.html``,
``.slides.html``) or an executed notebook (``.ipynb``); :func:`verify_report` hashes every
input file the stamp lists again, as it is now in the study given, and the notebook if it is
where the stamp says (relative to the folder the command runs in), and says file by file
what is the same and what changed. The hashes say whether a file is the same file; they say
nothing of what it holds (docs/provenance.md).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from evaluation.errors import InputFileError, IpevalError, ManifestError
from evaluation.instruments import PROJECT_INSTRUMENTS
from evaluation.report.stamp import (IPEVAL_ROOT, SHORT, STAMP_ATTRIBUTE, STAMP_SCHEMA,
                                     file_sha256, input_fingerprint, input_hashes, run_key)

__all__ = ["FileCheck", "StampCheck", "read_stamp", "verify_report"]

# Hex digits of a hash shown in the table: as the stamp's own footer, too few for 11 digits in a
# row (the form of a national ID), should the table be pasted where the checker reads.
PREFIX = SHORT
_HOW_TO_STAMP = ("a report or executed notebook written by `ipeval run` or `ipeval batch`, "
                 "which carry the stamp; run the notebook again to get one")


@dataclass(frozen=True)
class FileCheck:
    """One file of the stamp: its hash recorded and as it is now (None: not there)."""
    root: str          # "study", "ipeval" or "notebook"
    file: str
    recorded: str | None
    current: str | None

    @property
    def status(self) -> str:
        if self.recorded is None:
            return "new"
        if self.current is None:
            return "not found" if self.root == "notebook" else "missing"
        return "same" if self.current == self.recorded else "changed"

    @property
    def name(self) -> str:
        return self.file if self.root == "study" else f"{self.root}: {self.file}"


@dataclass
class StampCheck:
    """The outcome of :func:`verify_report`; ``ok`` when nothing changed or is missing."""
    report: Path
    stamp: dict
    study: Path | None
    files: list[FileCheck]
    notebook: FileCheck
    run_key: str = "not recomputed"        # "same", "differs" or "not recomputed"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (all(f.status == "same" for f in self.files) and not self.problems
                and self.notebook.status in ("same", "not found") and self.run_key != "differs")

    def lines(self) -> list[str]:
        """The check as a table a terminal shows: file, recorded and current hash prefix."""
        about = self.stamp.get("ipeval") or {}
        head = [f"{self.report}: stamp of {self.stamp.get('created', '?')}, ipeval "
                f"{about.get('version', '?')} (commit {str(about.get('commit', '?'))[:PREFIX]}"
                f"{', with local changes' if about.get('local_changes') else ''}), run key "
                f"{str(self.stamp.get('run_key', '?'))[:PREFIX]}",
                f"study: {_shown_path(self.study) if self.study is not None else '(none)'}"]
        rows = [("status", "file", "recorded", "current")]
        for f in [*self.files, self.notebook]:
            rows.append((f.status if f.status in ("same", "not found") else f.status.upper(),
                         f.name, (f.recorded or "(not recorded)")[:PREFIX],
                         (f.current or f"({f.status})")[:PREFIX]))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        table = ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3]
                 for r in rows]
        tail = [f"run key: {self.run_key}"] + [f"  - {p}" for p in self.problems]
        return head + table + tail + [self.verdict()]

    def verdict(self) -> str:
        n = len(self.files)
        if self.ok:
            checked = ("and its notebook" if self.notebook.status == "same" else
                       f"(the notebook was not found at {self.notebook.file}: run from the "
                       f"folder the run started in to check it too)")
            return f"Verified: the report matches its {n} input file(s) {checked}."
        counts = {s: [f.name for f in self.files if f.status == s]
                  for s in ("changed", "missing", "new")}
        said = [f"{len(v)} {s} ({', '.join(v)})" for s, v in counts.items() if v]
        if self.notebook.status == "changed":
            said.append("the notebook changed")
        if self.run_key == "differs" and not said:
            said.append("the run key recomputed from the same files differs from the recorded "
                        "one: the stamp's parameters or key were changed")
        said += [p.rstrip(".") for p in self.problems]
        return f"NOT verified: {'; '.join(said)}."


class _StampReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name == STAMP_ATTRIBUTE and value]


def read_stamp(path) -> dict:
    """The provenance stamp of a report (``.html``, ``.slides.html``) or executed notebook.

    Raises
    ------
    InputFileError
        If the file is missing, cannot be read, is of another kind, or holds no stamp
        (exit 2): the message says what was expected and what to do.

    Examples
    --------
    >>> import tempfile
    >>> page = Path(tempfile.mkdtemp()) / "r.html"
    >>> _ = page.write_text('<footer data-ipeval-stamp="{&quot;schema&quot;: '
    ...                     '&quot;ipeval-stamp/1&quot;}"></footer>')
    >>> read_stamp(page)
    {'schema': 'ipeval-stamp/1'}
    """
    path = Path(path)
    expected = _HOW_TO_STAMP
    if not path.is_file():
        raise InputFileError(path, "not found: there is no report to verify.", expected=expected)
    suffix = path.suffix.lower()
    if suffix in (".docx", ".pdf"):
        raise InputFileError(path, "a Word or PDF file does not carry the stamp in a form ipeval "
                             "reads back yet.", expected="the run's .html report or its "
                             "executed .ipynb, which do")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"cannot be read as text ({type(exc).__name__}).",
                             expected=expected) from None
    if suffix == ".ipynb":
        try:
            nb = json.loads(text)
        except ValueError:
            raise InputFileError(path, "not a notebook (not JSON).", expected=expected) from None
        meta = nb.get("metadata") if isinstance(nb, dict) else None
        stamp = ((meta or {}).get("ipeval") or {}).get("stamp") if isinstance(meta, dict) else None
    elif suffix in (".html", ".htm"):
        reader = _StampReader()
        reader.feed(text)
        reader.close()
        try:
            stamp = json.loads(reader.found[-1]) if reader.found else None
        except ValueError:
            raise InputFileError(path, f"its {STAMP_ATTRIBUTE} is not JSON: the stamp was "
                                 f"damaged.", expected=expected) from None
    else:
        raise InputFileError(path, f"ipeval verify reads a release bundle (.zip), a report "
                             f"(.html, .slides.html) or an executed notebook (.ipynb); got "
                             f"{suffix or 'a file without a suffix'}.", expected=expected)
    if not isinstance(stamp, dict):
        raise InputFileError(path, "holds no ipeval provenance stamp.", expected=expected)
    if stamp.get("schema") != STAMP_SCHEMA:
        raise InputFileError(path, f"its stamp is of schema {stamp.get('schema')!r}, which this "
                             f"ipeval does not read.", expected=f"a stamp of {STAMP_SCHEMA}")
    return stamp


def verify_report(report, study=None, *, cwd=None) -> StampCheck:
    """Hash the inputs of the run that made ``report`` again and compare them with its stamp.

    Parameters
    ----------
    report : str or Path
        A report (``.html``, ``.slides.html``) or executed notebook (``.ipynb``) with a stamp.
    study : str or Path, optional
        The study's ``study.yaml`` (or its folder) as it is now; default the study the stamp
        records, found from ``cwd``. A copy of the study in another folder verifies as well:
        files are compared by their name within the study's folder.
    cwd : str or Path, optional
        Where the notebook's recorded path starts (default this process's folder: the one the
        run was started in).

    Raises
    ------
    InputFileError
        If the report has no readable stamp.
    ManifestError
        If the study cannot be found (exit 2).
    """
    report = Path(report)
    stamp = read_stamp(report)
    cwd = Path(cwd or os.getcwd())
    recorded = [e for e in stamp.get("inputs") or [] if isinstance(e, dict)]
    manifest = _manifest_path(study if study is not None else stamp.get("study"), cwd,
                              report, needed=bool(recorded))
    files, seen = [], set()
    for entry in recorded:
        where = (str(entry.get("root")), str(entry.get("file")))
        if where in seen:
            continue
        seen.add(where)
        if entry.get("kind") == "manifest":
            path = manifest
        else:
            base = PROJECT_INSTRUMENTS.parent if where[0] == IPEVAL_ROOT else manifest.parent
            path = base / where[1]
        files.append(FileCheck(*where, entry.get("sha256"),
                               file_sha256(path) if path.is_file() else None))
    check = StampCheck(report, stamp, manifest, files, _notebook_check(stamp, cwd))
    if manifest is None:
        return check
    try:
        now = input_hashes(str(manifest), cwd)
    except IpevalError as exc:       # a file missing or the manifest changed: said above
        if all(f.status == "same" for f in files):
            check.problems.append(f"the study cannot be read now: {exc}")
        return check
    for entry in now:                # files the run would read now but did not
        where = (entry["root"], entry["file"])
        if entry["kind"] != "manifest" and where not in seen:
            seen.add(where)
            files.append(FileCheck(*where, None, entry["sha256"]))
    if check.notebook.status in ("same", "changed"):
        params = {k: v for k, v in (stamp.get("parameters") or {}).items() if k != "output_dir"}
        key = run_key((cwd / check.notebook.file).read_bytes(), params,
                      input_fingerprint(str(manifest), cwd))
        check.run_key = "same" if key == stamp.get("run_key") else "differs"
    return check


def _manifest_path(study, cwd: Path, report: Path, *, needed: bool) -> Path | None:
    if study is None or study == "":
        if needed:
            raise ManifestError(f"{report}: the stamp names no study to compare with. Give the "
                                f"study the report was made from with --study study.yaml.")
        return None
    given = Path(study)
    path = given if given.is_absolute() else cwd / given
    if not given.is_absolute() and not path.exists() and (cwd.parent / given).exists():
        path = cwd.parent / given       # found one folder up, as the run found it
    path = path / "study.yaml" if path.is_dir() else path
    if not path.is_file():
        raise ManifestError(f"Study manifest not found: {given}. Expected the study.yaml (or "
                            f"the folder holding it) that {report.name} was made from; give it "
                            f"with --study.")
    return path


def _shown_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:       # another drive
        return str(path)


def _notebook_check(stamp: dict, cwd: Path) -> FileCheck:
    recorded = stamp.get("notebook") or {}
    name = str(recorded.get("path") or "?")
    path = cwd / name
    return FileCheck("notebook", name, recorded.get("sha256"),
                     file_sha256(path) if path.is_file() else None)
