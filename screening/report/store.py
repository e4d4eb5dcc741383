"""Rendered PDFs of submitted screenings: made once, kept, served again byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Response
from sqlalchemy.exc import IntegrityError

from .. import services
from ..extensions import db
from ..models import Document, Screening, utcnow
from .render import PatientInfo, ReportSettings, render_patient_copy, render_summary

RENDERERS = {"summary": render_summary, "patient_copy": render_patient_copy}


def settings_from(config: Any) -> ReportSettings:
    logo = config.get("SCREENING_CLINIC_LOGO")
    return ReportSettings(
        clinic_name=config["SCREENING_CLINIC_NAME"],
        paper=config.get("SCREENING_PAPER", "letter"),
        logo=Path(logo) if logo else None,
    )


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
        answered_at=services.saved_times(screening),
        language=services.patient_language(screening),
    )


def pdf_response(content: bytes, sha256: str, filename: str) -> Response:
    """A PDF download that no cache keeps (it holds health information)."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"{sha256}"'
    return response


def document_for(
    screening: Screening, kind: str, settings: ReportSettings, refresh: bool = False
) -> Document:
    """The stored PDF of a submitted screening, rendered now if there is none (or if asked)."""
    if screening.status != "submitted":
        raise services.NotAllowed("not submitted")
    row = db.session.scalar(
        sa.select(Document).where(Document.screening_id == screening.id, Document.kind == kind)
    )
    if row is not None and not refresh:
        return row
    info = patient_info(screening)
    q = services.questionnaire_for(screening)
    if kind == "patient_copy":
        q = q.localized(info.language)  # the patient's own words; the summary keeps the clinic's
    assessment = services.assessment_of(screening, q)
    pdf = RENDERERS[kind](assessment, info, settings)
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
        # Another request stored this document first: serve that one, so that every download
        # is the same document.
        row = db.session.scalar(
            sa.select(Document).where(Document.screening_id == screening.id, Document.kind == kind)
        )
    return row
