"""``ipeval review OUT``: the output checkers' page of a release, served on 127.0.0.1.

One server per reviewer: it knows who they are and in which role (checker or researcher), shows
every output of ``OUT/release.json`` with its check, tables and the decisions so far, and
records what the reviewer decides in ``OUT/decisions.jsonl``
(:func:`evaluation.release.decisions.append_decision`) against the SHA-256 of the output's
file as it is now.

The outputs are special-category health data on a shared machine, so the server trusts little:

- it listens on 127.0.0.1 only, and answers only requests whose ``Host`` is
  ``127.0.0.1:<port>`` or ``localhost:<port>`` (a page of another site that renames itself
  to 127.0.0.1 through DNS, *DNS rebinding*, is refused);
- a key made at each start (``secrets.token_urlsafe``) is in the address it prints and opens and
  is needed for the page, the release's data and its files (another user of the machine can
  reach the port but does not know the key); the page holds it in a ``<meta>`` tag and sends it
  in ``X-Ipeval-Token`` with every request; a POST without it, or from another origin, is refused;
- every answer forbids loading anything from elsewhere (Content-Security-Policy), sniffing,
  referrers and caching; an output file is served with a CSP that also runs none of its
  scripts (``sandbox``), and only a file ``release.json`` lists, inside OUT, never in a
  ``private`` folder, and only as long as its SHA-256 is the one listed.

Examples
--------
>>> import json, tempfile, urllib.request
>>> out = tempfile.mkdtemp()
>>> _ = open(f"{out}/release.json", "w").write(json.dumps(
...     {"schema": "ipeval-release/1", "batch": {"title": "demo"}, "outputs": []}))
>>> with ReviewServer(out, who="kari") as server:
...     page = urllib.request.urlopen(server.url).read().decode()
>>> "Release review — demo" in page
True
"""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import mimetypes
import re
import secrets
import sys
import tempfile
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlsplit

from evaluation.disclosure.private_record import PRIVATE_DIR
from evaluation.errors import InputFileError, IpevalError, ParameterError
from evaluation.release.acro import write_acro_results
from evaluation.release.decisions import (ACTIONS, account, append_decision, output_states,
                                         read_decisions)
from evaluation.release.inventory import RELEASE_FILE, file_sha256, read_release
from evaluation.release.review_page import SCRIPT, STYLE, page_html
from evaluation.report.gate import INTERNAL_DIR

__all__ = ["OUTPUT_CSP", "PAGE_CSP", "ReviewServer", "release_view", "serve"]

HOST = "127.0.0.1"
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'self'")
OUTPUT_CSP = ("default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline' 'self'; "
              "font-src data:; sandbox")
_NEVER_SERVED = {PRIVATE_DIR, "private"}
_UID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_MAX_BODY = 64 * 1024
# Shown in the browser, not downloaded: a table or a notebook is read as text.
_TYPES = {".csv": "text/plain", ".ipynb": "application/json", ".json": "application/json",
          ".log": "text/plain", ".md": "text/plain", ".html": "text/html"}


def release_view(release: dict, decisions: list[dict]) -> dict:
    """What the page shows: every output of ``release`` with its state and the decisions on
    its current version, and the counts of the summary line.

    Examples
    --------
    >>> release = {"approvals_required": 2, "outputs": [{"uid": "output_0", "sha256": "ab" * 32,
    ...            "status": "pass", "releasable": True, "name": "report"}]}
    >>> view = release_view(release, [])
    >>> view["summary"], view["outputs"][0]["state"]["why"]
    ({'outputs': 1, 'approved': 0, 'waiting': 1, 'rejected': 0, 'internal': 0}, '0 of 2 approvals')
    """
    states = output_states(release, decisions)
    counts = dict.fromkeys(("approved", "waiting", "rejected", "internal"), 0)
    outputs = []
    for output in release.get("outputs", []):
        uid, sha = output["uid"], str(output.get("sha256", "")).lower()
        state = states[uid]
        releasable = bool(output.get("releasable", True))
        word = ("internal" if not releasable else "approved" if state.approved
                else "rejected" if state.rejections else "waiting")
        counts[word] += 1
        mine = [{k: d.get(k) for k in ("seq", "at", "who", "role", "action", "reason")}
                for d in state.decisions]
        outputs.append({
            **{k: output.get(k) for k in ("uid", "name", "run_id", "file", "bytes", "kind",
                                          "status", "summary", "sha256")},
            "releasable": releasable,
            "check": output.get("check") or {"findings": 0, "counts": {}},
            **{k: output.get(k) or [] for k in ("findings", "tables", "variables")},
            "parameters": output.get("parameters") or {},
            "state": {"word": word, "approved": state.approved, "why": state.why,
                      "approvals": state.approvals,
                      "rejections": [{"who": w, "reason": r} for w, r in state.rejections]},
            "exceptions": [d for d in mine if d["action"] == "exception"],
            "decisions": mine,
            "earlier_decisions": sum(1 for d in decisions
                                     if d.get("uid") == uid and d.get("sha256") != sha)})
    return {"title": (release.get("batch") or {}).get("title") or "",
            "approvals_required": int(release.get("approvals_required", 2)),
            "summary": {"outputs": len(outputs), **counts}, "outputs": outputs}


