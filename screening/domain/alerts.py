"""Red-flag alerts: an e-mail per flag to the address for its urgency, sent again (escalated)
until a clinician acknowledges an emergency, self-harm or same-day flag.

The database is the source of truth. Raising a flag adds an `Alert` row in the same transaction
as the answers; after the commit a job delivers it (domain.jobs), and a sweep every minute
delivers any alert that is due and not sent (a lost job, a crashed worker, the mail server
away). Each alert has a unique key, so one event is never alerted twice; a delivery first claims
its alert for a while (a conditional update), so two workers never send the same one, and a
worker that dies mid-send leaves a claim that runs out. The key is also the e-mail's
Message-ID, so the rare copy sent again after a crash between the mail server's acceptance and
the commit is recognisably the same message.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from .. import mail, queue
from ..extensions import db
from ..models import Alert, FlagAcknowledgement, FlagEvent, Screening, utcnow
from . import links

# A delivery talks to the mail server in at most about ten steps (connect, EHLO, STARTTLS,
# EHLO, AUTH, MAIL, RCPT, DATA and its end, QUIT), each bounded by SCREENING_SMTP_TIMEOUT: a claim
# for twelve of them outlasts the slowest delivery (two minutes with the default 10 s).
CLAIM_STEPS = 12
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(minutes=15)
SUBJECTS = {
    "emergency": "EMERGENCY red flag",
    "same_day": "SAME-DAY red flag",
    "review": "Red flag for review",
}


def recipient(urgency: str, escalation: bool = False) -> str | None:
    """Where an alert of this urgency goes (an escalation to the escalation address, else as a
    first alert); None when the clinic configured no address (development only)."""
    config = current_app.config
    first = config[f"SCREENING_ALERT_EMAIL_{urgency.upper()}"] or config["SCREENING_RED_FLAG_EMAIL"]
    if escalation:
        return config["SCREENING_ALERT_EMAIL_ESCALATION"] or first
    return first


def configured() -> bool:
    """Whether the clinic is told of red flags at all (every urgency has an address)."""
    return all(recipient(u) for u in SUBJECTS)


def _add(event: FlagEvent, kind: str, number: int, to: str, now: dt.datetime) -> Alert:
    alert = Alert(
        event=event, kind=kind, number=number, recipient=to, key=f"flag-{event.id}-{kind}-{number}",
        created_at=now, next_attempt_at=now,
    )  # fmt: skip
    db.session.add(alert)
    db.session.flush()
    queue.after_commit("deliver_alert", alert.id)
    return alert


def raise_alert(screening: Screening, event: FlagEvent, now: dt.datetime) -> Alert | None:
    """The first alert of a flag just raised (none when no address is configured)."""
    to = recipient(event.urgency)
    return _add(event, "alert", 0, to, now) if to else None


def cancel_escalations(event: FlagEvent) -> None:
    """An acknowledged flag is not escalated again: its unsent escalations are cancelled."""
    for alert in event.alerts:
        if alert.kind == "escalation" and alert.status == "pending":
            alert.status = "cancelled"
    db.session.flush()


def claim_length() -> dt.timedelta:
    return dt.timedelta(seconds=CLAIM_STEPS * current_app.config["SCREENING_SMTP_TIMEOUT"])


def _claim(alert_id: int, now: dt.datetime, scheduled: bool) -> bool:
    """Take the alert for this delivery (committed): False when it is sent, cancelled, being
    delivered by another worker, or (`scheduled`: the sweep) not due yet."""
    alerts = Alert.__table__
    conditions = [
        alerts.c.id == alert_id,
        alerts.c.status == "pending",
        sa.or_(alerts.c.claimed_until.is_(None), alerts.c.claimed_until < now),
    ]
    if scheduled:
        conditions.append(alerts.c.next_attempt_at <= now)
    taken = db.session.execute(
        alerts.update()
        .where(*conditions)
        .values(claimed_until=now + claim_length(), tries=alerts.c.tries + 1)
    )
    db.session.commit()
    return taken.rowcount == 1


def _message(alert: Alert, screening: Screening) -> mail.EmailMessage:
    config = current_app.config
    subject = f"{SUBJECTS[alert.event.urgency]}: screening {screening.reference}"
    if alert.kind == "escalation":
        subject = f"Reminder {alert.number}, not acknowledged: {subject}"  # short: not folded
    link = links.absolute(f"/staff/screenings/{screening.id}")  # never the request's host
    message = mail.build(
        mail.MailSettings.from_config(config), config["SCREENING_CLINIC_NAME"], alert.recipient,
        subject, "red_flag", reference=screening.reference, link=link,
        urgency=SUBJECTS[alert.event.urgency], escalation=alert.kind == "escalation",
        message_id=alert.key,
    )  # fmt: skip
    return message


def deliver(alert_id: int, now: dt.datetime | None = None, scheduled: bool = True) -> str:
    """Send one alert unless it is sent, cancelled or being sent by another worker (and, for
    the sweep, `scheduled`, unless it is not due yet); record the outcome. Returns "sent",
    "failed" (the error kept on the alert, tried again later) or "skipped"."""
    now = now or utcnow()
    if not _claim(alert_id, now, scheduled):
        return "skipped"
    alert = db.session.get_one(Alert, alert_id)
    event = alert.event
    if alert.kind == "escalation" and event.acknowledgement is not None:
        alert.status, alert.claimed_until = "cancelled", None
        db.session.commit()
        return "skipped"
    screening = db.session.get_one(Screening, event.screening_id)
    settings = mail.MailSettings.from_config(current_app.config)
    error = mail.deliver(settings, _message(alert, screening))
    if error is None:
        alert.status, alert.sent_at, alert.last_error = "sent", utcnow(), None
    else:
        wait = min(FIRST_RETRY * 2 ** (alert.tries - 1), LONGEST_WAIT)
        alert.last_error, alert.next_attempt_at = error[:300], utcnow() + wait
    alert.claimed_until = None
    db.session.commit()
    return "sent" if error is None else "failed"


def escalate(now: dt.datetime | None = None) -> int:
    """Add the escalations that are due: an unacknowledged emergency or self-harm flag every
    SCREENING_ESCALATE_MINUTES_EMERGENCY, a same-day one every ..._SAME_DAY, at most
    SCREENING_ESCALATE_MAX times; never a review flag, nor one never alerted. Commits; how many
    were added."""
    now = now or utcnow()
    config = current_app.config
    intervals = {
        True: dt.timedelta(minutes=config["SCREENING_ESCALATE_MINUTES_EMERGENCY"]),
        False: dt.timedelta(minutes=config["SCREENING_ESCALATE_MINUTES_SAME_DAY"]),
    }
    first_alerted = sa.select(Alert.flag_event_id).where(Alert.kind == "alert")
    acknowledged = sa.select(FlagAcknowledgement.flag_event_id).where(
        FlagAcknowledgement.withdrawn_at.is_(None)
    )
    # Past this age every flag has had its last escalation: no need to look at it again.
    oldest = now - max(intervals.values()) * (config["SCREENING_ESCALATE_MAX"] + 1)
    candidates = db.session.scalars(
        sa.select(FlagEvent).where(
            sa.or_(FlagEvent.urgency.in_(("emergency", "same_day")), FlagEvent.self_harm),
            FlagEvent.id.in_(first_alerted),
            FlagEvent.id.not_in(acknowledged),
            FlagEvent.raised_at >= oldest,
        )
    ).all()
    added = 0
    for event in candidates:
        done = max((a.number for a in event.alerts if a.kind == "escalation"), default=0)
        due = event.raised_at + intervals[event.urgent] * (done + 1)
        to = recipient(event.urgency, escalation=True)
        if done >= config["SCREENING_ESCALATE_MAX"] or now < due or not to:
            continue
        try:
            with db.session.begin_nested():  # a key taken by another sweep: that one won
                _add(event, "escalation", done + 1, to, now)
            added += 1
        except sa.exc.IntegrityError:
            continue
    db.session.commit()
    return added


def sweep(now: dt.datetime | None = None) -> int:
    """Deliver every alert that is due and not sent (what a job could not, or never got to
    do); how many were sent."""
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(Alert.id)
        .where(
            Alert.status == "pending",
            Alert.next_attempt_at <= now,
            sa.or_(Alert.claimed_until.is_(None), Alert.claimed_until < now),
        )
        .order_by(Alert.id)
    ).all()
    db.session.commit()  # nothing held while the mail server is talked to
    return sum(deliver(alert_id, now) == "sent" for alert_id in due)
