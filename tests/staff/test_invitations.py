"""Invitations on the web: creating, extending, revoking, handouts; actions never on GET."""

from __future__ import annotations

import datetime as dt
import re

import segno
import sqlalchemy as sa

from screening.models import Message, Screening, utcnow
from tests import factories
from tests.web.support import page, parse

from .conftest import (
    audit_events,
    count,
    location,
    print_handout,
    row,
    scalars,
    set_columns,
    signed_in,
    snapshot,
)

FULL = {
    "patient_name": "Ann Example",
    "patient_dob": "1960-04-30",
    "patient_mrn": "MRN-0042",
    "patient_email": "ann@patients.example",
    "patient_phone": "+1 (555) 010-4477",
    "surgeon": "Dr. Joan Smith",
    "planned_surgery": "L4-S1 posterior fusion",
    "surgery_date": "2031-04-14",
    "language": "en",
    "link_days": "14",
}
LINK = re.compile(r"https?://[^/\s\"<]+(/s/[A-Za-z0-9_-]{20,})")


def invitation_form(**changes) -> dict:
    """What a browser posts: every field, with `changes` (None leaves a field out)."""
    data = {**FULL, **changes}
    return {k: v for k, v in data.items() if v is not None}


def the_screening(app) -> dict:
    [only] = scalars(app, sa.select(Screening))
    return row(app, Screening, only.id)


def welcome_works(client, path: str) -> bool:
    response = client.get(path)
    return response.status_code == 200 and page(response).find("main").find("button") is not None


def test_the_form_offers_14_days_and_no_e_mail_until_asked(app, client, staff):
    signed_in(client, staff["intake"])
    response = client.get("/staff/invitations/new")
    assert response.status_code == 200
    form = page(response)
    assert form.find("input", name="link_days").attrs["value"] == "14"
    # A blank form has no address: "Send the link by e-mail" is not ticked for it.
    assert "checked" not in form.find("input", name="send_email").attrs
    # The shipped questionnaire's languages, the clinic's first (so it is the default).
    assert [o.attrs["value"] for o in form.find("select", name="language").find_all("option")] == [
        "en", "es"
    ]


def test_creating_an_invitation_stores_every_field(app, client, staff, smtp_server):
    signed_in(client, staff["intake"])
    before = utcnow()
    response = client.post("/staff/invitations/new", data=invitation_form())  # box unticked
    assert response.status_code == 303
    s = the_screening(app)
    assert location(response) == f"/staff/screenings/{s['id']}"
    assert (s["patient_name"], s["patient_dob"], s["patient_mrn"]) == (
        "Ann Example", dt.date(1960, 4, 30), "MRN-0042")
    assert (s["patient_email"], s["patient_phone"]) == ("ann@patients.example", "+1 (555) 010-4477")
    assert (s["surgeon"], s["planned_surgery"], s["surgery_date"]) == (
        "Dr. Joan Smith", "L4-S1 posterior fusion", dt.date(2031, 4, 14))
    assert (s["language"], s["status"], s["invited_by_id"]) == ("en", "invited", staff["intake"].id)
    assert before - dt.timedelta(seconds=5) <= s["created_at"] <= utcnow()
    assert s["expires_at"] - s["created_at"] == dt.timedelta(days=14)
    [event] = audit_events(app, "invitation_created")
    assert (event.user_id, event.screening_id, event.detail) == (staff["intake"].id, s["id"], None)
    assert smtp_server.messages == []  # not sent: the box was not ticked
    detail = client.get(location(response))
    assert f"Invitation S-{s['id']:06d} created." in page(detail).find("main").text


def test_optional_fields_may_be_left_empty(app, client, staff):
    signed_in(client, staff["intake"])
    data = invitation_form(patient_mrn="", patient_email="", patient_phone="", surgeon="",
                           planned_surgery="", surgery_date="", link_days="30")
    assert client.post("/staff/invitations/new", data=data).status_code == 303
    s = the_screening(app)
    assert [s[k] for k in ("patient_mrn", "patient_email", "patient_phone", "surgeon",
                           "planned_surgery", "surgery_date")] == [None] * 6
    assert s["expires_at"] - s["created_at"] == dt.timedelta(days=30)


TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()


