"""Intake validation: every bad row is quarantined with file, row, column, value and rule; every
unusable file is a clear exit-2 error; nothing else is rejected and raw files never change."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation import Study
from evaluation.cli import main
from evaluation.errors import InputFileError, PrivacyError

KEY = "k" * 32
ORS_HEADER = "person_id,episode,session,date,ors_1,ors_2,ors_3,ors_4"


def _study(folder: Path, text: str | bytes, *, instrument="ors", file="fit.csv", unique=None,
           dates=None, extra=None, pseudonymise=("person_id",)) -> Path:
    """A one-source study around a data file written from ``text``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / file
    data.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    source = {"file": file, **({"instrument": instrument} if instrument else {})}
    if unique:
        source["unique"] = unique
    if dates:
        source["dates"] = dates
    source.update(extra or {})
    (folder / "key.txt").write_text(KEY)
    (folder / "study.yaml").write_text(yaml.safe_dump({
        "name": "t", "pseudonymise": list(pseudonymise), "pseudonym_key_file": "key.txt",
        "sources": {"src": source}}), encoding="utf-8")
    return folder


def _validate(study: Path, out: Path, capsys):
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in study.iterdir()}
    code = main(["validate", str(study), "--out", str(out)])
    captured = capsys.readouterr()
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in study.iterdir()}
    assert after == digest, "validation changed a file in the study folder"
    assert "Traceback" not in captured.err
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str) if (out / "quarantine.csv").exists() else None
    return code, captured, quarantine


# -- unusable files: exit 2, one paragraph naming the file -------------------------------------
@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (ORS_HEADER.encode() + b"\n", "no data rows"),
    (bytes(range(256)) * 20, "binary"),
    (b"person_id;episode;session;date;ors_1;ors_2;ors_3;ors_4\nP1;1;1;2024-01-01;5;5;5;5\n"
     .replace(b";", b"|"), "required column"),
    (b"person_id,episode,session,date,ors_1,ors_2,ors_3\nP1,1,1,2024-01-01,5,5,5\n", "ors_4"),
], ids=["empty", "header-only", "binary-garbage", "wrong-delimiter", "missing-column"])
def test_unusable_file_is_exit_2_naming_the_file(tmp_path, capsys, content, words):
    study = _study(tmp_path / "s", content)
    code, captured, _ = _validate(study, tmp_path / "out", capsys)
    assert code == 2
    assert "fit.csv" in captured.err and words in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_wrong_delimiter_says_so(tmp_path, capsys):
    text = ORS_HEADER.replace(",", ";") + "\nP1;1;1;2024-01-01;5;5;5;5\n"
    study = _study(tmp_path / "s", text, extra={"read": {"sep": ","}})
    code, captured, _ = _validate(study, tmp_path / "out", capsys)
    assert code == 2 and "delimiter" in captured.err


# -- bad rows: exit 1, quarantine names row, column, value, rule -------------------------------
def _one_bad(q, row, column, value_part, rule_part):
    hit = q[(q["row"] == str(row)) & (q["column"] == column)]
    assert len(hit) == 1, q.to_string()
    assert value_part in hit["value"].iloc[0] and rule_part in hit["rule"].iloc[0]


