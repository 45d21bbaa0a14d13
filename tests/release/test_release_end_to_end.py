"""The whole way out on a real batch of small institutions: `ipeval release`, two checkers in
the review page (Chromium), a rejection, `ipeval release --bundle`, `ipeval verify`, and a
bundle changed afterwards."""
from __future__ import annotations

import json
import shutil
import zipfile
from urllib.parse import urlsplit

from browser import chromium, visit
from evaluation.cli import main
from evaluation.release.decisions import append_decision
from evaluation.release.review_server import ReviewServer


def test_from_release_to_a_verified_bundle(released_batch, tmp_path, capsys):
    _, after = released_batch
    out = tmp_path / "out"
    shutil.copytree(after, out, symlinks=True)
    release = json.loads((out / "release.json").read_text(encoding="utf-8"))
    reports = [o for o in release["outputs"] if o["kind"] == "report"]
    rejected, approved = reports[0], reports[1:]
    # the page loads on the real release, in a real browser, and nothing leaves 127.0.0.1
    with ReviewServer(out, who="kari", role="checker") as server, chromium() as browser:
        seen = visit(browser, server.url)
        cards = seen.page.locator("section.output")
        cards.first.wait_for()
        assert seen.problems == [] and seen.external == [] and seen.dialogs == []
        assert cards.count() == len(release["outputs"])
        assert urlsplit(server.url).hostname == "127.0.0.1"
        seen.page.close()
    for who in ("kari", "per"):
        for output in approved:
            append_decision(out, who=who, role="checker", uid=output["uid"],
                            sha256=output["sha256"], action="approve", os_user=who)
    append_decision(out, who="per", role="checker", uid=rejected["uid"],
                    sha256=rejected["sha256"], action="reject", reason="names a small group",
                    os_user="per")
    append_decision(out, who="kari", role="checker", uid=rejected["uid"],
                    sha256=rejected["sha256"], action="approve", os_user="kari")
    bundle = tmp_path / "release.zip"
    assert main(["release", str(out), "--bundle", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert {f"outputs/{o['file']}" for o in approved} <= names
    assert f"outputs/{rejected['file']}" not in names
    assert not any(".private" in n or "/internal/" in n for n in names)
    assert manifest["rules"]["min_cell"] == 5 and manifest["approvals_required"] == 2
    capsys.readouterr()
    assert main(["verify", str(bundle), "--against", str(out)]) == 0
    # a file added to the bundle afterwards is found
    with zipfile.ZipFile(bundle, "a") as zf:
        zf.writestr("outputs/extra.csv", "institution,n\nKarlsborg,3\n")
    assert main(["verify", str(bundle)]) == 1
    assert "extra.csv" in capsys.readouterr().out
