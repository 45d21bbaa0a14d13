"""Row-level checks whose rejected rows go to quarantine, never silently away.

A quarantine record names the source, the file, the data row (1-based, header not counted), the
column, the value and the rule broken, so that a reader can find the row in the raw export.
Rules come from the instrument definitions (ranges, whole numbers, 0/1, allowed categories) and
the manifest (dates, unique keys); pandera checks them. Type conversion is done here first:
pandera stops at a column it cannot coerce, and would then not report the other cells of it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from evaluation.errors import InputFileError
from evaluation.instruments.definition import Item
from evaluation.intake.readers import all_numbers

QUARANTINE_COLUMNS = ["source", "file", "row", "column", "value", "rule"]
NUMERIC_TYPES = {"number", "integer", "binary"}
# Excel stores dates as days since 1899-12-30; 1 to 80 000 covers 1900-2119.
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
EXCEL_SERIAL_RANGE = (1, 80_000)
NORWEGIAN_DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S")
ISO_DATE = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
NORWEGIAN_DATE = r"\d{1,2}\.\d{1,2}\.\d{4}( \d{1,2}:\d{2}(:\d{2})?)?"
UTC_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def generalise_rules(rules: pd.Series) -> pd.Series:
    """Rules without their row numbers and dates, so that the same rule counts once
    ('duplicate submission of row …: kept the earliest')."""
    return (rules.str.replace(r"row \d+", "row …", regex=True)
            .str.replace(r"would be [0-9-]+", "would be …", regex=True))


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in QUARANTINE_COLUMNS})


def records(source: str, file: str, rows, column, values, rule) -> pd.DataFrame:
    rows = list(rows)
    return pd.DataFrame({"source": source, "file": file, "row": rows,
                         "column": column, "value": [str(v) for v in values], "rule": rule},
                        columns=QUARANTINE_COLUMNS)


def _concat(frames) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else empty_quarantine()


def item_specs(instruments) -> dict:
    """Column -> Item for every item column of the instruments (checkbox options expanded)."""
    specs = {}
    for inst in instruments:
        for item in inst.items.values():
            if item.type == "checkbox":
                for col in item.columns:
                    specs[col] = Item(key=col, type="binary", required=item.required)
            else:
                specs[item.key] = item
    return specs


def check_columns(df: pd.DataFrame, specs: dict, *, source: str, file) -> None:
    """Every required item column must be in the file: without it the source is unusable."""
    missing = [c for c, item in specs.items() if item.required and c not in df.columns]
    if not missing:
        return
    hint = ""
    if df.shape[1] == 1:
        hint = (f" The header was read as a single column ({str(df.columns[0])[:60]!r}): is the "
                f"delimiter right? Set `read: {{sep: ...}}` for the source in study.yaml.")
    raise InputFileError(file, f"required column(s) {', '.join(missing)} of source {source!r} "
                         f"are not in the file.{hint}",
                         expected=f"the item columns of the instrument(s); the file has "
                                  f"{', '.join(map(str, df.columns[:12]))}"
                                  f"{' …' if df.shape[1] > 12 else ''}")


def coerce_numbers(df: pd.DataFrame, specs: dict, *, source: str, file: str):
    """Numeric item columns as floats; cells that are not numbers are quarantine records."""
    df = df.copy()
    problems = []
    for col, item in specs.items():
        if col not in df.columns or item.type not in NUMERIC_TYPES:
            continue
        raw = df[col]
        if raw.dtype.kind in "biuf":
            df[col] = raw.astype(float)
            continue
        text = raw.astype("string").str.strip().str.replace(",", ".", regex=False).replace("", pd.NA)
        numbers = all_numbers(text)
        if numbers is not None:           # the common case: every cell a number
            df[col] = numbers
            continue
        numbers = pd.to_numeric(text, errors="coerce")
        bad = (numbers.isna() & text.notna()).fillna(False).astype(bool)
        if bad.any():
            problems.append(records(source, file, df.index[bad], col, raw[bad],
                                     f"not a number ({item.type} expected)"))
        df[col] = numbers.astype(float)
    return df, _concat(problems)


def coerce_dates(df: pd.DataFrame, columns, *, source: str, file: str):
    """Date columns parsed; Excel serial numbers and unparsable text are quarantine records."""
    df = df.copy()
    problems = []
    for col in columns:
        if col not in df.columns:
            continue
        raw = df[col]
        if pd.api.types.is_datetime64_any_dtype(raw):
            continue
        text = raw.astype("string").str.strip()
        parsed = parse_dates(text)
        # Plain booleans: string-typed comparisons give <NA>, which would hide a bad row.
        bad = (parsed.isna() & text.notna() & (text != "")).fillna(False).astype(bool)
        numeric = pd.to_numeric(text, errors="coerce").astype(float)
        serial = bad & numeric.between(*EXCEL_SERIAL_RANGE).fillna(False).astype(bool)
        if serial.any():
            as_date = (EXCEL_EPOCH + pd.to_timedelta(numeric[serial], unit="D")).dt.strftime("%Y-%m-%d")
            rules = [f"an Excel serial number, not a date (it would be {d}); export dates as "
                     f"text (YYYY-MM-DD)" for d in as_date]
            problems.append(records(source, file, df.index[serial], col, raw[serial], rules))
        other = bad & ~serial
        if other.any():
            problems.append(records(source, file, df.index[other], col, raw[other],
                                     "not a date (expected YYYY-MM-DD, YYYY-MM-DD HH:MM or "
                                     "DD.MM.YYYY)"))
        df[col] = parsed
    return df, _concat(problems)


def parse_dates(text: pd.Series) -> pd.Series:
    """Full dates only: ISO 8601 (Nettskjema and most systems) or the Norwegian DD.MM.YYYY,
    with or without a time. Nothing looser: a lenient parser reads "yesterday" as a date, and
    ISO parsing turns "2024" into 1 January. Times with a UTC offset are converted to
    Norwegian local time (Europe/Oslo), so winter and summer times compare correctly."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    iso = text.str.fullmatch(ISO_DATE).fillna(False).astype(bool)
    offset = iso & text.str.contains(UTC_OFFSET, regex=True).fillna(False).astype(bool)
    naive = iso & ~offset
    if naive.any():
        out[naive] = pd.to_datetime(text[naive], errors="coerce", format="ISO8601").astype("datetime64[ns]")
    if offset.any():
        aware = pd.to_datetime(text[offset], errors="coerce", format="ISO8601", utc=True)
        out[offset] = aware.dt.tz_convert("Europe/Oslo").dt.tz_localize(None).astype("datetime64[ns]")
    norwegian = text.str.fullmatch(NORWEGIAN_DATE).fillna(False).astype(bool)
    for fmt in NORWEGIAN_DATE_FORMATS:
        todo = norwegian & out.isna()
        if todo.any():
            out[todo] = pd.to_datetime(text[todo], errors="coerce", format=fmt).astype("datetime64[ns]")
    return out


