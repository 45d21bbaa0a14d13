"""The output checkers' decisions on a release: ``OUT/decisions.jsonl``, append-only.

Each line is one decision: who (the name they gave and the operating-system account that
ran ``ipeval review``), in which role, on which output and on which version of it (its
SHA-256), what (approve, reject, ask for an exception, comment) and why, when, and the SHA-256
of the line before it. The chain makes an edited or inserted line visible, and
``decisions.head.json`` (the number and hash of the last line, written with each line) makes
lines cut from the end visible: :func:`read_decisions` refuses either. The file is the record a
secure platform keeps of who let what out.

Four eyes: an output leaves only when ``approvals_required`` checkers with different accounts
approve the version that would leave, none of them rejects it, and, when the output check
found something (status ``fail``), a researcher asked for an exception and is none of the
approvers (:func:`output_states`). A name is what someone typed; an account is who the
platform let in, so two names under one account count as one pair of eyes. A decision on an
earlier version of a file does not count for a changed one: a re-rendered report must be
looked at again.
"""
from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from evaluation.errors import InputFileError, ParameterError

__all__ = ["ACTIONS", "DECISIONS_FILE", "HEAD_FILE", "OutputState", "account",
           "append_decision", "decisions_head", "line_hashes", "output_states", "read_decisions"]

DECISIONS_FILE = "decisions.jsonl"
HEAD_FILE = "decisions.head.json"
ACTIONS = {"checker": ("approve", "reject", "comment"), "researcher": ("exception", "comment")}
"""What each role may record."""
_NEEDS_REASON = {"reject", "exception", "comment"}
_GENESIS = "0" * 64


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def line_hashes(out_dir) -> list[str]:
    """The SHA-256 of each decision line, in order: what the next line's ``prev`` names."""
    path = Path(out_dir) / DECISIONS_FILE
    if not path.is_file():
        return []
    return [_line_hash(line) for line in path.read_bytes().splitlines() if line.strip()]


def decisions_head(out_dir) -> str:
    """The hash of the last decision line (64 zeros when there is none)."""
    hashes = line_hashes(out_dir)
    return hashes[-1] if hashes else _GENESIS


