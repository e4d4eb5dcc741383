"""The database's staff side: accounts, their audit trail and messages, and API keys (re-exported
by `screening.models`, which holds the screenings)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import JSONType, UTCDateTime, utcnow
from ..extensions import db
from . import api_key_sites, user_sites  # the package has made them before importing this

if TYPE_CHECKING:
    from . import Site

ROLES = ("intake", "clinician", "admin")
# What an API key may do: read screenings (the list, each one's status, tier, flags and
# assessment), read exports (the patient's answers as well), and record the operation as it
# happened (domain.surgery).
API_SCOPES = ("screenings:read", "exports:read", "surgery:write")
READ_SCOPES = ("screenings:read", "exports:read")  # a key's scopes unless others are asked for


class User(db.Model):
    """A member of the clinic's staff."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Changes on signing out, a password change or reset, a second-factor reset, disabling:
    # sessions carrying an older value end.
    session_version: Mapped[int] = mapped_column(default=1)
    # Set for an account created with an initial password (or reset): changed at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The second factor: a TOTP secret (base32), the last time step accepted (a code is never
    # accepted twice), and the hashes of the unused recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    recovery_codes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The sites whose screenings this user sees (and, for an admin, whose staff they manage);
    # network-wide: every site's.
    all_sites: Mapped[bool] = mapped_column(default=False)
    sites: Mapped[list[Site]] = relationship(secondary=user_sites, order_by="Site.name")

    def has_role(self, *roles: str) -> bool:
        return any(role in (self.roles or []) for role in roles)

    # Flask-Login
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class AuditEvent(db.Model):
    """Append-only record of who read or changed patients' data. Never answers or free text."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    user_email: Mapped[str | None] = mapped_column(sa.String(254))
    address: Mapped[str | None] = mapped_column(sa.String(64))
    screening_id: Mapped[int | None] = mapped_column(index=True)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    # The hash chain (domain/audit.py): SHA-256, in hex, of the row's columns and prev_hash, the
    # hash of the event before it; any change, removal or insertion breaks a link.
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class Message(db.Model):
    """An e-mail the application sent (or failed to send) about a screening."""

    __tablename__ = "messages"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('invitation', 'reminder', 'red_flag')", name="kind_known"),
        sa.Index("ix_messages_screening_kind", "screening_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("screenings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(default=True)
    error: Mapped[str | None] = mapped_column(sa.String(300))


class ApiKey(db.Model):
    """A key an integration uses to read the JSON API. Only the SHA-256 of the key is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))  # the client, as the admin named it
    prefix: Mapped[str] = mapped_column(sa.String(20))  # the key's first, non-secret part
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # What the key may read (API_SCOPES), and of which sites (or all of them).
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    all_sites: Mapped[bool] = mapped_column(default=False)
    sites: Mapped[list[Site]] = relationship(secondary=api_key_sites, order_by="Site.name")

    created_by: Mapped[User | None] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
