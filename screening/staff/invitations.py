"""Invitations: links, e-mails, reminders, revocation. Operations flush; the caller commits.

Only a hash of each link's token is stored, so a link cannot be shown or sent twice: every send,
reminder, handout or hand-over makes a new link, and the one before stops working.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale

from .. import audit, i18n, services
from ..extensions import db
from ..mail import MailError, MailSettings, build, send
from ..models import OPEN_STATUSES, Message, Screening, hash_token, utcnow


class InvitationError(RuntimeError):
    """The invitation cannot do this in its current state; the message is for staff."""


def patient_url(token: str) -> str:
    """The patient's link, absolute: from the request when there is one, else SCREENING_BASE_URL."""
    try:
        return url_for("patient.welcome", token=token, _external=True)
    except RuntimeError:
        base = current_app.config["SCREENING_BASE_URL"].rstrip("/")
        return f"{base}/s/{token}"


def new_link(screening: Screening, now: dt.datetime | None = None) -> str:
    """Replace the screening's link with a new one (the old one stops working); return its token."""
    if screening.status not in OPEN_STATUSES:
        raise InvitationError(f"This screening is {screening.status.replace('_', ' ')}.")
    now = now or utcnow()
    token = secrets.token_urlsafe(services.TOKEN_BYTES)
    screening.token_hash = hash_token(token)
    if screening.expires_at <= now:  # a new link for an expired one starts a fresh period
        screening.expires_at = now + dt.timedelta(days=current_app.config["SCREENING_LINK_DAYS"])
    db.session.flush()
    return token


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


def email_link(
    screening: Screening, token: str, kind: str = "invitation", now: dt.datetime | None = None
) -> SendResult:
    """E-mail the link (no health information) and record the attempt; never raises on SMTP."""
    if not screening.patient_email:
        raise InvitationError("This patient has no e-mail address.")
    config = current_app.config
    settings = MailSettings.from_config(config)
    clinic = config["SCREENING_CLINIC_NAME"]
    language = services.patient_language(screening)
    subject = i18n.gettext(
        language,
        i18n.N_("%(clinic)s: your questionnaire before surgery")
        if kind == "invitation"
        else i18n.N_("Reminder from %(clinic)s: your questionnaire"),
        clinic=clinic,
    )
    with force_locale(language):  # the patient's language, whoever sends it
        message = build(
            settings,
            clinic,
            screening.patient_email,
            subject,
            "invitation",
            name=screening.patient_name,
            link=patient_url(token),
            expires=i18n.format_date(screening.expires_at.date(), language),
            reminder=kind == "reminder",
            contact=i18n.clinic_contact(config, language),
        )
    try:
        send(settings, message)
        result = SendResult(True)
    except MailError as exc:
        result = SendResult(False, str(exc))
    db.session.add(
        Message(
            screening_id=screening.id,
            kind=kind,
            ok=result.ok,
            error=result.error,
            sent_at=now or utcnow(),
        )
    )
    db.session.flush()
    return result


def notify_red_flag(screening: Screening) -> SendResult | None:
    """Tell the configured clinical address that a submission raised a red flag (a link only)."""
    config = current_app.config
    to = config.get("SCREENING_RED_FLAG_EMAIL")
    if not to:
        return None
    settings = MailSettings.from_config(config)
    try:
        link = url_for("staff.screening", screening_id=screening.id, _external=True)
    except RuntimeError:
        link = f"{config['SCREENING_BASE_URL'].rstrip('/')}/staff/screenings/{screening.id}"
    message = build(
        settings,
        config["SCREENING_CLINIC_NAME"],
        to,
        f"Red flag to review: screening {screening.reference}",
        "red_flag",
        reference=screening.reference,
        link=link,
    )
    try:
        send(settings, message)
        result = SendResult(True)
    except MailError as exc:
        result = SendResult(False, str(exc))
    db.session.add(
        Message(screening_id=screening.id, kind="red_flag", ok=result.ok, error=result.error)
    )
    db.session.flush()
    return result


