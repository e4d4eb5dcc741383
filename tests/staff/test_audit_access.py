"""Every access and every change is audited: a patient's saves and submission (the step and the
link, never a value), dashboard pages (filters and the ids shown, a search by its length only),
and the command line's PDF."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from screening.commands import main as screening_cli
from screening.models import AuditEvent, Screening
from tests import factories
from tests.web.support import example, walk

from .conftest import audit_events, row, scalars, signed_in
from .test_kiosk import hand_over

DISTINCTIVE = "Zanzibar-Quokka-4471"  # typed by the patient into a free-text answer


def every_column(app) -> list[str]:
    rows = scalars(app, sa.select(AuditEvent))
    return [" ".join(str(getattr(e, c.key)) for c in AuditEvent.__table__.c) for e in rows]


def free_text_question(app) -> str:
    from tests.web.support import questionnaire

    q = questionnaire(app)
    return next(qid for qid, question in q.questions.items() if question.type == "text")


def test_each_saved_step_and_the_submission_are_audited_without_any_value(app):
    ident, token = factories.screening(app, "Pat Private")
    answers = {**example(app, "low tier")}
    typed = free_text_question(app)
    answers[typed] = DISTINCTIVE
    patient = app.test_client()
    walk(patient, app, token, answers)
    assert patient.post(f"/s/{token}/submit").status_code == 303
    assert patient.post(f"/s/{token}/submit").status_code == 303  # a double click: not again
    link = row(app, Screening, ident)["token_hash"][:8]
    saves = audit_events(app, "answers_saved")
    assert saves and all(e.screening_id == ident and e.user_id is None for e in saves)
    assert all(e.detail.startswith("step ") and e.detail.endswith(f", link {link}")
               for e in saves)  # fmt: skip
    steps = [e.detail.split(",")[0].removeprefix("step ") for e in saves]
    assert len(set(steps)) == len(steps)
    [sent] = audit_events(app, "answers_submitted")
    assert (sent.screening_id, sent.detail) == (ident, f"link {link}")
    for text in every_column(app):
        for private in (DISTINCTIVE, "Pat Private", token):
            assert private.lower() not in text.lower()


def test_saves_on_a_clinic_device_say_so(app, staff):
    device, ident, path = hand_over(app, staff)
    token = path.rsplit("/", 1)[1]
    walk(device, app, token, example(app, "low tier"), until="mood")
    saves = audit_events(app, "answers_saved")
    assert saves and all(e.detail.endswith(" (kiosk)") for e in saves)


def test_each_dashboard_page_is_audited_with_its_filters_and_the_ids_shown(app, staff):
    ids = [factories.screening(app, f"Dana Dashboard {n}", surgeon="Dr. Sam Surgeon")[0]
           for n in range(27)]  # fmt: skip
    clinician = signed_in(app.test_client(), staff["clinician"])
    assert clinician.get("/staff/").status_code == 200
    assert clinician.get("/staff/?page=2&sort=name&order=asc").status_code == 200
    query = "/staff/?q=dana+dash&surgeon=Dr.+Sam+Surgeon&status=invited&date_from=2020-01-01"
    assert clinician.get(query).status_code == 200
    events = audit_events(app, "screenings_listed")
    assert [e.user_email for e in events] == ["clinician@clinic.example"] * 3
    newest = sorted(ids)[-25:]
    assert [e.detail for e in events] == [
        f"page 1, 25 of 27; sort=created desc; ids {newest[0]}-{newest[-1]}",
        f"page 2, 2 of 27; sort=name asc; ids {ids[8]}-{ids[9]}",  # names 8 and 9 last
        "page 1, 25 of 27; status=invited surgeon (15 chars) search (9 chars) "
        f"date_from=2020-01-01 sort=created desc; ids {newest[0]}-{newest[-1]}",
    ]
    for text in every_column(app):
        assert "dana" not in text.lower() and "sam surgeon" not in text.lower()


def test_the_command_lines_pdf_is_audited(app, runner, tmp_path: Path):
    ident, _ = factories.submitted(app, "low tier")
    out = tmp_path / "summary.pdf"
    env = {"FLASK_RUN_FROM_CLI": None}
    for extra in ([], ["--kind", "patient_copy"], ["--refresh"], ["--paper", "a4"]):
        result = runner.invoke(screening_cli, ["pdf", "--screening", str(ident), "--out",
                                               str(out), *extra], env=env)  # fmt: skip
        assert result.exit_code == 0, result.output
    events = [e for e in audit_events(app) if e.action.startswith("pdf_")]
    assert [(e.action, e.screening_id, e.address, e.detail) for e in events] == [
        # The versions asked for at submission, rendered here (no worker ran), then stored.
        ("pdf_downloaded", ident, "cli", "summary version 1 (command line, rendered now)"),
        ("pdf_downloaded", ident, "cli", "patient_copy version 1 (command line, rendered now)"),
        ("pdf_rerendered", ident, "cli", "summary version 2 (command line, rendered now)"),
        ("pdf_downloaded", ident, "cli", "summary (command line, one-off rendering)"),
    ]
    result = runner.invoke(screening_cli, ["audit", "verify"])
    assert result.exit_code == 0 and "audit log intact" in result.output
