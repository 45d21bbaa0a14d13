"""Check a release bundle again: ``ipeval verify ZIP [--against OUT]``.

Whoever receives a bundle (:mod:`.bundle`) can check, without the batch folder, that it holds
exactly the files its manifest lists, byte for byte (SHA-256 and size), nothing more, no entry
that would unpack outside the folder, that each output's recorded decisions let it out under
the four-eyes rule (recomputed with :func:`.decisions.output_states`) and that ACRO's
``results.json`` lists exactly the packed outputs. With the batch folder (``against=OUT``) it
also checks that every recorded decision is a line of ``OUT/decisions.jsonl`` as it stands
(whose chain of hashes is intact), that none on the packed versions was left out, and that
``OUT/release.json`` gives the same hash for each packed output.

Examples
--------
>>> import tempfile, zipfile
>>> path = Path(tempfile.mkdtemp()) / "b.zip"
>>> with zipfile.ZipFile(path, "w") as zf:
...     zf.writestr("outputs/x.html", "<p>hi</p>")
>>> verify_bundle(path)
['The bundle has no manifest.json: it was not written by `ipeval release --bundle`.']
"""
from __future__ import annotations

import hashlib
import json
import stat
import zipfile
import zlib
from collections import Counter
from pathlib import Path, PurePosixPath

from evaluation.errors import InputFileError
from evaluation.release.acro import ACRO_RESULTS_FILE
from evaluation.release.bundle import BUNDLE_SCHEMA, MANIFEST, OUTPUTS_DIR, bundle_path_problem
from evaluation.release.decisions import (DECISIONS_FILE, line_hashes, output_states,
                                         read_decisions)
from evaluation.release.inventory import read_release
from evaluation.report.gate import INTERNAL_DIR

__all__ = ["verify_bundle"]

_STATUSES = ("pass", "fail", "review")
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


def verify_bundle(zip_path, against=None) -> list[str]:
    """The problems of the bundle ``zip_path``, one plain sentence each; empty: verified.

    ``against``: the batch folder the bundle was made from, to compare its decisions and
    release record with.
    """
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"{zip_path} cannot be opened as a zip file ({exc})."]
    with zf:
        infos = zf.infolist()
        problems = _entry_problems(infos)
        manifest, problem = _read_json(zf, MANIFEST)
        if manifest is None:
            return problems + [problem]
        outputs, more = _manifest_outputs(manifest)
        problems += more
        problems += _content_problems(zf, infos, outputs)
        problems += _four_eyes_problems(manifest, outputs)
        problems += _results_problems(zf, outputs)
    if against is not None:
        problems += _against_problems(Path(against), manifest, outputs)
    return problems


def _entry_problems(infos) -> list[str]:
    problems = []
    for name, n in Counter(i.filename for i in infos).items():
        if n > 1:
            problems.append(f"The entry {name!r} is in the bundle {n} times (which one "
                            f"unpacks depends on the tool).")
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            problems.append(f"The entry {name!r} has an absolute path: it would unpack "
                            f"outside the folder it is unpacked in.")
        if ".." in parts:
            problems.append(f"The entry {name!r} climbs out with '..': it would unpack "
                            f"outside the folder it is unpacked in.")
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(f"The entry {name!r} is a symbolic link, not a file.")
    return problems


