"""A release as ACRO writes its outputs: ``results.json`` for ACRO's and SACRO's tools.

Output checkers who know ACRO (the Python/R/Stata package that checks outputs of a secure
platform) and its SACRO viewer get a batch's release in the form they read. The file follows
``Records.finalise_json`` of ACRO (``AI-SDC/ACRO``, ``acro/record.py``, commit
fe729ae84e8ac9e313b8223da9d167daa976d13f, version 1.0.1)::

    {"version": "1.0.1", "results": {uid: {"uid", "status", "type", "properties",
      "files": [{"name", "sdc"}], "outcome", "command", "summary", "timestamp",
      "comments", "exception", "fair"}}}

and is read back by ACRO's ``load_records`` there (every key above; ``outcome`` through
``pd.DataFrame.from_dict``; ``files[0]["sdc"]``; ``version`` must equal ACRO's own). The
``sdc`` of a file has the shape of ACRO's table checks before its ontology rewrite
(``acro/acro_tables.py``, ``get_table_sdc``, commit f4173ed1dec379d3fa0febefa2ecf7fd52d4a0bd,
version 0.4.12): ``{"summary": {"suppressed", "negative", "missing", "threshold", "p-ratio",
"nk-rule", "all-values-are-same", ...}, "cells": {check: [[row, col], ...]}}``. The SACRO
viewer (``AI-SDC/SACRO-Viewer``, ``sacro/models.py`` ``ACROOutputs`` and
``assets/src/scripts/_output-click.js``, commit 73690f038237052240e9cbd4f141dd9017927bae)
needs ``version`` (at least 0.4) and ``results``, at least one file per output with a ``name``
relative to the folder of ``results.json``, each ``cells`` entry a ``[row, col]`` pair, and
shows ``timestamp``, ``properties.method`` with ``type``, ``summary`` (its first ``"; "`` part
is the status), ``comments`` (strings) and ``exception``.

Only what ``release.json`` says is copied, and of it only named fields: no text of an output
file is read here, so no hidden value can reach ``results.json``. The positions of hidden cells
are not in ``release.json``, so ``cells`` lists stay empty; the counts are in ``summary``.

Examples
--------
>>> release = {"created": "2026-12-03T17:20:00+00:00", "approvals_required": 2, "outputs": [
...     {"uid": "output_0", "name": "all: table", "run_id": "r1", "file": "runs/r1/t.csv",
...      "sha256": "ab" * 32, "bytes": 10, "kind": "table", "acro_type": "table",
...      "status": "pass", "releasable": True, "check": {"findings": 0, "counts": {}},
...      "tables": [{"name": "Table 1", "kind": "rows", "cells": 8, "primary": 2,
...                  "secondary": 1, "batch_secondary": 0, "population": "table Table 1",
...                  "variables": ["sex"]}],
...      "variables": ["sex"], "summary": "pass; 1 tables", "parameters": {}}]}
>>> record = acro_results(release)["results"]["output_0"]
>>> record["type"], record["files"][0]["name"], record["files"][0]["sdc"]["summary"]["threshold"]
('table', 'runs/r1/t.csv', 2)
>>> record["outcome"]["secondary"]
{'Table 1': 1}
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from evaluation.release.decisions import output_states, read_decisions

__all__ = ["ACRO_RESULTS_FILE", "ACRO_VERSION", "SDC_CHECKS", "acro_results",
           "decision_comment", "write_acro_results"]

ACRO_RESULTS_FILE = "results.json"
ACRO_VERSION = "1.0.1"
"""ACRO's ``__version__`` at the commit the layout follows: its ``load_records`` wants it equal."""
SDC_CHECKS = ("negative", "missing", "threshold", "p-ratio", "nk-rule", "all-values-are-same")
"""The checks of ACRO's table ``sdc`` (0.4.x), in its order."""
_TABLE_FIELDS = ("name", "kind", "cells", "primary", "secondary", "batch_secondary",
                 "population", "variables")
_OUTCOME_COLUMNS = ("kind", "cells", "primary", "secondary", "batch_secondary", "population")


def acro_results(release: dict, states: dict | None = None, *, uids=None,
                 prefix: str = "") -> dict:
    """ACRO's ``results.json`` content for ``release`` (a ``release.json``).

    Parameters
    ----------
    release : dict
        The release record.
    states : dict, optional
        ``{uid: OutputState}`` (:func:`.decisions.output_states`): the decisions become the
        record's ``comments`` and the researcher's exception request its ``exception``.
    uids : iterable of str, optional
        Only these outputs (a bundle's packed ones); all when None.
    prefix : str
        Put before each file name: ``"outputs/"`` where the files lie in ``outputs/`` next to
        ``results.json`` (a bundle).
    """
    keep = None if uids is None else set(uids)
    timestamp = str(release.get("created") or "")
    results = {}
    for output in release.get("outputs", []):
        uid = str(output["uid"])
        if keep is not None and uid not in keep:
            continue
        state = (states or {}).get(uid)
        results[uid] = _record(output, state, timestamp, prefix)
    return {"version": ACRO_VERSION, "results": results}


