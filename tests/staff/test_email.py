"""E-mail through a real SMTP server on loopback: invitations, failures, red-flag notices."""

from __future__ import annotations

import re

import sqlalchemy as sa

from screening.models import Message, Screening
from tests import factories
from tests.web.support import page, questionnaire

from .conftest import (
    CLINIC,
    SMTPServer,
    audit_events,
    location,
    row,
    scalars,
    signed_in,
)
from .test_invitations import invitation_form

LINK = re.compile(r"http://localhost(/s/[A-Za-z0-9_-]{20,})(?![A-Za-z0-9_-])")
NEVER_IN_MAIL = ["tier", "score", "points", "988", "depress", "opioid", "suicid", "red flag",
                 "1960-04-30", "30 April 1960", "04/30/1960", "MRN-0042", "L4-S1",
                 "posterior fusion"]


def health_words(app) -> list[str]:
    """Text of the questionnaire that would tell something about a patient's health."""
    q = questionnaire(app)
    words = [f.label for f in q.risk_factors]
    words += [f.patient_message for f in q.red_flags] + [f.clinician_message for f in q.red_flags]
    words += [f.title for f in q.red_flags]
    return [w for w in words if w]


def assert_no_health_information(app, mail, allowed: tuple[str, ...] = ()) -> None:
    text = mail.everything.lower()
    for word in NEVER_IN_MAIL + health_words(app):
        if word not in allowed:
            assert word.lower() not in text, word


def links_in(mail) -> set[str]:
    return set(LINK.findall(mail.text)) | set(LINK.findall(mail.html))


def messages(app, ident: int) -> list[Message]:
    statement = sa.select(Message).where(Message.screening_id == ident).order_by(Message.id)
    return scalars(app, statement)


def starts(client, path: str) -> bool:
    response = client.get(path)
    return response.status_code == 200 and "Start" in page(response).find("main").text


def test_the_invitation_e_mail(app, client, staff, smtp_server):
    signed_in(client, staff["intake"])
    response = client.post("/staff/invitations/new", data=invitation_form(send_email="y"))
    assert response.status_code == 303
    [only] = scalars(app, sa.select(Screening))
    s = row(app, Screening, only.id)
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["ann@patients.example"]
    assert mail.mail_from == "screening@clinic.example"
    assert mail.message["To"] == "ann@patients.example"
    assert mail.message["From"] == f"{CLINIC} <screening@clinic.example>"
    assert CLINIC in mail.subject
    assert mail.content_types == ["multipart/alternative", "text/plain", "text/html"]
    expires = s["expires_at"]
    expiry = f"{expires.day} {expires:%B %Y}"  # "5 December 2026": no leading zero
    for body in (mail.text, mail.html):
        assert CLINIC in body
        assert expiry in body
        assert "Dear Ann Example" in body
    [path] = links_in(mail)
    assert path in mail.text and path in mail.html
    assert_no_health_information(app, mail)

    assert starts(app.test_client(), path)  # the patient's link works
    [message] = messages(app, s["id"])
    assert (message.kind, message.ok, message.error) == ("invitation", True, None)
    assert [e.screening_id for e in audit_events(app, "invitation_sent")] == [s["id"]]
    text = page(client.get(location(response))).find("main").text
    assert "The link was e-mailed to the patient's address." in text


def test_sending_again_replaces_the_link(app, client, staff, smtp_server):
    ident, first = factories.screening(app, patient_email="ann@patients.example")
    signed_in(client, staff["intake"])
    assert client.post(f"/staff/screenings/{ident}/send").status_code == 303
    assert client.post(f"/staff/screenings/{ident}/send").status_code == 303
    old, new = smtp_server.messages
    [old_path], [new_path] = links_in(old), links_in(new)
    assert len({first, old_path, new_path}) == 3
    patient = app.test_client()
    assert patient.get(f"/s/{first}").status_code == 410
    response = patient.get(old_path)
    assert response.status_code == 410
    assert "This link has been replaced by a newer one" in page(response).find("main").text
    assert "Ann" not in response.get_data(as_text=True)
    assert starts(patient, new_path)
    assert [e.action for e in audit_events(app) if e.screening_id == ident] == [
        "invitation_sent", "invitation_resent"
    ]
    assert [m.ok for m in messages(app, ident)] == [True, True]


