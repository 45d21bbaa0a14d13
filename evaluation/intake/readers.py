"""Read a data file into a DataFrame, whatever export it came from.

Norwegian exports mix conventions: Excel's CSV uses ``;`` with a decimal comma, many municipal
systems write Windows-1252, Nettskjema writes UTF-8. pandas reads each of these once told which;
this module works out which (pandas has no sniffing for encoding or decimal mark).
Files are only ever opened for reading.
"""
from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import pandas as pd

from evaluation.errors import InputFileError

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
               labelled_columns=(), as_text: bool = False) -> pd.DataFrame:
    """Read one table; each option left as None is detected from the file.

    ``text_columns`` are read as text whatever they look like (identifiers keep leading zeros);
    names not in the file are ignored. ``as_text`` (CSV only) returns every cell as written,
    for the caller to type (the Study does, keeping the text for quarantine records); rows whose
    number of fields differs from the header's are listed in ``df.attrs["malformed_rows"]``.
    For SPSS files, ``labelled_columns`` get their value
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
    dtype = {c: str for c in text_columns} or None   # Excel: identifiers keep leading zeros
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, sep=sep, encoding=encoding, decimal=decimal,
                         text_columns=set(text_columns), as_text=as_text)
    if suffix in EXCEL_SUFFIXES:
        return _no_duplicate_columns(path, _read_excel(path, sheet, dtype))
    if suffix in SPSS_SUFFIXES:
        return _read_spss(path, set(text_columns), set(labelled_columns))
    if suffix in PARQUET_SUFFIXES:
        return ids_as_text(_read_parquet(path), text_columns)
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


def _read_csv(path: Path, *, sep, encoding, decimal, text_columns=(), as_text=False) -> pd.DataFrame:
    """Every CSV cell is read as text first, then typed here (``infer_types``), so that what a
    file says is never lost: quarantine records quote the cell as written, identifiers keep
    their leading zeros, and a record with too few or too many fields is found (pandas pads
    or truncates such rows without a word)."""
    sample, encoding, sep, decimal, header = _sniff(path, sep, encoding, decimal)
    kwargs = dict(sep=sep, dtype=str, keep_default_na=False, na_values=[""], index_col=False,
                  skip_blank_lines=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        try:
            try:
                df = pd.read_csv(path, encoding=encoding, **kwargs)
            except UnicodeDecodeError:
                if not encoding.startswith("utf-8"):
                    raise
                # The sample was valid UTF-8 but a later part is not: an export in Windows-1252.
                encoding = "cp1252"
                df = pd.read_csv(path, encoding=encoding, **kwargs)
        except UnicodeDecodeError as exc:
            raise InputFileError(path, f"cannot decode the file as UTF-8 or Windows-1252 "
                                 f"({exc.reason} at byte {exc.start}).",
                                 expected="a text file in UTF-8 or Windows-1252") from None
        except pd.errors.ParserError as exc:
            raise InputFileError(path, f"cannot parse the file as a table with delimiter {sep!r}: "
                                 f"{exc}.", expected="the same number of fields on every row") from None
        except pd.errors.EmptyDataError:
            raise InputFileError(path, "the file has no columns.", expected="a header line") from None
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise InputFileError(path, f"the header names column(s) {dupes} more than once.",
                             expected="each column name once")
    df.attrs["malformed_rows"] = _malformed_records(path, encoding, sep, len(header))
    df.attrs["decimal"] = decimal
    return df if as_text else infer_types(df, decimal=decimal, keep_text=text_columns)


def _sniff(path: Path, sep, encoding, decimal):
    with open(path, "rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if b"\x00" in sample:
        raise InputFileError(path, "the file contains binary data (NUL bytes), not text.",
                             expected="a delimited text table (CSV) in UTF-8 or Windows-1252")
    encoding = encoding or detect_encoding(sample)
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise InputFileError(path, "the file is empty.", expected="a header line and data rows")
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if len(lines) > 1 and len(sample) >= _SAMPLE_BYTES:
        lines = lines[:-1]  # the last sampled line may be cut off
    sep = sep or detect_delimiter(lines)
    decimal = decimal or detect_decimal(lines, sep)
    header = next(csv.reader([lines[0]], delimiter=sep))
    return sample, encoding, sep, decimal, header


def _malformed_records(path: Path, encoding: str, sep: str, n_header: int) -> dict:
    """Data rows (1-based, blank lines skipped as pandas skips them) whose number of fields
    differs from the header's: row -> fields found. Trailing empty fields are allowed (a
    trailing delimiter). Hand-written with the csv module because pandas has no report of it."""
    bad = {}
    row = 0
    with open(path, encoding=encoding, newline="", errors="replace") as fh:
        records = csv.reader(fh, delimiter=sep)
        next(records, None)
        for record in records:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            row += 1
            n = len(record)
            if n < n_header or (n > n_header and any(f.strip() for f in record[n_header:])):
                bad[row] = n
    return bad


def all_numbers(text: pd.Series) -> pd.Series | None:
    """``text`` (stripped, blanks missing) as floats when every value is a number, else None.

    pyarrow's cast does this about four times faster than ``pd.to_numeric`` and fails on the
    first value that is not a number, which is all a column that is text needs."""
    import pyarrow as pa
    import pyarrow.compute as pc
    try:
        values = pc.cast(pa.array(text.astype("string[pyarrow]"), from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return None
    return pd.Series(values.to_numpy(zero_copy_only=False), index=text.index, dtype=float)


def infer_types(df: pd.DataFrame, *, decimal: str = ".", keep_text=()) -> pd.DataFrame:
    """Text columns whose every non-blank value is a number become numbers (integers when
    written without a decimal mark and nothing is missing); others stay text with surrounding
    spaces removed.
    ``keep_text`` columns (identifiers) stay text as written, spaces removed."""
    out = {}
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            out[col] = s
            continue
        text = s.astype("string").str.strip().replace("", pd.NA)
        if col in keep_text:
            out[col] = text.astype(object).where(text.notna(), None)
            continue
        candidate = text.str.replace(",", ".", regex=False) if decimal == "," else text
        numbers = all_numbers(candidate) if text.notna().any() else None
        if numbers is not None:
            # Integers only when written as integers (no decimal mark), as pandas reads them.
            written_whole = not text.str.contains(r"[.,eE]", regex=True).fillna(False).any()
            out[col] = numbers.astype("int64") if written_whole and not numbers.isna().any() else numbers
        else:
            out[col] = text.astype(object).where(text.notna(), None)
    result = pd.DataFrame(out, index=df.index)
    result.attrs.update(df.attrs)
    return result


def ids_as_text(df: pd.DataFrame, columns) -> pd.DataFrame:
    """Identifier columns as text; whole-number floats (SPSS and Parquet store numbers as
    doubles) without the ".0", so 1017.0 gives the same pseudonym as "1017" from a CSV."""
    for col in set(columns) & set(df.columns):
        values = df[col]
        if values.dtype.kind == "f":
            values = values.map(lambda v: str(int(v)) if pd.notna(v) and float(v).is_integer() else v)
        df[col] = values.astype(object).where(values.notna(), None).map(
            lambda v: v if v is None else str(v).strip())
    return df


def _no_duplicate_columns(path: Path, df: pd.DataFrame) -> pd.DataFrame:
    """pandas renames a repeated header to 'name.1'; that is an error in the file."""
    mangled = [c for c in map(str, df.columns) if re.fullmatch(r".+\.\d+", c)
               and c.rsplit(".", 1)[0] in set(map(str, df.columns))]
    if mangled:
        raise InputFileError(path, f"the header names column(s) "
                             f"{sorted({c.rsplit('.', 1)[0] for c in mangled})} more than once.",
                             expected="each column name once")
    return df


def read_columns(path, *, sep: str | None = None, encoding: str | None = None,
                 decimal: str | None = None, sheet=None) -> list[str]:
    """The column names of a data file, without reading its rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputFileError(path, "file not found.")
    if suffix in CSV_SUFFIXES:
        return _sniff(path, sep, encoding, decimal)[4]
    if suffix in EXCEL_SUFFIXES:
        return [str(c) for c in _read_excel(path, sheet).columns]
    if suffix in SPSS_SUFFIXES:
        import pyreadstat
        return list(pyreadstat.read_sav(str(path), metadataonly=True)[1].column_names)
    if suffix in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq
        return list(pq.read_schema(path).names)
    raise InputFileError(path, f"unsupported file type {suffix!r}.",
                         expected=f"one of {', '.join(SUPPORTED)}")


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
    df = ids_as_text(df, text_columns)
    df.attrs["value_labels"] = labels
    df.attrs["column_labels"] = dict(zip(meta.column_names, meta.column_labels))
    return df
