"""The provenance stamp of a run: what made a report, so that anyone with its inputs can check
that the report still matches them (``ipeval verify REPORT --study study.yaml``,
:mod:`.verify_stamp`; docs/provenance.md).

A stamp is a plain JSON object (schema :data:`STAMP_SCHEMA`): ipeval's version and the git
commit of its source tree, the SHA-256 of the notebook, the parameters as passed, the SHA-256
and size of every file the run reads, the disclosure rules in force, the seed, the run key and
the time. ``ipeval run`` stores it in the executed notebook (``metadata["ipeval"]["stamp"]``),
and the HTML report and the slides end with it (:func:`stamp_footer`).

The run key is the one a batch gives the same run (:func:`run_key` over the notebook, the
parameters and :func:`input_fingerprint`): ``ipeval batch --resume`` and the stamp agree on
what counts as the same run. No path of the machine is written: files are named relative to
the study's folder or to the shipped ``instruments/``.
"""
from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import subprocess
import time
from pathlib import Path, PurePath

from evaluation.disclosure.rules import DisclosureRules
from evaluation.errors import IpevalError
from evaluation.instruments import PROJECT_INSTRUMENTS
from evaluation.intake.manifest import load_manifest
from evaluation.language import LANGUAGES, Language
from evaluation.report.parameters import notebook_parameters
from evaluation.study import resolve_study_path
from evaluation.version import __version__

__all__ = ["IPEVAL_ROOT", "STAMP_ATTRIBUTE", "STAMP_CLASS", "STAMP_SCHEMA", "STAMP_TEXT",
           "STUDY_ROOT", "file_sha256", "input_fingerprint", "input_hashes", "run_key",
           "run_stamp", "source_commit", "stamp_footer", "stamp_language", "stamp_text"]

STAMP_SCHEMA = "ipeval-stamp/1"
STAMP_CLASS = "ipeval-stamp"             # the footer of a report or a slide deck
STAMP_ATTRIBUTE = "data-ipeval-stamp"    # the stamp itself, as JSON, on that footer
STUDY_ROOT, IPEVAL_ROOT = "study", "ipeval"   # what an input's name is relative to
SHORT = 8   # hex digits shown of a hash: too few for 11 digits in a row (a national ID's form)
_REPOSITORY = Path(__file__).resolve().parents[2]

# The words a reader sees, as messages of the catalogues (evaluation/language/messages).
def N_(message: str) -> str:
    return message


STAMP_TEXT = {
    "title": N_("Provenance"), "commit": N_("commit {commit}"), "unknown": N_("unknown"),
    "local_changes": N_("with local changes"), "date": N_("{date} UTC"),
    "run_key": N_("run key {key}"), "parameters": N_("parameters: {parameters}"),
    "no_parameters": N_("parameters: none"),
    "verify": N_("check it with: ipeval verify REPORT --study study.yaml"),
}


def stamp_text(name: str, /, language: str = "en", **values) -> str:
    """One visible string of the stamp in ``language`` (a code of :data:`LANGUAGES`; others
    read English).

    >>> stamp_text("run_key", "nb", key="9f9f9f9f")
    'kjørenøkkel 9f9f9f9f'
    """
    said = _language(language)
    if name == "inputs":
        n = values["n"]
        return said.ngettext("inputs: {n} file", "inputs: {n} files", n).format(n=n)
    return said.gettext(STAMP_TEXT[name]).format(**values)


def _language(code) -> Language:
    return Language(code if code in LANGUAGES else "en")


def run_key(notebook_bytes: bytes, parameters: dict, data: str) -> str:
    """sha256 of the notebook's bytes, its parameters (canonical JSON) and the input data."""
    h = hashlib.sha256()
    h.update(hashlib.sha256(notebook_bytes).digest())
    h.update(json.dumps(parameters, sort_keys=True, ensure_ascii=False, default=str).encode())
    h.update(data.encode())
    return h.hexdigest()


