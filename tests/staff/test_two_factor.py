"""The second factor: enrolling an authenticator app (TOTP) with its QR code, signing in with its
codes (never the same code twice) or a recovery code (once each), the requirement for clinicians
and admins, and an administrator's reset. Codes are computed here from the enrolled secret, as
the user's app would."""

from __future__ import annotations

import time

import pyotp
import pytest

from screening.models import User
from tests.web.support import page

from .conftest import (
    audit_events,
    goes_to_login,
    is_signed_in,
    location,
    login,
    row,
    set_columns,
    signed_in,
)


def enrol(client) -> tuple[str, list[str]]:
    """Set up the second factor as a person would: read the key under the QR code, type the
    app's code. Returns the secret and the recovery codes shown."""
    shown = page(client.get("/staff/account/two-factor"))
    assert shown.find("svg") is not None  # the QR code, inline
    secret = shown.find(id="secret").text.replace(" ", "")
    wrong = client.post("/staff/account/two-factor", data={"code": "000000"})
    assert wrong.status_code == 422 and "That code is not right" in page(wrong).find("main").text
    done = client.post("/staff/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = [c.text for c in page(done).find("ul", class_="recovery-codes").find_all("code")]
    return secret, codes


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def sign_in_with_code(app, who, code: str):
    client = app.test_client()
    first = login(client, who)
    assert first.status_code == 303 and location(first) == "/staff/login/code"
    assert not is_signed_in(client)  # the password alone opens nothing
    assert goes_to_login(client.get("/staff/"))
    return client, client.post("/staff/login/code", data={"code": code})


def test_enrolling_and_signing_in_with_a_code(app, client, staff):
    who = staff["clinician"]
    signed_in(client, who)
    secret, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert row(app, User, who.id)["totp_secret"] == secret
    stored = row(app, User, who.id)["recovery_codes"]
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    [event] = audit_events(app, "second_factor_enrolled")
    assert event.user_id == who.id
    assert "On" in page(client.get("/staff/account")).find("main").text

    # One code, kept: made again later it could be the next 30-second step's, a new code.
    code = code_at(secret, +1)
    later, response = sign_in_with_code(app, who, code)
    assert response.status_code == 303 and location(response) == "/staff/"
    assert later.get("/staff/").status_code == 200
    assert audit_events(app, "login")[-1].detail == "with a one-time code"
    # The same code again (seen over a shoulder, replayed): refused.
    replay, refused = sign_in_with_code(app, who, code)
    assert refused.status_code == 401 and not is_signed_in(replay)
    assert "That code is not right" in page(refused).find("main").text
    assert audit_events(app, "login_failed")[-1].detail == "second factor"


def test_a_recovery_code_signs_in_once(app, client, staff):
    who = staff["admin"]
    signed_in(client, who)
    _, codes = enrol(client)
    typed = codes[3].upper().replace("-", " ")  # read from paper, typed loosely
    _, response = sign_in_with_code(app, who, typed)
    assert response.status_code == 303
    assert audit_events(app, "login")[-1].detail == "with a recovery code (9 left)"
    _, again = sign_in_with_code(app, who, codes[3])
    assert again.status_code == 401


def test_the_code_step_expires_and_is_limited(app, client, staff):
    who = staff["clinician"]
    signed_in(client, who)
    secret, _ = enrol(client)
    waiting = app.test_client()
    login(waiting, who)
    with waiting.session_transaction() as session:
        session["pending_login"] = {**session["pending_login"], "at": int(time.time()) - 301}
    late = waiting.post("/staff/login/code", data={"code": code_at(secret)})
    assert goes_to_login(late) and not is_signed_in(waiting)

    guesser = app.test_client()
    login(guesser, who)
    for n in range(5):
        assert guesser.post("/staff/login/code", data={"code": f"{n:06d}"}).status_code == 401
    assert guesser.post("/staff/login/code", data={"code": code_at(secret)}).status_code == 429


class TestRequired:
    @pytest.fixture
    def app_config(self, staff_config):
        return {**staff_config, "SCREENING_REQUIRE_SECOND_FACTOR": True}

    def test_clinicians_and_admins_enrol_before_anything_else(self, app, staff):
        for role in ("clinician", "admin"):
            client = signed_in(app.test_client(), staff[role])
            for path in ("/staff/", "/staff/users", "/staff/account"):
                assert location(client.get(path)) == "/staff/account/two-factor", (role, path)
            text = page(client.get("/staff/account/two-factor")).find("main").text
            assert "Your role sees patients' answers" in text
            enrol(client)
            assert client.get("/staff/account").status_code == 200
        intake = signed_in(app.test_client(), staff["intake"])
        assert intake.get("/staff/").status_code == 200  # intake never sees answers

    def test_an_admin_resets_a_lost_second_factor(self, app, staff):
        who = staff["clinician"]
        phone_owner = signed_in(app.test_client(), who)
        enrol(phone_owner)
        admin = signed_in(app.test_client(), staff["admin"])
        enrol(admin)
        response = admin.post(f"/staff/users/{who.id}/reset-two-factor")
        assert response.status_code == 303
        assert row(app, User, who.id)["totp_secret"] is None
        assert row(app, User, who.id)["recovery_codes"] == []
        assert goes_to_login(phone_owner.get("/staff/"))  # their sessions ended
        [event] = audit_events(app, "second_factor_reset")
        assert (event.user_id, event.detail) == (staff["admin"].id, f"user {who.id}")
        # At the next sign-in: the password alone, then setting up the app again.
        client = app.test_client()
        assert location(login(client, who)) == "/staff/"
        assert location(client.get("/staff/")) == "/staff/account/two-factor"


def test_new_recovery_codes_replace_the_old(app, client, staff):
    who = staff["clinician"]
    signed_in(client, who)
    _, old = enrol(client)
    response = client.post("/staff/account/recovery-codes")
    new = [c.text for c in page(response).find("ul", class_="recovery-codes").find_all("code")]
    assert len(new) == 10 and not set(new) & set(old)
    _, refused = sign_in_with_code(app, who, old[0])
    assert refused.status_code == 401
    _, accepted = sign_in_with_code(app, who, new[0])
    assert accepted.status_code == 303
    assert audit_events(app, "recovery_codes_renewed")[0].user_id == who.id


def test_a_disabled_account_cannot_finish_signing_in(app, client, staff):
    who = staff["clinician"]
    signed_in(client, who)
    secret, _ = enrol(client)
    waiting = app.test_client()
    login(waiting, who)
    set_columns(app, User, who.id, active=False)
    response = waiting.post("/staff/login/code", data={"code": code_at(secret, +1)})
    assert goes_to_login(response) and not is_signed_in(waiting)
