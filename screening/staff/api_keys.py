"""API keys for integrations (admin): list, create (the key is shown once), revoke.

A new key is shown on the page that answers the POST which made it, and nowhere else: it is never
stored (only its hash), never flashed (the session cookie is signed, not encrypted) and never
logged.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from .. import audit
from ..api import keys
from ..extensions import db
from ..models import ApiKey
from . import auth
from .forms import EmptyForm, strip
from .views import _check_form, _user, bp


class ApiKeyForm(FlaskForm):
    name = StringField(
        "Client name",
        validators=[
            DataRequired("Enter the name of the system that will use the key."),
            Length(max=keys.NAME_LENGTH),
        ],
        filters=[strip],
    )


def _label(key: ApiKey) -> str:
    return f"API key {key.prefix} ({key.name})"


@bp.route("/api-keys", methods=["GET", "POST"])
@auth.roles_required("admin")
def api_keys():
    form = ApiKeyForm()
    status, made, secret = 200, None, None
    if form.validate_on_submit():
        made, secret = keys.create(form.name.data, created_by=_user())
        audit.record("api_key_created", user=_user(), detail=_label(made))
        db.session.commit()
        form = ApiKeyForm(formdata=None)
        status = 200
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/api_keys.html",
        form=form,
        api_keys=keys.listed(),
        made=made,
        secret=secret,
        action_form=EmptyForm(),
    ), status


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@auth.roles_required("admin")
def revoke_api_key(key_id: int):
    _check_form()
    key = db.session.get(ApiKey, key_id) or abort(404)
    if keys.revoke(key):
        audit.record("api_key_revoked", user=_user(), detail=_label(key))
        db.session.commit()
        flash(f"The key {key.prefix} ({key.name}) is revoked: it no longer works.")
    return redirect(url_for("staff.api_keys"), code=303)