def input_hashes(study, cwd) -> list[dict]:
    """Every file a study run reads, in the order :func:`input_fingerprint` hashes them: the
    manifest, every source file, the study's own instrument definitions and the shipped ones.

    Each is ``{"root": "study" | "ipeval", "file": name, "kind": "manifest" | "source" |
    "instrument", "sha256": hex, "bytes": size}``, the name relative to the study's folder (or
    to ipeval's folder of the shipped ``instruments/``). ``study`` is as a run is given it (relative to ``cwd``, the kernel's
    working directory); none (a notebook without a study) reads no file.
    """
    manifest = _manifest(study, cwd)
    if manifest is None:
        return []
    root = manifest.path.parent
    files = [(STUDY_ROOT, root, "manifest", manifest.path)]
    files += [(STUDY_ROOT, root, "source", Path(spec.file)) for spec in manifest.sources.values()]
    for where, base, folder in ((STUDY_ROOT, root, root / "instruments"),
                                (IPEVAL_ROOT, PROJECT_INSTRUMENTS.parent, PROJECT_INSTRUMENTS)):
        if folder.is_dir():
            files += [(where, base, "instrument", path) for path in sorted(folder.glob("*.yaml"))]
    digests: dict[Path, str] = {}
    found = []
    for where, base, kind, path in files:
        if path not in digests:     # two sources may read one file
            digests[path] = file_sha256(path)
        found.append({"root": where, "file": _relative(path, base), "kind": kind,
                      "sha256": digests[path], "bytes": path.stat().st_size})
    return found


def input_fingerprint(study, cwd) -> str:
    """A hash of what a study run reads (:func:`input_hashes`). Changing any byte of it
    changes the run key, so ``--resume`` re-runs."""
    return _fingerprint(input_hashes(study, cwd), study)


