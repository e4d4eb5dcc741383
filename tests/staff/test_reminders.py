"""Reminder e-mails: after 3 and 7 days (then every 4), at most 3, only for open screenings."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from screening.commands import main as screening_cli
from screening.domain import invitations
from screening.extensions import db
from screening.models import Message, Screening, utcnow
from tests import factories
from tests.web.support import page

from .conftest import SMTPServer, audit_events, scalars, set_columns

LINK = re.compile(r"http://localhost(/s/[A-Za-z0-9_-]{20,})(?![A-Za-z0-9_-])")
T0 = dt.datetime(2030, 3, 2, 9, 0, tzinfo=dt.UTC)


def reminded(app) -> list[int]:
    """Screening ids of the successful reminders so far, in order."""
    rows = scalars(app, sa.select(Message).where(Message.kind == "reminder").order_by(Message.id))
    return [m.screening_id for m in rows if m.ok]


def run(app, day: float | None = None) -> tuple[dict, list[int]]:
    """send_reminders() as at T0 + `day` days (or now); returns its result and who was reminded.

    It runs inside a request context: outside one (as under cron) it crashes, see
    test_send_reminders_command; this way the schedule itself can be tested.
    """
    before = len(reminded(app))
    with app.test_request_context():
        now = None if day is None else T0 + dt.timedelta(days=day)
        result = invitations.send_reminders(now=now)
        db.session.remove()
    return result, reminded(app)[before:]


def test_reminder_days_after_the_list():
    assert [invitations.reminder_due_day(i, (3, 7)) for i in range(5)] == [3, 7, 11, 15, 19]
    assert [invitations.reminder_due_day(i, (5,)) for i in range(3)] == [5, 10, 15]


def test_the_schedule(app, smtp_server):
    email = {"patient_email": "p@patients.example"}
    a, _ = factories.screening(app, "Ann Open", created=T0, days=60, **email)
    b, _ = factories.screening(app, "Bo Started", created=T0, days=60, **email)
    set_columns(app, Screening, b, status="in_progress", started_at=T0 + dt.timedelta(days=1))
    c, _ = factories.screening(app, "Cy Submitted", created=T0, days=60, **email)
    factories.submit_example(app, c, "low tier")
    d, _ = factories.screening(app, "Di Revoked", created=T0, days=60, **email)
    set_columns(app, Screening, d, status="revoked", revoked_at=T0)
    factories.screening(app, "Ed Expired", created=T0, days=2, **email)
    factories.screening(app, "Flo No Mail", created=T0, days=60)
    factories.screening(app, "Gus Blank Mail", created=T0, days=60, patient_email="")

    assert run(app, 2.9) == ({"sent": 0, "failed": 0}, [])
    assert run(app, 3) == ({"sent": 2, "failed": 0}, [a, b])
    assert run(app, 3) == ({"sent": 0, "failed": 0}, [])  # twice in a row: nothing twice
    assert run(app, 6.9) == ({"sent": 0, "failed": 0}, [])
    factories.submit_example(app, b, "low tier")  # Bo finishes: no more reminders
    assert run(app, 7) == ({"sent": 1, "failed": 0}, [a])
    assert run(app, 7.5) == ({"sent": 0, "failed": 0}, [])
    assert run(app, 10.9) == ({"sent": 0, "failed": 0}, [])
    assert run(app, 11) == ({"sent": 1, "failed": 0}, [a])
    assert run(app, 30) == ({"sent": 0, "failed": 0}, [])  # at most three
    assert run(app, 59) == ({"sent": 0, "failed": 0}, [])

    assert len(smtp_server.messages) == 4
    assert all(m.rcpt_tos == ["p@patients.example"] for m in smtp_server.messages)
    assert all(m.subject.startswith("Reminder from") for m in smtp_server.messages)
    names = [re.search(r"Dear (.+?),", m.text).group(1) for m in smtp_server.messages]
    assert names == ["Ann Open", "Bo Started", "Ann Open", "Ann Open"]
    events = audit_events(app, "reminder_sent")
    assert [e.screening_id for e in events] == [a, b, a, a]
    assert all(e.user_id is None for e in events)  # sent by the system, not by a person


def test_a_late_run_sends_one_reminder(app, smtp_server):
    a, _ = factories.screening(app, created=T0, days=60, patient_email="p@patients.example")
    assert run(app, 20) == ({"sent": 1, "failed": 0}, [a])
    assert len(smtp_server.messages) == 1


def test_two_runs_in_a_row_after_a_pause_send_one_reminder(app, smtp_server):
    a, _ = factories.screening(app, created=T0, days=60, patient_email="p@patients.example")
    assert run(app, 20) == ({"sent": 1, "failed": 0}, [a])
    assert run(app, 20.01) == ({"sent": 0, "failed": 0}, [])


def test_each_reminder_carries_a_new_link(app, smtp_server):
    _, token = factories.screening(app, created=utcnow() - dt.timedelta(days=4),
                                patient_email="p@patients.example")
    assert run(app)[0] == {"sent": 1, "failed": 0}
    [mail] = smtp_server.messages
    [path] = set(LINK.findall(mail.text))
    patient = app.test_client()
    assert patient.get(path).status_code == 200
    assert patient.get(f"/s/{token}").status_code == 410  # replaced by the reminder's link


def test_send_reminders_command(app, runner, smtp_server):
    factories.screening(app, "Ann Open", created=utcnow() - dt.timedelta(days=4),
                     patient_email="p@patients.example")
    factories.screening(app, "Fresh", patient_email="q@patients.example")
    result = runner.invoke(screening_cli, ["send-reminders"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "reminders sent: 1, failed: 0"
    result = runner.invoke(screening_cli, ["send-reminders"])
    assert result.output.strip() == "reminders sent: 0, failed: 0"
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["p@patients.example"]
    [path] = set(LINK.findall(mail.text))  # made outside a request: SCREENING_BASE_URL
    response = app.test_client().get(path)
    assert response.status_code == 200 and "Start" in page(response).find("main").text


def test_failed_reminders_are_recorded_and_tried_again(app, dead_port):
    app.config["SCREENING_SMTP_PORT"] = dead_port.port
    ident, _ = factories.screening(app, created=utcnow() - dt.timedelta(days=4),
                                patient_email="p@patients.example")
    assert run(app) == ({"sent": 0, "failed": 1}, [])
    [message] = scalars(app, sa.select(Message))
    assert (message.kind, message.ok, message.screening_id) == ("reminder", False, ident)
    assert "refused the connection" in message.error
    assert audit_events(app, "reminder_sent") == []
    server = SMTPServer(dead_port.release()).start()
    try:
        assert run(app) == ({"sent": 1, "failed": 0}, [ident])
        assert run(app) == ({"sent": 0, "failed": 0}, [])
        assert len(server.messages) == 1
    finally:
        server.stop()
    assert [e.screening_id for e in audit_events(app, "reminder_sent")] == [ident]


def test_a_failed_reminder_leaves_the_patients_link_working(app, dead_port):
    app.config["SCREENING_SMTP_PORT"] = dead_port.port
    _, token = factories.screening(app, created=utcnow() - dt.timedelta(days=4),
                                patient_email="p@patients.example")
    assert run(app)[0] == {"sent": 0, "failed": 1}
    assert app.test_client().get(f"/s/{token}").status_code == 200