def item_schema(specs: dict, present) -> pa.DataFrameSchema:
    """The pandera schema of the item columns that are present."""
    columns = {}
    for col, item in specs.items():
        if col not in present:
            continue
        checks = []
        if item.type in {"number", "integer"}:
            lo = -np.inf if item.min is None else item.min
            hi = np.inf if item.max is None else item.max
            checks.append(pa.Check(lambda s, lo=lo, hi=hi: s.between(lo, hi),
                                   error=f"out of range: expected {_num(lo)} to {_num(hi)}"))
            if item.type == "integer":
                checks.append(pa.Check(lambda s: (s % 1) == 0, error="not a whole number"))
            elif item.decimals is not None:
                checks.append(pa.Check(
                    lambda s, d=item.decimals: np.isclose(s, np.round(s, d)),
                    error=f"more than {item.decimals} decimal(s)"))
            columns[col] = pa.Column(float, checks=checks, nullable=True)
        elif item.type == "binary":
            columns[col] = pa.Column(float, pa.Check.isin([0.0, 1.0], error="not 0 or 1"),
                                     nullable=True)
        elif item.type == "category":
            allowed = list(item.categories)
            columns[col] = pa.Column(None, pa.Check.isin(allowed, error="not one of "
                                                         + ", ".join(map(str, allowed))),
                                     nullable=True)
    return pa.DataFrameSchema(columns, strict=False)


def check_items(df: pd.DataFrame, specs: dict, *, source: str, file: str) -> pd.DataFrame:
    """Quarantine records for every cell that breaks its item's rule (pandera, lazy)."""
    schema = item_schema(specs, set(df.columns))
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna() & fc["column"].notna()]
        return records(source, file, fc["index"].astype(int), fc["column"].to_numpy(),
                        fc["failure_case"].to_numpy(), fc["check"].to_numpy())
    return empty_quarantine()


def resolve_duplicates(df: pd.DataFrame, key: list[str], *, source: str, file: str,
                       order_by: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first row per ``key`` and quarantine the others.

    The rule: the earliest submission is kept (by ``order_by`` when the table has it, else by
    position in the file), because a second submission of the same form is, in the exports this
    field sees, a resent copy; each later one is quarantined with the row it duplicates.
    Returns ``(kept, quarantined)``; ``len(kept) + len(quarantined) == len(df)``.
    """
    missing = [k for k in key if k not in df.columns]
    if missing:
        raise KeyError(f"unique key column(s) {missing} not in the table")
    ordered = df
    if order_by and order_by in df.columns:
        ordered = df.sort_values(order_by, kind="stable")
    dup = ordered.duplicated(subset=key, keep="first")
    if not dup.any():
        return df, empty_quarantine()
    first_row = (ordered[~dup].reset_index().set_index(key)[ordered.index.name or "index"])
    later = ordered[dup]
    key_text = later[key].astype(str).agg(" / ".join, axis=1)
    originals = first_row.reindex(pd.MultiIndex.from_frame(later[key]) if len(key) > 1
                                  else later[key[0]]).to_numpy()
    quarantined = pd.DataFrame({
        "source": source,
        "file": file,
        "row": later.index.to_numpy(),
        "column": " × ".join(key),
        "value": key_text.to_numpy(),
        "rule": [f"duplicate submission of row {o}: kept the earliest" for o in originals],
    })
    kept = df.loc[~df.index.isin(later.index)]
    return kept, quarantined


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
