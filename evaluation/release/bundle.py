"""The bundle of a release: one ZIP with the approved outputs, their hashes and decisions.

``ipeval release OUT --bundle ZIP`` packs every output of ``OUT/release.json`` that the
checkers approved (:func:`.decisions.output_states`: four eyes, the version on disk) and
nothing else::

    manifest.json        what is inside, with each file's SHA-256, size, status and the
                         decisions that let it out ("ipeval-bundle/1")
    results.json         the packed outputs as ACRO records (:mod:`.acro`), for SACRO's viewer
    outputs/<file>       each approved file, at its path relative to OUT

A file that changed after the release was recorded refuses the whole bundle (its hash no
longer is the one the checkers decided on). Paths stay inside OUT; nothing comes from a run's
private folder, and from ``internal/`` only an output that failed the check and was approved
with an exception. ``ipeval verify ZIP`` (:mod:`.verify`) checks a bundle again, anywhere.

Examples
--------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> write_bundle(out, out / "b.zip")                              # doctest: +ELLIPSIS
Traceback (most recent call last):
...
evaluation.errors.InputFileError: .../release.json: no release record here. ...
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from evaluation.disclosure.private_record import PRIVATE_DIR
from evaluation.errors import OutputError
from evaluation.release.acro import ACRO_RESULTS_FILE, acro_results
from evaluation.release.decisions import (DECISIONS_FILE, decisions_head, output_states,
                                         read_decisions)
from evaluation.release.inventory import RELEASE_FILE, file_sha256, read_release
from evaluation.report.gate import INTERNAL_DIR
from evaluation.version import __version__

__all__ = ["BUNDLE_SCHEMA", "MANIFEST", "OUTPUTS_DIR", "BundleReport", "bundle_path_problem",
           "write_bundle"]

BUNDLE_SCHEMA = "ipeval-bundle/1"
MANIFEST = "manifest.json"
OUTPUTS_DIR = "outputs"
_PRIVATE_NAMES = {PRIVATE_DIR, "private"}      # the brief's private/ and the record's .private
_CHUNK = 1 << 20


@dataclass
class BundleReport:
    """What :func:`write_bundle` did: the zip, the uids packed, and ``(uid, why)`` of the rest."""
    path: Path
    packed: list = field(default_factory=list)
    left_out: list = field(default_factory=list)


def bundle_path_problem(file) -> str | None:
    """Why ``file`` (a path from a release or a manifest) may not be packed, or None.

    >>> bundle_path_problem("runs/a/ip_evaluation.html") is None
    True
    >>> bundle_path_problem("../etc/passwd")
    "it climbs out of the batch folder ('..')"
    >>> bundle_path_problem("runs/a/.private/ledger.json")
    'it lies in a private folder (true values): never released'
    """
    if not isinstance(file, str) or not file.strip():
        return "it names no file"
    if "\\" in file or "\x00" in file:
        return "it is not a plain POSIX path"
    path = PurePosixPath(file)
    if path.is_absolute() or (len(file) > 1 and file[1] == ":"):
        return "it is an absolute path"
    if ".." in path.parts:
        return "it climbs out of the batch folder ('..')"
    if any(part in _PRIVATE_NAMES for part in path.parts):
        return "it lies in a private folder (true values): never released"
    return None


def write_bundle(out_dir, zip_path, *, now: datetime | None = None) -> BundleReport:
    """Pack the approved outputs of the batch folder ``out_dir`` into ``zip_path``.

    Raises :class:`~evaluation.errors.OutputError` when nothing is approved, when an approved
    file changed after the release (or is missing), when a path would leave the batch folder
    or come from a private folder, and when ``zip_path`` lies in ``OUT/runs`` or would
    replace a file of the batch.
    """
    out = Path(out_dir).resolve()
    target = Path(zip_path).resolve()
    release = read_release(out)
    _check_target(out, target, release)
    decisions = read_decisions(out)
    states = output_states(release, decisions)
    now = now or datetime.now(timezone.utc)

    packed, left_out = [], []
    for output in release.get("outputs", []):
        uid, state = output["uid"], states[output["uid"]]
        if not (state.approved and output.get("releasable", True)):
            left_out.append((uid, state.why))
            continue
        problem = bundle_path_problem(output.get("file"))
        if problem:
            raise OutputError(f"{out / RELEASE_FILE}: output {uid} ({output.get('file')!r}) "
                              f"cannot be packed: {problem}. Record the release again with "
                              f"`ipeval release {out_dir}`.")
        path = _inside(out, output)
        # The path as written and where a link leads: either way internal/ is for failed outputs.
        parts = set(PurePosixPath(output["file"]).parts) | set(path.relative_to(out).parts)
        if INTERNAL_DIR in parts and not (output.get("status") == "fail"
                                          and state.exception is not None):
            left_out.append((uid, f"it lies in {INTERNAL_DIR}/: only a failed output approved "
                                  f"with an exception may leave from there"))
            continue
        packed.append((output, state, path))
    if not packed:
        raise OutputError(f"{out}: no output of the release is approved, so there is nothing "
                          f"to bundle ({len(left_out)} left out). Output checkers approve with "
                          f"`ipeval review {out_dir} --checker NAME` "
                          f"({release.get('approvals_required', 2)} different checkers per "
                          f"output; a failed output also needs the researcher's exception).")
    for output, _, path in packed:                 # every hash before anything is written
        _same_file(path, output)

    manifest = _manifest(release, packed, left_out, out, now)
    results = acro_results(release, states, uids=[o["uid"] for o, _, _ in packed],
                           prefix=f"{OUTPUTS_DIR}/")
    _write_zip(target, manifest, results, packed, now)
    return BundleReport(target, [o["uid"] for o, _, _ in packed], left_out)


def _check_target(out: Path, target: Path, release: dict) -> None:
    runs = out / "runs"
    if target == runs or runs in target.parents:
        raise OutputError(f"{target}: a bundle may not be written inside {runs} (the runs' "
                          f"folders are what it packs); write it next to the batch folder.")
    taken = {out / RELEASE_FILE, out / DECISIONS_FILE, out / ACRO_RESULTS_FILE,
             out / "batch.json"}
    taken |= {out / str(o.get("file")) for o in release.get("outputs", []) if o.get("file")}
    if target in taken or target.is_dir():
        raise OutputError(f"{target}: that is a file of the batch folder (or a folder); give "
                          f"the bundle a name of its own, e.g. {out.name}-release.zip.")


def _inside(out: Path, output: dict) -> Path:
    """The output's file, resolved, refused when it (or a symlink on the way) leaves OUT."""
    path = (out / output["file"]).resolve()
    if path != out and out not in path.parents:
        raise OutputError(f"{out / output['file']}: output {output['uid']} points outside the "
                          f"batch folder (through a symbolic link); it is not packed. Replace "
                          f"the link by the file and record the release again.")
    if any(part in _PRIVATE_NAMES for part in path.relative_to(out).parts):
        raise OutputError(f"{out / output['file']}: output {output['uid']} leads into a "
                          f"private folder; it is never packed.")
    return path


