"""GET /api/v1/screenings/<id>: the list's fields, plus the assessment and the visible answers."""

from __future__ import annotations

from screening.domain import answering
from screening.extensions import db
from screening.models import Answer, Screening
from screening.scoring import score, type_answers, visible_questions
from tests import factories
from tests.staff.conftest import audit_events, row, set_columns, snapshot
from tests.web.support import questionnaire

from .conftest import call, ok


def test_a_submitted_screening_with_its_assessment_and_answers(app, client, api_key):
    ident, _ = factories.submitted(app, "low tier", name="Ann Example", patient_mrn="MRN-77")
    body = ok(call(client, f"/screenings/{ident}", api_key))
    stored = row(app, Screening, ident)
    assert body["id"] == ident and body["reference"] == f"S-{ident:06d}"
    assert body["status"] == "submitted" and body["patient"]["mrn"] == "MRN-77"
    assert body["assessment"] == stored["assessment"]
    assert (body["tier"], body["total"]) == (stored["tier"], stored["total"])
    assert body["assessment"]["tier"] == stored["tier"]
    # The answers are those of the example, as stored.
    q = questionnaire(app)
    typed, _ = type_answers(q, factories.example_answers(app, "low tier"))
    visible, _ = visible_questions(q, typed)
    assert set(body["answers"]) == {k for k in typed if k in visible}
    with app.app_context():
        saved = answering.saved_answers(db.session.get(Screening, ident))
    for question_id, value in body["answers"].items():
        assert value == saved[question_id], question_id


def test_answers_to_hidden_questions_are_never_given(app, client, api_key):
    """An answer kept for the record after the patient changed an earlier answer (which hid its
    question) is not an answer: the API leaves it out, as scoring and the PDF do."""
    ident, _ = factories.submitted(app, "low tier")  # no earlier spine surgery
    q = questionnaire(app)
    hidden = q.questions["prior_surgery_count"]
    with app.app_context():
        screening = db.session.get(Screening, ident)
        assert hidden.id not in score(q, answering.saved_answers(screening)).visible
        db.session.add(Answer(screening_id=ident, question_id=hidden.id, value=3))
        db.session.commit()
        db.session.remove()
    body = ok(call(client, f"/screenings/{ident}", api_key))
    assert hidden.id not in body["answers"]
    assert "prior_surgery_count" not in response_text(client, ident, api_key)
    assert body["answers"]["prior_spine_surgery"] is False


def response_text(client, ident, key) -> str:
    return call(client, f"/screenings/{ident}", key).get_data(as_text=True)


def test_before_submission_there_is_no_assessment_and_no_answers(app, client, api_key):
    ident, _ = factories.screening(app, "Ivy Invited", days=0)
    body = ok(call(client, f"/screenings/{ident}", api_key))
    assert body["status"] == "expired"  # effective: the link ran out
    assert body["assessment"] is None and body["answers"] is None
    set_columns(app, Screening, ident, status="in_progress")
    with app.app_context():
        db.session.add(Answer(screening_id=ident, question_id="surgery_region",
                              value="lower_back"))
        db.session.commit()
        db.session.remove()
    body = ok(call(client, f"/screenings/{ident}", api_key))
    assert body["answers"] is None and body["assessment"] is None


def test_acknowledged_and_reviewed_are_shown(app, client, api_key):
    from screening.models import utcnow

    ident, _ = factories.submitted(app, "self-harm")
    body = ok(call(client, f"/screenings/{ident}", api_key))
    assert body["has_red_flag"] is True and body["acknowledged_at"] is None
    assert body["assessment"]["red_flags"]
    at = utcnow().replace(microsecond=0)
    set_columns(app, Screening, ident, acknowledged_at=at, reviewed_at=at)
    body = ok(call(client, f"/screenings/{ident}", api_key))
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["acknowledged_at"] == body["reviewed_at"] == stamp
    assert body["reviewed_by"] is body["review_note"] is body["acknowledged_by"] is None


