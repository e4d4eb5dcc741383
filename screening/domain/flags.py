"""Red flags as the patient raises them: recorded with the answers that raise them (not when the
answers are sent), withdrawn if a later answer takes them back, and acknowledged one by one by a
clinician who says what was done. Nothing here is ever deleted.

The screening keeps two columns the lists read (and index): `has_red_flag`, a flag stands (raised
and not withdrawn, or withdrawn but never acknowledged), and `acknowledged_at`, set once every such
flag is acknowledged and cleared when another is raised.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..definition import Questionnaire
from ..extensions import db
from ..models import FlagAcknowledgement, FlagEvent, Screening, User, utcnow
from ..scoring import Assessment
from ..text import has_control_characters, kept_note
from . import NotAllowed, alerts, audit, documents

NOTE_LENGTH = 2000


def events(screening: Screening) -> list[FlagEvent]:
    """Every flag the screening's answers ever raised, oldest first."""
    return list(
        db.session.scalars(
            sa.select(FlagEvent)
            .where(FlagEvent.screening_id == screening.id)
            .order_by(FlagEvent.raised_at, FlagEvent.id)
        )
    )


def record(
    screening: Screening, q: Questionnaire, assessment: Assessment, now: dt.datetime | None = None
) -> list[FlagEvent]:
    """Bring the screening's flag events in line with its answers, in the caller's transaction:
    a flag raised now and not standing gets an event (and its alert); a standing one no longer
    raised is withdrawn. Returns the events raised now."""
    now = now or utcnow()
    raised = {r.flag.id: r.flag for r in assessment.red_flags}
    standing = {e.flag_id: e for e in events(screening) if e.withdrawn_at is None}
    made = []
    for flag_id, flag in raised.items():
        if flag_id in standing:
            continue
        event = FlagEvent(
            screening_id=screening.id, flag_id=flag_id, urgency=flag.urgency,
            self_harm=flag.self_harm, questionnaire_version=q.version, raised_at=now,
        )  # fmt: skip
        db.session.add(event)
        made.append(event)
    for flag_id, event in standing.items():
        if flag_id not in raised:
            event.withdrawn_at = now
    db.session.flush()
    for event in made:
        alerts.raise_alert(screening, event, now)
    if made or len(standing) != len(raised):
        _summarise(screening)
    return made


def _open(event: FlagEvent) -> bool:
    return event.acknowledgement is None


def _summarise(screening: Screening) -> None:
    """The screening's two list columns, from its events (see the module's docstring)."""
    found = events(screening)
    standing = [e for e in found if e.withdrawn_at is None or _open(e)]
    screening.has_red_flag = bool(standing)
    if any(_open(e) for e in standing):
        screening.acknowledged_at = screening.acknowledged_by_id = None
    elif standing and screening.acknowledged_at is None:
        last = max((e.acknowledgement for e in standing), key=lambda a: a.at)
        screening.acknowledged_at, screening.acknowledged_by_id = last.at, last.user_id
    db.session.flush()


def acknowledge(
    event: FlagEvent, actor: User, note: str | None = None, now: dt.datetime | None = None
) -> FlagAcknowledgement:
    """A clinician acknowledges one flag, saying what was done: required for an emergency or a
    self-harm flag. Its escalations stop."""
    note = (kept_note(note) or "")[:NOTE_LENGTH] or None
    if note and has_control_characters(note):
        raise NotAllowed("Remove the control characters (such as a NUL) from the note.")
    if event.acknowledgement is not None:
        raise NotAllowed("This flag is already acknowledged.")
    if event.urgent and note is None:
        raise NotAllowed("Say what was done (for example: phoned the patient, advised ED).")
    made = FlagAcknowledgement(event=event, user_id=actor.id, at=now or utcnow(), note=note)
    db.session.add(made)
    db.session.flush()
    alerts.cancel_escalations(event)
    audit.record("red_flag_acknowledged", user=actor, screening_id=event.screening_id,
                 detail=f"flag event {event.id}")  # fmt: skip
    screening = db.session.get_one(Screening, event.screening_id)
    _summarise(screening)
    documents.request(screening, "summary", "flag_acknowledged", actor)
    return made


def withdraw_acknowledgement(
    acknowledgement: FlagAcknowledgement, actor: User, now: dt.datetime | None = None
) -> None:
    """Take an acknowledgement back (kept, marked withdrawn): the flag is open again."""
    if acknowledgement.withdrawn_at is not None:
        raise NotAllowed("This acknowledgement was already withdrawn.")
    acknowledgement.withdrawn_at, acknowledgement.withdrawn_by_id = now or utcnow(), actor.id
    event = acknowledgement.event
    audit.record("acknowledgement_withdrawn", user=actor, screening_id=event.screening_id,
                 detail=f"flag event {event.id}")  # fmt: skip
    db.session.flush()
    screening = db.session.get_one(Screening, event.screening_id)
    _summarise(screening)
    documents.request(screening, "summary", "acknowledgement_withdrawn", actor)
