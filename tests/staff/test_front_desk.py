"""The front desk (issue 20): a handout shown again on reload with the same link, its short code
at /c, replaced links that say so, the invitation's surgery date and e-mail box, the e-mail's
preview and test, the planned surgery as the patient answered it, and the patient's copy from
any device after the identity check (issue 19)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from screening import queue
from screening.domain import links
from screening.extensions import db
from screening.models import Screening
from screening.templating import email_breaks
from tests import factories
from tests.web.support import main_text, page

from .conftest import (
    audit_events,
    location,
    print_handout,
    row,
    scalars,
    signed_in,
    snapshot,
)
from .test_invitations import invitation_form

LINK = re.compile(r"https?://[^/\s\"<]+(/s/[A-Za-z0-9_-]{20,})")
CODE = re.compile(r"\b([A-Z2-9]{4})-([A-Z2-9]{4})-([A-Z2-9]{2})\b")


def handout_parts(response) -> tuple[str, str]:
    """The link's path and the short code printed on a handout page."""
    main = page(response).find("main")
    [path] = set(LINK.findall(main.text))
    [code] = {"-".join(m.groups()) for m in CODE.finditer(main.find("p", class_="short-code").text)}
    return path, code


# --- item 1: the handout is a GET; reloading it keeps the printed link ------------------------


def test_reloading_the_handout_shows_the_same_link_and_the_printed_link_works(app, client, staff):
    ident, first = factories.screening(app, "Ann Example")
    signed_in(client, staff["intake"])
    shown = print_handout(client, ident)
    path, code = handout_parts(shown)
    for _ in range(2):  # reload, twice
        again = client.get(f"/staff/screenings/{ident}/handout")
        assert again.status_code == 200
        assert handout_parts(again) == (path, code)
    assert len(audit_events(app, "handout_printed")) == 1  # one link made, not three
    assert [e.detail for e in audit_events(app, "handout_shown")] == ["link 2"] * 3
    patient = app.test_client()
    welcome = patient.get(path)
    assert welcome.status_code == 200 and "Start" in main_text(welcome)
    assert patient.get(f"/s/{first}").status_code == 410  # the link before it was replaced


