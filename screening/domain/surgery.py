"""The operation as it happened: a clinician (on the screening's page, through the API with the
`surgery:write` scope, or on the command line) records that the surgery was performed on a day
(today or before, in the clinic's time zone, never before the screening was made) with the
procedure performed, or that it was cancelled, or postponed (perhaps to a new planned day).

The procedure is given in the codes of the clinic's entries of the planned surgery (the
questions the screening's questionnaire marks `clinic`, domain.clinic_entries), checked the same
way, so that what was planned and what was done compare code for code; a free-text note may say
more. Records are never changed: a correction is a new record replacing the one before, and the
newest stands (`current`); `history` keeps them all. Follow-ups count from `anchor`: the day of
surgery of a standing performed record; none while it is postponed, none after a cancellation.
Every record is audited (its id and status, never the note or the procedure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .. import clock
from ..extensions import db
from ..models import SURGERY_STATUSES, ApiKey, Screening, SurgeryRecord, User, utcnow
from ..text import has_control_characters, kept_note
from . import NotAllowed, api_keys, audit, clinic_entries, questionnaires

STATUSES = SURGERY_STATUSES
STATUS_LABELS = {"performed": "Performed", "cancelled": "Cancelled", "postponed": "Postponed"}
NOTE_LENGTH = 2000
ANY = -1  # `record(replaces=ANY)`: whatever stands is replaced (the command line)


class Refused(NotAllowed):
    """What was given cannot be recorded: `problems` holds a message per field that is wrong
    (status, surgery_date, planned_date, procedure or procedure.<question id>, note), in the
    order the form shows them; the first is the exception's message."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(next(iter(problems.values())))
        self.problems = problems


class Changed(NotAllowed):
    """The record a correction was based on no longer stands: another record was made since."""


@dataclass(frozen=True)
class Given:
    """An operation as an adapter read it (dates already dates; the procedure as given)."""

    status: str
    surgery_date: dt.date | None = None
    planned_date: dt.date | None = None
    procedure: Mapping[str, Any] | None = None
    note: str | None = None


def today(now: dt.datetime | None = None) -> dt.date:
    """Today in the clinic's time zone (what "a past or today date" is judged against)."""
    return clock.local(now or utcnow(), current_app.config["SCREENING_TIMEZONE"]).date()


def check(
    screening: Screening, given: Given, now: dt.datetime | None = None
) -> tuple[dict[str, Any], str | None, dict[str, str]]:
    """The procedure's entries to keep and the note as kept, and a message per field that is
    wrong (none: it can be recorded)."""
    problems: dict[str, str] = {}
    status = given.status
    day = today(now)
    if status not in STATUSES:
        problems["status"] = "Choose whether the operation was performed, cancelled or postponed."
        return {}, None, problems
    if status == "performed":
        created = clock.local(screening.created_at, current_app.config["SCREENING_TIMEZONE"])
        if given.surgery_date is None:
            problems["surgery_date"] = "Enter the date of surgery."
        elif given.surgery_date > day:
            problems["surgery_date"] = (
                f"The date of surgery must be today ({day.isoformat()}) or before: record a "
                "later date as postponed."
            )
        elif given.surgery_date < created.date():
            problems["surgery_date"] = (
                "The date of surgery cannot be before this pre-operative screening was made "
                f"({created.date().isoformat()})."
            )
    elif given.surgery_date is not None:
        problems["surgery_date"] = "Only a performed operation has a date of surgery."
    if status == "postponed":
        if given.planned_date is not None and given.planned_date <= day:
            problems["planned_date"] = (
                f"The new planned date must be after today ({day.isoformat()})."
            )
    elif given.planned_date is not None:
        problems["planned_date"] = "Only a postponed operation has a new planned date."
    entries: dict[str, Any] = {}
    raw = dict(given.procedure or {})
    if raw and status != "performed":
        problems["procedure"] = "Only a performed operation has a procedure performed."
    elif raw:
        entries, errors = clinic_entries.checked(questionnaires.of(screening), raw)
        problems.update({f"procedure.{question_id}": message
                         for question_id, message in errors.items()})  # fmt: skip
    note = kept_note(given.note)
    if note and has_control_characters(note):
        problems["note"] = "Remove the control characters (such as a NUL) from the note."
    elif note and len(note) > NOTE_LENGTH:
        problems["note"] = f"Use at most {NOTE_LENGTH} characters for the note."
    if status == "performed" and not entries and not note and not any(
        key.startswith("procedure") for key in problems
    ):
        problems["procedure"] = (
            "Say which procedure was performed: choose from the lists, or describe it in the note."
        )
    return entries, note, problems


