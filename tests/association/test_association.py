"""The headline analysis end to end: truth recovered, rows accounted for, bad input refused,
positivity problems handled, and the notebook on awkward studies."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from evaluation import Study
from evaluation.association.analysis import evaluate
from evaluation.association.frame import analysis_frame
from evaluation.cli import main
from evaluation.errors import ParameterError
from evaluation.report import run_notebook
from evaluation.synthetic import SyntheticConfig, write_study

RECORD_FIELDS = {"outcome", "method", "estimand", "estimate", "ci_low", "ci_high", "p_value", "n",
                 "n_exposed", "scale"}


@pytest.fixture(scope="module")
def big_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    truth = write_study(folder, SyntheticConfig(persons=3000, institutions=5, seed=21))
    return Study.load(folder), truth


def test_adjusted_methods_recover_the_truth_and_crude_does_not(big_study):
    study, truth = big_study
    estimates, rows = evaluate(study, ["goal_retention", "daily_chaos"], methods=("crude", "aipw", "ipw"))
    for outcome, scale in (("goal_retention", "risk difference"), ("daily_chaos", "mean difference")):
        true = truth["effects"][outcome]["ate_respondents"]
        part = estimates[(estimates["outcome"] == outcome) & (estimates["scale"] == scale)]
        crude = part[part["method"] == "crude"].iloc[0]
        for method in ("AIPW", "IPW"):
            row = part[part["method"] == method].iloc[0]
            assert row["ci_low"] <= true <= row["ci_high"], (outcome, method, row["estimate"], true)
            assert abs(row["estimate"] - true) < abs(crude["estimate"] - true)


def test_estimates_carry_e_values_correction_and_counts(big_study):
    study, _ = big_study
    estimates, rows = evaluate(study, methods=("crude", "adjusted", "aipw"))
    assert RECORD_FIELDS <= set(estimates.columns)
    adjusted = estimates[estimates["method"] != "crude"]
    assert adjusted["e_value"].notna().all() and (adjusted["e_value"] >= 1).all()
    assert estimates.loc[estimates["method"] == "crude", "e_value"].isna().all()
    assert estimates["adjustment"].str.contains("Holm over 3 outcomes").any()
    assert (estimates["p_adjusted"] >= estimates["p_value"] - 1e-12).all()
    for outcome, part in rows.groupby("outcome"):
        assert part["rows"].sum() == len(study.person_table())     # used + left out = everyone


def test_bad_input_is_refused_clearly(study_copy, capsys):
    assert main(["estimate", str(study_copy), "--outcome", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err
    study = Study.load(study_copy)
    with pytest.raises(ParameterError, match="not_a_column"):
        analysis_frame(study, "goal_retention", covariates=["age", "not_a_column"])


def test_exposure_with_one_value_is_refused(study_copy):
    path = study_copy / "questionnaire_residents.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["has_ip"] = "1"
    df.to_csv(path, index=False)
    with pytest.raises(ParameterError, match="one value"):
        analysis_frame(Study.load(study_copy), "goal_retention")


def _everyone_has_ip_at(folder, institution_index=0):
    path = folder / "questionnaire_residents.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    name = sorted(df["institution"].unique())[institution_index]
    df.loc[df["institution"] == name, "has_ip"] = "1"
    df.to_csv(path, index=False)
    return name


def test_positivity_violation_is_reported_and_handled(study_copy):
    name = _everyone_has_ip_at(study_copy)
    frame = analysis_frame(Study.load(study_copy), "goal_retention")
    assert name not in set(frame.data["institution"])
    reason = frame.left_out[frame.left_out["reason"].str.contains(name)]
    assert len(reason) == 1 and "everyone has an IP" in reason["reason"].iloc[0]
    estimates, _ = evaluate(Study.load(study_copy), ["goal_retention"], methods=("aipw",))
    assert estimates["estimate"].notna().all()


def test_estimate_cli_json_records(small_study, capsys):
    assert main(["estimate", str(small_study), "--outcome", "daily_chaos", "--method", "aipw",
                 "--method", "crude", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["method"] for r in records} == {"crude", "AIPW"}
    assert all(RECORD_FIELDS <= set(r) for r in records)
    assert all(isinstance(r["n"], int) for r in records)


@pytest.mark.notebook
def test_notebook_on_a_single_institution_study(tmp_path):
    folder = tmp_path / "one"
    write_study(folder, SyntheticConfig(persons=200, institutions=1, seed=4))
    result = run_notebook("notebooks/ip_evaluation.ipynb", {"study": str(folder / "study.yaml")},
                          tmp_path / "out", html=False)
    text = result.executed.read_text()
    assert '"output_type": "error"' not in text
    assert "one institution" in text          # the mixed model says why it has nothing


@pytest.mark.notebook
def test_notebook_when_one_institution_gives_everyone_an_ip(study_copy, tmp_path):
    name = _everyone_has_ip_at(study_copy)
    result = run_notebook("notebooks/ip_evaluation.ipynb", {"study": str(study_copy / "study.yaml")},
                          tmp_path / "out", html=False)
    text = result.executed.read_text()
    assert '"output_type": "error"' not in text
    assert "everyone has an IP" in text and name in text
    from evaluation.report.records import read_records
    records = read_records(result.executed)
    assert {"goal_retention", "daily_chaos"} <= {n.split("/")[0] for n in records["name"]}
    assert records["ci_low"].notna().any()
