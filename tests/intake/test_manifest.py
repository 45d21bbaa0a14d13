"""study.yaml: paths relative to the manifest, and strict errors naming what is wrong."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evaluation import Study
from evaluation.errors import IpevalError, ManifestError
from evaluation.intake.manifest import SOURCE_KEYS, TOP_LEVEL_KEYS, load_manifest


def make_study(folder: Path, manifest: str, files=("a.csv",)) -> Path:
    """A study folder with ``manifest`` as study.yaml and tiny CSV files; returns study.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("person_id,institution,x\nP1,Vårli,1\nP2,Vårli,2\n", encoding="utf-8")
    path = folder / "study.yaml"
    path.write_text(textwrap.dedent(manifest), encoding="utf-8")
    return path


MINIMAL = "name: mini\nsources:\n  a: {file: a.csv}\n"


# -- paths ------------------------------------------------------------------------------------
def test_relative_paths_resolve_against_the_manifest_folder(tmp_path, monkeypatch):
    study = tmp_path / "study"
    make_study(study, """\
        sources:
          a: {file: data/a.csv}
        pseudonym_key_file: keys/pseudonym.key
        """, files=("data/a.csv",))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    manifest = load_manifest(study / "study.yaml")
    assert manifest.sources["a"].file == (study / "data" / "a.csv").resolve()
    assert manifest.sources["a"].file.is_file()
    assert manifest.pseudonym_key_file.resolve() == (study / "keys" / "pseudonym.key").resolve()
    assert manifest.root == study.resolve()


def test_relative_manifest_path_gives_absolute_source_paths(tmp_path, monkeypatch):
    make_study(tmp_path / "study", MINIMAL)
    monkeypatch.chdir(tmp_path)
    manifest = load_manifest("study/study.yaml")
    monkeypatch.chdir(tmp_path / "study")          # a later change of directory changes nothing
    assert manifest.path.is_absolute() and manifest.path == (tmp_path / "study/study.yaml").resolve()
    assert manifest.sources["a"].file.is_absolute() and manifest.sources["a"].file.is_file()


def test_folder_instead_of_file(tmp_path):
    make_study(tmp_path / "study", MINIMAL)
    by_folder = load_manifest(tmp_path / "study")
    by_file = load_manifest(tmp_path / "study" / "study.yaml")
    assert by_folder == by_file
    assert by_folder.name == "mini" and list(by_folder.sources) == ["a"]


def test_name_defaults_to_the_folder_name(tmp_path):
    make_study(tmp_path / "korus", "sources:\n  a: a.csv\n")
    manifest = load_manifest(tmp_path / "korus")
    assert manifest.name == "korus"
    assert manifest.sources["a"].kind == "table"


def test_loaded_study_reads_its_files_from_another_working_directory(study_copy, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)          # not the study folder
    study = Study.load(study_copy.name)
    assert len(study.table("persons")) == 300


def test_study_load_finds_a_relative_path_one_level_up(tmp_path, monkeypatch):
    """A notebook in notebooks/ opens "data_synthetic/study.yaml" as from the repository root."""
    make_study(tmp_path / "data_mini", MINIMAL)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    study = Study.load("data_mini/study.yaml")
    assert study.root == (tmp_path / "data_mini").resolve()
    assert study.table("a")["x"].tolist() == [1, 2]


def test_shipped_synthetic_manifest_loads():
    manifest = load_manifest(Path(__file__).parents[2] / "data_synthetic")
    assert manifest.exposure == {"source": "residents", "column": "has_ip"}
    assert {"goal_retention", "daily_chaos"} <= set(manifest.outcomes)
    assert manifest.outcomes["daily_chaos"].lower_is_better
    assert all(spec.file.is_file() for spec in manifest.sources.values())


# -- errors -----------------------------------------------------------------------------------
def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError) as err:
        load_manifest(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)
    assert "not found" in str(err.value)


def test_malformed_yaml_names_the_line(tmp_path):
    path = make_study(tmp_path, "name: x\nsources:\n\ta: {file: a.csv}\n")
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert "line 3" in str(err.value)
    assert str(path) in str(err.value)


def test_unclosed_flow_mapping_is_a_manifest_error(tmp_path):
    path = make_study(tmp_path, "name: x\nsources:\n  a: {file: a.csv\n")
    with pytest.raises(ManifestError, match=r"line \d+"):
        load_manifest(path)


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just text\n", "str"),
                                        ("", "NoneType")])
def test_top_level_must_be_a_mapping(tmp_path, text, kind):
    path = make_study(tmp_path, text)
    with pytest.raises(ManifestError, match="mapping") as err:
        load_manifest(path)
    assert kind in str(err.value)


def test_unknown_top_level_key_is_named_with_the_allowed_keys(tmp_path):
    path = make_study(tmp_path, MINIMAL + "outcome:\n  y: {source: a, column: x, type: binary}\n")
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    message = str(err.value)
    assert "'outcome'" in message
    assert all(key in message for key in TOP_LEVEL_KEYS)


