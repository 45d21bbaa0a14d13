"""The bundle of a release packs only what four eyes approved, and ``verify`` finds any change.

Each test writes a small fake batch folder (a few files and a ``release.json`` built by
:func:`make_out`) and records decisions with ``append_decision`` as ``ipeval review`` would.
"""
from __future__ import annotations

import hashlib
import json
import stat
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evaluation.errors import OutputError
from evaluation.release.bundle import write_bundle
from evaluation.release.decisions import append_decision, output_states, read_decisions
from evaluation.release.inventory import file_sha256, read_release, write_release
from evaluation.release.verify import verify_bundle

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=timezone.utc)
# uid: (file, kind, status, releasable)
FILES = {"output_0": ("runs/r1/ip_evaluation.html", "report", "pass", True),
         "output_1": ("runs/r1/estimates.csv", "table", "pass", True),
         "output_2": ("runs/r2/internal/ip_evaluation.html", "report", "fail", True),
         "output_3": ("runs/r3/internal/ip_evaluation.html", "report", "fail", False),
         "output_4": ("index.html", "page", "review", True)}


def make_out(root: Path, files: dict = FILES) -> Path:
    """A batch folder with one file per output of ``files``, a private record that is listed
    nowhere, and its ``release.json``."""
    out = root / "OUT"
    for uid, (rel, *_rest) in files.items():
        path = out / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            continue                          # a test's bad path: never write outside OUT
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_symlink() and not path.exists():
            path.write_text(f"<p>{uid}: shown counts only, small ones as &lt;5</p>\n")
    private = out / "runs/r1/.private"
    private.mkdir(parents=True, exist_ok=True)
    (private / "ledger.json").write_text('{"true": 3}')
    write_release(out, release_of(out, files))
    return out


def release_of(out: Path, files: dict) -> dict:
    outputs = []
    for uid, (rel, kind, status, releasable) in files.items():
        path = out / rel
        sha = file_sha256(path) if path.exists() else "0" * 64
        run_id = rel.split("/")[1] if rel.startswith("runs/") else None
        outputs.append({"uid": uid, "name": f"{run_id or 'batch'}: {kind}", "run_id": run_id,
                        "file": rel, "sha256": sha,
                        "bytes": path.stat().st_size if path.exists() else 0, "kind": kind,
                        "acro_type": "table" if kind == "table" else "custom",
                        "status": status, "releasable": releasable,
                        "check": {"findings": int(status == "fail"),
                                  "counts": {"small_cell": 1} if status == "fail" else {}},
                        "findings": [], "tables": [], "variables": [],
                        "summary": f"{status}; test output", "parameters": {"run": run_id}})
    return {"schema": "ipeval-release/1", "created": "2026-12-03T17:20:00+00:00",
            "ipeval_version": "0.1.0", "batch": {"title": "test"}, "rules": {"min_cell": 5},
            "approvals_required": 2, "protection": {},
            "runs": [{"run_id": r, "key": f"key-{r}", "label": r, "status": "ok",
                      "parameters": {"run": r}, "folder": f"runs/{r}"} for r in ("r1", "r2", "r3")],
            "outputs": outputs}


def sha_of(out: Path, uid: str) -> str:
    return next(o["sha256"] for o in read_release(out)["outputs"] if o["uid"] == uid)


def decide(out: Path, uid: str, who: str, action: str = "approve", reason: str = "") -> dict:
    role = "researcher" if action == "exception" else "checker"
    reason = reason or ("" if action == "approve" else f"{action} by {who}")
    # Each person under their own account, as on a platform where everyone logs in.
    return append_decision(out, who=who, role=role, uid=uid, sha256=sha_of(out, uid),
                           action=action, reason=reason, os_user=f"{who}-account")


def approve(out: Path, uid: str, *who: str) -> None:
    for name in who:
        decide(out, uid, name)


def names(zip_path: Path) -> set:
    with zipfile.ZipFile(zip_path) as zf:
        return set(zf.namelist())


