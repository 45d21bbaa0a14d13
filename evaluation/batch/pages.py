"""The pages of a batch output folder: ``index.html`` (every run, failures first) and
``comparison.html`` with ``comparison.png`` (one estimate across runs).

The pages are read on machines with a closed network, so they load nothing from elsewhere: the
CSS is inline and every link is relative to the output folder, which can be moved or zipped
whole. Everything shown is HTML-escaped (jinja2 autoescape), since parameter values and error
texts can hold ``<``, ``&`` and æøå.

Estimates resting on fewer than ``rules.min_cell`` people are written as suppressed, as the
disclosure layer shows them, so that the pages pass ``ipeval check`` like any report. A run
with findings (or an internal run) is listed with its status and the names of the rules that
fired, never linked to its report or notebook, and shows no recorded figure; nothing in a
run's ``internal/`` folder is linked; error texts are masked
(:func:`evaluation.disclosure.excerpts.mask_text`: every small count, national ID and path).
"""
from __future__ import annotations

import json
import math
import os
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evaluation.constraints import validate_params
from evaluation.disclosure import DisclosureRules
from evaluation.disclosure.excerpts import mask_text
from evaluation.disclosure.figures import forest_plot
from evaluation.report.gate import INTERNAL_DIR
from evaluation.batch.results import NUMBERS, RESULT_COLUMNS, WITHHELD_STATUSES
from evaluation.batch.templates import COMPARISON, CSS, ENV, INDEX

__all__ = ["STATUS_ORDER", "comparison_records", "write_comparison", "write_index"]

STATUS_ORDER = ["failed", "timeout", "crashed", "findings", "invalid", "pending", "ok"]
INDEX_NAME, COMPARISON_NAME, COMPARISON_PNG = "index.html", "comparison.html", "comparison.png"


@validate_params({"runs": ["frame"], "results": ["frame"], "title": [str], "key": [str, None],
                  "rules": [DisclosureRules, None]})
def write_index(out_dir, runs: pd.DataFrame, results: pd.DataFrame, *, title: str,
                key: str | None = None, rules: DisclosureRules | None = None) -> Path:
    """Write ``index.html``: every run of a batch with its status, grid parameters, key
    results, time, error and links to its report, executed notebook and folder.

    Parameters
    ----------
    out_dir : str or Path
        The batch output folder; ``runs.folder``, ``runs.html`` and ``runs.executed`` are
        relative to it.
    runs, results : pandas.DataFrame
        The ``runs`` and ``results`` tables of ``results.duckdb``.
    title : str
        Heading of the page.
    key : str, optional
        fnmatch pattern of the result names to show per run (``"*/aipw/ATE/*"``); default: the
        first three records of each run that have an estimate.
    rules : DisclosureRules, optional
        Estimates with an ``n`` below ``min_cell`` are written as suppressed (default 5).

    Returns
    -------
    Path
        The page written. Runs that did not end ``ok`` come first, then the ``ok`` runs, each
        group in the order of ``runs``. The page links ``comparison.html`` when it exists and
        some ``ok`` run recorded an estimate matching ``key``; otherwise it says there is none.

    Examples
    --------
    >>> import tempfile
    >>> runs = pd.DataFrame({"run_id": ["a1", "b2"], "label": ["site=A", "site=B & <C>"],
    ...     "grid": ['{"site": "A"}', '{"site": "B & <C>"}'], "status": ["ok", "failed"],
    ...     "seconds": [12.5, 3.0], "attempts": [1, 2], "error": [None, "ValueError: bad"],
    ...     "folder": ["runs/a", "runs/b"], "html": [None, None], "executed": [None, None]})
    >>> results = pd.DataFrame({"run_id": ["a1"], "name": ["y/ATE"], "value": [None],
    ...     "estimate": [0.1234], "ci_low": [0.01], "ci_high": [0.2], "p_value": [0.04],
    ...     "n": [120.0]})
    >>> page = write_index(tempfile.mkdtemp(), runs, results, title="Demo")
    >>> text = page.read_text(encoding="utf-8")
    >>> "0.123 [0.010, 0.200]" in text, "B &amp; &lt;C&gt;" in text
    (True, True)
    >>> text.index('data-status="failed"') < text.index('data-status="ok"')
    True
    """
    out, rules, results = Path(out_dir), rules or DisclosureRules(), _complete(results)
    runs = _ordered(runs)
    # A run with findings shows no figure: what it recorded stays with its internal files.
    withheld = set(runs.loc[runs["status"].isin(WITHHELD_STATUSES), "run_id"])
    shown = [_run_view(out, row, _key_records(results, row["run_id"], key).iloc[
                 :0 if row["run_id"] in withheld else None], rules)
             for _, row in runs.iterrows()]
    records = comparison_records(runs, results, key=key)
    comparison = COMPARISON_NAME if len(records) and (out / COMPARISON_NAME).is_file() else None
    no_comparison = ("No comparison across runs: no run that ended ok recorded an estimate"
                     + (f" matching {key!r}." if key else "."))
    html = ENV.from_string(INDEX).render(
        page_title=title, title=title, css=CSS, runs=shown, summary=_summary(runs),
        comparison=comparison, key_text=", ".join(dict.fromkeys(records["name"])),
        no_comparison=no_comparison)
    return _write(out / INDEX_NAME, html)


