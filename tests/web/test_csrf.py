"""With CSRF protection on, as in production: posts without the page's token are refused kindly."""

from __future__ import annotations

import pytest

from screening.models import utcnow
from tests.helpers import location_path, new_screening, step_data

from .support import (
    checked_values,
    csrf_token,
    date_boxes,
    date_fields,
    db_state,
    example,
    main,
    main_text,
    questionnaire,
    saved,
    screening_row,
    title,
    update_screening,
    walk,
)

NOTICE = "for your security we could not save it yet"


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True, "PROPAGATE_EXCEPTIONS": False}


def test_step_post_without_token_shows_the_answers_again_and_saves_nothing(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    start = client.post(f"/s/{token}/start",
                        data={"csrf_token": csrf_token(client.get(f"/s/{token}"))})
    assert start.status_code == 303
    form = client.get(f"/s/{token}/step/about_surgery")
    before = db_state(app)
    data = step_data(questionnaire(app).step_by_id["about_surgery"], answers)
    data.update(date_fields("q_surgery_date", "5", "4", "2031"))
    for bad in ({}, {"csrf_token": "not-a-token"}, {"csrf_token": ""}):
        response = client.post(f"/s/{token}/step/about_surgery", data={**data, **bad})
        assert response.status_code == 400
        assert NOTICE in main_text(response)
        assert checked_values(response, "surgery_region") == ["lower_back"]
        assert checked_values(response, "surgery_type") == ["discectomy"]
        assert checked_values(response, "prior_spine_surgery") == ["no"]
        assert date_boxes(response, "q_surgery_date") == ("5", "4", "2031")
        assert main(response).find("h1").text == "Your planned surgery"
        assert response.headers["Cache-Control"] == "no-store"
        assert db_state(app) == before
    # The page re-shown carries a fresh token that works.
    response = client.post(f"/s/{token}/step/about_surgery",
                           data={**data, "csrf_token": csrf_token(response)})
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/medical_history"
    assert saved(app, token)["surgery_date"] == "2031-04-05"
    # And the token of the page as first shown works just the same.
    response = client.post(f"/s/{token}/step/about_surgery",
                           data={**data, "csrf_token": csrf_token(form)})
    assert response.status_code == 303


def test_start_without_token_is_a_friendly_400(app, client):
    token = new_screening(app)
    welcome = client.get(f"/s/{token}")
    before = db_state(app)
    response = client.post(f"/s/{token}/start")
    assert response.status_code == 400
    assert title(response) == "Please try again"
    assert "reload the page and try again" in main_text(response)
    assert app.config["SCREENING_CLINIC_CONTACT"] in main_text(response)
    assert "Traceback" not in response.get_data(as_text=True)
    assert db_state(app) == before
    response = client.post(f"/s/{token}/start", data={"csrf_token": csrf_token(welcome)})
    assert response.status_code == 303


def test_submit_without_token_is_a_friendly_400_and_does_not_submit(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"), csrf=True)
    review = client.get(f"/s/{token}/review")
    assert review.status_code == 200
    before = db_state(app)
    response = client.post(f"/s/{token}/submit")
    assert response.status_code == 400
    assert title(response) == "Please try again"
    assert db_state(app) == before
    assert screening_row(app, token)["status"] == "in_progress"
    response = client.post(f"/s/{token}/submit", data={"csrf_token": csrf_token(review)})
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/result"
    assert screening_row(app, token)["status"] == "submitted"


def test_token_from_another_browser_is_refused(app, client):
    token = new_screening(app)
    other = app.test_client()
    foreign = csrf_token(other.get(f"/s/{token}"))
    client.get(f"/s/{token}")
    before = db_state(app)
    response = client.post(f"/s/{token}/start", data={"csrf_token": foreign})
    assert response.status_code == 400
    assert db_state(app) == before


@pytest.mark.parametrize("case", [
    "expired link", "revoked link", "unknown link", "step not reached",
    "unknown step", "step hidden by branching",
])
def test_post_without_token_to_a_closed_link_or_step_shows_the_right_page(app, client, case):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"), until="pain", csrf=True)
    path, status, heading = {
        "expired link": (f"/s/{token}/step/about_surgery", 410, "This link has expired"),
        "revoked link": (f"/s/{token}/step/about_surgery", 410, "This link is no longer active"),
        "unknown link": ("/s/" + "q" * 32 + "/step/about_surgery", 404,
                         "This link isn't working"),
        "step not reached": (f"/s/{token}/step/safety", 409, "You haven't reached this part yet"),
        "unknown step": (f"/s/{token}/step/no_such_step", 404, "Page not found"),
        "step hidden by branching": (f"/s/{token}/step/earlier_surgery", 409,
                                     "This part doesn't apply to you"),
    }[case]
    if case == "expired link":
        update_screening(app, token, expires_at=utcnow())
    if case == "revoked link":
        update_screening(app, token, status="revoked", revoked_at=utcnow())
    before = db_state(app)
    response = client.post(path, data={"q_surgery_region": "neck", "q_back_pain": "3"})
    assert (response.status_code, title(response)) == (status, heading)
    assert NOTICE not in main_text(response)
    assert db_state(app) == before


def test_session_cookie_is_protected_and_holds_no_link_or_answers(app, client):
    token = new_screening(app)
    welcome = client.get(f"/s/{token}")
    cookie_header = welcome.headers["Set-Cookie"]
    assert "HttpOnly" in cookie_header
    assert "SameSite=Lax" in cookie_header
    walk(client, app, token, example(app, "self-harm flag"), csrf=True)
    review = client.get(f"/s/{token}/review")
    client.post(f"/s/{token}/submit", data={"csrf_token": csrf_token(review)})
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    dumped = repr(data)
    assert token not in dumped and token not in cookie.value
    assert "phq9" not in dumped and "neck" not in dumped


def test_request_larger_than_the_limit_is_413_before_the_csrf_check(app, client):
    token = new_screening(app)
    welcome = client.get(f"/s/{token}")
    before = db_state(app)
    response = client.post(f"/s/{token}/start",
                           data={"csrf_token": csrf_token(welcome), "x": "y" * (300 * 1024)})
    assert response.status_code == 413
    assert title(response) == "Too much text"
    assert response.headers["Cache-Control"] == "no-store"
    assert db_state(app) == before


def test_language_switch_without_token_is_refused_and_changes_nothing(app, client):
    token = new_screening(app, language="es")
    welcome = client.get(f"/s/{token}")
    before = db_state(app)
    response = client.post(f"/s/{token}/language", data={"language": "en"})
    assert response.status_code == 400
    assert title(response) == "Por favor, inténtelo de nuevo"  # in the patient's language
    assert db_state(app) == before
    assert screening_row(app, token)["language"] == "es"
    response = client.post(f"/s/{token}/language",
                           data={"language": "en", "csrf_token": csrf_token(welcome)})
    assert response.status_code == 303
    assert screening_row(app, token)["language"] == "en"