def record(
    screening: Screening,
    given: Given,
    *,
    user: User | None = None,
    api_key: ApiKey | None = None,
    replaces: int | None = ANY,
    now: dt.datetime | None = None,
) -> tuple[SurgeryRecord, bool]:
    """Record the operation of `screening` as given, by a member of staff (`user`), an API key,
    or the command line (neither). `replaces`: the id of the standing record the recorder saw
    (None: they saw none), or ANY. Refused for wrong input; Changed when another record was
    made since the one seen. A record the same as the standing one is not made again: (the
    standing record, False); else (the new record, True). Audited: its id and status, what it
    replaces and by whom, never the procedure or the note."""
    entries, note, problems = check(screening, given, now)
    if problems:
        raise Refused(problems)
    _take(screening)
    standing = current(screening)
    if standing is not None and _same(standing, given, entries, note):
        return standing, False
    standing_id = standing.id if standing is not None else None
    if replaces != ANY and replaces != standing_id:
        raise Changed(
            "The operation was recorded again since this page was opened: look at the record "
            "that stands now, then record it again if it is still wrong."
        )
    made = SurgeryRecord(
        screening_id=screening.id,
        status=given.status,
        surgery_date=given.surgery_date if given.status == "performed" else None,
        planned_date=given.planned_date if given.status == "postponed" else None,
        procedure=entries,
        note=note,
        replaces_id=standing_id,
        recorded_at=now or utcnow(),
        via="staff" if user is not None else "api" if api_key is not None else "cli",
        recorded_by_id=getattr(user, "id", None),
        api_key_id=getattr(api_key, "id", None),
    )
    db.session.add(made)
    db.session.flush()
    detail = f"record {made.id}: {made.status}"
    if standing_id is not None:
        detail += f", replacing record {standing_id}"
    if api_key is not None:
        detail += f"; {api_keys.label(api_key)}"
    elif user is None:
        detail += " (command line)"
    audit.record("surgery_recorded", user=user, screening_id=screening.id, detail=detail)
    return made, True


def _take(screening: Screening) -> None:
    """Hold the screening's row until the commit (an update that changes nothing: PostgreSQL
    locks the row, SQLite the database), so two records made at once are made one after the
    other, the second replacing the first."""
    db.session.execute(
        sa.update(Screening)
        .where(Screening.id == screening.id)
        .values(status=Screening.status)
        .execution_options(synchronize_session=False)
    )


def _same(standing: SurgeryRecord, given: Given, entries: dict[str, Any], note: str | None):
    return (
        standing.status == given.status
        and standing.surgery_date == (given.surgery_date if given.status == "performed" else None)
        and standing.planned_date == (given.planned_date if given.status == "postponed" else None)
        and dict(standing.procedure or {}) == entries
        and standing.note == note
    )


def history(screening: Screening) -> list[SurgeryRecord]:
    """Every record of the screening, the newest (the one that stands) first."""
    return list(
        db.session.scalars(
            sa.select(SurgeryRecord)
            .where(SurgeryRecord.screening_id == screening.id)
            .order_by(SurgeryRecord.id.desc())
        )
    )


def current(screening: Screening) -> SurgeryRecord | None:
    """The record that stands (the newest), or None when none was made."""
    return db.session.scalar(
        sa.select(SurgeryRecord)
        .where(SurgeryRecord.screening_id == screening.id)
        .order_by(SurgeryRecord.id.desc())
        .limit(1)
    )


def anchor(screening: Screening) -> dt.date | None:
    """The day follow-ups count from: the day of surgery when the standing record says it was
    performed; None while nothing is recorded, postponed, or after a cancellation."""
    standing = current(screening)
    if standing is None or standing.status != "performed":
        return None
    return standing.surgery_date


def recorded_by(made: SurgeryRecord) -> str:
    """Who made a record, in words: a member of staff's e-mail address, an API key's label, or
    the command line."""
    if made.via == "api":
        return api_keys.label(made.api_key) if made.api_key is not None else "an API key"
    if made.via == "cli":
        return "the command line"
    return made.recorded_by.email if made.recorded_by is not None else "a member of staff"


def procedure_rows(screening: Screening, made: SurgeryRecord) -> list[dict[str, str]]:
    """The procedure performed as staff read it: each question's label and the value in words."""
    return clinic_entries.displayed(questionnaires.of(screening), made.procedure or {})
