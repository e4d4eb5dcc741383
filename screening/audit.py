"""The audit trail: who did what with which screening, when, from where. Append-only.

Events carry ids and action names only: never answers, names or free text.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db
from .models import AuditEvent, User, utcnow

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "session_expired",
    "invitation_created",
    "invitation_sent",
    "invitation_send_failed",
    "invitation_resent",
    "invitation_extended",
    "invitation_revoked",
    "handout_printed",
    "handed_to_patient",
    "screening_viewed",
    "pdf_downloaded",
    "pdf_rerendered",
    "screening_rescored",
    "answers_exported",
    "fhir_exported",
    "red_flag_acknowledged",
    "screening_reviewed",
    "user_created",
    "user_disabled",
    "user_enabled",
    "audit_exported",
    "reminder_sent",
    "screenings_purged",
    "backup_written",
    "backup_restored",
    "api_key_created",
    "api_key_revoked",
    "api_listed",
    "api_screening_read",
    "api_key_refused",
)


def record(
    action: str,
    *,
    user: User | Any = None,
    screening_id: int | None = None,
    detail: str | None = None,
    email: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session (committed with the change it describes)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    user_id = getattr(user, "id", None) if user is not None else None
    event_ = AuditEvent(
        at=utcnow(),
        action=action,
        user_id=user_id,
        user_email=email or getattr(user, "email", None),
        address=request.remote_addr if has_request_context() else "cli",
        screening_id=screening_id,
        detail=(detail or None) and detail[:200],
    )
    db.session.add(event_)
    return event_


class AuditIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditIsAppendOnly("audit events cannot be changed or deleted")
