"""Keyed pseudonymisation: stable, keyed, joinable, and never loads raw identifiers."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluation import Study
from evaluation.errors import PrivacyError
from evaluation.intake.pseudonyms import KEY_ENV, Pseudonymiser, load_pseudonym_key

KEY = b"0123456789abcdef-test-key"
OTHER_KEY = b"fedcba9876543210-other-key"
PSEUDONYM = re.compile(r"^ps_[0-9a-f]{16}$")
RAW_ID = re.compile(r"KR-\d{6}|S-[A-ZÆØÅ0-9]{3}-\d{3}")


def test_same_id_same_pseudonym_across_calls_and_instances():
    a, b = Pseudonymiser(KEY), Pseudonymiser(KEY)
    assert a.pseudonym("KR-000001") == a.pseudonym("KR-000001") == b.pseudonym("KR-000001")
    assert PSEUDONYM.match(a.pseudonym("KR-000001"))
    first = a(pd.Series(["KR-000001", "KR-000002", "KR-000001"]))
    second = b(pd.Series(["KR-000002", "KR-000001"], index=[10, 11]))
    assert first[0] == first[2] == second[11]
    assert first[1] == second[10]
    assert first[0] != first[1]


def test_different_keys_give_different_pseudonyms():
    ids = [f"KR-{i:06d}" for i in range(1, 51)]
    a = Pseudonymiser(KEY)(pd.Series(ids))
    b = Pseudonymiser(OTHER_KEY)(pd.Series(ids))
    assert not set(a) & set(b)
    assert a.is_unique and b.is_unique


def test_pseudonym_is_not_a_plain_hash_of_the_id():
    import hashlib
    p = Pseudonymiser(KEY).pseudonym("KR-000001")
    assert hashlib.sha256(b"KR-000001").hexdigest()[:16] not in p


def test_missing_stays_missing():
    values = pd.Series(["KR-000001", None, np.nan, pd.NA, "KR-000002"], dtype="object")
    out = Pseudonymiser(KEY)(values)
    assert out.isna().tolist() == [False, True, True, True, False]
    assert out.index.equals(values.index)
    assert all(PSEUDONYM.match(v) for v in out.dropna())


def test_float_and_text_forms_of_a_number_hash_the_same():
    p = Pseudonymiser(KEY)
    out = p(pd.Series([1.0, "1", 1, " 1 ", np.int64(1)], dtype="object"))
    assert out.nunique() == 1
    assert out[0] == p.pseudonym("1")
    assert p(pd.Series([1.0, np.nan]))[0] == p.pseudonym("1")     # a float column with blanks
    assert p.pseudonym("1") != p(pd.Series([1.5]))[0]


def test_short_key_is_refused_by_the_pseudonymiser():
    with pytest.raises(PrivacyError):
        Pseudonymiser(b"short")


# -- the key ------------------------------------------------------------------------------------
def test_no_key_anywhere(monkeypatch, tmp_path):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(PrivacyError, match=KEY_ENV):
        load_pseudonym_key(None)
    with pytest.raises(PrivacyError, match="does not exist") as err:
        load_pseudonym_key(tmp_path / "pseudonym.key")
    assert str(tmp_path / "pseudonym.key") in str(err.value)


def test_short_key_from_environment_or_file(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, "tooshort")
    with pytest.raises(PrivacyError, match="8 bytes"):
        load_pseudonym_key(None)
    monkeypatch.delenv(KEY_ENV)
    (tmp_path / "k").write_text("short\n", encoding="utf-8")
    with pytest.raises(PrivacyError, match="5 bytes"):
        load_pseudonym_key(tmp_path / "k")
    (tmp_path / "k").write_text("   \n", encoding="utf-8")
    with pytest.raises(PrivacyError):
        load_pseudonym_key(tmp_path / "k")


def test_environment_variable_takes_precedence_over_key_file(monkeypatch, tmp_path):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("from-the-key-file-0123456789\n", encoding="utf-8")
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert load_pseudonym_key(key_file) == b"from-the-key-file-0123456789"   # stripped
    monkeypatch.setenv(KEY_ENV, "from-the-environment-0123456789")
    assert load_pseudonym_key(key_file) == b"from-the-environment-0123456789"


def test_study_without_a_key_refuses_to_load(study_copy, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    manifest = yaml.safe_load((study_copy / "study.yaml").read_text(encoding="utf-8"))
    del manifest["pseudonym_key_file"]
    (study_copy / "study.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True),
                                           encoding="utf-8")
    study = Study.load(study_copy)
    with pytest.raises(PrivacyError):
        study.table("persons")
    # A source without identifiers to pseudonymise still loads.
    assert len(study.table("codebook")) > 0


def test_study_uses_the_environment_key_over_its_key_file(study_copy, small_loaded, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "a-key-from-the-environment-0123456789")
    env_ids = set(Study.load(study_copy).table("persons")["person_id"])
    file_ids = set(small_loaded.table("persons")["person_id"])
    assert len(env_ids) == len(file_ids) == 300
    assert not env_ids & file_ids
    expected = Pseudonymiser(b"a-key-from-the-environment-0123456789")
    assert expected.pseudonym("KR-000001") in env_ids


# -- the loaded study ---------------------------------------------------------------------------
def test_pseudonymised_columns_hold_no_raw_ids(small_loaded):
    pseudonymise = small_loaded.manifest.pseudonymise
    checked = 0
    for source in small_loaded.source_names:
        df = small_loaded.table(source)
        for col in pseudonymise:
            if col not in df.columns:
                continue
            values = df[col].dropna().astype(str)
            assert len(values) > 0
            assert values.map(lambda v: bool(PSEUDONYM.match(v))).all(), (source, col)
            checked += 1
    assert checked >= 8       # person_id in 7 sources, staff_id, participant_id


def test_no_raw_id_anywhere_in_any_loaded_table(small_loaded):
    for source in small_loaded.source_names:
        df = small_loaded.table(source)
        for col in df.columns:
            if df[col].dtype.kind in "ifb":
                continue
            text = df[col].dropna().astype(str)
            assert not text.str.contains(RAW_ID).any(), (source, col)


def test_pseudonymised_ids_still_join(small_loaded):
    persons = set(small_loaded.table("persons")["person_id"])
    assert len(persons) == 300
    for source in ["residents", "fit", "fit_episodes", "inspire", "inspire_brief", "brukerplan"]:
        ids = set(small_loaded.table(source)["person_id"].dropna())
        assert ids and ids <= persons, source
    segments = small_loaded.table("interviews")
    residents = set(segments.loc[segments["role"] == "resident", "participant_id"])
    staff = set(segments.loc[segments["role"] == "staff", "participant_id"])
    assert residents and residents <= set(small_loaded.table("residents")["person_id"])
    assert staff and staff <= set(small_loaded.table("staff")["staff_id"])


def test_pseudonyms_match_the_key_file(small_loaded, small_study):
    key = (small_study / "pseudonym.key").read_text(encoding="utf-8").strip().encode()
    ids = set(small_loaded.table("persons")["person_id"])
    assert {Pseudonymiser(key).pseudonym(f"KR-{i:06d}") for i in range(1, 301)} == ids


# -- bugs ---------------------------------------------------------------------------------------
def test_quarantine_holds_no_raw_ids(small_loaded):
    quarantine = small_loaded.quarantine()
    assert len(quarantine) > 0
    for col in quarantine.columns:
        text = quarantine[col].dropna().astype(str)
        assert not text.str.contains(RAW_ID).any(), col


def test_ids_with_leading_zeros_keep_them(tmp_path):
    (tmp_path / "pseudonym.key").write_text("k" * 32, encoding="utf-8")
    (tmp_path / "persons.csv").write_text("person_id;institution\n01017012345;Vårli\n"
                                          "1017012345;Vårli\n", encoding="utf-8")
    pd.DataFrame({"person_id": ["01017012345"], "score": [3]}).to_parquet(
        tmp_path / "answers.parquet", index=False)
    (tmp_path / "study.yaml").write_text(
        "pseudonymise: [person_id]\npseudonym_key_file: pseudonym.key\nsources:\n"
        "  persons: persons.csv\n  answers: answers.parquet\n", encoding="utf-8")
    study = Study.load(tmp_path)
    persons = study.table("persons")["person_id"]
    assert persons.nunique() == 2                 # two different people stay two
    assert set(study.table("answers")["person_id"]) <= set(persons)


def test_pseudonymiser_accepts_a_repeated_index():
    values = pd.concat([pd.Series(["KR-000001", None]), pd.Series(["KR-000002"])])
    out = Pseudonymiser(KEY)(values)
    assert out.isna().tolist() == [False, True, False]
