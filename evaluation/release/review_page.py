"""The page of ``ipeval review``: its HTML shell, script and style, as text the server sends.

The shell holds only what the server knows and escapes (the batch's title, who reviews, in which
role, the server's key); everything of the release (names, findings, tables, reasons) is fetched
from ``/api/release`` by the script and put into the page with ``textContent``, never parsed as
HTML: a name or a reason holding ``<script>`` shows as text. The script and style are served
by the same server (``/review.js``, ``/review.css``): nothing is loaded from elsewhere, so the
page works on a closed network and its Content-Security-Policy can forbid inline code.

Examples
--------
>>> page = page_html(token="k3y", title="<b>Batch</b>", who="kari", role="checker")
>>> "&lt;b&gt;Batch&lt;/b&gt;" in page, "<b>" in page, 'content="k3y"' in page
(True, False, True)
"""
from __future__ import annotations

import html

__all__ = ["ROLE_WORDS", "SCRIPT", "STYLE", "TOKEN_META", "page_html"]

TOKEN_META = "ipeval-token"
ROLE_WORDS = {"checker": "output checker", "researcher": "researcher"}
_INTRO = {
    "checker": "Open each output and look at it before you decide. An output leaves only when "
               "enough different checkers approve the version shown here and none rejects it; "
               "an output the check failed also needs a researcher's exception request.",
    "researcher": "You may ask for an exception for an output the output check failed, saying "
                  "why it is safe to release; the output checkers decide. Comments are kept "
                  "with the decisions.",
}


