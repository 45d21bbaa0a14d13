"""Loading one source of a study: from the raw file to a validated, scored table and its
quarantine. The order matters, and each step says why it stands where it does."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evaluation.errors import InputFileError, PrivacyError
from evaluation.instruments import score_instrument
from evaluation.intake.totals import impute_from_total
from evaluation.intake.national_id import scan_frame
from evaluation.intake.readers import CSV_SUFFIXES, infer_types, read_columns, read_table
from evaluation.intake.validation import (NUMERIC_TYPES, check_columns, check_items, coerce_dates, coerce_numbers,
                         empty_quarantine, item_specs, records, resolve_duplicates)


@dataclass
class LoadedSource:
    table: pd.DataFrame
    quarantine: pd.DataFrame
    rows_read: int


def load_source(spec, *, manifest, instruments, pseudonymise) -> LoadedSource:
    """Read, check and score one source. ``pseudonymise`` maps a DataFrame to one with its
    identifier columns replaced (the study's keyed pseudonymiser)."""
    canonical_to_raw = {v: k for k, v in spec.columns.items()}
    id_like = {manifest.id_column, *manifest.pseudonymise}
    specs = item_specs(instruments)
    categories = [c for c, item in specs.items() if item.type == "category"]
    # 1. Read. CSV cells arrive as written (text); identifiers are text in every format, so a
    #    person number keeps its leading zero and cannot collide with another person's.
    raw = read_table(spec.file, text_columns={canonical_to_raw.get(c, c) for c in id_like},
                     labelled_columns={canonical_to_raw.get(c, c) for c in categories},
                     as_text=spec.file.suffix.lower() in CSV_SUFFIXES, **spec.read)
    rows_read = len(raw)
    if rows_read == 0:
        raise InputFileError(spec.file, f"source {spec.name!r} has a header but no data rows.",
                             expected="at least one row of data")
    df = _mapped(raw, spec)
    df.index = pd.RangeIndex(1, rows_read + 1, name="row")
    where = {"source": spec.name, "file": spec.file.name}
    problems = [_malformed(raw.attrs.get("malformed_rows", {}), len(raw.columns), df, where),
                _empty_rows(df, where)]
    # 2. Pseudonymise before anything is derived from the table (quarantine records included).
    df = pseudonymise(df)
    # 3. A national ID number left in any other column stops the load.
    refuse_national_ids(df, spec, manifest)
    # 4. Types: items and dates are converted by the checks below (which quote bad cells as
    #    written); every other text column becomes numbers when all its values are numbers.
    numeric_items = {c for c, item in specs.items() if item.type in NUMERIC_TYPES}
    as_written = df
    others = [c for c in df.columns if c not in numeric_items | set(spec.dates) | id_like]
    df = df.copy()
    df[others] = infer_types(df[others], decimal=raw.attrs.get("decimal", "."))
    check_columns(df, specs, source=spec.name, file=spec.file)
    absent = [c for c in spec.dates if c not in df.columns]
    if absent:
        raise InputFileError(spec.file, f"date column(s) {absent} named under `dates:` for source "
                             f"{spec.name!r} are not in the file.")
    df, bad_numbers = coerce_numbers(df, specs, **where)
    df, bad_dates = coerce_dates(df, spec.dates, **where)
    problems += [bad_numbers, bad_dates, check_items(df, specs, **where)]
    # 5. Keys: a row without its key cannot be told apart from others; then duplicates.
    if spec.unique:
        absent = [c for c in spec.unique if c not in df.columns]
        if absent:
            raise InputFileError(spec.file, f"unique key column(s) {absent} of source "
                                 f"{spec.name!r} are not in the file.")
        problems.append(_missing_keys(df, list(spec.unique), where))
    df = df[~df.index.isin(_rows(problems))]
    if spec.unique:
        df, duplicates = resolve_duplicates(df, list(spec.unique), order_by="submitted", **where)
        problems.append(duplicates)
    # 6. Scores from the rows that passed. A total given without its items (an OpenFIT
    #    total-only export) fills them first; one contradicting its items goes to quarantine.
    for inst in instruments:
        df, bad_totals = impute_from_total(df, inst, **where)
        problems.append(bad_totals)
    quarantine = _as_written(pd.concat([p for p in problems if len(p)] or [empty_quarantine()],
                                       ignore_index=True), as_written)
    if instruments:
        df = pd.concat([df, *(score_instrument(df, inst) for inst in instruments)], axis=1)
    quarantine = quarantine.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    return LoadedSource(df, quarantine, rows_read)


def _mapped(raw: pd.DataFrame, spec) -> pd.DataFrame:
    absent = [c for c in spec.columns if c not in raw.columns]
    if absent:
        raise InputFileError(spec.file, f"column(s) {absent} named under `columns:` for source "
                             f"{spec.name!r} are not in the file.",
                             expected=f"one of the file's columns {list(raw.columns)}")
    df = raw.rename(columns=spec.columns)
    clashes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if clashes:
        origin = {c: [r for r in raw.columns if spec.columns.get(r, r) == c] for c in clashes}
        raise InputFileError(spec.file, "`columns:` gives two columns the same name: "
                             + "; ".join(f"{c} from {', '.join(map(repr, origin[c]))}" for c in clashes)
                             + ".", expected="each canonical name from one raw column")
    return df


def _malformed(malformed: dict, n_header: int, df, where) -> pd.DataFrame:
    if not malformed:
        return empty_quarantine()
    rows = [r for r in malformed if r in df.index]
    return records(**where, rows=rows, column="(whole row)",
                   values=[f"{malformed[r]} fields" for r in rows],
                   rule=f"the row has a different number of fields than the header ({n_header}): "
                        f"a line break or delimiter inside an unquoted field?")


def _empty_rows(df, where) -> pd.DataFrame:
    data = [c for c in df.columns if not str(c).startswith("$")]   # Nettskjema system columns
    empty = df[data].isna().all(axis=1) if data else pd.Series(False, index=df.index)
    return records(**where, rows=df.index[empty], column="(whole row)", values=[""] * int(empty.sum()),
                   rule="empty row (only delimiters)")


def _missing_keys(df, key, where) -> pd.DataFrame:
    missing = df[key].isna().any(axis=1)
    return records(**where, rows=df.index[missing], column=" × ".join(key),
                   values=[""] * int(missing.sum()), rule="missing value in the row's key")


def _rows(problems) -> set:
    return set().union(*(set(p["row"]) for p in problems))


def _as_written(quarantine: pd.DataFrame, as_written: pd.DataFrame) -> pd.DataFrame:
    """Quarantine values as the cell was written in the file (after pseudonymisation), so a
    reader can search the export for them."""
    if not len(quarantine):
        return quarantine
    q = quarantine.copy()
    for i, (row, col) in enumerate(zip(q["row"], q["column"])):
        if col in as_written.columns and row in as_written.index:
            value = as_written.at[row, col]
            if pd.notna(value):
                q.iat[i, q.columns.get_loc("value")] = str(value)
    return q


def refuse_national_ids(df: pd.DataFrame, spec, manifest) -> None:
    """A national ID number in any column not pseudonymised stops the load: loading it would
    let it reach tables, quarantine files and reports."""
    columns = [c for c in df.columns if c not in manifest.pseudonymise]
    findings = scan_frame(df, columns=columns)
    if not len(findings):
        return
    first = findings.iloc[0]
    per_column = findings.groupby("column").size()
    raise PrivacyError(
        f"{spec.file}: column {first['column']!r} holds a national ID number (row "
        f"{first['row']}: {first['masked']}; {len(findings)} found in "
        f"{', '.join(f'{c} ×{n}' for c, n in per_column.items())}), and the column is not "
        f"listed under `pseudonymise:` in study.yaml. If it is an identifier column, list it "
        f"there; if it is free text, remove the numbers in the source system. Nothing was "
        f"loaded, so no ID can reach an output.")


def check_identifier_columns(manifest) -> None:
    """Every column named under ``pseudonymise:`` must exist in some source: a misspelt entry
    would otherwise let raw identifiers through without a word."""
    if not manifest.pseudonymise:
        return
    present = set()
    for spec in manifest.sources.values():
        raw = read_columns(spec.file, **spec.read)
        present.update(spec.columns.get(c, c) for c in raw)
    absent = [c for c in manifest.pseudonymise if c not in present]
    if absent:
        raise PrivacyError(f"{manifest.path}: `pseudonymise:` names {absent}, which no source has "
                           f"(after `columns:` mapping). A misspelt identifier column would be "
                           f"loaded unpseudonymised, so nothing is loaded; correct the name or "
                           f"remove it.")
