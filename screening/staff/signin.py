"""Signing in and out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain import accounts
from ..extensions import db, limiter
from ..models import User
from ..text import has_control_characters
from . import auth
from .blueprint import bp
from .forms import LoginForm


def _account_key() -> str:
    return "login-account:" + accounts.normalize_email(request.form.get("email", ""))[:254]


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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SCREENING_LOGIN_LIMIT_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed_login,
)
@limiter.limit(
    lambda: current_app.config["SCREENING_LOGIN_LIMIT_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_failed_login,
)
def login():
    if current_user.is_authenticated:
        return redirect(_landing(auth.actor()))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.sign_in(form.email.data, form.password.data)
        db.session.commit()
        if user is not None:
            auth.start_session(user)
            target = request.args.get("next", "")
            if not _safe_next(target):
                target = _landing(user)
            return redirect(target, code=303)
        error = "The e-mail or password is not right."
    status = 401 if error else (422 if form.errors else 200)
    return render_template("staff/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.sign_out(auth.actor())
        db.session.commit()
    auth.end_session()
    flash("You are signed out.")
    return redirect(url_for("staff.login"), code=303)