INVALID = [
    ({"patient_name": ""}, "Enter the patient's name."),
    ({"patient_name": "   "}, "Enter the patient's name."),
    ({"patient_dob": None}, "Enter the date of birth."),
    ({"patient_dob": TOMORROW}, "The date of birth cannot be in the future."),
    ({"patient_dob": "30/04/1960"}, "Not a valid date value."),
    ({"patient_email": "ann.example.org"}, "Enter an e-mail address like name@example.org."),
    ({"patient_email": "", "send_email": "y"},
     "Add an e-mail address to send the link, or untick this box."),
    ({"patient_phone": "call me maybe"}, "Enter a phone number using digits"),
    ({"link_days": "0"}, "Number must be between 1 and 90."),
    ({"link_days": "91"}, "Number must be between 1 and 90."),
    ({"link_days": None}, "Enter a number of days."),
    ({"language": "xx"}, "Not a valid choice."),
    ({"patient_name": "x" * 201}, "Field cannot be longer than 200 characters."),
]


def test_invalid_input_is_422_with_a_message_and_creates_nothing(app, client, staff, smtp_server):
    signed_in(client, staff["intake"])
    for changes, message in INVALID:
        response = client.post("/staff/invitations/new", data=invitation_form(**changes))
        assert response.status_code == 422, changes
        main = page(response).find("main")
        assert message in main.text, changes
        assert main.find(id="error-summary") is not None
    assert count(app, Screening) == 0
    assert audit_events(app, "invitation_created") == []
    assert smtp_server.messages == []


def test_extend_adds_days_and_reopens_an_expired_link(app, client, staff):
    ident, token = factories.screening(app)
    signed_in(client, staff["intake"])
    expires = row(app, Screening, ident)["expires_at"]
    response = client.post(f"/staff/screenings/{ident}/extend", data={"days": "5"})
    assert response.status_code == 303 and location(response) == f"/staff/screenings/{ident}"
    assert row(app, Screening, ident)["expires_at"] == expires + dt.timedelta(days=5)
    [event] = audit_events(app, "invitation_extended")
    assert (event.screening_id, event.detail) == (ident, "5 days")

    set_columns(app, Screening, ident, expires_at=utcnow() - dt.timedelta(days=1))
    patient = app.test_client()
    assert patient.get(f"/s/{token}").status_code == 410
    client.post(f"/staff/screenings/{ident}/extend", data={"days": "3"})
    new_expiry = row(app, Screening, ident)["expires_at"]
    assert abs(new_expiry - (utcnow() + dt.timedelta(days=3))) < dt.timedelta(minutes=1)
    assert welcome_works(patient, f"/s/{token}")  # the same link works again