def test_the_handout_is_shown_only_on_the_computer_that_printed_it(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    path, _ = handout_parts(print_handout(client, ident))
    other = signed_in(app.test_client(), staff["intake"])
    before = snapshot(app)
    elsewhere = other.get(f"/staff/screenings/{ident}/handout")
    assert elsewhere.status_code == 200
    assert "This handout cannot be shown again" in main_text(elsewhere)
    assert not LINK.findall(elsewhere.get_data(as_text=True))
    assert snapshot(app) == before  # nothing made, nothing audited
    assert app.test_client().get(path).status_code == 200


def test_a_handout_whose_link_was_replaced_is_not_shown_again(app, client, staff, smtp_server):
    ident, _ = factories.screening(app, patient_email="ann@patients.example")
    signed_in(client, staff["intake"])
    path, _ = handout_parts(print_handout(client, ident))
    assert client.post(f"/staff/screenings/{ident}/send").status_code == 303
    gone = client.get(f"/staff/screenings/{ident}/handout")
    assert "no longer works: a newer link replaced it" in main_text(gone)
    assert not LINK.findall(gone.get_data(as_text=True))
    assert app.test_client().get(path).status_code == 410


def test_the_database_keeps_neither_the_code_nor_the_link(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    path, code = handout_parts(print_handout(client, ident))
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        dumped = " ".join(str(v) for table in db.metadata.sorted_tables
                          for r in db.session.execute(sa.select(table)) for v in r)  # fmt: skip
    for secret in (token, code, code.replace("-", "")):
        assert secret not in dumped
    assert row(app, Screening, ident)["token_hash"] == links.hash_token(token)
    with client.session_transaction() as session:  # the browser keeps only the seed
        assert token not in str(dict(session)) and code.replace("-", "") not in str(dict(session))


# --- item 16: the short code ----------------------------------------------------------------


def test_the_short_code_is_grouped_and_unambiguous(app):
    with app.test_request_context():
        codes = {links.short_code(links.new_handout_seed()) for _ in range(200)}
        assert len(codes) == 200
        for code in codes:
            assert len(code) == links.SHORT_CODE_LENGTH
            assert not set(code) & set("01OIL")
            assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}", links.grouped(code))
            assert links.normal_short_code(links.grouped(code).lower()) == code


@pytest.mark.parametrize("typed", [
    "{code}", "{lower}", "{bare}", " {spaced} ", "{bare_lower}"])  # fmt: skip
def test_the_code_opens_the_same_link_however_it_is_typed(app, client, staff, typed):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    path, code = handout_parts(print_handout(client, ident))
    bare = code.replace("-", "")
    text = typed.format(code=code, lower=code.lower(), bare=bare, bare_lower=bare.lower(),
                        spaced=code.replace("-", " "))  # fmt: skip
    patient = app.test_client()
    assert patient.get("/c").status_code == 200
    response = patient.post("/c", data={"code": text})
    assert response.status_code == 303 and location(response) == path
    assert patient.get(path).status_code == 200
    [event] = audit_events(app, "short_code_entered")
    assert (event.screening_id, event.detail) == (ident, "link 2")


def test_a_wrong_code_says_so_and_keeps_what_was_typed(app):
    patient = app.test_client()
    for typed, words in (("K7QM", "10 letters and numbers"), ("K7QM-2XHD-9O", "10 letters"),
                         ("K7QM-2XHD-9R", "We could not find that code")):  # fmt: skip
        response = patient.post("/c", data={"code": typed})
        assert response.status_code == 422
        assert words in main_text(response)
        assert page(response).find("input", id="code").attrs["value"] == typed
        assert page(response).find("title").text.startswith("Error:")


def test_the_code_page_speaks_spanish_to_a_spanish_browser(app):
    response = app.test_client().get("/c", headers={"Accept-Language": "es"})
    assert "Escriba el código de su carta" in main_text(response)


def test_the_code_dies_with_its_link(app, client, staff):
    ident, _ = factories.screening(app, language="es")
    signed_in(client, staff["intake"])
    path, code = handout_parts(print_handout(client, ident))
    print_handout(client, ident)  # a newer handout replaces the first
    patient = app.test_client()
    response = patient.post("/c", data={"code": code})
    assert location(response) == path  # to the link's own page, which says it was replaced
    replaced = patient.get(path)
    assert replaced.status_code == 410
    assert "Este enlace fue reemplazado por uno más reciente" in main_text(replaced)
    newest_path, newest = handout_parts(client.get(f"/staff/screenings/{ident}/handout"))
    assert client.post(f"/staff/screenings/{ident}/revoke").status_code == 303
    response = patient.post("/c", data={"code": newest})
    assert patient.get(location(response)).status_code == 410  # revoked


def test_the_code_leads_to_the_identity_check_of_a_re_issued_link(app, client, staff):
    from tests.web.support import example

    from .conftest import save_step

    ident, token = factories.screening(app, patient_dob=dt.date(1958, 11, 2))
    save_step(app.test_client(), app, token, "about_surgery", example(app, "low tier"))
    signed_in(client, staff["intake"])
    path, code = handout_parts(print_handout(client, ident))
    patient = app.test_client()
    response = patient.post("/c", data={"code": code})
    assert location(patient.get(location(response))) == f"{path}/confirm"


@pytest.fixture
def app_config(staff_config):
    return {**staff_config, "SCREENING_CODE_LIMIT_ADDRESS": "3 per hour",
            "SCREENING_CODE_LIMIT_ALL": "5 per hour"}  # fmt: skip


def test_wrong_codes_are_limited_and_a_right_one_never_counts(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    _, code = handout_parts(print_handout(client, ident))
    guesser = app.test_client()
    for _ in range(4):  # right codes are never counted
        assert guesser.post("/c", data={"code": code}).status_code == 303
    for _ in range(3):
        assert guesser.post("/c", data={"code": "AAAA-AAAA-AA"}).status_code == 422
    assert guesser.post("/c", data={"code": "AAAA-AAAA-AA"}).status_code == 429
    assert guesser.post("/c", data={"code": code}).status_code == 429  # even the right one now
    assert guesser.get("/c").status_code == 200
    other = app.test_client()  # another address (a botnet) meets the limit for everyone
    for _ in range(2):
        assert other.post("/c", data={"code": "AAAA-AAAA-AA"},
                          environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 422
    assert other.post("/c", data={"code": "AAAA-AAAA-AA"},
                      environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 429


# --- item 18: a replaced link says so, in the patient's language ------------------------------


@pytest.mark.parametrize(("language", "title", "advice"), [
    ("en", "This link has been replaced by a newer one", "Please use the newest e-mail or letter"),
    ("es", "Este enlace fue reemplazado por uno más reciente", "Por favor, use el correo"),
])  # fmt: skip
def test_a_replaced_link_says_so_in_the_patients_language(app, client, staff, language, title,
                                                          advice):
    ident, first = factories.screening(app, language=language)
    signed_in(client, staff["intake"])
    print_handout(client, ident)
    response = app.test_client().get(f"/s/{first}/step/about_surgery")
    assert response.status_code == 410
    text = main_text(response)
    assert title in text and advice in text
    assert "whole link" not in text
    assert page(response).find("html").attrs["lang"] == language


def test_an_unknown_link_is_still_not_found(app):
    response = app.test_client().get("/s/" + "q" * 32)
    assert response.status_code == 404 and "This link isn't working" in main_text(response)


# --- items 4 and 15: the invitation form ---------------------------------------------------


def test_the_invitation_refuses_a_planned_surgery_date_in_the_past(app, client, staff):
    signed_in(client, staff["intake"])
    yesterday = dt.date.today() - dt.timedelta(days=1)
    response = client.post("/staff/invitations/new",
                           data=invitation_form(surgery_date=yesterday.isoformat()))
    assert response.status_code == 422
    assert "The planned surgery date cannot be in the past." in main_text(response)
    assert scalars(app, sa.select(Screening.id)) == []
    response = client.post("/staff/invitations/new",
                           data=invitation_form(surgery_date=dt.date.today().isoformat()))
    assert response.status_code == 303


def test_send_by_e_mail_stays_ticked_when_asked_for_with_an_address(app, client, staff):
    signed_in(client, staff["intake"])
    response = client.post("/staff/invitations/new",
                           data=invitation_form(send_email="y", surgery_date="2001-01-01"))
    assert "checked" in page(response).find("input", name="send_email").attrs


# --- item 15: the e-mail's preview and test ---------------------------------------------------


def test_the_invitation_e_mail_can_be_previewed_without_sending(app, client, staff, smtp_server):
    ident, token = factories.screening(app, "Ann <b>Example</b>", language="es",
                                       patient_email="ann@patients.example")  # fmt: skip
    signed_in(client, staff["intake"])
    before = row(app, Screening, ident)
    response = client.get(f"/staff/screenings/{ident}/invitation-email")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<b>Example</b>" not in html and "Ann &lt;b&gt;Example&lt;/b&gt;" in html
    text = page(response).find("pre", class_="email-text").text
    assert "Estimado/a Ann <b>Example</b>" in text
    assert "/s/sample-link-the-patient-gets-their-own" in text
    framed = client.get(f"/staff/screenings/{ident}/invitation-email.html")
    assert framed.status_code == 200
    assert "sandbox" in framed.headers["Content-Security-Policy"]
    assert "script-src" not in framed.headers["Content-Security-Policy"]
    assert "Ann &lt;b&gt;Example&lt;/b&gt;" in framed.get_data(as_text=True)
    assert smtp_server.messages == []
    assert row(app, Screening, ident) == before  # the patient's link is untouched
    assert app.test_client().get(f"/s/{token}").status_code == 200
    assert len(audit_events(app, "invitation_previewed")) == 2


def test_a_member_of_staff_sends_themselves_a_test(app, client, staff, smtp_server):
    ident, token = factories.screening(app, patient_email="ann@patients.example")
    signed_in(client, staff["intake"])
    response = client.post(f"/staff/screenings/{ident}/invitation-email/test")
    assert response.status_code == 303
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [staff["intake"].email]
    assert "ann@patients.example" not in mail.everything
    assert mail.subject.startswith("[Test] ")
    assert "/s/sample-link-the-patient-gets-their-own" in mail.text
    assert token not in mail.everything
    [event] = audit_events(app, "invitation_test_sent")
    assert (event.user_id, event.screening_id, event.detail) == (staff["intake"].id, ident, "sent")
    assert "A test of this e-mail was sent" in main_text(client.get(location(response)))
    assert app.test_client().get(f"/s/{token}").status_code == 200


def test_tests_of_the_e_mail_are_limited(app, client, staff, smtp_server):
    ident, _ = factories.screening(app)
    signed_in(client, staff["intake"])
    for _ in range(5):
        assert client.post(f"/staff/screenings/{ident}/invitation-email/test").status_code == 303
    assert client.post(f"/staff/screenings/{ident}/invitation-email/test").status_code == 429
    assert len(smtp_server.messages) == 5


# --- item 4: the planned surgery as the patient answered it ------------------------------------


def answered_surgery(app, when: dt.date, **details) -> int:
    ident, _ = factories.screening(app, **details)
    answers = {**factories.example_answers(app, "low tier"), "surgery_date": when.isoformat()}
    factories.answer_and_submit(app, ident, answers)
    return ident


def test_the_patients_planned_surgery_shows_where_the_clinic_left_it_blank(app, staff):
    when = dt.date.today() + dt.timedelta(days=40)
    ident = answered_surgery(app, when)
    clinician = signed_in(app.test_client(), staff["clinician"])
    details = page(clinician.get(f"/staff/screenings/{ident}")).find("dl", class_="facts-grid")
    planned = next(d for d in details.find_all("div") if "Planned surgery" in d.text).text
    assert "Discectomy" in planned and when.isoformat() in planned
    assert "the patient's answer" in planned and "Not given" not in planned
    assert f"{when.isoformat()} (patient)" in " ".join(main_text(clinician.get("/staff/")).split())
    # The clinic's own entry wins; intake staff never see the patient's answers.
    entered = answered_surgery(app, when, planned_surgery="L4-5 microdiscectomy",
                               surgery_date=when + dt.timedelta(days=1))  # fmt: skip
    shown = page(clinician.get(f"/staff/screenings/{entered}")).find("dl", class_="facts-grid").text
    assert "L4-5 microdiscectomy" in shown and "the patient's answer" not in shown
    intake = signed_in(app.test_client(), staff["intake"])
    assert "Discectomy" not in main_text(intake.get(f"/staff/screenings/{ident}"))
    assert "(patient)" not in main_text(intake.get("/staff/"))


def test_the_dashboard_reads_the_patients_answers_in_one_query(app, staff):
    when = dt.date.today() + dt.timedelta(days=40)
    answered_surgery(app, when)
    clinician = signed_in(app.test_client(), staff["clinician"])
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        clinician.get("/staff/")
        one = sum("FROM answers" in s for s in seen)
        for _ in range(4):
            answered_surgery(app, when)
        seen.clear()
        assert main_text(clinician.get("/staff/")).count("(patient)") == 5
        five = sum("FROM answers" in s for s in seen)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert one == five == 1


# --- item 17: details that never break a word -------------------------------------------------


def test_an_e_mail_address_wraps_only_after_its_at_sign_or_before_a_dot():
    part = '<span class="nowrap">{}</span>'.format
    assert str(email_breaks("ann.lee@patients-x.example")) == "<wbr>".join(
        [part("ann"), part(".lee@"), part("patients-x"), part(".example")])
    assert str(email_breaks("<x>@y")) == "<wbr>".join([part("&lt;x&gt;@"), part("y")])


# --- issue 19 §8: the patient's copy from any device --------------------------------------------


def test_the_patients_copy_from_another_device_after_the_identity_check(app):
    ident, token = factories.submitted(app, "low tier", patient_dob=dt.date(1958, 11, 2))
    device = app.test_client()
    gone = device.get(f"/s/{token}")
    assert gone.status_code == 410
    link = page(gone).find("a", href=f"/s/{token}/copy")
    assert link is not None and "Download a copy of your summary" in link.text
    assert location(device.get(f"/s/{token}/my-summary.pdf")) == f"/s/{token}/copy"
    ask = device.get(f"/s/{token}/copy")
    assert ask.status_code == 200 and "Please confirm your date of birth" in main_text(ask)
    wrong = device.post(f"/s/{token}/copy", data={"day": "3", "month": "11", "year": "1958"})
    assert wrong.status_code == 422
    assert "does not match our records" in main_text(wrong)
    assert location(device.get(f"/s/{token}/my-summary.pdf")) == f"/s/{token}/copy"
    right = device.post(f"/s/{token}/copy", data={"day": "2", "month": "11", "year": "1958"})
    assert right.status_code == 303 and location(right) == f"/s/{token}/copy"
    offered = page(device.get(f"/s/{token}/copy")).find("a", href=f"/s/{token}/my-summary.pdf")
    assert offered is not None
    assert device.get(f"/s/{token}/my-summary.pdf").status_code == 202  # being prepared
    queue.run_pending(app)  # the worker renders it
    pdf = device.get(f"/s/{token}/my-summary.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "no-store"
    [event] = audit_events(app, "patient_copy_downloaded")
    assert (event.screening_id, event.detail) == (ident, "link 1, identity confirmed")
    assert [e.screening_id for e in audit_events(app, "identity_check_failed")] == [ident]
    # Another device still has to confirm; the result page stays with the browser that sent it.
    assert location(app.test_client().get(f"/s/{token}/my-summary.pdf")) == f"/s/{token}/copy"
    assert device.get(f"/s/{token}/result").status_code == 410


def test_the_copy_of_a_screening_not_yet_submitted_is_not_offered(app):
    _, token = factories.screening(app, patient_dob=dt.date(1958, 11, 2))
    device = app.test_client()
    assert location(device.get(f"/s/{token}/copy")) == f"/s/{token}"
    assert device.get(f"/s/{token}/my-summary.pdf").status_code == 404


def test_without_a_date_of_birth_or_return_code_the_clinic_gives_the_copy(app):
    _, token = factories.submitted(app, "low tier", patient_dob=None)
    with app.app_context():
        found = links.find(token)
        found.return_code_hash = None
        db.session.commit()
    response = app.test_client().get(f"/s/{token}/copy")
    assert response.status_code == 403
    assert "contact the clinic and they can give you a copy" in main_text(response)


# --- item 5: a clinic device handed to the patient ----------------------------------------------


@pytest.mark.parametrize(("language", "words", "not_said"), [
    ("en", "please give this device back to the front desk", "come back to this link later"),
    ("es", "devuelva este dispositivo a la recepción", "volver a este enlace"),
])  # fmt: skip
def test_the_welcome_page_on_a_clinic_device_offers_no_link_to_come_back_to(
    app, staff, language, words, not_said
):
    from .test_kiosk import hand_over

    device, _, path = hand_over(app, staff, language=language)
    text = main_text(device.get(path))
    assert words in text and not_said not in text
    assert "call 911 or your surgeon" not in text and "911" not in text
    at_home = main_text(app.test_client().get(path))
    assert "Please return" not in at_home


def test_an_emergency_flag_on_a_clinic_device_asks_the_patient_to_tell_the_desk(app, staff):
    from tests.web.support import example, walk

    from .test_kiosk import hand_over

    device, ident, path = hand_over(app, staff)
    walk(device, app, path.rsplit("/", 1)[1], example(app, "cauda equina"))
    response = device.post(f"{path}/submit")
    result = main_text(device.get(location(response)))
    assert "Please tell the front desk now" in result
    assert "call your surgeon's office" not in result
    done = device.post("/kiosk/end")
    shown = main_text(device.get(location(done)))
    assert "Please tell the front desk now" in shown
    assert "Please tell the front desk now" not in main_text(device.get("/kiosk"))  # said once
    assert "Please return this device to the front desk." in main_text(device.get("/kiosk"))
