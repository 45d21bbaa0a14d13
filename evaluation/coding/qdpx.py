"""REFI-QDA project exchange (``.qdpx``): coded interviews from and to NVivo, ATLAS.ti, MAXQDA
and QualCoder, as the long table of coded segments (docs/study-manifest.md).

A ``.qdpx`` is a zip holding ``project.qde`` (XML, namespace ``urn:QDA-XML:project:1.0``, schema
``Project.xsd`` of the REFI-QDA standard) and a ``sources/`` folder with each text source as plain
UTF-8 text, named in the XML by ``plainTextPath="internal://<guid>.txt"`` (or given inline in
``<PlainTextContent>``). Coded text is ``<TextSource><PlainTextSelection startPosition endPosition>
<Coding creatingUser><CodeRef targetGUID/>``; a ``<Case>`` names a participant and carries
``<VariableValue>``s (role, institution) for the sources (``<SourceRef>``) or selections
(``<SelectionRef>``) it refers to.

The XML is parsed with :mod:`xml.etree.ElementTree`, which is not hardened against maliciously
constructed XML ("billion laughs" entity expansion; the expat bundled with Python 3.11 limits it,
older ones do not). A project file is a user's own export; as a cheap guard, a ``project.qde``
that declares a DOCTYPE (REFI-QDA files have none) is refused, and the whole file is read into
memory, so do not open archives of unknown origin.
"""
from __future__ import annotations

import re
import zipfile
import xml.etree.ElementTree as ET

from pathlib import Path

import pandas as pd

from evaluation.constraints import Options, check_param
from evaluation.errors import InputFileError

from evaluation.coding.refi_qda import CORE, NS
VARIABLES = {"role": "role", "rolle": "role", "institution": "institution",
             "institusjon": "institution"}   # Norwegian projects name them in Norwegian
EXPECTED_QDPX = "a REFI-QDA project exchange file (.qdpx) exported by a QDA program"


