"""Read a data file into a DataFrame, whatever export it came from.

Norwegian exports mix conventions: Excel's CSV uses ``;`` with a decimal comma, many municipal
systems write Windows-1252, Nettskjema writes UTF-8. pandas reads each of these once told which;
this module works out which (pandas has no sniffing for encoding or decimal mark).
Files are only ever opened for reading.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .errors import InputFileError

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SPSS_SUFFIXES = {".sav", ".zsav"}
SUPPORTED = sorted(CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES | SPSS_SUFFIXES)

_DELIMITERS = (",", ";", "\t")
_SAMPLE_BYTES = 256 * 1024
_COMMA_DECIMAL = re.compile(r"^-?\d+,\d+$")
_POINT_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def read_table(path, *, sep: str | None = None, encoding: str | None = None,
               decimal: str | None = None, sheet=None, text_columns=(),
               labelled_columns=()) -> pd.DataFrame:
    """Read one table; each option left as None is detected from the file.

    ``text_columns`` are read as text whatever they look like (identifiers keep leading zeros);
    names not in the file are ignored. For SPSS files, ``labelled_columns`` get their value
    labels instead of their codes (category items); every other column keeps its codes, and
    all labels are kept in ``df.attrs["value_labels"]``.

    The returned frame has a RangeIndex: data row ``r`` (1-based, header not counted) is
    ``index == r - 1``. Errors name the file and say what was expected.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("navn;verdi\\nÅse;1,5\\n".encode("cp1252"))
    >>> read_table(p)
      navn  verdi
    0  Åse    1.5
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found.")
    suffix = path.suffix.lower()
    dtype = {c: str for c in text_columns} or None
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, sep=sep, encoding=encoding, decimal=decimal, dtype=dtype)
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, sheet, dtype)
    if suffix in SPSS_SUFFIXES:
        return _read_spss(path, set(text_columns), set(labelled_columns))
    if suffix in PARQUET_SUFFIXES:
        df = _read_parquet(path)
        for col in set(text_columns) & set(df.columns):
            df[col] = df[col].astype("string").astype(object).where(df[col].notna(), None)
        return df
    raise InputFileError(path, f"unsupported file type {suffix!r}.",
                         expected=f"one of {', '.join(SUPPORTED)}")


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else Windows-1252."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is not evidence against UTF-8.
        if exc.start < len(sample) - 3:
            return "cp1252"
    return "utf-8"


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter that splits the header and the next lines into the same number of fields."""
    header = lines[0]
    best, best_score = ",", -1
    for delim in _DELIMITERS:
        n = header.count(delim)
        if n == 0:
            continue
        consistent = sum(line.count(delim) == n for line in lines[1:])
        score = n + 1000 * consistent
        if score > best_score:
            best, best_score = delim, score
    return best


def detect_decimal(lines: list[str], sep: str) -> str:
    """',' when numbers in the sample are written with a decimal comma, else '.'."""
    if sep == ",":
        return "."
    comma = point = 0
    for line in lines[1:]:
        for field in line.split(sep):
            field = field.strip().strip('"')
            comma += bool(_COMMA_DECIMAL.match(field))
            point += bool(_POINT_DECIMAL.match(field))
    return "," if comma > point else "."


def _read_csv(path: Path, *, sep, encoding, decimal, dtype=None) -> pd.DataFrame:
    with open(path, "rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise InputFileError(path, "the file is empty.", expected="a header line and data rows")
    if b"\x00" in sample:
        raise InputFileError(path, "the file contains binary data (NUL bytes), not text.",
                             expected="a delimited text table (CSV)")
    encoding = encoding or detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if len(lines) > 1 and len(text) >= _SAMPLE_BYTES - 1:
        lines = lines[:-1]  # the last sampled line may be cut off
    sep = sep or detect_delimiter(lines)
    decimal = decimal or detect_decimal(lines, sep)
    try:
        return pd.read_csv(path, sep=sep, encoding=encoding, decimal=decimal, dtype=dtype,
                           skipinitialspace=False, low_memory=False)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-8"):
            # The sample was valid UTF-8 but a later part is not: an export in Windows-1252.
            return pd.read_csv(path, sep=sep, encoding="cp1252", decimal=decimal, dtype=dtype,
                               low_memory=False)
        raise InputFileError(path, f"cannot decode the file as {encoding}: {exc}.") from None
    except pd.errors.ParserError as exc:
        raise InputFileError(path, f"cannot parse the file as a table with delimiter {sep!r}: "
                             f"{exc}.", expected="the same number of fields on every row") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(path, "the file has no columns.", expected="a header line") from None


def _read_excel(path: Path, sheet, dtype=None) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, engine="openpyxl",
                             dtype=dtype)
    except ValueError as exc:  # unknown sheet name
        raise InputFileError(path, f"{exc}.", expected="an existing sheet name or index") from None
    except Exception as exc:  # openpyxl raises zipfile/XML errors for files that are not xlsx
        raise InputFileError(path, f"cannot read the file as an Excel workbook ({exc}).") from None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid for files that are not Parquet
        raise InputFileError(path, f"cannot read the file as Parquet ({exc}).") from None


def _read_spss(path: Path, text_columns: set, labelled_columns: set) -> pd.DataFrame:
    """SPSS .sav through pyreadstat (Nettskjema and TSD deliver .sav beside the CSV)."""
    import pyreadstat
    try:
        df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    except Exception as exc:  # pyreadstat raises ReadstatError and others for damaged files
        raise InputFileError(path, f"cannot read the file as SPSS .sav ({exc}).") from None
    labels = meta.variable_value_labels or {}
    for col in labelled_columns & set(labels) & set(df.columns):
        df[col] = df[col].map(lambda v, m=labels[col]: m.get(v, v) if pd.notna(v) else v)
    for col in text_columns & set(df.columns):
        values = df[col]
        if values.dtype.kind == "f":   # SPSS stores numbers as doubles: 1017.0 -> "1017"
            values = values.map(lambda v: str(int(v)) if pd.notna(v) and float(v).is_integer() else v)
        df[col] = values.astype(object).where(values.notna(), None).map(
            lambda v: v if v is None else str(v))
    df.attrs["value_labels"] = labels
    df.attrs["column_labels"] = dict(zip(meta.column_names, meta.column_labels))
    return df
