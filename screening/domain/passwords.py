"""Staff passwords: the policy, changing one, and the administrator's reset, which never sets a
password anyone else knows: it makes a single-use, expiring link to set a new one.

The policy: at least 12 characters, not on the shipped list of common passwords (also with digits
or symbols around it), not the e-mail name, and hard to guess by zxcvbn's estimate (at least 10^10
guesses: a common word or name with a year and symbols, a keyboard walk, a repeat, a sequence all
fall short). The message says why, in plain words.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from ..extensions import db
from ..models import LARGEST_ID, User, utcnow
from . import audit

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# zxcvbn's estimate of the guesses an attacker needs, as a power of ten: 10^10 is its top score
# ("very unguessable"), what a random 12-character password or four unrelated words reach.
MIN_GUESSES_LOG10 = 10
_ESTIMATED_LENGTH = 100  # zxcvbn's time grows with the length; beyond this it says nothing new
_COMMON = Path(__file__).with_name("common_passwords.txt")
_AROUND = "0123456789!@#$%^&*()-_=+.,;:?~ "
_RESET_SALT = "staff-password-reset"

# What zxcvbn found in a weak password, in the words of the message that refuses it.
_PATTERNS = {
    "dictionary": "a common word or name",
    "spatial": "a row or pattern of keys",
    "repeat": "repeated characters or words",
    "sequence": "a sequence such as abc or 123",
    "date": "a date",
    "regex": "a year",
}


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says why, in plain words."""


class WrongPassword(PasswordRejected):
    """The current password, given to change it, is not right."""


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def check_policy(password: str, email: str = "", name: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or lowered.strip(_AROUND) in common_passwords():
        raise PasswordRejected("This password is too common; choose another.")
    local = email.partition("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        raise PasswordRejected("The password must not contain your e-mail name.")
    known = [email, local, *local.replace(".", " ").replace("_", " ").split(), *name.split()]
    estimate = zxcvbn(password[:_ESTIMATED_LENGTH], user_inputs=[w for w in known if w])
    if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
        raise PasswordRejected(_why_weak(estimate))


def _why_weak(estimate: dict) -> str:
    found = []
    for match in estimate["sequence"]:
        words = _PATTERNS.get(match["pattern"])
        if words == "a common word or name" and match.get("l33t"):
            words = "a common word with letters swapped for symbols"
        if words and words not in found:
            found.append(words)
    because = f": it is built from {' and '.join(found)}" if found else ""
    return (
        f"This password would be easy to guess{because}. Try three or four unrelated words "
        "together, or a longer password."
    )


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def matches(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def _set(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    user.session_version += 1  # every session of this user ends (the caller renews its own)


def change(user: User, current: str, new: str) -> None:
    """The user's own change: the current password, then a new one that meets the policy."""
    if not matches(user, current):
        raise WrongPassword("Your current password is not right.")
    if new == current:
        raise PasswordRejected("Choose a password different from your current one.")
    check_policy(new, user.email, user.name)
    _set(user, new)
    audit.record("password_changed", user=user)
    db.session.flush()


def set_by_operator(user: User, password: str) -> None:
    """`screening users set-password`: the operator on the server sets it (audited)."""
    check_policy(password, user.email, user.name)
    _set(user, password)
    audit.record("password_set", detail=f"user {user.id} (command line)")
    db.session.flush()


# --- the reset link -------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def _fingerprint(user: User) -> str:
    """Changes when the password is set or the sessions end: a used link is spent."""
    material = f"{user.password_hash}|{user.session_version}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def reset(user: User, actor: User | None, how: str = "") -> str:
    """An administrator's reset: the old password stops working, every session ends, and a link
    to set a new password is made (returned as a path; valid SCREENING_RESET_HOURS, once)."""
    user.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows this one
    user.must_change_password = False
    user.session_version += 1
    audit.record("password_reset", user=actor, detail=f"user {user.id}{how}")
    db.session.flush()
    token = _serializer().dumps({"user": user.id, "print": _fingerprint(user)})
    return f"/staff/password/{token}"


def reset_url(path: str) -> str:
    return current_app.config["SCREENING_BASE_URL"].rstrip("/") + path


def holder_of(token: str) -> User | None:
    """The active user a reset link (still unused, not expired) is for, or None."""
    max_age = current_app.config["SCREENING_RESET_HOURS"] * 3600
    try:
        claim = _serializer().loads(token, max_age=max_age)
    except BadSignature:  # expired too
        return None
    if not isinstance(claim, dict) or not isinstance(claim.get("user"), int):
        return None
    user = db.session.get(User, claim["user"]) if 0 < claim["user"] <= LARGEST_ID else None
    if user is None or not user.active:
        return None
    if not secrets.compare_digest(str(claim.get("print", "")), _fingerprint(user)):
        return None
    return user


def set_from_link(user: User, password: str) -> None:
    check_policy(password, user.email, user.name)
    _set(user, password)
    audit.record("password_set", user=user, detail="reset link")
    db.session.flush()
