"""Coded interview segments: read a long table of codings and check it before any analysis.

The table is the contract of docs/study-manifest.md (coded segments): one row per unit × coder × code, with columns
``unit_id``, ``coder``, ``code`` (plus ``interview``, ``participant``, ``role``, ``institution``,
``text`` where known). An empty ``code`` means the coder saw the unit and gave it no code; no row
for a coder and a unit means the coder did not see it. Agreement depends on both, so the checks
here stop at anything that would change who saw what (two spellings of one coder, a unit without
a coder) and report, rather than hide, what they tidy (duplicate rows).
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path

import pandas as pd

from evaluation.coding.qdpx import read_qdpx
from evaluation.errors import InputFileError, ParameterError
from evaluation.intake.readers import read_table

REQUIRED = ("unit_id", "coder", "code")
OPTIONAL = ("interview", "participant", "role", "institution", "text")
# Names used by the synthetic study and by some QDA exports for the contract's columns.
ALIASES = {"interview_id": "interview", "participant_id": "participant"}
TEXT_COLUMNS = REQUIRED + OPTIONAL + tuple(ALIASES)
PROBLEM_COLUMNS = ["row", "column", "value", "problem"]

# Letters NFKD does not split into base + accent, as they occur in Nordic names.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ð": "d", "þ": "th", "ß": "ss", "ł": "l",
                       "đ": "d"})


def coder_key(name: str) -> str:
    """The form under which two spellings of a coder's name count as the same person:
    case, surrounding and repeated spaces, and accents ignored.

    >>> coder_key(" Øystein "), coder_key("oystein"), coder_key("Åse  Marie")
    ('oystein', 'oystein', 'ase marie')
    """
    text = unicodedata.normalize("NFKD", str(name).casefold()).translate(_FOLD)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip()


def read_segments(path_or_frame, *, codebook=None, coders: dict | None = None) -> pd.DataFrame:
    """Read and check a long table of coded segments (CSV, XLSX, REFI-QDA ``.qdpx``, or a frame).

    Parameters
    ----------
    path_or_frame : path or DataFrame
        A ``.csv``/``.xlsx`` file, a ``.qdpx`` project (read by
        ``evaluation.coding.qdpx.read_qdpx``), or a DataFrame such as
        ``Study.table("interviews")``.
    codebook : path or DataFrame, optional
        A table with at least a ``code`` column (optional ``parent``, ``label``). When given,
        every code in the segments must be in it.
    coders : dict, optional
        Resolves a coder whose name is spelled several ways: ``{"oystein": "Øystein"}`` maps
        every spelling that reads ``oystein`` once case, spaces and accents are ignored
        (``coder_key``) to ``"Øystein"``.

    Returns
    -------
    DataFrame
        ``unit_id``, ``coder``, ``code`` (``""`` for no code) and the optional columns present
        (``interview_id``/``participant_id`` renamed to ``interview``/``participant``). The
        index, named ``row``, is the data row in the source (1-based, header not counted; a
        frame keeps an index already named ``row``, as ``Study`` tables have).
        ``attrs["problems"]``: what was tidied, a row each (row, column, value, problem);
        ``attrs["codebook"]``: the codebook, when given.

    Raises
    ------
    InputFileError
        Naming the file, rows, column and values: a required column missing; rows without a
        unit or coder; one coder spelled several ways (listing each spelling and its rows);
        codes not in the codebook; a unit id used in two interviews.

    Notes
    -----
    Tidied and reported in ``attrs["problems"]``, never silently: the same coder giving the
    same code to a unit twice (kept once); an empty-code row for a coder who also coded that
    unit (dropped: the coder did code it); spaces around a unit id or code (removed).

    Examples
    --------
    >>> raw = pd.DataFrame({"unit_id": ["u1", "u1", "u1", "u2"],
    ...                     "coder": ["Øystein", "oystein ", "Siri", "Siri"],
    ...                     "code": ["a", "a", "", "b"]})
    >>> read_segments(raw)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    evaluation.errors.InputFileError: segments table, column 'coder': coder 'oystein' is spelled \
