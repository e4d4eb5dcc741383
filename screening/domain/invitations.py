"""Invitations: a screening made for a patient, its link e-mailed, handed out, extended, revoked,
and reminders for those not finished."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from .. import i18n, mail
from ..extensions import db
from ..models import (
    OPEN_STATUSES,
    Definition,
    Message,
    Screening,
    Site,
    User,
    hash_token,
    utcnow,
)
from ..text import without_format_characters
from . import NotAllowed, audit, clinic_entries, links, questionnaires, sites


def create_screening(
    definition: Definition,
    *,
    patient_name: str,
    link_days: int,
    now: dt.datetime | None = None,
    site: Site | None = None,
    **details: Any,
) -> tuple[Screening, str]:
    """A new screening pinned to `definition`, and its link's token (shown once: only its hash
    is kept). In `site`, or the clinic's only site."""
    now = now or utcnow()
    token = links.new_token()
    # Names and notes however they came (a form, the command line): no format characters.
    patient_name = without_format_characters(patient_name)
    details = {k: without_format_characters(v) if isinstance(v, str) else v
               for k, v in details.items()}  # fmt: skip
    screening = Screening(
        site_id=(site or sites.default()).id,
        token_hash=hash_token(token),
        status="invited",
        questionnaire_id=definition.questionnaire_id,
        questionnaire_version=definition.version,
        definition_hash=definition.content_hash,
        patient_name=patient_name,
        created_at=now,
        expires_at=now + dt.timedelta(days=link_days),
        **details,
    )
    db.session.add(screening)
    db.session.flush()
    return screening, token


def invite(
    actor: User | None,
    *,
    link_days: int | None = None,
    site: Site | None = None,
    clinic_answers: Mapping[str, Any] | None = None,
    **details: Any,
):
    """A screening of the questionnaire in force for a patient (audited), and its token; in
    `site` (one of the actor's), or the clinic's only site. `clinic_answers`: what the clinic
    knows about the planned surgery (domain.clinic_entries), NotAllowed when one cannot be kept."""
    if site is not None and actor is not None and not sites.covers(actor, site.id):
        raise NotAllowed("You can only invite patients to your own sites.")
    if site is None and actor is not None and not actor.all_sites and actor.sites:
        site = actor.sites[0]
    days = link_days or current_app.config["SCREENING_LINK_DAYS"]
    definition = questionnaires.store_in_force()
    entries, errors = clinic_entries.checked(questionnaires.of(definition), clinic_answers or {})
    if errors:
        raise NotAllowed(" ".join(f"{k}: {v}" for k, v in errors.items()))
    screening, token = create_screening(
        definition, link_days=days, invited_by_id=getattr(actor, "id", None), site=site,
        clinic_answers=entries or None, **details,
    )  # fmt: skip
    audit.record("invitation_created", user=actor, screening_id=screening.id)
    return screening, token


def record_message(
    screening: Screening, kind: str, error: str | None, now: dt.datetime | None = None
) -> None:
    """An e-mail about the screening, sent (`error` None) or not, for staff to see."""
    db.session.add(
        Message(screening_id=screening.id, kind=kind, ok=error is None, error=error,
                sent_at=now or utcnow())
    )  # fmt: skip
    db.session.flush()


def invitation_message(
    screening: Screening, link: str, to: str, kind: str = "invitation", test: bool = False
) -> EmailMessage:
    """The e-mail of the screening's link (no health information), in the patient's language;
    `test`: marked as a test in its subject."""
    config = current_app.config
    settings = mail.MailSettings.from_config(config)
    clinic = config["SCREENING_CLINIC_NAME"]
    language = questionnaires.patient_language(screening)
    subject = i18n.gettext(
        language,
        i18n.N_("%(clinic)s: your questionnaire before surgery")
        if kind == "invitation"
        else i18n.N_("Reminder from %(clinic)s: your questionnaire"),
        clinic=clinic,
    )
    with force_locale(language):  # the patient's language, whoever sends it
        return mail.build(
            settings, clinic, to, f"[Test] {subject}" if test else subject, "invitation",
            name=screening.patient_name,
            link=link,
            expires=i18n.format_date(screening.expires_at.date(), language),
            reminder=kind == "reminder",
            contact=i18n.clinic_contact(config, language),
        )  # fmt: skip


def email_link(
    screening: Screening, token: str, kind: str = "invitation", now: dt.datetime | None = None
) -> str | None:
    """E-mail the link (no health information) in the patient's language and record the
    attempt; the error in words for staff, or None when it was sent. Never raises on SMTP."""
    if not screening.patient_email:
        raise NotAllowed("This patient has no e-mail address.")
    message = invitation_message(screening, links.patient_url(token), screening.patient_email, kind)
    error = mail.deliver(mail.MailSettings.from_config(current_app.config), message)
    record_message(screening, kind, error, now)
    return error


# In a preview or a test the link is a stand-in that opens nothing: a real one would replace the
# patient's link (only its hash is kept, so the one they have cannot be shown).
SAMPLE_LINK_PATH = "/s/sample-link-the-patient-gets-their-own"


def preview(screening: Screening, actor: User | None) -> EmailMessage:
    """The invitation e-mail as the patient would get it (with a stand-in link), not sent;
    audited (it shows the patient's name)."""
    audit.record("invitation_previewed", user=actor, screening_id=screening.id)
    to = screening.patient_email or getattr(actor, "email", None) or ""
    return invitation_message(screening, links.absolute(SAMPLE_LINK_PATH), to)


