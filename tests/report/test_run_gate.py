"""`ipeval run` checks every report before writing it; shipped notebooks raise no false alarms."""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from evaluation.cli import main
from evaluation.disclosure.output_check import check_path

VALID_FNR = "31129956715"


def _notebook(path: Path, code: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("seed = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_a_leak_stops_the_report(tmp_path, capsys):
    nb = _notebook(tmp_path / "leak.ipynb", f"print('pasient {VALID_FNR} ringte')")
    out = tmp_path / "out"
    code = main(["run", str(nb), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert not (out / "leak.html").exists()
    assert "national_id" in err and VALID_FNR not in err and "--accept-risk" in err
    log = [json.loads(line) for line in (out / "run.log").read_text().splitlines()]
    assert log[-1]["disclosure_check"]["findings"] >= 1 and not log[-1]["disclosure_check"]["written"]


def test_accept_risk_writes_the_report_and_keeps_the_reason(tmp_path, capsys):
    nb = _notebook(tmp_path / "leak.ipynb", f"print('pasient {VALID_FNR} ringte')")
    out = tmp_path / "out"
    code = main(["run", str(nb), "--out", str(out), "--accept-risk", "test ID from the manual"])
    assert code == 0
    assert (out / "leak.html").exists()
    log = [json.loads(line) for line in (out / "run.log").read_text().splitlines()]
    assert log[-1]["disclosure_check"]["accepted_risk"] == "test ID from the manual"


def test_check_cli_exit_codes(tmp_path, capsys):
    (tmp_path / "clean.csv").write_text("group,share\na,0.5\n")
    assert main(["check", str(tmp_path)]) == 0
    (tmp_path / "leak.csv").write_text(f"note\nringte {VALID_FNR}\n")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "leak.csv" in out and VALID_FNR not in out
    assert (tmp_path / "disclosure_check.json").exists()


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", sorted(Path("notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_shipped_notebooks_give_no_findings(notebook, small_study, tmp_path):
    out = tmp_path / notebook.stem
    study = os.path.relpath(small_study / "study.yaml")    # as a user gives it: relative
    main(["run", str(notebook), "-p", "study", study, "-p", "output_dir",
          os.path.relpath(out / "tables"), "--out", os.path.relpath(out)])
    assert (out / f"{notebook.stem}.html").exists()
    findings = check_path(out, study=small_study)
    assert findings.empty, findings.to_string()


def _attacked(executed: Path) -> "pd.DataFrame":
    """The report's hidden cells as the LP attacker sees them over its whole log."""
    import html
    import re

    from evaluation.disclosure.attacker import attack
    nb = nbformat.read(executed, as_version=4)
    text = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells
                   if c.cell_type == "code" for o in c.outputs)
    logs = re.findall(r'data-ipeval-disclosure="([^"]*)"', text)
    assert logs, "the report ends without display(sdc): no disclosure log"
    log = json.loads(html.unescape(logs[-1]))
    return attack(log["cells"], log["relations"], min_cell=log["rules"]["min_cell"])


@pytest.mark.notebook
@pytest.mark.parametrize("institution", ["Lassonløkken", "Karlsborg", "Fjærholmen", "Sørbråten"])
def test_no_hidden_cell_of_an_institutions_report_can_be_worked_out(institution, small_study, tmp_path):
    """The headline report of each institution of the small study: an attacker with all its
    tables, their relations and the marks' bounds pins no hidden cell, and the checker (which
    also reads the tables and the text) finds nothing."""
    out = tmp_path / "run"
    study = os.path.relpath(small_study / "study.yaml")
    main(["run", "notebooks/ip_evaluation.ipynb", "-p", "study", study, "-p", "institution",
          institution, "-p", "outcome", "daily_chaos", "--out", os.path.relpath(out)])
    executed = out / "ip_evaluation.ipynb"
    assert executed.exists(), "the report was refused: see its internal/ folder"
    found = _attacked(executed)
    assert len(found) and not found["exposed"].any(), found[found["exposed"]].to_string()
    assert check_path(out, study=small_study).empty