def page_html(*, token: str, title: str, who: str, role: str) -> str:
    """The page's HTML: the shell the script fills in (every value escaped)."""
    e = html.escape
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="{TOKEN_META}" content="{e(token)}">
<meta name="ipeval-role" content="{e(role)}">
<title>Release review — {e(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/review.css">
<script src="/review.js" defer></script>
</head>
<body>
<header>
<h1>Release review — {e(title)}</h1>
<p id="who">You are <strong>{e(who)}</strong>, {e(ROLE_WORDS.get(role, role))}.
{e(_INTRO.get(role, ""))}</p>
<p id="summary">Loading the release…</p>
<p><button type="button" id="refresh">Refresh all</button></p>
<div id="notice" role="alert"></div>
</header>
<main id="outputs" aria-label="Outputs of the release"></main>
<noscript><p>This page needs JavaScript; its script comes from this server only.</p></noscript>
</body>
</html>
"""


# Built with textContent only: the data are the batch's and the reviewers' words, never markup.
SCRIPT = r"""/* ipeval review: the release's outputs, their checks and the decisions on them. */
"use strict";
(function () {
  const token = document.querySelector('meta[name="ipeval-token"]').getAttribute("content");
  const list = document.getElementById("outputs");
  const summary = document.getElementById("summary");
  const notice = document.getElementById("notice");
  const BADGES = {pass: "pass: the output check found nothing",
                  fail: "fail: the output check found something",
                  review: "review: needs a human look"};
  const LABELS = {approve: "Approve", reject: "Reject", comment: "Comment",
                  exception: "Request exception"};
  const DONE = {approve: "approved", reject: "rejected", comment: "commented",
                exception: "asked for an exception"};
  const NEEDS_REASON = {
    reject: "Not sent: a rejection needs a reason. Write why in the box first.",
    exception: "Not sent: an exception request needs a reason. Write why it is safe first.",
    comment: "Not sent: write the comment in the box first."};
  const STATES = {approved: "Approved", waiting: "Waiting", rejected: "Rejected",
                  internal: "Not releasable"};

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }
  function table(caption, heads, rows) {
    const head = el("tr", {}, heads.map(h => el("th", {scope: "col", text: h})));
    const body = rows.map(r => el("tr", {}, r.map(v => el("td", {text: String(v)}))));
    return el("table", {}, [el("caption", {text: caption}), el("thead", {}, [head]),
                            el("tbody", {}, body)]);
  }
  function size(n) {
    if (n == null) return "";
    return n < 1024 ? n + " bytes" : n < 1048576 ? (n / 1024).toFixed(1) + " KiB"
      : (n / 1048576).toFixed(1) + " MiB";
  }
  function outputUrl(uid) {
    return "/output/" + encodeURIComponent(uid) + "?token=" + encodeURIComponent(token);
  }
  async function getRelease() {
    const answer = await fetch("/api/release", {headers: {"X-Ipeval-Token": token},
                                                cache: "no-store", credentials: "same-origin"});
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.error || ("HTTP " + answer.status));
    return body;
  }
  function summaryLine(s, need) {
    return s.outputs + " outputs: " + s.approved + " approved, " + s.waiting + " waiting, " +
      s.rejected + " rejected, " + s.internal + " never released (internal); " + need +
      " approvals required for each.";
  }

  function findings(o) {
    const counts = Object.entries((o.check || {}).counts || {});
    if (!counts.length) return el("p", {text: "Findings: none."});
    const part = el("div", {class: "findings"}, [table("Findings of the output check",
      ["rule", "count"], counts)]);
    if ((o.findings || []).length) {
      const items = o.findings.map(f => el("li", {}, [
        el("strong", {text: f.rule || ""}), el("span", {text: " in " + (f.where || "?") + ": "}),
        el("code", {text: f.excerpt || ""})]));
      part.appendChild(el("details", {}, [
        el("summary", {text: o.findings.length + " finding(s) with masked excerpts"}),
        el("ul", {}, items)]));
    }
    return part;
  }
  function tables(o) {
    if (!(o.tables || []).length) return null;
    return table("Protected tables shown", ["table", "cells", "cells <5", "cells ·",
                                            "cells hidden for the batch", "variables"],
      o.tables.map(t => [t.name, t.cells, t.primary, t.secondary, t.batch_secondary,
                         (t.variables || []).join(", ")]));
  }
  function decisions(o) {
    const note = o.earlier_decisions ? " " + o.earlier_decisions +
      " decision(s) on an earlier version of this file do not count." : "";
    if (!o.decisions.length) return el("p", {text: "Decisions so far: none." + note});
    return el("div", {}, [table("Decisions so far (on this version)",
      ["who", "account", "role", "when", "action", "reason"],
      o.decisions.map(d => [d.who, d.os_user || "", d.role, d.at, d.action, d.reason || ""])),
      note ? el("p", {text: note.trim()}) : null]);
  }
  function allowed(o, actions) {
    return actions.filter(a => o.releasable ? (a !== "exception" || o.status === "fail")
                                            : a === "comment");
  }

  function card(o, i, data) {
    const id = "o" + i;
    const section = el("section", {class: "output state-" + o.state.word, "data-uid": o.uid,
                                   "aria-labelledby": id + "-name"});
    section.appendChild(el("h2", {id: id + "-name", text: o.name}));
    const badges = el("p", {class: "badges"}, [
      el("span", {class: "badge " + o.status, text: BADGES[o.status] || o.status}),
      o.releasable ? null : el("span", {class: "badge internal",
                                        text: "never released (internal)"})]);
    section.appendChild(badges);
    section.appendChild(el("p", {class: "meta", text: o.kind + " · " + o.uid + " · " + o.file +
                                 " · " + size(o.bytes)}));
    if (o.summary) section.appendChild(el("p", {text: o.summary}));
    const params = Object.entries(o.parameters || {}).map(([k, v]) => k + "=" + v).join(", ");
    if (params) section.appendChild(el("p", {text: "Parameters: " + params}));
    const frame = el("div", {class: "frame", hidden: ""});
    const show = el("button", {type: "button", "aria-expanded": "false",
                               text: "Show the output here"});
    show.addEventListener("click", () => {
      const open = frame.hidden;
      frame.hidden = !open;
      show.setAttribute("aria-expanded", String(open));
      show.textContent = open ? "Hide the output" : "Show the output here";
      if (open && !frame.firstChild) frame.appendChild(el("iframe", {
        src: outputUrl(o.uid), sandbox: "", title: "The output " + o.name}));
    });
    section.appendChild(el("p", {class: "open"}, [
      el("a", {href: outputUrl(o.uid), target: "_blank", rel: "noopener noreferrer",
               text: "Open the output in a new tab"}), show]));
    section.appendChild(frame);
    section.appendChild(findings(o));
    const shown = tables(o);
    if (shown) section.appendChild(shown);
    section.appendChild(el("p", {text: "Variables: " + ((o.variables || []).join(", ") ||
                                                         "none listed") + "."}));
    for (const ex of o.exceptions) {
      section.appendChild(el("p", {class: "exception"}, [
        el("strong", {text: "Exception requested by " + ex.who + " (" + ex.at + "): "}),
        el("span", {text: ex.reason})]));
    }
    section.appendChild(decisions(o));
    section.appendChild(el("p", {class: "state", tabindex: "-1"}, [
      el("strong", {text: (STATES[o.state.word] || o.state.word) + ": "}),
      el("span", {text: o.state.why})]));
    section.appendChild(actions(o, id, data));
    return section;
  }

  function actions(o, id, data) {
    const names = allowed(o, data.actions);
    const box = el("div", {class: "actions"});
    const msg = el("p", {class: "msg", id: id + "-msg", role: "status"});
    const reason = el("textarea", {id: id + "-reason", rows: "2", maxlength: "4000",
                                   "aria-describedby": id + "-msg"});
    box.append(el("label", {for: id + "-reason",
                            text: "Reason or comment for " + o.name}), reason);
    const buttons = names.map(a => el("button", {type: "button", class: "act " + a,
                                                 "data-action": a, text: LABELS[a] || a}));
    buttons.forEach(b => b.addEventListener("click",
      () => decide(o.uid, b.dataset.action, reason, msg, buttons)));
    box.append(el("div", {class: "buttons"}, buttons), msg);
    return box;
  }

  async function decide(uid, action, reason, msg, buttons) {
    const why = reason.value.trim();
    if (!why && NEEDS_REASON[action]) {
      msg.textContent = NEEDS_REASON[action];
      msg.className = "msg error";
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    buttons.forEach(b => { b.disabled = true; });
    msg.className = "msg";
    msg.textContent = "Sending…";
    try {
      const answer = await fetch("/api/decision", {
        method: "POST", cache: "no-store", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-Ipeval-Token": token},
        body: JSON.stringify({uid: uid, action: action, reason: why})});
      const body = await answer.json();
      if (!answer.ok) throw new Error(body.error || ("HTTP " + answer.status));
      const e = body.entry;
      await refresh(uid, "Recorded: " + e.who + " " + (DONE[action] || action) +
                         " (decision " + e.seq + ").", action);
    } catch (error) {
      msg.textContent = "Not recorded: " + error.message;
      msg.className = "msg error";
      buttons.forEach(b => { b.disabled = false; });
    }
  }

  function render(data) {
    summary.textContent = summaryLine(data.summary, data.approvals_required);
    list.replaceChildren(...data.outputs.map((o, i) => card(o, i, data)));
  }
  async function refresh(uid, message, action) {
    const data = await getRelease();
    summary.textContent = summaryLine(data.summary, data.approvals_required);
    const i = data.outputs.findIndex(o => o.uid === uid);
    const old = Array.from(list.children).find(s => s.dataset.uid === uid);
    if (i < 0 || !old) { render(data); return; }
    const fresh = card(data.outputs[i], i, data);
    old.replaceWith(fresh);
    fresh.querySelector(".msg").textContent = message;
    const again = fresh.querySelector('button[data-action="' + action + '"]');
    (again || fresh.querySelector(".state")).focus();
  }
  async function loadAll() {
    notice.textContent = "";
    try { render(await getRelease()); }
    catch (error) { notice.textContent = "The release could not be read: " + error.message; }
  }
  document.getElementById("refresh").addEventListener("click", loadAll);
  loadAll();
})();
"""

STYLE = """/* ipeval review */
:root { --ink: #1d1d1f; --muted: #555; --line: #c8c8cc; --pass: #1e6b33; --fail: #a1261b;
        --review: #7a5200; --focus: #0b57d0; }
body { font: 15px/1.45 system-ui, sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 72rem; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0; }
h2 { font-size: 1.1rem; margin: 0 0 .3rem; overflow-wrap: anywhere; }
#summary { font-weight: 600; }
#notice:not(:empty) { border: 2px solid var(--fail); padding: .5rem; color: var(--fail); }
.output { border: 1px solid var(--line); border-left: 6px solid var(--line); border-radius: 4px;
          padding: .8rem 1rem; margin: 1rem 0; }
.output.state-approved { border-left-color: var(--pass); }
.output.state-rejected { border-left-color: var(--fail); }
.output.state-internal { border-left-color: var(--muted); background: #f6f6f7; }
.badge { display: inline-block; border: 1px solid; border-radius: 3px; padding: 0 .4rem;
         margin-right: .4rem; font-weight: 600; }
.badge.pass { color: var(--pass); }
.badge.fail { color: var(--fail); }
.badge.review { color: var(--review); }
.badge.internal { color: var(--muted); }
.meta { color: var(--muted); overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .4rem 0; }
caption { text-align: left; font-weight: 600; white-space: nowrap; }
th, td { border: 1px solid var(--line); padding: .15rem .5rem; text-align: left;
         vertical-align: top; overflow-wrap: anywhere; }
code { white-space: pre-wrap; }
.exception { border-left: 4px solid var(--review); padding-left: .5rem; }
.state { font-size: 1.05rem; }
.frame iframe { width: 100%; height: 32rem; border: 1px solid var(--line); }
.actions label { display: block; font-weight: 600; margin-top: .4rem; }
.actions textarea { width: 100%; box-sizing: border-box; font: inherit; }
.buttons { margin-top: .3rem; }
button { font: inherit; padding: .25rem .8rem; margin-right: .4rem; cursor: pointer; }
button:disabled { cursor: progress; }
.open a { margin-right: 1rem; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
textarea[aria-invalid="true"] { border: 2px solid var(--fail); }
.msg.error { color: var(--fail); font-weight: 600; }
"""