def load_release(out_dir) -> dict:
    """``OUT/release.json``; InputFileError saying to run ``ipeval release`` when it is missing."""
    out = Path(out_dir)
    if not (out / RELEASE_FILE).is_file():
        raise InputFileError(out / RELEASE_FILE, "there is no release record to review.",
                             expected=f"run `ipeval release {out}` first; it writes "
                                      f"{RELEASE_FILE}")
    return read_release(out)


def output_file(out_dir, output: dict) -> Path | None:
    """The file of one output, when it may be served: listed relative to OUT, inside OUT once
    links are resolved, never in a private folder, in ``internal/`` only for a failed output."""
    name = output.get("file")
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return None
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    root = Path(out_dir).resolve()
    try:
        path = (root / rel).resolve(strict=True)
        inside = path.relative_to(root).parts
    except (OSError, ValueError):
        return None
    refused = _NEVER_SERVED | ({INTERNAL_DIR} if output.get("status") != "fail" else set())
    if refused & set(inside) or refused & set(rel.parts) or not path.is_file():
        return None
    return path


class _Handler(BaseHTTPRequestHandler):
    server_version = "ipeval-review"
    sys_version = ""
    review: "ReviewServer"          # set on the subclass made for each server

    # ------------------------------------------------------------------ answers
    def send_response(self, code, message=None):
        self._csp_sent = False
        super().send_response(code, message)

    def send_header(self, keyword, value):
        if keyword.lower() == "content-security-policy":
            self._csp_sent = True
        super().send_header(keyword, value)

    def end_headers(self):
        # Every answer, the errors of the base class included, carries the same protections.
        if not getattr(self, "_csp_sent", False):
            super().send_header("Content-Security-Policy", PAGE_CSP)
        for keyword, value in (("X-Content-Type-Options", "nosniff"),
                               ("Referrer-Policy", "no-referrer"),
                               ("Cache-Control", "no-store")):
            super().send_header(keyword, value)
        super().end_headers()

    def _send(self, status: int, body: bytes | str, content_type: str, *, csp: str = PAGE_CSP):
        body = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", csp)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict):
        self._send(status, json.dumps(payload, ensure_ascii=False),
                   "application/json; charset=utf-8")

    def _refuse(self, status: int, why: str):
        self._json(status, {"error": why})

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass                                # the page says what happened; no log of requests

    # ------------------------------------------------------------------ checks
    def _host_ok(self) -> bool:
        port = self.review.port
        return self.headers.get("Host", "") in {f"{HOST}:{port}", f"localhost:{port}"}

    def _token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.review.token.encode())

    def _query_token(self) -> str | None:
        return (parse_qs(urlsplit(self.path).query).get("token") or [None])[0]

    # ------------------------------------------------------------------ routes
    def do_GET(self):  # noqa: N802  (the base class's name)
        self._guarded(self._get)

    def do_POST(self):  # noqa: N802
        self._guarded(self._post)

    def _guarded(self, route):
        # release.json may be rewritten or removed while the page is open: say so, in JSON.
        try:
            route()
        except IpevalError as exc:
            self._refuse(409, str(exc))

    def _get(self):
        if not self._host_ok():
            return self._refuse(403, "This page answers only on 127.0.0.1 or localhost.")
        path = urlsplit(self.path).path
        if path == "/review.js":
            return self._send(200, SCRIPT, "text/javascript; charset=utf-8")
        if path == "/review.css":
            return self._send(200, STYLE, "text/css; charset=utf-8")
        if path == "/":
            if not self._token_ok(self._query_token()):
                return self._send(403, "Open the address `ipeval review` printed: it holds "
                                       "the key of this review.", "text/plain; charset=utf-8")
            review = self.review
            return self._send(200, page_html(token=review.token, title=review.title(),
                                             who=review.who, role=review.role),
                              "text/html; charset=utf-8")
        if path == "/api/release":
            if not self._token_ok(self.headers.get("X-Ipeval-Token")):
                return self._refuse(403, "The key of this review is missing or wrong.")
            view = release_view(self.review.release(), read_decisions(self.review.out_dir))
            return self._json(200, {**view, "who": self.review.who, "role": self.review.role,
                                    "actions": list(ACTIONS[self.review.role])})
        if path.startswith("/output/"):
            return self._output(path[len("/output/"):])
        return self._refuse(404, "Nothing here.")

    def _output(self, uid: str):
        if not self._token_ok(self._query_token()):
            return self._refuse(403, "The key of this review is missing or wrong.")
        output = self.review.output(uid) if _UID.match(uid) else None
        path = output_file(self.review.out_dir, output) if output else None
        if path is None:
            return self._refuse(404, f"No output {uid!r} that may be shown in release.json.")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != str(output.get("sha256", "")).lower():
            return self._refuse(409, f"{output['file']} changed after `ipeval release`; run it "
                                     f"again so that what is reviewed is what would leave.")
        kind = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
            or "application/octet-stream"
        if kind.startswith("text/") or kind == "application/json":
            kind += "; charset=utf-8"
        self._send(200, data, kind, csp=OUTPUT_CSP)

    def _post(self):
        if not self._host_ok():
            return self._refuse(403, "This page answers only on 127.0.0.1 or localhost.")
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{self.headers.get('Host')}":
            return self._refuse(403, "A decision is taken only from this review's own page.")
        if not self._token_ok(self.headers.get("X-Ipeval-Token")):
            return self._refuse(403, "The key of this review is missing or wrong.")
        if urlsplit(self.path).path != "/api/decision":
            return self._refuse(404, "Nothing here.")
        if self.headers.get_content_type() != "application/json":
            return self._refuse(415, "Send the decision as JSON.")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= _MAX_BODY:
            return self._refuse(400, f"A decision is JSON of at most {_MAX_BODY} bytes.")
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return self._refuse(400, "The decision is not JSON.")
        try:
            status, payload = self.review.decide(body)
        except IpevalError as exc:
            status, payload = (400 if isinstance(exc, ParameterError) else 409), {"error": str(exc)}
        self._json(status, payload)


