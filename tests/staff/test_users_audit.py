"""Staff accounts on the admin page, and the audit log: filters, no patient data, append-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.domain import audit
from screening.domain.audit import AuditIsAppendOnly
from screening.extensions import db
from screening.models import AuditEvent, Screening, User
from tests import factories
from tests.web.support import example, page, walk

from .conftest import (
    audit_events,
    goes_to_login,
    is_signed_in,
    location,
    login,
    row,
    scalars,
    signed_in,
)
from .test_invitations import invitation_form

GOOD = "Quiet-River-Lantern-92"


def user_rows(response) -> dict[str, list[str]]:
    """email -> [name, roles, status, action] from the users table."""
    body = page(response).find("tbody")
    return {tr.find_all("td")[0].text: [td.text for td in tr.find_all("td")[1:]]
            for tr in body.find_all("tr")}


def test_an_admin_creates_a_user_who_can_then_sign_in(app, client, staff):
    signed_in(client, staff["admin"])
    data = {"email": "New.Person@Clinic.example", "name": "New Person",
            "roles": ["intake", "clinician"], "password": GOOD}
    response = client.post("/staff/users", data=data)
    assert response.status_code == 303 and location(response) == "/staff/users"
    [user] = scalars(app, sa.select(User).where(User.email == "new.person@clinic.example"))
    assert (user.name, user.roles, user.active) == ("New Person", ["intake", "clinician"], True)
    [event] = audit_events(app, "user_created")
    assert (event.user_id, event.detail) == (staff["admin"].id, f"user {user.id}")
    listing = client.get("/staff/users")
    assert "The account is made." in page(listing).find("main").text
    assert "new.person@clinic.example" not in page(listing).find(class_="notice").text
    assert user_rows(listing)["new.person@clinic.example"][:4] == [
        "New Person", "intake, clinician", "Active (password to choose)", "Off"]
    assert GOOD not in listing.get_data(as_text=True)
    newcomer = app.test_client()
    assert login(newcomer, "new.person@clinic.example", GOOD).status_code == 303
    # the initial password was the admin's choice: every page asks for the user's own first
    assert location(newcomer.get("/staff/")) == "/staff/account/password"


def test_the_user_form_checks_its_input(app, client, staff):
    signed_in(client, staff["admin"])
    base = {"email": "x.person@clinic.example", "name": "", "roles": ["intake"], "password": GOOD}
    for changes, message in [
        ({"email": "intake@clinic.example"}, "A user with this e-mail already exists."),
        ({"email": "INTAKE@clinic.example "}, "A user with this e-mail already exists."),
        ({"email": "not-an-address"}, "Enter an e-mail address like name@example.org."),
        ({"roles": []}, "Choose at least one role."),
        ({"roles": ["surgeon"]}, "is not a valid choice"),
        ({"password": ""}, "Enter a password."),
    ]:
        response = client.post("/staff/users", data={**base, **changes})
        assert response.status_code == 422, changes
        assert message in page(response).find("main").text, changes
    assert len(scalars(app, sa.select(User))) == 3
    assert audit_events(app, "user_created") == []


def test_disable_and_enable(app, staff):
    admin = signed_in(app.test_client(), staff["admin"])
    clinician = signed_in(app.test_client(), staff["clinician"])
    ident = staff["clinician"].id
    response = admin.post(f"/staff/users/{ident}/disable")
    assert response.status_code == 303
    assert row(app, User, ident)["active"] is False
    assert goes_to_login(clinician.get("/staff/"))  # the open session ends at once
    assert login(app.test_client(), staff["clinician"]).status_code == 401
    assert user_rows(admin.get("/staff/users"))["clinician@clinic.example"][2] == "Disabled"

    response = admin.post(f"/staff/users/{ident}/enable")
    assert response.status_code == 303
    assert row(app, User, ident)["active"] is True and row(app, User, ident)["disabled_at"] is None
    assert goes_to_login(clinician.get("/staff/"))  # the old session does not come back
    assert login(app.test_client(), staff["clinician"]).status_code == 303
    assert [(e.action, e.detail) for e in audit_events(app) if e.action.startswith("user_")] == [
        ("user_disabled", f"user {ident}"), ("user_enabled", f"user {ident}")]
    assert admin.post("/staff/users/999/disable").status_code == 404


def test_an_admin_cannot_disable_themself(app, client, staff):
    signed_in(client, staff["admin"])
    listing = client.get("/staff/users")
    assert user_rows(listing)["admin@clinic.example"][4] == ""  # no button on one's own row
    response = client.post(f"/staff/users/{staff['admin'].id}/disable")
    assert response.status_code == 303
    assert row(app, User, staff["admin"].id)["active"] is True
    assert "You cannot disable your own account." in page(client.get("/staff/users")).text
    assert audit_events(app, "user_disabled") == []
    assert is_signed_in(client)


def table(response) -> list[list[str]]:
    body = page(response).find("tbody")
    return [[td.text for td in tr.find_all("td")] for tr in body.find_all("tr")]


def test_the_audit_page_filters(app, staff):
    ident, _ = factories.screening(app)
    other, _ = factories.screening(app, "Bo Other")
    clinician = signed_in(app.test_client(), staff["clinician"])
    clinician.get(f"/staff/screenings/{ident}")
    clinician.get(f"/staff/screenings/{other}")
    signed_in(app.test_client(), staff["intake"])
    admin = signed_in(app.test_client(), staff["admin"])

    def actions(query: str) -> list[str]:
        response = admin.get(f"/staff/audit?{query}")
        assert response.status_code == 200, query
        return [r[1] for r in table(response) if len(r) > 1]

    everything = ["login", "login", "screening viewed", "screening viewed", "login"]
    assert actions("") == everything
    assert actions("action=login") == ["login"] * 3
    assert actions("action=screening_viewed&user=Clinician@clinic.example") == [
        "screening viewed"] * 2
    assert actions("user=intake@clinic.example") == ["login"]
    rows = table(admin.get(f"/staff/audit?screening={ident}"))
    assert [(r[1], r[2], r[4]) for r in rows] == [
        ("screening viewed", "clinician@clinic.example", f"S-{ident:06d}")]
    assert actions("since=2000-01-01") == everything
    assert table(admin.get("/staff/audit?since=2999-01-01")) == [["No events match."]]
    for bad in ("action=evil", "screening=abc", "since=garbage", "page=abc", "page=-1"):
        assert actions(bad) == everything, bad
    assert "Audit log" in page(admin.get("/staff/audit")).find("h1").text


def test_the_audit_page_has_50_events_a_page(app, staff):
    with app.app_context():
        for n in range(60):
            audit.record("screening_viewed", screening_id=n + 1)
        db.session.commit()
        db.session.remove()
    admin = signed_in(app.test_client(), staff["admin"])
    first = admin.get("/staff/audit?action=screening_viewed")
    assert len(table(first)) == 50
    older = page(first).find("a", rel="next")
    assert older is not None and "action=screening_viewed" in older.attrs["href"]
    second = admin.get(older.attrs["href"])
    assert len(table(second)) == 10
    assert page(second).find("a", rel="next") is None
    assert table(first)[0][4] == "S-000060" and table(second)[-1][4] == "S-000001"


def test_audit_events_hold_no_answers_and_no_patient_details(app, staff, smtp_server):
    intake = signed_in(app.test_client(), staff["intake"])
    form = invitation_form(patient_name="Zelda Quartermain", send_email="y",
                           patient_email="zelda@patients.example", patient_mrn="MRN-77331")
    assert intake.post("/staff/invitations/new", data=form).status_code == 303
    [screening] = scalars(app, sa.select(Screening))
    ident = screening.id
    intake.post(f"/staff/screenings/{ident}/extend", data={"days": "9"})
    [mail] = smtp_server.messages
    path = mail.text.split("http://localhost", 1)[1].split()[0]
    token = path.rsplit("/", 1)[1]
    patient = app.test_client()
    answers = example(app, "self-harm")
    walk(patient, app, token, answers)
    assert patient.post(f"/s/{token}/submit").status_code == 303
    login(app.test_client(), "intake@clinic.example", "Wrong-password-0000")
    clinician = signed_in(app.test_client(), staff["clinician"])
    clinician.get(f"/staff/screenings/{ident}")
    [flag] = factories.flag_event_ids(app, ident)
    clinician.post(f"/staff/screenings/{ident}/flags/{flag}/acknowledge",
                   data={"note": "Phoned the patient."})
    clinician.post(f"/staff/screenings/{ident}/review")
    signed_in(app.test_client(), staff["admin"]).get("/staff/audit")

    events = audit_events(app)
    assert {"invitation_created", "invitation_sent", "invitation_extended", "screening_viewed",
            "red_flag_acknowledged", "screening_reviewed", "login_failed", "answers_saved",
            "answers_submitted"} <= {e.action for e in events}
    forbidden = ["Zelda", "Quartermain", "MRN-77331", "zelda@patients.example", "1960-04-30",
                 "+1 (555) 010-4477", "L4-S1", "Dr. Joan Smith", token]
    texts = [str(v) for v in answers.values() if isinstance(v, str) and len(v) >= 3]
    texts += [str(x) for v in answers.values() if isinstance(v, list) for x in v]
    numbers = [str(v) for v in answers.values()
               if isinstance(v, int | float) and not isinstance(v, bool)]
    for event in events:
        columns = {c.key: getattr(event, c.key) for c in AuditEvent.__table__.c}
        text = " ".join(str(v) for v in columns.values() if v is not None)
        for word in forbidden + texts:
            assert word.lower() not in text.lower(), (event.action, word)
        assert event.detail is None or event.detail in (
            "9 days", f"user {staff['admin'].id}") or event.detail.startswith(
                ("user ", "since ", "flag event ", "step ", "link ", "page "))
        assert str(event.detail) not in numbers or event.detail is None
        assert event.action in audit.ACTIONS


def test_a_password_typed_in_the_e_mail_box_is_not_audited(app, client, staff):
    secret = "Sekret-Guess-4711-xyz"
    response = client.post("/staff/login", data={"email": secret, "password": secret})
    assert response.status_code == 401
    [event] = audit_events(app, "login_failed")
    columns = [str(getattr(event, c.key)) for c in AuditEvent.__table__.c]
    assert not any(secret.lower() in value.lower() for value in columns)


def test_audit_events_cannot_be_changed_or_deleted(app, staff):
    signed_in(app.test_client(), staff["intake"])
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent))
        event.detail = "rewritten"
        with pytest.raises(AuditIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        event = db.session.scalar(sa.select(AuditEvent))
        db.session.delete(event)
        with pytest.raises(AuditIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.remove()
    [event] = audit_events(app)
    assert (event.action, event.detail) == ("login", None)


def test_unknown_audit_actions_are_refused(app):
    with app.app_context(), pytest.raises(ValueError, match="unknown audit action"):
        audit.record("answers_viewed_by_someone")
