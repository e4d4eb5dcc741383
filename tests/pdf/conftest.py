"""Renders shared by the PDF tests: each example of the shipped questionnaire, once per session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from screening.definition import load_path
from screening.definition import model as m
from screening.report.render import (
    PatientInfo,
    RenderedPDF,
    ReportSettings,
    render_patient_copy,
    render_summary,
)
from screening.scoring import Assessment, score

from . import CLINIC, GENERATED_AT, SCREENED_AT, SHIPPED, example_answers, page_texts

INFO = PatientInfo(
    name="Ann Example",
    dob=dt.date(1960, 4, 30),
    mrn="MRN-0042",
    surgeon="Dr. Joan Smith",
    planned_surgery="L4-S1 posterior fusion",
    surgery_date=dt.date(2026, 4, 14),
    reference="S-000042",
    screening_date=SCREENED_AT,
)
SETTINGS = ReportSettings(clinic_name=CLINIC, paper="letter")


@dataclass(frozen=True)
class Rendered:
    """One rendered PDF with what it was made from, and its text page by page."""

    kind: str
    assessment: Assessment
    pdf: RenderedPDF
    pages: list[str]

    @property
    def content(self) -> bytes:
        return self.pdf.content


@pytest.fixture(scope="session")
def fbss() -> m.Questionnaire:
    return load_path(SHIPPED)


@pytest.fixture(scope="session")
def rendered(fbss: m.Questionnaire) -> Callable[[str, str], Rendered]:
    """rendered(kind, example key) -> the PDF of that example, rendered once per session."""
    cache: dict[tuple[str, str], Rendered] = {}

    def get(kind: str, key: str) -> Rendered:
        if (kind, key) not in cache:
            assessment = score(fbss, example_answers(fbss, key))
            renderer = render_summary if kind == "summary" else render_patient_copy
            pdf = renderer(assessment, INFO, SETTINGS, generated_at=GENERATED_AT)
            cache[kind, key] = Rendered(kind, assessment, pdf, page_texts(pdf.content))
        return cache[kind, key]

    return get