class ReviewServer:
    """The review page of ``out_dir`` for one reviewer, on 127.0.0.1 (the port is free when 0).

    ``start()`` serves from a thread (tests; :func:`serve` serves from the caller's);
    ``url`` is the page's address, key included; ``stop()`` ends it. Usable as a context
    manager (started on entry)."""

    def __init__(self, out_dir, *, who: str, role: str = "checker", port: int = 0,
                 host: str = HOST):
        if host != HOST:
            raise ParameterError(f"ipeval review listens on {HOST} only (the page shows "
                                 f"protected outputs); got host {host!r}.")
        if role not in ACTIONS:
            raise ParameterError(f"role must be one of {sorted(ACTIONS)}; got {role!r}.")
        self.who = str(who or "").strip()
        if not self.who:
            raise ParameterError("ipeval review needs the name of who reviews "
                                 "(--checker NAME or --researcher NAME).")
        self.out_dir, self.role = Path(out_dir), role
        # The account that started the page is whom its decisions are recorded for.
        self.account = account()
        load_release(self.out_dir)
        read_decisions(self.out_dir)          # a broken record stops the review before it starts
        self.token = secrets.token_urlsafe(32)
        handler = type("Handler", (_Handler,), {"review": self})
        # The standard library's server: no dependency to add, a handful of routes, one local
        # reviewer; threads so that a page's parallel requests do not wait for one another.
        try:
            self.httpd = ThreadingHTTPServer((HOST, int(port)), handler)
        except OSError as exc:
            raise ParameterError(f"ipeval review cannot listen on {HOST}:{port} ({exc.strerror}); "
                                 f"choose another --port, or 0 for a free one.") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/?token={self.token}"
        self._thread: threading.Thread | None = None
        self._launcher: Path | None = None

    # What the handler reads, fresh at each request: another reviewer may decide meanwhile,
    # and `ipeval release` may have been run again.
    def release(self) -> dict:
        return load_release(self.out_dir)

    def title(self) -> str:
        return (self.release().get("batch") or {}).get("title") or self.out_dir.name

    def output(self, uid: str) -> dict | None:
        return next((o for o in self.release().get("outputs", []) if o.get("uid") == uid), None)

    def decide(self, body) -> tuple[int, dict]:
        """Record one decision posted by the page: ``(HTTP status, answer)``."""
        if not isinstance(body, dict):
            raise ParameterError("A decision is a JSON object {uid, action, reason}.")
        uid, action, reason = body.get("uid"), body.get("action"), body.get("reason") or ""
        if not all(isinstance(v, str) for v in (uid, action, reason)) or len(reason) > 10000:
            raise ParameterError("uid, action and reason must be text (a reason of at most "
                                 "10000 characters).")
        output = self.output(uid)
        if output is None:
            return 404, {"error": f"No output {uid!r} in release.json."}
        if not output.get("releasable", True) and action in ("approve", "exception"):
            raise ParameterError(f"{uid} is internal: it is never released, whatever is decided.")
        path = output_file(self.out_dir, output)
        sha = str(output.get("sha256", "")).lower()
        if path is None or file_sha256(path) != sha:
            return 409, {"error": f"{output.get('file')} is gone or changed after `ipeval "
                                  f"release`; run it again before deciding."}
        entry = append_decision(self.out_dir, who=self.who, role=self.role, uid=uid,
                                sha256=sha, action=action, reason=reason,
                                os_user=self.account)
        # ACRO's results.json of the batch carries the decisions as comments: a checker's own
        # tools (the SACRO viewer) see the same state as this page.
        write_acro_results(self.out_dir, self.release())
        return 200, {"entry": entry}

    def start(self) -> "ReviewServer":
        # A short poll: stop() (tests start and stop many servers) returns quickly.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True, name=f"ipeval-review-{self.port}")
        self._thread.start()
        return self

    def open_browser(self) -> None:
        """Open the page in the reviewer's browser through a file only they can read: the key
        is not put on a command line that every user of the machine can list."""
        fd, name = tempfile.mkstemp(prefix="ipeval-review-", suffix=".html")
        with open(fd, "w", encoding="utf-8") as fh:
            url = html.escape(self.url)
            fh.write(f'<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" '
                     f'content="0;url={url}"><a href="{url}">Release review</a>')
        self._launcher = Path(name)
        webbrowser.open(self._launcher.as_uri())

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()
        if self._launcher is not None:
            self._launcher.unlink(missing_ok=True)

    def __enter__(self) -> "ReviewServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(out_dir, *, who: str, role: str = "checker", port: int = 0,
          open_browser: bool = False, ready=None, host: str = HOST) -> None:
    """Serve the review page of ``out_dir`` for ``who`` in ``role`` until Ctrl-C.

    ``ready`` (optional) is called with the page's address once the server listens. Raises
    InputFileError when ``OUT/release.json`` is missing (run ``ipeval release OUT`` first) or
    ``decisions.jsonl`` is broken, ParameterError for a bad role, name, host or busy port."""
    server = ReviewServer(out_dir, who=who, role=role, port=port, host=host)
    print(f"Release review of {server.out_dir} for {server.who} ({role}):\n  {server.url}\n"
          f"Press Ctrl-C to stop.", file=sys.stderr, flush=True)
    if ready is not None:
        ready(server.url)
    if open_browser:
        server.open_browser()
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
