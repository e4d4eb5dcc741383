"""PDFs of submitted screenings, in versions: asked for when something they show changes,
rendered by a background job (domain.jobs), kept byte for byte, and served from the store.

- `request` asks for a new version in the caller's transaction: at submission (the summary and
  the patient's copy), and for the summary when a flag is acknowledged, an acknowledgement is
  withdrawn, the screening is marked reviewed or the review undone, or a clinician asks. A version
  asked for and not yet taken by a worker absorbs later requests, so a burst of changes makes one.
- `render_pending` is the job: it claims the version, renders what the screening is then, and
  stores it. `sweep` (every minute) renders any version whose job was lost.
- `newest` is what a download serves: never a render in the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import undefer

from .. import queue
from ..extensions import db
from ..models import Document, Screening, User, utcnow
from ..report.render import (
    FlagStatus,
    PatientInfo,
    RenderedPDF,
    ReportSettings,
    ReviewStatus,
    render_patient_copy,
    render_summary,
)
from . import NotAllowed, answering, audit, flags, questionnaires

log = logging.getLogger(__name__)
RENDERERS = {"summary": render_summary, "patient_copy": render_patient_copy}
KINDS = tuple(RENDERERS)
REASONS = {
    "submitted": "Answers submitted",
    "flag_acknowledged": "Red flag acknowledged",
    "acknowledgement_withdrawn": "Acknowledgement withdrawn",
    "reviewed": "Marked reviewed",
    "review_undone": "Review undone",
    "requested": "Rendered again on request",
    "command_line": "Rendered from the command line",
}
CLAIM = dt.timedelta(minutes=5)  # a worker that died mid-render lets its version go after this
SWEEP_AFTER = dt.timedelta(seconds=30)  # a version its job has not taken by then is swept
SWEEP_BATCH = 20
MAX_TRIES = 5


def settings(clinic_name: str | None = None, paper: str | None = None) -> ReportSettings:
    """The clinic's settings for its documents (another name or paper for a one-off)."""
    config = current_app.config
    logo = config.get("SCREENING_CLINIC_LOGO")
    made = ReportSettings(
        clinic_name=config["SCREENING_CLINIC_NAME"],
        paper=config["SCREENING_PAPER"],
        logo=Path(logo) if logo else None,
        timezone=config["SCREENING_TIMEZONE"],
    )
    return replace(made, clinic_name=clinic_name or made.clinic_name, paper=paper or made.paper)


def _name(user: User | None) -> str | None:
    if user is None:
        return None
    return user.name or user.email


def _flag_statuses(screening: Screening) -> tuple[FlagStatus, ...]:
    """Each flag the answers raised, standing or withdrawn but never acknowledged, with its
    acknowledgement (the one that stands)."""
    statuses = []
    for event in flags.events(screening):
        standing = event.acknowledgement
        if event.withdrawn_at is not None and standing is not None:
            continue  # taken back by a later answer, and seen to: nothing left to act on
        statuses.append(
            FlagStatus(
                flag_id=event.flag_id,
                raised_at=event.raised_at,
                withdrawn_at=event.withdrawn_at,
                acknowledged_by=_name(standing.user) if standing else None,
                acknowledged_at=standing.at if standing else None,
                note=standing.note if standing else None,
            )
        )
    return tuple(statuses)


def patient_info(screening: Screening, version: Document | None = None) -> PatientInfo:
    reviewed = None
    if screening.reviewed_at is not None:
        reviewed = ReviewStatus(
            by=_name(screening.reviewed_by),
            at=screening.reviewed_at,
            note=screening.reviewed_note,
        )
    return PatientInfo(
        name=screening.patient_name,
        dob=screening.patient_dob,
        mrn=screening.patient_mrn,
        surgeon=screening.surgeon,
        planned_surgery=screening.planned_surgery,
        surgery_date=screening.surgery_date,
        reference=screening.reference,
        screening_date=screening.submitted_at or screening.created_at,
        answered_at=answering.saved_times(screening),
        language=questionnaires.patient_language(screening),
        flags=_flag_statuses(screening),
        reviewed=reviewed,
        version=version.version if version is not None else None,
    )


