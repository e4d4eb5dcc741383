"""Staff accounts: passwords, sessions with idle and absolute timeouts, roles."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import ROLES, User
from ..paths import PACKAGE_DIR

login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to continue."
login_manager.session_protection = "basic"

MIN_PASSWORD_LENGTH = 12
_COMMON = PACKAGE_DIR / "staff" / "common_passwords.txt"
# A hash to check against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not a real password, only for timing", method="scrypt")


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says why, in plain words."""


@functools.lru_cache(maxsize=1)
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


def create_user(email: str, password: str, roles: list[str], name: str = "") -> User:
    email = normalize_email(email)
    if not email or "@" not in email:
        raise ValueError("Enter an e-mail address.")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"Roles must be one or more of: {', '.join(ROLES)}.")
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
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
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None; the same time either way."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    ident, _, version = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(str(user.session_version), version):
        return None  # password changed or account disabled since this session began
    return user


def start_session(user: User) -> None:
    session.clear()  # a fresh session: nothing carried over from before the login
    login_user(user)
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now
    session.permanent = False


def end_session() -> None:
    logout_user()
    session.clear()


def session_expired() -> str | None:
    """Why the current staff session has ended ('idle' or 'absolute'), or None."""
    now = int(time.time())
    login_at, seen_at = session.get("login_at"), session.get("seen_at")
    if login_at is None or seen_at is None:
        return "absolute"
    if now - seen_at > current_app.config["SCREENING_IDLE_MINUTES"] * 60:
        return "idle"
    if now - login_at > current_app.config["SCREENING_SESSION_HOURS"] * 3600:
        return "absolute"
    return None


def touch() -> None:
    session["seen_at"] = int(time.time())


def roles_required(*roles: str) -> Callable:
    """Signed-in staff with at least one of `roles`; others go to the login page or get 403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                flash(login_manager.login_message)
                return redirect(url_for("staff.login", next=request.full_path))
            if roles and not current_user.has_role(*roles):
                raise Forbidden()
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # read by the route-permission test
        return wrapped

    return decorator
