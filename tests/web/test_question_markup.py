"""Questions kept rendered between step pages (screening.patient.markup): every page still shows
its own patient's answers, language and branching, and nothing a patient typed is kept."""

from __future__ import annotations

import datetime as dt

import pytest

from screening.models import utcnow
from screening.patient import markup
from tests.helpers import new_screening

from .support import checked_values, example, input_value, main, page, walk


@pytest.fixture(autouse=True)
def nothing_kept():
    markup.forget()
    yield
    markup.forget()


def test_two_patients_on_the_same_step_see_their_own_answers(app, client):
    high, low = example(app, "high tier"), example(app, "low tier")
    first, second = new_screening(app, "First Patient"), new_screening(app, "Second Patient")
    walk(client, app, first, high, until="mood")
    walk(client, app, second, low, until="mood")
    a = client.get(f"/s/{first}/step/about_surgery")
    b = client.get(f"/s/{second}/step/about_surgery")
    assert checked_values(a, "surgery_type") == [high["surgery_type"]]
    assert checked_values(b, "surgery_type") == [low["surgery_type"]]
    assert high["surgery_type"] != low["surgery_type"]
    # The same page again: served from what was kept, still each patient's own.
    assert checked_values(client.get(f"/s/{first}/step/about_surgery"), "surgery_type") == [
        high["surgery_type"]
    ]
    assert checked_values(client.get(f"/s/{second}/step/about_surgery"), "surgery_type") == [
        low["surgery_type"]
    ]


def test_a_follow_up_hidden_for_one_patient_is_shown_for_another(app, client):
    fusion = example(app, "moderate tier - two-level")  # fusion: the levels question is shown
    low = example(app, "low tier")
    assert low["surgery_type"] != "fusion"
    one, two = new_screening(app), new_screening(app)
    walk(client, app, one, fusion, until="mood")
    walk(client, app, two, low, until="mood")
    for _ in range(2):
        shown = main(client.get(f"/s/{one}/step/about_surgery")).by_id("question-fusion_levels")
        hidden = main(client.get(f"/s/{two}/step/about_surgery")).by_id("question-fusion_levels")
        assert not shown.hidden
        assert hidden.hidden


def test_the_same_question_in_two_languages(app, client):
    english, spanish = new_screening(app), new_screening(app, language="es")
    for token in (english, spanish):
        client.post(f"/s/{token}/start")
    en = page(client.get(f"/s/{english}/step/about_surgery")).by_id("question-surgery_type")
    es = page(client.get(f"/s/{spanish}/step/about_surgery")).by_id("question-surgery_type")
    assert "What type of surgery is planned?" in en.text
    assert "¿Qué tipo de cirugía está planeada?" in es.text
    assert "What type of surgery" not in es.text


def test_typed_answers_are_shown_but_never_kept(app, client):
    answers = example(app, "moderate tier - two-level")
    answers["goals"] = "Walk Biscuit the dog to the harbour again"
    token = new_screening(app)
    walk(client, app, token, answers)
    markup.forget()
    pain = client.get(f"/s/{token}/step/pain")
    assert input_value(pain, "q_pain_intensity") == str(answers["pain_intensity"])
    goals = client.get(f"/s/{token}/step/life_and_work")
    assert answers["goals"] in page(goals).by_id("question-goals").text
    kept = list(markup._kept.values())
    assert kept, "the pages' option questions were kept"
    for _question, html in kept:
        assert "Biscuit" not in html
        assert 'name="q_pain_intensity"' not in html
        assert 'name="q_goals"' not in html
    states = {key[2] for key in markup._kept}
    assert all(state[0] in ("checked", "empty") for state in states)


def test_a_date_bounded_by_today_carries_todays_date(app, client):
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    node = page(client.get(f"/s/{token}/step/about_surgery")).find("input", name="q_surgery_date")
    assert node.attrs["min"] == utcnow().date().isoformat()
    assert dt.date.fromisoformat(node.attrs["min"])  # a real date, not an empty attribute