def render(
    screening: Screening, kind: str, report: ReportSettings, version: Document | None = None
) -> RenderedPDF:
    """A fresh rendering of a submitted screening's document, scored as its stored assessment
    was (judged on the day it was submitted); nothing is stored."""
    if screening.status != "submitted":
        raise NotAllowed(f"screening {screening.id} is not submitted yet")
    info = patient_info(screening, version)
    q = questionnaires.of(screening)
    if kind == "patient_copy":
        q = q.localized(info.language)  # the patient's own words; the summary keeps the clinic's
    # The patient's copy scores the patient's answers alone: it never tells the clinic's entries.
    a = answering.assessment_of(screening, q, clinic=kind != "patient_copy")
    return RENDERERS[kind](a, info, report)


# --- asking for versions ------------------------------------------------------------------------


def request(
    screening: Screening, kind: str, reason: str, actor: User | None = None
) -> Document | None:
    """Ask for a new version of a submitted screening's document, rendered by a job once the
    caller's transaction commits. A version already asked for and not yet taken absorbs this
    request (it will show this change too). None for a screening not submitted."""
    if kind not in KINDS or reason not in REASONS:
        raise ValueError(f"unknown document {kind!r} or reason {reason!r}")
    if screening.status != "submitted":
        return None
    now = utcnow()
    waiting = _waiting(screening, kind)
    if waiting is not None:
        waiting.reason, waiting.requested_at = reason, now
        waiting.requested_by_id = actor.id if actor else None
        row = waiting
    else:
        row = _new_version(screening, kind, reason, actor, now)
    queue.after_commit("render_document", row.id)
    return row


def _waiting(screening: Screening, kind: str) -> Document | None:
    """The newest version asked for that no worker has taken yet."""
    return db.session.scalar(
        sa.select(Document)
        .where(
            Document.screening_id == screening.id,
            Document.kind == kind,
            Document.rendered_at.is_(None),
            Document.claimed_until.is_(None),
        )
        .order_by(Document.version.desc())
        .limit(1)
    )


def _new_version(
    screening: Screening, kind: str, reason: str, actor: User | None, now: dt.datetime
) -> Document:
    """The next version's row; two requests racing for one number: the second takes the next."""
    for _ in range(5):
        number = (
            db.session.scalar(
                sa.select(sa.func.max(Document.version)).where(
                    Document.screening_id == screening.id, Document.kind == kind
                )
            )
            or 0
        ) + 1
        row = Document(
            screening_id=screening.id, kind=kind, version=number, reason=reason,
            requested_by_id=actor.id if actor else None, requested_at=now,
        )  # fmt: skip
        try:
            with db.session.begin_nested():  # a savepoint: a clash undoes only this insert
                db.session.add(row)
        except sa.exc.IntegrityError:
            continue
        return row
    raise RuntimeError(f"no free version number for screening {screening.id}'s {kind}")


def submitted(screening: Screening) -> None:
    """At submission: the summary and the patient's copy, version 1 of each."""
    for kind in KINDS:
        request(screening, kind, "submitted")


# --- rendering (the job) --------------------------------------------------------------------


