"""Every shipped notebook executes with papermill on a small generated study."""
import os
from pathlib import Path

import nbformat
import pytest

from evaluation.report import notebook_parameters, read_records, run_notebook
from test_golden import assert_same_records

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
COMMON = {"study", "institution", "seed", "output_dir"}

pytestmark = pytest.mark.notebook


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs_and_has_parameters(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    assert COMMON <= set(notebook_parameters(notebook))
    # papermill skips a line it cannot parse (a ':' or '=' in the comment, say) with only a
    # warning: that parameter could then not be set. Every assignment must be understood.
    assigned = [line.split("=")[0].strip() for line in code[0].source.splitlines()
                if line and not line.startswith(("#", " ")) and "=" in line]
    assert set(assigned) == set(notebook_parameters(notebook))


MAX_CELL_LINES = 10


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_cells_are_short_and_import_only_from_faces(notebook):
    """A cell reads like a sentence of the report: at most 10 lines of code (the parameters cell
    declares one parameter a line, as papermill needs, and is exempt); the package is reached
    through its faces (``evaluation`` and its subpackages), not through deep module paths."""
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"
            and "parameters" not in c.metadata.get("tags", [])]
    long = [(i, len(c.source.splitlines())) for i, c in enumerate(code)
            if len(c.source.splitlines()) > MAX_CELL_LINES]
    assert not long, f"code cells over {MAX_CELL_LINES} lines (index, lines): {long}"
    deep = [line.strip() for c in code for line in c.source.splitlines()
            if line.strip().startswith(("from evaluation.", "import evaluation."))
            and line.strip().split()[1].count(".") > 1]
    assert not deep, f"imports from deep module paths: {deep}"
    source = "\n".join(c.source for c in code)
    assert "plt.subplots" not in source, "figures come from the package's figure-level helpers"


