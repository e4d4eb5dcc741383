"""The database: screenings, their answers, and the definitions they were answered against; the
staff side (accounts, audit trail, API keys) is in `staff.py`, re-exported here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..columns import (  # noqa: F401 (hash_token and LARGEST_ID are read from here too)
    LARGEST_ID,
    NAME_KEY_TYPE,
    JSONType,
    UTCDateTime,
    hash_token,
    name_key,
    utcnow,
)
from ..extensions import db

STATUSES = ("invited", "in_progress", "submitted", "expired", "revoked")
OPEN_STATUSES = ("invited", "in_progress")
# Each status in the words the staff pages and the CSV use.
STATUS_LABELS = {
    "invited": "Invited",
    "in_progress": "Started",
    "submitted": "Finished",
    "expired": "Expired",
    "revoked": "Revoked",
}


def effective_status(status: str, expires_at: dt.datetime, now: dt.datetime | None = None) -> str:
    """The status, with an open screening whose link ran out shown as expired."""
    if status in OPEN_STATUSES and expires_at <= (now or utcnow()):
        return "expired"
    return status


class Definition(db.Model):
    """The exact text of a questionnaire a screening was answered against, pinned by its hash."""

    __tablename__ = "definitions"

    content_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[str] = mapped_column(sa.String(50))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Site(db.Model):
    """A clinic of the network (a data access group): every screening belongs to one; staff
    and API keys see the screenings of theirs only, unless they are network-wide."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# Who belongs to which site (staff, API keys).