@validate_params({"runs": ["frame"], "results": ["frame"], "key": [str, None]})
def comparison_records(runs: pd.DataFrame, results: pd.DataFrame, *,
                       key: str | None = None) -> pd.DataFrame:
    """The records a comparison plots: those of ``ok`` runs with an estimate whose name matches
    ``key`` (fnmatch), or by default those of the estimate name recorded by most ``ok`` runs
    (the first recorded on a tie). Columns of ``results`` plus the run's ``label``, ``grid``
    (a dict) and ``folder``.

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "label": ["A", "B"], "status": ["ok", "ok"],
    ...     "grid": ['{"site": "A"}', '{"site": "B"}'], "folder": ["runs/a", "runs/b"]})
    >>> results = pd.DataFrame({"run_id": ["a", "a", "b"], "name": ["x", "y", "y"],
    ...     "estimate": [1.0, 2.0, 3.0]})
    >>> comparison_records(runs, results)[["label", "name", "estimate"]].to_numpy().tolist()
    [['A', 'y', 2.0], ['B', 'y', 3.0]]
    """
    ok, results = runs[runs["status"] == "ok"], _complete(results)
    columns = list(results.columns) + ["label", "grid", "folder"]
    if not len(ok) or not len(results):
        return pd.DataFrame(columns=columns)
    have = results[results["run_id"].isin(ok["run_id"])
                   & pd.to_numeric(results["estimate"], errors="coerce").notna()]
    if key:
        have = have[[fnmatchcase(str(name), key) for name in have["name"]]]
    elif len(have):
        per_name = have.drop_duplicates(["run_id", "name"])["name"].value_counts(sort=False)
        have = have[have["name"] == per_name.idxmax()]   # idxmax: the first on a tie
    info = ok[["run_id", "label", "folder"]].assign(grid=[_grid(g) for g in ok["grid"]])
    return have.merge(info, on="run_id", how="left")[columns].reset_index(drop=True)


@validate_params({"runs": ["frame"], "results": ["frame"], "key": [str, None], "by": [str, None],
                  "rules": [DisclosureRules, None]})
def write_comparison(out_dir, runs: pd.DataFrame, results: pd.DataFrame, *,
                     key: str | None = None, by: str | None = None,
                     rules: DisclosureRules | None = None) -> Path | None:
    """Write ``comparison.png`` and ``comparison.html``: a forest plot of the key estimate
    with one row per run, and the plotted numbers as a table.

    Parameters
    ----------
    out_dir : str or Path
        The batch output folder.
    runs, results : pandas.DataFrame
        The ``runs`` and ``results`` tables of ``results.duckdb``.
    key : str, optional
        fnmatch pattern of the estimate names to compare; default: the name recorded by most
        ``ok`` runs (:func:`comparison_records`). Several names give one panel each.
    by : str, optional
        Grid parameter that labels the rows (default ``institution``). A run without it, or two
        runs with the same value in a panel, are labelled by the run's label.
    rules : DisclosureRules, optional
        Rows of fewer than ``min_cell`` people are not drawn nor their numbers shown.

    Returns
    -------
    Path or None
        The page, or None when no ``ok`` run recorded a matching estimate: then an old
        comparison in the folder is removed, so that the index cannot link a stale one.

    Notes
    -----
    The line of no effect is at 1 for names with ``ratio`` in them, else 0. The figure is drawn
    on a ``matplotlib.figure.Figure`` (Agg on saving), so no pyplot state is touched.

    Examples
    --------
    >>> import tempfile
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "label": ["A", "B"], "status": ["ok", "ok"],
    ...     "grid": ['{"institution": "Å"}', '{"institution": "B"}'],
    ...     "folder": ["runs/a", "runs/b"]})
    >>> results = pd.DataFrame({"run_id": ["a", "b"], "name": ["y/RD", "y/RD"],
    ...     "value": [None, None], "estimate": [0.1, 0.3], "ci_low": [0.0, 0.1],
    ...     "ci_high": [0.2, 0.5], "p_value": [0.05, 0.001], "n": [80.0, 3.0]})
    >>> out = Path(tempfile.mkdtemp())
    >>> write_comparison(out, runs, results).name, (out / "comparison.png").is_file()
    ('comparison.html', True)
    >>> write_comparison(out, runs, results.iloc[:0]) is None, (out / "comparison.png").exists()
    (True, False)
    """
    out, rules = Path(out_dir), rules or DisclosureRules()
    records = comparison_records(runs, results, key=key)
    if not len(records):
        for name in (COMPARISON_NAME, COMPARISON_PNG):
            (out / name).unlink(missing_ok=True)
        return None
    by = by or "institution"
    if not any(by in g for g in records["grid"]):
        by = None
    records["row"] = [str(g[by]) if by and by in g else label
                      for g, label in zip(records["grid"], records["label"])]
    clash = records.duplicated(["name", "row"], keep=False)
    records.loc[clash, "row"] = records.loc[clash, "label"]
    records["n"] = pd.to_numeric(records["n"], errors="coerce")
    _plot(records, out / COMPARISON_PNG, rules)
    rows = [_comparison_row(out, r, rules) for _, r in records.iterrows()]
    names = list(dict.fromkeys(records["name"]))
    html = ENV.from_string(COMPARISON).render(
        page_title=f"Comparison: {', '.join(names)}", css=CSS, rows=rows,
        key_text=", ".join(names), by=by or "run", index=INDEX_NAME, png=COMPARISON_PNG,
        min_cell=rules.min_cell)
    return _write(out / COMPARISON_NAME, html)


