"""read_table: the export conventions of Norwegian sources, and clear errors for bad files."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.errors import InputFileError
from evaluation.intake.readers import detect_decimal, detect_delimiter, detect_encoding, read_table

EXPECTED = pd.DataFrame({"navn": ["Åse", "Bjørn", "Kjærsti"], "kommune": ["Ås", "Bærum", "Våler"],
                         "score": [1.5, -2.25, 10.0], "antall": [3, 4, 5]})


def assert_expected(df: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(df, EXPECTED, check_dtype=False)
    assert pd.api.types.is_float_dtype(df["score"])
    assert pd.api.types.is_integer_dtype(df["antall"])


def test_semicolon_decimal_comma_cp1252(tmp_path):
    path = tmp_path / "eksport.csv"
    path.write_bytes("navn;kommune;score;antall\nÅse;Ås;1,5;3\nBjørn;Bærum;-2,25;4\n"
                     "Kjærsti;Våler;10,0;5\n".encode("cp1252"))
    assert b"\xe5" in path.read_bytes()           # really Windows-1252, not UTF-8
    assert_expected(read_table(path))


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "nettskjema.csv"
    path.write_bytes("navn,kommune,score,antall\nÅse,Ås,1.5,3\nBjørn,Bærum,-2.25,4\n"
                     "Kjærsti,Våler,10.0,5\n".encode("utf-8-sig"))
    df = read_table(path)
    assert list(df.columns)[0] == "navn"          # no BOM left on the first column name
    assert_expected(df)


@pytest.mark.parametrize("suffix", [".tsv", ".txt", ".csv"])
def test_tab_separated(tmp_path, suffix):
    path = tmp_path / f"tabeller{suffix}"
    path.write_text("navn\tkommune\tscore\tantall\nÅse\tÅs\t1,5\t3\nBjørn\tBærum\t-2,25\t4\n"
                    "Kjærsti\tVåler\t10,0\t5\n", encoding="utf-8")
    assert_expected(read_table(path))


def test_explicit_options_override_detection(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a;b\n1,5;2\n", encoding="utf-8")
    df = read_table(path, sep=",")                # the caller knows best
    assert list(df.columns) == ["a;b"]


def test_cp1252_after_the_sniffed_sample(tmp_path):
    """A Windows-1252 export whose first non-ASCII letter comes after the sniffed bytes."""
    path = tmp_path / "stor.csv"
    body = "".join(f"P{i:06d};{i % 5},5\n" for i in range(30_000))
    path.write_bytes(("id;verdi\n" + body + "Ørjan;1,0\n").encode("cp1252"))
    assert path.stat().st_size > 256 * 1024
    df = read_table(path)
    assert len(df) == 30_001
    assert df["id"].iloc[-1] == "Ørjan"
    assert df["verdi"].iloc[0] == 0.5


def test_xlsx(tmp_path):
    path = tmp_path / "ansatte.xlsx"
    EXPECTED.to_excel(path, index=False, engine="openpyxl")
    assert_expected(read_table(path))


def test_xlsx_named_sheet(tmp_path):
    path = tmp_path / "to_ark.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Forside", index=False)
        EXPECTED.to_excel(writer, sheet_name="Svar", index=False)
    assert list(read_table(path).columns) == ["x"]     # first sheet by default
    assert_expected(read_table(path, sheet="Svar"))
    with pytest.raises(InputFileError, match="Finnes ikke") as err:
        read_table(path, sheet="Finnes ikke")
    assert str(path) in str(err.value)


def test_parquet(tmp_path):
    path = tmp_path / "tabell.parquet"
    EXPECTED.to_parquet(path, index=False)
    assert_expected(read_table(path))


# -- errors -------------------------------------------------------------------------------------
def _error_for(path: Path, **options) -> InputFileError:
    with pytest.raises(InputFileError) as err:
        read_table(path, **options)
    assert str(path) in str(err.value)            # the message names the file
    assert err.value.path == path
    assert err.value.exit_code == 2
    return err.value


def test_empty_file(tmp_path):
    path = tmp_path / "tom.csv"
    path.write_bytes(b"")
    assert "empty" in str(_error_for(path))


def test_blank_lines_only(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\n  \n\r\n")
    assert "empty" in str(_error_for(path))


def test_binary_garbage_named_csv(tmp_path):
    path = tmp_path / "bilde.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "binary" in str(_error_for(path))


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "notat.docx"
    path.write_bytes(b"PK\x03\x04")
    message = str(_error_for(path))
    assert "'.docx'" in message and ".csv" in message and ".xlsx" in message


def test_missing_file(tmp_path):
    assert "not found" in str(_error_for(tmp_path / "finnes_ikke.csv"))


def test_ragged_rows(tmp_path):
    path = tmp_path / "ujevn.csv"
    path.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    assert "delimiter" in str(_error_for(path))


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_text_named_as_binary_format(tmp_path, suffix):
    path = tmp_path / f"feil{suffix}"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    _error_for(path)


# -- detection helpers ---------------------------------------------------------------------------
def test_detect_encoding():
    assert detect_encoding("Ås".encode("utf-8")) == "utf-8"
    assert detect_encoding("Ås".encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding("Ås;Bærum;ø\n1;2;3\n".encode("cp1252")) == "cp1252"
    # A multi-byte letter cut at the end of a sample is still UTF-8.
    assert detect_encoding("abc;Ø".encode("utf-8")[:-1]) == "utf-8"


def test_detect_delimiter_and_decimal():
    assert detect_delimiter(["a;b;c", "1,5;2;3", "4;5,5;6"]) == ";"
    assert detect_delimiter(["a\tb", "1,5\t2"]) == "\t"
    assert detect_delimiter(["a,b", "1,2"]) == ","
    assert detect_decimal(["a;b", "1,5;2,25"], ";") == ","
    assert detect_decimal(["a;b", "1.5;2.25"], ";") == "."
    assert detect_decimal(["a,b", "1,5"], ",") == "."


# -- read only -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_read_table_never_writes_the_file(tmp_path, fmt):
    path = tmp_path / f"kilde.{fmt}"
    if fmt == "csv":
        path.write_bytes("navn;score\nÅse;1,5\n".encode("cp1252"))
    elif fmt == "xlsx":
        EXPECTED.to_excel(path, index=False, engine="openpyxl")
    else:
        EXPECTED.to_parquet(path, index=False)
    os.utime(path, (1_000_000_000, 1_000_000_000))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    listing = sorted(p.name for p in tmp_path.iterdir())
    read_table(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert path.stat().st_mtime == 1_000_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == listing   # no side files either


# -- property: whatever the convention, the table reads back as written -------------------------
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZæøåÆØÅ"
# Words pandas reads as missing, boolean or infinite instead of as text.
NOT_TEXT = {"na", "nan", "null", "none", "true", "false", "inf", "infinity"}

words = st.text(alphabet=LETTERS, min_size=1, max_size=8).filter(lambda s: s.lower() not in NOT_TEXT)
rows = st.lists(st.tuples(st.integers(-10**6, 10**6),
                          st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
                          .map(lambda x: round(x, 3)),
                          words), min_size=1, max_size=12)


@st.composite
def conventions(draw):
    sep = draw(st.sampled_from([",", ";", "\t"]))
    decimal = "." if sep == "," else draw(st.sampled_from([".", ","]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return sep, decimal, encoding


@settings(max_examples=40, deadline=None)
@given(data=rows, convention=conventions())
def test_any_convention_round_trips(tmp_path_factory, data, convention):
    sep, decimal, encoding = convention
    df = pd.DataFrame(data, columns=["heltall", "desimal", "tekst_æøå"])
    path = tmp_path_factory.mktemp("prop") / "tabell.csv"
    df.to_csv(path, sep=sep, decimal=decimal, encoding=encoding, index=False)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert pd.api.types.is_integer_dtype(back["heltall"])
    assert pd.api.types.is_float_dtype(back["desimal"])
