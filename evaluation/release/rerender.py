"""Hide more cells of a finished report: its tables drawn again from what the run recorded.

A run's Disclosure kept every table as shown (:mod:`evaluation.disclosure.private_record`): the
shown values, which cells are hidden and why, the ledger's name of the count in each cell and
the columns that go with each count (its share; a row's estimates go with its n). To hide one
more count, the cell and what goes with it are hidden and the table is drawn again by
:class:`~evaluation.disclosure.safe_table.SafeTable` itself, so the new table reads exactly as
the layer would have written it; totals of the shown cells are summed again. In the executed
notebook each table's output is found by its serial number (``data-ipeval-sdc``), the report's
disclosure sentence and log are written again, and a figure drawn from a table that changed is
withheld (it would draw the hidden count; a figure is an image and cannot be drawn again
without the run).
"""
from __future__ import annotations

import html
import json
import re

import nbformat
import pandas as pd

from evaluation.disclosure.report_summary import (LOG_ATTRIBUTE, SUMMARY_CLASS, report_sentence,
                                                  summary_html)
from evaluation.disclosure.rules import SAFE_ATTRIBUTE, DisclosureRules
from evaluation.disclosure.safe_table import (TOTAL_SHOWN, SafeTable, with_shown_margins,
                                              with_shown_total)

__all__ = ["WITHHELD_CLASS", "hide_in_notebook", "hide_in_table", "table_from_record"]

WITHHELD_CLASS = "ipeval-withheld"
WITHHELD_FIGURE = ("Figure not shown in this release: it draws a number hidden so that a count "
                   "of another report of the batch cannot be worked out.")
_SAFE_ATTR = re.compile(SAFE_ATTRIBUTE + r'="([^"]*)"')
_LOG_ATTR = re.compile(LOG_ATTRIBUTE + r'="([^"]*)"')


def table_from_record(entry: dict, rules: DisclosureRules) -> SafeTable:
    """The SafeTable of a recorded table (an entry of ``tables.pkl``)."""
    return SafeTable(entry["values"], entry["primary"], entry["secondary"], dict(entry["record"]),
                     rules, list(entry["notes"]), cell_ids=entry["cell_ids"],
                     dependents=dict(entry["dependents"]))


def hide_in_table(entry: dict, hide: dict) -> tuple[dict, int]:
    """The recorded table ``entry`` with the counts named in ``hide`` (``{id: "primary" |
    "secondary"}``) hidden, and what goes with them; ``(new entry, cells newly hidden)``.

    Examples
    --------
    >>> values = pd.DataFrame({"group": ["a", "b"], "n": [12.0, 30.0], "share": [0.4, 0.5]})
    >>> no = values.map(lambda v: False)
    >>> ids = pd.DataFrame({"group": [None, None], "n": ["p:n[group=a]", "p:n[group=b]"],
    ...                     "share": [None, None]}, dtype=object)
    >>> entry = {"values": values, "primary": no, "secondary": no.copy(), "cell_ids": ids,
    ...          "dependents": {"n": ["n", "share"]}, "record": {"kind": "rows"}, "notes": []}
    >>> new, k = hide_in_table(entry, {"p:n[group=a]": "secondary"})
    >>> k, new["values"]["n"].tolist(), new["secondary"]["share"].tolist()
    (2, [nan, 30.0], [True, False])
    """
    ids = entry.get("cell_ids")
    if ids is None or not hide:
        return entry, 0
    values, primary, secondary = (entry[k].copy() for k in ("values", "primary", "secondary"))
    new_p = pd.DataFrame(False, index=values.index, columns=values.columns)
    new_s = new_p.copy()
    for col in ids.columns:
        for pos, cid in enumerate(ids[col].tolist()):
            state = hide.get(cid) if isinstance(cid, str) else None
            if state is None:
                continue
            row = ids.index[pos]
            (new_p if state == "primary" else new_s).loc[row, col] = True
            for other in entry["dependents"].get(col, []):
                # A count that goes with it is the ledger's to hide (the attacker decides);
                # the numbers that are no count (its share, the row's estimates) go with it.
                if other != col and other in new_s.columns and \
                        not isinstance(ids.loc[row, other] if other in ids.columns else None, str):
                    new_s.loc[row, other] = True
    # A blank cell (no number: a mean of a category's row) stays blank.
    fresh = (new_p | new_s) & ~(primary | secondary) & values.notna()
    if not fresh.to_numpy().any():
        return entry, 0
    primary |= new_p & fresh
    secondary |= new_s & fresh & ~primary
    for col in values.columns:
        if fresh[col].any():
            values[col] = values[col].astype(float).where(~fresh[col])
    kind = entry["record"].get("kind")
    if kind == "counts" and entry["record"].get("margins"):
        values = with_shown_margins(values.drop(index=TOTAL_SHOWN, columns=TOTAL_SHOWN,
                                                errors="ignore"))
    elif kind == "frequencies":
        values = with_shown_total(values)
    record = dict(entry["record"])
    added = int(fresh.to_numpy().sum())
    record.update(primary=int(primary.to_numpy().sum()), secondary=int(secondary.to_numpy().sum()),
                  suppressed=int((primary | secondary).to_numpy().sum()),
                  batch_hidden=int(record.get("batch_hidden", 0)) + added)
    return {**entry, "values": values, "primary": primary, "secondary": secondary,
            "record": record}, added