def _q(path: str) -> str:
    # "{*}" matches the REFI namespace and namespace-less files alike.
    return "/".join("{*}" + step for step in path.split("/"))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_qdpx(path, *, unit: str = "selection", seen: str = "source",
              crlf: str = "auto") -> pd.DataFrame:
    """Read the coded text of a REFI-QDA project (``.qdpx``) as the long coded-segments table.

    Parameters
    ----------
    path : str or Path
        The ``.qdpx`` file.
    unit : {"selection", "source"}
        What one unit of agreement is. ``"selection"``: one span of one source, ``unit_id``
        ``"<interview>:<start>-<end>"``; selections coded by different coders over the same span
        are one unit. ``"source"``: a whole interview (does the interview carry the code at all,
        MAXQDA's "code existence"); ``start``, ``end`` and ``text`` are then left out.
    seen : {"source", "coded"}
        Which units a coder saw. ``"source"``: a coder who coded anything in an interview read
        all of it, so a unit of that interview which the coder left uncoded gets a row with an
        empty ``code`` ("saw it, no code"). ``"coded"``: only units the coder selected.
    crlf : {"auto", "one", "two"}
        How positions count a Windows line break (CR LF) in a source file: ``"two"`` characters
        as stored, or ``"one"`` (ATLAS.ti, per QualCoder's importer); ``"auto"`` takes ``"one"``
        when the project's ``origin`` names ATLAS.ti.

    Returns
    -------
    DataFrame
        ``unit_id``, ``coder`` (the User name of the Coding's ``creatingUser``, else the
        selection's; the GUID if the user is not listed), ``code`` (the code's name; ``""`` =
        saw the unit, gave no code), ``code_path`` (``"parent/child"``), ``interview`` (source
        name), ``participant`` (the narrowest case covering the unit, ``"; "``-joined on ties,
        NA if none), a column per case or source variable (``role``, ``institution``, also from
        ``Rolle``, ``Institusjon``; Integer, Float, Boolean typed, dates as text), ``text``,
        ``start``, ``end``. ``attrs``: ``codebook`` (records: code, parent, path, description,
        codable, guid), ``coders`` (records: coder, guid), ``project`` (name, origin), ``unit``.

    Raises
    ------
    InputFileError
        Not a zip; no ``project.qde``; XML that does not parse (line and column); a CodeRef or
        VariableRef to an unknown GUID; a selection outside its source's text; a source file
        missing from the zip or not UTF-8.

    Notes
    -----
    Positions count Unicode characters (code points) from 0, the end exclusive, in the source's
    plain text after a leading byte-order mark is dropped, as QualCoder's importer slices them.
    Agreement needs the coders to code the *same* segmentation units (e.g. each answer, marked
    in advance): selections with different spans are different units, and no span fuzzing or
    overlap matching is done. Only text is read (TextSource and PDF text representations);
    picture, audio and video selections are skipped. Two sources with one name and the same
    text (MAXQDA's copies for intercoder agreement) are one interview; with different texts,
    the GUID is added to the name. ``attrs`` hold records, not DataFrames, because pandas
    compares ``attrs`` with ``==`` when it merges or concatenates two frames that both carry
    them, and a DataFrame there raises ``ValueError``; ``pd.DataFrame(seg.attrs["codebook"])``
    gives the table.

    Examples
    --------
    >>> import tempfile
    >>> from evaluation.coding.qdpx_export import write_qdpx
    >>> seg = pd.DataFrame({"coder": ["Åse", "Bjørn"], "code": "egne", "code_path": "mål/egne",
    ...                     "interview": "Intervju 1", "start": 8, "end": 16})
    >>> file = write_qdpx(Path(tempfile.mkdtemp()) / "p.qdpx", seg,
    ...                   sources={"Intervju 1": "Jeg har egne mål nå."})
    >>> back = read_qdpx(file)
    >>> back[["unit_id", "coder", "code", "code_path", "text"]]
               unit_id  coder  code code_path      text
    0  Intervju 1:8-16  Bjørn  egne  mål/egne  egne mål
    1  Intervju 1:8-16    Åse  egne  mål/egne  egne mål
    >>> pd.DataFrame(back.attrs["codebook"])[["code", "parent", "path"]]
       code parent      path
    0   mål              mål
    1  egne    mål  mål/egne
    """
    for name, value, allowed in (("unit", unit, ("selection", "source")),
                                 ("seen", seen, ("source", "coded")),
                                 ("crlf", crlf, ("auto", "one", "two"))):
        check_param("read_qdpx", name, value, [Options(allowed)])
    path = Path(path)
    with _open_zip(path) as zf:
        root = _parse(path, zf)
        origin = root.get("origin") or ""
        one = crlf == "one" or (crlf == "auto" and "ATLAS" in origin.upper())
        users = {u.get("guid"): u.get("name") or u.get("guid")
                 for u in root.iterfind(_q("Users/User"))}
        codes: dict[str, dict] = {}
        for book in root.iterfind(_q("CodeBook/Codes")):
            _read_codes(book, "", codes)
        variables = {v.get("guid"): v.get("name") or v.get("guid")
                     for v in root.iterfind(_q("Variables/Variable"))}
        cases = [{"guid": c.get("guid"), "name": c.get("name"),
                  "values": _values(path, c, variables),
                  "sources": {r.get("targetGUID") for r in c.iterfind(_q("SourceRef"))},
                  "selections": {r.get("targetGUID") for r in c.iterfind(_q("SelectionRef"))}}
                 for c in root.iterfind(_q("Cases/Case"))]
        case_of = {c["guid"]: c for c in cases}
        for guid in case_of:        # NVivo codes a case's text with a code that has the case's GUID
            codes.pop(guid, None)
        sources, rows, spans, where = {}, [], {}, {}

        def coded(codings, guid, name, start, end, sel_user):
            for coding in codings:
                ref = coding.find(_q("CodeRef"))
                target = ref.get("targetGUID") if ref is not None else None
                if target in case_of:
                    spans[guid].append((start, end, case_of[target]))
                elif target in codes:
                    who = _coder(users, coding.get("creatingUser") or sel_user)
                    rows.append((guid, start, end, who, target))
                else:
                    raise InputFileError(path, f"coding {coding.get('guid')} in source {name!r} "
                                         f"refers to code {target!r}, which is not in the "
                                         "CodeBook.", expected="a CodeRef targetGUID that is the "
                                         "guid of a Code in <CodeBook>")

        for el, guid, name in _text_sources(root):
            text = _source_text(path, zf, el, name, guid)
            text = text.replace("\r\n", "\n") if one else text
            sources[guid] = {"name": name, "text": text, "values": _values(path, el, variables)}
            spans[guid] = [(0, len(text), c) for c in cases if guid in c["sources"]]
            for sel in el.iterfind(_q("PlainTextSelection")):
                start, end = _positions(path, sel, name, len(text))
                where[sel.get("guid")] = (guid, start, end)
                sel_user = sel.get("creatingUser") or sel.get("modifyingUser")
                if sel.find(_q("Coding")) is None:     # marked, not coded: seen, no code
                    rows.append((guid, start, end, _coder(users, sel_user), None))
                coded(sel.iterfind(_q("Coding")), guid, name, start, end, sel_user)
            coded(el.iterfind(_q("Coding")), guid, name, 0, len(text), None)   # whole source
        for case in cases:
            for sel in case["selections"]:
                if sel in where:
                    src, start, end = where[sel]
                    spans[src].append((start, end, case))
    return _table(rows, sources, spans, codes, users, unit, seen,
                  {"name": root.get("name") or "", "origin": origin})


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise InputFileError(path, "file not found.", expected=EXPECTED_QDPX)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise InputFileError(path, f"is not a zip archive ({err}); a .qdpx project is a zip "
                             "holding project.qde and sources/.", expected=EXPECTED_QDPX) from None