def test_the_review_and_who_acknowledged_are_served(app, client, api_key):
    """Who reviewed it, when, with what note; who closed its flags; and each flag's own
    acknowledgements: in the list and in the screening."""
    from screening.domain import clinical, flags
    from screening.models import User
    from tests.staff.conftest import make_user

    ident, _ = factories.submitted(app, "self-harm", name="Fay Flagged")
    doctor = make_user(app, "doctor@clinic.example", ["clinician"])
    other = make_user(app, "other@clinic.example", ["clinician"])
    with app.app_context():
        s = db.session.get(Screening, ident)
        [event] = flags.events(s)
        flags.acknowledge(event, db.session.get(User, doctor.id), "Phoned; safe at home.")
        clinical.mark_reviewed(s, db.session.get(User, other.id), "Refer to pain psychology.")
        db.session.commit()
        db.session.remove()
    body = ok(call(client, f"/screenings/{ident}", api_key))
    assert (body["acknowledged_by"], body["reviewed_by"], body["review_note"]) == (
        "doctor@clinic.example", "other@clinic.example", "Refer to pain psychology.")
    assert body["reviewed_at"].endswith("Z") and body["acknowledged_at"].endswith("Z")
    [ack] = body["flags"][0]["acknowledgements"]
    assert (ack["by"], ack["note"]) == ("doctor@clinic.example", "Phoned; safe at home.")
    [item] = ok(call(client, "/screenings?reviewed=yes", api_key))["items"]
    assert {k: item[k] for k in ("id", "acknowledged_by", "reviewed_by", "review_note")} == {
        "id": ident, "acknowledged_by": "doctor@clinic.example",
        "reviewed_by": "other@clinic.example", "review_note": "Refer to pain psychology."}
    assert ok(call(client, "/screenings?reviewed=no", api_key))["items"] == []
    with app.app_context():
        clinical.undo_review(db.session.get(Screening, ident), db.session.get(User, other.id))
        db.session.commit()
        db.session.remove()
    body = ok(call(client, f"/screenings/{ident}", api_key))
    assert body["reviewed_at"] is body["reviewed_by"] is body["review_note"] is None
    [item] = ok(call(client, "/screenings?reviewed=no", api_key))["items"]
    assert item["id"] == ident


def test_unknown_ids_are_404_and_bad_ids_400(app, client, api_key):
    ident, _ = factories.submitted(app, "low tier")
    for path in ("/screenings/99999", f"/screenings/{ident + 1}", "/screenings/2147483647"):
        response = call(client, path, api_key)
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"
    for path in ("/screenings/0", "/screenings/-1", "/screenings/abc", "/screenings/1.0",
                 "/screenings/2147483648", "/screenings/99999999999999999999999",
                 "/screenings/%EF%BC%91", "/screenings/%00"):
        response = call(client, path, api_key)
        assert response.status_code == 400, path
        assert response.get_json()["parameter"] == "id"


def test_each_read_is_audited_with_the_screening_and_the_key(app, client, api_key):
    ident, _ = factories.submitted(app, "low tier", name="Ann Example")
    ok(call(client, f"/screenings/{ident}", api_key))
    call(client, "/screenings/99999", api_key)
    [event] = audit_events(app, "api_screening_read")
    assert event.screening_id == ident and event.user_id is None
    assert event.detail == f"API key {api_key.prefix} (Hospital EHR)"
    assert "Ann" not in event.detail


def test_reading_changes_no_screening(app, client, api_key):
    ident, _ = factories.submitted(app, "high tier")
    for path in ("/screenings", f"/screenings/{ident}"):
        before = snapshot(app)
        ok(call(client, path, api_key))
        after = snapshot(app)
        for table in before:
            if table not in ("audit_events", "api_keys"):
                assert after[table] == before[table], (path, table)
        assert len(after["audit_events"]) == len(before["audit_events"]) + 1


def test_a_screenings_flags_as_raised_with_their_acknowledgements(app, client, api_key):
    """Red flags show before anything is sent, each with who acknowledged it and what was
    done; a withdrawn acknowledgement is kept, marked."""
    from tests.staff.conftest import make_user

    ident, _ = factories.submitted(app, "self-harm")
    doctor = make_user(app, "doctor@clinic.example", ["clinician"])
    factories.acknowledged_flag(app, ident, doctor.id)
    body = ok(call(client, f"/screenings/{ident}", api_key))
    [flag] = [f for f in body["flags"] if f["id"] == "self_harm"]
    assert (flag["urgency"], flag["self_harm"], flag["withdrawn_at"]) == ("same_day", True, None)
    assert flag["raised_at"].endswith("Z")
    [ack] = flag["acknowledgements"]
    assert (ack["by"], ack["note"], ack["withdrawn_at"]) == (
        "doctor@clinic.example", "Phoned the patient.", None)
    # Not submitted yet: the flags are there already.
    invited, _ = factories.screening(app)
    assert ok(call(client, f"/screenings/{invited}", api_key))["flags"] == []
