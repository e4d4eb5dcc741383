"""API keys: made once and shown once; only the SHA-256 of a key is kept.

A key reads `scr_<8 hex>.<43 characters>`: the first part is the prefix, kept to tell keys apart
on the admin page and in the audit log (it is not secret and opens nothing); the part after the
dot is 32 bytes (256 bits) from the OS's CSPRNG. A key is found by the hash of all of it, so
there is no comparison of secrets to time.
"""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa

from ..extensions import db
from ..models import API_SCOPES, READ_SCOPES, ApiKey, User, hash_token, utcnow
from . import NotAllowed, audit, sites

SECRET_BYTES = 32
MAX_KEY_LENGTH = 100  # longer Authorization values are not keys: not even hashed
NAME_LENGTH = 100
PREFIX = "scr_"
PREFIX_RE = re.compile(rf"{PREFIX}[0-9a-f]{{8}}")  # PREFIX and token_hex(4), as `create` makes


def label(key: ApiKey) -> str:
    """The key as the audit log and the admin page name it (never the secret part)."""
    return f"API key {key.prefix} ({key.name})"


def create(
    name: str,
    created_by: User | None = None,
    how: str = "",
    scopes: tuple[str, ...] | list[str] = READ_SCOPES,
    site_ids: list[int] | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the client `name` (audited), and the key itself (to show once, never
    stored). `how`: added to the audit detail, e.g. " (command line)". It has `scopes` (reading
    only, unless a write scope is asked for), in the sites `site_ids`, or (None) in every site
    its maker sees."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH:
        raise ValueError(f"Give the client a name of 1 to {NAME_LENGTH} characters.")
    if not scopes or not set(scopes) <= set(API_SCOPES):
        raise ValueError(f"Scopes must be one or more of: {', '.join(API_SCOPES)}.")
    prefix = PREFIX + secrets.token_hex(4)
    secret = f"{prefix}.{secrets.token_urlsafe(SECRET_BYTES)}"
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_token(secret),
        created_at=utcnow(),
        created_by_id=getattr(created_by, "id", None),
    )
    key.scopes = [scope for scope in API_SCOPES if scope in scopes]
    db.session.add(key)
    try:
        if site_ids is None and (created_by is None or created_by.all_sites):
            sites.assign(key, [], True, created_by)
        else:
            mine = [site.id for site in created_by.sites] if created_by is not None else []
            sites.assign(key, mine if site_ids is None else site_ids, False, created_by)
    except NotAllowed as exc:
        raise ValueError(str(exc)) from None
    audit.record("api_key_created", user=created_by, detail=label(key) + how)
    return key, secret


def find_active(secret: str) -> ApiKey | None:
    """The key that `secret` is, if it exists and is not revoked."""
    if not secret or len(secret) > MAX_KEY_LENGTH:
        return None
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_token(secret)))
    return key if key is not None and key.revoked_at is None else None


def sent_prefix(sent: str) -> str | None:
    """The prefix a sent key starts with, if it has one of ours (to name it; it opens nothing)."""
    found = PREFIX_RE.match(sent)
    return found.group(0) if found else None


def revoke(key: ApiKey, actor: User | None = None, how: str = "") -> bool:
    """Revoke `key` (at once: the next call with it is refused), audited. False if it already
    was."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    audit.record("api_key_revoked", user=actor, detail=label(key) + how)
    db.session.flush()
    return True


def listed(managed_by: User | None = None) -> list[ApiKey]:
    """Every key (or those the admin `managed_by` manages), active ones first, newest first."""
    statement = sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
    if managed_by is not None:
        statement = statement.where(sites.managed(managed_by, ApiKey))
    return list(db.session.scalars(statement))


def by_prefix(prefix: str) -> ApiKey | None:
    """The key with this prefix (the newest, should two ever share one)."""
    return db.session.scalar(
        sa.select(ApiKey).where(ApiKey.prefix == prefix).order_by(ApiKey.id.desc()).limit(1)
    )
