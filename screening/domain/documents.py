"""PDFs of submitted screenings: rendered once, kept, and served again byte for byte."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Document, Screening, User, utcnow
from ..report.render import (
    PatientInfo,
    RenderedPDF,
    ReportSettings,
    render_patient_copy,
    render_summary,
)
from . import NotAllowed, audit, questionnaires
from .answering import assessment_of, saved_times

RENDERERS = {"summary": render_summary, "patient_copy": render_patient_copy}


def settings(clinic_name: str | None = None, paper: str | None = None) -> ReportSettings:
    """The clinic's settings for its documents (another name or paper for a one-off)."""
    config = current_app.config
    logo = config.get("SCREENING_CLINIC_LOGO")
    made = ReportSettings(
        clinic_name=config["SCREENING_CLINIC_NAME"],
        paper=config["SCREENING_PAPER"],
        logo=Path(logo) if logo else None,
    )
    return replace(made, clinic_name=clinic_name or made.clinic_name, paper=paper or made.paper)


def patient_info(screening: Screening) -> PatientInfo:
    return PatientInfo(
        name=screening.patient_name,
        dob=screening.patient_dob,
        mrn=screening.patient_mrn,
        surgeon=screening.surgeon,
        planned_surgery=screening.planned_surgery,
        surgery_date=screening.surgery_date,
        reference=screening.reference,
        screening_date=screening.submitted_at or screening.created_at,
        answered_at=saved_times(screening),
        language=questionnaires.patient_language(screening),
    )


def render(screening: Screening, kind: str, report: ReportSettings) -> RenderedPDF:
    """A fresh rendering of a submitted screening's document, scored as its stored assessment
    was (judged on the day it was submitted); nothing is stored."""
    if screening.status != "submitted":
        raise NotAllowed(f"screening {screening.id} is not submitted yet")
    info = patient_info(screening)
    q = questionnaires.of(screening)
    if kind == "patient_copy":
        q = q.localized(info.language)  # the patient's own words; the summary keeps the clinic's
    # The patient's copy scores the patient's answers alone: it never tells the clinic's entries.
    a = assessment_of(screening, q, clinic=kind != "patient_copy")
    return RENDERERS[kind](a, info, report)


def _stored(screening: Screening, kind: str) -> Document | None:
    return db.session.scalar(
        sa.select(Document).where(Document.screening_id == screening.id, Document.kind == kind)
    )


def document(screening: Screening, kind: str, refresh: bool = False) -> Document:
    """The stored document of a submitted screening, rendered now if there is none (or if
    asked to render it again)."""
    row = _stored(screening, kind)
    if row is not None and not refresh:
        return row
    pdf = render(screening, kind, settings())
    if row is not None:
        row.content, row.sha256, row.created_at = pdf.content, pdf.sha256, utcnow()
        db.session.flush()
        return row
    row = Document(
        screening_id=screening.id,
        kind=kind,
        content=pdf.content,
        sha256=pdf.sha256,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():  # a savepoint: a clash undoes only this insert
            db.session.add(row)
    except IntegrityError:
        # Another request stored it first: serve that one, so every download is the same.
        row = _stored(screening, kind)
    return row


def summary(screening: Screening, actor: User | None, refresh: bool = False) -> Document:
    """The clinician's summary, downloaded (or rendered again), audited."""
    row = document(screening, "summary", refresh)
    action = "pdf_rerendered" if refresh else "pdf_downloaded"
    audit.record(action, user=actor, screening_id=screening.id)
    return row


def written_out(
    screening: Screening, kind: str, refresh: bool = False, report: ReportSettings | None = None
) -> bytes:
    """A document written to a file by the command line, audited: the stored one (rendered
    again with `refresh`), or with `report` a one-off rendering that is not stored."""
    if report is not None:
        content, how = render(screening, kind, report).content, ", one-off rendering"
    else:
        content, how = document(screening, kind, refresh).content, ""
    action = "pdf_rerendered" if refresh and report is None else "pdf_downloaded"
    audit.record(action, screening_id=screening.id, detail=f"{kind} (command line{how})")
    return content
