"""``ipeval review`` without a browser: the server's routes and its refusals, over HTTP.

Each test builds a small fake batch folder (:func:`make_out`: a release.json with a passed
report, a results table whose name holds markup, a failed report and an internal one, and
their files) and starts a :class:`ReviewServer` on a free port of 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from evaluation.errors import InputFileError, ParameterError
from evaluation.release.decisions import DECISIONS_FILE, HEAD_FILE, read_decisions
from evaluation.release.review_page import TOKEN_META
from evaluation.release.review_server import OUTPUT_CSP, PAGE_CSP, ReviewServer, serve

TITLE = 'Batch <script>alert("title")</script> ÆØÅ'
INJECTED = '<script>window.__pwned = 1</script> & æøå: results'
REPORT_A = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>A</title></head>"
            "<body><h1>Report A</h1><p>Table 1: 12 people.</p></body></html>")
FILES = {
    "runs/a/ip_evaluation.html": REPORT_A,
    "runs/a/estimates.csv": "name,estimate\ndaily_chaos,0.12\n",
    "runs/b/internal/ip_evaluation.html": "<!DOCTYPE html><title>B</title><p>Report B (fail)</p>",
    "runs/c/internal/ip_evaluation.html": "<!DOCTYPE html><title>C</title><p>Internal C</p>",
}


def _output(uid, name, file, kind, status, *, releasable=True, counts=None, tables=()):
    counts = counts or {}
    return {"uid": uid, "name": name, "run_id": uid.replace("output", "run"), "file": file,
            "kind": kind, "acro_type": "table" if kind == "table" else "custom",
            "status": status, "releasable": releasable,
            "check": {"findings": sum(counts.values()), "counts": counts},
            "findings": [{"where": f"{file}: cell 4", "rule": r, "excerpt": "n = <5 (masked)"}
                         for r in counts],
            "tables": list(tables), "variables": sorted({v for t in tables
                                                         for v in t["variables"]}),
            "summary": f"{status}; a fake output", "parameters": {"outcome": "daily_chaos"}}


def make_out(root: Path, *, extra=()) -> Path:
    """A fake batch folder after ``ipeval release``: files and release.json (hashes filled in)."""
    out = root / "out"
    for name, text in FILES.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    table = {"name": "Table 1", "kind": "rows", "cells": 40, "primary": 3, "secondary": 2,
             "batch_secondary": 1, "population": "table Table 1", "variables": ["sex", "has_ip"]}
    outputs = [
        _output("output_0", "outcome=daily_chaos institution=all: report",
                "runs/a/ip_evaluation.html", "report", "pass", tables=[table]),
        _output("output_1", INJECTED, "runs/a/estimates.csv", "table", "review"),
        _output("output_2", "institution=B: report", "runs/b/internal/ip_evaluation.html",
                "report", "fail", counts={"small_cell": 2}),
        _output("output_3", "institution=C (internal): report",
                "runs/c/internal/ip_evaluation.html", "report", "fail", releasable=False,
                counts={"internal": 1}),
        *extra]
    for output in outputs:
        path = out / output["file"]
        if path.is_file():
            data = path.read_bytes()
            output.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
        else:
            output.update(sha256="0" * 64, bytes=0)
    release = {"schema": "ipeval-release/1", "created": "2026-12-03T17:20:00+00:00",
               "ipeval_version": "0.test", "approvals_required": 2,
               "batch": {"title": TITLE, "notebook": "ip_evaluation.ipynb"},
               "rules": {"min_cell": 5}, "runs": [], "outputs": outputs}
    (out / "release.json").write_text(json.dumps(release, ensure_ascii=False), encoding="utf-8")
    return out


def fetch(server, path, *, method="GET", body=None, headers=None, token=True):
    """``(status, headers, bytes)`` of one request to ``server``."""
    headers = dict(headers or {})
    if token and "X-Ipeval-Token" not in headers:
        headers["X-Ipeval-Token"] = server.token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", data=data,
                                     headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def decide(server, uid, action, reason="", **kw):
    return fetch(server, "/api/decision", method="POST",
                 body={"uid": uid, "action": action, "reason": reason}, **kw)


def lines(out: Path) -> int:
    path = out / DECISIONS_FILE
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture
def out(tmp_path):
    return make_out(tmp_path)


@pytest.fixture
def kari(out):
    with ReviewServer(out, who="kari") as server:
        yield server


def _sha(out, uid):
    release = json.loads((out / "release.json").read_text(encoding="utf-8"))
    return next(o["sha256"] for o in release["outputs"] if o["uid"] == uid)


def test_page_holds_the_key_escapes_and_loads_nothing_from_elsewhere(kari):
    status, headers, body = fetch(kari, "/?" + urlsplit(kari.url).query)
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f'<meta name="{TOKEN_META}" content="{kari.token}">' in page
    assert headers["Content-Security-Policy"] == PAGE_CSP
    assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"],
            headers["Cache-Control"]) == ("nosniff", "no-referrer", "no-store")
    assert '<html lang="en">' in page and "kari" in page and "output checker" in page
    assert "Release review — Batch &lt;script&gt;alert(&quot;title&quot;)" in page
    assert "<script>" not in page and "window.__pwned" not in page   # names stay out of the shell
    assert page.count("<script") == 1 and '<script src="/review.js" defer>' in page
    for path in ("/", "/review.js", "/review.css"):
        text = page if path == "/" else fetch(kari, path)[2].decode()
        assert "http:" not in text and "https:" not in text and "//cdn" not in text, path
    assert "innerHTML" not in fetch(kari, "/review.js")[2].decode()


def test_the_page_and_the_data_need_the_key(kari):
    assert fetch(kari, "/")[0] == 403
    assert fetch(kari, "/?token=wrong")[0] == 403
    assert fetch(kari, "/api/release", token=False)[0] == 403
    assert fetch(kari, "/output/output_0")[0] == 403
    status, headers, _ = fetch(kari, "/nowhere")
    assert status == 404 and headers["Content-Security-Policy"] == PAGE_CSP
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_api_release_shows_outputs_states_and_decisions(kari, out):
    assert decide(kari, "output_0", "approve")[0] == 200
    status, _, body = fetch(kari, "/api/release")
    view = json.loads(body)
    assert status == 200 and (view["who"], view["role"]) == ("kari", "checker")
    assert view["actions"] == ["approve", "reject", "comment"]
    assert view["summary"] == {"outputs": 4, "approved": 0, "waiting": 3, "rejected": 0,
                               "internal": 1}
    first, name_with_markup, failed, internal = view["outputs"]
    assert first["state"]["why"] == "1 of 2 approvals" and first["state"]["approvals"] == ["kari"]
    assert [d["who"] for d in first["decisions"]] == ["kari"]
    assert first["tables"][0]["batch_secondary"] == 1 and first["variables"] == ["has_ip", "sex"]
    assert name_with_markup["name"] == INJECTED
    assert failed["check"]["counts"] == {"small_cell": 2} and failed["findings"][0]["excerpt"]
    assert internal["releasable"] is False and internal["state"]["word"] == "internal"


def test_decisions_are_recorded_with_who_role_and_hash(kari, out):
    assert decide(kari, "output_0", "approve")[0] == 200
    status, _, body = decide(kari, "output_1", "reject", "shows a count of 3")
    assert status == 200 and json.loads(body)["entry"]["seq"] == 2
    with ReviewServer(out, who="anna", role="researcher") as anna:
        assert decide(anna, "output_2", "exception", "the small cells are structural zeros")[0] \
            == 200
        assert decide(anna, "output_0", "approve")[0] == 400          # not a researcher's
    entries = read_decisions(out)
    assert [(e["who"], e["role"], e["uid"], e["action"], e["reason"]) for e in entries] == [
        ("kari", "checker", "output_0", "approve", ""),
        ("kari", "checker", "output_1", "reject", "shows a count of 3"),
        ("anna", "researcher", "output_2", "exception", "the small cells are structural zeros")]
    assert [e["sha256"] for e in entries] == [_sha(out, u) for u in
                                              ("output_0", "output_1", "output_2")]
    view = json.loads(fetch(kari, "/api/release")[2])
    assert view["outputs"][1]["state"]["why"] == "rejected by kari"
    assert view["outputs"][2]["exceptions"][0]["who"] == "anna"


def test_refused_decisions_are_not_recorded(kari, out):
    status, headers, body = decide(kari, "output_1", "reject", "   ")
    assert status == 400 and "reason" in json.loads(body)["error"]
    assert headers["Content-Type"].startswith("application/json")
    assert decide(kari, "output_2", "exception", "why")[0] == 400     # not a checker's
    assert decide(kari, "output_3", "approve")[0] == 400              # internal: never released
    assert decide(kari, "output_99", "approve")[0] == 404
    assert fetch(kari, "/api/decision", method="POST", body=b"{not json")[0] == 400
    assert fetch(kari, "/api/decision", method="POST", body=b'{"uid": "output_0"}',
                 headers={"Content-Type": "text/plain"})[0] == 415
    assert fetch(kari, "/api/decision", method="POST", body=b'["output_0"]')[0] == 400
    assert lines(out) == 0


def test_post_without_the_key_or_from_elsewhere_is_refused(kari, out):
    assert decide(kari, "output_0", "approve", token=False)[0] == 403
    assert decide(kari, "output_0", "approve", headers={"X-Ipeval-Token": "x" * 43})[0] == 403
    for origin in ("http://evil.example", "null", f"http://localhost:{kari.port}",
                   f"http://127.0.0.1:{kari.port + 1}"):
        assert decide(kari, "output_0", "approve", headers={
            "Origin": origin, "X-Ipeval-Token": kari.token})[0] == 403, origin
    assert lines(out) == 0
    own = {"Origin": f"http://127.0.0.1:{kari.port}", "X-Ipeval-Token": kari.token}
    assert decide(kari, "output_0", "approve", headers=own)[0] == 200
    assert lines(out) == 1


def test_a_foreign_host_is_refused(kari, out):
    """DNS rebinding: a page of evil.example that resolves to 127.0.0.1 sends its own Host."""
    for host in ("evil.example", f"evil.example:{kari.port}", f"127.0.0.1:{kari.port + 1}",
                 f"0.0.0.0:{kari.port}"):
        assert fetch(kari, "/?" + urlsplit(kari.url).query, headers={"Host": host})[0] == 403
        assert fetch(kari, "/api/release", headers={"Host": host})[0] == 403
        assert decide(kari, "output_0", "approve", headers={
            "Host": host, "X-Ipeval-Token": kari.token})[0] == 403
    assert lines(out) == 0
    assert fetch(kari, "/api/release", headers={"Host": f"localhost:{kari.port}"})[0] == 200


def test_output_files_are_served_with_the_strict_policy(kari):
    status, headers, body = fetch(kari, f"/output/output_0?token={kari.token}")
    assert status == 200 and body.decode() == REPORT_A
    assert headers["Content-Security-Policy"] == OUTPUT_CSP
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _ = fetch(kari, f"/output/output_1?token={kari.token}")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert fetch(kari, f"/output/output_2?token={kari.token}")[0] == 200   # failed: to be seen


def test_only_listed_files_inside_the_folder_are_served(tmp_path):
    (tmp_path / "outside.txt").write_text("outside")
    root = tmp_path / "out"
    (root / "runs/a/.private").mkdir(parents=True)
    (root / "runs/a/private").mkdir(parents=True)
    (root / "runs/b/internal").mkdir(parents=True)
    for name in ("runs/a/.private/truth.csv", "runs/a/private/truth.csv",
                 "runs/b/internal/shown.csv"):
        (root / name).write_text("true,values\n")
    os.symlink(tmp_path / "outside.txt", root / "runs/a/link.txt")
    bad = [("output_10", "../outside.txt", "pass"),
           ("output_11", "runs/a/.private/truth.csv", "pass"),
           ("output_12", "runs/a/private/truth.csv", "fail"),
           ("output_13", str(tmp_path / "outside.txt"), "pass"),
           ("output_14", "runs/a/link.txt", "pass"),
           ("output_15", "runs/b/internal/shown.csv", "pass"),
           ("output_16", "runs/a/../../outside.txt", "pass"), ("output_17", "runs/a", "pass")]
    out = make_out(tmp_path, extra=[_output(uid, uid, file, "table", status)
                                    for uid, file, status in bad])
    with ReviewServer(out, who="kari") as kari:
        key = f"?token={kari.token}"
        for uid, _, _ in bad:
            assert fetch(kari, f"/output/{uid}{key}")[0] == 404, uid
            assert decide(kari, uid, "comment", "look")[0] == 409, uid
        for path in ("/output/output_99", "/output/../release.json", "/output/..%2frelease.json",
                     "/output/%2e%2e/release.json", "/output/output_0/../../release.json",
                     "/output/", "/output/release.json", "/release.json", "/../release.json"):
            assert fetch(kari, path + key)[0] == 404, path
    assert lines(out) == 0


def test_a_changed_file_is_not_served_or_decided_on(kari, out):
    (out / "runs/a/ip_evaluation.html").write_text(REPORT_A + "<p>changed</p>")
    status, _, body = fetch(kari, f"/output/output_0?token={kari.token}")
    assert status == 409 and b"ipeval release" in body
    assert decide(kari, "output_0", "approve")[0] == 409
    assert lines(out) == 0


def test_a_broken_record_of_decisions_is_reported(kari, out):
    decide(kari, "output_0", "approve")
    decide(kari, "output_1", "reject", "why")
    text = (out / DECISIONS_FILE).read_text().splitlines()
    (out / DECISIONS_FILE).write_text(text[1] + "\n")       # the first line removed
    status, _, body = fetch(kari, "/api/release")
    assert status == 409 and "chain" in json.loads(body)["error"]
    with pytest.raises(InputFileError, match="chain"):
        ReviewServer(out, who="per")


def test_decisions_cut_from_the_end_are_reported(kari, out):
    """A chain cut after its last approval is whole; the head kept beside it is not fooled."""
    decide(kari, "output_0", "approve")
    decide(kari, "output_0", "reject", "second thoughts: row 2 is thin")
    text = (out / DECISIONS_FILE).read_text().splitlines()
    (out / DECISIONS_FILE).write_text(text[0] + "\n")       # the rejection cut off
    status, _, body = fetch(kari, "/api/release")
    assert status == 409 and "removed" in json.loads(body)["error"]
    with pytest.raises(InputFileError, match="number 2"):
        read_decisions(out)
    (out / DECISIONS_FILE).unlink()                           # and the whole file
    with pytest.raises(InputFileError, match="holds 0 decision"):
        read_decisions(out)
    (out / HEAD_FILE).unlink()                                # both gone: nothing approved
    assert read_decisions(out) == []


def test_two_names_under_one_account_are_one_pair_of_eyes(kari, out):
    with ReviewServer(out, who="per") as per:
        assert per.account == kari.account
        assert decide(kari, "output_0", "approve")[0] == 200
        assert decide(per, "output_0", "approve")[0] == 200
        state = json.loads(fetch(kari, "/api/release")[2])["outputs"][0]["state"]
        assert state["word"] != "approved"
        assert "same account" in state["why"] and state["why"].startswith("1 of 2 approvals")
        per.account = "per"                                   # per's own login
        assert decide(per, "output_0", "approve")[0] == 200
        state = json.loads(fetch(kari, "/api/release")[2])["outputs"][0]["state"]
        assert state["why"] == "approved by kari, per"
    assert [e["os_user"] for e in read_decisions(out)][-1] == "per"


def test_the_server_refuses_what_it_cannot_do_safely(tmp_path, out):
    with pytest.raises(InputFileError, match="ipeval release"):
        serve(tmp_path / "empty", who="kari")
    with pytest.raises(ParameterError, match="127.0.0.1"):
        ReviewServer(out, who="kari", host="0.0.0.0")
    with pytest.raises(ParameterError, match="role"):
        ReviewServer(out, who="kari", role="boss")
    with pytest.raises(ParameterError, match="name"):
        ReviewServer(out, who="  ")
    with ReviewServer(out, who="kari") as first:
        with pytest.raises(ParameterError, match="--port"):
            ReviewServer(out, who="per", port=first.port)


def test_serve_blocks_until_ctrl_c(out):
    code = ("import sys; from evaluation.release.review_server import serve; "
            "serve(sys.argv[1], who='kari', ready=lambda url: print(url, flush=True))")
    process = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert url in process.stderr.read()     # the address is printed for the reviewer
    finally:
        if process.poll() is None:
            process.kill()
