"""The audit trail: who did what with which screening, when, from where. Append-only.

Events carry ids and action names only: never answers, names or free text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..exports.csv import spreadsheet_safe
from ..extensions import db
from ..models import LARGEST_ID, AuditEvent, User, utcnow
from ..text import has_control_characters

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
    "identity_confirmed",
    "identity_check_failed",
    "identity_check_reset",
    "screening_viewed",
    "pdf_downloaded",
    "pdf_rerendered",
    "screening_rescored",
    "answers_exported",
    "fhir_exported",
    "red_flag_acknowledged",
    "acknowledgement_withdrawn",
    "screening_reviewed",
    "user_created",
    "user_disabled",
    "user_enabled",
    "password_changed",
    "password_reset",
    "password_set",
    "second_factor_enrolled",
    "second_factor_reset",
    "recovery_codes_renewed",
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


PAGE_SIZE = 50
LAST_PAGE = 100_000  # further pages are this one (no offset the database refuses)
CSV_COLUMNS = ("id", "at", "action", "user_id", "user_email", "address", "screening_id", "detail")


def query(args: Any) -> tuple[sa.Select, dict[str, str]]:
    """The audit log filtered by `args` (action, user's e-mail, screening id, since a day), newest
    first, and the filters as understood (what cannot be understood is left out)."""
    filters = {
        "action": args.get("action", ""),
        "user": args.get("user", "").strip(),
        "screening": args.get("screening", "").strip(),
        "since": args.get("since", "").strip(),
    }
    statement = sa.select(AuditEvent)
    if filters["action"] in ACTIONS:
        statement = statement.where(AuditEvent.action == filters["action"])
    if has_control_characters(filters["user"]):
        filters["user"] = ""
    if filters["user"]:
        statement = statement.where(AuditEvent.user_email == filters["user"].lower())
    screening = filters["screening"]
    if not (screening.isascii() and screening.isdigit() and 0 < int(screening) <= LARGEST_ID):
        filters["screening"] = ""
    if filters["screening"]:
        statement = statement.where(AuditEvent.screening_id == int(filters["screening"]))
    try:
        since = dt.date.fromisoformat(filters["since"]) if filters["since"] else None
    except ValueError:
        since = None
    if since:
        statement = statement.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    return statement.order_by(AuditEvent.id.desc()), filters


def page(statement: sa.Select, number: int) -> tuple[list[AuditEvent], bool]:
    """One page of events, and whether there are more after it."""
    events = db.session.scalars(
        statement.limit(PAGE_SIZE + 1).offset((number - 1) * PAGE_SIZE)
    ).all()
    return list(events[:PAGE_SIZE]), len(events) > PAGE_SIZE


def since(day: dt.date) -> list[AuditEvent]:
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.at >= start).order_by(AuditEvent.id)
        )
    )


def to_csv(events: list[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        cells = [
            e.id, e.at.isoformat(), e.action, e.user_id or "", e.user_email or "",
            e.address or "", e.screening_id or "", e.detail or "",
        ]  # fmt: skip
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
    return out.getvalue()
