"""Browser checks of written pages: Playwright driving Debian's Chromium, pages served over
http://127.0.0.1 from a folder by a thread of this process.

Playwright's own browsers are never downloaded (the machines have a closed network); ``make
browser`` installs Debian's ``chromium``. Without it the tests fail and say so, unless
``IPEVAL_SKIP_BROWSER=1`` asks to skip them.

A visit records everything that went wrong while the page loaded: console errors, uncaught
exceptions, failed requests and HTTP errors, dialogs opened, and every request that left
127.0.0.1 (a page read on a closed network must not need one).
"""
from __future__ import annotations

import functools
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin, urlsplit

import pytest

SKIP_ENV = "IPEVAL_SKIP_BROWSER"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Chromium asks every site for /favicon.ico by itself; a page that does not name one is not
# broken by the 404.
_BROWSER_OWN = ("/favicon.ico",)


def chromium_executable() -> str:
    """Debian's Chromium; without it the test fails saying how to get it, or skips when
    IPEVAL_SKIP_BROWSER=1."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium")
                                        else None)
    if path:
        return path
    message = "Chromium is not installed: run `make browser` (apt-get install chromium)."
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{message} Skipped because {SKIP_ENV}=1.")
    pytest.fail(f"{message} Or set {SKIP_ENV}=1 to skip the browser tests.", pytrace=False)


@contextmanager
def chromium():
    """A headless Chromium (for a fixture: ``with chromium() as browser: yield browser``)."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: run `make setup` (it is in the test extras).",
                    pytrace=False)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


@contextmanager
def serve(folder):
    """Serve ``folder`` over HTTP on a free port of 127.0.0.1; yields the base URL (with '/')."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Visit:
    page: object
    problems: list = field(default_factory=list)   # errors of the page or of local requests
    external: list = field(default_factory=list)   # requests that left 127.0.0.1
    dialogs: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.page.inner_text("body")


def visit(browser, url: str) -> Visit:
    """Open ``url`` in a new page, listening before it loads; the page stays open."""
    page = browser.new_page()
    seen = Visit(page)
    local = urlsplit(url).netloc

    def is_local(address: str) -> bool:
        parts = urlsplit(address)
        return parts.scheme in {"data", "blob", "about"} or parts.netloc == local

    def on_request(request):
        if not is_local(request.url):
            seen.external.append(request.url)

    def on_console(message):
        where = (message.location or {}).get("url") or url
        # An external resource's failure is reported under ``external``, once.
        if message.type == "error" and is_local(where) and urlsplit(where).path not in _BROWSER_OWN:
            seen.problems.append(f"console error: {message.text} ({where})")

    def on_failed(request):
        if is_local(request.url):
            seen.problems.append(f"request failed: {request.url} ({request.failure})")

    def on_response(response):
        if response.status >= 400 and urlsplit(response.url).path not in _BROWSER_OWN:
            seen.problems.append(f"HTTP {response.status}: {response.url}")

    def on_dialog(dialog):
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    page.on("dialog", on_dialog)
    response = page.goto(url, wait_until="load")
    if response is None or response.status != 200:
        seen.problems.append(f"{url} answered {None if response is None else response.status}")
    return seen


def image_widths(page) -> list[tuple[str, int]]:
    """(source, natural width) of every <img>; a width of 0 is an image that did not render."""
    return [(src, int(width)) for src, width in page.evaluate(
        "Array.from(document.images)"
        ".map(i => [i.src.slice(0, 80), i.complete ? i.naturalWidth : 0])")]


def broken_links(page) -> list[str]:
    """Relative <a href> of the page that do not answer 200 (each requested once)."""
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]'))"
                          ".map(a => a.getAttribute('href'))")
    broken = []
    for href in dict.fromkeys(hrefs):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith("#"):
            continue
        answer = page.request.get(urljoin(page.url, href))
        if answer.status != 200:
            broken.append(f"{href} -> HTTP {answer.status}")
    return broken


def assert_page_is_sound(seen: Visit, *, min_images: int = 0) -> None:
    """No problem while loading, nothing fetched from elsewhere, every image rendered, every
    relative link answers."""
    assert seen.problems == [], "\n".join(seen.problems)
    assert seen.external == [], f"requests that leave 127.0.0.1: {seen.external}"
    widths = image_widths(seen.page)
    assert len(widths) >= min_images, f"{len(widths)} image(s), expected at least {min_images}"
    assert [src for src, width in widths if width <= 0] == [], "images that did not render"
    assert broken_links(seen.page) == []