def send_new_link(
    screening: Screening, kind: str = "invitation", now: dt.datetime | None = None
) -> SendResult:
    """E-mail a new link; if the e-mail fails, the link the patient already has keeps working."""
    before = (screening.token_hash, screening.expires_at)
    token = new_link(screening, now)
    result = email_link(screening, token, kind, now)
    if not result.ok:
        screening.token_hash, screening.expires_at = before
        db.session.flush()
    return result


def extend(screening: Screening, days: int, now: dt.datetime | None = None) -> None:
    if screening.status not in OPEN_STATUSES:
        raise InvitationError(f"This screening is {screening.status.replace('_', ' ')}.")
    now = now or utcnow()
    screening.expires_at = max(screening.expires_at, now) + dt.timedelta(days=days)
    db.session.flush()


def revoke(screening: Screening, now: dt.datetime | None = None) -> None:
    if screening.status not in OPEN_STATUSES:
        raise InvitationError(f"This screening is {screening.status.replace('_', ' ')}.")
    screening.status = "revoked"
    screening.revoked_at = now or utcnow()
    db.session.flush()


def reminder_due_day(index: int, delays: tuple[int, ...]) -> int:
    """The day after the invitation on which reminder number `index` (0-based) is due."""
    if index < len(delays):
        return delays[index]
    step = delays[-1] - delays[-2] if len(delays) > 1 else delays[-1]
    return delays[-1] + step * (index - len(delays) + 1)


def send_reminders(now: dt.datetime | None = None) -> dict[str, Any]:
    """E-mail open screenings whose next reminder is due. Safe to run twice: each is recorded.

    Reminder n is due n days after the invitation as configured (3 and 7 by default, then every
    4 more days), and never sooner after the reminder before it than the schedule's own gap, so a
    run after a pause sends one reminder, not every overdue one. Each reminder carries a new link
    (the old one stops working) unless the e-mail fails, when the old link stays.
    """
    now = now or utcnow()
    config = current_app.config
    delays, most = config["SCREENING_REMINDER_DAYS"], config["SCREENING_MAX_REMINDERS"]
    sent = failed = 0
    reminders = (
        sa.select(
            Message.screening_id,
            sa.func.count().label("n"),
            sa.func.max(Message.sent_at).label("last"),
        )
        .where(Message.kind == "reminder", Message.ok.is_(True))
        .group_by(Message.screening_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Screening, sa.func.coalesce(reminders.c.n, 0), reminders.c.last)
        .outerjoin(reminders, reminders.c.screening_id == Screening.id)
        .where(
            Screening.status.in_(OPEN_STATUSES),
            Screening.expires_at > now,
            Screening.patient_email.is_not(None),
            Screening.patient_email != "",
            sa.func.coalesce(reminders.c.n, 0) < most,
        )
        .order_by(Screening.id)
    ).all()
    for screening, count, last in rows:
        due = screening.created_at + dt.timedelta(days=reminder_due_day(count, delays))
        if last is not None:
            gap = reminder_due_day(count, delays) - reminder_due_day(count - 1, delays)
            due = max(due, _aware(last) + dt.timedelta(days=gap))
        if now < due:
            continue
        result = send_new_link(screening, kind="reminder", now=now)
        if result.ok:
            sent += 1
            audit.record("reminder_sent", screening_id=screening.id)
        else:
            failed += 1
        db.session.commit()
    return {"sent": sent, "failed": failed}


def _aware(moment: dt.datetime) -> dt.datetime:
    """An aggregate over a UTC column comes back naive from SQLite."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def last_message(screening: Screening) -> Message | None:
    return db.session.scalar(
        sa.select(Message)
        .where(Message.screening_id == screening.id, Message.kind != "red_flag")
        .order_by(Message.id.desc())
        .limit(1)
    )


def messages(screening: Screening) -> list[Message]:
    return list(
        db.session.scalars(
            sa.select(Message).where(Message.screening_id == screening.id).order_by(Message.id)
        )
    )
