"""The provenance stamp of a run and ``ipeval verify REPORT --study``."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from evaluation.cli.main import main
from evaluation.errors import InputFileError
from evaluation.intake.national_id import find_national_ids
from evaluation.report.stamp import input_fingerprint, run_key, run_stamp, stamp_footer
from evaluation.report.verify_stamp import read_stamp, verify_report


@pytest.fixture
def made(study_copy, tmp_path, monkeypatch):
    """A tiny notebook, the study it reads, and a page carrying the stamp of its run."""
    monkeypatch.chdir(tmp_path)
    cell = nbformat.v4.new_code_cell('study = "study"\nseed = 1')
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), "n.ipynb")
    study = Path("study")             # study_copy is tmp_path / "study"
    assert study.resolve() == study_copy.resolve()
    stamp = run_stamp("n.ipynb", {"study": "study", "seed": 7, "title": '<script>"x"</script>'},
                      cwd=tmp_path)
    page = tmp_path / "n.html"
    page.write_text("<html><body><p>report</p>" + stamp_footer(stamp) + "</body></html>")
    return stamp, page, study / "study.yaml"


def test_the_stamp_hashes_the_notebook_and_every_input_without_a_machine_path(made, tmp_path):
    stamp, _, manifest = made
    assert stamp["notebook"]["sha256"] == hashlib.sha256(Path("n.ipynb").read_bytes()).hexdigest()
    kinds = {e["kind"] for e in stamp["inputs"]}
    assert {"manifest", "source", "instrument"} <= kinds
    for entry in stamp["inputs"]:
        if entry["root"] == "study":
            data = (manifest.parent / entry["file"]).read_bytes()
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert str(tmp_path) not in json.dumps(stamp) and "/tmp" not in json.dumps(stamp)


def test_the_run_key_is_the_batch_key_and_follows_every_byte_of_the_inputs(made, tmp_path):
    stamp, _, manifest = made
    params = {k: v for k, v in stamp["parameters"].items() if k != "output_dir"}
    same = run_key(Path("n.ipynb").read_bytes(), params, input_fingerprint("study", tmp_path))
    assert same == stamp["run_key"]
    with_output = run_stamp("n.ipynb", {**stamp["parameters"], "output_dir": "x"}, cwd=tmp_path)
    assert with_output["run_key"] == stamp["run_key"]
    source = next(manifest.parent / e["file"] for e in stamp["inputs"] if e["kind"] == "source")
    source.write_bytes(source.read_bytes() + b"\n")
    assert run_stamp("n.ipynb", stamp["parameters"], cwd=tmp_path)["run_key"] != stamp["run_key"]


def test_the_footer_is_escaped_and_read_back_whole(made):
    stamp, page, _ = made
    text = page.read_text()
    assert "<script>" not in text and read_stamp(page) == stamp
    assert "Provenance" in stamp_footer(stamp) and "Opphav" in stamp_footer(stamp, "nb")


def test_an_unchanged_study_verifies(made, capsys):
    _, page, manifest = made
    assert verify_report(page, manifest).ok
    assert main(["verify", str(page), "--study", str(manifest)]) == 0
    assert "Verified" in capsys.readouterr().out


def test_a_changed_byte_a_missing_file_and_a_new_instrument_are_each_named(made, capsys):
    stamp, page, manifest = made
    sources = [manifest.parent / e["file"] for e in stamp["inputs"] if e["kind"] == "source"]
    sources[0].write_bytes(sources[0].read_bytes().replace(b"1", b"2", 1))
    check = verify_report(page, manifest)
    status = {f.file: f.status for f in check.files}
    assert not check.ok and status[sources[0].name] == "changed"
    assert sources[0].name in check.verdict()
    (manifest.parent / "instruments").mkdir(exist_ok=True)
    (manifest.parent / "instruments" / "extra.yaml").write_text("name: extra\n")
    assert {f.file: f.status for f in verify_report(page, manifest).files}[
        "instruments/extra.yaml"] == "new"
    sources[-1].unlink()
    assert main(["verify", str(page), "--study", str(manifest)]) == 1
    assert "MISSING" in capsys.readouterr().out


def test_a_copy_of_the_study_elsewhere_verifies(made, tmp_path):
    _, page, manifest = made
    shutil.copytree(manifest.parent, tmp_path / "elsewhere")
    assert verify_report(page, tmp_path / "elsewhere" / "study.yaml").ok


def test_changed_parameters_in_the_stamp_give_another_run_key(made):
    _, page, manifest = made
    page.write_text(page.read_text().replace("&quot;seed&quot;: 7", "&quot;seed&quot;: 8"))
    check = verify_report(page, manifest)
    assert check.run_key == "differs" and not check.ok


def test_no_stamp_or_a_wrong_pairing_of_options_is_unusable_input(made, tmp_path):
    _, page, manifest = made
    (tmp_path / "plain.html").write_text("<p>no stamp</p>")
    with pytest.raises(InputFileError):
        read_stamp(tmp_path / "plain.html")
    assert main(["verify", str(tmp_path / "plain.html"), "--study", str(manifest)]) == 2
    assert main(["verify", str(page), "--against", str(tmp_path)]) == 2
    assert main(["verify", str(tmp_path / "b.zip"), "--study", str(manifest)]) == 2


def test_digits_inside_a_digest_are_not_a_national_id_but_beside_text_they_are():
    digest = "ab" + "31129956715" + "c" * 51
    assert find_national_ids(f"sha256 {digest}") == []
    assert find_national_ids("id 31129956715 here") == [(3, 14, "31129956715")]