def test_extend_with_a_bad_number_changes_nothing(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    for days in ("0", "91", "abc", "", "-3"):
        before = snapshot(app)
        response = client.post(f"/staff/screenings/{ident}/extend", data={"days": days})
        assert response.status_code == 303
        assert snapshot(app) == before, days
        text = page(client.get(location(response))).find("main").text
        assert "Enter a number of days between 1 and 90." in text, days


def test_revoke_closes_the_link(app, client, staff):
    ident, token = factories.screening(app)
    signed_in(client, staff["intake"])
    response = client.post(f"/staff/screenings/{ident}/revoke")
    assert response.status_code == 303
    s = row(app, Screening, ident)
    assert s["status"] == "revoked" and s["revoked_at"] is not None
    assert [e.screening_id for e in audit_events(app, "invitation_revoked")] == [ident]
    detail = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert "The link is revoked and no longer works." in detail and "Revoked" in detail
    response = app.test_client().get(f"/s/{token}")
    assert response.status_code == 410
    assert "This link is no longer active" in page(response).find("main").text
    # A revoked screening cannot be revoked, extended or sent again.
    for action in ("revoke", "extend", "send", "handout", "hand-over"):
        before = snapshot(app)
        response = client.post(f"/staff/screenings/{ident}/{action}", data={"days": "7"})
        assert response.status_code == 303, action
        assert snapshot(app) == before, action
        assert "This screening is revoked." in page(client.get(location(response))).text


def test_extend_and_revoke_are_refused_after_submission(app, client, staff):
    ident, token = factories.submitted(app, "low tier")
    signed_in(client, staff["intake"])
    for action in ("extend", "revoke"):
        before = snapshot(app)
        response = client.post(f"/staff/screenings/{ident}/{action}", data={"days": "7"})
        assert response.status_code == 303
        assert snapshot(app) == before, action
        text = page(client.get(location(response))).find("main").text
        assert "This screening is submitted." in text, action
    assert row(app, Screening, ident)["status"] == "submitted"
    assert audit_events(app, "invitation_extended") == audit_events(app, "invitation_revoked") == []


def test_the_handout_has_a_new_link_and_its_qr_code(app, client, staff):
    ident, old = factories.screening(app, "Ann Example", patient_mrn="MRN-0042")
    signed_in(client, staff["intake"])
    response = print_handout(client, ident)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    main = page(response).find("main")
    [path] = set(LINK.findall(main.text))
    assert "<svg" in html and "QR code of the link" in html
    assert main.find("img") is None  # inline, no request for an image
    assert "Dear Ann Example" in main.text
    expires = row(app, Screening, ident)["expires_at"]
    assert f"{expires.day} {expires:%B %Y}" in main.text
    assert [e.screening_id for e in audit_events(app, "handout_printed")] == [ident]
    patient = app.test_client()
    assert welcome_works(patient, path)
    assert patient.get(f"/s/{old}").status_code == 410  # the earlier link stopped working


def test_a_spanish_patients_handout_is_in_spanish_on_an_english_page(app, client, staff):
    ident, _ = factories.screening(app, "Ana Ruiz", language="es")
    signed_in(client, staff["intake"])
    response = print_handout(client, ident)
    assert response.status_code == 200
    html = page(response)
    assert html.find("html").attrs["lang"] == "en"  # the staff page around it
    handout = html.find("article")
    assert handout.attrs["lang"] == "es"
    assert "Su cuestionario antes de la cirugía de columna" in handout.text
    assert "Estimado/a Ana Ruiz:" in handout.text
    assert "Escanee este código" in handout.text and "escriba este código" in handout.text
    assert " de " in handout.text.split("Funcionan hasta el", 1)[1]  # "15 de diciembre de 2026"
    assert "Si tiene preguntas, llame a la recepción de la clínica." in handout.text
    assert "Print this page and give it to the patient" in html.find("main").text


def test_the_qr_code_encodes_the_link(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    html = print_handout(client, ident).get_data(as_text=True)
    [link] = {m.group(0) for m in LINK.finditer(parse(html).find("main").text)}
    expected = segno.make(link, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", title="QR code of the link")
    assert expected in html


ACTIONS = ["send", "extend", "revoke", "hand-over", "review", "summary/refresh"]


def test_actions_are_never_done_on_get(app, staff):
    ident, token = factories.screening(app, patient_email="ann@patients.example")
    done, _ = factories.submitted(app, "self-harm")
    event_id, ack_id = factories.acknowledged_flag(app, done, staff["clinician"].id)
    flag_actions = [f"flags/{event_id}/acknowledge",
                    f"flags/{event_id}/acknowledgements/{ack_id}/withdraw"]
    for role in ("intake", "clinician", "admin"):
        client = signed_in(app.test_client(), staff[role])
        before = snapshot(app)
        for action in ACTIONS:
            for screening_id in (ident, done):
                response = client.get(f"/staff/screenings/{screening_id}/{action}")
                assert response.status_code == 405, (role, action)
        for action in flag_actions:
            response = client.get(f"/staff/screenings/{done}/{action}")
            assert response.status_code == 405, (role, action)
        # The handout page is a GET that shows the handout this browser printed: none here.
        for screening_id in (ident, done):
            response = client.get(f"/staff/screenings/{screening_id}/handout")
            assert response.status_code == (200 if role == "intake" else 403), role
        for path in (f"/staff/users/{staff['intake'].id}/disable",
                     f"/staff/users/{staff['intake'].id}/enable", "/staff/logout"):
            assert client.get(path).status_code == 405, (role, path)
        assert snapshot(app) == before, role
    assert welcome_works(app.test_client(), f"/s/{token}")


def test_actions_on_a_screening_that_does_not_exist_are_404(app, client, staff):
    signed_in(client, staff["intake"])
    for action in ("send", "extend", "revoke", "handout", "hand-over"):
        assert client.post(f"/staff/screenings/999/{action}", data={"days": 3}).status_code == 404
    assert client.get("/staff/screenings/999").status_code == 404


def test_send_without_an_address_keeps_the_old_link(app, client, staff, smtp_server):
    ident, token = factories.screening(app)
    signed_in(client, staff["intake"])
    before = snapshot(app)
    response = client.post(f"/staff/screenings/{ident}/send")
    assert response.status_code == 303
    assert snapshot(app) == before
    assert "This patient has no e-mail address." in page(client.get(location(response))).text
    assert welcome_works(app.test_client(), f"/s/{token}")
    assert smtp_server.messages == [] and count(app, Message) == 0
