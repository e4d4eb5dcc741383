"""Signing in and out: messages that reveal nothing, rate limits, idle and absolute timeouts."""

from __future__ import annotations

import time

import pytest

from screening.domain import accounts as auth
from screening.models import User
from tests import factories
from tests.web.support import page

from .conftest import (
    audit_events,
    goes_to_login,
    is_signed_in,
    location,
    login,
    set_columns,
    signed_in,
    snapshot,
)

WRONG = "The e-mail or password is not right."


def test_signing_in_redirects_to_the_list_and_is_audited(app, client, staff):
    response = login(client, staff["clinician"])
    assert response.status_code == 303
    assert location(response) == "/staff/"
    assert is_signed_in(client)
    assert client.get("/staff/").status_code == 200
    [event] = audit_events(app, "login")
    assert (event.user_id, event.user_email) == (staff["clinician"].id, "clinician@clinic.example")
    assert event.address == "127.0.0.1"


def test_the_e_mail_is_matched_without_case_or_spaces(app, client, staff):
    response = login(client, "  Intake@Clinic.EXAMPLE ", staff["intake"].password)
    assert response.status_code == 303


def test_next_leads_back_to_a_staff_page_only(app, staff):
    response = login(app.test_client(), staff["admin"], next_="/staff/audit?action=login")
    assert location(response) == "/staff/audit?action=login"
    for evil in ("//evil.example/staff/", "https://evil.example/staff/", "/s/abc", "javascript:1"):
        response = login(app.test_client(), staff["intake"], next_=evil)
        assert response.status_code == 303
        assert location(response) == "/staff/", evil


def test_a_guarded_page_sends_anonymous_visitors_to_sign_in_and_back(app, client, staff):
    response = client.get("/staff/users?x=1")
    assert goes_to_login(response)
    assert "next=" in location(response)
    login_page = client.get(location(response))
    assert "Please sign in to continue." in page(login_page).find("main").text
    data = {"email": staff["admin"].email, "password": staff["admin"].password}
    response = client.post(location(response), data=data)
    assert location(response) == "/staff/users?x=1"


def test_wrong_password_and_unknown_e_mail_give_the_same_answer(app, staff):
    wrong = login(app.test_client(), "clinician@clinic.example", "Not-The-Password-123")
    unknown = login(app.test_client(), "nobody.here@clinic.example", "Not-The-Password-123")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert WRONG in page(response).find("main").text
    same = wrong.get_data(as_text=True).replace("clinician@clinic.example", "EMAIL")
    assert same == unknown.get_data(as_text=True).replace("nobody.here@clinic.example", "EMAIL")
    varying = {"Content-Length", "X-Request-ID"}
    assert {k: v for k, v in wrong.headers.items() if k not in varying} == {
        k: v for k, v in unknown.headers.items() if k not in varying
    }


def test_an_unknown_e_mail_costs_a_password_check_too(app, staff, monkeypatch):
    """Both cases take the same time: a hash is checked whether or not the account exists."""
    calls = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    login(app.test_client(), "nobody.here@clinic.example", "Not-The-Password-123")
    login(app.test_client(), "clinician@clinic.example", "Not-The-Password-123")
    assert len(calls) == 2
    assert all(h.startswith("scrypt:") for h in calls)


def test_a_disabled_account_cannot_sign_in(app, client, staff):
    set_columns(app, User, staff["clinician"].id, active=False)
    response = login(client, staff["clinician"])
    assert response.status_code == 401
    assert WRONG in page(response).find("main").text
    assert not is_signed_in(client)
    assert audit_events(app, "login") == []


def test_failed_logins_are_audited_without_the_password(app, client, staff):
    secret = "Sekret-Guess-4711-xyz"
    login(client, "Clinician@Clinic.example", secret)
    login(client, "someone.else@clinic.example", secret)
    events = audit_events(app, "login_failed")
    assert len(events) == 2
    assert events[0].user_email == "clinician@clinic.example"  # which account was tried
    assert all(e.user_id is None and e.address == "127.0.0.1" for e in events)
    everything = repr(snapshot(app))
    assert secret not in everything and secret.lower() not in everything