def _same_file(path: Path, output: dict) -> None:
    if not path.is_file():
        raise OutputError(f"{path}: output {output['uid']} is approved but its file is gone; "
                          f"no bundle written. Record the release again (`ipeval release`).")
    if file_sha256(path) != str(output.get("sha256", "")).lower():
        raise OutputError(f"{path}: the file changed after the release was recorded (its "
                          f"SHA-256 is not the one in {RELEASE_FILE} that the checkers decided "
                          f"on); no bundle written. Record the release again and have it "
                          f"reviewed again.")


def _manifest(release: dict, packed: list, left_out: list, out: Path, now: datetime) -> dict:
    run_ids = {o.get("run_id") for o, _, _ in packed}
    return {
        "schema": BUNDLE_SCHEMA,
        "created": now.isoformat(timespec="seconds"),
        "ipeval_version": __version__,
        "batch": release.get("batch", {}),
        "rules": release.get("rules", {}),
        "approvals_required": int(release.get("approvals_required", 2)),
        "release_created": release.get("created"),
        "runs": [{k: r.get(k) for k in ("run_id", "key", "label", "parameters")}
                 for r in release.get("runs", []) if r.get("run_id") in run_ids],
        "outputs": [{"uid": o["uid"], "name": o.get("name"), "run_id": o.get("run_id"),
                     "file": o["file"], "sha256": str(o["sha256"]).lower(),
                     "bytes": path.stat().st_size, "status": o.get("status"),
                     "kind": o.get("kind"), "releasable": bool(o.get("releasable", True)),
                     "approvals": list(state.approvals), "exception": state.exception,
                     "decisions": list(state.decisions)}
                    for o, state, path in packed],
        "decisions_head": decisions_head(out),
        "left_out": [{"uid": uid, "why": why} for uid, why in left_out],
    }


def _info(name: str, now: datetime) -> zipfile.ZipInfo:
    # One fixed time and mode for every entry: the same release gives the same bytes.
    stamp = now.astimezone(timezone.utc).timetuple()[:6]
    info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16
    return info


def _write_zip(target: Path, manifest: dict, results: dict, packed: list,
               now: datetime) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            zf.writestr(_info(MANIFEST, now), json.dumps(manifest, indent=1, ensure_ascii=False))
            zf.writestr(_info(ACRO_RESULTS_FILE, now),
                        json.dumps(results, indent=4, ensure_ascii=False))
            for output, _, path in sorted(packed, key=lambda p: p[0]["file"]):
                digest = hashlib.sha256()
                with open(path, "rb") as src, zf.open(
                        _info(f"{OUTPUTS_DIR}/{output['file']}", now), "w") as dst:
                    for chunk in iter(lambda: src.read(_CHUNK), b""):
                        digest.update(chunk)
                        dst.write(chunk)
                if digest.hexdigest() != _manifest_sha(manifest, output["uid"]):
                    # Changed while being packed: the bytes in the zip are not the approved ones.
                    raise OutputError(f"{path}: the file changed while it was being packed; "
                                      f"no bundle written.")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _manifest_sha(manifest: dict, uid: str) -> str:
    return next(o["sha256"] for o in manifest["outputs"] if o["uid"] == uid)
