"""The admin's pages: staff accounts, the audit log, and API keys for other systems.

A new API key is shown on the page that answers the POST which made it, and nowhere else: never
stored (only its hash), never flashed (the session cookie is signed, not encrypted), never
logged.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..domain import accounts, api_keys, audit, passwords, two_factor
from ..extensions import db
from ..models import ROLES, ApiKey, User
from ..scoring import whole_number
from . import auth
from .blueprint import bp, check_form
from .forms import EmptyForm, StaffForm, UserForm, strip


@bp.route("/users", methods=["GET", "POST"])
@auth.roles_required("admin")
def users():
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.create_user(
                form.email.data, form.password.data, form.roles.data, form.name.data or "",
                actor=auth.actor(), initial=True,
            )  # fmt: skip
        except passwords.PasswordRejected as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
            status = 422
        except ValueError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
            status = 422
        else:
            db.session.commit()
            flash("The account is made. Its user chooses their own password at first sign-in.")
            return redirect(url_for("staff.users"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/users.html",
        form=form,
        people=accounts.everyone(),
        roles=ROLES,
        action_form=EmptyForm(),
    ), status


def named(user: User) -> str:
    """Who a message is about, without their e-mail address: messages travel in the session
    cookie, which is signed but not encrypted."""
    return user.name or "The account"


@bp.route("/users/<id:user_id>/disable", methods=["POST"])
@auth.roles_required("admin")
def disable_user(user_id: int):
    check_form()
    user = db.session.get(User, user_id) or abort(404)
    if user.id == auth.actor().id:
        flash("You cannot disable your own account.", "error")
    elif accounts.disable(user, auth.actor()):
        db.session.commit()
        flash(f"{named(user)} is disabled.")
    return redirect(url_for("staff.users"), code=303)


@bp.route("/users/<id:user_id>/enable", methods=["POST"])
@auth.roles_required("admin")
def enable_user(user_id: int):
    check_form()
    user = db.session.get(User, user_id) or abort(404)
    if accounts.enable(user, auth.actor()):
        db.session.commit()
        flash(f"{named(user)} can sign in again.")
    return redirect(url_for("staff.users"), code=303)


@bp.route("/users/<id:user_id>/reset-password", methods=["POST"])
@auth.roles_required("admin")
def reset_password(user_id: int):
    """A link for the user to set a new password, shown once to the admin to pass on (the old
    password stops working; nobody but the user will know the new one)."""
    check_form()
    user = db.session.get(User, user_id) or abort(404)
    if not user.active:
        flash("Enable the account first.", "error")
        return redirect(url_for("staff.users"), code=303)
    path = passwords.reset(user, auth.actor())
    db.session.commit()
    hours = current_app.config["SCREENING_RESET_HOURS"]
    return render_template(
        "staff/reset_link.html", person=user, link=passwords.reset_url(path), hours=hours
    )


@bp.route("/users/<id:user_id>/reset-two-factor", methods=["POST"])
@auth.roles_required("admin")
def reset_two_factor(user_id: int):
    check_form()
    user = db.session.get(User, user_id) or abort(404)
    if user.totp_secret is None:
        flash("This account has no second factor to reset.", "error")
    else:
        two_factor.reset(user, auth.actor())
        db.session.commit()
        flash("Their second factor is off and their sessions have ended. They set it up again "
              "when they next sign in.")  # fmt: skip
    return redirect(url_for("staff.users"), code=303)


@bp.route("/audit")
@auth.roles_required("admin")
def audit_log():
    statement, filters = audit.query(request.args)
    # Digits only (int() would take "1_0"), clamped; anything else is the first page.
    page = min(max(1, whole_number(request.args.get("page", "1")) or 1), audit.LAST_PAGE)
    events, more = audit.page(statement, page)
    return render_template(
        "staff/audit.html",
        events=events,
        filters=filters,
        page=page,
        more=more,
        actions=audit.ACTIONS,
    )


class ApiKeyForm(StaffForm):
    name = StringField(
        "Client name",
        validators=[
            DataRequired("Enter the name of the system that will use the key."),
            Length(max=api_keys.NAME_LENGTH),
        ],
        filters=[strip],
    )


@bp.route("/api-keys", methods=["GET", "POST"], endpoint="api_keys")
@auth.roles_required("admin")
def api_keys_page():
    form = ApiKeyForm()
    status, made, secret = 200, None, None
    if form.validate_on_submit():
        made, secret = api_keys.create(form.name.data, created_by=auth.actor())
        db.session.commit()
        form = ApiKeyForm(formdata=None)
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/api_keys.html",
        form=form,
        api_keys=api_keys.listed(),
        made=made,
        secret=secret,
        action_form=EmptyForm(),
    ), status


@bp.route("/api-keys/<id:key_id>/revoke", methods=["POST"])
@auth.roles_required("admin")
def revoke_api_key(key_id: int):
    check_form()
    key = db.session.get(ApiKey, key_id) or abort(404)
    if api_keys.revoke(key, auth.actor()):
        db.session.commit()
        flash(f"The key {key.prefix} ({key.name}) is revoked: it no longer works.")
    return redirect(url_for("staff.api_keys"), code=303)
