"""The audit trail: who did what with which screening, when, from where. Append-only and
tamper-evident: each event carries the SHA-256 of its columns and of the event before it
(`verify` finds the first broken link).

Events carry ids and action names only: never answers, names or free text.

An event recorded in a transaction is held back until the transaction commits, and inserted
then, chained onto the last event: on PostgreSQL under a transaction-level advisory lock, taken
after every other lock of the transaction (so it adds no deadlock) and released by the commit,
so two transactions cannot chain onto the same event; SQLite has one writer at a time (a second
one that read the chain's end before the first committed is refused, it cannot fork it). Events
of a transaction rolled back are never inserted.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import clock
from ..exports.csv import spreadsheet_safe
from ..extensions import db
from ..models import LARGEST_ID, AuditEvent, User, utcnow
from ..text import has_control_characters, without_control_characters

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
    "clinic_answers_changed",
    "handout_printed",
    "handed_to_patient",
    "handout_shown",
    "short_code_entered",
    "invitation_previewed",
    "invitation_test_sent",
    "patient_copy_downloaded",
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
    "screening_review_undone",
    "surgery_recorded",
    "user_created",
    "user_disabled",
    "user_enabled",
    "password_changed",
    "password_reset",
    "password_set",
    "second_factor_enrolled",
    "second_factor_reset",
    "recovery_codes_renewed",
    "site_created",
    "access_changed",
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
    "answers_saved",
    "answers_submitted",
    "screenings_listed",
)


def record(
    action: str,
    *,
    user: User | Any = None,
    screening_id: int | None = None,
    detail: str | None = None,
    email: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session: inserted, chained, by the commit of the change it
    describes (not before: it has no id until then)."""
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
        detail=detail or None,
    )
    db.session.add(event_)
    return event_


class AuditIsAppendOnly(RuntimeError):
    pass


GENESIS = "0" * 64  # the prev_hash of the first event
LOCK_KEY = 0x5C12EE_A0D1  # pg_advisory_xact_lock's key for appending to the chain
_HELD = "audit_events_held"  # session.info: events recorded, inserted when the commit comes
_COMMITTING = "audit_events_committing"


def digest(
    id: int, at: dt.datetime, action: str, user_id: int | None, user_email: str | None,
    address: str | None, screening_id: int | None, detail: str | None, prev_hash: str,
) -> str:  # fmt: skip
    """SHA-256 (hex) of an event's columns in a canonical form: a JSON array in column order,
    the time in ISO 8601 UTC to the microsecond. (The migration that made the chain has a copy:
    keep them the same.)"""
    when = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    values = [id, when, action, user_id, user_email, address, screening_id, detail, prev_hash]
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _columns(e: Any) -> dict[str, Any]:
    return {name: getattr(e, name) for name in CHAINED}


CHAINED = ("id", "at", "action", "user_id", "user_email", "address", "screening_id", "detail",
           "prev_hash")  # fmt: skip


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditIsAppendOnly("audit events cannot be changed or deleted")
    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not new:
        return
    if not session.info.get(_COMMITTING):  # held back until the commit
        for obj in new:
            session.expunge(obj)
        session.info.setdefault(_HELD, []).extend(new)
        return
    _chain(session, new)


@event.listens_for(Session, "before_commit")
def _insert_held(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release: the outer commit comes later
        return
    recorded = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    for obj in recorded:
        session.expunge(obj)
    held = session.info.pop(_HELD, []) + recorded  # in the order they were recorded
    if not held:
        return
    session.add_all(held)
    session.info[_COMMITTING] = True
    try:
        session.flush()
    finally:
        session.info.pop(_COMMITTING, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction ended: committed or rolled back
        session.info.pop(_HELD, None)


def _chain(session: Session, events: list[AuditEvent]) -> None:
    """Give `events` (in the order they were recorded) their ids and hashes, chained onto the
    last event stored."""
    connection = session.connection()
    table = AuditEvent.__table__
    last_statement = sa.select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)
    if connection.dialect.name == "postgresql":
        # The lock first (in each row, before its id is taken: the ids follow the chain's
        # order); the chain's end read by the next statement, which sees what the transaction
        # that held the lock before committed.
        rows = connection.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(:key)::text, "
                "nextval(pg_get_serial_sequence('audit_events', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"key": LOCK_KEY, "n": len(events)},
        )
        ids = sorted(row[1] for row in rows)
        last = connection.execute(last_statement).first()
    else:
        last = connection.execute(last_statement).first()
        first = (last.id if last else 0) + 1
        ids = list(range(first, first + len(events)))
    previous = last.hash if last else GENESIS
    for ident, e in zip(ids, events, strict=True):
        e.id = ident
        e.at = e.at or utcnow()
        e.prev_hash = previous
        e.hash = previous = digest(**_columns(e))