def test_a_reminder_e_mail_says_so(app, smtp_server):
    from screening.domain import invitations
    from screening.extensions import db

    ident, _ = factories.screening(app, patient_email="ann@patients.example")
    with app.test_request_context():
        screening = db.session.get(Screening, ident)
        assert invitations.email_link(screening, "tok" * 10, kind="reminder") is None  # sent
        db.session.commit()
    [mail] = smtp_server.messages
    assert mail.subject == f"Reminder from {CLINIC}: your questionnaire"
    assert "friendly reminder" in mail.text and "friendly reminder" in mail.html
    assert_no_health_information(app, mail)


def test_smtp_down_keeps_the_invitation_and_tells_staff(app, client, staff, dead_port):
    app.config["SCREENING_SMTP_PORT"] = dead_port.port
    signed_in(client, staff["intake"])
    response = client.post("/staff/invitations/new", data=invitation_form(send_email="y"))
    assert response.status_code == 303
    [only] = scalars(app, sa.select(Screening))
    ident = only.id
    assert row(app, Screening, ident)["status"] == "invited"
    [message] = messages(app, ident)
    assert message.kind == "invitation" and message.ok is False
    assert message.error == "the mail server refused the connection (is it running?)"
    assert [e.action for e in audit_events(app) if e.screening_id == ident] == [
        "invitation_created", "invitation_send_failed"
    ]
    detail = page(client.get(location(response)))
    alert = detail.find(role="alert")
    assert alert is not None
    assert "The e-mail could not be sent: the mail server refused the connection" in alert.text
    assert "The invitation is saved" in alert.text
    assert "not sent: the mail server refused the connection" in detail.find("main").text

    server = SMTPServer(dead_port.release()).start()  # the mail server is back: try again
    try:
        response = client.post(f"/staff/screenings/{ident}/send")
        assert response.status_code == 303
        [mail] = server.messages
        [path] = links_in(mail)
        assert starts(app.test_client(), path)
    finally:
        server.stop()
    assert [m.ok for m in messages(app, ident)] == [False, True]
    assert "The link was e-mailed to" in page(client.get(location(response))).find("main").text


def test_a_spanish_invitation_e_mail_speaks_spanish(app, client, staff, smtp_server):
    signed_in(client, staff["intake"])
    form = page(client.get("/staff/invitations/new"))
    offered = {o.attrs["value"]: o.text for o in form.find("select", name="language").find_all(
        "option")}
    assert offered == {"en": "English", "es": "Spanish"}
    sent = client.post("/staff/invitations/new",
                       data=invitation_form(send_email="y", language="es"))
    assert sent.status_code == 303
    [only] = scalars(app, sa.select(Screening))
    s = row(app, Screening, only.id)
    assert s["language"] == "es"
    [mail] = smtp_server.messages
    assert mail.subject == f"{CLINIC}: su cuestionario antes de la cirugía"
    from screening.i18n import format_date

    expiry = format_date(s["expires_at"].date(), "es")
    assert " de " in expiry  # "15 de diciembre de 2026"
    for body in (mail.text, mail.html):
        assert "Estimado/a Ann Example:" in body
        assert f"El enlace funciona hasta el {expiry}." in body
        assert "No reenvíe este correo electrónico" in body
        assert "Dear" not in body
    assert '<html lang="es">' in mail.html
    assert_no_health_information(app, mail)
    [path] = links_in(mail)
    response = app.test_client().get(path)
    assert page(response).find("html").attrs["lang"] == "es"
    assert "Comenzar" in page(response).find("main").text
    # The staff member's own page stays in English.
    staff_page = page(client.get(location(sent)))
    assert staff_page.find("html").attrs["lang"] == "en"
    assert "The link was e-mailed to the patient's address." in staff_page.find("main").text