def _parse(path: Path, zf: zipfile.ZipFile) -> ET.Element:
    names = [n for n in zf.namelist() if "/" not in n.strip("/")]
    # QualCoder found projects whose .qde is not named project.qde; accept a single one.
    qde = "project.qde" if "project.qde" in names else next(
        iter([n for n in names if n.lower().endswith(".qde")][:1]), None)
    if qde is None:
        raise InputFileError(path, "the zip holds no project.qde.", expected="project.qde (the "
                             "REFI-QDA project XML) at the top of the .qdpx archive")
    data = zf.read(qde)
    first = re.search(rb"<[A-Za-z_]", data)
    if b"<!DOCTYPE" in data[: first.start() if first else len(data)]:
        raise InputFileError(path, f"{qde} declares a DOCTYPE, which REFI-QDA files do not use; "
                             "refused because entity declarations can expand without bound.")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        line, column = err.position
        reason = str(err).split(":")[0]
        raise InputFileError(path, f"{qde} is not well-formed XML at line {line}, column "
                             f"{column + 1} ({reason}).", expected="the XML of a REFI-QDA "
                             "project") from None
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if _local(root.tag) != "Project" or not (ns == "" or ns.startswith("urn:QDA-XML:project:")):
        raise InputFileError(path, f"{qde} has root element {root.tag!r}.",
                             expected=f'<Project xmlns="{NS}">')
    return root


def _read_codes(parent: ET.Element, parent_path: str, out: dict) -> None:
    for el in parent.iterfind(_q("Code")):
        name = el.get("name") or ""
        path = f"{parent_path}/{name}" if parent_path else name
        out[el.get("guid")] = {"code": name, "parent": parent_path, "path": path,
                               "description": (el.findtext(_q("Description")) or "").strip(),
                               "codable": (el.get("isCodable") or "true").lower() != "false",
                               "guid": el.get("guid")}
        _read_codes(el, path, out)


def _column(name: str) -> str:
    name = name.strip()
    if name.casefold() in VARIABLES:
        return VARIABLES[name.casefold()]
    return f"{name}_variable" if name in CORE else name


def _values(path: Path, el: ET.Element, variables: dict) -> dict:
    out = {}
    for vv in el.iterfind(_q("VariableValue")):
        ref = vv.find(_q("VariableRef"))
        target = ref.get("targetGUID") if ref is not None else None
        if target not in variables:
            raise InputFileError(path, f"a VariableValue of {el.get('name') or el.get('guid')!r} "
                                 f"refers to variable {target!r}, which is not in <Variables>.",
                                 expected="a VariableRef targetGUID that is a Variable's guid")
        for child in vv:
            kind, raw = _local(child.tag), (child.text or "").strip()
            if kind.endswith("Value") and raw:
                try:
                    value = (int(raw) if kind == "IntegerValue" else float(raw)
                             if kind == "FloatValue" else raw.lower() in ("true", "1")
                             if kind == "BooleanValue" else raw)
                except ValueError:
                    raise InputFileError(path, f"variable {variables[target]!r} has {kind} "
                                         f"{raw!r}.", value=raw, expected=kind) from None
                out[_column(variables[target])] = value
    return out


def _text_sources(root: ET.Element):
    for el in root.iterfind(_q("Sources/*")):
        kind = _local(el.tag)
        if kind == "TextSource":
            yield el, el.get("guid"), el.get("name") or el.get("guid")
        elif kind == "PDFSource" and el.find(_q("Representation")) is not None:
            yield el.find(_q("Representation")), el.get("guid"), el.get("name") or el.get("guid")


def _source_text(path: Path, zf: zipfile.ZipFile, el: ET.Element, name: str, guid: str) -> str:
    inline = el.find(_q("PlainTextContent"))
    if inline is not None:
        return inline.text or ""
    ref = el.get("plainTextPath") or ""
    if not ref.startswith("internal://"):
        raise InputFileError(path, f"source {name!r} ({guid}) has plainTextPath {ref!r}; only "
                             "sources stored inside the .qdpx are read.", expected="plainTextPath"
                             '="internal://<file>.txt" or <PlainTextContent>')
    file = ref[len("internal://"):].lstrip("/")
    members = {n.lower(): n for n in zf.namelist()}
    member = members.get(f"sources/{file}".lower())   # MAXQDA writes sources/, NVivo Sources/
    if member is None:
        raise InputFileError(path, f"source {name!r} ({guid}) refers to {ref}, but the zip has "
                             f"no sources/{file}.", expected="the source's plain text at "
                             "sources/<file> inside the .qdpx")
    try:
        return zf.read(member).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputFileError(path, f"{member} (source {name!r}) is not UTF-8 text (byte "
                             f"{err.start}).", expected="UTF-8 plain text") from None