def _errors_and_images(executed):
    nb = nbformat.read(executed, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    tables = [o for o in outputs if "text/html" in o.get("data", {})]
    return errors, images, tables


def test_overview_runs_on_small_study(small_study, tmp_path):
    out = tmp_path / "overview"
    result = run_notebook("notebooks/study_overview.ipynb",
                          {"study": str(small_study / "study.yaml"), "output_dir": str(out / "tables")},
                          out)
    errors, images, tables = _errors_and_images(result.executed)
    assert not errors
    assert len(images) >= 5          # severity, outcome, BrukerPlan, FIT, coverage figures
    assert len(tables) >= 5
    html = result.html.read_text(encoding="utf-8")
    assert "IP coverage by severity" in html
    assert "Study.load(" not in html  # code hidden by default
    written = {p.name for p in (out / "tables").iterdir()}
    assert {"sources.csv", "counts.csv", "missingness.csv", "ip_coverage_by_institution.csv"} <= written
    assert_same_records(read_records(result.executed), "study_overview")


def test_overview_runs_for_one_institution(small_study, tmp_path):
    import yaml
    name = yaml.safe_load((small_study / "ground_truth.json").read_text())["institutions"][1]["institution"]
    result = run_notebook("notebooks/study_overview.ipynb",
                          {"study": str(small_study / "study.yaml"), "institution": name},
                          tmp_path / "one", html=False)
    errors, images, _ = _errors_and_images(result.executed)
    assert not errors and images
    text = result.executed.read_text(encoding="utf-8")
    others = [i["institution"] for i in yaml.safe_load(
        (small_study / "ground_truth.json").read_text())["institutions"] if i["institution"] != name]
    # The per-institution coverage table names only the chosen institution.
    nb = nbformat.read(result.executed, as_version=4)
    last_tables = [o["data"]["text/html"] for c in nb.cells
                   if c.cell_type == "code" and "by_institution = sdc.show(overview.coverage" in c.source
                   for o in c.outputs if "text/html" in o.get("data", {})]
    assert last_tables and name in last_tables[-1]
    assert not any(o in last_tables[-1] for o in others)
    assert name in text


def test_feedback_runs_on_small_study(small_study, tmp_path):
    from evaluation.report.records import read_records
    out = tmp_path / "feedback"
    result = run_notebook("notebooks/feedback.ipynb",
                          {"study": str(small_study / "study.yaml"), "max_clients": 400,
                           "output_dir": str(out / "tables"), "rci_method": "jacobson_truax"}, out)
    errors, images, tables = _errors_and_images(result.executed)
    assert not errors
    assert len(images) >= 5          # categories and waterfall, forest, trajectories, ETR, SRS
    assert len(tables) >= 12
    html = result.html.read_text(encoding="utf-8")
    assert "locally derived" in html and "jacobson_truax" in html
    records = read_records(result.executed).set_index("name")
    inter = records.loc["ors/ip_x_log_session"]
    assert inter["ci_low"] < inter["estimate"] < inter["ci_high"]
    assert any(n.startswith("change/AIPW") for n in records.index)
    assert {p.name for p in (out / "tables").iterdir()} >= {"fit_categories.csv", "fit_estimates.csv"}
    assert_same_records(records.reset_index(), "feedback")


def test_feedback_runs_for_one_institution(small_study, tmp_path):
    result = run_notebook("notebooks/feedback.ipynb",
                          {"study": str(small_study / "study.yaml"), "institution": "Karlsborg",
                           "max_clients": 300, "etr_method": "percentile"},
                          tmp_path / "one", html=False)
    errors, images, _ = _errors_and_images(result.executed)
    assert not errors and images


def test_interviews_runs_on_small_study(small_study, tmp_path):
    from evaluation.report.records import read_records
    out = tmp_path / "interviews"
    result = run_notebook("notebooks/interviews.ipynb",
                          {"study": str(small_study / "study.yaml"), "n_boot": 200,
                           "output_dir": str(out / "tables"),
                           "worklist": os.path.relpath(tmp_path / "internal" / "disagreements.csv")},
                          out)
    errors, images, tables = _errors_and_images(result.executed)
    assert not errors
    assert len(images) >= 3          # agreement, mentions by IP status, co-occurrence
    assert len(tables) >= 7
    records = read_records(result.executed).set_index("name")
    overall = records.loc["agreement/*/alpha"]
    assert overall["ci_low"] < overall["estimate"] < overall["ci_high"]
    html = result.html.read_text(encoding="utf-8")
    assert "joint display" in html.lower() and "[sted]" in html
    # the internal worklist with raw texts is written outside the report, and only there
    assert (tmp_path / "internal" / "disagreements.csv").is_file()
    assert not list(out.rglob("disagreements*"))
    assert_same_records(records.reset_index(), "interviews")


def _texts(executed):
    nb = nbformat.read(executed, as_version=4)
    return "\n".join(str(o.get("data", {}).get("text/markdown", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_programme_comparison_runs_on_small_study(small_study, small_truth, tmp_path):
    from evaluation.report.records import read_records
    result = run_notebook("notebooks/programme_comparison.ipynb",
                          {"study": str(small_study / "study.yaml"), "reps": 999}, tmp_path / "pc")
    errors, images, tables = _errors_and_images(result.executed)
    assert not errors and len(images) >= 4 and len(tables) >= 8   # trends, event study, BrukerPlan, institutions
    records = read_records(result.executed)
    did = records[records["name"].str.startswith("goal_retention/DiD")].iloc[0]
    assert did["ci_low"] < did["estimate"] < did["ci_high"]
    assert "wild" in result.html.read_text(encoding="utf-8").lower()
    assert_same_records(records, "programme_comparison")


def test_programme_comparison_staggered_rollout(small_study, small_truth, tmp_path):
    from evaluation.report.records import read_records
    result = run_notebook("notebooks/programme_comparison.ipynb",
                          {"study": str(small_study / "study.yaml"), "programme": "fit_rollout",
                           "outcome": "daily_chaos", "reps": 499}, tmp_path / "fit", html=False)
    errors, _, _ = _errors_and_images(result.executed)
    assert not errors
    methods = set(read_records(result.executed)["name"])
    assert any("Callaway" in m for m in methods) and any("naive" in m for m in methods)


def test_programme_comparison_explains_a_design_without_a_pre_period(small_study, tmp_path):
    result = run_notebook("notebooks/programme_comparison.ipynb",
                          {"study": str(small_study / "study.yaml"),
                           "starts": {"Lassonløkken": "2021-01-01"}},
                          tmp_path / "bad", html=False)
    errors, images, _ = _errors_and_images(result.executed)
    assert not errors and images          # the other sections still run
    text = _texts(result.executed)
    assert "cannot be estimated as given" in text and "before" in text


def test_programme_comparison_runs_inside_a_batch_and_pools_one(small_study, tmp_path, monkeypatch):
    """The headline notebook by institution, then the comparison notebook in a batch of its own
    that pools those runs' estimates."""
    import yaml

    from evaluation.batch import read_results, run_batch
    monkeypatch.chdir(tmp_path)
    root = Path(__file__).parents[2]
    first = tmp_path / "by_institution.yaml"
    first.write_text(yaml.safe_dump({
        "notebook": str(root / "notebooks/ip_evaluation.ipynb"), "output": "by_institution",
        "parameters": {"study": str(small_study / "study.yaml"), "outcome": "daily_chaos",
                       "methods": ["crude", "aipw"]},
        "grid": {"institution": ["all", "Lassonløkken", "Karlsborg", "Fjærholmen"]}},
        allow_unicode=True), encoding="utf-8")
    assert run_batch(first, workers=2, progress=False, out=lambda *_: None).exit_code == 0
    second = tmp_path / "comparison.yaml"
    second.write_text(yaml.safe_dump({
        "notebook": str(root / "notebooks/programme_comparison.ipynb"), "output": "comparison",
        "parameters": {"study": str(small_study / "study.yaml"), "reps": 999,
                       "results": "by_institution", "pool_name": "daily_chaos/AIPW/ATE/*"},
        "grid": {"outcome": ["goal_retention", "daily_chaos"]}}, allow_unicode=True),
        encoding="utf-8")
    outcome = run_batch(second, workers=2, progress=False, out=lambda *_: None)
    assert outcome.exit_code == 0, outcome.runs[["label", "status", "error"]].to_string()
    _, results = read_results(tmp_path / "comparison")
    pooled = results[results["name"].str.startswith("pooled/daily_chaos")]
    assert len(pooled) == 2 and (pooled["ci_low"] < pooled["ci_high"]).all()


def test_headline_notebook_gives_the_numbers_recorded_before_the_redesign(small_study, tmp_path):
    result = run_notebook("notebooks/ip_evaluation.ipynb", {"study": str(small_study / "study.yaml")},
                          tmp_path / "headline", html=False)
    assert_same_records(read_records(result.executed), "ip_evaluation")