def write_acro_results(out_dir, release: dict, states: dict | None = None) -> Path:
    """Write ``OUT/results.json`` (at the batch's root; each run's own ``results.json`` is
    another file) and return its path. Without ``states`` the decisions already in
    ``OUT/decisions.jsonl`` on the outputs as they are now are used."""
    out_dir = Path(out_dir)
    if states is None:
        states = output_states(release, read_decisions(out_dir))
    target = out_dir / ACRO_RESULTS_FILE
    tmp = target.with_name(f".{ACRO_RESULTS_FILE}.tmp")
    # indent=4, insertion order: as ACRO's json.dump(results, indent=4, sort_keys=False).
    tmp.write_text(json.dumps(acro_results(release, states), indent=4, ensure_ascii=False),
                   encoding="utf-8")
    os.replace(tmp, target)
    return target


def decision_comment(decision: dict) -> str:
    """One decision as the line of text ACRO's ``comments`` hold.

    >>> decision_comment({"at": "2026-12-03T17:30:01+00:00", "who": "kari", "role": "checker",
    ...                   "action": "reject", "reason": "Table 2 too thin", "seq": 4})
    '2026-12-03T17:30:01+00:00 kari (checker): reject: Table 2 too thin [decision 4]'
    """
    text = (f"{decision.get('at', '')} {decision.get('who', '')} ({decision.get('role', '')}): "
            f"{decision.get('action', '')}")
    if decision.get("reason"):
        text += f": {decision['reason']}"
    if decision.get("seq") is not None:
        text += f" [decision {decision['seq']}]"
    return text


def _record(output: dict, state, timestamp: str, prefix: str) -> dict:
    status = str(output.get("status", "review"))
    summary = str(output.get("summary") or status)
    if summary.split("; ")[0] != status:       # SACRO reads the status from the first part
        summary = f"{status}; {summary}"
    comments, exception = [], ""
    if state is not None:
        comments = [decision_comment(d) for d in state.decisions]
        comments.append(f"ipeval four eyes: {state.why}")
        exception = state.exception or ""
    return {"uid": str(output["uid"]), "status": status,
            "type": str(output.get("acro_type") or "custom"),
            "properties": _properties(output),
            "files": [{"name": prefix + str(output["file"]), "sdc": _sdc(output)}],
            "outcome": _outcome(output),
            "command": _command(output),
            "summary": summary, "timestamp": timestamp,
            "comments": comments, "exception": exception,
            "fair": {}}


def _tables(output: dict) -> list[dict]:
    return [{k: t.get(k) for k in _TABLE_FIELDS} for t in output.get("tables") or []]


def _properties(output: dict) -> dict:
    tables = _tables(output)
    check = output.get("check") or {}
    return {"method": str(output.get("kind", "")),        # SACRO shows "<method> <type>"
            "kind": output.get("kind"), "name": output.get("name"),
            "run_id": output.get("run_id"), "parameters": dict(output.get("parameters") or {}),
            "variables": list(output.get("variables") or []), "tables": tables,
            "population": sorted({str(t["population"]) for t in tables
                                  if t.get("population") is not None}),
            "sha256": output.get("sha256"), "bytes": output.get("bytes"),
            "releasable": bool(output.get("releasable", True)),
            "check": {"findings": int(check.get("findings") or 0),
                      "counts": {str(k): int(v) for k, v in (check.get("counts") or {}).items()}}}


def _count(tables: list[dict], key: str) -> int:
    return sum(int(t.get(key) or 0) for t in tables)


def _sdc(output: dict) -> dict:
    tables = _tables(output)
    primary, secondary = _count(tables, "primary"), _count(tables, "secondary")
    check = output.get("check") or {}
    hidden = primary + secondary
    summary = {"suppressed": hidden > 0, "mitigation": "suppress" if hidden else "none",
               "round_base": 0, **{name: 0 for name in SDC_CHECKS}}
    summary["threshold"] = primary          # cells under the minimum, shown as the marker
    summary.update({"tables": len(tables), "cells": _count(tables, "cells"),
                    "primary": primary, "secondary": secondary,
                    "batch_secondary": _count(tables, "batch_secondary"),
                    "findings": int(check.get("findings") or 0)})
    return {"summary": summary, "cells": {name: [] for name in SDC_CHECKS}}


def _outcome(output: dict) -> dict:
    """``{column: {row: value}}`` (``DataFrame.to_json``'s shape): one row per table, or the
    output checker's counts per rule when there is no table."""
    tables = _tables(output)
    if tables:
        rows, seen = [], {}
        for t in tables:
            name = str(t.get("name") or "table")
            seen[name] = seen.get(name, 0) + 1
            rows.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
        return {col: {row: t.get(col) for row, t in zip(rows, tables)}
                for col in _OUTCOME_COLUMNS}
    counts = (output.get("check") or {}).get("counts") or {}
    if counts:
        return {"findings": {str(rule): int(n) for rule, n in counts.items()}}
    return {}


def _command(output: dict) -> str:
    if output.get("acro_type", "custom") == "custom":
        return "custom"                    # as ACRO's add_custom (SACRO treats it as a file)
    params = " ".join(f"{k}={v}" for k, v in (output.get("parameters") or {}).items())
    where = f"run {output['run_id']}" if output.get("run_id") else "batch"
    return f"ipeval {where}: {output.get('kind', '')} {output.get('file', '')}" + (
        f" ({params})" if params else "")
