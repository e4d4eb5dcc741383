"""Staff sessions: Flask-Login, idle and absolute timeouts, and the roles each page needs.
Accounts and passwords themselves are `screening.domain.accounts`."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.exceptions import Forbidden

from ..domain import two_factor
from ..extensions import db
from ..models import User

login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to continue."
login_manager.session_protection = "basic"


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


def renew_session(user: User) -> None:
    """The same session under the user's new session version (after changing their own password
    or second factor, which ended every other session of theirs)."""
    login_user(user)


# The password was right and the second factor is still to come: {"user", "at", "next"}.
PENDING = "pending_login"
PENDING_SECONDS = 300


def await_second_factor(user: User, target: str) -> None:
    session.clear()
    session[PENDING] = {"user": user.get_id(), "at": int(time.time()), "next": target}


def pending() -> tuple[User, str] | None:
    """The user half-way through signing in (and where they were going), if not too long ago."""
    held = session.get(PENDING)
    if not isinstance(held, dict) or int(time.time()) - int(held.get("at", 0)) > PENDING_SECONDS:
        return None
    user = load_user(str(held.get("user", "")))
    return (user, str(held.get("next", ""))) if user is not None else None


# What a signed-in user must do before anything else, and the pages open meanwhile.
UNFINISHED = {
    "password": ("staff.change_password", {"staff.change_password", "staff.logout"}),
    "two_factor": ("staff.enrol_two_factor", {"staff.enrol_two_factor", "staff.logout"}),
}


def unfinished(user: User) -> str | None:
    """'password' for an initial or reset password not yet replaced, 'two_factor' when a second
    factor is required and not enrolled, else None."""
    if user.must_change_password:
        return "password"
    if two_factor.required(user) and not two_factor.enrolled(user):
        return "two_factor"
    return None


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


def actor() -> User:
    """The signed-in member of staff (the object itself, not Flask-Login's proxy)."""
    return current_user._get_current_object()


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
