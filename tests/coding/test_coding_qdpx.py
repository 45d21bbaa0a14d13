"""REFI-QDA project exchange (.qdpx): a full round trip, projects laid out as QDA programs write
them, and one clear error for each kind of broken project."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from evaluation.coding import read_qdpx, write_qdpx
from evaluation.errors import InputFileError, ParameterError

DATA = Path(__file__).parents[1] / "data"
XSD = DATA / "refi_qda_project.xsd"

TEXTS = {
    "Intervju Åse": ("I: Hva betyr planen?\nÅse: Jeg bestemmer målene mine selv nå. Før var "
                     "det kaos hver dag.\nI: Og møtene?\nÅse: Jeg leder ansvarsgruppemøtet, "
                     "det er rart men bra.\n"),
    "Intervju Bjørn og Øyvind": ("Bjørn: Koordinatoren får tjenestene til å snakke sammen.\n"
                                 "Øyvind: Når det blir krise, ryker rutinene.\n"),
}
IV1, IV2 = TEXTS
PEOPLE = {"Åse": ("beboer", "Lassonløkken", 34), "Bjørn P": ("ansatt", "Karlsborg", 51),
          "Øyvind": ("ansatt", "Våler", 45)}
CODED = [  # interview, piece, participant, coder, code path ("" = saw it, no code)
    (IV1, "Jeg bestemmer målene mine selv nå.", "Åse", "Siri Ø.", "Utfall/Egne mål"),
    (IV1, "Jeg bestemmer målene mine selv nå.", "Åse", "Bjørn", "Utfall/Egne mål"),
    (IV1, "Jeg bestemmer målene mine selv nå.", "Åse", "Åse K.", "Utfall/Egne mål"),
    (IV1, "Jeg bestemmer målene mine selv nå.", "Åse", "Åse K.", "IP-prosess/Medvirkning"),
    (IV1, "Før var det kaos hver dag.", "Åse", "Siri Ø.", "Kontekst/Krise/Kaos før"),
    (IV1, "Før var det kaos hver dag.", "Åse", "Bjørn", ""),
    (IV1, "Før var det kaos hver dag.", "Åse", "Åse K.", "Kontekst/Krise/Kaos før"),
    *[(IV1, "Jeg leder ansvarsgruppemøtet", "Åse", who, "IP-prosess/Medvirkning/Leder eget møte")
      for who in ("Siri Ø.", "Bjørn", "Åse K.")],
    (IV2, "Koordinatoren får tjenestene til å snakke sammen.", "Bjørn P", "Siri Ø.",
     "IP-prosess/Koordinering"),
    (IV2, "Koordinatoren får tjenestene til å snakke sammen.", "Bjørn P", "Bjørn",
     "IP-prosess/Koordinering"),
    (IV2, "Når det blir krise, ryker rutinene.", "Øyvind", "Siri Ø.", "Kontekst/Krise"),
    (IV2, "Når det blir krise, ryker rutinene.", "Øyvind", "Bjørn", ""),
]
CODEBOOK = pd.DataFrame([
    ("IP-prosess", "", "Hvordan planen lages", False),
    ("Medvirkning", "IP-prosess", "Personen bestemmer", True),
    ("Leder eget møte", "IP-prosess/Medvirkning", "Leder ansvarsgruppemøtet", True),
    ("Koordinering", "IP-prosess", "", True),
    ("Utfall", "", "", False),
    ("Egne mål", "Utfall", "Holder fast ved egne mål", True),
    ("Ubrukt", "Utfall", "Ingen har brukt den", True),
    ("Kontekst", "", "", False),
    ("Krise", "Kontekst", "Kriser og ustabile perioder", True),
    ("Kaos før", "Kontekst/Krise", "", True),
], columns=["code", "parent", "description", "codable"])


def segments() -> pd.DataFrame:
    rows = []
    for iv, piece, person, coder, path in CODED:
        start = TEXTS[iv].index(piece)
        role, institution, age = PEOPLE[person]
        rows.append({"unit_id": f"{iv}:{start}-{start + len(piece)}", "coder": coder,
                     "code": path.rsplit("/", 1)[-1], "code_path": path, "interview": iv,
                     "participant": person, "role": role, "institution": institution,
                     "alder": age, "text": piece, "start": start, "end": start + len(piece)})
    return pd.DataFrame(rows)


@pytest.fixture
def project(tmp_path) -> Path:
    return write_qdpx(tmp_path / "ip.qdpx", segments(), codebook=CODEBOOK, sources=TEXTS,
                      name="IP-intervjuer")


def validate(file: Path) -> None:
    """Validate against Project.xsd where lxml is installed (the standard library cannot)."""
    try:
        from lxml import etree
    except ImportError:
        return
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    with zipfile.ZipFile(file) as zf:
        doc = etree.fromstring(zf.read("project.qde"))
    assert schema.validate(doc), schema.error_log


def rezip(src: Path, dst: Path, edit) -> Path:
    """Copy a .qdpx, with ``edit(name, bytes)`` giving each member's new bytes (None drops it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = edit(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
    return dst


