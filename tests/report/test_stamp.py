"""The provenance stamp of a run (``evaluation.report.stamp``) and ``ipeval verify REPORT``.

Almost everything is checked without a kernel: a tiny notebook is written with nbformat,
stamped with :func:`run_stamp` as ``ipeval run`` stamps it, and the stamp put on a page with
:func:`stamp_footer` or :func:`render_html`. One real ``ipeval run`` (marked ``notebook``)
checks that the report and the slides of a run carry it.
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from evaluation.cli.main import main
from evaluation.errors import InputFileError
from evaluation.instruments import PROJECT_INSTRUMENTS
from evaluation.intake.manifest import load_manifest
from evaluation.intake.national_id import find_national_ids, is_valid_national_id
from evaluation.report import stamp as stamp_module
from evaluation.report.html import render_html
from evaluation.report.slides import slides_html
from evaluation.report.stamp import (SHORT, STAMP_CLASS, STAMP_SCHEMA, input_fingerprint,
                                     input_hashes, run_key, run_stamp, stamp_footer)
from evaluation.report.verify_stamp import read_stamp, verify_report
from evaluation.version import __version__

VALID_FNR = "31129956715"       # the module's own doctest example
NASTY = '<script>alert(1)</script> "quoted" & \'single\''
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _notebook(path: Path, code: str = "print('ok')") -> Path:
    params = nbformat.v4.new_code_cell('study = None\nseed = 1\ntitle = ""\noutput_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(code)],
                                  metadata={"kernelspec": KERNEL})
    nbformat.write(nb, str(path))
    return path


def _executed(notebook: Path, stamp: dict, target: Path) -> Path:
    """The notebook as ``ipeval run`` leaves it: the stamp in its metadata (not executed)."""
    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata.setdefault("ipeval", {})["stamp"] = stamp
    nbformat.write(nb, str(target))
    return target


def _page(stamp: dict, path: Path) -> Path:
    path.write_text("<html><body><p>report</p>" + stamp_footer(stamp) + "</body></html>",
                    encoding="utf-8")
    return path


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


PARAMS = {"study": "study/study.yaml", "seed": 7, "title": "first"}


@pytest.fixture
def made(study_copy, tmp_path, monkeypatch):
    """In tmp_path (the folder the run starts in): n.ipynb, study/ and n.html with the stamp of
    a run of n.ipynb with PARAMS; ``(stamp, page, manifest)``."""
    monkeypatch.chdir(tmp_path)
    assert study_copy == tmp_path / "study"
    _notebook(tmp_path / "n.ipynb")
    stamp = run_stamp(tmp_path / "n.ipynb", PARAMS, cwd=tmp_path)
    return stamp, _page(stamp, tmp_path / "n.html"), study_copy / "study.yaml"


def _statuses(check) -> dict:
    return {f.file: f.status for f in check.files}


# --------------------------------------------------------------------------- run_stamp

def test_run_stamp_records_the_notebook_the_parameters_and_every_input(made, tmp_path):
    stamp, _, manifest = made
    assert stamp["schema"] == STAMP_SCHEMA == "ipeval-stamp/1"
    assert stamp["ipeval"]["version"] == __version__
    assert set(stamp["ipeval"]) == {"version", "commit", "local_changes"}
    assert stamp["notebook"] == {
        "path": "n.ipynb",
        "sha256": hashlib.sha256((tmp_path / "n.ipynb").read_bytes()).hexdigest()}
    assert stamp["parameters"] == PARAMS and stamp["study"] == "study/study.yaml"
    assert stamp["seed"] == 7
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp["created"])
    assert re.fullmatch(r"[0-9a-f]{64}", stamp["run_key"])
    assert stamp["language"] == load_manifest(manifest).language

    inputs = stamp["inputs"]
    assert inputs[0] == {"root": "study", "file": "study.yaml", "kind": "manifest",
                         "sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
                         "bytes": manifest.stat().st_size}
    for entry in inputs:
        base = manifest.parent if entry["root"] == "study" else PROJECT_INSTRUMENTS.parent
        data = (base / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["file"]
        assert entry["bytes"] == len(data)
    sources = {Path(s.file).name for s in load_manifest(manifest).sources.values()}
    assert {e["file"] for e in inputs if e["kind"] == "source"} == sources
    shipped = {f"instruments/{p.name}" for p in PROJECT_INSTRUMENTS.glob("*.yaml")}
    assert shipped and {e["file"] for e in inputs if e["root"] == "ipeval"} == shipped


def test_run_stamp_writes_no_path_of_the_machine(made, tmp_path):
    stamp, _, _ = made
    text = json.dumps(stamp, ensure_ascii=False)
    for folder in (tmp_path, tmp_path.resolve(), PROJECT_INSTRUMENTS.parent, Path.home()):
        assert str(folder) not in text
    names = [stamp["notebook"]["path"]] + [e["file"] for e in stamp["inputs"]]
    assert all(not os.path.isabs(n) and ".." not in Path(n).parts for n in names), names


def test_run_stamp_of_a_notebook_without_a_study_reads_no_file(tmp_path):
    _notebook(tmp_path / "n.ipynb")
    stamp = run_stamp(tmp_path / "n.ipynb", {"seed": 3}, cwd=tmp_path)
    assert stamp["inputs"] == [] and stamp["study"] is None and stamp["seed"] == 3
    assert stamp["run_key"] == run_key((tmp_path / "n.ipynb").read_bytes(), {"seed": 3},
                                       "no-study")


def test_the_run_key_is_the_one_a_batch_gives_the_same_run(made, tmp_path):
    from evaluation.batch import spec as batch_spec
    from evaluation.batch.spec import load_batch
    assert batch_spec.run_key is stamp_module.run_key
    assert batch_spec.input_fingerprint is stamp_module.input_fingerprint
    (tmp_path / "b.yaml").write_text(
        "notebook: n.ipynb\noutput: out\n"
        "parameters: {study: study/study.yaml, title: first}\ngrid: {seed: [7, 8]}\n",
        encoding="utf-8")
    spec = load_batch(tmp_path / "b.yaml", cwd=tmp_path)
    assert len(spec.runs) == 2
    for run in spec.runs:
        assert run.parameters["output_dir"]          # the batch sets it; the key ignores it
        stamped = run_stamp(tmp_path / run.notebook, run.parameters, cwd=tmp_path)
        assert stamped["run_key"] == run.key
    stamp, _, _ = made
    assert stamp["run_key"] == next(r.key for r in spec.runs if r.parameters["seed"] == 7)
    params = {k: v for k, v in stamp["parameters"].items() if k != "output_dir"}
    assert stamp["run_key"] == run_key((tmp_path / "n.ipynb").read_bytes(), params,
                                       input_fingerprint("study/study.yaml", tmp_path))


def test_the_run_key_follows_every_byte_and_parameter_but_not_the_output_folder(made, tmp_path):
    stamp, _, manifest = made
    nb = tmp_path / "n.ipynb"

    def key(params=PARAMS, **kw):
        return run_stamp(nb, params, cwd=tmp_path, **kw)["run_key"]

    assert key(created=0) == stamp["run_key"]                       # the time is not in it
    assert key({**PARAMS, "output_dir": "elsewhere/tables"}) == stamp["run_key"]
    assert key({**PARAMS, "seed": 8}) != stamp["run_key"]
    assert key({**PARAMS, "title": "other"}) != stamp["run_key"]
    source = manifest.parent / next(e["file"] for e in stamp["inputs"] if e["kind"] == "source")
    original = source.read_bytes()
    _flip_one_byte(source)
    assert key() != stamp["run_key"]
    source.write_bytes(original)
    assert key() == stamp["run_key"]
    (manifest.parent / "instruments").mkdir(exist_ok=True)
    (manifest.parent / "instruments" / "extra.yaml").write_text("name: extra\n")
    assert key() != stamp["run_key"]                  # a new instrument of the study counts
    (manifest.parent / "instruments" / "extra.yaml").unlink()
    nb.write_bytes(nb.read_bytes() + b"\n")
    assert key() != stamp["run_key"]


def test_input_hashes_list_the_files_in_the_order_they_are_fingerprinted(made, tmp_path):
    stamp, _, _ = made
    assert input_hashes("study/study.yaml", tmp_path) == stamp["inputs"]
    assert input_hashes(None, tmp_path) == []
    assert input_fingerprint(None, tmp_path) == "no-study"


# --------------------------------------------------------------------------- the footer

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_footer_escapes_every_value(made, tmp_path):
    stamp, _, _ = made
    nasty = run_stamp(tmp_path / "n.ipynb", {**PARAMS, "title": NASTY}, cwd=tmp_path)
    footer = stamp_footer(nasty)
    assert "<script" not in footer and "alert(1)</script>" not in footer
    assert '"quoted"' not in footer and "'single'" not in footer and "& " not in footer
    parsed = _Tags()
    parsed.feed(footer)
    assert set(parsed.tags) == {"footer", "p"}              # nothing but the footer's own tags
    assert any(NASTY in line for line in parsed.text)       # shown, as text
    assert footer.count(f'class="{STAMP_CLASS}"') == 1
    assert html.escape(json.dumps(nasty, ensure_ascii=False, sort_keys=True)) in footer


def test_a_written_page_gives_the_stamp_back_whole(made, tmp_path):
    stamp, _, _ = made
    nasty = run_stamp(tmp_path / "n.ipynb", {**PARAMS, "title": NASTY}, cwd=tmp_path)
    executed = _executed(tmp_path / "n.ipynb", nasty, tmp_path / "executed.ipynb")
    page = render_html(executed, tmp_path / "report.html")
    text = page.read_text(encoding="utf-8")
    assert text.count(f'class="{STAMP_CLASS}"') == 1
    assert text.rfind(f'class="{STAMP_CLASS}"') < text.lower().rfind("</body>")
    assert "alert(1)</script>" not in text
    assert read_stamp(page) == nasty
    assert read_stamp(executed) == nasty
    assert read_stamp(_page(stamp, tmp_path / "plain.html")) == stamp


def test_the_footer_speaks_the_report_language(made):
    stamp, _, _ = made
    english, norwegian = stamp_footer(stamp, "en"), stamp_footer(stamp, "nb")
    assert "Provenance" in english and "run key" in english and "Opphav" not in english
    assert "Opphav" in norwegian and "kjørenøkkel" in norwegian and "Provenance" not in norwegian
    assert "Provenance" in stamp_footer(stamp, "xx")           # an unknown code reads English
    assert read_stamp(_page(stamp, Path("again.html"))) == stamp


# --------------------------------------------------------------------------- verify_report

def test_an_unchanged_study_verifies(made):
    stamp, page, manifest = made
    for check in (verify_report(page, manifest), verify_report(page)):   # default: the stamp's
        assert check.ok and check.verdict().startswith("Verified")
        assert check.run_key == "same" and check.notebook.status == "same"
        assert len(check.files) == len(stamp["inputs"])
        assert set(_statuses(check).values()) == {"same"}


def test_one_changed_byte_of_a_source_is_named(made):
    stamp, page, manifest = made
    name = next(e["file"] for e in stamp["inputs"] if e["kind"] == "source")
    _flip_one_byte(manifest.parent / name)
    check = verify_report(page, manifest)
    assert not check.ok
    status = _statuses(check)
    assert status.pop(name) == "changed" and set(status.values()) == {"same"}
    assert check.verdict().startswith("NOT verified") and name in check.verdict()
    row = next(line for line in check.lines() if f" {name} " in line)
    assert row.split()[0] == "CHANGED"


def test_a_deleted_source_is_missing(made):
    stamp, page, manifest = made
    name = [e["file"] for e in stamp["inputs"] if e["kind"] == "source"][-1]
    (manifest.parent / name).unlink()
    check = verify_report(page, manifest)
    assert not check.ok and _statuses(check)[name] == "missing"
    assert "missing" in check.verdict() and name in check.verdict()


def test_a_new_instrument_of_the_study_is_new(made):
    _, page, manifest = made
    (manifest.parent / "instruments").mkdir(exist_ok=True)
    (manifest.parent / "instruments" / "extra.yaml").write_text("name: extra\n")
    check = verify_report(page, manifest)
    assert not check.ok and _statuses(check)["instruments/extra.yaml"] == "new"
    assert "new" in check.verdict() and "instruments/extra.yaml" in check.verdict()


def test_a_copy_of_the_study_in_another_folder_verifies(made, tmp_path):
    _, page, manifest = made
    copy = Path(shutil.copytree(manifest.parent, tmp_path / "elsewhere" / "copy"))
    shutil.rmtree(manifest.parent)                  # only the copy is left
    for given in (copy / "study.yaml", copy):
        check = verify_report(page, given)
        assert check.ok, check.lines()
        assert check.study == copy / "study.yaml" and check.run_key == "same"


def test_edited_parameters_in_the_stamp_give_another_run_key(made):
    _, page, manifest = made
    text = page.read_text(encoding="utf-8")
    assert text.count("&quot;first&quot;") == 1
    page.write_text(text.replace("&quot;first&quot;", "&quot;second&quot;"), encoding="utf-8")
    assert read_stamp(page)["parameters"]["title"] == "second"
    check = verify_report(page, manifest)
    assert set(_statuses(check).values()) == {"same"} and check.notebook.status == "same"
    assert check.run_key == "differs" and not check.ok
    assert "run key" in check.verdict()


def test_elsewhere_the_notebook_is_not_found_and_the_key_not_recomputed(made, tmp_path,
                                                                      monkeypatch):
    _, page, manifest = made
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    check = verify_report(page, manifest)
    assert check.notebook.status == "not found" and check.run_key == "not recomputed"
    assert check.ok and "not found" in check.verdict()


def test_a_page_without_a_stamp_and_a_word_file_are_unusable(made, tmp_path):
    _, _, manifest = made
    (tmp_path / "plain.html").write_text("<html><body><p>no stamp</p></body></html>")
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04 not really")
    for path in ("plain.html", "report.docx", "absent.html", "n.ipynb"):
        with pytest.raises(InputFileError):
            read_stamp(tmp_path / path)
        with pytest.raises(InputFileError):
            verify_report(tmp_path / path, manifest)


# --------------------------------------------------------------------------- the CLI

def test_cli_verify_exit_codes_and_table(made, capsys):
    stamp, page, manifest = made
    assert main(["verify", str(page), "--study", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "Verified" in out and "run key: same" in out
    assert re.search(r"^\s+same\s+study\.yaml\s", out, re.M)
    for entry in stamp["inputs"]:
        assert entry["sha256"][:SHORT] in out
    name = next(e["file"] for e in stamp["inputs"] if e["kind"] == "source")
    _flip_one_byte(manifest.parent / name)
    assert main(["verify", str(page), "--study", str(manifest)]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"^\s+CHANGED\s+{re.escape(name)}\s", out, re.M)
    assert "NOT verified" in out


def test_cli_verify_refuses_unusable_input_with_exit_2(made, tmp_path, capsys):
    _, page, manifest = made
    (tmp_path / "plain.html").write_text("<p>no stamp</p>")
    assert main(["verify", "plain.html", "--study", str(manifest)]) == 2
    assert "no ipeval provenance stamp" in capsys.readouterr().err
    assert main(["verify", str(page), "--against", str(tmp_path)]) == 2
    assert "--against is for a bundle" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "release.zip"), "--study", str(manifest)]) == 2
    assert "--study is for a report" in capsys.readouterr().err
    assert main(["verify", str(page), "--study", str(tmp_path / "nowhere.yaml")]) == 2


# --------------------------------------------------------------------------- national IDs

def _digest_with_an_id() -> tuple[str, str]:
    """A real SHA-256 whose hex holds 11 decimal digits in a row that pass as a national ID."""
    for i in range(200_000):
        digest = hashlib.sha256(str(i).encode()).hexdigest()
        for run in re.finditer(r"(?<![0-9])[0-9]{11}(?![0-9])", digest):
            if is_valid_national_id(run.group()):
                return digest, run.group()
    raise AssertionError("no digest with a valid ID found")


def test_digits_inside_a_digest_are_not_a_national_id():
    digest, digits = _digest_with_an_id()
    assert is_valid_national_id(digits) and is_valid_national_id(VALID_FNR)
    assert find_national_ids(f"sha256 {digest}") == []
    assert find_national_ids(f'"sha256": "{digest}"') == []
    assert find_national_ids(digest.upper()) == []
    built = "ab" + VALID_FNR + "c" * 51          # 64 hex characters
    assert find_national_ids(f"sha256 {built}") == []


def test_the_same_digits_beside_ordinary_text_are_still_a_national_id():
    _, digits = _digest_with_an_id()
    assert find_national_ids(f"pasient {digits} ringte") == [(8, 19, digits)]
    assert find_national_ids(f"id {VALID_FNR} her") == [(3, 14, VALID_FNR)]
    short = "ab" + VALID_FNR + "c" * 18           # 31 hex characters: not a digest
    assert find_national_ids(short) == [(2, 13, VALID_FNR)]
    assert find_national_ids("ab" + VALID_FNR + "c" * 19) == []     # 32: a digest (MD5)
    not_hex = "ab" + VALID_FNR + "g" * 51         # a long word, but not hexadecimal
    assert find_national_ids(not_hex) == [(2, 13, VALID_FNR)]
    mixed = "Ab" + VALID_FNR + "c" * 51           # hex in two cases at once is not one digest
    assert find_national_ids(mixed) == [(2, 13, VALID_FNR)]
    digest = hashlib.sha256(b"x").hexdigest()
    assert find_national_ids(f"{VALID_FNR} {digest}") == [(0, 11, VALID_FNR)]


# --------------------------------------------------------------------------- a real run

@pytest.mark.notebook
def test_a_run_stamps_its_notebook_its_report_and_its_last_slide(made, tmp_path, capsys):
    _notebook(tmp_path / "tiny.ipynb", "print('hello from the tiny notebook')")
    code = main(["run", "tiny.ipynb", "-p", "study", "study/study.yaml", "-p", "seed", "3",
                 "--out", "out", "--slides"])
    assert code == 0, capsys.readouterr()
    executed, report = tmp_path / "out" / "tiny.ipynb", tmp_path / "out" / "tiny.html"
    slides = tmp_path / "out" / "tiny.slides.html"
    stamp = nbformat.read(str(executed), as_version=4).metadata["ipeval"]["stamp"]
    assert stamp["parameters"] == {"study": "study/study.yaml", "seed": 3}
    assert stamp["notebook"]["path"] == "tiny.ipynb"
    assert stamp["run_key"] == run_stamp("tiny.ipynb", stamp["parameters"],
                                         cwd=tmp_path)["run_key"]
    assert str(tmp_path) not in json.dumps(stamp)

    page = report.read_text(encoding="utf-8")
    assert page.count(f'class="{STAMP_CLASS}"') == 1
    assert "hello from the tiny notebook" in page
    assert read_stamp(report) == stamp

    deck = slides.read_text(encoding="utf-8")
    assert deck.count(f'class="{STAMP_CLASS}"') == 1
    assert deck.rfind("<section") < deck.find(f'class="{STAMP_CLASS}"')     # the last slide
    assert deck.find("hello from the tiny notebook") < deck.find(f'class="{STAMP_CLASS}"')
    assert read_stamp(slides) == stamp

    capsys.readouterr()
    for path in (report, slides, executed):
        assert main(["verify", str(path), "--study", "study/study.yaml"]) == 0
        assert "Verified" in capsys.readouterr().out


def test_a_study_the_run_found_one_folder_up_is_found_there_again(study_copy, tmp_path,
                                                                   monkeypatch):
    """A notebook run from notebooks/ finds ``study/study.yaml`` one folder up; so does verify."""
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)
    _notebook(sub / "n.ipynb")
    stamp = run_stamp(sub / "n.ipynb", PARAMS, cwd=sub)
    assert stamp["inputs"], "the run did not find the study one folder up"
    check = verify_report(_page(stamp, sub / "n.html"), cwd=sub)
    assert check.ok and check.study.resolve() == (study_copy / "study.yaml").resolve()
