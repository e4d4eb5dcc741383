"""Screenings written out for other systems: the clinicians' CSV and the FHIR bundle. The shapes
are the pure renderers' (`screening.exports`); this reads the database for them and audits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..exports import csv, fhir
from ..extensions import db
from ..models import STATUS_LABELS, Answer, Definition, Screening, User
from ..scoring import score
from . import NotAllowed, audit, clinic_entries, flags, listing, questionnaires
from .answering import assessment_of, judged_on

BATCH = 500


def _columns(where: Any) -> tuple[list[str], list[str]]:
    """Question ids and computed-value ids of every questionnaire version in the selection, the
    versions in the order they were first stored, so a later version's new columns come after
    the earlier ones' and a removed question keeps its column."""
    definitions = db.session.scalars(
        sa.select(Definition)
        .where(Definition.content_hash.in_(sa.select(Screening.definition_hash).where(where)))
        .order_by(Definition.created_at, Definition.content_hash)
    ).all()
    questions: dict[str, None] = {}
    computed: dict[str, None] = {}
    for definition in definitions:
        q = questionnaires.of(definition)
        questions.update(dict.fromkeys(q.questions))
        computed.update(dict.fromkeys([c.id for c in q.computed] + [i.id for i in q.instruments]))
    return list(questions), list(computed)


def _own_columns(s: Screening) -> dict[str, Any]:
    return {
        "reference": s.reference, "patient_name": s.patient_name, "date_of_birth": s.patient_dob,
        "mrn": s.patient_mrn, "surgeon": s.surgeon, "planned_surgery": s.planned_surgery,
        "surgery_date": s.surgery_date, "status": STATUS_LABELS[s.effective_status()],
        "invited_at": s.created_at.isoformat(timespec="seconds"),
        "submitted_at": s.submitted_at.isoformat(timespec="seconds") if s.submitted_at else None,
        "questionnaire": s.questionnaire_id, "version": s.questionnaire_version,
        "tier": s.tier, "total": s.total, **_flag_columns(s),
        "reviewed_at": s.reviewed_at.isoformat(timespec="seconds") if s.reviewed_at else None,
        "reviewed_by": _who(s.reviewed_by) if s.reviewed_at else None,
        "review_note": s.reviewed_note,
    }  # fmt: skip


def _who(user: User | None) -> str:
    return user.email if user else "a clinician"


def _flag_columns(s: Screening) -> dict[str, Any]:
    """Every flag the answers raised (withdrawn ones marked), and each acknowledgement that
    stands: when, by whom, what was done."""
    raised, acknowledged = [], []
    for event in flags.events(s):
        withdrawn = ", withdrawn" if event.withdrawn_at else ""
        raised.append(f"{event.flag_id} ({event.urgency}{withdrawn})")
        ack = event.acknowledgement
        if ack is not None:
            who = _who(ack.user)
            note = f": {ack.note}" if ack.note else ""
            acknowledged.append(f"{event.flag_id} {ack.at:%Y-%m-%dT%H:%MZ} by {who}{note}")
    return {"flags_raised": "; ".join(raised) or None,
            "flag_acknowledgements": " | ".join(acknowledged) or None}  # fmt: skip


def csv_lines(where: Any, written: list[int] | None = None) -> Iterator[str]:
    """The CSV of the screenings `where` selects, line by line, read in batches (their ids
    added to `written`)."""
    question_ids, value_ids = _columns(where)
    yield csv.header(question_ids, value_ids)
    last_id = 0
    while True:
        batch = db.session.scalars(
            sa.select(Screening)
            .where(where, Screening.id > last_id)
            .order_by(Screening.id)
            .limit(BATCH)
            .options(selectinload(Screening.reviewed_by))
        ).all()
        if not batch:
            return
        last_id = batch[-1].id
        answers: dict[int, dict[str, Any]] = {s.id: {} for s in batch}
        rows = db.session.execute(
            sa.select(Answer.screening_id, Answer.question_id, Answer.value).where(
                Answer.screening_id.in_(list(answers))
            )
        )
        for screening_id, question_id, value in rows:
            answers[screening_id][question_id] = value
        for s in batch:
            # Judged on the day of submission, as the stored assessment was.
            a = score(questionnaires.of(s), answers[s.id], judged_on(s), clinic_entries.of(s))
            submitted = s.status == "submitted"
            yield csv.row(_own_columns(s), a, question_ids, value_ids, submitted)
            if written is not None:
                written.append(s.id)
        db.session.expunge_all()  # memory stays flat on a large export


def export_csv(filters: listing.Filters, actor: User | None) -> Iterator[str]:
    """The CSV's lines of the screenings the list's `filters` select (as a clinician's, in the
    actor's sites), audited
    once the last line is read: how many screenings, the filters, and the ids written (the
    caller commits after reading them all)."""
    written: list[int] = []
    yield from csv_lines(listing.condition(filters, clinician=True, reader=actor), written)
    audit.record(
        "answers_exported", user=actor,
        detail=f"{len(written)} screenings; {listing.described(filters)}; "
        f"ids {listing.id_ranges(written)}",
    )  # fmt: skip


def fhir_bundle(screening: Screening, actor: User | None, how: str | None = None):
    """A submitted screening as a FHIR R4 Bundle, scored as the staff page and the PDF score it,
    so that exporting it again later gives the same bundle; audited (`how`: e.g. command line)."""
    if screening.status != "submitted" or screening.submitted_at is None:
        raise NotAllowed(f"screening {screening.id} is not submitted (it is {screening.status})")
    bundle = fhir.bundle(
        assessment_of(screening),
        fhir.PatientDetails(
            name=screening.patient_name, birth_date=screening.patient_dob,
            mrn=screening.patient_mrn,
        ),
        fhir.ScreeningMeta(reference=screening.reference, submitted_at=screening.submitted_at),
    )  # fmt: skip
    audit.record("fhir_exported", user=actor, screening_id=screening.id, detail=how)
    return bundle
