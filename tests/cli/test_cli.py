"""The ipeval command: exit codes, one-paragraph messages, --help examples, synth and run."""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from evaluation.cli import main

CHECK_SOURCE = "assert seed > 0"


def _one_paragraph(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text.strip() and "Traceback" not in text


def _visible_text(page: str) -> str:
    """The text of an HTML page as a reader sees it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def tiny_notebook(tmp_path_factory):
    nb = new_notebook()
    params = new_code_cell('seed = 1\nname = "x"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(f"{CHECK_SOURCE}\nprint('seed is', seed, name)"),
                new_markdown_cell("Slutt på rapporten.")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path_factory.mktemp("nb") / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "not_a_folder.txt"
    path.write_text("x", encoding="utf-8")
    return path


# -- synth ------------------------------------------------------------------------------------------
def test_synth_writes_a_study(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["synth", str(out), "--persons", "200", "--institutions", "2", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    assert (out / "study.yaml").is_file() and (out / "ground_truth.json").is_file()
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    assert (truth["config"]["persons"], truth["config"]["institutions"],
            truth["config"]["seed"]) == (200, 2, 3)
    assert str(out / "study.yaml") in captured.out
    assert captured.err == ""


def test_synth_effects_reach_the_truth(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["synth", str(out), "--persons", "100", "--institutions", "2",
                 "--effect-goal", "0.2", "--effect-chaos", "-0.5"]) == 0
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["effects"]["goal_retention"]["ate"] == pytest.approx(0.2, abs=1e-9)
    assert truth["config"]["effect_chaos"] == -0.5


def test_synth_to_an_unwritable_place(a_file, capsys):
    target = a_file / "study"
    assert main(["synth", str(target), "--persons", "100", "--institutions", "2"]) == 2
    captured = capsys.readouterr()
    assert _one_paragraph(captured.err), captured.err
    assert str(target) in captured.err
    assert captured.out == ""
    assert not target.exists()


def test_synth_bad_parameter(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "s"), "--persons", "5"]) == 2
    err = capsys.readouterr().err
    assert _one_paragraph(err) and "persons" in err
    assert not (tmp_path / "s" / "study.yaml").exists()


def test_synth_non_number_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["synth", str(tmp_path / "s"), "--persons", "many"])
    assert exit_.value.code == 2
    assert "--persons" in capsys.readouterr().err


def _verbs() -> list[str]:
    import argparse
    from evaluation.cli import build_parser
    actions = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


def test_verbs_include_synth_and_run():
    assert {"synth", "run"} <= set(_verbs())


@pytest.mark.parametrize("verb", _verbs())
def test_every_verb_has_help_with_an_example(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out.lower()
    assert f"ipeval {verb} " in out          # the example is a command line of this verb


def test_top_level_help_and_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "synth" in out and "run" in out
    with pytest.raises(SystemExit):
        main(["--version"])
    from evaluation import __version__
    assert __version__ in capsys.readouterr().out


def test_no_verb_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2


# -- run: refused before a kernel starts ---------------------------------------------------------------
def test_run_unknown_parameter(tiny_notebook, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tiny_notebook), "-p", "colour", "red", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert _one_paragraph(err) and "'colour'" in err
    assert "seed" in err and "name" in err            # says what the notebook declares
    assert not (out / "tiny.ipynb").exists()


def test_run_wrong_type(tiny_notebook, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tiny_notebook), "-p", "seed", "abc", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert _one_paragraph(err) and "'seed'" in err and "int" in err and "'abc'" in err
    assert not (out / "tiny.ipynb").exists()


def test_run_missing_notebook(tmp_path, capsys):
    missing = tmp_path / "nowhere.ipynb"
    assert main(["run", str(missing), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert _one_paragraph(err) and str(missing) in err


def test_run_not_a_notebook(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ this is not json", encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err


def test_run_unwritable_out(tiny_notebook, a_file, capsys):
    assert main(["run", str(tiny_notebook), "--out", str(a_file / "out")]) == 2
    err = capsys.readouterr().err
    assert _one_paragraph(err) and str(a_file / "out") in err


# -- run: executing --------------------------------------------------------------------------------------
def test_run_failing_cell(tiny_notebook, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tiny_notebook), "-p", "seed", "-1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert _one_paragraph(err), err
    assert "cell" in err and "AssertionError" in err
    executed = out / "tiny.ipynb"
    assert executed.is_file() and str(executed) in err
    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert [e.ename for e in errors] == ["AssertionError"]
    assert not (out / "tiny.html").exists()
    log = [json.loads(line) for line in (out / "run.log").read_text().splitlines()]
    assert log[-1]["status"] == "failed" and log[-1]["parameters"] == {"seed": -1}


def test_run_writes_notebook_and_html_without_code(tiny_notebook, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tiny_notebook), "-p", "seed", "3", "-p", "name", "Åse",
                 "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    nb = nbformat.read(out / "tiny.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "seed is 3 Åse" in printed
    text = _visible_text((out / "tiny.html").read_text(encoding="utf-8"))
    assert "seed is 3 Åse" in text and "Slutt på rapporten." in text
    assert CHECK_SOURCE not in text
    assert json.loads((out / "run.log").read_text().splitlines()[-1])["status"] == "ok"


def test_run_show_code(tiny_notebook, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tiny_notebook), "--show-code", "--out", str(out)]) == 0
    text = _visible_text((out / "tiny.html").read_text(encoding="utf-8"))
    assert CHECK_SOURCE in text
    assert "seed is 1 x" in text                # the defaults when no -p is given


def test_run_does_not_touch_the_source_notebook(tiny_notebook, tmp_path, capsys):
    before = tiny_notebook.read_bytes()
    main(["run", str(tiny_notebook), "-p", "seed", "2", "--out", str(tmp_path / "o")])
    assert tiny_notebook.read_bytes() == before


def test_run_into_the_notebooks_own_folder_keeps_the_source(tiny_notebook, tmp_path, capsys):
    source = tmp_path / "analysis.ipynb"
    source.write_bytes(tiny_notebook.read_bytes())
    before = source.read_bytes()
    code = main(["run", str(source), "-p", "seed", "2", "--out", str(tmp_path)])
    assert code in (0, 2)
    assert source.read_bytes() == before


# -- the installed module, end to end ---------------------------------------------------------------
def test_python_m_evaluation_synth(tmp_path):
    out = tmp_path / "study"
    proc = subprocess.run([sys.executable, "-m", "evaluation", "synth", str(out), "--persons", "60",
                           "--institutions", "2", "--seed", "5"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "study.yaml" in proc.stdout
    from evaluation import Study
    study = Study.load(out)
    assert len(study.table("persons")) == 60
    assert len(study.institutions()) == 2


def test_python_m_evaluation_bad_usage(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "evaluation", "synth", str(tmp_path / "s"),
                           "--persons", "5"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert _one_paragraph(proc.stderr) and "persons" in proc.stderr


def test_validate_refuses_disclosure_rules_out_of_range(tmp_path, capsys):
    """The manifest checks the block's shape; the rules' ranges are checked by the disclosure
    layer, and `ipeval validate` reports them as unusable input."""
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "study.yaml").write_text("name: t\nsources: {s: {file: d.csv}}\n"
                                         "disclosure: {min_cell: 0}\n")
    assert main(["validate", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "min_cell" in err and "out of range" in err and _one_paragraph(err)


def test_estimate_json_records_follow_the_contract(small_study, capsys):
    from evaluation.estimates import ESTIMATE_COLUMNS
    assert main(["estimate", str(small_study), "--outcome", "goal_retention", "--method", "crude",
                 "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records and all(list(r)[:len(ESTIMATE_COLUMNS)] == ESTIMATE_COLUMNS for r in records)
