"""``ipeval review`` in a real browser (Debian's Chromium driven by Playwright, tests/browser.py).

Two checkers and a researcher review one fake release, each with their own server as they
would each run ``ipeval review OUT``: kari approves one output and rejects another (the page
first refuses the rejection without a reason), per approves the first (now approved: four
eyes), anna asks for an exception for the failed output, and kari's page shows it. Every
request is routed: none may leave 127.0.0.1, and no page may log an error.
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from browser import chromium, visit
from evaluation.release.decisions import read_decisions
from evaluation.release.review_server import ReviewServer
from release.test_review import INJECTED, make_out

EXCEPTION = "The two small cells are structural zeros <b>by design</b>."


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser):
    """A browser context whose every request is routed: those leaving 127.0.0.1 are recorded
    and aborted."""
    ctx = browser.new_context()
    ctx.outside = []

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.scheme in {"data", "blob", "about"} or parts.hostname == "127.0.0.1":
            r.continue_()
        else:
            ctx.outside.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    yield ctx
    ctx.close()


def _card(page, uid):
    return page.locator(f'section.output[data-uid="{uid}"]')


def _decide(page, uid, action, reason=None):
    card = _card(page, uid)
    if reason is not None:
        card.locator("textarea").fill(reason)
    card.locator(f'button[data-action="{action}"]').click()


def _recorded(page, uid):
    # Locators, not wait_for_function: the page's CSP forbids evaluating strings.
    _card(page, uid).locator(".msg", has_text="Recorded: ").wait_for()


def _sound(seen):
    assert seen.problems == [], "\n".join(seen.problems)
    assert seen.external == [] and seen.dialogs == []


def test_two_checkers_and_a_researcher_review_a_release(tmp_path, context):
    out = make_out(tmp_path)
    release = json.loads((out / "release.json").read_text(encoding="utf-8"))
    sha = {o["uid"]: o["sha256"] for o in release["outputs"]}
    kari = ReviewServer(out, who="kari").start()
    per = ReviewServer(out, who="per").start()
    anna = ReviewServer(out, who="anna", role="researcher").start()
    # Each as if logged in under their own account (the tests run under one).
    kari.account, per.account, anna.account = "kari", "per", "anna"
    try:
        seen = visit(context, kari.url)
        page = seen.page
        page.wait_for_selector("section.output >> nth=3")
        assert page.title().startswith('Release review — Batch <script>alert("title")')
        assert "You are kari, output checker." in page.inner_text("#who")
        assert page.inner_text("#summary") == ("4 outputs: 0 approved, 3 waiting, 0 rejected, "
                                               "1 never released (internal); 2 approvals "
                                               "required for each.")
        # Names are text, never markup; words say the status, not only colours.
        assert _card(page, "output_1").locator("h2").inner_text() == INJECTED
        assert page.evaluate("window.__pwned") is None
        assert "pass: the output check found nothing" in _card(page, "output_0").inner_text()
        failed = _card(page, "output_2").inner_text()
        assert "fail: the output check found something" in failed and "small_cell" in failed
        assert "Table 1" in _card(page, "output_0").inner_text()
        internal = _card(page, "output_3")
        assert "never released (internal)" in internal.inner_text()
        assert internal.locator('button[data-action="approve"]').count() == 0
        assert internal.locator("button.act").all_inner_texts() == ["Comment"]

        # The output, shown in the page (sandboxed) and linked for a new tab.
        card = _card(page, "output_0")
        card.get_by_role("button", name="Show the output here").click()
        frame = card.frame_locator("iframe")
        assert frame.locator("h1").inner_text() == "Report A"
        href = card.get_by_role("link", name="Open the output in a new tab").get_attribute("href")
        assert href == f"/output/output_0?token={kari.token}"

        _decide(page, "output_0", "approve")
        _recorded(page, "output_0")
        assert "Waiting: 1 of 2 approvals" in _card(page, "output_0").locator(".state").inner_text()

        # A rejection without a reason is refused by the page, before anything is sent.
        _decide(page, "output_1", "reject")
        message = _card(page, "output_1").locator(".msg")
        assert "needs a reason" in message.inner_text()
        assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
        assert len(read_decisions(out)) == 1
        page.keyboard.type("Shows a count of 3 in Table 2.")   # the box has the focus
        _card(page, "output_1").locator('button[data-action="reject"]').focus()
        page.keyboard.press("Enter")
        _recorded(page, "output_1")
        assert _card(page, "output_1").locator(".state").inner_text() == \
            "Rejected: rejected by kari"

        # The second checker, with their own server.
        seen_per = visit(context, per.url)
        seen_per.page.wait_for_selector('section.output[data-uid="output_0"]')
        assert "Decisions so far" in _card(seen_per.page, "output_0").inner_text()
        _decide(seen_per.page, "output_0", "approve")
        _recorded(seen_per.page, "output_0")
        assert _card(seen_per.page, "output_0").locator(".state").inner_text() == \
            "Approved: approved by kari, per"

        # The researcher asks for an exception for the failed output.
        seen_anna = visit(context, anna.url)
        mine = seen_anna.page
        mine.wait_for_selector('section.output[data-uid="output_2"]')
        assert "You are anna, researcher." in mine.inner_text("#who")
        assert mine.locator('button[data-action="approve"]').count() == 0
        assert mine.locator('button[data-action="reject"]').count() == 0
        assert _card(mine, "output_0").locator('button[data-action="exception"]').count() == 0
        _decide(mine, "output_2", "exception")
        assert "needs a reason" in _card(mine, "output_2").locator(".msg").inner_text()
        _decide(mine, "output_2", "exception", EXCEPTION)
        _recorded(mine, "output_2")

        # Kari's page, refreshed, shows the exception beside the failed output.
        page.get_by_role("button", name="Refresh all").click()
        _card(page, "output_2").locator(".exception").wait_for()
        shown = _card(page, "output_2").locator(".exception").inner_text()
        assert shown.startswith("Exception requested by anna (") and shown.endswith(EXCEPTION)
        assert page.inner_text("#summary").startswith("4 outputs: 1 approved, 1 waiting, "
                                                      "1 rejected, 1 never released")
        assert _card(page, "output_0").locator(".state").inner_text() == \
            "Approved: approved by kari, per"

        for each in (seen, seen_per, seen_anna):
            _sound(each)
        assert context.outside == []
    finally:
        for server in (kari, per, anna):
            server.stop()

    entries = read_decisions(out)
    assert [(e["who"], e["role"], e["uid"], e["action"], e["reason"]) for e in entries] == [
        ("kari", "checker", "output_0", "approve", ""),
        ("kari", "checker", "output_1", "reject", "Shows a count of 3 in Table 2."),
        ("per", "checker", "output_0", "approve", ""),
        ("anna", "researcher", "output_2", "exception", EXCEPTION)]
    assert all(e["sha256"] == sha[e["uid"]] for e in entries)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