def account() -> str:
    """The operating-system account this process runs as: who a decision is recorded for."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):     # no passwd entry for the uid (containers)
        return str(os.getuid())


def append_decision(out_dir, *, who: str, role: str, uid: str, sha256: str, action: str,
                    reason: str = "", os_user: str | None = None) -> dict:
    """Append one decision to ``OUT/decisions.jsonl`` and return it.

    ``os_user`` is the account the decision is made under (default: this process's,
    :func:`account`); :class:`.review_server.ReviewServer` passes the account it started as.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> append_decision(out, who="kari", role="checker", uid="output_0", sha256="ab" * 32,
    ...                 action="approve")["seq"]
    1
    >>> append_decision(out, who="per", role="checker", uid="output_0", sha256="ab" * 32,
    ...                 action="reject")
    Traceback (most recent call last):
    ...
    evaluation.errors.ParameterError: A decision to reject needs a reason; give one.
    """
    who, reason = str(who or "").strip(), str(reason or "").strip()
    if role not in ACTIONS:
        raise ParameterError(f"role must be one of {sorted(ACTIONS)}; got {role!r}.")
    if action not in ACTIONS[role]:
        raise ParameterError(f"A {role} may {', '.join(ACTIONS[role])}; not {action!r}.")
    if not who:
        raise ParameterError("A decision needs the name of who makes it.")
    if action in _NEEDS_REASON and not reason:
        raise ParameterError(f"A decision to {action} needs a reason; give one.")
    if not (isinstance(sha256, str) and len(sha256) == 64):
        raise ParameterError(f"sha256 must be 64 hex digits; got {sha256!r}.")
    path = Path(out_dir) / DECISIONS_FILE
    # Two checkers may decide at the same moment: the lock keeps seq and the chain whole.
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            lines = [line for line in fh.read().splitlines() if line.strip()]
            entry = {"seq": len(lines) + 1,
                     "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "who": who, "role": role, "uid": str(uid), "sha256": sha256.lower(),
                     "action": action, "reason": reason,
                     "os_user": str(os_user or account()),
                     "prev": _line_hash(lines[-1]) if lines else _GENESIS}
            _check_head(path, len(lines), entry["prev"])
            line = json.dumps(entry, ensure_ascii=False).encode("utf-8")
            fh.seek(0, os.SEEK_END)
            fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
            _write_head(path, entry["seq"], _line_hash(line))
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return entry


def read_decisions(out_dir) -> list[dict]:
    """Every decision in order; none when neither the file nor its head exists. Raises
    InputFileError on a line that is not a decision, a broken chain (a line edited, removed or
    inserted) and a file that does not end where its head says (lines cut from the end)."""
    path = Path(out_dir) / DECISIONS_FILE
    if not path.is_file():
        _check_head(path, 0, _GENESIS)
        return []
    out, prev = [], _GENESIS
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise InputFileError(path, f"line {number} is not JSON.", row=number,
                                 expected="one decision per line, as `ipeval review` "
                                          "writes them; restore the file from its backup") from None
        if not isinstance(entry, dict) or entry.get("prev") != prev:
            raise InputFileError(path, f"line {number} does not follow the line before it "
                                       f"(the chain of hashes is broken): the file was edited.",
                                 row=number, expected="the file as `ipeval review` wrote it; "
                                                       "restore it from its backup")
        out.append(entry)
        prev = _line_hash(line)
    _check_head(path, len(out), prev)
    return out


def _check_head(path: Path, lines: int, last: str) -> None:
    """Refuse a decisions file that ends before its head: lines cut from the end leave a chain
    that is whole, so only a record kept beside it shows them gone."""
    head_path = path.with_name(HEAD_FILE)
    try:
        head = json.loads(head_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if lines:
            raise InputFileError(head_path, f"missing although {path.name} holds {lines} "
                                            f"decision(s): the record of its last line was "
                                            f"removed.", expected="the file `ipeval review` "
                                 "writes beside decisions.jsonl; restore both from the "
                                 "backup") from None
        return
    except ValueError as exc:
        raise InputFileError(head_path, f"not JSON ({exc}).",
                             expected="restore it from the backup") from None
    if not isinstance(head, dict) or (head.get("seq"), head.get("head")) != (lines, last):
        seq = head.get("seq") if isinstance(head, dict) else None
        raise InputFileError(path, f"holds {lines} decision(s) but its last recorded decision "
                                   f"is number {seq} ({head_path.name}): decisions were removed "
                                   f"or the file was replaced.",
                             expected="the file as `ipeval review` wrote it; restore it from "
                                      "its backup")


def _write_head(path: Path, seq: int, last: str) -> None:
    head_path = path.with_name(HEAD_FILE)
    tmp = head_path.with_name(f".{HEAD_FILE}.tmp")
    tmp.write_text(json.dumps({"seq": seq, "head": last}), encoding="utf-8")
    tmp.replace(head_path)


@dataclass
class OutputState:
    """Whether one output of a release may leave, and why."""
    approved: bool
    why: str
    approvals: list = field(default_factory=list)
    rejections: list = field(default_factory=list)
    exception: str | None = None
    decisions: list = field(default_factory=list)


def output_states(release: dict, decisions: list[dict]) -> dict:
    """``{uid: OutputState}`` for every output of ``release`` (a ``release.json``).

    Examples
    --------
    >>> release = {"approvals_required": 2, "outputs": [
    ...     {"uid": "output_0", "sha256": "ab" * 32, "status": "pass", "releasable": True}]}
    >>> d = [{"uid": "output_0", "sha256": "ab" * 32, "role": "checker", "who": w,
    ...       "os_user": w, "action": "approve", "reason": ""} for w in ("kari", "per")]
    >>> output_states(release, d[:1])["output_0"].approved, output_states(release, d)["output_0"].approved
    (False, True)
    >>> d[1]["os_user"] = "kari"                    # two names, one account
    >>> output_states(release, d)["output_0"].why
    '1 of 2 approvals (per decided under the same account as another approver: one pair of eyes)'

    """
    need = int(release.get("approvals_required", 2))
    states = {}
    for output in release.get("outputs", []):
        uid, sha = output["uid"], str(output.get("sha256", "")).lower()
        mine = [d for d in decisions if d.get("uid") == uid and d.get("sha256") == sha]
        latest: dict = {}
        exception, asked_by = None, set()
        for d in mine:
            if d.get("role") == "checker" and d.get("action") in ("approve", "reject"):
                latest[d["who"]] = d
            elif d.get("role") == "researcher" and d.get("action") == "exception":
                exception = d.get("reason")
                asked_by |= {d["who"], _account_of(d)}
        approvals = [w for w, d in latest.items() if d["action"] == "approve"]
        rejections = [(w, d.get("reason", "")) for w, d in latest.items() if d["action"] == "reject"]
        counted, accounts = [], set()
        for w in approvals:
            # One pair of eyes per account: a name is typed, an account is who logged in.
            acct = _account_of(latest[w])
            if w not in asked_by and acct not in asked_by and acct not in accounts:
                counted.append(w)
                accounts.add(acct)
        if not output.get("releasable", True):
            approved, why = False, "never released: an internal output (person-level)"
        elif rejections:
            approved, why = False, f"rejected by {', '.join(w for w, _ in rejections)}"
        elif output.get("status") == "fail" and exception is None:
            approved, why = False, "the output check found something and no exception was asked for"
        elif len(counted) < need:
            approved = False
            why = f"{len(counted)} of {need} approvals" + _not_counted(approvals, counted,
                                                                     latest, asked_by)
        else:
            approved, why = True, f"approved by {', '.join(counted)}"
        states[uid] = OutputState(approved, why, approvals, rejections, exception, mine)
    return states


def _account_of(decision: dict) -> str:
    # A decision recorded without an account (by hand, or by an older ipeval) has one.
    return f"account:{decision.get('os_user') or ''}"


def _not_counted(approvals: list, counted: list, latest: dict, asked_by: set) -> str:
    left = [w for w in approvals if w not in counted]
    if not left:
        return ""
    why = []
    if any(w in asked_by or _account_of(latest[w]) in asked_by for w in left):
        why.append("the researcher who asked for the exception does not count")
    if any(w not in asked_by and _account_of(latest[w]) not in asked_by for w in left):
        why.append(f"{', '.join(left)} decided under the same account as another approver: "
                   f"one pair of eyes")
    return f" ({'; '.join(why)})"
