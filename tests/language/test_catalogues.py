"""The catalogues hold every message the code asks for, translated, with the same fields; a
label is found in the manifest, the instrument or the language next to it."""
from __future__ import annotations

import re
import string

import pytest

from evaluation.errors import ManifestError
from evaluation.intake.manifest import load_manifest
from evaluation.language import extract, language, using
from evaluation.language.catalogue import LANGUAGES, SOURCE, _catalogue  # noqa: F401
from evaluation.language.labels import label_in, parse_label

SOURCES = "sources:\n  people: {file: people.csv}\n"
TRANSLATED = [code for code in LANGUAGES if code != SOURCE]


def _fields(text: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def asked():
    return [m for m in extract.wanted() if m.id and not m.context]


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_of_the_code_is_translated(asked, code):
    catalogue = _catalogue(code)
    missing = []
    for message in asked:
        entry = catalogue.get(message.id)
        if entry is None or entry.fuzzy or not entry.string or \
                (isinstance(entry.string, tuple) and not all(entry.string)):
            missing.append(message.id)
    assert not missing, f"untranslated in {code}.po (run python -m evaluation.language.extract " \
                        f"notebooks, then translate): {missing}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_a_translation_keeps_the_fields_of_its_message(code):
    """A translation that drops or renames {n} would raise or say something else."""
    for entry in _catalogue(code):
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in strings:
            if text:
                assert _fields(text) == _fields(ids[-1]), (code, entry.id, text)


def test_plural_forms_follow_the_count():
    with using("nb"):
        from evaluation.language import people
        assert people(1) == "1 person" and people(2) == "2 personer"
    with using("nn"):
        from evaluation.language import people
        assert people(0) == "0 personar"


def test_a_label_falls_back_to_the_nearest_language():
    label = parse_label({"nb": "Kjønn", "en": "Sex"}, "where")
    assert label_in(label, "nn") == "Kjønn" and label_in(label, "en") == "Sex"
    assert label_in(None, "nb", "sex") == "sex"


@pytest.mark.parametrize("labels, message", [
    ("{sex: {de: Geschlecht}}", r"unknown language\(s\) \['de'\]"),
    ("{sex: [Kjønn]}", "must be a text or a mapping"),
    ("[sex]", "`labels` must map variable names"),
])
def test_bad_labels_in_a_manifest_say_where_and_what(tmp_path, labels, message):
    (tmp_path / "people.csv").write_text("person_id\n1\n", encoding="utf-8")
    (tmp_path / "study.yaml").write_text(f"name: t\n{SOURCES}labels: {labels}\n",
                                         encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        load_manifest(tmp_path)


def test_a_manifest_names_its_language(tmp_path):
    (tmp_path / "people.csv").write_text("person_id\n1\n", encoding="utf-8")
    (tmp_path / "study.yaml").write_text(f"name: t\n{SOURCES}language: nn\n", encoding="utf-8")
    assert load_manifest(tmp_path).language == "nn"
    (tmp_path / "study.yaml").write_text(f"name: t\n{SOURCES}language: sv\n", encoding="utf-8")
    with pytest.raises(ManifestError, match=r"`language` is 'sv'; expected one of en, nb, nn"):
        load_manifest(tmp_path)


def test_the_shipped_definitions_label_every_score_in_every_language():
    from evaluation.instruments import available_instruments, load_instrument
    for name in available_instruments():
        instrument = load_instrument(name)
        assert set(instrument.labels) == set(LANGUAGES), name
        for score in instrument.scores.values():
            assert set(score.labels) == set(LANGUAGES), (name, score.name)
            assert not re.search(r"[a-z]+_[a-z]+", score.labels["nb"]), score.labels


def test_language_is_checked_at_the_boundary():
    assert language("NB").code == "nb"