def rewrite(src: Path, dst: Path, replace=None, add=()) -> Path:
    """A copy of the zip ``src`` with entries replaced (bytes) or dropped (None) and entries
    added (``(ZipInfo or name, bytes)``): a tamperer who rewrites the zip properly."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = replace.get(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
        for info, data in add:
            zout.writestr(info, data)
    return dst


@pytest.fixture
def out(tmp_path) -> Path:
    return make_out(tmp_path)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """A batch folder with output_0 and output_1 approved, and its bundle."""
    out = make_out(tmp_path_factory.mktemp("bundled"))
    approve(out, "output_0", "kari", "per")
    approve(out, "output_1", "kari", "per")
    zip_path = out.parent / "bundle.zip"
    write_bundle(out, zip_path, now=NOW)
    return out, zip_path


def test_only_the_approved_outputs_are_packed(out):
    approve(out, "output_0", "kari", "per")
    report = write_bundle(out, out.parent / "b.zip", now=NOW)
    assert report.packed == ["output_0"]
    assert {uid for uid, _ in report.left_out} == {"output_1", "output_2", "output_3", "output_4"}
    assert names(report.path) == {"manifest.json", "results.json",
                                  "outputs/runs/r1/ip_evaluation.html"}
    with zipfile.ZipFile(report.path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        results = json.loads(zf.read("results.json"))
    assert manifest["schema"] == "ipeval-bundle/1" and manifest["approvals_required"] == 2
    assert [r["run_id"] for r in manifest["runs"]] == ["r1"]
    [entry] = manifest["outputs"]
    assert entry["sha256"] == file_sha256(out / "runs/r1/ip_evaluation.html")
    assert sorted(entry["approvals"]) == ["kari", "per"] and len(entry["decisions"]) == 2
    last = (out / "decisions.jsonl").read_bytes().splitlines()[-1]
    assert manifest["decisions_head"] == hashlib.sha256(last).hexdigest()
    assert list(results["results"]) == ["output_0"]
    assert results["results"]["output_0"]["files"][0]["name"] == "outputs/runs/r1/ip_evaluation.html"
    assert not any(".private" in n or "internal" in n for n in names(report.path))


def test_a_rejected_output_never_enters(out):
    approve(out, "output_0", "kari", "per", "ola")
    decide(out, "output_0", "ola", "reject", "Table 2 shows a count of 3 by sex")
    approve(out, "output_1", "kari", "per")
    report = write_bundle(out, out.parent / "b.zip", now=NOW)
    assert report.packed == ["output_1"]
    assert dict(report.left_out)["output_0"] == "rejected by ola"


def test_one_approval_is_not_enough(out):
    approve(out, "output_0", "kari")
    approve(out, "output_4", "kari", "per")
    report = write_bundle(out, out.parent / "b.zip", now=NOW)
    assert report.packed == ["output_4"]
    assert dict(report.left_out)["output_0"] == "1 of 2 approvals"


def test_a_failed_output_needs_an_exception_and_two_other_checkers(out):
    approve(out, "output_0", "kari", "per")
    approve(out, "output_2", "kari", "per")
    assert "output_2" not in write_bundle(out, out.parent / "b.zip", now=NOW).packed
    decide(out, "output_2", "rita", "exception", "the small cell is a published national figure")
    report = write_bundle(out, out.parent / "b.zip", now=NOW)
    assert report.packed == ["output_0", "output_2"]
    assert "outputs/runs/r2/internal/ip_evaluation.html" in names(report.path)
    with zipfile.ZipFile(report.path) as zf:
        [entry] = [o for o in json.loads(zf.read("manifest.json"))["outputs"]
                   if o["uid"] == "output_2"]
    assert entry["exception"] == "the small cell is a published national figure"
    assert verify_bundle(report.path) == [] and verify_bundle(report.path, against=out) == []


def test_the_researcher_approving_their_own_exception_does_not_count(out):
    approve(out, "output_0", "kari", "per")
    decide(out, "output_2", "rita", "exception", "published figure")
    approve(out, "output_2", "rita", "kari")
    report = write_bundle(out, out.parent / "b.zip", now=NOW)
    assert report.packed == ["output_0"]
    assert "does not count" in dict(report.left_out)["output_2"]


def test_an_internal_output_never_enters(out):
    approve(out, "output_0", "kari", "per")
    decide(out, "output_3", "rita", "exception", "please")
    approve(out, "output_3", "kari", "per", "ola")
    report = write_bundle(out, out.parent / "b.zip", now=NOW)
    assert "output_3" not in report.packed
    assert "internal output" in dict(report.left_out)["output_3"]


def test_a_file_changed_after_the_release_refuses_the_bundle(out):
    approve(out, "output_0", "kari", "per")
    approve(out, "output_1", "kari", "per")
    (out / "runs/r1/estimates.csv").write_text("a,b\n1,3\n")
    with pytest.raises(OutputError, match=r"estimates\.csv: the file changed after the release"):
        write_bundle(out, out.parent / "b.zip", now=NOW)
    assert not (out.parent / "b.zip").exists()
    assert not list(out.parent.glob(".b.zip.*"))


def test_nothing_approved_is_refused_and_says_how_to_approve(out):
    approve(out, "output_0", "kari")
    with pytest.raises(OutputError, match=r"nothing to bundle.*ipeval review") as exc:
        write_bundle(out, out.parent / "b.zip", now=NOW)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("where", ["runs/b.zip", "runs/r1/b.zip", "index.html", "release.json"])
def test_the_bundle_is_not_written_into_the_batch(out, where):
    approve(out, "output_0", "kari", "per")
    with pytest.raises(OutputError):
        write_bundle(out, out / where, now=NOW)


@pytest.mark.parametrize("file", ["../outside.html", "ABSOLUTE", "runs/r1/.private/ledger.json",
                                  "runs/r1/private/t.csv", "runs/r1/link.html"])
def test_paths_stay_inside_the_batch_folder(tmp_path, file):
    (tmp_path / "outside.html").write_text("<p>outside</p>")
    file = str(tmp_path / "outside.html") if file == "ABSOLUTE" else file
    (tmp_path / "OUT/runs/r1/private").mkdir(parents=True)
    (tmp_path / "OUT/runs/r1/private/t.csv").write_text("a\n3\n")
    (tmp_path / "OUT/runs/r1/link.html").symlink_to(tmp_path / "outside.html")
    files = {"output_0": (file, "report", "pass", True)}
    out = make_out(tmp_path, files)
    approve(out, "output_0", "kari", "per")
    with pytest.raises(OutputError, match="output_0"):
        write_bundle(out, tmp_path / "b.zip", now=NOW)
    assert not (tmp_path / "b.zip").exists()


def test_internal_files_leave_only_as_failed_outputs_with_an_exception(tmp_path):
    internal = tmp_path / "OUT/runs/r2/internal/ip_evaluation.html"
    internal.parent.mkdir(parents=True)
    internal.write_text("<p>3 people</p>")
    (tmp_path / "OUT/runs/r1").mkdir(parents=True)
    (tmp_path / "OUT/runs/r1/alias.html").symlink_to(internal)
    out = make_out(tmp_path, {"output_0": ("runs/r2/internal/ip_evaluation.html", "report",
                                           "pass", True),
                              "output_1": ("runs/r1/alias.html", "report", "pass", True),
                              "output_2": ("index.html", "page", "review", True)})
    for uid in ("output_0", "output_1", "output_2"):
        approve(out, uid, "kari", "per")
    report = write_bundle(out, tmp_path / "b.zip", now=NOW)
    assert report.packed == ["output_2"]
    assert all("internal/" in why for _, why in report.left_out)


def test_the_same_release_gives_the_same_bytes(bundled, tmp_path):
    out, zip_path = bundled
    again = write_bundle(out, tmp_path / "again.zip", now=NOW).path
    assert again.read_bytes() == zip_path.read_bytes()


def test_a_fresh_bundle_verifies(bundled):
    out, zip_path = bundled
    assert verify_bundle(zip_path) == []
    assert verify_bundle(zip_path, against=out) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_of_an_output_is_found(bundled, data):
    _, zip_path = bundled
    name = data.draw(st.sampled_from(["outputs/runs/r1/ip_evaluation.html",
                                      "outputs/runs/r1/estimates.csv"]))
    with zipfile.ZipFile(zip_path) as zf:
        content = bytearray(zf.read(name))
    at = data.draw(st.integers(0, len(content) - 1))
    content[at] ^= data.draw(st.integers(1, 255))
    with tempfile.TemporaryDirectory() as tmp:
        problems = verify_bundle(rewrite(zip_path, Path(tmp) / "t.zip", {name: bytes(content)}))
    assert any("SHA-256" in p and name in p for p in problems)


def test_a_damaged_entry_is_found(bundled, tmp_path):
    _, zip_path = bundled
    raw = bytearray(zip_path.read_bytes())
    with zipfile.ZipFile(zip_path) as zf:
        info = zf.getinfo("outputs/runs/r1/estimates.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0xFF         # inside the compressed data
    (tmp_path / "d.zip").write_bytes(bytes(raw))
    assert any("estimates.csv" in p for p in verify_bundle(tmp_path / "d.zip"))


def _manifest(zip_path: Path) -> dict:
    with zipfile.ZipFile(zip_path) as zf:
        return json.loads(zf.read("manifest.json"))


def _symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("outputs/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("tamper, expected", [
    (lambda z, d: rewrite(z, d, add=[("outputs/extra.html", b"<p>3</p>")]), "does not list"),
    (lambda z, d: rewrite(z, d, {"outputs/runs/r1/estimates.csv": None}), "not in the bundle"),
    (lambda z, d: rewrite(z, d, add=[("../evil", b"x")]), "climbs out"),
    (lambda z, d: rewrite(z, d, add=[("/etc/evil", b"x")]), "absolute path"),
    (lambda z, d: rewrite(z, d, add=[(_symlink_entry(), b"/etc/passwd")]), "symbolic link"),
    (lambda z, d: rewrite(z, d, {"manifest.json": None}), "no manifest.json"),
    (lambda z, d: rewrite(z, d, {"results.json": None}), "no results.json"),
    (lambda z, d: d.write_text("not a zip") and d, "cannot be opened as a zip"),
])
def test_verify_finds_what_was_changed(bundled, tmp_path, tamper, expected):
    _, zip_path = bundled
    problems = verify_bundle(tamper(zip_path, tmp_path / "t.zip"))
    assert any(expected in p for p in problems), problems


def test_verify_finds_a_duplicate_entry(bundled, tmp_path):
    _, zip_path = bundled
    with pytest.warns(UserWarning, match="Duplicate"):
        bad = rewrite(zip_path, tmp_path / "t.zip",
                      add=[("outputs/runs/r1/estimates.csv", b"a,b\n1,3\n")])
    assert any("2 times" in p for p in verify_bundle(bad))


def _hash_edited(entry):
    entry["sha256"] = "ab" * 32          # and the decisions were on the other version


def _approval_dropped(entry):
    entry["decisions"] = entry["decisions"][:1]


@pytest.mark.parametrize("edit, expected", [(_hash_edited, ["SHA-256", "not approved"]),
                                            (_approval_dropped, ["1 of 2 approvals"])])
def test_verify_finds_an_edited_manifest(bundled, tmp_path, edit, expected):
    _, zip_path = bundled
    manifest = _manifest(zip_path)
    edit(manifest["outputs"][0])
    problems = verify_bundle(rewrite(zip_path, tmp_path / "t.zip",
                                     {"manifest.json": json.dumps(manifest).encode()}))
    assert all(any(word in p for p in problems) for word in expected), problems


def test_verify_wants_results_json_to_list_exactly_the_packed(bundled, tmp_path):
    _, zip_path = bundled
    with zipfile.ZipFile(zip_path) as zf:
        results = json.loads(zf.read("results.json"))
    results["results"]["output_3"] = dict(results["results"]["output_0"], uid="output_3")
    bad = rewrite(zip_path, tmp_path / "t.zip", {"results.json": json.dumps(results).encode()})
    assert any("lists output_3" in p for p in verify_bundle(bad))


def forge(zip_path: Path, out: Path, uid: str, decisions: list, dst: Path) -> Path:
    """The bundle with ``uid`` (``output_1``, the table) added as a forger would: file,
    manifest entry with ``decisions`` and ACRO record, all consistent with one another."""
    manifest = _manifest(zip_path)
    file = "runs/r1/estimates.csv"
    manifest["outputs"].append({
        "uid": uid, "file": file, "sha256": sha_of(out, uid), "status": "pass",
        "bytes": (out / file).stat().st_size, "releasable": True, "exception": None,
        "approvals": sorted({d["who"] for d in decisions if d["action"] == "approve"}),
        "decisions": decisions})
    with zipfile.ZipFile(zip_path) as zf:
        results = json.loads(zf.read("results.json"))
    results["results"][uid] = dict(results["results"]["output_0"], uid=uid,
                                   files=[{"name": f"outputs/{file}", "sdc": {}}])
    return rewrite(zip_path, dst, {"manifest.json": json.dumps(manifest).encode(),
                                   "results.json": json.dumps(results).encode()},
                   add=[(f"outputs/{file}", (out / file).read_bytes())])


def test_against_catches_forged_decisions(tmp_path):
    out = make_out(tmp_path)
    approve(out, "output_0", "kari", "per")
    approve(out, "output_1", "kari")                 # one approval only: not bundled
    zip_path = write_bundle(out, tmp_path / "b.zip", now=NOW).path
    real = [d for d in read_decisions(out) if d["uid"] == "output_1"]
    second = dict(real[0], who="per", os_user="per-account", seq=99)
    forged = forge(zip_path, out, "output_1", real + [second],
                   tmp_path / "forged.zip")
    assert verify_bundle(forged) == []               # consistent in itself ...
    problems = verify_bundle(forged, against=out)    # ... but not what was decided
    assert any("forged or edited" in p and "per" in p for p in problems)
    assert any("output_1" in p and "not approved" in p for p in problems)


def test_against_catches_a_rejection_left_out_of_the_manifest(tmp_path):
    out = make_out(tmp_path)
    approve(out, "output_0", "kari", "per")
    approve(out, "output_1", "kari", "per")
    decide(out, "output_1", "ola", "reject", "shows a 3")
    zip_path = write_bundle(out, tmp_path / "b.zip", now=NOW).path
    real = [d for d in read_decisions(out) if d["uid"] == "output_1"]
    forged = forge(zip_path, out, "output_1", real[:2], tmp_path / "forged.zip")
    assert verify_bundle(forged) == []
    problems = verify_bundle(forged, against=out)
    assert any("decision 5" in p and "left out of the manifest" in p for p in problems)


def test_against_catches_a_later_rejection_and_a_changed_release(tmp_path):
    out = make_out(tmp_path)
    approve(out, "output_0", "kari", "per")
    zip_path = write_bundle(out, tmp_path / "b.zip", now=NOW).path
    decide(out, "output_0", "ola", "reject", "shows a 3")       # after the bundle was made
    problems = verify_bundle(zip_path, against=out)
    assert any("not approved" in p and "rejected by ola" in p for p in problems)
    release = read_release(out)
    release["outputs"][0]["sha256"] = "cd" * 32
    write_release(out, release)
    assert any("another SHA-256" in p for p in verify_bundle(zip_path, against=out))


def test_against_refuses_an_edited_decisions_file(bundled, tmp_path):
    out, zip_path = bundled
    copy = tmp_path / "OUT"
    copy.mkdir()
    (copy / "release.json").write_bytes((out / "release.json").read_bytes())
    lines = (out / "decisions.jsonl").read_text().splitlines()
    lines[0] = lines[0].replace('"kari"', '"mallory"')
    (copy / "decisions.jsonl").write_text("\n".join(lines) + "\n")
    assert any("cannot be trusted" in p for p in verify_bundle(zip_path, against=copy))


WHO = st.sampled_from(["kari", "per", "ola", "rita"])
ACTION = st.sampled_from(["approve", "approve", "reject", "exception", "comment"])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(FILES)), WHO, ACTION), max_size=14))
def test_the_bundle_holds_exactly_what_the_decisions_approve(steps):
    with tempfile.TemporaryDirectory() as tmp:
        out = make_out(Path(tmp))
        for uid, who, action in steps:
            decide(out, uid, who, action)
        states = output_states(read_release(out), read_decisions(out))
        approved = [uid for uid, s in states.items() if s.approved]
        if not approved:
            with pytest.raises(OutputError):
                write_bundle(out, Path(tmp) / "b.zip", now=NOW)
            return
        report = write_bundle(out, Path(tmp) / "b.zip", now=NOW)
        assert report.packed == approved and "output_3" not in approved
        assert verify_bundle(report.path) == []
        assert verify_bundle(report.path, against=out) == []
