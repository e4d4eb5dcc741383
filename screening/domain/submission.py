"""Sending the answers: once, complete, and scored as they are at that moment."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..definition import Questionnaire
from ..extensions import db
from ..models import Screening, utcnow
from ..scoring import score
from . import NotAllowed, audit, clinic_entries, documents, drafts, flags
from .answering import link_label, saved_answers, take_if_open


def submit(
    screening: Screening, q: Questionnaire, now: dt.datetime | None = None, via: str | None = None
) -> bool:
    """Submit once: False when it already was (a double click, a resubmission); NotAllowed when
    an answer is missing. The stored assessment is the one a clinician reads later. Audited
    with the link (`via`: e.g. kiosk).

    The screening's row is taken before the answers are read (an update that changes nothing:
    PostgreSQL locks the row, SQLite the database), so a step being saved is waited for and
    scored, and a step saved after this waits and is then refused. The status changes with a
    conditional UPDATE, so two requests racing cannot both submit.
    """
    now = now or utcnow()
    if not take_if_open(screening):
        return False
    answers = saved_answers(screening)
    # Complete as the patient's pages judge it (their own answers); stored as the clinic reads
    # it, with the clinic's entries (read now, after the row was taken).
    if not score(q, answers).complete:
        raise NotAllowed("incomplete")
    assessment = score(q, answers, clinic=clinic_entries.current(screening.id))
    flags.record(screening, q, assessment, now)  # as saved; and any screening older than events
    db.session.execute(
        sa.update(Screening)
        .where(Screening.id == screening.id)
        .values(
            status="submitted",
            submitted_at=now,
            total=assessment.total,
            tier=assessment.tier.id if assessment.tier else None,
            assessment=assessment.to_json(),
        )
        .execution_options(synchronize_session=False)
    )
    drafts.discard(screening)  # what was typed and not saved is not kept once sent
    audit.record("answers_submitted", screening_id=screening.id,
                 detail=link_label(screening, via))  # fmt: skip
    db.session.expire(screening)
    documents.submitted(screening)  # rendered by a worker once this commits
    return True


def patient_copy(screening: Screening, how: str):
    """The patient's own copy of a submitted screening, its newest stored version (rendered by a
    worker: None until then), downloaded through its link, audited with `how` the browser was
    let in ("the browser that submitted" or "after the identity check")."""
    if screening.status != "submitted":
        raise NotAllowed("This screening is not submitted.")
    document = documents.newest(screening, "patient_copy")
    if document is None:
        return None
    audit.record("patient_copy_downloaded", screening_id=screening.id,
                 detail=f"link {screening.link_number}, {how}")  # fmt: skip
    return document
