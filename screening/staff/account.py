"""A member of staff's own account: their password, their second factor, and the page a reset
link opens. Each change ends every other session of theirs; the one in use is renewed.

The second factor's secret is kept in the session while the user sets up their app (the session
cookie is signed, not encrypted: it is their own secret, shown to them as a QR code anyway) and
stored only once a code from the app proves it was copied right. Recovery codes are shown on the
page that answers the POST which made them, and nowhere else.
"""

from __future__ import annotations

import segno
from flask import flash, redirect, render_template, session, url_for
from markupsafe import Markup

from ..domain import NotAllowed, passwords, two_factor
from ..extensions import db
from . import auth
from .blueprint import bp, check_form
from .forms import CodeForm, PasswordChangeForm, PasswordSetForm

PENDING_SECRET = "totp_pending"


@bp.route("/account")
@auth.roles_required()
def account():
    return render_template(
        "staff/account.html",
        user=auth.actor(),
        second_factor=two_factor.enrolled(auth.actor()),
        required=two_factor.required(auth.actor()),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@auth.roles_required()
def change_password():
    user = auth.actor()
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            passwords.change(user, form.current.data, form.new.data)
        except passwords.PasswordRejected as exc:
            db.session.rollback()
            field = form.current if isinstance(exc, passwords.WrongPassword) else form.new
            field.errors = [*field.errors, str(exc)]
            status = 422
        else:
            db.session.commit()
            auth.renew_session(user)
            flash("Your password is changed. You are signed out on every other device.")
            return redirect(url_for("staff.account"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/password_change.html", form=form, forced=user.must_change_password
    ), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@auth.roles_required()
def enrol_two_factor():
    user = auth.actor()
    if two_factor.enrolled(user):
        return redirect(url_for("staff.account"))
    secret = session.get(PENDING_SECRET)
    if not isinstance(secret, str):
        secret = session[PENDING_SECRET] = two_factor.new_secret()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = two_factor.enrol(user, secret, form.code.data)
        except NotAllowed as exc:
            db.session.rollback()
            form.code.errors = [str(exc)]
            status = 422
        else:
            db.session.commit()
            session.pop(PENDING_SECRET, None)
            return render_template("staff/recovery_codes.html", codes=codes, enrolled=True)
    elif form.is_submitted():
        status = 422
    uri = two_factor.provisioning_uri(user, secret)
    qr = Markup(
        segno.make(uri, error="m").svg_inline(
            scale=5, dark="#000", light="#fff", title="QR code to scan with your authenticator app"
        )
    )
    return render_template(
        "staff/two_factor.html",
        form=form,
        qr=qr,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required=two_factor.required(user),
    ), status


@bp.route("/account/recovery-codes", methods=["POST"])
@auth.roles_required()
def renew_recovery_codes():
    check_form()
    user = auth.actor()
    if not two_factor.enrolled(user):
        flash("Set up a second factor first: its recovery codes come with it.", "error")
        return redirect(url_for("staff.account"), code=303)
    codes = two_factor.new_recovery_codes(user)
    db.session.commit()
    return render_template("staff/recovery_codes.html", codes=codes, enrolled=False)


@bp.route("/password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """The page a reset link opens: choose a new password (the link then stops working)."""
    user = passwords.holder_of(token)
    if user is None:
        return render_template("staff/password_link_spent.html"), 404
    form = PasswordSetForm()
    status = 200
    if form.validate_on_submit():
        try:
            passwords.set_from_link(user, form.new.data)
        except passwords.PasswordRejected as exc:
            db.session.rollback()
            form.new.errors = [*form.new.errors, str(exc)]
            status = 422
        else:
            db.session.commit()
            auth.end_session()
            flash("Your password is set. Sign in with it now.")
            return redirect(url_for("staff.login"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("staff/password_set.html", form=form, email=user.email), status