def test_text_in_numeric_column(tmp_path, capsys):
    study = _study(tmp_path / "s", ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5\nP2,1,1,2024-01-02,5,abc,5,5\n")
    code, out, q = _validate(study, tmp_path / "out", capsys)
    assert code == 1
    _one_bad(q, 2, "ors_2", "abc", "not a number")
    assert "1 quarantined" in out.out


@pytest.mark.parametrize("bad", ["11", "-1", "10.55"])
def test_out_of_range_and_precision_items(tmp_path, capsys, bad):
    study = _study(tmp_path / "s", ORS_HEADER + f"\nP1,1,1,2024-01-01,5,5,5,5\nP2,1,1,2024-01-02,{bad},5,5,5\n")
    code, _, q = _validate(study, tmp_path / "out", capsys)
    assert code == 1
    rule = "decimal" if bad == "10.55" else "out of range: expected 0 to 10"
    _one_bad(q, 2, "ors_1", bad.rstrip("0") if "." in bad else bad, rule if bad != "10.55" else "out of range")


def test_duplicate_person_session(tmp_path, capsys):
    text = ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5\nP1,1,2,2024-01-08,6,6,6,6\nP1,1,2,2024-01-08,6,6,6,6\n"
    study = _study(tmp_path / "s", text, unique=["person_id", "episode", "session"])
    code, _, q = _validate(study, tmp_path / "out", capsys)
    assert code == 1
    assert len(q) == 1 and q["row"].iloc[0] == "3" and "duplicate submission of row 2" in q["rule"].iloc[0]
    assert "P1" not in q["value"].iloc[0]         # the key is shown pseudonymised


def test_unknown_category(tmp_path, capsys):
    cols = ("staff_id,role,years_experience,trained_in_ip,ip_usefulness,leadership_drive,"
            "ip_eases_work,ip_presentation")
    text = cols + "\nS1,nurse,3,1,4,4,4,mentioned\nS2,doctor,3,1,4,4,4,mentioned\n"
    study = _study(tmp_path / "s", text, instrument="ip_questionnaire_staff", file="staff.csv",
                   pseudonymise=["staff_id"])
    code, _, q = _validate(study, tmp_path / "out", capsys)
    assert code == 1
    _one_bad(q, 2, "role", "doctor", "not one of nurse")


def test_dates_as_excel_serial_numbers(tmp_path, capsys):
    text = ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5\nP2,1,1,45123,5,5,5,5\nP3,1,1,yesterday,5,5,5,5\n"
    study = _study(tmp_path / "s", text, dates=["date"])
    code, _, q = _validate(study, tmp_path / "out", capsys)
    assert code == 1
    _one_bad(q, 2, "date", "45123", "Excel serial number")
    assert "2023-07-16" in q.loc[q["row"] == "2", "rule"].iloc[0]
    _one_bad(q, 3, "date", "yesterday", "not a date")


def test_valid_study_exits_0_and_writes_empty_quarantine(tmp_path, capsys):
    study = _study(tmp_path / "s", ORS_HEADER + "\nP1,1,1,2024-01-01,5,5,5,5\n", dates=["date"])
    code, out, q = _validate(study, tmp_path / "out", capsys)
    assert code == 0 and q is not None and q.empty
    assert "1 rows read, 1 valid, 0 quarantined" in out.out


# -- accounting: rows read = rows valid + rows quarantined, for any mix -------------------------
cell = st.one_of(st.sampled_from(["0", "3.5", "10", "7.2", ""]),          # valid (blank allowed)
                 st.sampled_from(["11", "-1", "x", "10.25"]))               # invalid


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(cell, cell, cell, cell), min_size=1, max_size=25))
def test_rows_read_equal_valid_plus_quarantined(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("prop")
    lines = [ORS_HEADER] + [f"P{i},1,1,2024-01-01,{','.join(r)}" for i, r in enumerate(rows)]
    study = Study.load(_study(folder, "\n".join(lines) + "\n"))
    report = study.load_report().iloc[0]
    assert report["rows_read"] == len(rows)
    assert report["rows_read"] == report["rows_used"] + report["rows_quarantined"]
    bad = {i + 1 for i, r in enumerate(rows) if any(v in {"11", "-1", "x", "10.25"} for v in r)}
    assert set(study.quarantine()["row"]) == bad
    scored = study.table("src")
    complete = [i + 1 for i, r in enumerate(rows) if (i + 1) not in bad and "" not in r]
    assert scored.loc[complete, "ors_total"].notna().all()


# -- the synthetic study: every planted problem caught, nothing else ----------------------------
def test_planted_problems_are_exactly_the_quarantine(small_loaded, small_truth):
    planted = {(p["source"], int(p["row"])) for p in small_truth["planted_problems"]}
    found = {(r.source, int(r.row)) for r in small_loaded.quarantine().itertuples()}
    assert found == planted
    by_cell = {(p["source"], int(p["row"]), p["column"]) for p in small_truth["planted_problems"]
               if p["problem"] == "out_of_range"}
    q = small_loaded.quarantine()
    assert by_cell <= {(r.source, int(r.row), r.column) for r in q.itertuples()}


def test_validate_cli_on_synthetic_study(small_study, small_truth, tmp_path, capsys):
    code = main(["validate", str(small_study), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    report = pd.read_csv(tmp_path / "validation.csv")
    assert (report["rows_read"] == report["rows_used"] + report["rows_quarantined"]).all()
    assert report["rows_quarantined"].sum() == len({(p["source"], p["row"])
                                                    for p in small_truth["planted_problems"]})
    assert "duplicate submission" in out and "out of range" in out


def test_score_cli(small_study, tmp_path, capsys):
    # 1: the residents' source has quarantined rows (planted), which are not scored.
    assert main(["score", str(small_study), "--instrument", "life_chaos",
                 "--out", str(tmp_path / "chaos.csv")]) == 1
    assert "quarantined" in capsys.readouterr().out
    scored = pd.read_csv(tmp_path / "chaos.csv")
    assert {"person_id", "daily_chaos", "daily_chaos_n_items", "daily_chaos_prorated"} <= set(scored.columns)
    assert scored["daily_chaos"].notna().any()
    assert scored["daily_chaos"].dropna().between(1, 5).all()
    assert not scored["person_id"].astype(str).str.startswith("KR-").any()
    assert main(["score", str(small_study), "--instrument", "nosuch"]) == 2


# -- privacy on intake ---------------------------------------------------------------------------
VALID_FNR = "31129956715"     # the worked check-digit example in shared/domain/landscape.md


def test_national_id_in_free_text_stops_the_load(tmp_path, capsys):
    text = (ORS_HEADER + ",comment\nP1,1,1,2024-01-01,5,5,5,5,fin dag\n"
            f"P2,1,1,2024-01-02,5,5,5,5,ring meg på {VALID_FNR[:6]} {VALID_FNR[6:]}\n")
    study = _study(tmp_path / "s", text)
    code, captured, _ = _validate(study, tmp_path / "out", capsys)
    assert code == 2
    assert "comment" in captured.err and "row 2" in captured.err and "pseudonymise" in captured.err
    assert VALID_FNR not in captured.err and VALID_FNR[6:] not in captured.err   # masked
    assert not (tmp_path / "out" / "quarantine.csv").exists()   # nothing written that could leak


def test_national_id_column_is_fine_when_pseudonymised(tmp_path):
    text = "person_id,episode,session,date,ors_1,ors_2,ors_3,ors_4\n" + f"{VALID_FNR},1,1,2024-01-01,5,5,5,5\n"
    study = Study.load(_study(tmp_path / "s", text))
    table = study.table("src")
    assert table["person_id"].iloc[0].startswith("ps_")
    other = tmp_path / "t"
    _study(other, text.replace("person_id", "patient_nr", 1) + "")
    with pytest.raises(PrivacyError) as err:
        Study.load(other).table("src")
    assert "patient_nr" in str(err.value) and VALID_FNR not in str(err.value)


def test_nettskjema_checkbox_columns_are_0_or_1(tmp_path, capsys):
    cols = ("staff_id,role,years_experience,trained_in_ip,ip_usefulness,leadership_drive,"
            "ip_eases_work,ip_presentation,ip_supports_housing,ip_supports_work")
    text = cols + "\nS1,nurse,3,1,4,4,4,mentioned,1,0\nS2,leader,3,1,4,4,4,mentioned,2,0\n"
    study = _study(tmp_path / "s", text, instrument="ip_questionnaire_staff", file="staff.csv",
                   pseudonymise=["staff_id"])
    code, _, q = _validate(study, tmp_path / "out", capsys)
    assert code == 1
    _one_bad(q, 2, "ip_supports_housing", "2", "not 0 or 1")


def test_spss_source_with_value_labels(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"staff_id": ["S1", "S2"], "role": [1.0, 5.0], "years_experience": [3.0, 10.0],
                       "trained_in_ip": [1.0, 0.0], "ip_usefulness": [4.0, 5.0],
                       "leadership_drive": [3.0, 2.0], "ip_eases_work": [4.0, 4.0],
                       "ip_presentation": [2.0, 3.0]})
    folder = tmp_path / "s"
    folder.mkdir()
    pyreadstat.write_sav(df, str(folder / "staff.sav"), variable_value_labels={
        "role": {1.0: "nurse", 5.0: "leader"},
        "ip_presentation": {1.0: "not_presented", 2.0: "mentioned", 3.0: "actively_sold_in"},
        "ip_usefulness": {4.0: "agree", 5.0: "fully agree"}})
    (folder / "study.yaml").write_text(yaml.safe_dump({"name": "sav", "sources": {
        "staff": {"file": "staff.sav", "instrument": "ip_questionnaire_staff"}}}))
    table = Study.load(folder).table("staff")
    assert list(table["role"]) == ["nurse", "leader"]                 # category item: labels
    assert list(table["ip_presentation"]) == ["mentioned", "actively_sold_in"]
    assert list(table["ip_usefulness"]) == [4.0, 5.0]                 # scale item: codes kept
    assert table["ip_questionnaire_staff_climate"].round(4).tolist() == [round(11 / 3, 4), round(11 / 3, 4)]
