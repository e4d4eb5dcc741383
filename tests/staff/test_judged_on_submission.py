"""A submitted screening is judged as on the day it was submitted: once the planned surgery date
(`min: today`) has passed, the staff page, a newly rendered PDF, the CSV, the FHIR bundle and the
API still show that answer, and the assessment stays complete and the same as the stored one."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from screening import queue
from screening.extensions import db
from screening.models import Answer, Screening, utcnow
from tests import factories
from tests.pdf import body_text, page_texts
from tests.web.support import page

from .conftest import signed_in
from .test_export import export


def backdate(app, ident: int, surgery: dt.date, submitted: dt.datetime) -> None:
    """As if the patient had answered a surgery date still ahead, and that day has now passed."""
    with app.app_context():
        db.session.execute(sa.update(Screening).where(Screening.id == ident)
                           .values(submitted_at=submitted, created_at=submitted))
        answer = db.session.scalar(sa.select(Answer).where(
            Answer.screening_id == ident, Answer.question_id == "surgery_date"))
        if answer is None:
            db.session.add(Answer(screening_id=ident, question_id="surgery_date",
                                  value=surgery.isoformat(), saved_at=submitted))
        else:
            answer.value = surgery.isoformat()
        db.session.commit()
        db.session.remove()


def test_a_past_planned_date_is_still_an_answer(app, client, staff):
    ident, _ = factories.submitted(app, "low tier")
    now = utcnow()
    surgery = (now - dt.timedelta(days=10)).date()  # passed ten days ago ...
    backdate(app, ident, surgery, now - dt.timedelta(days=40))  # ... was ahead when sent
    shown = f"{surgery.day} {surgery:%B %Y}"

    signed_in(client, staff["clinician"])
    main = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert shown in main
    assert "incomplete" not in main.lower()

    assert client.post(f"/staff/screenings/{ident}/summary/refresh").status_code == 303
    queue.run_pending(app)
    pdf = client.get(f"/staff/screenings/{ident}/summary.pdf")
    text = body_text(page_texts(pdf.data))
    assert f"When is your surgery planned? {shown}" in text
    assert "incomplete" not in text

    [row] = export(client)
    assert row["answer:surgery_date"] == surgery.isoformat()

    bundle = json.loads(client.get(f"/staff/screenings/{ident}/fhir.json").data)
    [response] = [e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    dates = [a.get("valueDate") for group in response["item"] for item in group.get("item", [])
             for a in item.get("answer", []) if item["linkId"] == "surgery_date"]
    assert dates == [surgery.isoformat()]


def test_the_command_renders_another_paper_as_it_was_submitted(app, runner, tmp_path):
    """`screening pdf --screening ID --paper a4` renders afresh: judged as on the day of
    submission too, not as incomplete once the planned date has passed."""
    from screening.commands import main

    ident, _ = factories.submitted(app, "low tier")
    now = utcnow()
    surgery = (now - dt.timedelta(days=10)).date()
    backdate(app, ident, surgery, now - dt.timedelta(days=40))
    out = tmp_path / "a4.pdf"
    result = runner.invoke(main, ["pdf", "--screening", str(ident), "--paper", "a4",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = body_text(page_texts(out.read_bytes()))
    assert f"When is your surgery planned? {surgery.day} {surgery:%B %Y}" in text
    assert "incomplete" not in text.lower()