# --------------------------------------------------------------------------- the figure

def _plot(records: pd.DataFrame, target: Path, rules: DisclosureRules) -> None:
    names = list(dict.fromkeys(records["name"]))
    sizes = [int((records["name"] == name).sum()) for name in names]
    fig = Figure(figsize=(9, 1.2 + sum(0.38 * s + 0.9 for s in sizes)), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False, height_ratios=[s + 1.5 for s in sizes])[:, 0]
    for ax, name in zip(axes, names):
        panel = records[records["name"] == name].copy()
        small = rules.small_count(panel["n"].fillna(0))
        # Long labels (whole run labels) would squeeze the axes; the table has them in full.
        panel["row"] = [f"{_clip(row)} (n {rules.suppressed_text})" if hidden else
                        f"{_clip(row)} (n={int(n)})" if _finite(n) else _clip(row)
                        for row, n, hidden in zip(panel["row"], panel["n"], small)]
        null = 1.0 if "ratio" in name.lower() else 0.0
        forest_plot(panel, x="estimate", y="row", n="n", null=null, ax=ax, rules=rules)
        note = (f"\n{int(small.sum())} run(s) of fewer than {rules.min_cell} people not drawn"
                if small.any() else "")
        ax.set_title(name + note, fontsize=10)
        ax.set_xlabel("estimate (95 % CI)")
    _write(target, lambda draft: fig.savefig(draft, dpi=110, format="png"))


# --------------------------------------------------------------------------- helpers

def _complete(results: pd.DataFrame) -> pd.DataFrame:
    """The results table with every column of :data:`.results.RESULT_COLUMNS` (an interrupted
    batch may have none)."""
    missing = [c for c in RESULT_COLUMNS if c not in results.columns]
    return results.assign(**{c: math.nan if c in NUMBERS else None
                             for c in missing}) if missing else results


