"""The patient's link: unknown, tampered, expired, revoked and submitted links; the token itself;
the welcome page; the headers of patient pages."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import sqlalchemy as sa

from screening.extensions import db
from screening.models import utcnow
from tests.helpers import location_path, new_screening

from .support import (
    db_state,
    example,
    main,
    main_text,
    page,
    screening_row,
    title,
    update_screening,
    walk,
)

CONTACT = "Questions? Call the Spine Clinic front desk on 555-0100."


@pytest.fixture
def app_config() -> dict:
    return {"SCREENING_CLINIC_CONTACT": CONTACT}


def tampered(token: str) -> str:
    """The token with one character changed."""
    return token[:5] + ("A" if token[5] != "A" else "B") + token[6:]


def assert_friendly(response, status: int, heading: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert title(response) == heading
    assert CONTACT in main_text(response)
    html = response.get_data(as_text=True)
    for leak in ("Traceback", "Exception", "werkzeug", "sqlalchemy", 'File "'):
        assert leak not in html


def every_page(client, token: str) -> list:
    """One request to each patient address of a link, as a patient's browser could make them."""
    return [
        client.get(f"/s/{token}"),
        client.post(f"/s/{token}/start"),
        client.get(f"/s/{token}/step/about_surgery"),
        client.post(f"/s/{token}/step/about_surgery", data={"q_surgery_region": "neck"}),
        client.get(f"/s/{token}/review"),
        client.post(f"/s/{token}/submit"),
        client.get(f"/s/{token}/result"),
    ]


def test_unknown_token_is_a_friendly_404_with_the_clinic_contact(app, client):
    before = db_state(app)
    for response in every_page(client, "no-such-token-at-all-1234567890ab"):
        assert_friendly(response, 404, "This link isn't working")
        assert "check that you used the whole link" in main_text(response)
    assert db_state(app) == before


def test_tampered_token_page_is_identical_to_an_unknown_token_page(app, client):
    token = new_screening(app)
    assert client.get(f"/s/{token}").status_code == 200
    unknown = client.get("/s/" + "x" * len(token))
    changed = client.get(f"/s/{tampered(token)}")
    assert changed.status_code == unknown.status_code == 404
    assert changed.get_data() == unknown.get_data()
    # The same for the token of a link that is closed (it must not hint that a link exists).
    update_screening(app, token, status="revoked", revoked_at=utcnow())
    assert client.get(f"/s/{tampered(token)}").get_data() == unknown.get_data()
    assert client.get(f"/s/{tampered(token)}/step/pain").get_data() == unknown.get_data()