def test_missing_fields_are_named_and_not_audited(app, client, staff):
    response = client.post("/staff/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    text = page(response).find("main").text
    assert "Enter your e-mail address." in text and "Enter your password." in text
    assert audit_events(app) == []


def test_the_sixth_failed_attempt_for_one_account_is_refused(app, staff):
    for attempt in range(5):
        response = login(app.test_client(), staff["intake"], f"Wrong-password-{attempt:04d}")
        assert response.status_code == 401, attempt
    response = login(app.test_client(), staff["intake"], "Wrong-password-0005")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    # When to come back: within the limit's 15 minutes (and the second the limiter rounds up).
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60 + 1
    # From that address the account is refused even with the right password, in any browser;
    # other accounts are not.
    assert login(app.test_client(), staff["intake"]).status_code == 429
    same = login(app.test_client(), " INTAKE@clinic.example", staff["intake"].password)
    assert same.status_code == 429
    assert login(app.test_client(), staff["clinician"]).status_code == 303
    # The guesses never lock the real user out: from their own address they sign in.
    real_user = app.test_client()
    real_user.environ_base["REMOTE_ADDR"] = "10.20.30.40"
    assert login(real_user, staff["intake"]).status_code == 303


class TestLowerLimits:
    @pytest.fixture
    def app_config(self, staff_config):
        return {
            **staff_config,
            "SCREENING_LOGIN_LIMIT_ADDRESS": "3 per 15 minutes",
            "SCREENING_LOGIN_LIMIT_ACCOUNT": "2 per 15 minutes",
        }

    def test_failed_attempts_from_one_address_are_limited(self, app, staff):
        for n in range(3):
            response = login(app.test_client(), f"guess{n}@clinic.example", "Wrong-password-0000")
            assert response.status_code == 401, n
            assert "Retry-After" not in response.headers  # only a refusal says when to retry
        assert login(app.test_client(), "guess9@clinic.example", "x" * 12).status_code == 429
        assert login(app.test_client(), staff["admin"]).status_code == 429
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "10.0.0.7"
        assert login(other, staff["admin"]).status_code == 303

    def test_successful_sign_ins_do_not_count(self, app, staff):
        client = app.test_client()
        for _ in range(4):
            assert login(client, staff["admin"]).status_code == 303
            assert client.post("/staff/logout").status_code == 303
        for n in range(2):
            assert login(client, staff["admin"], f"Wrong-password-{n:04d}").status_code == 401
        assert login(client, staff["admin"]).status_code == 429


def test_an_idle_session_ends_after_30_minutes(app, client, staff):
    signed_in(client, staff["intake"])
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 29 * 60
    assert client.get("/staff/").status_code == 200  # 29 minutes: still signed in, and touched
    with client.session_transaction() as session:
        assert session["seen_at"] >= int(time.time()) - 5
        session["seen_at"] = int(time.time()) - 31 * 60
    response = client.get("/staff/")
    assert goes_to_login(response)
    assert not is_signed_in(client)
    text = page(client.get(location(response))).find("main").text
    assert "You were signed out after a period without activity." in text
    [event] = audit_events(app, "session_expired")
    assert (event.user_id, event.detail) == (staff["intake"].id, "idle")
    assert goes_to_login(client.get("/staff/"))


def test_a_session_ends_12_hours_after_signing_in_even_when_active(app, client, staff):
    signed_in(client, staff["clinician"])
    with client.session_transaction() as session:
        session["login_at"] = int(time.time()) - 13 * 3600
    response = client.get("/staff/screenings/1")
    assert goes_to_login(response)
    text = page(client.get(location(response))).find("main").text
    assert "Your session has ended. Please sign in again." in text
    [event] = audit_events(app, "session_expired")
    assert (event.user_id, event.detail) == (staff["clinician"].id, "absolute")
    assert goes_to_login(client.get("/staff/"))


def test_signing_out_ends_the_session(app, client, staff):
    signed_in(client, staff["intake"])
    response = client.get("/staff/logout")
    assert response.status_code == 405  # never on GET
    assert "POST" in response.headers["Allow"] and "GET" not in response.headers["Allow"]
    assert is_signed_in(client)
    response = client.post("/staff/logout")
    assert response.status_code == 303 and location(response) == "/staff/login"
    assert not is_signed_in(client)
    assert goes_to_login(client.get("/staff/"))
    assert "You are signed out." in page(client.get("/staff/login")).find("main").text
    assert [e.action for e in audit_events(app)] == ["login", "logout"]


def test_the_login_page_sends_a_signed_in_user_on(app, client, staff):
    signed_in(client, staff["intake"])
    response = client.get("/staff/login")
    assert response.status_code == 302 and location(response) == "/staff/"


def test_a_cookie_replayed_after_signing_out_opens_nothing(app, client, staff):
    """Signing out ends the session on the server: the cookie from before, kept or copied, is
    sent to the login page, and so is another device's session of the same user."""
    ident = factories.screening(app, "Replay Patient")[0]
    signed_in(client, staff["clinician"])
    other_device = app.test_client()
    signed_in(other_device, staff["clinician"])
    with client.session_transaction() as session:
        kept = dict(session)  # what an attacker copied from the browser
    shown = client.get(f"/staff/screenings/{ident}")
    assert shown.status_code == 200
    nav = page(shown).find("nav", class_="staff-nav")
    signed_in_as = nav.find(class_="signed-in-as")  # who is signed in, a link to their account
    assert signed_in_as.text == "Your account: " + staff["clinician"].email
    assert signed_in_as.find("a").attrs["href"] == "/staff/account"
    assert client.post("/staff/logout").status_code == 303

    replay = app.test_client()
    with replay.session_transaction() as session:
        session.update(kept)
    assert goes_to_login(replay.get(f"/staff/screenings/{ident}"))
    assert goes_to_login(other_device.get(f"/staff/screenings/{ident}"))
    signed_in(client, staff["clinician"])  # signing in again works
    assert client.get(f"/staff/screenings/{ident}").status_code == 200