2 ways: 'Øystein' (1 row, first row 1), 'oystein ' (1 row, first row 2). Expected: ...
    >>> seg = read_segments(raw, coders={"oystein": "Øystein"})
    >>> seg
        unit_id    coder code
    row                      
    1        u1  Øystein    a
    3        u1     Siri     
    4        u2     Siri    b
    >>> segment_problems(seg)["problem"].tolist()
    ["duplicate of row 1: coder 'Øystein' gave code 'a' to unit 'u1' twice; kept once"]
    """
    frame, where = _load(path_or_frame)
    problems: list[dict] = []
    frame = _columns(frame, where)
    _no_missing(frame, where)
    frame = _strip(frame, problems)
    frame["coder"] = _resolve_coders(frame["coder"], coders, where)
    book = None
    if codebook is not None:
        book = read_codebook(codebook)
        _codes_in_codebook(frame, book, where, codebook)
    _one_interview_per_unit(frame, where)
    frame = _deduplicate(frame, problems)
    # attrs hold plain records, not DataFrames: pandas 3 cannot merge two frames whose attrs
    # hold DataFrames (it compares them for equality). segment_problems() gives the table.
    frame.attrs = {"problems": [dict(zip(PROBLEM_COLUMNS, (p.get(c) for c in PROBLEM_COLUMNS)))
                                for p in problems],
                   "source": str(where), "segments_validated": True}
    if book is not None:
        frame.attrs["codebook"] = book.to_dict(orient="records")
    return frame


def segment_problems(segments: pd.DataFrame) -> pd.DataFrame:
    """What :func:`read_segments` tidied, a row each: row, column, value, problem."""
    return pd.DataFrame(segments.attrs.get("problems", []), columns=PROBLEM_COLUMNS)


def segment_codebook(segments: pd.DataFrame) -> pd.DataFrame | None:
    """The codebook :func:`read_segments` checked the codes against, if one was given."""
    book = segments.attrs.get("codebook")
    return None if book is None else pd.DataFrame(book)


def read_codebook(path_or_frame) -> pd.DataFrame:
    """A codebook: ``code`` (required, each once), ``parent`` (a code of the same book, or
    empty), ``label`` and any further columns as they are.

    >>> read_codebook(pd.DataFrame({"code": ["a", "a1"], "parent": ["", "a"]}))
      code parent
    0    a       
    1   a1      a
    """
    frame, where = _load(path_or_frame, name="codebook")
    frame = frame.reset_index(drop=True)
    if "code" not in frame.columns:
        raise InputFileError(where, f"the codebook has no 'code' column (columns: "
                             f"{', '.join(map(str, frame.columns))}).", column="code",
                             expected="a column 'code', optionally 'parent' and 'label'")
    for col in ("code", "parent"):
        if col in frame.columns:
            frame[col] = frame[col].fillna("").astype(str).str.strip()
    empty = frame.index[frame["code"] == ""]
    if len(empty):
        raise InputFileError(where, "a codebook row has no code.", row=int(empty[0]) + 1,
                             column="code", expected="a code on every row")
    dupes = frame["code"][frame["code"].duplicated()]
    if len(dupes):
        raise InputFileError(where, "a code is listed twice in the codebook.",
                             row=int(dupes.index[0]) + 1, column="code", value=dupes.iloc[0],
                             expected="each code once")
    if "parent" in frame.columns:
        bad = frame[(frame["parent"] != "") & ~frame["parent"].isin(set(frame["code"]))]
        if len(bad):
            raise InputFileError(where, "the parent is not a code of the codebook.",
                                 row=int(bad.index[0]) + 1, column="parent",
                                 value=bad["parent"].iloc[0], expected="a code listed in 'code'")
    return frame


# -- steps ------------------------------------------------------------------------------------

def _load(path_or_frame, name: str = "segments table") -> tuple[pd.DataFrame, object]:
    if isinstance(path_or_frame, pd.DataFrame):
        frame = path_or_frame.copy()
        where = frame.attrs.get("source") or name
        if frame.index.name != "row":
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
        frame.attrs = {}
        return frame, where
    path = Path(path_or_frame)
    if path.suffix.lower() == ".qdpx":
        frame = read_qdpx(path)
    else:
        frame = read_table(path, text_columns=TEXT_COLUMNS + ("parent", "label"))
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    frame.attrs = {}
    return frame, path


def _columns(frame: pd.DataFrame, where) -> pd.DataFrame:
    frame = frame.rename(columns={old: new for old, new in ALIASES.items()
                                  if old in frame.columns and new not in frame.columns})
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputFileError(where, f"no column {' or '.join(map(repr, missing))} (columns: "
                             f"{', '.join(map(str, frame.columns))}).", column=missing[0],
                             expected="a long table with columns unit_id, coder, code (one row "
                                      "per unit, coder and code; an empty code = no code)")
    keep = list(REQUIRED) + [c for c in OPTIONAL if c in frame.columns]
    frame = frame[keep + [c for c in frame.columns if c not in keep]].copy()
    for col in REQUIRED:
        values = frame[col]
        frame[col] = values.where(values.isna(), values.astype(str)).astype(object)
    frame["code"] = frame["code"].fillna("")
    return frame


def _no_missing(frame: pd.DataFrame, where) -> None:
    for col in ("unit_id", "coder"):
        blank = frame.index[frame[col].isna() | (frame[col].str.strip() == "")]
        if len(blank):
            raise InputFileError(
                where, f"{len(blank)} row(s) have no {col}: {_rows(blank)}.", column=col,
                expected="every row names its unit and its coder (a row with an empty code is "
                         "a coder who saw the unit and gave no code)")


def _strip(frame: pd.DataFrame, problems: list) -> pd.DataFrame:
    for col in ("unit_id", "code"):
        stripped = frame[col].str.strip()
        changed = frame[col] != stripped
        for value, rows in frame.index[changed].groupby(frame.loc[changed, col]).items():
            problems.append({"row": int(rows[0]), "column": col, "value": value,
                             "problem": f"spaces around the value removed ({len(rows)} row(s))"})
        frame[col] = stripped
    return frame


def _resolve_coders(raw: pd.Series, aliases: dict | None, where) -> pd.Series:
    aliases = {coder_key(k): v for k, v in (aliases or {}).items()}
    keys = {name: coder_key(name) for name in raw.unique()}
    unknown = sorted(set(aliases) - set(keys.values()))
    if unknown:
        raise ParameterError(f"coder alias(es) {', '.join(map(repr, unknown))} match no coder in "
                             f"{where}; its coders are {', '.join(map(repr, sorted(keys)))}.")
    spellings: dict[str, list[str]] = {}
    for name, key in keys.items():
        spellings.setdefault(key, []).append(name)
    # The commonest spelling first: it is the likeliest intended one, so the hint offers it.
    order = raw.reset_index(drop=True).groupby(raw.to_numpy(), sort=False).size()
    clashes = {k: sorted(v, key=lambda n: (-order[n], list(order.index).index(n)))
               for k, v in spellings.items() if len(v) > 1 and k not in aliases}
    if clashes:
        key, names = next(iter(sorted(clashes.items())))
        listed = ", ".join(f"{n!r} ({_count(raw, n)})" for n in names)
        more = f" Also spelled several ways: {', '.join(map(repr, sorted(clashes)[1:]))}." \
            if len(clashes) > 1 else ""
        raise InputFileError(
            where, f"coder {key!r} is spelled {len(names)} ways: {listed}.{more}",
            column="coder", expected=f"one spelling per coder; name the person with "
                                     f"coders={{{key!r}: {names[0].strip()!r}}} (ipeval "
                                     f"agreement: --coder-alias '{key}={names[0].strip()}')")
    canonical = {name: aliases.get(key, name.strip()) for name, key in keys.items()}
    return raw.map(canonical).astype(object)


def _codes_in_codebook(frame: pd.DataFrame, book: pd.DataFrame, where, book_where) -> None:
    known = set(book["code"])
    given = frame["code"]
    bad = given[(given != "") & ~given.isin(known)]
    if not len(bad):
        return
    parts = []
    for code, rows in bad.index.groupby(bad).items():
        hint = difflib.get_close_matches(code, known, n=1)
        parts.append(f"{code!r} ({len(rows)} row(s), first row {int(rows[0])}"
                     + (f"; did you mean {hint[0]!r}?" if hint else "") + ")")
    name = book_where if not isinstance(book_where, pd.DataFrame) else "the codebook"
    raise InputFileError(where, f"{len(parts)} code(s) are not in the codebook: "
                         f"{', '.join(parts)}.", column="code",
                         expected=f"codes listed in the 'code' column of {name}")


def _one_interview_per_unit(frame: pd.DataFrame, where) -> None:
    if "interview" not in frame.columns:
        return
    per_unit = frame.dropna(subset=["interview"]).groupby("unit_id")["interview"].nunique()
    shared = per_unit[per_unit > 1]
    if len(shared):
        unit = shared.index[0]
        rows = frame.index[frame["unit_id"] == unit]
        seen = sorted(frame.loc[rows, "interview"].dropna().astype(str).unique())
        raise InputFileError(where, f"unit {unit!r} belongs to {len(seen)} interviews "
                             f"({', '.join(seen)}; rows {_rows(rows)}), so their segments would "
                             f"be counted as one unit. {len(shared)} unit id(s) are shared so.",
                             column="unit_id", value=unit,
                             expected="unit ids unique across interviews (e.g. prefixed with "
                                      "the interview)")


def _deduplicate(frame: pd.DataFrame, problems: list) -> pd.DataFrame:
    key = frame[["unit_id", "coder", "code"]]
    dup = key.duplicated(keep="first")
    if dup.any():
        first = key.reset_index().groupby(["unit_id", "coder", "code"])["row"].first()
        for row, (unit, coder, code) in key[dup].iterrows():
            what = f"code {code!r}" if code else "no code"
            problems.append({"row": int(row), "column": "code", "value": code, "problem":
                             f"duplicate of row {first[(unit, coder, code)]}: coder {coder!r} "
                             f"gave {what} to unit {unit!r} twice; kept once"})
    frame = frame[~dup]
    coded = frame.loc[frame["code"] != "", ["unit_id", "coder"]].drop_duplicates()
    empty = frame[frame["code"] == ""]
    both = empty.reset_index().merge(coded, on=["unit_id", "coder"])["row"]
    for row in both:
        problems.append({"row": int(row), "column": "code", "value": "", "problem":
                         f"empty code dropped: coder {frame.at[row, 'coder']!r} also gave "
                         f"code(s) to unit {frame.at[row, 'unit_id']!r}"})
    return frame.drop(index=both.to_numpy())


def _rows(index, shown: int = 8) -> str:
    rows = [str(int(r)) for r in index[:shown]]
    return ", ".join(rows) + (f" … ({len(index)} in all)" if len(index) > shown else "")


def _count(raw: pd.Series, name: str) -> str:
    rows = raw.index[raw == name]
    return f"{len(rows)} row{'s' if len(rows) != 1 else ''}, first row {int(rows[0])}"
