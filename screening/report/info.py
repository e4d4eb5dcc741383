"""What a document shows besides the assessment: the patient and the screening as the clinic's
records hold them, and the clinic's settings. Plain data: no Flask, no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import CLINIC_LANGUAGE


@dataclass(frozen=True)
class FlagStatus:
    """One red flag as the clinic's records hold it: when the answers raised it, whether a
    later answer took it back, and the acknowledgement that stands (who, when, what was done)."""

    flag_id: str
    raised_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class ReviewStatus:
    by: str | None
    at: dt.datetime
    note: str | None = None


@dataclass(frozen=True)
class PatientInfo:
    """What the clinic knows about the patient and the screening (all optional but the name)."""

    name: str = ""
    dob: dt.date | None = None
    mrn: str | None = None
    surgeon: str | None = None
    planned_surgery: str | None = None
    surgery_date: dt.date | None = None
    reference: str = "offline"
    screening_date: dt.datetime | None = None
    answered_at: dict[str, dt.datetime] = field(default_factory=dict)
    language: str = CLINIC_LANGUAGE  # the one the patient answered in
    # The clinic's records: None when there are none (an offline rendering from a file).
    flags: tuple[FlagStatus, ...] | None = None
    reviewed: ReviewStatus | None = None
    version: int | None = None


@dataclass(frozen=True)
class ReportSettings:
    clinic_name: str = "Spine Clinic"
    paper: str = "letter"
    logo: Path | None = None
    timezone: str = "UTC"  # the clinic's: every time printed is in it