def file_sha256(path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (a register may be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def source_commit() -> dict:
    """The git commit of ipeval's source tree and whether it has local changes; ``commit``
    ``"unknown"`` (and ``local_changes`` None) when it is not a git checkout or git is
    missing. A process runs the code it loaded, so the answer is kept for the process."""
    unknown = {"commit": "unknown", "local_changes": None}
    if not (_REPOSITORY / ".git").exists():    # an installed package: no checkout of its own
        return unknown
    # Read only: no optional lock, so a run never writes git's index.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPOSITORY, env=env,
                              capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=_REPOSITORY, env=env, capture_output=True, text=True,
                                timeout=10)
    except (OSError, subprocess.SubprocessError):
        return unknown
    commit = head.stdout.strip()
    if head.returncode != 0 or len(commit) < 40:
        return unknown
    return {"commit": commit,
            "local_changes": bool(status.stdout.strip()) if status.returncode == 0 else None}


def run_stamp(notebook, parameters: dict, *, cwd=None, created: float | None = None) -> dict:
    """The stamp of one run of ``notebook`` with ``parameters`` (as passed to the kernel, paths
    relative to ``cwd``, the kernel's working directory; default this process's).

    Raises ManifestError or InputFileError if the study cannot be read.

    Examples
    --------
    >>> import nbformat, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> cell = nbformat.v4.new_code_cell("seed = 1")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> nb = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {
    ...     "name": "python3", "display_name": "Python 3", "language": "python"}})
    >>> nbformat.write(nb, str(folder / "n.ipynb"))
    >>> stamp = run_stamp(folder / "n.ipynb", {"seed": 7}, cwd=folder)
    >>> stamp["schema"], stamp["notebook"]["path"], stamp["seed"], stamp["inputs"]
    ('ipeval-stamp/1', 'n.ipynb', 7, [])
    """
    cwd = Path(cwd or os.getcwd()).resolve()
    notebook = Path(notebook)
    declared = notebook_parameters(notebook)
    params = json.loads(json.dumps(parameters or {}, ensure_ascii=False, default=str))
    study = params.get("study", declared.get("study", {}).get("default"))
    inputs = input_hashes(study, cwd)
    notebook_bytes = notebook.read_bytes()
    rules, language = None, params.get("language")
    manifest = _manifest(study, cwd)
    if manifest is not None:
        language = language or manifest.language
        try:
            rules = DisclosureRules.from_manifest(manifest.disclosure).as_dict()
        except IpevalError:       # a run need not use the disclosure layer; say so, not fail
            rules = None
    seed = params.get("seed", declared.get("seed", {}).get("default"))
    moment = time.gmtime(time.time() if created is None else created)
    return {
        "schema": STAMP_SCHEMA,
        "ipeval": {"version": __version__, **source_commit()},
        "notebook": {"path": _relative(notebook.resolve(), cwd),
                     "sha256": hashlib.sha256(notebook_bytes).hexdigest()},
        "parameters": params,
        "study": study if isinstance(study, str) and study else None,
        "inputs": inputs,
        "disclosure": rules,
        "seed": seed if isinstance(seed, (int, float, str)) and not isinstance(seed, bool) else None,
        "language": language,
        "run_key": run_key(notebook_bytes, {k: v for k, v in params.items() if k != "output_dir"},
                           _fingerprint(inputs, study)),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", moment),
    }


def stamp_language(stamp: dict) -> str:
    """The language the footer is written in: the report's, when the stamp has words for it."""
    language = (stamp or {}).get("language")
    return language if language in LANGUAGES else "en"


def stamp_footer(stamp: dict, language: str = "en") -> str:
    """The stamp as the end of a page: ``<footer class="ipeval-stamp" data-ipeval-stamp=…>``
    holding the stamp as JSON, with a short text a reader can see (everything escaped).

    Examples
    --------
    >>> stamp = {"ipeval": {"version": "0.1.0", "commit": "0123abcd" * 5, "local_changes": False},
    ...          "created": "2026-01-02T03:04:05Z", "run_key": "9f" * 32,
    ...          "inputs": [{"file": "study.yaml"}], "parameters": {"seed": 7}}
    >>> print(stamp_footer(stamp).split("<p>")[1].split("</p>")[0])
    Provenance: ipeval 0.1.0 · commit 0123abcd · 2026-01-02 03:04 UTC · run key 9f9f9f9f · inputs: 1 file
    """
    t = functools.partial(stamp_text, language=language)
    about = stamp.get("ipeval") or {}
    commit = str(about.get("commit") or "unknown")
    commit = t("unknown") if commit == "unknown" else commit[:SHORT]
    if about.get("local_changes"):
        commit += f" ({t('local_changes')})"
    created = str(stamp.get("created") or "")
    files = {(e.get("root"), e.get("file")) for e in stamp.get("inputs") or []}
    parts = [f"ipeval {about.get('version', t('unknown'))}", t("commit", commit=commit),
             t("date", date=created[:16].replace("T", " ")),
             t("run_key", key=str(stamp.get("run_key") or "")[:SHORT]),
             t("inputs", n=len(files))]
    params = stamp.get("parameters") or {}
    shown = ", ".join(f"{name}={_shown(value)}" for name, value in params.items())
    lines = [f"{t('title')}: " + " · ".join(parts),
             t("parameters", parameters=shown) if shown else t("no_parameters"), t("verify")]
    data = json.dumps(stamp, ensure_ascii=False, sort_keys=True)
    return (f'<footer class="{STAMP_CLASS}" {STAMP_ATTRIBUTE}="{html.escape(data, quote=True)}" '
            f'style="margin:2em 0 1em;padding-top:.5em;border-top:1px solid #ccc;'
            f'font-size:.8em;color:#555">'
            + "".join(f"<p>{html.escape(line)}</p>" for line in lines) + "</footer>")


def _manifest(study, cwd):
    """The study's manifest, found as the kernel finds it (from its working directory)."""
    if not isinstance(study, str) or not study:
        return None
    previous = os.getcwd()
    try:
        os.chdir(cwd)
        return load_manifest(resolve_study_path(study))
    finally:
        os.chdir(previous)


def _fingerprint(hashes: list[dict], study) -> str:
    if not (isinstance(study, str) and study):
        return "no-study"
    h = hashlib.sha256()
    for entry in hashes:
        h.update(PurePath(entry["file"]).name.encode())
        h.update(bytes.fromhex(entry["sha256"]))
    return h.hexdigest()


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base``, as POSIX; only the file's name when there is no
    relative way (another drive): never an absolute path of the machine."""
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()
    except ValueError:
        return Path(path).name
