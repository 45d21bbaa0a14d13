"""De-identification of free text (evaluation.intake.deidentify).

The texts are made up; every national ID is computed from the check-digit rules.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation import Study
from evaluation.intake.deidentify import (ALLOWED_CAPITALISED, ID_TAG, NAME_TAG, PLACE_TAG, deidentify,
                                   study_vocabulary)
from evaluation.errors import ParameterError
from evaluation.synthetic import SyntheticConfig, write_study

WORKED = "31129956715"      # fnrinfo.no's worked example (landscape.md 7.3)
PLACES = ["Lassonløkken", "Fjærholmen", "Vårli", "Ås"]
NAMES = ["Åse Brøndbø", "Øystein"]


@pytest.mark.parametrize("text, expected", [
    # a name in the middle of a sentence, found without being listed
    ("Jeg bestemte selv hva som skulle stå i planen min, sammen med Mona.",
     "Jeg bestemte selv hva som skulle stå i planen min, sammen med [navn]."),
    ("Da Kari forklarte hva en IP var, skjønte jeg poenget.",
     "Da [navn] forklarte hva en IP var, skjønte jeg poenget."),
    # listed names and places, any case, æøå inside words
    ("Før var alt kaos, nå har jeg en plan å holde meg til på Lassonløkken.",
     "Før var alt kaos, nå har jeg en plan å holde meg til på [sted]."),
    ("øystein flyttet fra vårli til FJÆRHOLMEN.", "[navn] flyttet fra [sted] til [sted]."),
    ("Åse Brøndbø ringte, og Brøndbø kom.", "[navn] ringte, og [navn] kom."),
    ("Hun bor på Ås nå, ikke på Åsen.", "Hun bor på [sted] nå, ikke på [navn]."),
    # national IDs, plain and with a space or hyphen
    (f"Fødselsnummeret er {WORKED[:6]} {WORKED[6:]}.", f"Fødselsnummeret er {ID_TAG}."),
    (f"nr. {WORKED[:6]}-{WORKED[6:]} og {WORKED}", f"nr. {ID_TAG} og {ID_TAG}"),
    ("Saksnummer 31129956716 er ikke et fødselsnummer.",
     "Saksnummer 31129956716 er ikke et fødselsnummer."),
    # sentence-initial capitals, acronyms and allowed words stay
    ("Hverdagen er roligere nå. Jeg vet hva som skjer! Det hjelper.",
     "Hverdagen er roligere nå. Jeg vet hva som skjer! Det hjelper."),
    ("Koordinatoren holder trådene mellom NAV og kommunen.",
     "Koordinatoren holder trådene mellom NAV og kommunen."),
    ("Systematisk IP-arbeid på NAV-kontoret gjør jobben min lettere.",
     "Systematisk IP-arbeid på NAV-kontoret gjør jobben min lettere."),
    ("Vi brukte ORS og SRS i FIT-timene, og «Det går bra» sa de.",
     "Vi brukte ORS og SRS i FIT-timene, og «Det går bra» sa de."),
    # hyphenated and Sámi names, titles before names, a new line starts a sentence
    ("Vi møtte Anne-Lise og Máret hos dr. Hansen.",
     "Vi møtte [navn] og [navn] hos dr. [navn]."),
    ("Notat:\nPer kom ikke.", "Notat:\nPer kom ikke."),
])
def test_examples(text, expected):
    assert deidentify(text, names=NAMES, places=PLACES) == expected


def test_sentence_initial_names_need_the_list():
    text = "Kari spurte hva jeg ville, og det ble skrevet inn."
    assert deidentify(text) == text
    assert deidentify(text, names=["kari"]) == f"{NAME_TAG} spurte hva jeg ville, og det ble skrevet inn."


def test_whole_words_only():
    assert deidentify("Per, Perle og persienner.", names=["Per"], mask_capitalised=False) == \
        f"{NAME_TAG}, Perle og persienner."
    assert deidentify("Vårlien ligger ved Vårli.", places=["Vårli"], mask_capitalised=False) == \
        f"Vårlien ligger ved {PLACE_TAG}."


def test_longest_first_and_names_win_a_tie():
    assert deidentify("Hilsen Åse Brøndbø", names=["Åse", "Åse Brøndbø"],
                      mask_capitalised=False) == f"Hilsen {NAME_TAG}"
    assert deidentify("til Nes", names=["Nes"], places=["Nes"]) == f"til {NAME_TAG}"


def test_capitalised_masking_can_be_turned_off_or_widened():
    text = "Vi snakket med Mona på Helsehuset."
    assert deidentify(text, mask_capitalised=False) == text
    assert deidentify(text) == f"Vi snakket med {NAME_TAG} på {NAME_TAG}."
    assert deidentify(text, allow=["Helsehuset"]) == f"Vi snakket med {NAME_TAG} på Helsehuset."
    assert "NAV" in ALLOWED_CAPITALISED and "IP" in ALLOWED_CAPITALISED


def test_tags_are_not_masked_again():
    assert deidentify(f"{NAME_TAG} og {PLACE_TAG}", names=["navn"], places=["sted"]) == \
        f"{NAME_TAG} og {PLACE_TAG}"


def test_bad_arguments():
    assert deidentify(None) is None
    assert deidentify("") == ""
    with pytest.raises(ParameterError, match="single string"):
        deidentify("Kari", names="Kari")
    with pytest.raises(ParameterError, match="string"):
        deidentify("Kari", names=[3])


WORDS = ["Kari", "Åse", "ola", "NAV", "IP-arbeid", "Lassonløkken", "vårli", "møtet", "planen",
         "[navn]", "Jeg", "det", "er", "fint", "Anne-Lise", WORKED, "311299 56715", "dr.", "«",
         "»", ".", ",", "!", "?", "\n", "-", "Øst", "ær", "Å", "24", "[sted]"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=25), st.sampled_from([" ", "", "  "]))
def test_idempotent(words, sep):
    text = sep.join(words)
    once = deidentify(text, names=["Kari", "ola"], places=["Lassonløkken", "Vårli"])
    assert deidentify(once, names=["Kari", "ola"], places=["Lassonløkken", "Vårli"]) == once
    if sep:                         # without spaces digits run together: not an ID
        assert WORKED not in once


@pytest.mark.parametrize("text", [
    "Da Kari forklarte hva en IP var, skjønte jeg poenget.",
    "Vi snakker om IP fra første dag på Lassonløkken.",
    f"Åse ({WORKED}) møtte Øystein i Vårli.",
])
def test_idempotent_examples(text):
    once = deidentify(text, names=NAMES, places=PLACES)
    assert deidentify(once, names=NAMES, places=PLACES) == once


def test_study_vocabulary(tmp_path):
    write_study(tmp_path, SyntheticConfig(persons=200, institutions=3, seed=5))
    study = Study.load(tmp_path)
    names, places = study_vocabulary(study)
    assert names == []                       # no source carries names
    assert set(study.institutions()) <= set(places)
    assert {"Oslo", "Lassonløkken"} <= set(places)       # municipality and institution
    restricted = Study.load(tmp_path, institution=study.institutions()[0])
    assert study_vocabulary(restricted) == (names, places)


def test_study_vocabulary_reads_name_columns(study_copy):
    import pandas as pd
    path = study_copy / "codebook.csv"
    codebook = pd.read_csv(path)
    codebook["author_name"] = "Ingrid Hætta"
    codebook.to_csv(path, index=False)
    names, _ = study_vocabulary(Study.load(study_copy))
    assert {"Ingrid Hætta", "Ingrid", "Hætta"} <= set(names)
