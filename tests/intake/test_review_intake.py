"""Review of the data intake (issue 3) with the messy exports real studies deliver.

Tests marked ``xfail(strict=True)`` pin bugs found in review: each fails today and should pass
once the bug is fixed (then remove the mark). The other tests pin behaviour verified in review
that the rest of the suite did not cover yet.
"""
from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evaluation import Study
from evaluation.cli import main
from evaluation.errors import InputFileError, IpevalError, PrivacyError
from evaluation.intake.national_id import check_digits
from evaluation.intake.pseudonyms import Pseudonymiser
from evaluation.intake.readers import read_table

KEY = "r" * 32
ORS_HEADER = "person_id,episode,session,date,ors_1,ors_2,ors_3,ors_4"
STAFF_HEADER = ("staff_id,role,years_experience,trained_in_ip,ip_usefulness,leadership_drive,"
                "ip_eases_work,ip_presentation")


def _pseudonym(value: str) -> str:
    return Pseudonymiser(KEY.encode()).pseudonym(value)


def _study(folder: Path, content, *, file="fit.csv", instrument="ors", pseudonymise=("person_id",),
           **source_extra) -> Path:
    """A one-source study (source ``src``). ``content`` is text, bytes, or a function that writes
    the data file given its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    if callable(content):
        content(path)
    else:
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    source = {"file": file, **({"instrument": instrument} if instrument else {}), **source_extra}
    (folder / "key.txt").write_text(KEY)
    (folder / "study.yaml").write_text(yaml.safe_dump({
        "name": "review", "pseudonymise": list(pseudonymise), "pseudonym_key_file": "key.txt",
        "sources": {"src": source}}), encoding="utf-8")
    return folder


def _accounting(study: Study) -> pd.Series:
    report = study.load_report().iloc[0]
    assert report["rows_read"] == report["rows_used"] + report["rows_quarantined"]
    return report


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# =============================================================================================
# Bugs (xfail strict): each fails now
# =============================================================================================

# -- readers -------------------------------------------------------------------------------------
def test_trailing_delimiter_on_data_rows_does_not_shift_columns(tmp_path):
    path = tmp_path / "eksport.csv"
    path.write_text("a,b\n1,2,\n3,4,\n", encoding="utf-8")
    df = read_table(path)
    assert list(df["a"]) == [1, 3]
    assert list(df["b"]) == [2, 4]


def test_trailing_delimiter_keeps_ids_and_items_in_a_study(tmp_path):
    text = ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5,\nP2,1,1,2024-01-01,6,6,6,6,\n"
    table = Study.load(_study(tmp_path / "s", text)).table("src")
    assert list(table["person_id"]) == [_pseudonym("P1"), _pseudonym("P2")]
    assert list(table["ors_total"]) == [20.0, 24.0]


def test_short_row_is_not_silently_used(tmp_path):
    # Unquoted line break in the comment of row 1: 'dag' becomes a row of its own.
    text = ORS_HEADER + ",comment\nP1,1,1,2024-01-01,5,5,5,5,fin\ndag\nP2,1,1,2024-01-01,5,5,5,5,ok\n"
    study = Study.load(_study(tmp_path / "s", text))
    try:
        _accounting(study)
        quarantined = set(study.quarantine()["row"])
    except InputFileError:
        return                                   # refusing the file is also acceptable
    assert 2 in quarantined


def test_duplicate_column_names_are_an_error(tmp_path):
    text = ORS_HEADER + ",ors_1\nP1,1,1,2024-01-01,5,5,5,5,9\n"
    with pytest.raises(InputFileError, match="ors_1"):
        Study.load(_study(tmp_path / "s", text)).table("src")


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_bom_only_file_is_empty(tmp_path, content):
    path = tmp_path / "tom_nettskjema.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match="empty"):
        read_table(path)


def test_undecodable_byte_after_the_sample_is_an_input_error(tmp_path):
    path = tmp_path / "stor.csv"
    path.write_bytes(b"a,b\n" + b"x,1\n" * 70_000 + b"\x81,2\n")
    assert path.stat().st_size > 256 * 1024
    with pytest.raises(InputFileError):
        read_table(path)


def test_parquet_float_ids_read_as_whole_numbers(tmp_path):
    path = tmp_path / "ids.parquet"
    pd.DataFrame({"person_id": [1017.0, None], "x": [1, 2]}).to_parquet(path)
    df = read_table(path, text_columns=["person_id"])
    assert df["person_id"].iloc[0] == "1017"
    assert pd.isna(df["person_id"].iloc[1])


# -- study loading -------------------------------------------------------------------------------
def test_mapping_onto_an_existing_column_is_exit_2(tmp_path, capsys):
    text = ("resp_id,person_id,episode,session,date,ors_1,ors_2,ors_3,ors_4\n"
            "R1,P1,1,1,2024-01-01,5,5,5,5\n")
    study = _study(tmp_path / "s", text, columns={"resp_id": "person_id"})
    code = main(["validate", str(study), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "person_id" in err and "resp_id" in err


def test_two_raw_columns_mapped_to_one_name_is_an_input_error(tmp_path):
    text = "a,b,episode,session,date,ors_1,ors_2,ors_3,ors_4\nR1,P1,1,1,2024-01-01,5,5,5,5\n"
    study = _study(tmp_path / "s", text, columns={"a": "person_id", "b": "person_id"})
    with pytest.raises(InputFileError, match="person_id"):
        Study.load(study).table("src")


def test_missing_key_in_unique_source_is_quarantined(tmp_path):
    text = ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5\n,1,1,2024-01-01,5,5,5,5\n,1,1,2024-01-01,6,6,6,6\n"
    study = Study.load(_study(tmp_path / "s", text, unique=["person_id", "episode", "session"]))
    report = _accounting(study)
    assert report["rows_used"] == 1
    q = study.quarantine()
    assert set(q["row"]) == {2, 3}
    assert q["rule"].str.contains("missing").all()


def test_empty_delimiter_only_rows_are_not_used(tmp_path):
    text = ORS_HEADER.replace(",", ";") + "\nP1;1;1;2024-01-01;5;5;5;5\n;;;;;;;\n;;;;;;;\n"
    study = Study.load(_study(tmp_path / "s", text))
    report = _accounting(study)
    assert report["rows_used"] == 1


def test_timestamps_with_mixed_utc_offsets(tmp_path):
    text = (ORS_HEADER + "\nP1,1,1,2024-01-10T10:00:00+01:00,5,5,5,5\n"
            "P2,1,1,2024-06-10T10:00:00+02:00,5,5,5,5\n")
    study = Study.load(_study(tmp_path / "s", text, dates=["date"]))
    assert len(study.table("src")) == 2
    _accounting(study)


def test_offset_timestamp_and_norwegian_date_in_one_column(tmp_path):
    text = (ORS_HEADER + "\nP1,1,1,2024-01-10T10:00:00+01:00,5,5,5,5\n"
            "P2,1,1,01.06.2024,5,5,5,5\n")
    study = Study.load(_study(tmp_path / "s", text, dates=["date"]))
    assert len(study.table("src")) == 2


def test_declared_date_column_missing_is_an_error(tmp_path):
    text = ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5\n"
    study = Study.load(_study(tmp_path / "s", text, dates=["visit_date"]))
    with pytest.raises(InputFileError, match="visit_date"):
        study.table("src")


@pytest.mark.parametrize("partial", ["2024", "2024-03"])
def test_partial_dates_are_quarantined(tmp_path, partial):
    text = ORS_HEADER + f"\nP1,1,1,2024-01-01,5,5,5,5\nP2,1,1,{partial},5,5,5,5\n"
    study = Study.load(_study(tmp_path / "s", text, dates=["date"]))
    q = study.quarantine()
    assert list(q["row"]) == [2] and list(q["column"]) == ["date"]


def test_pseudonymise_entry_matching_no_column_is_refused(tmp_path):
    text = ORS_HEADER.replace("person_id", "personid") + "\nKR-0001,1,1,2024-01-01,5,5,5,5\n"
    study = Study.load(_study(tmp_path / "s", text))   # pseudonymise: [person_id]
    with pytest.raises(IpevalError, match="person_id"):
        study.table("src")


def test_category_with_surrounding_spaces_is_accepted_like_numbers(tmp_path):
    text = STAFF_HEADER + "\nS1, nurse ,3,1, 4 ,4,4,mentioned \n"
    study = Study.load(_study(tmp_path / "s", text, file="staff.csv",
                              instrument="ip_questionnaire_staff", pseudonymise=["staff_id"]))
    table = study.table("src")
    assert list(table["role"]) == ["nurse"]
    assert list(table["ip_presentation"]) == ["mentioned"]


def test_quarantine_value_is_the_cell_as_written(tmp_path):
    text = ORS_HEADER.replace(",", ";") + "\nP1;1;1;2024-01-01;10,55;5;5;11\n"
    q = Study.load(_study(tmp_path / "s", text)).quarantine().set_index("column")
    assert q.loc["ors_4", "value"] == "11"
    assert q.loc["ors_1", "value"] == "10,55"


def test_boolean_words_are_handled_the_same_with_or_without_blanks(tmp_path):
    complete = STAFF_HEADER + "\nS1,nurse,3,TRUE,4,4,4,mentioned\nS2,nurse,3,FALSE,4,4,4,mentioned\n"
    with_blank = STAFF_HEADER + "\nS1,nurse,3,TRUE,4,4,4,mentioned\nS2,nurse,3,,4,4,4,mentioned\n"
    used = []
    for name, text in (("a", complete), ("b", with_blank)):
        study = Study.load(_study(tmp_path / name, text, file="staff.csv",
                                  instrument="ip_questionnaire_staff", pseudonymise=["staff_id"]))
        used.append(1 in study.table("src").index)
    assert used[0] == used[1]


# -- CLI -----------------------------------------------------------------------------------------
def test_score_says_how_many_rows_were_quarantined(small_study, small_truth, capsys):
    assert any(p["source"] == "residents" for p in small_truth["planted_problems"])
    main(["score", str(small_study), "--instrument", "life_chaos"])
    assert "quarantin" in capsys.readouterr().out


# =============================================================================================
# Behaviour verified in review (passing)
# =============================================================================================

def test_quoted_fields_with_newlines_are_one_row(tmp_path):
    text = ORS_HEADER + ',comment\nP1,1,1,2024-01-01,5,5,5,5,"fin\ndag; ok, sa han"\nP2,1,1,2024-01-02,5,5,5,11,ok\n'
    study = Study.load(_study(tmp_path / "s", text))
    report = _accounting(study)
    assert report["rows_read"] == 2
    table = study.table("src")
    assert table.loc[1, "comment"] == "fin\ndag; ok, sa han"
    q = study.quarantine()
    assert list(q["row"]) == [2] and list(q["column"]) == ["ors_4"]


def test_semicolon_cp1252_decimal_comma_with_spaces_scores_right(tmp_path):
    text = (ORS_HEADER.replace(",", ";") + ";kommune\n"
            "P1;1;1;01.02.2024;5,0;5,5; 5 ;5;Bærum\n"
            "P2;1;1;02.02.2024;9,9;0,1;3;4,5;Ås\n")
    folder = _study(tmp_path / "s", text.encode("cp1252"), dates=["date"])
    study = Study.load(folder)
    table = study.table("src")
    assert list(table["ors_total"]) == [20.5, 17.5]
    assert list(table["kommune"]) == ["Bærum", "Ås"]
    assert list(table["date"]) == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-02")]
    assert study.quarantine().empty


def test_explicit_read_options_in_the_manifest(tmp_path):
    # A file whose sample would be misread: no decimals in the first lines at all.
    text = ORS_HEADER.replace(",", ";") + "\nP1;1;1;2024-01-01;5;5;5;5\nP2;1;1;2024-01-01;5,5;5;5;5\n"
    folder = _study(tmp_path / "s", text.encode("cp1252"),
                    read={"sep": ";", "decimal": ",", "encoding": "cp1252"})
    assert list(Study.load(folder).table("src")["ors_total"]) == [20.0, 20.5]


def test_blank_lines_are_not_rows_and_counts_still_add_up(tmp_path):
    text = ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5\n\n\nP2,1,1,2024-01-01,55,5,5,5\n\n"
    study = Study.load(_study(tmp_path / "s", text))
    report = _accounting(study)
    assert report["rows_read"] == 2
    # Row numbers count data rows, not lines: the bad row is data row 2 (line 5 of the file).
    assert list(study.quarantine()["row"]) == [2]


def test_trailing_delimiter_on_every_line_keeps_the_values(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("a;b;\n1;2;\n3;4;\n", encoding="utf-8")
    df = read_table(path)
    assert list(df["a"]) == [1, 3] and list(df["b"]) == [2, 4]


@pytest.mark.parametrize("word", ["ja", "nei", "yes"])
def test_yes_no_words_in_a_binary_item_are_quarantined_clearly(tmp_path, capsys, word):
    text = STAFF_HEADER + f"\nS1,nurse,3,1,4,4,4,mentioned\nS2,nurse,3,{word},4,4,4,mentioned\n"
    folder = _study(tmp_path / "s", text, file="staff.csv", instrument="ip_questionnaire_staff",
                    pseudonymise=["staff_id"])
    before = _sha(folder / "staff.csv")
    code = main(["validate", str(folder), "--out", str(tmp_path / "out")])
    assert code == 1
    assert _sha(folder / "staff.csv") == before
    q = pd.read_csv(tmp_path / "out" / "quarantine.csv", dtype=str)
    assert len(q) == 1
    row = q.iloc[0]
    assert (row["file"], row["row"], row["column"], row["value"]) == ("staff.csv", "2",
                                                                     "trained_in_ip", word)
    assert "binary" in row["rule"]
    assert "S1" not in q.to_csv() and "S2" not in q.to_csv()


def _excel_with_date_cells(path: Path) -> None:
    pd.DataFrame({
        "person_id": ["P1", "P2", "P3"], "episode": [1, 1, 1], "session": [1, 2, 3],
        "date": [datetime.datetime(2024, 1, 1), "2024-02-01", 45123],
        # Excel turned '5.4' typed in a Norwegian locale into 5 April.
        "ors_1": [5.0, datetime.datetime(2024, 4, 5), 6.0],
        "ors_2": [5, 5, 5], "ors_3": [5, 5, 5], "ors_4": [5, 5, 5]}).to_excel(path, index=False)


def test_excel_date_cells_and_serials(tmp_path):
    folder = _study(tmp_path / "s", _excel_with_date_cells, file="fit.xlsx", dates=["date"])
    before = _sha(folder / "fit.xlsx")
    study = Study.load(folder)
    report = _accounting(study)
    assert report["rows_read"] == 3 and report["rows_used"] == 1
    q = study.quarantine().set_index("row")
    assert q.loc[2, "column"] == "ors_1" and "not a number" in q.loc[2, "rule"]
    assert q.loc[3, "column"] == "date" and "Excel serial" in q.loc[3, "rule"]
    assert study.table("src").loc[1, "date"] == pd.Timestamp("2024-01-01")
    assert _sha(folder / "fit.xlsx") == before


def test_national_id_as_excel_number_with_lost_leading_zero_is_refused(tmp_path):
    first9 = "010170101"
    k1, k2 = check_digits(first9)
    fnr = f"{first9}{k1}{k2}"
    assert fnr.startswith("0")

    def write(path):
        pd.DataFrame({"person_id": ["P1"], "episode": [1], "session": [1], "date": ["2024-01-01"],
                      "ors_1": [5], "ors_2": [5], "ors_3": [5], "ors_4": [5],
                      "journal_nr": [int(fnr)]}).to_excel(path, index=False)

    folder = _study(tmp_path / "s", write, file="fit.xlsx")
    with pytest.raises(PrivacyError) as err:
        Study.load(folder).table("src")
    message = str(err.value)
    assert "journal_nr" in message and "row 1" in message
    assert fnr not in message and fnr.lstrip("0") not in message


def test_spss_numeric_ids_pseudonymise_like_csv_text(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    folder = tmp_path / "s"

    def write(path):
        df = pd.DataFrame({"person_id": [1017.0, 2024.0], "episode": [1.0, 1.0],
                           "session": [1.0, 1.0], "date": ["2024-01-01", "2024-01-02"],
                           "ors_1": [5.0, 6.5], "ors_2": [5.0, 6.0], "ors_3": [5.0, 6.0],
                           "ors_4": [5.0, 6.0]})
        pyreadstat.write_sav(df, str(path))

    _study(folder, write, file="fit.sav", dates=["date"])
    table = Study.load(folder).table("src")
    assert list(table["person_id"]) == [_pseudonym("1017"), _pseudonym("2024")]
    assert list(table["ors_total"]) == [20.0, 24.5]


def test_ids_with_leading_zeros_join_across_csv_and_excel_text(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "a.csv").write_bytes("person_id;alder\n0042;30\n42;40\n".encode("cp1252"))
    pd.DataFrame({"person_id": ["0042"], "poeng": [3]}).to_excel(folder / "b.xlsx", index=False)
    (folder / "key.txt").write_text(KEY)
    (folder / "study.yaml").write_text(yaml.safe_dump({
        "name": "join", "pseudonymise": ["person_id"], "pseudonym_key_file": "key.txt",
        "sources": {"a": {"file": "a.csv"}, "b": {"file": "b.xlsx"}}}))
    study = Study.load(folder)
    a, b = study.table("a"), study.table("b")
    assert a["person_id"].nunique() == 2                 # 0042 and 42 are different people
    assert b["person_id"].iloc[0] == a["person_id"].iloc[0] == _pseudonym("0042")


def test_nettskjema_dollar_columns_and_checkboxes_pass_through(tmp_path):
    text = ("$submission_id,$created,$answer_time_ms," + STAFF_HEADER
            + ",ip_supports_housing,ip_supports_work\n"
            "1001,2024-03-01 10:00:00,53000,S1,nurse,3,1,4,4,4,mentioned,1,0\n"
            "1002,2024-03-01 11:00:00,61000,S2,leader,10,0,5,3,4,not_presented,,\n")
    folder = _study(tmp_path / "s", text, file="nettskjema.csv",
                    instrument="ip_questionnaire_staff", pseudonymise=["staff_id"],
                    columns={"$created": "submitted"}, dates=["submitted"], unique=["staff_id"])
    study = Study.load(folder)
    table = study.table("src")
    assert study.quarantine().empty
    assert list(table["$submission_id"]) == [1001, 1002]
    assert list(table["ip_supports_housing"].fillna(-1)) == [1.0, -1.0]
    assert table["submitted"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00")
    assert table["ip_questionnaire_staff_climate"].round(6).tolist() == [4.0, 4.0]


def test_failed_load_leaves_the_raw_file_unchanged(tmp_path, capsys):
    text = "person_id,episode,session,date,ors_1,ors_2,ors_3\nP1,1,1,2024-01-01,5,5,5\n"
    folder = _study(tmp_path / "s", text.encode("cp1252"))
    before = {p.name: _sha(p) for p in folder.iterdir()}
    assert main(["validate", str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "fit.csv" in err and "ors_4" in err and "Traceback" not in err
    assert {p.name: _sha(p) for p in folder.iterdir()} == before
