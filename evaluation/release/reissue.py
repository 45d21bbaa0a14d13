"""Issue a finished run's outputs again with more cells hidden, through the same gate.

For one run: its tables with the counts hidden for the batch (:mod:`.rerender`), its executed
notebook written again, its HTML report and slides rendered again from it (no kernel: nothing
is run again), its recorded figures (``results.json``) and written tables (CSV beside a
sidecar) without the hidden counts. The drafts go into the run's ``internal/`` folder, pass the
output checker as a run's outputs do (:class:`evaluation.report.gate.Gate`), and only then
replace the shared files. The run's private record is brought up to date, so that a second
``ipeval release`` finds nothing more to do.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import nbformat

from evaluation.batch.worker import RESULTS_FILE, write_status
from evaluation.disclosure.private_record import PRIVATE_DIR, save_private
from evaluation.disclosure.rules import SIDECAR_SUFFIX, DisclosureRules
from evaluation.errors import DisclosureFindings
from evaluation.report.gate import Gate, rule_counts
from evaluation.report.html import render_html
from evaluation.report.records import RECORD_MIME
from evaluation.report.slides import slides_html
from evaluation.release.redraw_figures import FigureRedrawer
from evaluation.release.rerender import hide_in_notebook, hide_in_table, table_from_record

__all__ = ["reissue_run"]

HIDDEN_NOTE = "hidden for the batch's release"


def reissue_run(run, hide: dict, *, out_dir: Path, cwd: Path) -> dict:
    """Hide the counts ``hide`` (``{local id: state}``) in the outputs of ``run`` (a
    :class:`.batch_ledger.RunRecord`) and replace them. Returns what was done (cells, tables,
    figures withheld, records changed). Raises DisclosureFindings when the output checker
    finds something in the new outputs: the old ones are then left as they were, for the
    caller to withdraw."""
    rules = DisclosureRules(**run.ledger["rules"])
    tables = {e["record"].get("serial"): e for e in run.tables}
    changed, cells = set(), 0
    for serial, entry in list(tables.items()):
        new, added = hide_in_table(entry, hide)
        if added:
            tables[serial], cells = new, cells + added
            changed.add(serial)
    status = run.status
    study = status.get("parameters", {}).get("study")
    study = str((cwd / study).resolve()) if isinstance(study, str) and study else None
    gate = Gate(run.folder, study)
    drafts, done = {}, {"cells": cells, "tables": [], "figures": [], "redrawn": [], "records": 0}
    executed = out_dir / status["executed"] if status.get("executed") else None
    if executed is not None and executed.is_file():
        nb = nbformat.read(str(executed), as_version=4)
        redrawer = FigureRedrawer(run.ledger.get("figure_recipes"), tables, rules)
        result = hide_in_notebook(nb, tables, changed, rules, hide, redraw=redrawer)
        done["redrawn"] = result["redrawn"]
        done["records"] += _records_in_notebook(nb, run.ledger["cells"], hide)
        done["tables"] = sorted(tables[s]["record"].get("name") for s in result["tables"])
        done["figures"] = result["figures"]
        draft = gate.private / executed.name
        nbformat.write(nb, str(draft))
        drafts[executed] = draft
        if status.get("html"):
            page = out_dir / status["html"]
            drafts[page] = render_html(draft, gate.private / page.name, internal=False)
        if status.get("slides"):
            slides = out_dir / status["slides"]
            (gate.private / slides.name).write_text(slides_html(draft, internal=False),
                                                     encoding="utf-8")
            drafts[slides] = gate.private / slides.name
    drafts.update(_tables_written(run.folder, gate, tables, changed, rules))
    records = run.folder / RESULTS_FILE
    if records.is_file():
        kept, k = hide_in_records(json.loads(records.read_text(encoding="utf-8")),
                                  run.ledger["cells"], hide)
        if k:
            draft = gate.private / RESULTS_FILE
            draft.write_text(json.dumps(kept, ensure_ascii=False, default=str), encoding="utf-8")
            drafts[records] = draft
            done["records"] = k
    checked = {path.name: draft for path, draft in drafts.items() if path.suffix != ".json"}
    notebook = next((d for p, d in drafts.items() if p.suffix == ".ipynb"), None)
    findings = gate.check(checked, records_of=notebook)
    if len(findings):
        for draft in drafts.values():
            Path(draft).unlink(missing_ok=True)
        gate.release({})
        counts = ", ".join(f"{r}: {n}" for r, n in rule_counts(findings).items())
        raise DisclosureFindings(f"{run.label}: the report with the cells hidden for the batch "
                                 f"did not pass the output check ({counts}).")
    gate.release(drafts)
    _update_private(run, tables, hide)
    status["release"] = dict(done)
    write_status(run.folder, status)
    return done


def _records_in_notebook(nb, cells: list, hide: dict) -> int:
    """The records the notebook carries (outputs of ipeval's record type), as in results.json."""
    changed = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            if RECORD_MIME in data:
                kept, k = hide_in_records([dict(data[RECORD_MIME])], cells, hide)
                if k:
                    data[RECORD_MIME] = kept[0]
                    changed += k
    return changed


def _tables_written(folder: Path, gate: Gate, tables: dict, changed: set, rules) -> dict:
    """Tables the notebook wrote (a CSV beside its sidecar), written again when they changed."""
    drafts = {}
    by_name = {e["record"].get("name"): s for s, e in tables.items()}
    for sidecar in folder.glob(f"*{SIDECAR_SUFFIX}"):
        target = sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)])
        try:
            name = json.loads(sidecar.read_text(encoding="utf-8")).get("table")
        except (OSError, ValueError):
            continue
        serial = by_name.get(name)
        if serial in changed and target.suffix.lower() == ".csv" and target.is_file():
            draft = gate.private / target.name
            table_from_record(tables[serial], rules).to_csv(draft)
            drafts[target] = draft
            drafts[sidecar] = gate.private / (target.name + SIDECAR_SUFFIX)
    return drafts