@dataclass
class Verified:
    count: int  # the events checked
    broken_at: AuditEvent | Any | None = None  # the first event whose link is broken
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(batch: int = 1000) -> Verified:
    """Check the chain in id order, streaming. The oldest event's prev_hash is trusted (a
    retention job may remove the oldest events one day: the chain then starts at the oldest
    left); events removed from the end leave no broken link (the chain's end is not anchored)."""
    table = AuditEvent.__table__
    rows = db.session.execute(
        sa.select(*(table.c[name] for name in (*CHAINED, "hash")))
        .order_by(table.c.id)
        .execution_options(yield_per=batch)
    )
    count, before = 0, None
    for row in rows:
        count += 1
        if digest(**{name: getattr(row, name) for name in CHAINED}) != row.hash:
            rows.close()
            return Verified(count, row, "content changed (the event's hash does not match it)")
        if before is not None and row.prev_hash != before.hash:
            rows.close()
            return Verified(
                count, row,
                f"link broken: events missing between event {before.id} and this one "
                f"(or event {before.id} was rewritten)",
            )  # fmt: skip
        before = row
    return Verified(count)


PAGE_SIZE = 50
LAST_PAGE = 100_000  # further pages are this one (no offset the database refuses)
CSV_COLUMNS = ("id", "at", "action", "user_id", "user_email", "address", "screening_id", "detail")


SCREENING_REFERENCE = re.compile(r"(?:S-?)?0*([0-9]{1,10})", re.IGNORECASE)


def screening_number(text: str) -> int | None:
    """The screening a filter names: its reference as printed ("S-000005", any case, spaces
    around it ignored) or its number ("5"); None if it names none."""
    found = SCREENING_REFERENCE.fullmatch(text.strip()) if text.isascii() else None
    number = int(found.group(1)) if found else 0
    return number if 0 < number <= LARGEST_ID else None


def query(args: Any, zone: str = "UTC") -> tuple[sa.Select, dict[str, str], list[str]]:
    """The audit log filtered by `args` (action, user's e-mail, screening, since a day of
    `zone`), newest first; the filters as understood; and what could not be understood, in
    words (that filter is left out)."""
    filters = {
        "action": args.get("action", ""),
        "user": args.get("user", "").strip(),
        "screening": args.get("screening", "").strip(),
        "since": args.get("since", "").strip(),
    }
    problems: list[str] = []
    statement = sa.select(AuditEvent)
    if filters["action"] in ACTIONS:
        statement = statement.where(AuditEvent.action == filters["action"])
    if has_control_characters(filters["user"]):
        filters["user"] = ""
    if filters["user"]:
        statement = statement.where(AuditEvent.user_email == filters["user"].lower())
    if filters["screening"]:
        number = screening_number(filters["screening"])
        if number is None:
            problems.append(
                "Enter a screening as it is shown, like S-000005, or its number, like 5."
            )
            filters["screening"] = without_control_characters(filters["screening"])[:40]
        else:
            statement = statement.where(AuditEvent.screening_id == number)
    try:
        since = dt.date.fromisoformat(filters["since"]) if filters["since"] else None
    except ValueError:
        since = None
    if since and since > dt.date.min:
        statement = statement.where(AuditEvent.at >= clock.day_start(since, zone))
    return statement.order_by(AuditEvent.id.desc()), filters, problems


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