def hide_in_notebook(nb, tables: dict, changed: set, rules: DisclosureRules,
                     hide: dict, redraw=None) -> dict:
    """Write the changed tables (``tables``: serial → entry; ``changed``: their serials) into
    the executed notebook ``nb`` (changed in place), the disclosure log and sentence again, and
    draw again (``redraw(output, name, k)``: the new output, or None) or withhold the figures
    drawn from a changed table. Returns what was done: ``tables`` (serials written),
    ``missing`` (changed serials with no output: tables never displayed), ``redrawn`` and
    ``figures`` (figures drawn again, and withheld)."""
    names = {tables[s]["record"].get("name") for s in changed}
    done = {"tables": set(), "missing": set(), "figures": [], "redrawn": []}
    seen: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {}) if output.get("output_type") in (
                "display_data", "execute_result") else {}
            shown = _text(data.get("text/html", ""))
            serial = _serial(shown)
            if serial in changed:
                table = table_from_record(tables[serial], rules)
                data["text/html"] = table._repr_html_()
                data["text/plain"] = repr(table)
                done["tables"].add(serial)
            elif SUMMARY_CLASS in shown and _LOG_ATTR.search(shown):
                data["text/html"] = _summary_again(shown, tables, rules, hide)
                data.pop("text/markdown", None)
                data["text/plain"] = html.unescape(re.sub(r"<[^>]+>", "", data["text/html"]))
            elif _figure_of(output) is not None:
                name = _figure_name(output)
                k = seen[name] = seen.get(name, -1) + 1
                if _draws(output, names):
                    new = redraw(output, name, k) if redraw is not None else None
                    done["redrawn" if new is not None else "figures"].append(name)
                    output = new if new is not None else _withheld(output)
            outputs.append(output)
        cell["outputs"] = outputs
    done["missing"] = set(changed) - done["tables"]
    return done


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _serial(shown: str):
    match = _SAFE_ATTR.search(shown)
    if not match:
        return None
    try:
        return json.loads(html.unescape(match.group(1))).get("serial")
    except ValueError:
        return None


def _summary_again(shown: str, tables: dict, rules: DisclosureRules, hide: dict) -> str:
    """The report's disclosure sentence and log with the counts hidden for the batch."""
    log = json.loads(html.unescape(_LOG_ATTR.search(shown).group(1)))
    marks = {"primary": rules.suppressed_text, "secondary": rules.protected_text}
    for cell in log.get("cells", []):
        state = hide.get(cell.get("id"))
        if state and cell.get("shown") is not None:
            cell.update(shown=None, mark=marks[state])
    by_serial = {e["record"].get("serial"): e["record"] for e in tables.values()}
    for k, entry in enumerate(log.get("tables", [])):
        record = by_serial.get(k)
        if record is not None:
            entry.update(primary=record.get("primary"), secondary=record.get("secondary"))
    return summary_html(log, report_sentence(rules, log.get("tables", []),
                                             internal=bool(log.get("internal"))))


def _figure_of(output):
    figure = (output.get("metadata", {}).get("image/png", {}) or {}).get("ipeval", {})
    record = figure.get("figure") if isinstance(figure, dict) else None
    return record if isinstance(record, dict) else None


def _draws(output, names: set) -> bool:
    record = _figure_of(output)
    if record is None:
        return False
    sources = set()
    for part in [record, *record.get("panels", [])]:
        source = part.get("source")
        sources |= set(source) if isinstance(source, list) else {source}
    return bool(sources & names)


def _figure_name(output) -> str:
    record = output.get("metadata", {}).get("image/png", {}).get("ipeval", {}).get("figure", {})
    return str(record.get("name"))


def _withheld(output):
    note = f"{WITHHELD_FIGURE} ({_figure_name(output)})"
    return nbformat.v4.new_output("display_data", data={
        "text/html": f'<p class="{WITHHELD_CLASS}"><em>{html.escape(note)}</em></p>',
        "text/plain": note})

