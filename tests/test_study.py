"""The Study object: counts that add up, quarantine of the planted duplicates, institutions."""
from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from evaluation import Study, load_study
from evaluation.errors import InputFileError, ParameterError
from evaluation.intake.readers import read_table
from evaluation.synthetic.config import MUNICIPALITIES


def _edit_manifest(folder, edit) -> None:
    path = folder / "study.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(manifest)
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_load_report_counts_add_up(small_loaded, small_truth):
    report = small_loaded.load_report().set_index("source")
    assert list(report.index) == small_loaded.source_names
    assert (report["rows_read"] == report["rows_used"] + report["rows_quarantined"]).all()
    for file, info in small_truth["files"].items():
        assert report.loc[info["source"], "rows_read"] == info["rows"], file
        assert report.loc[info["source"], "file"] == file
    assert report.loc["residents", "rows_quarantined"] > 0
    assert report.loc["fit", "rows_quarantined"] > 0
    assert report.loc["persons", "rows_quarantined"] == 0


@pytest.mark.parametrize("source", ["residents", "fit"])
def test_quarantine_is_exactly_the_planted_duplicates(small_loaded, small_truth, source):
    planted = {(p["row"], p["duplicate_of_row"]) for p in small_truth["planted_problems"]
               if p["source"] == source and p["problem"] == "duplicate_submission"}
    assert planted
    q = small_loaded.quarantine()
    q = q[(q["source"] == source) & q["rule"].str.startswith("duplicate submission")]
    found = {(int(row), int(re.search(r"of row (\d+)", rule).group(1)))
             for row, rule in zip(q["row"], q["rule"])}
    assert found == planted
    assert set(q["file"]) == {small_loaded.manifest.sources[source].file.name}
    # The quarantined rows are gone from the table, the originals are kept.
    table = small_loaded.table(source)
    assert not {r for r, _ in planted} & set(table.index)
    assert {o for _, o in planted} <= set(table.index)


def test_quarantine_has_no_other_sources(small_loaded, small_truth):
    planted = {p["source"] for p in small_truth["planted_problems"]}
    assert set(small_loaded.quarantine()["source"]) == planted


def test_table_index_is_the_raw_file_row(small_loaded, small_study):
    raw = read_table(small_study / "questionnaire_residents.csv")
    table = small_loaded.table("residents")
    assert table.index.name == "row"
    for row in table.index[[0, 5, -1]]:
        assert table.loc[row, "$submission_id"] == raw.loc[row - 1, "$submission_id"]
        # `submitted` is declared a date in the manifest: parsed, same instant as the raw text.
        assert table.loc[row, "submitted"] == pd.Timestamp(raw.loc[row - 1, "$created"])


def test_columns_are_mapped(small_loaded):
    residents = small_loaded.table("residents")
    assert {"person_id", "submitted"} <= set(residents.columns)
    assert not {"resp_id", "$created"} & set(residents.columns)


def test_unknown_source_lists_the_sources(small_loaded):
    with pytest.raises(ParameterError) as err:
        small_loaded.table("nope")
    message = str(err.value)
    assert "'nope'" in message
    assert all(name in message for name in small_loaded.source_names)
    assert err.value.exit_code == 2


def test_unknown_institution(small_study):
    with pytest.raises(ParameterError) as err:
        Study(small_study / "study.yaml", institution="Nowhere")
    assert "'Nowhere'" in str(err.value)
    assert "Lassonløkken" in str(err.value)        # lists the known ones
    with pytest.raises(ParameterError):
        load_study(small_study, institution="Nowhere")


@pytest.mark.parametrize("everyone", [None, "all", ""])
def test_all_institutions(small_study, small_loaded, everyone):
    study = Study(small_study, institution=everyone)
    assert study.institution is None
    assert len(study.table("persons")) == len(small_loaded.table("persons")) == 300


