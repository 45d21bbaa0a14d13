"""The pages of a batch output folder (evaluation.batch.pages) and slides (evaluation.report.slides),
checked in a real browser: Debian's Chromium driven by Playwright, the folder served over HTTP.

The folder is built once per module the way the runner writes it: one run is a real execution of
the study overview notebook (a report with figures), the other runs have recorded estimates
for other institutions, a failure with an error text and a timeout.
"""
from __future__ import annotations

import hashlib
import json
import math

import nbformat
import pandas as pd
import pytest

from browser import assert_page_is_sound, chromium, image_widths, serve, visit
from evaluation.batch.pages import comparison_records, write_comparison, write_index
from evaluation.disclosure.output_check import check_path
from evaluation.errors import DisclosureFindings
from evaluation.report import run_notebook
from evaluation.report.slides import render_slides

KEY = "goal_retention/aipw/ATE/risk difference"
INJECTED = '<script>window.__pwned = 1; alert("pwned")</script> & æøå'
VALID_FNR = "31129956715"   # the worked example of tests/test_national_id.py


def _record(run_id, name, estimate, low, high, p, n, value=None):
    return {"run_id": run_id, "name": name, "value": value, "estimate": estimate,
            "ci_low": low, "ci_high": high, "p_value": p, "n": n}


def _run(run_id, institution, status, folder, *, seconds=20.0, attempts=1, error=None,
         html=None, executed=None, label=None):
    grid = {"institution": institution, "outcome": "goal_retention"}
    label = label or f"institution={institution} · outcome=goal_retention"
    return {"run_id": run_id, "label": label,
            "notebook": "study_overview.ipynb", "parameters": json.dumps(grid, ensure_ascii=False),
            "grid": json.dumps(grid, ensure_ascii=False), "status": status,
            "started": "2026-01-05T10:00:00", "seconds": seconds, "attempts": attempts,
            "error": error, "folder": folder, "html": html, "executed": executed,
            "findings": 0.0 if status == "ok" else math.nan}


@pytest.fixture(scope="module")
def batch(small_study, tmp_path_factory):
    """(out folder, runs, results) of a batch of five runs, pages written."""
    out = tmp_path_factory.mktemp("batch")
    truth = json.loads((small_study / "ground_truth.json").read_text(encoding="utf-8"))
    names = [i["institution"] for i in truth["institutions"]]
    real = "runs/overview-real-3fa9c2d1"
    result = run_notebook("notebooks/study_overview.ipynb",
                          {"study": str(small_study / "study.yaml"),
                           "output_dir": str(out / real / "tables")}, out / real)
    assert result.html is not None
    folders = {"b2": "runs/institution-2-b2", "c3": "runs/institution-3-c3",
               "d4": "runs/failed-d4", "e5": "runs/timeout-e5"}
    for folder in folders.values():
        (out / folder).mkdir(parents=True)
        (out / folder / "run.log").write_text("{}\n", encoding="utf-8")
    failed_error = (f"notebooks/study_overview.ipynb failed in cell 4: ValueError: <b>no rows</b> "
                    f"for 'Å & Ø'. The executed notebook with the error is kept at "
                    f"{out / folders['d4'] / 'study_overview.ipynb'}.")
    runs = pd.DataFrame([
        _run("a1", names[0], "ok", real, seconds=result.seconds,
             html=f"{real}/study_overview.html", executed=f"{real}/study_overview.ipynb"),
        _run("b2", INJECTED, "ok", folders["b2"], label=f"institution={INJECTED}"),
        _run("c3", names[2], "ok", folders["c3"]),
        _run("d4", names[3], "failed", folders["d4"], error=failed_error, attempts=2),
        _run("e5", names[1], "timeout", folders["e5"], seconds=600.0,
             error="Timed out after 600 s (attempt 1 of 1)."),
    ])
    results = pd.DataFrame([
        _record("a1", KEY, 0.1234, 0.0101, 0.2357, 0.031, 120.0),
        _record("a1", "goal_retention/ipw/ATE/risk difference", 0.15, 0.02, 0.28, 0.02, 120.0),
        _record("a1", "goal_retention/persons", math.nan, math.nan, math.nan, math.nan, math.nan,
                value="120 persons"),
        _record("b2", KEY, -0.05, -0.2, 0.1, 0.5, 64.0),
        _record("c3", KEY, 0.9, 0.5, 1.3, 0.001, 3.0),       # too few people to be shown
    ])
    assert write_comparison(out, runs, results) == out / "comparison.html"
    write_index(out, runs, results, title="Batch: study overview ÆØÅ")
    return out, runs, results


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def served(batch):
    with serve(batch[0]) as base:
        yield base


