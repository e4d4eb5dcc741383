"""E-mail addresses: one recipient per field, and none carried in a flash message (flashes travel in
the session cookie, which is signed but not encrypted). Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from screening.domain import accounts
from screening.mail import EMAIL_RE
from screening.models import Screening
from tests import factories
from tests.web.support import page

from .conftest import count, flashes, location, signed_in
from .test_invitations import invitation_form

NOT_ONE_ADDRESS = [
    "ann@patients.example, bob@patients.example",
    "ann@patients.example;bob@patients.example",
    "ann@patients.example bob@patients.example",
    "Ann <ann@patients.example>",
    "<ann@patients.example>",
    "ann@patients.example\r\nBcc: bob@patients.example",
    '"ann"@patients.example',
    "ann,bob@patients.example",
]


@pytest.mark.parametrize("address", [*NOT_ONE_ADDRESS, "ann@patients.example\n"])
def test_the_address_pattern_takes_one_recipient(address):
    assert not EMAIL_RE.match(address)
    assert EMAIL_RE.match("ann.o'neil+spine@patients.example.co.uk")


def cookie_session(client) -> str:
    """Everything the session cookie holds, as text."""
    with client.session_transaction() as session:
        return json.dumps(dict(session), default=str)


def test_an_invitation_refuses_two_recipients(app, client, staff):
    signed_in(client, staff["intake"])
    for address in NOT_ONE_ADDRESS:
        response = client.post("/staff/invitations/new",
                               data=invitation_form(patient_email=address))  # fmt: skip
        assert response.status_code == 422, address
        text = page(response).find("main").text
        assert "e-mail address" in text and "like name@example.org" in text, address
    assert count(app, Screening) == 0


def test_two_addresses_are_told_apart_from_a_typo(app, client, staff):
    signed_in(client, staff["intake"])
    response = client.post("/staff/invitations/new",
                           data=invitation_form(patient_email=NOT_ONE_ADDRESS[0]))  # fmt: skip
    assert "Enter one e-mail address only" in page(response).find("main").text


def test_a_new_account_takes_one_address(app, client, staff):
    signed_in(client, staff["admin"])
    data = {"email": "a@clinic.example, b@clinic.example", "roles": ["intake"],
            "password": "a long and unusual passphrase 42"}  # fmt: skip
    response = client.post("/staff/users", data=data)
    assert response.status_code == 422
    assert "Enter one e-mail address only" in page(response).find("main").text
    with app.app_context(), pytest.raises(ValueError, match="one e-mail address"):
        accounts.create_user("a@clinic.example\nb@clinic.example", "another long passphrase 9",
                             ["intake"])  # fmt: skip


def test_the_patients_address_is_not_in_the_flash_nor_the_cookie(app, client, staff, smtp_server):
    ident, _ = factories.screening(app, patient_email="ann@patients.example")
    signed_in(client, staff["intake"])
    response = client.post(f"/staff/screenings/{ident}/send")
    assert response.status_code == 303
    assert flashes(client) == ["The link was e-mailed to the patient's address."]
    assert "@" not in cookie_session(client)
    assert "ann@patients.example" not in response.headers.get("Set-Cookie", "")
    shown = page(client.get(location(response))).find("main").text
    assert "The link was e-mailed to the patient's address." in shown


def test_account_messages_name_the_person_not_their_address(app, client, staff):
    signed_in(client, staff["admin"])
    data = {"email": "new.person@clinic.example", "roles": ["intake"],
            "password": "a long and unusual passphrase 42"}  # fmt: skip
    assert client.post("/staff/users", data=data).status_code == 303
    assert flashes(client) == [
        "The account is made. Its user chooses their own password at first sign-in."]
    assert "@" not in cookie_session(client)
    client.get("/staff/users")
    response = client.post(f"/staff/users/{staff['intake'].id}/disable")
    assert response.status_code == 303
    assert "@" not in cookie_session(client)
    assert flashes(client) == ["The account is disabled."]
