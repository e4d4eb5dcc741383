"""Staff accounts: the password policy, signing in, creating, disabling and enabling accounts."""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..mail import EMAIL_RE
from ..models import ROLES, User, utcnow
from . import audit

MIN_PASSWORD_LENGTH = 12
_COMMON = Path(__file__).with_name("common_passwords.txt")
# A hash to check against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not a real password, only for timing", method="scrypt")


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says why, in plain words."""


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def check_policy(password: str, email: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or lowered.rstrip("0123456789!.") in common_passwords():
        raise PasswordRejected("This password is too common; choose another.")
    local = email.partition("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        raise PasswordRejected("The password must not contain your e-mail name.")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def everyone() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.email)))


def create_user(
    email: str, password: str, roles: list[str], name: str = "", actor: User | None = None
) -> User:
    """A new account (audited); ValueError or PasswordRejected say what is wrong."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email):  # one address: no list, no line break
        raise ValueError("Enter one e-mail address, like name@example.org.")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"Roles must be one or more of: {', '.join(ROLES)}.")
    if find_user(email) is not None:
        raise ValueError("A user with this e-mail already exists.")
    check_policy(password, email)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        roles=sorted(set(roles), key=ROLES.index),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", user=actor, detail=f"user {user.id}")
    return user


def sign_in(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None; the same time either way, and
    audited either way. What was typed is kept only when it is shaped like an e-mail address: a
    password typed into the wrong box, or a name, stays out of the audit log."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
    elif check_password_hash(user.password_hash, password) and user.active:
        audit.record("login", user=user)
        return user
    typed = normalize_email(email)[:254]
    shaped = bool(EMAIL_RE.match(typed))
    audit.record(
        "login_failed",
        email=typed if shaped else None,
        detail=None if shaped else "not an e-mail address",
    )
    return None


def sign_out(user: User) -> None:
    """End every session of this user, on every device: a cookie kept or copied from before no
    longer opens anything (its session version is now out of date)."""
    user.session_version += 1
    audit.record("logout", user=user)
    db.session.flush()


def disable(user: User, actor: User | None) -> bool:
    """Disable an account and end its sessions (False if it already was)."""
    if not user.active:
        return False
    user.active, user.disabled_at = False, utcnow()
    user.session_version += 1  # sessions carrying the old version end
    audit.record("user_disabled", user=actor, detail=f"user {user.id}")
    db.session.flush()
    return True


def enable(user: User, actor: User | None) -> bool:
    if user.active:
        return False
    user.active, user.disabled_at = True, None
    audit.record("user_enabled", user=actor, detail=f"user {user.id}")
    db.session.flush()
    return True
