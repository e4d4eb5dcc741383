"""Signing in and out."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from ..domain import accounts, two_factor
from ..extensions import db, limiter
from ..models import User
from ..text import has_control_characters
from . import auth
from .blueprint import bp
from .forms import CodeForm, LoginForm


def _account_key() -> str:
    """Wrong passwords for one account from one address: a burst from elsewhere never stops the
    real user signing in (the address's own limit covers guessing across accounts)."""
    email = accounts.normalize_email(request.form.get("email", ""))[:254]
    return f"login-account:{email}|{get_remote_address()}"


def _pending_key() -> str:
    held = session.get(auth.PENDING)
    user = held.get("user", "") if isinstance(held, dict) else ""
    return f"login-code:{user}|{get_remote_address()}"


def _failed_login(response) -> bool:
    return response.status_code != 303


def _landing(user: User) -> str:
    """The first page a member of staff may open."""
    return url_for("staff.home" if user.has_role("intake", "clinician") else "staff.users")


def _safe_next(target: str) -> bool:
    """A page of the staff side to go on to after signing in: a path of ours, nothing that
    leaves the site or breaks the response's headers (a line break, a backslash)."""
    return (target.startswith("/staff/") and not has_control_characters(target)
            and "\\" not in target)  # fmt: skip


def _limited(account_key: Callable[[], str]) -> Callable:
    """Failed attempts (a success never counts) limited per address, and per account from that
    address (`account_key`), with SCREENING_LOGIN_LIMIT_ADDRESS and _ACCOUNT."""

    def decorate(view: Callable) -> Callable:
        view = limiter.limit(lambda: current_app.config["SCREENING_LOGIN_LIMIT_ACCOUNT"],
                             methods=["POST"], key_func=account_key,
                             deduct_when=_failed_login)(view)  # fmt: skip
        return limiter.limit(lambda: current_app.config["SCREENING_LOGIN_LIMIT_ADDRESS"],
                             methods=["POST"], deduct_when=_failed_login)(view)  # fmt: skip

    return decorate


@bp.route("/login", methods=["GET", "POST"])
@_limited(_account_key)
def login():
    if current_user.is_authenticated:
        return redirect(_landing(auth.actor()))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.sign_in(form.email.data, form.password.data)
        db.session.commit()
        if user is not None:
            target = request.args.get("next", "")
            if not _safe_next(target):
                target = _landing(user)
            if two_factor.enrolled(user):
                auth.await_second_factor(user, target)
                return redirect(url_for("staff.login_code"), code=303)
            auth.start_session(user)
            return redirect(target, code=303)
        error = "The e-mail or password is not right."
    status = 401 if error else (422 if form.errors else 200)
    return render_template("staff/login.html", form=form, error=error), status


@bp.route("/login/code", methods=["GET", "POST"])
@_limited(_pending_key)
def login_code():
    """The second step of signing in: the code from the authenticator app (or a recovery
    code), within five minutes of the password."""
    if current_user.is_authenticated:
        return redirect(_landing(auth.actor()))
    held = auth.pending()
    if held is None:
        flash("Please sign in again.")
        return redirect(url_for("staff.login"), code=303)
    user, target = held
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        passed = two_factor.sign_in(user, form.code.data)
        db.session.commit()
        if passed:
            auth.start_session(user)
            return redirect(target if _safe_next(target) else _landing(user), code=303)
        error = "That code is not right. Enter the code your app shows now, or a recovery code."
    status = 401 if error else (422 if form.errors else 200)
    return render_template("staff/login_code.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.sign_out(auth.actor())
        db.session.commit()
    auth.end_session()
    flash("You are signed out.")
    return redirect(url_for("staff.login"), code=303)