def send_test(screening: Screening, actor: User) -> str | None:
    """The invitation e-mail (with a stand-in link) sent to `actor`'s own address, through the
    real mail path, marked as a test; audited. The error in words, or None when it was sent."""
    message = invitation_message(
        screening, links.absolute(SAMPLE_LINK_PATH), actor.email, test=True
    )
    error = mail.deliver(mail.MailSettings.from_config(current_app.config), message)
    audit.record("invitation_test_sent", user=actor, screening_id=screening.id,
                 detail="sent" if error is None else "not sent")  # fmt: skip
    return error


def send_new_link(
    screening: Screening,
    kind: str = "invitation",
    now: dt.datetime | None = None,
    by: User | None = None,
) -> str | None:
    """E-mail a new link (sent `by` a member of staff, or None); if the e-mail fails, the link the
    patient has keeps working, wrong tries at its identity check included."""
    before = links.link_state(screening)
    token = links.new_link(screening, now, by, reset=False)
    error = email_link(screening, token, kind, now)
    if error is not None:
        links.restore_link(screening, before)
    else:
        links.reset_identity_check(screening, by)
    return error


def send(screening: Screening, actor: User | None, token: str | None = None) -> str | None:
    """E-mail the link of a new invitation (`token`), or a new link (sending again), audited.
    Returns the error in words for staff, or None."""
    resend = token is None and last_message(screening) is not None
    if token is None:
        error = send_new_link(screening, by=actor)
    else:
        error = email_link(screening, token)
    if error is None:
        action = "invitation_resent" if resend else "invitation_sent"
    else:
        action = "invitation_send_failed"
    audit.record(action, user=actor, screening_id=screening.id)
    return error


def _check_open(screening: Screening) -> None:
    if screening.status not in OPEN_STATUSES:
        raise NotAllowed(links.closed_message(screening))


def extend(screening: Screening, days: int, actor: User | None, now: dt.datetime | None = None):
    _check_open(screening)
    now = now or utcnow()
    screening.expires_at = max(screening.expires_at, now) + dt.timedelta(days=days)
    audit.record("invitation_extended", user=actor, screening_id=screening.id,
                 detail=f"{days} days")  # fmt: skip
    db.session.flush()


def revoke(screening: Screening, actor: User | None, now: dt.datetime | None = None) -> None:
    _check_open(screening)
    screening.status = "revoked"
    screening.revoked_at = now or utcnow()
    audit.record("invitation_revoked", user=actor, screening_id=screening.id)
    db.session.flush()


def hand_out(screening: Screening, actor: User | None, action: str) -> str:
    """A new link for a device handed to the patient (`action`: handed_to_patient), audited;
    the earlier link stops working."""
    token = links.new_link(screening, by=actor)
    audit.record(action, user=actor, screening_id=screening.id,
                 detail=f"link {screening.link_number}")  # fmt: skip
    return token


def print_handout(screening: Screening, actor: User | None) -> str:
    """A new link for a printed handout, made from a new short code (the earlier link stops
    working), audited; returns the code's seed, from which `handout` shows it again."""
    seed = links.new_handout_seed()
    links.new_link(screening, by=actor, token=links.handout_token(links.short_code(seed)))
    audit.record("handout_printed", user=actor, screening_id=screening.id,
                 detail=f"link {screening.link_number}")  # fmt: skip
    return seed


def handout(screening: Screening, seed: str | None, actor: User | None) -> tuple[str, str] | None:
    """The link and short code of the handout printed from `seed`, while they are still the
    screening's (not replaced, expired or revoked), audited as shown again; else None."""
    if not seed or screening.effective_status() not in OPEN_STATUSES:
        return None
    code = links.short_code(seed)
    token = links.handout_token(code)
    if hash_token(token) != screening.token_hash:
        return None
    audit.record("handout_shown", user=actor, screening_id=screening.id,
                 detail=f"link {screening.link_number}")  # fmt: skip
    return token, code


def reminder_due_day(index: int, delays: tuple[int, ...]) -> int:
    """The day after the invitation on which reminder number `index` (0-based) is due: the
    configured delays, then every gap of the last two."""
    if index < len(delays):
        return delays[index]
    step = delays[-1] - delays[-2] if len(delays) > 1 else delays[-1]
    return delays[-1] + step * (index - len(delays) + 1)


def send_reminders(now: dt.datetime | None = None) -> dict[str, int]:
    """E-mail open screenings whose next reminder is due; safe to run twice (each is recorded).
    Never sooner after the reminder before than the schedule's own gap, so a run after a pause
    sends one reminder, not every overdue one. Commits after each screening."""
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
            # An aggregate over a UTC column comes back naive from SQLite.
            last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
            due = max(due, last + dt.timedelta(days=gap))
        if now < due:
            continue
        if send_new_link(screening, kind="reminder", now=now) is None:
            sent += 1
            audit.record("reminder_sent", screening_id=screening.id)
        else:
            failed += 1
        db.session.commit()
    return {"sent": sent, "failed": failed}


def last_message(screening: Screening) -> Message | None:
    """The last invitation or reminder sent (or tried)."""
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
