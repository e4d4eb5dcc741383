"""Sending the answers, and the page the patient sees afterwards."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from screening.domain.demo import submittable
from screening.extensions import db
from screening.models import Screening
from tests.helpers import location_path, new_screening, step_data

from .support import (
    db_state,
    example,
    main,
    main_text,
    page,
    questionnaire,
    saved,
    screening_row,
    squash,
    walk,
    words,
)

TIER_WORDS = {"low", "moderate", "high", "tier", "tiers", "points", "point", "score"}


def submitted(client, app, name_part: str) -> tuple[str, dict]:
    token = new_screening(app)
    answers = example(app, name_part)
    walk(client, app, token, answers)
    response = client.post(f"/s/{token}/submit")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/result"
    return token, answers


def test_submit_is_idempotent(app, client):
    token, _ = submitted(client, app, "moderate tier - two-level")
    first = screening_row(app, token)
    assert first["status"] == "submitted"
    assert first["submitted_at"] is not None
    assert (first["total"], first["tier"]) == (6, "moderate")
    before = db_state(app)
    response = client.post(f"/s/{token}/submit")  # a second click, or the back button
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/result"
    assert db_state(app) == before
    assert screening_row(app, token)["submitted_at"] == first["submitted_at"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Screening)) == 1
        db.session.remove()


def test_after_submission_steps_are_closed_for_the_same_browser(app, client):
    token, answers = submitted(client, app, "low tier")
    stored = saved(app, token)
    before = db_state(app)
    q = questionnaire(app)
    for step_id in ("about_surgery", "pain", "life_and_work"):
        data = step_data(q.step_by_id[step_id], {**answers, "back_pain": 1,
                                                 "surgery_region": "neck"})
        response = client.post(f"/s/{token}/step/{step_id}", data=data)
        assert response.status_code == 410
        assert main(response).find("h1").text == "Your answers have already been sent"
        assert client.post(f"/s/{token}/step/{step_id}?return_to=review",
                           data=data).status_code == 410
    assert client.post(f"/s/{token}/start").status_code == 410
    assert client.get(f"/s/{token}/review").status_code == 410
    assert db_state(app) == before
    assert saved(app, token) == stored


def test_submit_with_missing_answers_goes_to_the_unfinished_step(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers, until="coping")
    before = db_state(app)
    response = client.post(f"/s/{token}/submit")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/coping"
    assert db_state(app) == before
    row = screening_row(app, token)
    assert row["status"] == "in_progress"
    assert row["submitted_at"] is None and row["total"] is None
    assert client.get(f"/s/{token}/result").status_code == 404  # nothing to show yet


def test_submit_after_a_change_that_opens_a_new_step_does_not_submit(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers)
    data = step_data(questionnaire(app).step_by_id["about_surgery"],
                     {**answers, "prior_spine_surgery": True})
    assert client.post(f"/s/{token}/step/about_surgery", data=data).status_code == 303
    before = db_state(app)
    response = client.post(f"/s/{token}/submit")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/earlier_surgery"
    assert db_state(app) == before
    assert screening_row(app, token)["status"] == "in_progress"


def test_result_page_shows_no_score_and_lists_what_the_patient_can_work_on(app, client):
    q = questionnaire(app)
    # Every example a patient alone can give (complete, without the clinic's entries: those are
    # scored by the engine's own tests).
    for ex in submittable(q):
        token = new_screening(app)
        walk(client, app, token, ex.answers)
        assert client.post(f"/s/{token}/submit").status_code == 303
        response = client.get(f"/s/{token}/result")
        assert response.status_code == 200
        content = main(response)
        text = content.text
        assert "Thank you, your answers have been sent" in text
        # The factor and flag texts are the questionnaire's own words ("your mood has been low
        # lately"): apart from them, no word of the page speaks of a tier or of points.
        by_id = {f.id: f for f in q.risk_factors}
        rest = text
        for factor_id in ex.expect["factors"]:
            rest = rest.replace(squash(by_id[factor_id].patient_text), "")
            rest = rest.replace(squash(by_id[factor_id].patient_action or ""), "")
        for flag in q.red_flags:  # and so are the red-flag messages ("a high fever")
            rest = rest.replace(squash(flag.patient_message), "")
        found = words(rest) & TIER_WORDS
        assert not found, (ex.name, found)
        assert not re.search(r"\b(low|moderate|high)(er)?[- ]risk\b|\brisk (tier|level|score)",
                             text, re.I), ex.name
        assert not re.search(r"\b\d+\s*(of\s*\d+\s*)?points?\b", text)
        for tier in q.tiers:
            assert f"{tier.label} risk" not in text
        for factor_id in ex.expect["factors"]:
            factor = by_id[factor_id]
            # Never the clinician's words.
            assert squash(factor.clinician_text) not in text, (ex.name, factor_id)
            assert squash(factor.action) not in text, (ex.name, factor_id)
            if factor.modifiable:
                assert squash(factor.patient_text) in text, (ex.name, factor_id)
                assert factor.patient_action, factor_id
                assert squash(factor.patient_action) in text, (ex.name, factor_id)
            else:
                assert squash(factor.patient_text) not in text, (ex.name, factor_id)
        for factor in q.risk_factors:
            if factor.id not in ex.expect["factors"]:
                assert squash(factor.patient_text) not in text, (ex.name, factor.id)
        assert response.headers["Cache-Control"] == "no-store"


def flag_box(response, flag_id: str):
    return page(response).find(**{"data-flag": flag_id})


def test_self_harm_answer_shows_the_crisis_message_where_it_matters(app, client):
    """The full message where the answer was given; once more, compactly, on the review page
    (with the crisis lines); in full on the result; the crisis lines on a returning visit and on
    the "already sent" page. Not repeated in full on every later step."""
    token = new_screening(app)
    answers = example(app, "self-harm flag")
    assert answers["phq9_9"] == 1
    walk(client, app, token, answers, until="worry")
    assert saved(app, token)["phq9_9"] == 1

    mood = client.get(f"/s/{token}/step/mood")  # re-opened after saving
    box = flag_box(mood, "self_harm")
    assert box is not None and not box.hidden
    assert "988" in box.text and "Suicide & Crisis Lifeline" in box.text
    assert box.attrs.get("role") == "alert"
    assert "Help is there for you right now" in box.text  # the urgency, in words first
    assert "Your care team will see this answer when they look at your questionnaire" in box.text

    nxt = client.get(f"/s/{token}/step/worry")
    assert flag_box(nxt, "self_harm") is None and "988" not in main_text(nxt)

    welcome = main_text(client.get(f"/s/{token}"))  # coming back to the link
    assert "If you are thinking about hurting yourself: call or text 988" in welcome

    walk(client, app, token, answers)
    review = client.get(f"/s/{token}/review")
    assert flag_box(review, "self_harm") is None  # not the full box ...
    note = page(review).find("div", class_="flag-note flag-same_day")
    assert note is not None and "call or text 988" in note.text  # ... a short note

    assert client.post(f"/s/{token}/submit").status_code == 303
    result = client.get(f"/s/{token}/result")
    box = flag_box(result, "self_harm")
    assert box is not None and not box.hidden
    assert "call or text 988" in main_text(result)
    assert "If you are in immediate danger, call 911" in main_text(result)
    row = screening_row(app, token)
    assert row["has_red_flag"] is True
    assert [f["id"] for f in row["assessment"]["red_flags"]] == ["self_harm"]
    already = app.test_client().get(f"/s/{token}")  # the link again, in another browser
    assert already.status_code == 410
    assert "call or text 988" in main_text(already)


def test_the_patient_is_told_the_clinic_hears_at_once_only_when_it_does(app, client):
    app.config["SCREENING_RED_FLAG_EMAIL"] = "spine-team@clinic.example"
    token = new_screening(app)
    walk(client, app, token, example(app, "self-harm flag"), until="worry")
    box = flag_box(client.get(f"/s/{token}/step/mood"), "self_harm")
    assert "Your care team is told as soon as this answer is saved." in box.text


def test_without_the_self_harm_answer_the_crisis_message_stays_hidden(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    assert answers["phq9_9"] == 0
    walk(client, app, token, answers, until="worry")
    mood = client.get(f"/s/{token}/step/mood")
    box = flag_box(mood, "self_harm")
    assert box is not None and box.hidden  # there for the page's script, not shown
    walk(client, app, token, answers)
    assert flag_box(client.get(f"/s/{token}/review"), "self_harm") is None
    client.post(f"/s/{token}/submit")
    result = client.get(f"/s/{token}/result")
    assert flag_box(result, "self_harm") is None
    assert "988" not in main_text(result)
    assert screening_row(app, token)["has_red_flag"] is False


@pytest.mark.parametrize("name_part", ["cauda equina"])
def test_emergency_flag_is_shown_first_on_the_result(app, client, name_part):
    token, _ = submitted(client, app, name_part)
    result = client.get(f"/s/{token}/result")
    boxes = [n for n in main(result).iter() if "data-flag" in n.attrs]
    assert [b.attrs["data-flag"] for b in boxes] == ["cauda_equina"]
    assert "go to the nearest emergency department" in boxes[0].text
    order = list(main(result).iter())
    heading = next(i for i, n in enumerate(order) if n.tag == "h1")
    assert [i for i, n in enumerate(order) if n.attrs.get("data-flag")][0] < heading


def test_a_browser_sees_only_the_result_it_sent(app, client):
    mine, _ = submitted(client, app, "low tier")
    other_browser = app.test_client()
    theirs, _ = submitted(other_browser, app, "self-harm flag")
    assert client.get(f"/s/{mine}/result").status_code == 200
    assert other_browser.get(f"/s/{theirs}/result").status_code == 200
    response = client.get(f"/s/{theirs}/result")
    assert response.status_code == 410
    assert "Risk" not in main_text(response) and "work on" not in main_text(response)
    # What the "already sent" page carries while their self-harm flag stands: the crisis lines.
    assert "call or text 988" in main_text(response)
    assert "988" not in main_text(other_browser.get(f"/s/{mine}/result"))
    assert other_browser.get(f"/s/{mine}/result").status_code == 410
