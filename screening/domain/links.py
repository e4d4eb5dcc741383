"""Patients' links. A link is a random token; only its SHA-256 is stored, so a link can be shown
once and never again: every e-mail, reminder, handout or hand-over makes a new one, and the one
before stops working."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import OPEN_STATUSES, Screening, hash_token, utcnow
from . import NotAllowed

TOKEN_BYTES = 24  # 192 bits from the OS's CSPRNG
MAX_TOKEN_LENGTH = 200  # a longer "token" in a URL is not one of ours: not even hashed


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def find(token: str) -> Screening | None:
    """The screening a link's token opens, whatever its status (the caller decides)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(sa.select(Screening).where(Screening.token_hash == hash_token(token)))


def closed_message(screening: Screening) -> str:
    return f"This screening is {screening.status.replace('_', ' ')}."


def new_link(screening: Screening, now: dt.datetime | None = None) -> str:
    """Replace the screening's link with a new one and return its token; an expired link starts
    a fresh period. NotAllowed once the screening is closed."""
    if screening.status not in OPEN_STATUSES:
        raise NotAllowed(closed_message(screening))
    now = now or utcnow()
    token = new_token()
    screening.token_hash = hash_token(token)
    if screening.expires_at <= now:
        screening.expires_at = now + dt.timedelta(days=current_app.config["SCREENING_LINK_DAYS"])
    db.session.flush()
    return token


def absolute(path: str) -> str:
    """A link to `path` (from the site's root) made from SCREENING_BASE_URL, never from the
    request's Host header, which whoever sends the request chooses."""
    return current_app.config["SCREENING_BASE_URL"].rstrip("/") + path


def patient_url(token: str) -> str:
    """The patient's link, absolute (in e-mails, on handouts and their QR code, on the command
    line)."""
    return absolute(f"/s/{token}")