def hide_in_records(records: list, cells: list, hide: dict) -> tuple[list, int]:
    """Recorded figures without the counts hidden for the batch: a count field of a record is
    cleared when it holds a hidden count of the same column whose conditions the record agrees
    with (``n`` of ``method=AIPW, outcome=daily_chaos``). Returns ``(records, changed)``.

    Examples
    --------
    >>> cells = [{"id": "t:n[method=AIPW]", "value": 40.0, "column": "n",
    ...           "conditions": {"method": "AIPW"}}]
    >>> kept, k = hide_in_records([{"name": "y/AIPW", "method": "AIPW", "n": 40}], cells,
    ...                           {"t:n[method=AIPW]": "secondary"})
    >>> k, kept[0]["n"], kept[0]["note"]
    (1, None, "n hidden for the batch's release")
    """
    hidden = [c for c in cells if c.get("id") in hide and c.get("column")]
    out, changed = [], 0
    for record in records:
        record = dict(record)
        cleared = []
        for cell in hidden:
            field = cell["column"]
            value = record.get(field)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                    not math.isclose(float(value), float(cell["value"])):
                continue
            conds = cell.get("conditions") or {}
            if all(str(record[k]) == str(v) for k, v in conds.items() if k in record):
                record[field] = None
                cleared.append(field)
        if cleared:
            note = f"{', '.join(dict.fromkeys(cleared))} {HIDDEN_NOTE}"
            earlier = record.get("note")
            record["note"] = f"{earlier}; {note}" if earlier else note
            changed += 1
        out.append(record)
    return out, changed


def _update_private(run, tables: dict, hide: dict) -> None:
    for cell in run.ledger["cells"]:
        if cell["id"] in hide and cell["state"] == "shown":
            cell["state"] = hide[cell["id"]]
            # What the release hid is read from the runs as they are, not from an earlier
            # release record: a run done again (--resume) starts without it.
            cell["hidden_for_batch"] = True
    for entry in run.ledger.get("tables", []):
        new = tables.get(entry.get("serial"))
        if new is not None:
            entry.update({k: new["record"].get(k) for k in ("primary", "secondary", "suppressed",
                                                              "batch_hidden")})
    run.tables = [tables.get(e["record"].get("serial"), e) for e in run.tables]
    save_private(run.folder / PRIVATE_DIR, run.ledger, run.tables)
