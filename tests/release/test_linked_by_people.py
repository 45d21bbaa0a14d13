"""Counts of the same people in different tables of a report, attacked as a reader with a
calculator would: Table 1's hidden counts through the balance table's raw differences in
proportions, and the people left out of the analysis through the coverage tables, the
estimates and the rows table. On the released test batch, before and after the release."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from evaluation.disclosure.table_view import COLUMN_LABELS


# The reports write their headers for people ("Level"); the attack reads them as the keys.
KEY_OF = {label: key for key, label in COLUMN_LABELS.items()}
# The differences are written to 2 decimals: all an attacker knows is that interval.
WRITTEN = 0.005


def _tables(notebook: Path) -> list[pd.DataFrame]:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            page = output.get("data", {}).get("text/html", "")
            page = "".join(page) if isinstance(page, list) else page
            if "<table" in page and "ipeval-sdc-summary" not in page:
                out += [t.rename(columns=KEY_OF) for t in pd.read_html(io.StringIO(page))]
    return out


def _runs(out: Path) -> list[Path]:
    batch = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    return [out / json.loads((out / r["folder"] / "status.json").read_text())["executed"]
            for r in batch["runs"]]


def _number(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _candidates(n_t, n_c, t, c, d):
    """The (treated, control) counts at a level consistent with arm sizes n_t, n_c, the counts
    shown (None where hidden) and the raw difference d as written."""
    ts = [t] if t is not None else range(int(n_t) + 1)
    cs = [c] if c is not None else range(int(n_c) + 1)
    return [(a, b) for a in ts for b in cs if abs(a / n_t - b / n_c - d) <= WRITTEN + 1e-12]


@pytest.mark.parametrize("side", [0, 1], ids=["each run alone", "after the release"])
def test_balance_differences_do_not_give_back_table_one_counts(released_batch, side):
    tried = 0
    for notebook in _runs(released_batch[side]):
        tables = _tables(notebook)
        t1 = next(t for t in tables if "treated_count" in t.columns and "treated_n" in t.columns)
        bal = next(t for t in tables if "smd_unweighted" in t.columns)
        for _, row in t1[t1["level"].notna()].iterrows():
            t, c = _number(row["treated_count"]), _number(row["control_count"])
            if t is not None and c is not None:
                continue
            match = bal[(bal["variable"] == row["variable"]) & (bal["level"] == row["level"])]
            assert len(match) == 1
            d = _number(match["smd_unweighted"].iloc[0])
            tried += 1
            if d is None:
                continue            # hidden with the count: nothing to solve
            found = _candidates(_number(row["treated_n"]), _number(row["control_n"]), t, c, d)
            assert len(found) > 1, (notebook, row["variable"], row["level"], found)
    assert tried >= 3, "no hidden level in Table 1: the batch does not exercise the attack"


@pytest.mark.parametrize("side", [0, 1], ids=["each run alone", "after the release"])
def test_people_left_out_cannot_be_worked_out_from_the_other_tables(released_batch, side):
    hidden_reasons = 0
    for notebook in _runs(released_batch[side]):
        tables = _tables(notebook)
        rows = next(t for t in tables if {"reason", "rows"} <= set(t.columns))
        estimates = next(t for t in tables if {"method", "n_exposed"} <= set(t.columns))
        used = _number(rows.loc[rows["reason"] == "used", "rows"].iloc[0])
        analysed = {_number(n) for n in estimates["n"]} - {None}
        hidden = rows[rows["rows"].map(_number).isna()]
        hidden_reasons += len(hidden)
        # the coverage tables count the people analysed: whatever rows they show add up to
        # no more than them, so coverage minus the analysed never names people left out
        for t in tables:
            if "estimate" in t.columns and "count" in t.columns and "n" in t.columns:
                shown = t["n"].map(_number).dropna()
                if len(shown) == len(t):
                    assert shown.sum() in analysed | {used}, (notebook, t.columns[1])
        # one reason hidden alone would be the total people less the others
        assert len(hidden) != 1, (notebook, rows.to_string())
    assert hidden_reasons >= 2, "no reason hidden: the batch does not exercise the attack"
