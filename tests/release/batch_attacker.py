"""An attacker of a whole batch, for the tests: a reader with every shared report of the batch.

It reads only what is shared (each run's executed notebook in the batch folder: the report's
disclosure log, which names every count shown or hidden and the relations between them, and the
run's parameters that papermill records), never the runs' private records. From those it builds
its own set of linked tables: a count of institution X in X's report is the count of the whole
study's table with ``institution=X`` added; the same name in two reports is one number; and,
within one outcome, the whole study's count is the sum of the institutions' counts. The true
values (from the private records) are used only to keep the relations the attacker assumes
true (a table whose people differ between runs gets no relation across them) and to check the
attacker's answers (:func:`evaluation.disclosure.attacker.attack_with_truth`).
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat

from evaluation.disclosure.attacker import attack_with_truth
from evaluation.disclosure.private_record import PRIVATE_DIR, load_private

_LOG = re.compile(r'data-ipeval-disclosure="([^"]*)"')
_ID = re.compile(r"^(?P<pop>.*):(?P<col>[^:\[\]]*)\[(?P<conds>.*)\]$")
_SPLIT = re.compile(r",(?=[A-Za-z_][\w ]*=)")


def shared_reports(out_dir: Path) -> list[dict]:
    """Per ok run: its label, institution, outcome and public disclosure log."""
    out = []
    batch = json.loads((out_dir / "batch.json").read_text(encoding="utf-8"))
    for entry in batch["runs"]:
        status = json.loads((out_dir / entry["folder"] / "status.json").read_text())
        if status["status"] != "ok":
            continue
        nb = nbformat.read(str(out_dir / status["executed"]), as_version=4)
        params = nb.metadata["papermill"]["parameters"]
        log = None
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                shown = output.get("data", {}).get("text/html", "")
                shown = "".join(shown) if isinstance(shown, list) else shown
                found = _LOG.search(shown)
                if found and "ipeval-sdc-summary" in shown:
                    log = json.loads(html.unescape(found.group(1)))
        institution = params.get("institution")
        out.append({"folder": out_dir / entry["folder"], "label": entry["label"], "log": log,
                    "institution": None if institution in (None, "all") else institution,
                    "outcome": params.get("outcome")})
    return out


def _parse(cid: str):
    m = _ID.match(cid)
    if not m:
        return None
    conds = {}
    for part in _SPLIT.split(m["conds"]) if m["conds"] else []:
        if "=" not in part:
            return None
        k, v = part.split("=", 1)
        conds[k] = v
    return m["pop"], m["col"], conds


def _name(pop, col, conds) -> str:
    return f"{pop}:{col}[" + ",".join(f"{k}={v}" for k, v in sorted(conds.items())) + "]"


def public_cells(out_dir: Path):
    """``(cells, seen, truth, relations)``: the attacker's cells by name, where each was seen
    (report label, shown value, mark), their true values and the relations it assumes."""
    reports = shared_reports(Path(out_dir))
    cells, truth, relations, local, seen = {}, {}, [], {}, {}
    institutions = {r["institution"] for r in reports if r["institution"]}
    for k, report in enumerate(reports):
        private, _ = load_private(report["folder"] / PRIVATE_DIR)
        values = {c["id"]: c["value"] for c in private["cells"]}
        for cell in report["log"]["cells"]:
            cid = cell["id"]
            parsed = _parse(cid)
            if parsed is None or cid not in values:
                gid = f"{k}|{cid}"
            else:
                pop, col, conds = parsed
                inst = report["institution"]
                if inst and conds.get("institution", inst) != inst:
                    gid = f"{k}|{cid}"
                else:
                    if inst:
                        conds["institution"] = inst
                    gid = f"{report['outcome']}|{_name(pop, col, conds)}"
                    if gid in truth and abs(truth[gid] - values[cid]) > 1e-9:
                        gid = f"{k}|{cid}"
            local[(k, cid)] = gid
            seen.setdefault(gid, []).append((report["label"], cell["shown"], cell["mark"]))
            if cid in values:
                truth[gid] = values[cid]
            old = cells.get(gid)
            if old is None or cell["shown"] is not None:
                cells[gid] = {"id": gid, "shown": cell["shown"],
                              "mark": None if cell["shown"] is not None else
                              (cell["mark"] or (old or {}).get("mark"))}
            elif old["shown"] is None and cell["mark"] and not old["mark"]:
                old["mark"] = cell["mark"]
        for rel in report["log"]["relations"]:
            if "total" in rel:
                relations.append({"total": local[(k, rel["total"])],
                                  "parts": [local[(k, p)] for p in rel["parts"]],
                                  "remainder": rel.get("remainder", False)})
    by_name = {}
    for gid in cells:
        outcome, _, name = gid.partition("|")
        parsed = _parse(name) if name else None
        if parsed:
            by_name[(outcome, name)] = (gid, parsed)
    for (outcome, name), (gid, (pop, col, conds)) in by_name.items():
        if "institution" in conds or gid not in truth:
            continue
        parts = [by_name.get((outcome, _name(pop, col, {**conds, "institution": i})))
                 for i in sorted(institutions)]
        parts = [p[0] for p in parts if p is not None and p[0] in truth]
        if parts and sum(truth[p] for p in parts) <= truth[gid] + 1e-9:
            relations.append({"total": gid, "parts": parts,
                              "remainder": sum(truth[p] for p in parts) < truth[gid] - 1e-9
                              or len(parts) < len(institutions)})
    return cells, seen, truth, relations


def batch_attack(out_dir: Path, *, min_cell: int = 5):
    """Every hidden count of the batch as the attacker sees it (a DataFrame of
    :func:`attack_with_truth`), over all shared reports together."""
    cells, _, truth, relations = public_cells(out_dir)
    return attack_with_truth(list(cells.values()), relations,
                             {g: v for g, v in truth.items() if g in cells},
                             min_cell=min_cell, primary_marks=("<5",))