def test_subset_restricts_every_table(small_loaded, small_truth):
    name = small_truth["institutions"][1]["institution"]
    sub = small_loaded.subset(name)
    assert sub.institution == name and small_loaded.institution is None
    col, id_col = sub.institution_column, sub.id_column
    persons_here = set(sub.table("persons")[id_col])
    assert len(persons_here) == small_truth["institutions"][1]["persons"]
    for source in sub.source_names:
        full, part = small_loaded.table(source), sub.table(source)
        if col in full.columns:
            assert len(part) > 0, source
            assert (part[col] == name).all(), source
            assert len(part) == (full[col] == name).sum(), source
        elif id_col in full.columns:          # brukerplan: no institution, restricted by person
            assert len(part) > 0, source
            assert set(part[id_col]) <= persons_here, source
            assert part.index.equals(full.index[full[id_col].isin(persons_here)]), source
            assert len(part) < len(full)
        else:                                  # codebook: nothing to restrict by
            assert part.equals(full), source
    assert "brukerplan" in sub.source_names and col not in sub.table("brukerplan").columns
    person_table = sub.person_table()
    assert len(person_table) == len(persons_here)
    assert (person_table[col] == name).all()


def test_person_table_has_one_row_per_person(small_loaded):
    persons = small_loaded.table("persons")
    table = small_loaded.person_table()
    assert len(table) == len(persons) == 300
    assert table[small_loaded.id_column].is_unique
    assert set(table[small_loaded.id_column]) == set(persons[small_loaded.id_column])
    assert {"severity", "has_ip", "goal_retention", "institution"} <= set(table.columns)
    assert not [c for c in table.columns if c.endswith("__other")]
    # The residents' answers come through for everyone who answered.
    residents = small_loaded.table("residents")
    assert table["has_ip"].notna().sum() == len(residents)


def test_norwegian_letters_come_through(small_loaded, small_truth):
    institutions = small_loaded.institutions()
    assert institutions == sorted(i["institution"] for i in small_truth["institutions"])
    assert any(ch in name for name in institutions for ch in "æøåÆØÅ")
    assert "Sørbråten" in institutions and "Fjærholmen" in institutions
    # persons.csv is UTF-8 with BOM, brukerplan.csv Windows-1252, staff is Excel.
    for source in ["persons", "brukerplan"]:
        municipalities = set(small_loaded.table(source)["municipality"])
        assert municipalities <= set(MUNICIPALITIES), source
        assert municipalities & {"Bærum", "Lørenskog", "Ås", "Våler", "Rømskog"}, source
    assert set(small_loaded.table("staff")["institution"]) == set(institutions)


def test_raw_files_are_byte_identical_after_loading(small_study, file_hashes):
    before = file_hashes(small_study)
    study = Study.load(small_study)
    for source in study.source_names:
        study.table(source)
    study.quarantine()
    study.person_table()
    study.subset(study.institutions()[0]).person_table()
    assert file_hashes(small_study) == before
    assert before                      # the check saw the files


def test_mapped_column_missing_from_the_file(study_copy):
    _edit_manifest(study_copy, lambda m: m["sources"]["residents"]["columns"]
                   .update({"respondent_nr": "person_number"}))
    study = Study.load(study_copy)
    with pytest.raises(InputFileError) as err:
        study.table("residents")
    message = str(err.value)
    assert "respondent_nr" in message and "'residents'" in message
    assert "questionnaire_residents.csv" in message
    assert len(study.table("persons")) == 300       # other sources still load


def test_unique_key_missing_from_the_file(study_copy):
    _edit_manifest(study_copy, lambda m: m["sources"]["fit"].update({"unique": ["visit_id"]}))
    with pytest.raises(InputFileError, match="visit_id"):
        Study.load(study_copy).table("fit")


def test_tables_are_copies(small_loaded):
    df = small_loaded.table("persons")
    df.loc[:, "age"] = -1
    assert (small_loaded.table("persons")["age"] >= 18).all()