def _read_json(zf: zipfile.ZipFile, name: str):
    try:
        data = zf.read(name)
    except KeyError:
        return None, (f"The bundle has no {name}: it was not written by "
                      f"`ipeval release --bundle`.")
    except _DAMAGED as exc:
        return None, f"The bundle's {name} cannot be read ({exc}): the zip is damaged."
    try:
        return json.loads(data.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"The bundle's {name} is not JSON ({exc})."


def _manifest_outputs(manifest) -> tuple[list[dict], list[str]]:
    """The manifest's outputs that are well formed, and the problems of the rest."""
    if not isinstance(manifest, dict) or manifest.get("schema") != BUNDLE_SCHEMA:
        got = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
        return [], [f"manifest.json is not an {BUNDLE_SCHEMA} manifest (schema {got!r})."]
    problems, good, seen = [], [], set()
    need = manifest.get("approvals_required")
    if not isinstance(need, int) or isinstance(need, bool) or need < 1:
        problems.append(f"manifest.json asks for {need!r} approvals per output: not a number "
                        f"of checkers (at least 1).")
    if not isinstance(manifest.get("outputs"), list) or not manifest["outputs"]:
        return [], problems + ["manifest.json lists no output."]
    for k, o in enumerate(manifest["outputs"]):
        what = f"Output {k + 1} of manifest.json"
        if not isinstance(o, dict):
            problems.append(f"{what} is not a record.")
            continue
        what = f"Output {o.get('uid')!r} of manifest.json"
        sha = o.get("sha256")
        if not (isinstance(o.get("uid"), str) and isinstance(o.get("file"), str)
                and isinstance(sha, str) and len(sha) == 64
                and all(c in "0123456789abcdef" for c in sha)
                and isinstance(o.get("bytes"), int) and o.get("status") in _STATUSES
                and isinstance(o.get("decisions"), list)):
            problems.append(f"{what} lacks uid, file, sha256 (64 hex digits), bytes, status or "
                            f"decisions.")
            continue
        if o["uid"] in seen or o["file"] in {g["file"] for g in good}:
            problems.append(f"{what} is listed twice.")
            continue
        seen.add(o["uid"])
        why = bundle_path_problem(o["file"])
        if why:
            problems.append(f"{what} may not leave: its file {o['file']!r} {why[3:]}.")
            continue
        if o.get("releasable") is not True:
            problems.append(f"{what} is an internal output (not releasable): it never leaves.")
        if INTERNAL_DIR in PurePosixPath(o["file"]).parts and o["status"] != "fail":
            problems.append(f"{what} comes from {INTERNAL_DIR}/ but is not a failed output "
                            f"approved with an exception.")
        good.append(o)
    return good, problems


def _content_problems(zf: zipfile.ZipFile, infos, outputs: list[dict]) -> list[str]:
    problems = []
    expected = {f"{OUTPUTS_DIR}/{o['file']}": o for o in outputs}
    for name in sorted({i.filename for i in infos} - set(expected) - {MANIFEST, ACRO_RESULTS_FILE}):
        problems.append(f"The bundle holds {name!r}, which manifest.json does not list.")
    present = {i.filename for i in infos}
    for name, o in expected.items():
        if name not in present:
            problems.append(f"{o['uid']}: {name} is listed in manifest.json but not in the "
                            f"bundle.")
            continue
        digest, size = hashlib.sha256(), 0
        try:
            with zf.open(name) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
                    size += len(chunk)
        except _DAMAGED as exc:
            problems.append(f"{o['uid']}: {name} cannot be read ({exc}): the zip is damaged.")
            continue
        if digest.hexdigest() != o["sha256"]:
            problems.append(f"{o['uid']}: the SHA-256 of {name} is not the one in "
                            f"manifest.json: the file was changed.")
        if size != o["bytes"]:
            problems.append(f"{o['uid']}: {name} has {size} bytes, manifest.json says "
                            f"{o['bytes']}.")
    return problems


def _four_eyes_problems(manifest: dict, outputs: list[dict]) -> list[str]:
    problems = []
    need = manifest.get("approvals_required")
    need = need if isinstance(need, int) and not isinstance(need, bool) and need >= 1 else 2
    for o in outputs:
        decisions = [d for d in o["decisions"] if isinstance(d, dict)]
        foreign = [d for d in decisions
                   if d.get("uid") != o["uid"] or d.get("sha256") != o["sha256"]]
        for d in foreign:
            problems.append(f"{o['uid']}: decision {d.get('seq')} recorded with it is about "
                            f"another output or another version of the file.")
        # One output alone, so a decision listed under another output cannot count for it.
        release = {"approvals_required": need, "outputs": [
            {"uid": o["uid"], "sha256": o["sha256"], "status": o["status"],
             "releasable": o.get("releasable") is True}]}
        state = output_states(release, decisions)[o["uid"]]
        if not state.approved:
            problems.append(f"{o['uid']} ({o['file']}) is not approved by the decisions "
                            f"recorded with it: {state.why}.")
        elif sorted(o.get("approvals") or []) != sorted(state.approvals):
            problems.append(f"{o['uid']}: the approvers manifest.json names "
                            f"({', '.join(o.get('approvals') or [])}) are not those of its "
                            f"decisions ({', '.join(state.approvals)}).")
    return problems


def _results_problems(zf: zipfile.ZipFile, outputs: list[dict]) -> list[str]:
    results, problem = _read_json(zf, ACRO_RESULTS_FILE)
    if results is None:
        return [problem]
    if not isinstance(results, dict) or not isinstance(results.get("results"), dict):
        return [f"{ACRO_RESULTS_FILE} is not an ACRO results file (no 'results')."]
    problems = []
    listed, packed = set(results["results"]), {o["uid"] for o in outputs}
    for uid in sorted(listed - packed):
        problems.append(f"{ACRO_RESULTS_FILE} lists {uid}, which is not packed.")
    for uid in sorted(packed - listed):
        problems.append(f"{ACRO_RESULTS_FILE} does not list the packed output {uid}.")
    for o in outputs:
        record = results["results"].get(o["uid"])
        if not isinstance(record, dict):
            continue
        names = [f.get("name") for f in record.get("files") or [] if isinstance(f, dict)]
        if record.get("uid") != o["uid"] or names != [f"{OUTPUTS_DIR}/{o['file']}"]:
            problems.append(f"{ACRO_RESULTS_FILE}: the record of {o['uid']} does not name its "
                            f"file {OUTPUTS_DIR}/{o['file']}.")
    return problems


def _canonical(entry: dict) -> str:
    return json.dumps(entry, sort_keys=True, ensure_ascii=False)


def _against_problems(out: Path, manifest: dict, outputs: list[dict]) -> list[str]:
    problems = []
    try:
        release = read_release(out)
    except InputFileError as exc:
        problems.append(f"The batch folder's release record cannot be read: {exc}")
        release = None
    if release is not None:
        problems += _release_problems(release, manifest, outputs)
    try:
        decisions = read_decisions(out)
    except InputFileError as exc:
        return problems + [f"The batch folder's decisions cannot be trusted: {exc}"]
    path = out / DECISIONS_FILE
    hashes = line_hashes(out)
    head = manifest.get("decisions_head")
    if head not in hashes:
        problems.append(f"The manifest's decisions_head is no line of {path}: the bundle was "
                        f"not made from these decisions.")
        upto = decisions
    else:
        upto = decisions[: hashes.index(head) + 1]
    known = {_canonical(d) for d in upto}
    for o in outputs:
        recorded = [d for d in o["decisions"] if isinstance(d, dict)]
        for d in recorded:
            if _canonical(d) not in known:
                problems.append(f"{o['uid']}: the decision recorded as {d.get('seq')} "
                                f"({d.get('who')}, {d.get('action')}) is not a line of {path}: "
                                f"it was forged or edited.")
        mine = {_canonical(d) for d in recorded}
        for d in upto:
            if (d.get("uid"), d.get("sha256")) == (o["uid"], o["sha256"]) \
                    and _canonical(d) not in mine:
                problems.append(f"{o['uid']}: decision {d.get('seq')} of {path} ({d.get('who')}, "
                                f"{d.get('action')}) is left out of the manifest.")
    if release is not None:
        states = output_states(release, decisions)
        for o in outputs:
            state = states.get(o["uid"])
            if state is not None and not state.approved:
                problems.append(f"{o['uid']}: with the decisions in {path} as they are now it "
                                f"is not approved ({state.why}).")
    return problems


def _release_problems(release: dict, manifest: dict, outputs: list[dict]) -> list[str]:
    problems = []
    if release.get("approvals_required") != manifest.get("approvals_required"):
        problems.append(f"The release asks for {release.get('approvals_required')} approvals "
                        f"per output, the manifest for {manifest.get('approvals_required')}.")
    by_uid = {o.get("uid"): o for o in release.get("outputs", [])}
    for o in outputs:
        mine = by_uid.get(o["uid"])
        if mine is None:
            problems.append(f"{o['uid']} is not an output of the batch's release.")
            continue
        if str(mine.get("sha256", "")).lower() != o["sha256"]:
            problems.append(f"{o['uid']}: release.json gives another SHA-256 for "
                            f"{mine.get('file')} than the manifest.")
        for key in ("file", "status", "releasable"):
            if mine.get(key, True if key == "releasable" else None) != o.get(key):
                problems.append(f"{o['uid']}: release.json says {key} {mine.get(key)!r}, the "
                                f"manifest {o.get(key)!r}.")
    return problems