CASES = {
    "unknown source key": ("sources:\n  a: {file: a.csv, instrumnet: ors}\n",
                           ["'instrumnet'", "'a'", *sorted(SOURCE_KEYS)]),
    "source without file": ("sources:\n  a: {instrument: ors}\n", ["'a'", "file"]),
    "source file missing": ("sources:\n  a: {file: a.csv}\n  fit: {file: fit_sessions.csv}\n",
                            ["'fit'", "fit_sessions.csv", "does not exist"]),
    "no sources": ("name: x\n", ["sources"]),
    "exposure unknown source": (MINIMAL + "exposure: {source: residents, column: has_ip}\n",
                                ["exposure", "'residents'", "a"]),
    "exposure without column": (MINIMAL + "exposure: {source: a}\n", ["exposure", "column"]),
    "outcome unknown source": (MINIMAL + "outcomes:\n  goal: {source: residents, column: x, "
                               "type: binary}\n", ["'goal'", "'residents'"]),
    "outcome column and score": (MINIMAL + "outcomes:\n  goal: {source: a, column: x, "
                                 "score: y, type: binary}\n", ["'goal'", "column", "score"]),
    "outcome neither column nor score": (MINIMAL + "outcomes:\n  goal: {source: a, "
                                         "type: binary}\n", ["'goal'", "column", "score"]),
    "bad outcome type": (MINIMAL + "outcomes:\n  goal: {source: a, column: x, type: ordinal}\n",
                         ["'goal'", "'ordinal'", "binary", "continuous"]),
    "unknown outcome key": (MINIMAL + "outcomes:\n  goal: {source: a, column: x, type: binary, "
                            "lower_is_beter: true}\n", ["'goal'", "'lower_is_beter'"]),
    "bad source kind": ("sources:\n  a: {file: a.csv, kind: survey}\n", ["'a'", "'survey'"]),
    "unknown read option": ("sources:\n  a: {file: a.csv, read: {delimiter: ';'}}\n",
                            ["'delimiter'", "sep"]),
    "covariates not names": (MINIMAL + "covariates: {age: 1}\n", ["covariates"]),
    "negative disclosure": (MINIMAL + "disclosure: {min_cell: -1}\n", ["min_cell", "-1"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_manifest_errors_name_the_problem(tmp_path, case):
    text, expected = CASES[case]
    path = make_study(tmp_path, text)
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    message = str(err.value)
    missing = [e for e in expected if e not in message]
    assert not missing, f"message {message!r} lacks {missing}"
    assert str(path) in message           # every message names the manifest
    assert "\n" not in message            # one paragraph


def test_manifest_error_exit_code():
    assert ManifestError.exit_code == 2
    assert issubclass(ManifestError, IpevalError)
    assert ManifestError("x").exit_code == 2


# -- bugs: wrong types in study.yaml escape as bare Python errors (a traceback, not exit 2) ---
def test_instrument_of_wrong_type_is_a_manifest_error(tmp_path):
    path = make_study(tmp_path, "sources:\n  a: {file: a.csv, instrument: 5}\n")
    with pytest.raises(ManifestError, match="instrument"):
        load_manifest(path)


def test_unknown_keys_of_mixed_types_are_a_manifest_error(tmp_path):
    path = make_study(tmp_path, MINIMAL + "1: x\nfoo: y\n")
    with pytest.raises(ManifestError, match="foo"):
        load_manifest(path)


def test_read_options_must_be_a_mapping(tmp_path):
    path = make_study(tmp_path, "sources:\n  a: {file: a.csv, read: [{sep: ';'}]}\n")
    with pytest.raises(ManifestError, match="read"):
        load_manifest(path)


def test_duplicate_key_is_an_error(tmp_path):
    path = make_study(tmp_path, "sources:\n  a: {file: a.csv}\nsources:\n  b: {file: a.csv}\n")
    with pytest.raises(ManifestError, match="sources"):
        load_manifest(path)


def test_disclosure_keys_are_the_settings_of_the_rules():
    """The manifest checks the block's shape; its keys must be the rules' own settings."""
    from dataclasses import fields

    from evaluation.disclosure import DisclosureRules
    from evaluation.intake.manifest import DISCLOSURE_KEYS
    assert set(DISCLOSURE_KEYS) == {f.name for f in fields(DisclosureRules)}


@pytest.mark.parametrize("block, expected", [("{min_cell: five}", ["min_cell", "'five'"]),
                                             ("{zeros_are_disclosive: 1}", ["zeros_are_disclosive"]),
                                             ("{min_cel: 10}", ["min_cel", "min_cell"])])
def test_disclosure_block_of_wrong_shape_fails_when_the_manifest_loads(tmp_path, block, expected):
    path = make_study(tmp_path, MINIMAL + f"disclosure: {block}\n")
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert all(e in str(err.value) for e in expected), str(err.value)
