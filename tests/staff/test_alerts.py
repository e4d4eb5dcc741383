"""Red flags reach the clinic when they are answered, not when the answers are sent: a flag event
and an alert are written with the step's answers, the queue delivers the alert (a real SMTP server
on loopback), the sweep delivers what a job could not, and an unacknowledged urgent flag is sent
again until a clinician acknowledges it, saying what was done."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from screening import queue
from screening.domain import alerts
from screening.extensions import db
from screening.models import Alert, FlagAcknowledgement, FlagEvent, Screening, utcnow
from tests import factories
from tests.helpers import location_path
from tests.web.support import example, page, questionnaire, walk

from .conftest import answered_until_mood, audit_events, row, save_step, scalars, signed_in
from .test_email import assert_no_health_information

TEAM = "spine-team@clinic.example"
EMERGENCY = "on-call@clinic.example"
ESCALATION = "duty-consultant@clinic.example"


@pytest.fixture
def app_config(staff_config):
    return {**staff_config, "SCREENING_RED_FLAG_EMAIL": TEAM,
            "SCREENING_ALERT_EMAIL_EMERGENCY": EMERGENCY,
            "SCREENING_ALERT_EMAIL_ESCALATION": ESCALATION}


def events(app, ident: int) -> list[dict]:
    statement = sa.select(FlagEvent).where(FlagEvent.screening_id == ident).order_by(FlagEvent.id)
    columns = FlagEvent.__table__.c
    return [{c.key: getattr(e, c.key) for c in columns} for e in scalars(app, statement)]


def alert_rows(app, ident: int) -> list[dict]:
    statement = (sa.select(Alert).join(FlagEvent).where(FlagEvent.screening_id == ident)
                 .order_by(Alert.id))
    return [{c.key: getattr(a, c.key) for c in Alert.__table__.c} for a in scalars(app, statement)]


def flag_panel(clinician, ident: int) -> str:
    response = clinician.get(f"/staff/screenings/{ident}")
    return page(response).find("section", class_="flag-panel").text


def at(app, function, *args, now: dt.datetime):
    with app.app_context():
        result = function(*args, now=now)
        db.session.remove()
    return result


def test_a_flag_is_recorded_and_alerted_as_soon_as_its_step_is_saved(
    app, staff, smtp_server
):
    answers = example(app, "self-harm")
    assert answers["phq9_9"] > 0
    ident, _, _ = answered_until_mood(app, answers)

    s = row(app, Screening, ident)
    assert s["status"] == "in_progress" and s["has_red_flag"] and s["acknowledged_at"] is None
    [event] = events(app, ident)
    assert (event["flag_id"], event["urgency"], event["self_harm"]) == ("self_harm", "same_day",
                                                                         True)
    assert event["withdrawn_at"] is None and abs(event["raised_at"] - utcnow()) < dt.timedelta(
        minutes=1)
    assert event["questionnaire_version"] == questionnaire(app).version
    [alert] = alert_rows(app, ident)
    assert (alert["status"], alert["recipient"], alert["kind"]) == ("pending", TEAM, "alert")

    assert queue.run_pending(app) == 1  # the job queued by the save's commit
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [TEAM]
    assert mail.subject == f"SAME-DAY red flag: screening S-{ident:06d}"
    assert f"<{alert['key']}@" in mail.message["Message-ID"]
    link = f"http://localhost/staff/screenings/{ident}"
    assert link in mail.text and link in mail.html
    for never in ("988", "Fay", "MRN-0042", "fay@patients.example", "self_harm", "suicid"):
        assert never not in mail.everything, never
    assert_no_health_information(app, mail, allowed=("red flag",))
    [alert] = alert_rows(app, ident)
    assert (alert["status"], alert["tries"], alert["last_error"]) == ("sent", 1, None)

    # Nothing is sent twice: the job again, and the sweep, find nothing due.
    with app.app_context():
        assert alerts.deliver(alert["id"]) == "skipped"
        assert alerts.sweep() == 0
    assert len(smtp_server.messages) == 1

    # Clinicians see the screening still in progress, first in the list, with its flag.
    clinician = signed_in(app.test_client(), staff["clinician"])
    first = page(clinician.get("/staff/")).find("tbody").find("tr")
    text = " ".join(first.text.split())
    assert "Fay Flagged" in text and "Started" in text
    assert "Same day: Thoughts of self-harm Open" in text
    main = page(clinician.get(f"/staff/screenings/{ident}")).find("main")
    panel = main.find("section", class_="flag-panel").text
    label = questionnaire(app).questions["phq9_9"].label
    assert "Thoughts of self-harm" in panel and "Same-day clinician review" in panel
    assert label in main.text  # the answer that raised it, before anything was sent
    assert "First alert" in main.text and TEAM in main.text
    assert [e.action for e in audit_events(app, "screening_viewed")] == ["screening_viewed"]


def test_a_flag_taken_back_is_kept_as_withdrawn_and_raised_again_is_a_new_event(
    app, staff, smtp_server
):
    answers = example(app, "self-harm")
    ident, token, patient = answered_until_mood(app, answers)
    save_step(patient, app, token, "mood", {**answers, "phq9_9": 0})
    [event] = events(app, ident)
    assert event["withdrawn_at"] is not None
    assert row(app, Screening, ident)["has_red_flag"]  # not acknowledged: it still counts
    clinician = signed_in(app.test_client(), staff["clinician"])
    text = flag_panel(clinician, ident)
    assert f"then withdrawn by the patient at {event['withdrawn_at']:%Y-%m-%d %H:%M} UTC" in text

    save_step(patient, app, token, "mood", answers)
    first, second = events(app, ident)
    assert first["withdrawn_at"] is not None and second["withdrawn_at"] is None
    assert [a["flag_event_id"] for a in alert_rows(app, ident)] == [first["id"], second["id"]]
    assert queue.run_pending(app) == 2
    assert len(smtp_server.messages) == 2


def test_each_urgency_is_alerted_at_its_own_address(app, smtp_server):
    answers = {**example(app, "self-harm"), "saddle_numbness": True}
    ident, token = factories.screening(app, "Cal Cauda")
    patient = app.test_client()
    walk(patient, app, token, answers)  # every step: the safety step raises an emergency
    queue.run_pending(app)
    by_urgency = {e["urgency"]: e for e in events(app, ident)}
    assert {"emergency", "same_day"} <= set(by_urgency)
    sent = {m.subject.split(":")[0]: m.rcpt_tos for m in smtp_server.messages}
    assert sent["EMERGENCY red flag"] == [EMERGENCY]
    assert sent["SAME-DAY red flag"] == [TEAM]  # no address of its own: the general one


def test_with_the_mail_server_away_the_alert_waits_and_is_sent_once_it_is_back(
    app, smtp_server, dead_port
):
    live = app.config["SCREENING_SMTP_PORT"]
    app.config["SCREENING_SMTP_PORT"] = dead_port.port
    ident, _, _ = answered_until_mood(app, example(app, "self-harm"))
    queue.run_pending(app)  # the job fails; the queue will try it again later
    [alert] = alert_rows(app, ident)
    assert (alert["status"], alert["tries"]) == ("pending", 1)
    assert "refused" in alert["last_error"]
    assert alert["next_attempt_at"] > utcnow()
    with app.app_context():
        assert alerts.sweep() == 0  # not due yet
    # Minutes later the sweep tries again: still away; then it is back.
    later = utcnow() + dt.timedelta(minutes=5)
    assert at(app, alerts.sweep, now=later) == 0
    assert alert_rows(app, ident)[0]["tries"] == 2
    app.config["SCREENING_SMTP_PORT"] = live
    much_later = utcnow() + dt.timedelta(hours=1)
    assert at(app, alerts.sweep, now=much_later) == 1
    assert at(app, alerts.sweep, now=much_later + dt.timedelta(hours=1)) == 0
    assert len(smtp_server.messages) == 1
    [alert] = alert_rows(app, ident)
    assert (alert["status"], alert["tries"], alert["last_error"]) == ("sent", 3, None)


def test_an_alert_being_sent_by_another_worker_is_left_alone(app, smtp_server):
    ident, _, _ = answered_until_mood(app, example(app, "self-harm"))
    [alert] = alert_rows(app, ident)
    with app.app_context():  # another worker holds it
        db.session.execute(sa.update(Alert).values(claimed_until=utcnow() + alerts.claim_length()))
        db.session.commit()
        assert alerts.deliver(alert["id"], scheduled=False) == "skipped"
        assert alerts.sweep() == 0
        # ... and died: its claim runs out, and the alert is sent once.
        after = utcnow() + alerts.claim_length() + dt.timedelta(seconds=1)
        assert alerts.sweep(now=after) == 1
        assert alerts.sweep(now=after) == 0
    assert len(smtp_server.messages) == 1


def test_an_urgent_flag_is_escalated_until_acknowledged_with_what_was_done(
    app, client, staff, smtp_server
):
    app.config["SCREENING_ESCALATE_MINUTES_EMERGENCY"] = 30
    ident, _, _ = answered_until_mood(app, example(app, "self-harm"))  # self-harm: urgent
    queue.run_pending(app)
    raised = events(app, ident)[0]["raised_at"]
    minutes = lambda n: raised + dt.timedelta(minutes=n)  # noqa: E731

    assert at(app, alerts.escalate, now=minutes(29)) == 0
    assert at(app, alerts.escalate, now=minutes(31)) == 1
    assert at(app, alerts.escalate, now=minutes(31)) == 0  # one escalation per interval
    assert at(app, alerts.sweep, now=minutes(31)) == 1
    reminder = smtp_server.messages[-1]
    assert reminder.rcpt_tos == [ESCALATION]
    assert reminder.subject == (
        f"Reminder 1, not acknowledged: SAME-DAY red flag: screening S-{ident:06d}")
    assert "Nobody has acknowledged it yet" in reminder.text
    assert at(app, alerts.escalate, now=minutes(61)) == 1

    # A self-harm flag is acknowledged only with a note of what was done.
    signed_in(client, staff["clinician"])
    [flag] = factories.flag_event_ids(app, ident)
    url = f"/staff/screenings/{ident}/flags/{flag}/acknowledge"
    response = client.post(url, data={"note": "  "}, follow_redirects=True)
    assert "Say what was done" in page(response).find("main").text
    assert scalars(app, sa.select(FlagAcknowledgement)) == []
    client.post(url, data={"note": "Phoned her: safe tonight, seeing her GP tomorrow."})
    [ack] = scalars(app, sa.select(FlagAcknowledgement))
    assert (ack.user_id, ack.note) == (staff["clinician"].id,
                                       "Phoned her: safe tonight, seeing her GP tomorrow.")
    # The second reminder, not yet sent, is not needed any more; no more are made.
    assert [a["status"] for a in alert_rows(app, ident)] == ["sent", "sent", "cancelled"]
    assert at(app, alerts.escalate, now=minutes(500)) == 0
    assert at(app, alerts.sweep, now=minutes(500)) == 0
    assert len(smtp_server.messages) == 2
    s = row(app, Screening, ident)
    assert s["acknowledged_by_id"] == staff["clinician"].id and s["acknowledged_at"] is not None
    main = page(client.get(f"/staff/screenings/{ident}")).find("main").text
    assert "Phoned her: safe tonight, seeing her GP tomorrow." in main

    # Withdrawn (audited, kept): the flag is open again, and escalates again.
    client.post(f"/staff/screenings/{ident}/flags/{flag}/acknowledgements/{ack.id}/withdraw")
    [ack] = scalars(app, sa.select(FlagAcknowledgement))
    assert ack.withdrawn_at is not None and ack.withdrawn_by_id == staff["clinician"].id
    assert row(app, Screening, ident)["acknowledged_at"] is None
    [withdrawn] = audit_events(app, "acknowledgement_withdrawn")
    assert (withdrawn.screening_id, withdrawn.detail) == (ident, f"flag event {flag}")
    assert at(app, alerts.escalate, now=minutes(500)) == 1


def test_escalation_stops_after_its_maximum(app, smtp_server):
    app.config["SCREENING_ESCALATE_MAX"] = 2
    ident, _, _ = answered_until_mood(app, example(app, "self-harm"))
    raised = events(app, ident)[0]["raised_at"]
    made = [at(app, alerts.escalate, now=raised + dt.timedelta(minutes=30 * n + 1))
            for n in range(1, 6)]
    assert made == [1, 1, 0, 0, 0]


def test_a_review_flag_is_alerted_but_never_escalated_and_needs_no_note(app, client, staff):
    answers = {**example(app, "self-harm"), "phq9_9": 0}
    answers.update({f"phq9_{i}": 3 for i in range(1, 9)})  # PHQ-9 of 24: severe
    ident, _, _ = answered_until_mood(app, answers)
    [event] = events(app, ident)
    assert (event["flag_id"], event["urgency"], event["self_harm"]) == (
        "severe_depression_review", "review", False)
    assert at(app, alerts.escalate, now=utcnow() + dt.timedelta(days=3)) == 0
    signed_in(client, staff["clinician"])
    url = f"/staff/screenings/{ident}/flags/{event['id']}/acknowledge"
    assert client.post(url, data={"note": ""}).status_code == 303
    [ack] = scalars(app, sa.select(FlagAcknowledgement))
    assert ack.note is None


def test_without_an_alert_address_the_flag_is_still_recorded_and_the_page_says_so(
    app, staff, smtp_server
):
    app.config["SCREENING_RED_FLAG_EMAIL"] = None
    app.config["SCREENING_ALERT_EMAIL_EMERGENCY"] = None
    ident, _, _ = answered_until_mood(app, example(app, "self-harm"))
    assert len(events(app, ident)) == 1 and alert_rows(app, ident) == []
    assert queue.run_pending(app) == 0
    clinician = signed_in(app.test_client(), staff["clinician"])
    text = flag_panel(clinician, ident)
    assert "No alert address is configured" in text


def test_submitting_records_nothing_new_and_the_patient_sees_no_alert_detail(app, smtp_server):
    answers = example(app, "self-harm")
    ident, token, patient = answered_until_mood(app, answers)
    path = walk(patient, app, token, answers)
    assert path.endswith("/review")
    response = patient.post(f"/s/{token}/submit")
    assert location_path(response) == f"/s/{token}/result"
    assert len(events(app, ident)) == 1 and len(alert_rows(app, ident)) == 1
    text = page(patient.get(f"/s/{token}/result")).find("main").text
    assert TEAM not in text and "alert" not in text.lower()


def test_the_csv_gives_each_flag_and_what_was_done(app, client, staff):
    from .test_export import export

    ident, _ = factories.submitted(app, "self-harm", name="Fay Flagged")
    factories.acknowledged_flag(app, ident, staff["clinician"].id)
    signed_in(client, staff["clinician"])
    [line] = export(client)
    assert "self_harm (same_day)" in line["flags_raised"]
    assert line["flag_acknowledgements"].startswith("self_harm ")
    assert "by clinician@clinic.example: Phoned the patient." in line["flag_acknowledgements"]
