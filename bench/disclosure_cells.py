"""How many cells each shipped notebook hides, and whether any hidden cell can be worked out.

Runs every shipped notebook (papermill, a fresh kernel each) on a study for the whole study and
for each institution, then reads the executed notebooks: cells shown as a mark in the tables that
passed the disclosure layer (``<5`` and ``·``), and, where the report carries the layer's log
(``display(sdc)``), the hidden cells an exact linear-programming attacker pins down.

    python bench/disclosure_cells.py --study data_synthetic/study.yaml --out /tmp/cells
    python bench/disclosure_cells.py --code /tmp/old --study ... --out /tmp/cells_old

``--code`` runs an older checkout of the package (PYTHONPATH) to compare before and after; the
notebooks are taken from that checkout too. Writes ``cells.json`` and prints a table.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

NOTEBOOKS = ["study_overview", "ip_evaluation", "feedback", "interviews", "programme_comparison"]
MARK = re.compile(r"<td>\s*(&lt;\d+|·|\u00b7)\s*</td>")
LOG = re.compile(r'data-ipeval-disclosure="([^"]*)"')
FAST = {"feedback": {"max_clients": 300}, "interviews": {"n_boot": 100},
        "programme_comparison": {"reps": 199}}


def run(code: Path, notebook: str, study: Path, institution, out: Path) -> Path:
    target = out / f"{notebook}__{institution or 'all'}.ipynb"
    params = {"study": str(study.resolve()), "institution": institution, **FAST.get(notebook, {})}
    args = [sys.executable, "-m", "papermill", "--log-level", "ERROR",
            str(code / "notebooks" / f"{notebook}.ipynb"), str(target), "--cwd", str(code)]
    for k, v in params.items():
        args += ["-y", yaml.safe_dump({k: v})]
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  {notebook} {institution}: failed ({done.stderr.strip().splitlines()[-1:]})")
    return target


def cells(executed: Path) -> dict:
    if not executed.exists():
        return {"failed": True}
    nb = json.loads(executed.read_text(encoding="utf-8"))
    text = "".join("".join(o.get("data", {}).get("text/html", ""))
                   for c in nb["cells"] for o in c.get("outputs", []))
    marks = MARK.findall(text)
    found = {"primary": sum(m.startswith("&lt;") for m in marks),
             "secondary": sum(not m.startswith("&lt;") for m in marks)}
    logs = LOG.findall(text)
    if logs:
        log = json.loads(html.unescape(logs[-1]))
        found["exposed"] = _exposed(log)
    found["findings"] = _findings(executed)
    return found


def _findings(executed: Path) -> dict:
    """The output checker's findings on the executed notebook, per rule (absolute paths in
    papermill's metadata left out: a run by this script passes them, a batch does not)."""
    from evaluation.disclosure import check_path
    rules = check_path(executed)["rule"].value_counts().to_dict()
    rules.pop("absolute_path", None)
    return rules


def _exposed(log: dict):
    try:
        from evaluation.disclosure.attacker import attack
    except ImportError:
        return None
    hidden = [c for c in log["cells"] if c["shown"] is None]
    if not hidden or not log["relations"]:
        return 0
    result = attack(log["cells"], log["relations"], min_cell=log["rules"]["min_cell"])
    return int(result["exposed"].sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=Path("data_synthetic/study.yaml"))
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--notebooks", nargs="*", default=NOTEBOOKS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    truth = json.loads((args.study.parent / "ground_truth.json").read_text(encoding="utf-8"))
    institutions = [None] + [i["institution"] for i in truth["institutions"]]
    results = {}
    for notebook in args.notebooks:
        for inst in institutions if notebook != "programme_comparison" else [None]:
            executed = run(args.code.resolve(), notebook, args.study, inst, args.out)
            key = f"{notebook}/{inst or 'all'}"
            results[key] = cells(executed)
            print(f"{notebook:22} {inst or 'all':14} {results[key]}")
    (args.out / "cells.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