def test_expired_link_is_410_everywhere_and_changes_nothing(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"), until="pain")
    update_screening(app, token, expires_at=utcnow() - dt.timedelta(minutes=1))
    before = db_state(app)
    for response in every_page(client, token):
        assert_friendly(response, 410, "This link has expired")
        assert "contact the clinic and we will send you a new one" in main_text(response)
    assert db_state(app) == before
    assert screening_row(app, token)["status"] == "in_progress"


def test_link_marked_expired_by_the_clinic_is_410(app, client):
    token = new_screening(app)
    update_screening(app, token, status="expired")
    before = db_state(app)
    for response in every_page(client, token):
        assert_friendly(response, 410, "This link has expired")
    assert db_state(app) == before


def test_link_expiring_now_is_closed_and_one_still_valid_is_open(app, client):
    open_token = new_screening(app, days=1)
    assert client.get(f"/s/{open_token}").status_code == 200
    update_screening(app, open_token, expires_at=utcnow() + dt.timedelta(seconds=60))
    assert client.get(f"/s/{open_token}").status_code == 200
    update_screening(app, open_token, expires_at=utcnow())
    assert client.get(f"/s/{open_token}").status_code == 410


def test_revoked_link_is_410_and_changes_nothing(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"), until="medical_history")
    update_screening(app, token, status="revoked", revoked_at=utcnow())
    before = db_state(app)
    for response in every_page(client, token):
        assert_friendly(response, 410, "This link is no longer active")
    assert db_state(app) == before


def test_submitted_link_is_410_from_a_fresh_client(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"))
    assert client.post(f"/s/{token}/submit").status_code == 303
    assert client.get(f"/s/{token}/result").status_code == 200
    before = db_state(app)
    other = app.test_client()  # another browser: no cookies
    for response in every_page(other, token):
        assert_friendly(response, 410, "Your answers have already been sent")
        assert "this link cannot be used again" in main_text(response)
    assert db_state(app) == before
    # The browser that sent the answers cannot reopen the questionnaire either.
    assert client.get(f"/s/{token}").status_code == 410
    assert client.get(f"/s/{token}/step/about_surgery").status_code == 410


def test_only_the_sha256_of_a_token_is_stored(app, client):
    tokens = [new_screening(app) for _ in range(3)]
    assert len(set(tokens)) == 3
    for token in tokens:
        # token_urlsafe(24): 24 random bytes (192 bits) as 32 URL-safe characters.
        assert len(token) == 32
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)
        row = screening_row(app, token)
        assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    walk(client, app, tokens[0], example(app, "low tier"))
    assert client.post(f"/s/{tokens[0]}/submit").status_code == 303
    with app.app_context():
        dump = []
        for table in db.metadata.sorted_tables:
            dump += [str(tuple(r)) for r in db.session.execute(sa.select(table))]
        db.session.remove()
    assert dump
    for token in tokens:
        assert not [line for line in dump if token in line]


def test_welcome_page_explains_and_starts_with_a_post(app, client):
    token = new_screening(app)
    response = client.get(f"/s/{token}")
    assert response.status_code == 200
    text = main_text(response)
    assert "It takes about 15 minutes" in text
    assert "Your answers are saved each time you press Continue" in text
    assert "This is not a diagnosis" in text
    form = main(response).find("form")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == f"/s/{token}/start"
    assert form.find("button").text == "Start"
    assert "Continue where I left off" not in text

    before = db_state(app)
    response = client.get(f"/s/{token}/start")
    assert response.status_code == 405
    assert title(response) == "Not allowed"
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}  # RFC 9110
    assert response.mimetype == "text/html"
    assert "Traceback" not in response.get_data(as_text=True)
    assert db_state(app) == before

    response = client.post(f"/s/{token}/start")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/about_surgery"
    # Starting changes nothing: the screening is only in progress once a step is saved.
    assert db_state(app) == before


def test_patient_pages_are_not_cached_and_keep_the_link_to_themselves(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    responses = [
        client.get(f"/s/{token}"),
        client.post(f"/s/{token}/start"),
        client.get(f"/s/{token}/step/about_surgery"),
        client.post(f"/s/{token}/step/about_surgery", data={"q_surgery_region": "nowhere"}),
        client.get(f"/s/{token}/step/pain"),  # not reached: 409
        client.get(f"/s/{token}/step/nope"),  # 404
        client.get(f"/s/{tampered(token)}"),  # unknown: 404
    ]
    walk(client, app, token, answers)
    responses += [client.get(f"/s/{token}/review"), client.post(f"/s/{token}/submit"),
                  client.get(f"/s/{token}/result"), app.test_client().get(f"/s/{token}")]
    codes = [r.status_code for r in responses]
    assert codes == [200, 303, 200, 422, 409, 404, 404, 200, 303, 200, 410]
    for response in responses:
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_page_titles_and_landmarks(app, client):
    token = new_screening(app)
    response = client.get(f"/s/{token}")
    doc = page(response)
    assert doc.find("html").attrs["lang"] == "en"
    assert doc.find("meta", name="robots").attrs["content"] == "noindex, nofollow"
    clinic = app.config["SCREENING_CLINIC_NAME"]
    assert doc.find("title").text == f"Before your spine surgery – {clinic}"