user_sites = sa.Table(
    "user_sites",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_id", sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)
api_key_sites = sa.Table(
    "api_key_sites",
    db.metadata,
    sa.Column("api_key_id", sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_id", sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class Screening(db.Model):
    __tablename__ = "screenings"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('invited', 'in_progress', 'submitted', 'expired', 'revoked')",
            name="status_known",
        ),
        sa.Index("ix_screenings_status_created", "status", "created_at"),
        sa.Index("ix_screenings_created", "created_at", "id"),
        sa.Index("ix_screenings_submitted", "submitted_at"),
        sa.Index("ix_screenings_flag_queue", "has_red_flag", "acknowledged_at"),
        sa.Index("ix_screenings_tier", "tier"),
        sa.Index("ix_screenings_surgeon", "surgeon"),
        sa.Index("ix_screenings_mrn", "patient_mrn"),
        sa.Index("ix_screenings_name_key", "name_key"),
        sa.Index("ix_screenings_site", "site_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"))
    site: Mapped[Site] = relationship()
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="invited")
    questionnaire_id: Mapped[str] = mapped_column(sa.String(100))
    questionnaire_version: Mapped[str] = mapped_column(sa.String(50))
    definition_hash: Mapped[str] = mapped_column(sa.ForeignKey("definitions.content_hash"))

    # What the clinic tells us about the patient.
    patient_name: Mapped[str] = mapped_column(sa.String(200))
    # The name folded for searching by its start; byte order ("C") so an index serves prefixes.
    name_key: Mapped[str] = mapped_column(NAME_KEY_TYPE, default="")
    patient_dob: Mapped[dt.date | None] = mapped_column(sa.Date)
    patient_mrn: Mapped[str | None] = mapped_column(sa.String(64))
    patient_email: Mapped[str | None] = mapped_column(sa.String(254))
    patient_phone: Mapped[str | None] = mapped_column(sa.String(40))
    surgeon: Mapped[str | None] = mapped_column(sa.String(200))
    planned_surgery: Mapped[str | None] = mapped_column(sa.String(200))
    surgery_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    # What the clinic knows about the planned surgery: its entries for the questions the pinned
    # questionnaire marks `clinic`, question id -> stored value (domain.clinic_entries). Scored
    # where the patient's own answer does not tell; never shown to the patient.
    clinic_answers: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # Its link (only the newest works, domain.links): which one it is (1, 2, ...) and who on the
    # staff issued it; the link that may show the saved answers (the one they were last saved
    # through, or one whose holder confirmed who they are); wrong tries at that check on this
    # link; and the HMAC of the patient's return code, used when no date of birth is on file.
    link_number: Mapped[int] = mapped_column(default=1, server_default="1")
    link_issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    trusted_link: Mapped[int | None] = mapped_column()
    identity_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    return_code_hash: Mapped[str | None] = mapped_column(sa.String(64))

    # Filled in at submission, from the engine's assessment.
    total: Mapped[int | None] = mapped_column()
    tier: Mapped[str | None] = mapped_column(sa.String(50))
    has_red_flag: Mapped[bool] = mapped_column(default=False)
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    # The clinic's follow-up.
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # What the clinician noted when marking it reviewed (optional; domain.clinical).
    reviewed_note: Mapped[str | None] = mapped_column(sa.Text)

    # Loaded only when asked for: its text is large, and pages find the parsed questionnaire by
    # definition_hash in the process's cache.
    definition: Mapped[Definition] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    answers: Mapped[list[Answer]] = relationship(
        back_populates="screening", cascade="all, delete-orphan", order_by="Answer.id"
    )
    steps_done: Mapped[list[StepDone]] = relationship(
        back_populates="screening", cascade="all, delete-orphan"
    )

    @validates("patient_name")
    def _keep_name_key(self, key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value

    def effective_status(self, now: dt.datetime | None = None) -> str:
        return effective_status(self.status, self.expires_at, now)

    @property
    def reference(self) -> str:
        """A short id printed on paper (never the token)."""
        return f"S-{self.id:06d}"


URGENCIES = ("emergency", "same_day", "review")


class FlagEvent(db.Model):
    """A red flag as a step's answers raised it, and when a later answer took it back. Never
    deleted: staff see what was raised even if the patient changed the answer."""

    __tablename__ = "flag_events"
    __table_args__ = (
        sa.CheckConstraint("urgency IN ('emergency', 'same_day', 'review')", name="urgency_known"),
        sa.Index("ix_flag_events_screening", "screening_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("screenings.id", ondelete="CASCADE"))
    flag_id: Mapped[str] = mapped_column(sa.String(100))
    urgency: Mapped[str] = mapped_column(sa.String(20))
    self_harm: Mapped[bool] = mapped_column(default=False)
    questionnaire_version: Mapped[str] = mapped_column(sa.String(50))
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    acknowledgements: Mapped[list[FlagAcknowledgement]] = relationship(
        back_populates="event", order_by="FlagAcknowledgement.id", cascade="all, delete-orphan"
    )
    alerts: Mapped[list[Alert]] = relationship(
        back_populates="event", order_by="Alert.id", cascade="all, delete-orphan"
    )

    @property
    def urgent(self) -> bool:
        """Escalated as an emergency, and acknowledged only with a note of what was done."""
        return self.urgency == "emergency" or self.self_harm

    @property
    def acknowledgement(self) -> FlagAcknowledgement | None:
        """The acknowledgement that stands (the last one not withdrawn)."""
        standing = [a for a in self.acknowledgements if a.withdrawn_at is None]
        return standing[-1] if standing else None

    @property
    def title(self) -> str:
        return self.flag_id.replace("_", " ").capitalize()


class FlagAcknowledgement(db.Model):
    """A clinician's acknowledgement of one flag, with what was done; withdrawn, never deleted."""

    __tablename__ = "flag_acknowledgements"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("flag_events.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(sa.Text)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    event: Mapped[FlagEvent] = relationship(back_populates="acknowledgements")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


class Alert(db.Model):
    """An e-mail that must tell the clinic about a flag: the first one, or an escalation. The
    database is the source of truth: a job delivers it, and a sweep every minute finds any that
    is due and not yet sent. `key` is unique, so one event's alert is never made twice."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('alert', 'escalation')", name="kind_known"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'cancelled')", name="status_known"),
        sa.Index("ix_alerts_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("flag_events.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    number: Mapped[int] = mapped_column(default=0)  # 0: the first alert; n: the nth escalation
    recipient: Mapped[str] = mapped_column(sa.String(254))
    key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    tries: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[FlagEvent] = relationship(back_populates="alerts")


class ReplacedLink(db.Model):
    """A patient's link replaced by a newer one (domain.links), kept as its hash only: whoever
    opens it is told that it was replaced and what to do, in the screening's language, rather
    than that the link is wrong. Removed with its screening."""

    __tablename__ = "replaced_links"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Answer(db.Model):
    """One answer to one question, as saved (kept even if later hidden; scoring ignores those)."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.UniqueConstraint("screening_id", "question_id", name="screening_question"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(sa.String(100))
    value: Mapped[Any] = mapped_column(JSONType)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    screening: Mapped[Screening] = relationship(back_populates="answers")


class StepDone(db.Model):
    """A step the patient has completed (its answers were valid and saved)."""

    __tablename__ = "steps_done"

    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), primary_key=True
    )
    step_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    screening: Mapped[Screening] = relationship(back_populates="steps_done")


class Draft(db.Model):
    """What a patient typed on a step and has not saved yet (the page's script sends it as they
    answer, so a locked phone or a closed tab loses nothing): the raw form fields, field name ->
    list of values, as posted. Never an answer: not scored, not shown to staff, not marking the
    step done; shown again only on that step, through a link that may see the saved answers;
    replaced by the answers when the step is saved, and deleted when the screening is sent."""

    __tablename__ = "drafts"

    screening_id: Mapped[int] = mapped_column(
        sa.ForeignKey("screenings.id", ondelete="CASCADE"), primary_key=True
    )
    step_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    fields: Mapped[dict[str, list[str]]] = mapped_column(JSONType)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Document(db.Model):
    """One version of a screening's PDF: asked for (at submission, and for the summary at each
    acknowledgement, withdrawal or review), rendered by a background job, then kept byte for
    byte. A version with no content yet is being prepared; the newest rendered one is served."""

    __tablename__ = "documents"
    __table_args__ = (
        sa.UniqueConstraint("screening_id", "kind", "version", name="screening_kind_version"),
        sa.CheckConstraint("kind IN ('summary', 'patient_copy')", name="kind_known"),
        sa.Index("ix_documents_pending", "rendered_at", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("screenings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Why this version was asked for (domain.documents.REASONS), by whom (none: the patient's
    # submission or the system), and when.
    reason: Mapped[str] = mapped_column(
        sa.String(40), default="submitted", server_default="submitted"
    )
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker rendering it holds it until then (a worker that died lets it go).
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(default=0, server_default="0")
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)  # read to serve
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    rendered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    @property
    def ready(self) -> bool:
        return self.rendered_at is not None


SURGERY_STATUSES = ("performed", "cancelled", "postponed")
# Who recorded an operation: a member of staff on the screening's page, an API key, the command.
RECORDED_VIA = ("staff", "api", "cli")


class SurgeryRecord(db.Model):
    """The operation as it happened, as the clinic recorded it (domain.surgery): performed on a
    date (today or before) with the procedure performed, cancelled, or postponed (perhaps to a
    new planned date). Never changed or deleted: a correction or a later turn of events is a new
    record that replaces the one before (`replaces_id`, unique: one line of history per
    screening); the newest stands. Follow-ups count from the standing record's surgery date."""

    __tablename__ = "surgery_records"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('performed', 'cancelled', 'postponed')", name="status_known"
        ),
        sa.CheckConstraint(
            "(status = 'performed' AND surgery_date IS NOT NULL) "
            "OR (status <> 'performed' AND surgery_date IS NULL)",
            name="date_when_performed",
        ),
        sa.CheckConstraint(
            "status = 'postponed' OR planned_date IS NULL", name="planned_when_postponed"
        ),
        sa.CheckConstraint("via IN ('staff', 'api', 'cli')", name="via_known"),
        sa.Index("ix_surgery_records_screening", "screening_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("screenings.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(20))
    # The day of the operation (performed only), and the new planned day (postponed, if known).
    surgery_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    planned_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    # The procedure performed, in the codes of the clinic's entries of the planned surgery
    # (question id -> stored value, domain.clinic_entries); empty unless performed.
    procedure: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(sa.Text)
    replaces_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("surgery_records.id"), unique=True
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    via: Mapped[str] = mapped_column(sa.String(10))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    api_key_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_keys.id"))

    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    api_key: Mapped[ApiKey | None] = relationship(foreign_keys=[api_key_id])


from .staff import (  # noqa: E402, F401 (re-exported; after the site tables they use)
    API_SCOPES,
    READ_SCOPES,
    ROLES,
    ApiKey,
    AuditEvent,
    Message,
    User,
)