# --------------------------------------------------------------------------- index.html

@pytest.mark.notebook
def test_index_lists_failures_first_and_loads_cleanly(batch, served, browser):
    seen = visit(browser, served + "index.html")
    assert_page_is_sound(seen)
    statuses = seen.page.eval_on_selector_all("tr.run", "rows => rows.map(r => r.dataset.status)")
    assert statuses == ["failed", "timeout", "ok", "ok", "ok"]
    summary = seen.page.inner_text("#summary")
    assert summary.startswith("5 runs: 1 failed, 1 timeout, 3 ok")
    assert "ValueError: <b>no rows</b> for 'Å & Ø'" in seen.text
    assert "Timed out after 600 s" in seen.text
    # The run's files are linked relatively; only the real run has a report and a notebook.
    links = seen.page.eval_on_selector_all("tr[data-run-id=a1] a", "a => a.map(x => x.textContent)")
    assert links == ["report", "notebook", "folder", "log"]
    assert seen.page.eval_on_selector_all("tr[data-run-id=d4] a", "a => a.length") == 2
    seen.page.close()


@pytest.mark.notebook
def test_index_escapes_parameter_values(batch, served, browser):
    seen = visit(browser, served + "index.html")
    assert INJECTED in seen.text                       # shown as text ...
    assert seen.page.evaluate("typeof window.__pwned") == "undefined"   # ... never run
    assert seen.dialogs == []
    raw = (batch[0] / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    seen.page.close()


@pytest.mark.notebook
def test_index_shows_key_results(batch, served, browser):
    seen = visit(browser, served + "index.html")
    row = seen.page.inner_text("tr[data-run-id=a1]")
    assert f"{KEY}: 0.123 [0.010, 0.236], p 0.031, n = 120" in row
    assert "goal_retention/ipw/ATE/risk difference: 0.150 [0.020, 0.280]" in row
    assert "goal_retention/persons" not in row          # no estimate: not among the default three
    assert "suppressed (n <5)" in seen.page.inner_text("tr[data-run-id=c3]")
    assert "0.900" not in seen.text
    assert seen.page.get_attribute("a[href='comparison.html']", "href") == "comparison.html"
    seen.page.close()


@pytest.mark.notebook
def test_index_key_pattern_chooses_the_results(batch, tmp_path):
    out, runs, results = batch
    page = write_index(tmp_path, runs, results, title="t", key="*/persons")
    text = page.read_text(encoding="utf-8")
    assert "120 persons" in text and "0.123" not in text
    # The pattern matches no estimate, so there is nothing to compare.
    assert 'id="no-comparison"' in text and "matching &#39;*/persons&#39;" in text


@pytest.mark.notebook
def test_pages_pass_the_output_check(batch, small_study):
    out = batch[0]
    for name in ("index.html", "comparison.html"):
        findings = check_path(out / name, study=small_study / "study.yaml")
        assert findings.empty, findings.to_string()
    # The failure's absolute path is given relative to the folder.
    assert str(out) not in (out / "index.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- comparison

@pytest.mark.notebook
def test_comparison_page_shows_the_figure_and_numbers(batch, served, browser):
    out = batch[0]
    assert (out / "comparison.png").stat().st_size > 5_000
    seen = visit(browser, served + "comparison.html")
    assert_page_is_sound(seen, min_images=1)
    assert [src.rsplit("/", 1)[-1] for src, _ in image_widths(seen.page)] == ["comparison.png"]
    rows = seen.page.eval_on_selector_all(
        "#estimates tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))")
    by_institution = {r[0]: r for r in rows}
    assert len(rows) == 3 and INJECTED in by_institution
    names = [i for i in by_institution if i != INJECTED]
    first = by_institution[names[0]]
    assert first[1:6] == [KEY, "0.123", "[0.010, 0.236]", "0.031", "120"]
    assert by_institution[names[1]][2:6] == ["<5"] * 4     # n = 3: not shown
    assert seen.page.get_attribute("a[href='index.html']", "href") == "index.html"
    seen.page.close()


def test_comparison_is_none_without_estimates(tmp_path):
    runs = pd.DataFrame([_run("a1", "A", "ok", "runs/a"), _run("b2", "B", "failed", "runs/b")])
    results = pd.DataFrame([_record("a1", "x/persons", math.nan, math.nan, math.nan, math.nan,
                                    math.nan, value="12"),
                            _record("b2", KEY, 0.1, 0.0, 0.2, 0.5, 50.0)])   # a failed run's
    (tmp_path / "comparison.html").write_text("old", encoding="utf-8")
    assert write_comparison(tmp_path, runs, results) is None
    assert not any((tmp_path / name).exists() for name in ("comparison.html", "comparison.png"))
    text = write_index(tmp_path, runs, results, title="t").read_text(encoding="utf-8")
    assert "No comparison across runs" in text and 'href="comparison.html"' not in text


def test_comparison_default_key_several_names_and_labels(tmp_path):
    runs = pd.DataFrame([_run("a1", "A", "ok", "runs/a"), _run("b2", "A", "ok", "runs/b",
                                                                label="institution=A · seed=2")])
    results = pd.DataFrame([_record("a1", "x/odds ratio", 1.5, 1.1, 2.0, 0.01, 50.0),
                            _record("a1", "y", 0.1, 0.0, 0.2, 0.1, 50.0),
                            _record("b2", "y", 0.2, 0.1, 0.3, 0.1, 50.0)])
    assert set(comparison_records(runs, results)["name"]) == {"y"}   # recorded by most runs
    assert len(comparison_records(runs, results, key="*")) == 3
    page = write_comparison(tmp_path, runs, results, key="*")
    text = page.read_text(encoding="utf-8")
    assert "x/odds ratio, y" in text
    # Two runs of institution A in one panel: each is named by its whole label instead.
    assert "<td>institution=A · seed=2</td>" in text and "<td>A</td>" in text


# --------------------------------------------------------------------------- run report

@pytest.mark.notebook
def test_run_report_renders_in_the_browser_without_the_network(batch, served, browser):
    seen = visit(browser, served + "runs/overview-real-3fa9c2d1/study_overview.html")
    external = seen.external
    assert_page_is_sound(seen, min_images=5)
    assert "IP coverage by severity" in seen.text
    seen.page.close()
    # closed networks: the report asks no other host for anything (no CDN scripts)
    assert external == []


# --------------------------------------------------------------------------- slides
# The slides are not opened in the browser: reveal.js, require.js and jQuery come from a CDN
# that the closed network cannot reach, so the deck would not start. Their HTML is checked.

def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.notebook
def test_slides_of_the_executed_notebook(batch, small_study, tmp_path):
    executed = batch[0] / "runs/overview-real-3fa9c2d1/study_overview.ipynb"
    before = _sha(executed)
    slides = render_slides(executed, tmp_path / "overview.slides.html",
                           study=str(small_study / "study.yaml"))
    html = slides.read_text(encoding="utf-8")
    nb = nbformat.read(executed, as_version=4)
    chapters = sum(c.cell_type == "markdown" and c.source.lstrip().startswith(("# ", "## "))
                   for c in nb.cells)
    assert chapters >= 3 and html.count("<section") >= chapters
    assert "IP coverage by severity" in html and "data:image/png;base64" in html
    assert "Study.load(" not in html                    # code hidden
    assert _sha(executed) == before                     # the notebook itself is not changed
    local = render_slides(executed, tmp_path / "local.slides.html", reveal_url_prefix="reveal.js/")
    assert 'href="reveal.js/dist/reveal.css"' in local.read_text(encoding="utf-8")


@pytest.mark.notebook
def test_slides_showing_a_national_id_are_refused(batch, tmp_path):
    source = batch[0] / "runs/overview-real-3fa9c2d1/study_overview.ipynb"
    nb = nbformat.read(source, as_version=4)
    leak = nbformat.v4.new_markdown_cell(f"## Contact\n\nAsk about person {VALID_FNR}.")
    nb.cells.insert(1, leak)
    executed = tmp_path / "leaky.ipynb"
    nbformat.write(nb, str(executed))
    target = tmp_path / "leaky.slides.html"
    with pytest.raises(DisclosureFindings, match="slides were not written") as refused:
        render_slides(executed, target)
    assert "national_id" in str(refused.value) and VALID_FNR not in str(refused.value)
    assert not target.exists()
    written = render_slides(executed, target, accept_risk="test of the override")
    assert VALID_FNR in written.read_text(encoding="utf-8")


def test_slides_need_an_executed_notebook(tmp_path):
    from evaluation.errors import InputFileError
    with pytest.raises(InputFileError, match="not found"):
        render_slides(tmp_path / "missing.ipynb", tmp_path / "x.html")
