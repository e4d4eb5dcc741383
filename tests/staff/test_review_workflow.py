"""The review workflow (issue 19 §7): a screening marked reviewed with who, when and a note, and
undone, both audited; the dashboard's red-flag column and its review filter; the staff page's
red flags by urgency; the audit filter by reference; the staff 403 page."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from screening.domain import NotAllowed, clinical
from screening.extensions import db
from screening.models import FlagEvent, Screening, User, utcnow
from tests import factories
from tests.web.support import page

from .conftest import audit_events, make_user, row, set_columns, signed_in

CAUDA = "Possible cauda equina syndrome"
SELF_HARM = "Thoughts of self-harm"


def emergency_and_same_day(app, name: str = "Cora Cauda", **details) -> int:
    """A submitted screening whose answers raise an emergency flag (cauda equina) and a
    same-day one (thoughts of self-harm, raised first in the questionnaire's order)."""
    ident, _ = factories.screening(app, name, **details)
    answers = factories.example_answers(app, "cauda equina flag")
    self_harm = factories.example_answers(app, "self-harm flag")
    answers.update({k: v for k, v in self_harm.items() if k.startswith(("phq9", "suicide"))})
    answers.update({k: v for k, v in self_harm.items() if k not in answers})
    factories.answer_and_submit(app, ident, answers)
    return ident


def flag_ids(app, ident: int) -> dict[str, int]:
    with app.app_context():
        found = db.session.execute(
            sa.select(FlagEvent.flag_id, FlagEvent.id).where(FlagEvent.screening_id == ident)
        ).all()
        db.session.remove()
    return dict(found)


def flag_cell(response, name: str) -> str:
    body = page(response).find("tbody")
    [tr] = [tr for tr in body.find_all("tr") if tr.find("a") and tr.find("a").text == name]
    return " ".join(tr.find_all("td")[-1].text.split())


# --- the domain -------------------------------------------------------------------------------


def test_mark_reviewed_keeps_who_when_and_the_note_and_undo_clears_them(app, staff):
    ident, _ = factories.submitted(app, "low tier")
    with app.app_context():
        s = db.session.get(Screening, ident)
        clinician = db.session.get(User, staff["clinician"].id)
        clinical.mark_reviewed(s, clinician, "  Discussed with\n the surgeon;\u202e fine.  ")
        db.session.commit()
        db.session.remove()
    s = row(app, Screening, ident)
    assert s["reviewed_by_id"] == staff["clinician"].id
    assert abs(s["reviewed_at"] - utcnow()) < dt.timedelta(minutes=1)
    assert s["reviewed_note"] == "Discussed with the surgeon; fine."  # spaces and Cf tidied
    [event] = audit_events(app, "screening_reviewed")
    assert (event.user_id, event.screening_id, event.detail) == (
        staff["clinician"].id, ident, "with a note")
    assert "surgeon" not in repr(event.detail)  # never what the note says

    first_at = s["reviewed_at"]
    other = make_user(app, "other@clinic.example", ["clinician"])
    with app.app_context():
        s = db.session.get(Screening, ident)
        with pytest.raises(NotAllowed, match="already marked reviewed"):
            clinical.mark_reviewed(s, db.session.get(User, other.id))
        clinical.undo_review(s, db.session.get(User, other.id))
        db.session.commit()
        db.session.remove()
    after = row(app, Screening, ident)
    assert (after["reviewed_at"], after["reviewed_by_id"], after["reviewed_note"]) == (
        None, None, None)
    [undone] = audit_events(app, "screening_review_undone")
    assert (undone.user_id, undone.screening_id) == (other.id, ident)
    assert undone.detail == (
        f"reviewed {first_at:%Y-%m-%dT%H:%MZ} by user {staff['clinician'].id}")
    with app.app_context():
        s = db.session.get(Screening, ident)
        with pytest.raises(NotAllowed, match="not marked reviewed"):
            clinical.undo_review(s, db.session.get(User, other.id))
        clinical.mark_reviewed(s, db.session.get(User, other.id), "   ")  # blank: no note
        db.session.commit()
        db.session.remove()
    again = row(app, Screening, ident)
    assert again["reviewed_by_id"] == other.id and again["reviewed_note"] is None
    assert [e.detail for e in audit_events(app, "screening_reviewed")] == ["with a note", None]


def test_only_a_submitted_screening_is_reviewed_and_a_bad_note_is_refused(app, staff):
    invited, _ = factories.screening(app, "Ivy Invited")
    done, _ = factories.submitted(app, "low tier")
    with app.app_context():
        clinician = db.session.get(User, staff["clinician"].id)
        with pytest.raises(NotAllowed, match="Only a submitted screening"):
            clinical.mark_reviewed(db.session.get(Screening, invited), clinician, "note")
        s = db.session.get(Screening, done)
        with pytest.raises(NotAllowed, match="control characters"):
            clinical.mark_reviewed(s, clinician, "bad\x00note")
        with pytest.raises(NotAllowed, match="at most 2000"):
            clinical.mark_reviewed(s, clinician, "x" * 2001)
        db.session.rollback()
        db.session.remove()
    assert row(app, Screening, invited)["reviewed_at"] is None
    assert row(app, Screening, done)["reviewed_at"] is None
    assert audit_events(app, "screening_reviewed") == []


# --- the pages ----------------------------------------------------------------------------------


def test_a_clinician_marks_reviewed_with_a_note_then_undoes_it(app, client, staff):
    ident, _ = factories.submitted(app, "low tier")
    signed_in(client, staff["clinician"])
    main = page(client.get(f"/staff/screenings/{ident}")).find("main")
    review = main.find("section", **{"aria-labelledby": "review"})
    assert "Not reviewed yet." in review.text and review.find("textarea", id="note")
    response = client.post(f"/staff/screenings/{ident}/review",
                           data={"note": "Seen with Dr Osei; proceed."})
    assert response.status_code == 303
    s = row(app, Screening, ident)
    text = " ".join(page(client.get(f"/staff/screenings/{ident}")).find("main").text.split())
    assert "Marked as reviewed." in text
    assert (f"Reviewed {s['reviewed_at']:%Y-%m-%d %H:%M} UTC by clinician@clinic.example."
            in text)
    assert "Note: Seen with Dr Osei; proceed." in text and "Undo review" in text
    assert "Mark reviewed" not in text

    response = client.post(f"/staff/screenings/{ident}/review/undo")
    assert response.status_code == 303
    text = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert "The review is undone" in text and "Mark reviewed" in text
    assert row(app, Screening, ident)["reviewed_note"] is None
    assert [e.action for e in audit_events(app) if "review" in e.action] == [
        "screening_reviewed", "screening_review_undone"]
    # Undoing again, or reviewing twice, is refused in words, not an error page.
    response = client.post(f"/staff/screenings/{ident}/review/undo", follow_redirects=True)
    assert response.status_code == 200
    assert "This screening is not marked reviewed." in page(response).find("main").text


@pytest.mark.parametrize(("note", "message"), [
    ("x" * 2001, "Use at most 2000 characters."),
    ("phoned\x00the patient", "Remove the control characters"),
    ("bell\x07", "Remove the control characters"),
])
def test_a_wrong_note_is_a_form_error_not_a_failure(app, client, staff, note, message):
    ident, _ = factories.submitted(app, "low tier")
    signed_in(client, staff["clinician"])
    response = client.post(f"/staff/screenings/{ident}/review", data={"note": note})
    assert response.status_code == 422
    main = page(response).find("main")
    assert main.find(id="error-summary") is not None
    assert message in main.find(id="note-error").text
    assert row(app, Screening, ident)["reviewed_at"] is None
    assert audit_events(app, "screening_reviewed") == []


def test_intake_and_admins_may_not_review(app, staff):
    ident, _ = factories.submitted(app, "low tier")
    for role in ("intake", "admin"):
        client = signed_in(app.test_client(), staff[role])
        assert client.post(f"/staff/screenings/{ident}/review", data={"note": "x"}
                           ).status_code == 403
        assert client.post(f"/staff/screenings/{ident}/review/undo").status_code == 403
    clinician = signed_in(app.test_client(), staff["clinician"])
    assert clinician.post(f"/staff/screenings/{ident}/review").status_code == 303
    for role in ("intake", "admin"):
        client = signed_in(app.test_client(), staff[role])
        assert client.post(f"/staff/screenings/{ident}/review/undo").status_code == 403
    assert row(app, Screening, ident)["reviewed_by_id"] == staff["clinician"].id


def test_the_dashboard_names_the_most_urgent_flag_and_counts_the_others(app, client, staff):
    ident = emergency_and_same_day(app)
    single, _ = factories.submitted(app, "self-harm flag", name="Sam Single")
    plain, _ = factories.submitted(app, "low tier", name="Pat Plain")
    signed_in(client, staff["clinician"])
    response = client.get("/staff/")
    assert flag_cell(response, "Cora Cauda") == f"Emergency: {CAUDA} +1 more Open"
    assert flag_cell(response, "Sam Single") == f"Same day: {SELF_HARM} Open"
    assert flag_cell(response, "Pat Plain") == ""

    ids = flag_ids(app, ident)
    note = {"note": "Phoned; sent to the emergency department."}
    client.post(f"/staff/screenings/{ident}/flags/{ids['cauda_equina']}/acknowledge", data=note)
    # One still open (the same-day one): still open, and the emergency still named first.
    assert flag_cell(client.get("/staff/"), "Cora Cauda") == f"Emergency: {CAUDA} +1 more Open"
    client.post(f"/staff/screenings/{ident}/flags/{ids['self_harm']}/acknowledge", data=note)
    response = client.get("/staff/")
    assert flag_cell(response, "Cora Cauda") == f"Emergency: {CAUDA} +1 more Acknowledged"

    # A flag its questionnaire version no longer names is shown by its id, spelled out.
    set_columns(app, FlagEvent, ids["cauda_equina"], flag_id="gone_flag")
    assert flag_cell(client.get("/staff/"), "Cora Cauda") == (
        "Emergency: Gone flag +1 more Acknowledged")


def test_a_withdrawn_acknowledged_flag_no_longer_counts(app, client, staff):
    ident = emergency_and_same_day(app)
    ids = flag_ids(app, ident)
    signed_in(client, staff["clinician"])
    client.post(f"/staff/screenings/{ident}/flags/{ids['cauda_equina']}/acknowledge",
                data={"note": "Seen in the emergency department."})
    set_columns(app, FlagEvent, ids["cauda_equina"], withdrawn_at=utcnow())
    assert flag_cell(client.get("/staff/"), "Cora Cauda") == f"Same day: {SELF_HARM} Open"


def test_the_screening_page_lists_red_flags_by_urgency(app, client, staff):
    ident = emergency_and_same_day(app)
    signed_in(client, staff["clinician"])
    titles = [h3.text for h3 in page(client.get(f"/staff/screenings/{ident}")).find(
        "section", **{"aria-labelledby": "flags"}).find_all("h3")]
    assert [t.split(" Emergency")[0].split(" Same-day")[0] for t in titles] == [CAUDA, SELF_HARM]
    # Acknowledged, the emergency stays first.
    ids = flag_ids(app, ident)
    client.post(f"/staff/screenings/{ident}/flags/{ids['cauda_equina']}/acknowledge",
                data={"note": "Sent to the emergency department."})
    titles = [h3.text for h3 in page(client.get(f"/staff/screenings/{ident}")).find(
        "section", **{"aria-labelledby": "flags"}).find_all("h3")]
    assert titles[0].startswith(CAUDA) and titles[1].startswith(SELF_HARM)


def names(response) -> list[str]:
    assert response.status_code == 200
    return [a.text for a in page(response).find("tbody").find_all("a")]


def test_the_review_filter(app, client, staff):
    reviewed, _ = factories.submitted(app, "low tier", name="Rita Reviewed")
    waiting, _ = factories.submitted(app, "low tier", name="Walt Waiting")
    factories.screening(app, "Ivy Invited")
    signed_in(client, staff["clinician"])
    client.post(f"/staff/screenings/{reviewed}/review", data={"note": "Fine."})
    assert names(client.get("/staff/?reviewed=yes")) == ["Rita Reviewed"]
    assert names(client.get("/staff/?reviewed=no")) == ["Walt Waiting"]
    assert names(client.get("/staff/?reviewed=evil")) == names(client.get("/staff/"))
    response = client.get("/staff/?reviewed=yes")
    assert 'value="yes" selected' in response.get_data(as_text=True)
    events = [e for e in audit_events(app, "screenings_listed") if "reviewed=yes" in e.detail]
    assert events and all(e.detail.endswith(f"ids {reviewed}") for e in events)
    text = " ".join(page(response).find("tbody").text.split())
    assert f"Reviewed {utcnow():%Y-%m-%d}" in text
    client.post(f"/staff/screenings/{reviewed}/review/undo")
    assert names(client.get("/staff/?reviewed=yes")) == []
    assert names(client.get("/staff/?reviewed=no")) == ["Walt Waiting", "Rita Reviewed"]
    # Intake staff have no such filter: it is ignored.
    intake = signed_in(app.test_client(), staff["intake"])
    assert len(names(intake.get("/staff/?reviewed=yes"))) == 3
    assert 'name="reviewed"' not in intake.get("/staff/").get_data(as_text=True)


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_the_dashboard_reads_the_flags_of_a_page_in_one_query(app, client, staff, statements):
    """As many statements for a page of two flagged screenings as for a page of seven
    screenings, six of them flagged (each row is read once: not again after the commit)."""
    signed_in(client, staff["clinician"])

    def counted() -> int:
        client.get("/staff/")  # the questionnaire parsed, the session warm
        statements.clear()
        assert client.get("/staff/").status_code == 200
        return len(statements)

    for n in range(2):
        emergency_and_same_day(app, f"Flagged {n}")
    few = counted()
    for n in range(2, 6):
        emergency_and_same_day(app, f"Flagged {n}")
    factories.submitted(app, "low tier", name="Pat Plain")
    assert counted() == few
    assert sum("FROM flag_events" in s for s in statements) == 1
    assert sum(s.startswith("SELECT screenings.id") for s in statements) <= 2  # the two parts


# --- the audit filter, the 403 page -------------------------------------------------------------


def test_the_audit_filter_takes_the_reference_as_shown(app, staff):
    first, _ = factories.screening(app, "Ann First")
    ident, _ = factories.screening(app, "Ben Second")
    clinician = signed_in(app.test_client(), staff["clinician"])
    for n in (first, ident):
        clinician.get(f"/staff/screenings/{n}")
    admin = signed_in(app.test_client(), staff["admin"])
    reference = f"S-{ident:06d}"
    for given in (reference, reference.lower(), f"  {reference}  ", str(ident),
                  f"{ident:06d}", f"s{ident:06d}"):
        response = admin.get("/staff/audit", query_string={"screening": given})
        assert response.status_code == 200, given
        rows = [[td.text for td in tr.find_all("td")]
                for tr in page(response).find("tbody").find_all("tr")]
        assert [(r[1], r[4]) for r in rows] == [("screening viewed", reference)], given
        assert page(response).find(id="error-summary") is None
    for bad in ("S-", "S-00000X", "S-0", "T-000005", "5 6", "S-99999999999", "\x00", "S-\u0665"):
        response = admin.get("/staff/audit", query_string={"screening": bad})
        assert response.status_code == 200, bad
        main = page(response).find("main")
        assert "Enter a screening as it is shown, like S-000005" in main.find(
            id="screening-error").text, bad
        assert len(main.find("tbody").find_all("tr")) > 2  # the filter is left out


def test_a_staff_403_page_is_in_the_staff_layout(app, staff):
    intake = signed_in(app.test_client(), staff["intake"])
    response = intake.get("/staff/audit")
    assert response.status_code == 403
    html = page(response)
    nav = html.find("nav", **{"aria-label": "Staff"})
    assert nav is not None and "intake@clinic.example" in nav.text
    assert "Screenings" in nav.text
    assert html.find("main").find("h1").text == "Not allowed"
    assert "staff area" in html.find("footer").text
    # A patient's error page keeps the patient's layout.
    response = app.test_client().get("/s/not-a-link/nowhere")
    assert response.status_code == 404
    html = page(response)
    assert html.find("nav", **{"aria-label": "Staff"}) is None
    assert "staff area" not in html.find("footer").text
