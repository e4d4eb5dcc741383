"""Questionnaires in several languages: the patient's texts in each, everything else unchanged."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

from screening.definition import load_path
from screening.definition.model import Text
from screening.scoring import score

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BILINGUAL = FIXTURES / "bilingual.yaml"


def test_the_first_language_is_the_clinics_and_the_texts_carry_their_translations():
    q = load_path(BILINGUAL)
    assert q.languages == ("en", "es") and q.language == "en"
    label = q.questions["nicotine"].label
    assert label == "Do you use nicotine?"
    assert isinstance(label, Text) and label.to("es") == "¿Usa nicotina?"


def test_localized_has_every_patient_text_in_spanish():
    q = load_path(BILINGUAL)
    es = q.localized("es")
    assert es.title == "Antes de su cirugía"
    assert es.description == "Unas preguntas."
    step = es.steps[0]
    assert (step.title, step.intro) == ("Hábitos", "Sobre sus hábitos.")
    nicotine = es.questions["nicotine"]
    assert nicotine.label == "¿Usa nicotina?"
    assert nicotine.help == "Cigarrillos, vapeadores o bolsitas."
    assert [o.label for o in nicotine.options] == ["Nunca", "Todos los días"]
    assert es.questions["sleep_hours"].unit == "horas"
    factor = es.factor_by_id["nicotine_use"]
    assert (factor.patient_text, factor.patient_action) == (
        "La nicotina retrasa la curación.",
        "Dejarla ayuda.",
    )
    assert es.red_flag_by_id["no_sleep"].patient_message == "Por favor, dígaselo a su equipo."


def test_the_clinics_texts_ids_and_rules_stay_as_they_are():
    q = load_path(BILINGUAL)
    es = q.localized("es")
    factor, original = es.factor_by_id["nicotine_use"], q.factor_by_id["nicotine_use"]
    assert factor.label == "Nicotine use"
    assert factor.clinician_text == original.clinician_text
    assert factor.when == original.when and factor.points == original.points
    assert es.red_flag_by_id["no_sleep"].clinician_message == "Reports no sleep."
    assert [o.value for o in es.questions["nicotine"].options] == ["never", "daily"]
    assert (es.id, es.version, es.content_hash) == (q.id, q.version, q.content_hash)
    assert es.tiers == q.tiers


def test_a_language_the_definition_lacks_or_its_first_is_the_questionnaire_itself():
    q = load_path(BILINGUAL)
    assert q.localized("en") is q
    assert q.localized("fr") is q
    assert q.localized(None) is q
    assert q.localized("es") is q.localized("es")  # made once


def test_scoring_does_not_depend_on_the_language():
    q = load_path(BILINGUAL)
    answers = {"nicotine": "daily", "sleep_hours": 0}
    english, spanish = score(q, answers), score(q.localized("es"), answers)
    assert (english.total, english.tier.id) == (spanish.total, spanish.tier.id) == (2, "high")
    assert [r.factor.id for r in spanish.factors] == ["nicotine_use"]
    assert [r.flag.id for r in spanish.red_flags] == ["no_sleep"]
    assert spanish.red_flags[0].flag.patient_message == "Por favor, dígaselo a su equipo."


def test_no_text_of_the_first_language_is_left_in_the_spanish_copy():
    """Every Text in the questionnaire is swapped: none survives in the localized copy."""
    es = load_path(BILINGUAL).localized("es")
    left = []

    def walk(node, path):
        if isinstance(node, Text):
            left.append(path)
        elif isinstance(node, tuple):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")
        elif dataclasses.is_dataclass(node):
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name), f"{path}.{f.name}")

    walk(es, "q")
    assert left == []


def test_texts_survive_pickling_with_their_translations():
    label = load_path(BILINGUAL).questions["nicotine"].label
    copy = pickle.loads(pickle.dumps(label))
    assert copy == label and copy.to("es") == "¿Usa nicotina?"