def edit_qde(src: Path, dst: Path, change) -> Path:
    return rezip(src, dst, lambda n, b: change(b.decode()).encode() if n == "project.qde" else b)


def zip_folder(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
    return out


def by_unit(df: pd.DataFrame) -> pd.DataFrame:
    order = ["interview", "start", "end", "coder", "code_path"]
    return df.sort_values(order).reset_index(drop=True)


# --- round trip -------------------------------------------------------------------------------

def test_round_trip_keeps_every_field(project):
    back = read_qdpx(project, seen="coded")
    expected = by_unit(segments())
    got = by_unit(back)
    assert list(got.columns) == ["unit_id", "coder", "code", "code_path", "interview",
                                 "participant", "role", "institution", "alder", "text", "start",
                                 "end"]
    pd.testing.assert_frame_equal(got, expected[got.columns], check_dtype=False)
    assert got["alder"].map(type).eq(int).all()             # IntegerValue comes back as int
    assert got["start"].dtype == "int64" and got["end"].dtype == "int64"
    assert back.attrs["unit"] == "selection"
    assert back.attrs["project"]["name"] == "IP-intervjuer"
    assert sorted(c["coder"] for c in back.attrs["coders"]) == ["Bjørn", "Siri Ø.", "Åse K."]


def test_codebook_hierarchy_round_trips(project):
    book = pd.DataFrame(read_qdpx(project).attrs["codebook"]).set_index("path")
    assert book.loc["IP-prosess/Medvirkning/Leder eget møte", "parent"] == "IP-prosess/Medvirkning"
    assert book.loc["IP-prosess/Medvirkning/Leder eget møte", "code"] == "Leder eget møte"
    assert book.loc["Utfall", "parent"] == ""
    assert book.loc["Utfall/Ubrukt", "description"] == "Ingen har brukt den"   # unused, kept
    assert not book.loc["IP-prosess", "codable"] and book.loc["Kontekst/Krise", "codable"]
    assert book["guid"].is_unique and len(book) == len(CODEBOOK)
    given = CODEBOOK.assign(path=[p + "/" + c if p else c for c, p in
                                  zip(CODEBOOK["code"], CODEBOOK["parent"])]).set_index("path")
    assert book["description"].to_dict() == given["description"].to_dict()


def test_positions_count_characters_not_bytes(project):
    back = read_qdpx(project)
    piece = "Når det blir krise, ryker rutinene."
    row = back[(back["interview"] == IV2) & (back["text"] == piece)].iloc[0]
    assert TEXTS[IV2][row["start"]:row["end"]] == piece
    assert len(TEXTS[IV2][: row["start"]].encode("utf-8")) != row["start"]   # æøå before it
    assert row["unit_id"] == f"{IV2}:{row['start']}-{row['end']}"
    with zipfile.ZipFile(project) as zf:
        stored = {zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("sources/")}
    assert stored == set(TEXTS.values())                    # UTF-8, no byte-order mark


def test_written_project_follows_the_schema(project):
    etree = pytest.importorskip("lxml.etree")
    validate(project)
    with zipfile.ZipFile(project) as zf:
        qde = zf.read("project.qde").decode()
    schema = etree.XMLSchema(etree.parse(str(XSD)))        # the schema does reject bad files:
    assert not schema.validate(etree.fromstring(re.sub(r' startPosition="\d+"', "", qde,
                                                       count=1).encode()))
    assert qde.count("<PlainTextSelection") == 13           # one per interview, span and coder
    assert qde.count("<SelectionRef") == 2 and qde.count("<SourceRef") == 1   # shared interview


def test_seen_source_adds_empty_codes_for_coders_of_the_interview(project):
    back = read_qdpx(project)                               # seen="source"
    unit = back[back["text"] == "Koordinatoren får tjenestene til å snakke sammen."]
    assert sorted(unit["coder"]) == ["Bjørn", "Siri Ø."]    # Åse K. never coded this interview
    unit = back[back["text"] == "Før var det kaos hver dag."]
    assert unit.set_index("coder")["code"].to_dict() == {
        "Bjørn": "", "Siri Ø.": "Kaos før", "Åse K.": "Kaos før"}
    assert len(back) == len(read_qdpx(project, seen="coded"))   # here every gap was marked


def test_unit_source_gives_one_unit_per_interview(project):
    back = read_qdpx(project, unit="source")
    assert set(back["unit_id"]) == {IV1, IV2}
    assert not {"start", "end", "text"} & set(back.columns)
    assert not back.duplicated(["unit_id", "coder", "code_path"]).any()
    # IV1's one participant is a Case of the whole interview; IV2's two cover only their spans.
    who = back.groupby("unit_id")["participant"].agg(lambda p: set(p.fillna("-")))
    assert who.to_dict() == {IV1: {"Åse"}, IV2: {"-"}}
    iv1 = back[back["unit_id"] == IV1]
    # his "saw it, no code" span is not an empty row: at interview level he gave codes
    assert set(iv1.loc[iv1["coder"] == "Bjørn", "code"]) == {"Egne mål", "Leder eget møte"}


def test_export_of_spreadsheet_segments_builds_the_sources(tmp_path, small_study):
    seg = pd.read_csv(small_study / "interview_segments.csv")
    file = write_qdpx(tmp_path / "synthetic.qdpx", seg)
    validate(file)
    back = read_qdpx(file, seen="coded")
    key = ["interview", "participant", "role", "institution", "coder", "text", "code"]
    want = seg.rename(columns={"interview_id": "interview", "participant_id": "participant"})
    want = want.assign(code=want["code"].fillna(""))[key]
    assert sorted(map(tuple, back[key].astype(str).values)) == \
        sorted(map(tuple, want.astype(str).values))


# --- projects laid out as QDA programs write them ---------------------------------------------

def test_reads_a_project_in_qualcoders_layout(tmp_path):
    folder = DATA / "qdpx_qualcoder_layout"
    validate(zip_folder(folder, tmp_path / "qc.qdpx"))
    back = read_qdpx(tmp_path / "qc.qdpx", seen="coded")
    assert len(back) == 8 and back["unit_id"].nunique() == 5        # 8 selections, 5 spans
    assert sorted(c["coder"] for c in back.attrs["coders"]) == ["kari", "ola"]
    book = pd.DataFrame(back.attrs["codebook"])
    assert len(book) == 6 and book["codable"].sum() == 4
    assert set(book["path"]) >= {"Prosess/Medvirkning", "Utfall/Mindre kaos", "Krise"}
    first = back[(back["coder"] == "kari") & (back["code"] == "Medvirkning")].iloc[0]
    assert first["text"] == "Jeg fikk være med og bestemme målene mine."   # BOM not counted
    assert (first["start"], first["end"]) == (37, 79)
    assert first[["participant", "role", "institution", "alder", "opptak"]].tolist() == \
        ["Åsmund", "beboer", "Lassonløkken", 34.0, "lyd"]
    assert back.attrs["project"]["origin"] == "QualCoder 3.6"
    assert len(read_qdpx(tmp_path / "qc.qdpx")) == 11                 # + 3 "saw it, no code"


def test_reads_a_project_in_maxqdas_layout(tmp_path):
    folder = DATA / "qdpx_maxqda_layout"
    validate(zip_folder(folder, tmp_path / "mx.qdpx"))
    back = read_qdpx(tmp_path / "mx.qdpx")
    # MAXQDA's intercoder check: one document copied per coder under the same name.
    assert set(back["interview"]) == {"Beboer 3"} and back["unit_id"].nunique() == 3
    first = back[back["start"] == 46].set_index(["coder", "code"]).index
    assert set(first) == {("Ingrid", "Medvirkning"), ("Øystein", "Medvirkning"),
                          ("Øystein", "Egne mål")}
    second = back[back["start"] == 73].set_index("coder")["code"].to_dict()
    assert second == {"Ingrid": "Egne mål", "Øystein": ""}
    assert back["participant"].isna().all()         # name-less cases carry variables only
    assert set(back["institution"]) == {"Lassonløkken"} and set(back["Intervjuår"]) == {2025}
    assert set(back["code_path"]) >= {"IP-prosess/Medvirkning", "Utfall/Egne mål"}


QDE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="{origin}">
 <Users><User guid="00000000-0000-4000-8000-000000000001" name="u"/></Users>
 <CodeBook><Codes>
  <Code guid="00000000-0000-4000-8000-0000000000c1" name="tema" isCodable="true"/>{extra_code}
 </Codes></CodeBook>{cases}
 <Sources>{sources}</Sources>
</Project>"""


def inline_source(guid, name, text, selections):
    sels = "".join(
        f'<PlainTextSelection guid="{g}" startPosition="{s}" endPosition="{e}" '
        f'creatingUser="00000000-0000-4000-8000-000000000001"><Coding guid="{g[:-2]}ff">'
        f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
        for g, s, e, code in selections)
    return (f'<TextSource guid="{guid}" name="{name}" plainTextPath="internal://{guid}.txt">'
            f"{sels}</TextSource>")


def inline_project(tmp_path, texts, *, origin="test", cases="", extra_code="", sources="") -> Path:
    file = tmp_path / "inline.qdpx"
    with zipfile.ZipFile(file, "w") as zf:
        zf.writestr("project.qde", QDE.format(origin=origin, cases=cases, extra_code=extra_code,
                                              sources=sources))
        for guid, text in texts.items():
            zf.writestr(f"Sources/{guid}.txt", text.encode("utf-8"))   # NVivo's capital S
    return file


def test_nvivo_case_codes_give_the_participant_not_a_code(tmp_path):
    case = "00000000-0000-4000-8000-0000000000a1"
    src = "00000000-0000-4000-8000-0000000000b1"
    file = inline_project(
        tmp_path, {src: "Per sier: vi får hjelp."},
        cases=f'<Cases><Case guid="{case}" name="Per"/></Cases>',
        extra_code=f'<Code guid="{case}" name="Per" isCodable="true"/>',
        sources=inline_source(src, "gruppe", "", [
            ("00000000-0000-4000-8000-0000000000d1", 0, 23, case),
            ("00000000-0000-4000-8000-0000000000d2", 10, 23,
             "00000000-0000-4000-8000-0000000000c1")]))
    back = read_qdpx(file)
    assert back[["code", "participant", "text"]].values.tolist() == [
        ["tema", "Per", "vi får hjelp."]]
    assert [c["code"] for c in back.attrs["codebook"]] == ["tema"]


def test_windows_line_breaks_from_atlas_count_as_one(tmp_path):
    src, code = "00000000-0000-4000-8000-0000000000b1", "00000000-0000-4000-8000-0000000000c1"
    sources = inline_source(src, "i", "", [("00000000-0000-4000-8000-0000000000d1", 2, 4, code)])
    atlas = inline_project(tmp_path, {src: "æ\r\nøå bc"}, origin="ATLAS.ti Win 23.4.0",
                           sources=sources)
    assert read_qdpx(atlas)["text"].tolist() == ["øå"]
    assert read_qdpx(atlas, crlf="two")["text"].tolist() == ["\nø"]


def test_same_name_different_text_stays_two_interviews(tmp_path):
    a, b = "00000000-0000-4000-8000-0000000000b1", "00000000-0000-4000-8000-0000000000b2"
    code = "00000000-0000-4000-8000-0000000000c1"
    file = inline_project(tmp_path, {a: "første tekst", b: "andre tekst"}, sources=(
        inline_source(a, "Intervju", "", [("00000000-0000-4000-8000-0000000000d1", 0, 6, code)])
        + inline_source(b, "Intervju", "", [("00000000-0000-4000-8000-0000000000d2", 0, 5, code)])))
    back = read_qdpx(file)
    assert back["interview"].tolist() == [f"Intervju [{a}]", f"Intervju [{b}]"]
    assert back["text"].tolist() == ["første", "andre"]


# --- errors ------------------------------------------------------------------------------------

def test_not_a_zip(tmp_path):
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InputFileError, match=r"bad\.qdpx: is not a zip archive"):
        read_qdpx(bad)
    with pytest.raises(InputFileError, match="file not found"):
        read_qdpx(tmp_path / "missing.qdpx")


def test_zip_without_project_qde(tmp_path, project):
    out = rezip(project, tmp_path / "no_qde.qdpx", lambda n, b: None if n.endswith(".qde") else b)
    with pytest.raises(InputFileError, match="no project.qde") as err:
        read_qdpx(out)
    assert "no_qde.qdpx" in str(err.value)


def test_broken_xml_names_line_and_column(tmp_path, project):
    def breaking(xml):
        lines = xml.splitlines()
        lines[3] = lines[3].replace(">", "", 1)              # line 4 loses a '>'
        return "\n".join(lines)
    out = edit_qde(project, tmp_path / "broken.qdpx", breaking)
    with pytest.raises(InputFileError, match=r"project\.qde is not well-formed XML at line \d+, "
                                             r"column \d+"):
        read_qdpx(out)


def test_doctype_is_refused(tmp_path, project):
    out = edit_qde(project, tmp_path / "dtd.qdpx", lambda x: x.replace(
        "?>", '?>\n<!DOCTYPE Project [<!ENTITY a "aaaa">]>', 1))
    with pytest.raises(InputFileError, match="declares a DOCTYPE"):
        read_qdpx(out)


def test_selection_outside_its_text(tmp_path, project):
    length = len(TEXTS[IV2])
    out = edit_qde(project, tmp_path / "outside.qdpx", lambda x: re.sub(
        r'(name="Når det[^"]*" startPosition="\d+") endPosition="\d+"',
        rf'\1 endPosition="{length + 5}"', x, count=1))
    with pytest.raises(InputFileError) as err:
        read_qdpx(out)
    message = str(err.value)
    assert re.search(r"selection [0-9a-f-]{36} in source 'Intervju Bjørn og Øyvind' runs from "
                     rf"\d+ to {length + 5}, outside the source's text of {length} characters",
                     message), message
    swapped = edit_qde(project, tmp_path / "swapped.qdpx", lambda x: re.sub(
        r'startPosition="\d+" endPosition="(\d+)"', r'startPosition="150" endPosition="\1"', x,
        count=1))
    with pytest.raises(InputFileError, match=r"runs from 150 to \d+, outside"):
        read_qdpx(swapped)


def test_coderef_to_unknown_code(tmp_path, project):
    ghost = "12345678-1234-4234-8234-123456789abc"
    out = edit_qde(project, tmp_path / "ghost.qdpx",
                   lambda x: re.sub(r'<CodeRef targetGUID="[^"]+"',
                                    f'<CodeRef targetGUID="{ghost}"', x, count=1))
    with pytest.raises(InputFileError, match=rf"refers to code '{ghost}', which is not in the "
                                             "CodeBook"):
        read_qdpx(out)


def test_source_file_missing_from_the_zip(tmp_path, project):
    out = rezip(project, tmp_path / "nosrc.qdpx",
                lambda n, b: None if n.startswith("sources/") else b)
    with pytest.raises(InputFileError, match=r"source 'Intervju .*' \([0-9a-f-]{36}\) refers to "
                                             r"internal://[0-9a-f-]{36}\.txt, but the zip has no "
                                             r"sources/"):
        read_qdpx(out)


def test_variable_ref_to_unknown_variable(tmp_path, project):
    out = edit_qde(project, tmp_path / "var.qdpx", lambda x: re.sub(
        r'<VariableRef targetGUID="[^"]+"', '<VariableRef targetGUID="bad"', x, count=1))
    with pytest.raises(InputFileError, match="refers to variable 'bad'"):
        read_qdpx(out)


def test_bad_arguments(project):
    with pytest.raises(ParameterError, match="parameter 'unit' is 'paragraph'; expected one of"):
        read_qdpx(project, unit="paragraph")


def test_writer_checks_its_input(tmp_path):
    seg = segments()
    wrong = seg.assign(text=seg["text"].where(seg.index != 2, "noe annet"))
    with pytest.raises(ParameterError, match="row 2: text 'noe annet' is not the source's text"):
        write_qdpx(tmp_path / "x.qdpx", wrong, sources=TEXTS)
    with pytest.raises(ParameterError, match="interview 'Intervju Bjørn og Øyvind', which is"):
        write_qdpx(tmp_path / "x.qdpx", seg, sources={IV1: TEXTS[IV1]})
    twice = pd.DataFrame({"code": ["Krise", "Krise"], "parent": ["A", "B"]})
    flat = seg.drop(columns="code_path").assign(code="Krise")
    with pytest.raises(ParameterError, match="code 'Krise', which is ambiguous"):
        write_qdpx(tmp_path / "x.qdpx", flat, codebook=twice, sources=TEXTS)
    moving = seg.assign(role=["beboer"] * (len(seg) - 1) + ["ansatt"])
    with pytest.raises(ParameterError, match="variable 'role' of participant 'Øyvind' has"):
        write_qdpx(tmp_path / "x.qdpx", moving.assign(participant="Øyvind"), sources=TEXTS)