def _claim(document_id: int, now: dt.datetime) -> bool:
    taken = db.session.execute(
        sa.update(Document)
        .where(
            Document.id == document_id,
            Document.rendered_at.is_(None),
            sa.or_(Document.claimed_until.is_(None), Document.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM, tries=Document.tries + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return taken.rowcount == 1


def render_pending(document_id: int) -> bool:
    """Render one version asked for, if no other worker has it: what the screening shows now.
    True when this call rendered it. Commits."""
    now = utcnow()
    if not _claim(document_id, now):
        db.session.rollback()
        return False
    row = db.session.get_one(Document, document_id)
    screening = db.session.get_one(Screening, row.screening_id)
    try:
        pdf = render(screening, row.kind, settings(), version=row)
    except Exception:
        # Let it go at once, to be tried again by the sweep (never the patient's data in a log).
        db.session.rollback()
        db.session.execute(
            sa.update(Document).where(Document.id == document_id).values(claimed_until=None)
        )
        db.session.commit()
        raise
    row.content, row.sha256, row.rendered_at = pdf.content, pdf.sha256, utcnow()
    row.claimed_until = None
    db.session.commit()
    return True


def sweep(now: dt.datetime | None = None) -> int:
    """Render the versions whose job was lost (the queue away, a worker that died); how many.
    A version that failed MAX_TRIES times is left for a person (logged by number only)."""
    now = now or utcnow()
    ids = db.session.scalars(
        sa.select(Document.id)
        .where(
            Document.rendered_at.is_(None),
            Document.requested_at < now - SWEEP_AFTER,
            sa.or_(Document.claimed_until.is_(None), Document.claimed_until < now),
            Document.tries < MAX_TRIES,
        )
        .order_by(Document.requested_at)
        .limit(SWEEP_BATCH)
    ).all()
    db.session.rollback()
    done = 0
    for document_id in ids:
        try:
            done += render_pending(document_id)
        except Exception as exc:
            log.warning("document %s did not render: %s", document_id, type(exc).__name__)
    return done


# --- reading --------------------------------------------------------------------------------


def _rendered(screening: Screening, kind: str) -> sa.Select:
    """The screening's rendered versions of `kind`, their content loaded (to serve one)."""
    return (
        sa.select(Document)
        .options(undefer(Document.content))
        .where(
            Document.screening_id == screening.id,
            Document.kind == kind,
            Document.rendered_at.is_not(None),
        )
    )


def newest(screening: Screening, kind: str) -> Document | None:
    """The newest rendered version (what a download serves), its content loaded."""
    return db.session.scalar(_rendered(screening, kind).order_by(Document.version.desc()).limit(1))


def versions(screening: Screening, kind: str = "summary") -> list[Document]:
    """Every version, newest first, without their content (a list to show)."""
    return list(
        db.session.scalars(
            sa.select(Document)
            .where(Document.screening_id == screening.id, Document.kind == kind)
            .order_by(Document.version.desc())
        )
    )


def version(screening: Screening, kind: str, number: int) -> Document | None:
    """One rendered version, its content loaded."""
    return db.session.scalar(_rendered(screening, kind).where(Document.version == number))


def being_prepared(screening: Screening, kind: str, number: int) -> bool:
    """Whether version `number` was asked for and is not rendered yet."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Document.id)).where(
                Document.screening_id == screening.id,
                Document.kind == kind,
                Document.version == number,
                Document.rendered_at.is_(None),
            )
        )
        == 1
    )


def summary(screening: Screening, actor: User | None, number: int | None = None) -> Document | None:
    """The clinician's summary from the store (the newest, or version `number`), audited; None
    while it is being prepared (or for a number that is not there)."""
    row = newest(screening, "summary") if number is None else version(screening, "summary", number)
    if row is not None:
        audit.record("pdf_downloaded", user=actor, screening_id=screening.id,
                     detail=f"summary version {row.version}")  # fmt: skip
    return row


def render_again(screening: Screening, actor: User) -> Document | None:
    """A clinician asks for the summary to be rendered again (a new version), audited."""
    row = request(screening, "summary", "requested", actor)
    audit.record("pdf_rerendered", user=actor, screening_id=screening.id, detail="summary")
    return row


def written_out(
    screening: Screening, kind: str, refresh: bool = False, report: ReportSettings | None = None
) -> bytes:
    """A document written to a file by the command line, rendered here when it must be (no
    queue), audited: the newest stored version; the one asked for and not yet rendered,
    rendered now; with `refresh`, a new version rendered now; with `report`, a one-off
    rendering that is not stored."""
    if report is not None:
        content = render(screening, kind, report).content
        audit.record("pdf_downloaded", screening_id=screening.id,
                     detail=f"{kind} (command line, one-off rendering)")  # fmt: skip
        return content
    row = None if refresh else newest(screening, kind)
    rendered = row is None
    if row is None:
        waiting = None if refresh else _waiting(screening, kind)
        if waiting is None:
            waiting = _new_version(screening, kind, "command_line", None, utcnow())
            db.session.commit()
        render_pending(waiting.id)
        row = newest(screening, kind)
    how = ", rendered now" if rendered else ""
    audit.record("pdf_rerendered" if refresh else "pdf_downloaded", screening_id=screening.id,
                 detail=f"{kind} version {row.version} (command line{how})")  # fmt: skip
    return row.content
