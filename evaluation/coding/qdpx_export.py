"""Write coded segments as a REFI-QDA project (``.qdpx``) that NVivo, ATLAS.ti, MAXQDA and
QualCoder can import: the writer half of :mod:`.qdpx` (reading is there)."""
from __future__ import annotations

import uuid
import zipfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from evaluation.errors import ParameterError

from evaluation.coding.refi_qda import ALIASES, CORE, GUID_NAMESPACE, NS, SCHEMA_URL, XSI


def write_qdpx(path, segments: pd.DataFrame, *, codebook=None, sources: dict | None = None,
               name: str = "ipeval export") -> Path:
    """Write coded segments as a REFI-QDA project (``.qdpx``) that QDA programs can import.

    Parameters
    ----------
    path : str or Path
        The ``.qdpx`` file to write (replaced if it exists).
    segments : DataFrame
        ``coder``, ``code`` (``""`` = a marked span with no code), ``interview`` (or
        ``interview_id``) and ``start`` / ``end`` (Unicode characters from 0, end exclusive);
        optional ``code_path`` (``"parent/child"``), ``participant`` (or ``participant_id``),
        ``text`` (checked against the source) and any other columns, written as variables: of
        the participant's Case, or of the source for rows without a participant.
    codebook : DataFrame or list of dict, optional
        ``code`` with optional ``parent`` (a parent's path or unique name; ``""`` = top),
        ``path``, ``description``, ``codable``, as ``read_qdpx`` gives in
        ``attrs["codebook"]``; default: the codes (and ``code_path`` parents) of ``segments``.
    sources : dict of str to str, optional
        Interview name -> its full plain text. Default: each interview's text is its units'
        ``text`` joined by blank lines in order of appearance, with ``start`` / ``end`` set
        to match (for segments read from a spreadsheet).
    name : str
        The project name.

    Returns
    -------
    Path
        ``path``. GUIDs are uuid5 of the names, so the same segments give the same project.

    Notes
    -----
    Layout and element order follow Project.xsd (REFI-QDA 1.0, March 2019; the tests validate
    the output against it): Users, CodeBook, Variables, Cases, Sources; one PlainTextSelection
    per interview, span and coder, with one Coding per code; texts in ``sources/<guid>.txt``,
    UTF-8 without byte-order mark. A participant alone in an interview is a Case with a
    SourceRef; participants sharing an interview get SelectionRefs to their own spans.

    Examples
    --------
    >>> import tempfile
    >>> from evaluation.coding.qdpx import read_qdpx
    >>> seg = pd.DataFrame({"unit_id": ["u1", "u1", "u2"], "coder": ["Åse", "Bjørn", "Åse"],
    ...                     "code": ["mål", "", "kaos"], "interview": "Intervju 1",
    ...                     "text": ["Egne mål.", "Egne mål.", "Mindre kaos nå."]})
    >>> file = write_qdpx(Path(tempfile.mkdtemp()) / "p.qdpx", seg)
    >>> read_qdpx(file, seen="coded")[["unit_id", "coder", "code", "text"]]
                unit_id  coder  code             text
    0    Intervju 1:0-9  Bjørn              Egne mål.
    1    Intervju 1:0-9    Åse   mål        Egne mål.
    2  Intervju 1:11-26    Åse  kaos  Mindre kaos nå.

    ``unit_id`` is not stored: units read back are ``"<interview>:<start>-<end>"``. With the
    default ``seen="source"``, Bjørn, who coded in the interview, also gets an empty row for u2.
    """
    seg = segments.rename(columns={a: c for a, c in ALIASES.items()
                                   if a in segments and c not in segments}).reset_index(drop=True)
    need = ["coder", "code", "interview"] + (["start", "end"] if sources is not None else
                                             ["unit_id", "text"])
    missing = [c for c in need if c not in seg]
    if missing:
        raise ParameterError(f"write_qdpx: segments lack column(s) {missing}; "
                             f"it needs {need}.")
    blank = seg[["interview"] + (["unit_id"] if sources is None else [])].isna().any(axis=1)
    if blank.any():
        raise ParameterError(f"write_qdpx: row {blank.idxmax()} has no interview or unit_id.")
    if sources is None:
        seg, sources = _compose_sources(seg)
    _check_spans(seg, sources)
    nodes = _code_nodes(seg, codebook)
    by_name: dict[str, list] = {}
    for p, node in nodes.items():
        by_name.setdefault(node["code"], []).append(p)
    seg["_path"] = [_code_path(nodes, by_name, r.get("code_path"), r["code"], i)
                    for i, r in seg.iterrows()]
    gid = lambda *parts: str(uuid.uuid5(GUID_NAMESPACE, "\x1f".join(map(str, (name, *parts)))))
    q = lambda tag: f"{{{NS}}}{tag}"
    sub = ET.SubElement
    root = ET.Element(q("Project"), {
        "name": name, "origin": "ipeval", f"{{{XSI}}}schemaLocation": f"{NS} {SCHEMA_URL}",
        "creationDateTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    coders = sorted(seg["coder"].dropna().astype(str).unique())
    if coders:
        users = sub(root, q("Users"))
        for c in coders:
            sub(users, q("User"), {"guid": gid("user", c), "name": c})
    if nodes:
        _write_codes(sub(sub(root, q("CodeBook")), q("Codes")), nodes, "", gid, q)
    variables = [c for c in seg.columns if c not in CORE and not c.startswith("_")
                 and c not in ALIASES]
    if "participant" not in seg:
        seg["participant"] = pd.NA
    seg["participant"] = seg["participant"].astype(object).where(seg["participant"].notna()
                                                                 & (seg["participant"] != ""))
    if variables:
        kinds = sub(root, q("Variables"))
        for v in variables:
            sub(kinds, q("Variable"), {"guid": gid("variable", v), "name": v,
                                       "typeOfVariable": _kind(seg[v])})
    sel_guid = lambda r: gid("selection", r["interview"], r["start"], r["end"], r["coder"])
    people = seg.dropna(subset=["participant"])
    if len(people):
        cases = sub(root, q("Cases"))
        for person, rows in people.groupby("participant", sort=True):
            case = sub(cases, q("Case"), {"guid": gid("case", person), "name": str(person)})
            _write_values(case, _constant(rows, variables, f"participant {person!r}"), gid, q)
            for iv, in_iv in rows.groupby("interview", sort=True):
                alone = people.loc[people["interview"] == iv, "participant"].nunique() == 1
                refs = [("SourceRef", gid("source", iv))] if alone else [
                    ("SelectionRef", sel_guid(r)) for r in in_iv.drop_duplicates(
                        ["start", "end"]).to_dict("records")]
                for tag, target in refs:
                    sub(case, q(tag), {"targetGUID": target})
    files = {}
    texts = sub(root, q("Sources")) if sources else None     # an empty <Sources/> is invalid
    for iv, text in sources.items():
        src = sub(texts, q("TextSource"), {"guid": gid("source", iv), "name": str(iv),
                                           "plainTextPath": f"internal://{gid('source', iv)}.txt"})
        files[f"sources/{gid('source', iv)}.txt"] = str(text)
        rows = seg[seg["interview"] == iv].sort_values(["start", "end", "coder"], kind="stable")
        for (start, end, coder), sel in rows.groupby(["start", "end", "coder"], sort=False):
            r = {"interview": iv, "start": start, "end": end, "coder": coder}
            user = {"creatingUser": gid("user", coder)}
            s_el = sub(src, q("PlainTextSelection"), {
                "guid": sel_guid(r), "name": str(text)[start:end][:40],
                "startPosition": str(start), "endPosition": str(end), **user})
            for p in dict.fromkeys(x for x in sel["_path"] if x):
                coding = sub(s_el, q("Coding"), {"guid": gid("coding", *r.values(), p), **user})
                sub(coding, q("CodeRef"), {"targetGUID": gid("code", p)})
        loose = seg[(seg["interview"] == iv) & seg["participant"].isna()]
        _write_values(src, _constant(loose, variables, f"interview {iv!r}"), gid, q)
    ET.register_namespace("", NS)
    ET.register_namespace("xsi", XSI)
    ET.indent(root, space=" ")
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", ET.tostring(root, encoding="utf-8", xml_declaration=True))
        for member, text in files.items():
            zf.writestr(member, text.encode("utf-8"))
    return path


def _compose_sources(seg: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    spans, sources = {}, {}
    for iv, rows in seg.groupby("interview", sort=False):
        differ = rows.groupby("unit_id")["text"].nunique()
        if (differ > 1).any():
            raise ParameterError(f"write_qdpx: unit {differ[differ > 1].index[0]!r} has "
                                 "different texts in different rows.")
        units = rows.drop_duplicates("unit_id")
        parts = units["text"].fillna("").astype(str).tolist()
        starts = [sum(len(t) + 2 for t in parts[:k]) for k in range(len(parts))]
        spans.update({(iv, u): (s, s + len(t)) for u, s, t in zip(units["unit_id"], starts, parts)})
        sources[iv] = "\n\n".join(parts)
    at = [spans[k] for k in zip(seg["interview"], seg["unit_id"])]
    return seg.assign(start=[a for a, _ in at], end=[b for _, b in at]), sources


def _check_spans(seg: pd.DataFrame, sources: dict) -> None:
    for i, r in seg.iterrows():
        if r["interview"] not in sources:
            raise ParameterError(f"write_qdpx: row {i} has interview {r['interview']!r}, which "
                                 "is not among the sources.")
        text = str(sources[r["interview"]])
        try:
            start, end = int(r["start"]), int(r["end"])
        except (TypeError, ValueError):
            raise ParameterError(f"write_qdpx: row {i} has start {r['start']!r}, end "
                                 f"{r['end']!r}; expected whole numbers.") from None
        if not 0 <= start <= end <= len(text):
            raise ParameterError(f"write_qdpx: row {i} spans {start}-{end}, outside the "
                                 f"{len(text)} characters of interview {r['interview']!r}.")
        if "text" in seg and pd.notna(r["text"]) and str(r["text"]) != text[start:end]:
            raise ParameterError(f"write_qdpx: row {i}: text {str(r['text'])[:40]!r} is not the "
                                 f"source's text at {start}-{end} ({text[start:end][:40]!r}).")
        if pd.isna(r["coder"]):
            raise ParameterError(f"write_qdpx: row {i} has no coder.")
    seg["start"], seg["end"] = seg["start"].astype("int64"), seg["end"].astype("int64")


def _code_nodes(seg: pd.DataFrame, codebook) -> dict:
    if codebook is None:
        given = seg["code_path"] if "code_path" in seg else seg["code"]
        book = pd.DataFrame({"path": [p for p in dict.fromkeys(given.fillna("")) if p]})
        book["code"] = book["path"].str.rsplit("/", n=1).str[-1]
    else:
        book = pd.DataFrame(codebook).fillna("")
    rows = book.to_dict("records")
    names = pd.Series(range(len(rows)), index=[r["code"] for r in rows], dtype=int)

    def path_of(i: int, depth: int = 0) -> str:
        r, parent = rows[i], rows[i].get("parent") or ""
        if r.get("path") or not parent:
            return r.get("path") or r["code"]
        if "/" in parent or parent not in names.index:    # a path, or an implied top code
            return f"{parent}/{r['code']}"
        if len(names[[parent]]) > 1 or depth > len(rows):
            raise ParameterError(f"write_qdpx: codebook parent {parent!r} of {r['code']!r} "
                                 "names several codes (or a cycle); give its path.")
        return f"{path_of(int(names[parent]), depth + 1)}/{r['code']}"

    nodes = {}
    for i, r in enumerate(rows):
        path = path_of(i)
        parts = path.split("/")
        for k in range(1, len(parts)):        # ancestors the codebook only implies
            nodes.setdefault("/".join(parts[:k]), {"code": parts[k - 1], "description": "",
                                                   "codable": True})
        nodes[path] = {"code": r["code"], "description": str(r.get("description") or ""),
                       "codable": r.get("codable", True) not in (False, "false", "False", 0)}
    return nodes


def _code_path(nodes: dict, by_name: dict, code_path, code, row) -> str:
    if isinstance(code_path, str) and code_path:
        if code_path not in nodes:
            raise ParameterError(f"write_qdpx: row {row} has code_path {code_path!r}, which is "
                                 "not in the codebook.")
        return code_path
    if pd.isna(code) or code == "":
        return ""
    hits = [code] if code in nodes else by_name.get(code, [])
    if len(hits) != 1:
        raise ParameterError(f"write_qdpx: row {row} has code {code!r}, which is "
                             f"{'not in' if not hits else 'ambiguous in'} the codebook; "
                             "give code_path.")
    return hits[0]


def _write_codes(parent: ET.Element, nodes: dict, parent_path: str, gid, q) -> None:
    for path, node in nodes.items():
        if path.rpartition("/")[0] != parent_path:
            continue
        el = ET.SubElement(parent, q("Code"), {"guid": gid("code", path), "name": node["code"],
                                               "isCodable": str(node["codable"]).lower()})
        if node["description"]:
            ET.SubElement(el, q("Description")).text = node["description"]
        _write_codes(el, nodes, path, gid, q)


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "Boolean"
    if pd.api.types.is_integer_dtype(values):
        return "Integer"
    return "Float" if pd.api.types.is_float_dtype(values) else "Text"


def _constant(rows: pd.DataFrame, variables: list, owner: str) -> dict:
    out = {}
    for v in variables:
        values = rows[v].dropna().unique()
        if len(values) > 1:
            raise ParameterError(f"write_qdpx: variable {v!r} of {owner} has several values "
                                 f"{list(values)[:3]}; a variable is one value per case.")
        if len(values):
            out[v] = (values[0], _kind(rows[v]))
    return out


def _write_values(el: ET.Element, values: dict, gid, q) -> None:
    for v, (value, kind) in values.items():
        vv = ET.SubElement(el, q("VariableValue"))
        ET.SubElement(vv, q("VariableRef"), {"targetGUID": gid("variable", v)})
        text = str(value).lower() if kind == "Boolean" else str(value)
        ET.SubElement(vv, q(f"{kind}Value")).text = text