def _positions(path: Path, sel: ET.Element, name: str, length: int) -> tuple[int, int]:
    raw = sel.get("startPosition"), sel.get("endPosition")
    where = f"selection {sel.get('guid')} in source {name!r}"
    try:
        start, end = int(raw[0]), int(raw[1])
    except (TypeError, ValueError):
        raise InputFileError(path, f"{where} has startPosition {raw[0]!r} and endPosition "
                             f"{raw[1]!r}.", expected="whole numbers") from None
    if not 0 <= start <= end <= length:
        raise InputFileError(path, f"{where} runs from {start} to {end}, outside the source's "
                             f"text of {length} characters.", expected="0 <= startPosition <= "
                             "endPosition <= text length, in Unicode characters from 0 (for a "
                             "project with Windows line breaks, try crlf='one' or 'two')")
    return start, end


def _coder(users: dict, guid):
    return users.get(guid, guid) if guid else pd.NA


def _table(rows, sources, spans, codes, users, unit, seen, project) -> pd.DataFrame:
    names = pd.Series({g: s["name"] for g, s in sources.items()}, dtype=object)
    key = {}
    for name, guids in names.groupby(names).groups.items():
        same = len({sources[g]["text"] for g in guids}) == 1
        key.update({g: name if same else f"{name} [{g}]" for g in guids})
    records, seen_by = [], {}
    for guid, start, end, coder, code in rows:
        c = codes.get(code, {"code": "", "path": ""})
        uid = f"{key[guid]}:{start}-{end}" if unit == "selection" else key[guid]
        records.append({"unit_id": uid, "coder": coder, "code": c["code"], "code_path": c["path"],
                        "interview": key[guid], "_source": guid, "start": start, "end": end})
        if coder is not pd.NA:
            seen_by.setdefault(key[guid], set()).add(coder)
    df = pd.DataFrame(records, columns=["unit_id", "coder", "code", "code_path", "interview",
                                        "_source", "start", "end"])
    if seen == "source":
        have = df.groupby("unit_id")["coder"].agg(lambda c: set(c.dropna()))
        extra = [{**u, "coder": who, "code": "", "code_path": ""}
                 for u in df.drop_duplicates("unit_id").to_dict("records")
                 for who in sorted(seen_by.get(u["interview"], set()) - have[u["unit_id"]])]
        df = pd.concat([df, pd.DataFrame(extra, columns=df.columns)], ignore_index=True)
    pairs = pd.MultiIndex.from_frame(df[["unit_id", "coder"]])
    df = df[(df["code_path"] != "") | ~pairs.isin(pairs[(df["code_path"] != "").to_numpy()])]
    df = df.drop_duplicates(["unit_id", "coder", "code_path"])
    if unit == "source":
        df = df.assign(start=0, end=[len(sources[g]["text"]) for g in df["_source"]])
    meta = [_unit_meta(sources[g], spans[g], s, e)
            for g, s, e in zip(df["_source"], df["start"], df["end"])]
    info = pd.DataFrame(meta, index=df.index, columns=list(dict.fromkeys(
        ["participant", *[k for m in meta for k in m]])))
    df = pd.concat([df, info], axis=1)
    df["text"] = [sources[g]["text"][s:e] for g, s, e in zip(df["_source"], df["start"], df["end"])]
    order = ["unit_id", "coder", "code", "code_path", "interview", *info.columns,
             "text", "start", "end"]
    df = df.sort_values(["interview", "start", "end", "coder", "code_path"], kind="stable")
    df = df[order if unit == "selection" else order[:-3]].reset_index(drop=True)
    if unit == "selection":
        df = df.astype({"start": "int64", "end": "int64"})
    df.attrs = {"codebook": list(codes.values()),
                "coders": [{"coder": n, "guid": g} for g, n in users.items()],
                "project": project, "unit": unit}
    return df


def _unit_meta(source: dict, spans: list, start: int, end: int) -> dict:
    covering = sorted([(e - s, case) for s, e, case in spans if s <= start and end <= e],
                      key=lambda wc: -wc[0])
    out = {"participant": pd.NA, **source["values"]}
    for _, case in covering:                 # the narrowest case is applied last and wins
        out.update(case["values"])
    named = [(w, c["name"]) for w, c in covering if c["name"]]
    if named:
        narrow = min(w for w, _ in named)
        out["participant"] = "; ".join(sorted({n for w, n in named if w == narrow}))
    return out
