"""A clinician's review of one screening: tier, factors, answers, the PDF, reviewed marks."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from screening import queue
from screening.codec import display as display_answer
from screening.models import Document, Screening, utcnow
from screening.scoring import score, type_answers
from tests import factories
from tests.web.support import page, questionnaire

from .conftest import audit_events, count, row, signed_in


def test_the_clinician_sees_tier_factors_and_answers(app, client, staff):
    ident, _ = factories.submitted(app, "moderate tier - two-level", name="Mo Moderate",
                                   patient_mrn="MRN-0042", surgeon="Dr. Joan Smith")
    signed_in(client, staff["clinician"])
    response = client.get(f"/staff/screenings/{ident}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    main = page(response).find("main")
    text = main.text
    q = questionnaire(app)
    answers = factories.example_answers(app, "moderate tier - two-level")
    assessment = score(q, answers)
    assert f"Risk tier: Moderate ({assessment.total} of {assessment.max_total} points" in text
    assert assessment.total == 6
    for result in assessment.factors:
        assert result.factor.label in text
    typed, _ = type_answers(q, answers)
    shown = {dt_.text: dd.text for dt_, dd in zip(main.find_all("dt"), main.find_all("dd"),
                                                  strict=True)}
    for question_id, value in typed.items():
        question = q.questions[question_id]
        assert shown.get(question.label) == display_answer(question, value), question_id
    assert "Mo Moderate" in text and "MRN-0042" in text and "Dr. Joan Smith" in text
    [event] = audit_events(app, "screening_viewed")
    assert (event.user_id, event.screening_id, event.detail) == (staff["clinician"].id, ident, None)


def test_red_flags_are_shown_with_what_to_do(app, client, staff):
    ident, _ = factories.submitted(app, "self-harm")
    signed_in(client, staff["clinician"])
    main = page(client.get(f"/staff/screenings/{ident}")).find("main")
    flags = main.find(id="flags")
    assert flags is not None
    section = next(s for s in main.find_all("section") if s.find(id="flags"))
    flag = next(f for f in questionnaire(app).red_flags if f.id == "self_harm")
    assert " ".join(flag.clinician_message.split()) in section.text
    assert "Acknowledge: Thoughts of self-harm" in section.text and "What was done" in section.text


def test_a_screening_not_yet_finished(app, client, staff):
    ident, _ = factories.screening(app)
    signed_in(client, staff["clinician"])
    text = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert "The patient has not finished the questionnaire yet." in text
    assert "Risk tier" not in text
    assert client.get(f"/staff/screenings/{ident}/summary.pdf").status_code == 409
    assert client.post(f"/staff/screenings/{ident}/review").status_code == 409
    assert client.post(f"/staff/screenings/{ident}/summary/refresh").status_code == 409
    assert row(app, Screening, ident)["reviewed_at"] is None
    assert audit_events(app, "pdf_downloaded") == audit_events(app, "screening_reviewed") == []


def test_the_pdf_summary_is_kept_and_served_byte_for_byte(app, client, staff):
    ident, _ = factories.submitted(app, "high tier", name="Hal High")
    signed_in(client, staff["clinician"])
    assert client.get(f"/staff/screenings/{ident}/summary.pdf").status_code == 202  # preparing
    queue.run_pending(app)  # the worker renders both documents
    first = client.get(f"/staff/screenings/{ident}/summary.pdf")
    assert first.status_code == 200
    assert first.mimetype == "application/pdf"
    assert first.data.startswith(b"%PDF-")
    assert first.headers["Content-Disposition"] == (
        f'attachment; filename="screening-S-{ident:06d}-summary.pdf"')
    assert first.headers["Cache-Control"] == "no-store"
    second = client.get(f"/staff/screenings/{ident}/summary.pdf")
    assert second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]
    assert count(app, Document) == 2  # the summary and the patient's copy, version 1 of each
    events = audit_events(app, "pdf_downloaded")
    assert [(e.user_id, e.screening_id) for e in events] == [(staff["clinician"].id, ident)] * 2

    response = client.post(f"/staff/screenings/{ident}/summary/refresh")
    assert response.status_code == 303
    assert [e.screening_id for e in audit_events(app, "pdf_rerendered")] == [ident]
    assert count(app, Document) == 3  # version 2 of the summary, asked for
    assert client.get(f"/staff/screenings/{ident}/summary.pdf").data == first.data  # until ready
    queue.run_pending(app)
    assert client.get(f"/staff/screenings/{ident}/summary.pdf").data != first.data


def test_there_is_no_other_way_to_the_pdf_than_the_staff_route(app, staff):
    """The only way to the PDF is the staff route, which checks the role and audits."""
    ident, _ = factories.submitted(app, "low tier")
    for who in (None, "clinician", "admin"):
        client = app.test_client()
        if who:
            signed_in(client, staff[who])
        assert client.get(f"/reports/screenings/{ident}/summary.pdf").status_code == 404
        assert client.post(f"/reports/screenings/{ident}/summary/refresh").status_code == 404
    assert count(app, Document) == 2  # asked for at submission, not rendered by any of these


def test_mark_reviewed_stores_who_and_when(app, client, staff):
    ident, _ = factories.submitted(app, "low tier")
    signed_in(client, staff["clinician"])
    response = client.post(f"/staff/screenings/{ident}/review")
    assert response.status_code == 303
    s = row(app, Screening, ident)
    assert s["reviewed_by_id"] == staff["clinician"].id
    assert abs(s["reviewed_at"] - utcnow()) < dt.timedelta(minutes=1)
    [event] = audit_events(app, "screening_reviewed")
    assert (event.user_id, event.screening_id) == (staff["clinician"].id, ident)
    text = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert "Marked as reviewed." in text
    assert f"Reviewed {s['reviewed_at']:%Y-%m-%d %H:%M} UTC by clinician@clinic.example" in text
    assert "Mark reviewed" not in text


def test_answers_are_not_changed_by_viewing(app, client, staff):
    ident, _ = factories.submitted(app, "low tier")
    with app.app_context():
        from screening.extensions import db

        before = db.session.execute(sa.select(Screening.assessment, Screening.total)
                                    .where(Screening.id == ident)).one()
        db.session.remove()
    signed_in(client, staff["clinician"])
    client.get(f"/staff/screenings/{ident}")
    client.get(f"/staff/screenings/{ident}/summary.pdf")
    after = row(app, Screening, ident)
    assert (after["assessment"], after["total"]) == tuple(before)
