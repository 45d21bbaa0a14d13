"""Figures in the notebooks: drawn from the shown tables, person-level only when internal, and
each image's provenance in the executed notebook's output metadata (what ``ipeval check`` reads).

The static tests read the shipped notebooks' code; the executed test runs one small notebook
through papermill, as ``ipeval run`` does, and reads the outputs back.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from evaluation.report import notebook_parameters

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
FIGURE_CALL = re.compile(r"\b(\w+_(?:plot|plots|figure))\((.*?)\)(?:;|\s*$|;?\s*plt\.show)",
                         re.S | re.M)
BANNER = "INTERNAL — not for sharing"


def code_cells(notebook):
    nb = nbformat.read(notebook, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"
            and "parameters" not in c.metadata.get("tags", [])]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_the_internal_parameter_and_passes_it_on(notebook):
    declared = notebook_parameters(notebook)
    assert declared["internal"]["default"] is False and declared["language"]["default"] is None
    source = "\n".join(code_cells(notebook))
    assert "Disclosure.for_study(s, internal=internal, language=language)" in source
    assert "sdc.summary()" not in source and "disclosure_sentence" not in source


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_banner_comes_before_any_other_markdown_output(notebook):
    source = "\n".join(code_cells(notebook))
    banner = source.index(BANNER)
    assert source.rfind("if internal:", 0, banner) != -1
    first_markdown = source.find("display(Markdown(")
    assert first_markdown == source.rfind("display(Markdown(", 0, banner + 1)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_report_ends_with_its_one_disclosure_sentence(notebook):
    last = code_cells(notebook)[-1].strip().splitlines()
    assert last[-1].split("#")[0].strip() == "display(sdc)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_call_knows_the_reports_disclosure(notebook):
    """A figure is given the report's Disclosure (its provenance goes into the log) and, for
    person-level ones, the run's ``internal``; never bare rules, which know neither."""
    calls = [(name, args) for cell in code_cells(notebook) for name, args in FIGURE_CALL.findall(cell)]
    assert calls, f"{notebook.name}: no figure calls found"
    for name, args in calls:
        assert "sdc=sdc" in args, f"{notebook.name}: {name}(...) without sdc=sdc"
        assert "rules=sdc.rules" not in args or "sdc=sdc" in args
    person_level = [args for name, args in calls if name in {"change_figure", "trajectories_plot"}]
    assert all("internal=internal" in args for args in person_level)


def _small_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = [
        ("internal = False", {"tags": ["parameters"]}),
        ("import matplotlib.pyplot as plt\nimport numpy as np\nimport pandas as pd\n"
         "from IPython.display import Markdown, display\n"
         "from evaluation import describe, feedback as fb\n"
         "from evaluation.disclosure import Disclosure\n"
         "sdc = Disclosure(internal=internal)\n"
         f"if internal:\n    display(Markdown('**{BANNER}.**'))", {}),
        ("people = pd.DataFrame({'band': ['low'] * 25 + ['high'] * 40,\n"
         "                       'ip': [1] * 21 + [0] * 4 + [1, 0] * 20})\n"
         "table = sdc.show(describe.coverage(people, 'ip', by='band'), name='IP coverage by band')\n"
         "display(table)\n"
         "describe.coverage_plot(table, x='band', sdc=sdc); plt.show()", {}),
        ("changes = pd.DataFrame({'change': np.linspace(-8, 9, 30), 'category': 'x'})\n"
         "fb.waterfall_plot(changes, sdc=sdc, internal=internal);", {}),
        ("display(sdc)", {}),
    ]
    nb.cells = [nbformat.v4.new_code_cell(src, metadata=md) for src, md in cells]
    nbformat.write(nb, path)


def _run(notebook: Path, out: Path, internal: bool):
    import papermill as pm

    from evaluation.report.kernels import IPCKernelManager
    pm.execute_notebook(str(notebook), str(out), parameters={"internal": internal},
                        kernel_name="python3", progress_bar=False,
                        kernel_manager_class=IPCKernelManager)
    return nbformat.read(out, as_version=4)


def _images_and_log(executed):
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    records = [o.metadata["image/png"]["ipeval"]["figure"] for o in images]
    summary = [o for o in outputs if 'data-ipeval-disclosure="' in o.get("data", {}).get("text/html", "")]
    raw = re.search(r'data-ipeval-disclosure="([^"]*)"', summary[-1].data["text/html"]).group(1)
    markdown = [o.data["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    return records, json.loads(html.unescape(raw)), markdown


@pytest.mark.notebook
def test_an_executed_notebook_carries_each_figures_provenance(tmp_path):
    notebook = tmp_path / "small.ipynb"
    _small_notebook(notebook)
    shared = _run(notebook, tmp_path / "shared.ipynb", internal=False)
    records, log, markdown = _images_and_log(shared)
    assert records == [
        {"name": "IP coverage by band", "source": "IP coverage by band", "person_level": False},
        {"name": "waterfall of episode changes (not drawn: person-level)", "source": None,
         "person_level": False}]
    assert log["figures"] == records and log["internal"] is False
    assert not any(BANNER in m for m in markdown[:-1])
    assert shared.metadata["papermill"]["parameters"]["internal"] is False

    internal = _run(notebook, tmp_path / "internal.ipynb", internal=True)
    records, log, markdown = _images_and_log(internal)
    assert records[-1] == {"name": "waterfall of episode changes", "source": None,
                           "person_level": True}
    assert log["figures"] == records and log["internal"] is True
    assert BANNER in markdown[0]
