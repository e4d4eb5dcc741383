"""A stored screening as FHIR: reads the database, then hands over to the pure `fhir` module."""

from __future__ import annotations

from typing import Any

from .. import services
from ..models import Screening
from . import fhir


class NotSubmitted(Exception):
    """Only a submitted screening has an assessment to export."""


def fhir_bundle(screening: Screening) -> dict[str, Any]:
    """The Bundle of a submitted screening, scored as the staff page and the PDF score it (its
    pinned questionnaire version, its saved answers), with dates checked as on the day it was
    submitted, so that exporting it again later gives the same bundle."""
    if screening.status != "submitted" or screening.submitted_at is None:
        raise NotSubmitted(screening.status)
    assessment = services.assessment_of(screening)
    return fhir.bundle(
        assessment,
        fhir.PatientDetails(
            name=screening.patient_name,
            birth_date=screening.patient_dob,
            mrn=screening.patient_mrn,
        ),
        fhir.ScreeningMeta(reference=screening.reference, submitted_at=screening.submitted_at),
    )