def _ordered(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.iloc[np.argsort((runs["status"] == "ok").to_numpy(), kind="stable")]


def _summary(runs: pd.DataFrame) -> str:
    counts = runs["status"].value_counts()
    order = [s for s in STATUS_ORDER if s in counts] + sorted(set(counts.index) - set(STATUS_ORDER))
    parts = [f"{counts[s]} {s}" for s in order]
    seconds = pd.to_numeric(runs.get("seconds"), errors="coerce").sum()
    return (f"{len(runs)} run{'s' if len(runs) != 1 else ''}: " + ", ".join(parts)
            + f" · {seconds:.1f} s in total")


def _key_records(results: pd.DataFrame, run_id, key: str | None) -> pd.DataFrame:
    mine = results[results["run_id"] == run_id]
    if key:
        return mine[[fnmatchcase(str(name), key) for name in mine["name"]]]
    return mine[pd.to_numeric(mine["estimate"], errors="coerce").notna()].head(3)


def _run_view(out: Path, row: pd.Series, records: pd.DataFrame, rules: DisclosureRules) -> dict:
    status = str(row["status"])
    attempts, folder = row.get("attempts"), row.get("folder")
    log = f"{folder}/run.log" if isinstance(folder, str) and folder else None
    shareable = status not in WITHHELD_STATUSES
    links = [(text, href) for text, href in (
        ("report", _href(out, row.get("html")) if shareable else None),
        ("notebook", _href(out, row.get("executed")) if shareable else None),
        ("folder", _href(out, folder, folder=True)), ("log", _href(out, log))) if href]
    internal = row.get("internal")
    rule_names = row.get("rules")
    return {
        "run_id": str(row["run_id"]), "status": status, "label": str(row.get("label") or ""),
        "tone": "ok" if status == "ok" else "wait" if status == "pending" else "bad",
        "grid": list(_grid(row.get("grid")).items()),
        "results": [{"name": r["name"], "text": _result_text(r, rules)}
                    for _, r in records.iterrows()],
        "seconds": f"{float(row['seconds']):.1f} s" if _finite(row.get("seconds")) else "–",
        "attempts": "" if not _finite(attempts) else
                    f"{int(attempts)} attempt{'s' if int(attempts) != 1 else ''}",
        "error": mask_text(_local_paths_out(row.get("error"), out), min_cell=rules.min_cell,
                           everywhere=True) if status != "ok" else None,
        "rules": str(rule_names) if isinstance(rule_names, str) and rule_names else None,
        "internal": str(internal) if isinstance(internal, str) and internal else None,
        "links": links,
    }


def _comparison_row(out: Path, r: pd.Series, rules: DisclosureRules) -> dict:
    hidden = bool(rules.small_count([r["n"] if _finite(r["n"]) else 0])[0])
    gone = rules.suppressed_text if hidden else None
    return {"by": r["row"], "name": r["name"], "label": r["label"],
            "href": _href(out, r["folder"], folder=True),
            "estimate": gone or _num(r["estimate"]),
            "ci": gone or _ci(r.get("ci_low"), r.get("ci_high")),
            "p": gone or _p(r.get("p_value")),
            "n": gone or (str(int(r["n"])) if _finite(r["n"]) else "–")}


def _result_text(r: pd.Series, rules: DisclosureRules) -> str:
    n = r.get("n")
    if _finite(n) and rules.small_count([n])[0]:
        return f"suppressed (n {rules.suppressed_text})"
    if not _finite(r.get("estimate")):
        return "–" if pd.isna(r.get("value")) else mask_text(str(r.get("value")),
                                                             min_cell=rules.min_cell)
    text = _num(r["estimate"])
    if _finite(r.get("ci_low")) or _finite(r.get("ci_high")):
        text += " " + _ci(r.get("ci_low"), r.get("ci_high"))
    if _finite(r.get("p_value")):
        text += f", p {_p(r['p_value'])}"
    if _finite(n):
        text += f", n = {int(n)}"
    return text


def _grid(value) -> dict:
    try:
        parsed = value if isinstance(value, dict) else json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _href(out: Path, value, *, folder: bool = False) -> str | None:
    """A link relative to the page for a path the runs table gives (relative to ``out``), when
    the file exists: a link that leads nowhere is worse than none."""
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(out.resolve())
        except ValueError:
            return None
    if ".." in path.parts or INTERNAL_DIR in path.parts or not (out / path).exists():
        return None         # nothing in a run's internal folder is ever linked
    href = quote(path.as_posix())
    return href + "/" if folder and (out / path).is_dir() else href


def _local_paths_out(text, out: Path):
    """Error texts name files by absolute path; within the page, the folder's own paths are
    given relative to it so that the page names no user's machine."""
    if not isinstance(text, str) or not text:
        return None
    for base in {str(out.resolve()), str(out.absolute()), os.getcwd()}:
        text = text.replace(base + os.sep, "")
    return text


def _clip(text, width: int = 40) -> str:
    text = str(text)
    return text if len(text) <= width else text[:width - 1] + "…"


def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _num(value) -> str:
    return f"{float(value):.3f}" if _finite(value) else "–"


def _ci(low, high) -> str:
    return f"[{_num(low)}, {_num(high)}]"


def _p(value) -> str:
    return "<0.001" if _finite(value) and float(value) < 0.001 else _num(value)


def _write(target: Path, content) -> Path:
    """Written beside and renamed, so a browser reloading the page never reads half of it.
    ``content``: the text, or a function writing the file at the path it is given."""
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(f".{target.name}.tmp")
    if callable(content):
        content(draft)
    else:
        draft.write_text(content, encoding="utf-8")
    os.replace(draft, target)
    return target
