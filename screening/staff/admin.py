"""The admin's pages: staff accounts, the sites of a clinic network, the audit log, and API keys
for other systems.

A network-wide admin (all sites) manages everything. A site-level admin manages only the accounts
and keys within their own sites (`sites.manages`): any other is not found (404), as another
site's screening is; they give only their own sites, read the audit events `sites.audit_condition`
allows, and add no sites.

A new API key is shown on the page that answers the POST which made it, and nowhere else: never
stored (only its hash), never flashed (the session cookie is signed, not encrypted), never
logged.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from ..domain import NotAllowed, accounts, api_keys, audit, passwords, sites, two_factor
from ..extensions import db
from ..models import ROLES, ApiKey, Site, User
from ..scoring import whole_number
from . import auth
from .blueprint import bp, check_form
from .forms import ApiKeyForm, EmptyForm, SiteAccessForm, SiteForm, UserForm


def offered() -> list[Site]:
    """The sites the signed-in admin may give, when the clinic has several; none when it has
    one (the forms then have no site fields)."""
    return sites.choices(auth.actor()) if sites.several() else []


def managed_user(user_id: int) -> User:
    """The account, if the signed-in admin manages it; else not found (404)."""
    user = db.session.get(User, user_id)
    if user is None or not sites.manages(auth.actor(), user):
        abort(404)
    return user


def where(user: User) -> str:
    """The sites of an account, in words."""
    return "all sites" if user.all_sites else ", ".join(site.name for site in user.sites)


@bp.route("/users", methods=["GET", "POST"])
@auth.roles_required("admin")
def users():
    admin = auth.actor()
    form = UserForm(offered=offered(), network=admin.all_sites)
    status = 200
    if form.validate_on_submit():
        site_ids, all_sites = form.chosen
        try:
            accounts.create_user(
                form.email.data, form.password.data, form.roles.data, form.name.data or "",
                actor=admin, initial=True, site_ids=site_ids, all_sites=all_sites,
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
        people=accounts.everyone(managed_by=admin),
        roles=ROLES,
        action_form=EmptyForm(),
        several=sites.several(),
    ), status


def named(user: User) -> str:
    """Who a message is about, without their e-mail address: messages travel in the session
    cookie, which is signed but not encrypted."""
    return user.name or "The account"


@bp.route("/users/<id:user_id>/disable", methods=["POST"])
@auth.roles_required("admin")
def disable_user(user_id: int):
    check_form()
    user = managed_user(user_id)
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
    user = managed_user(user_id)
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
    user = managed_user(user_id)
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
    user = managed_user(user_id)
    if user.totp_secret is None:
        flash("This account has no second factor to reset.", "error")
    else:
        two_factor.reset(user, auth.actor())
        db.session.commit()
        flash("Their second factor is off and their sessions have ended. They set it up again "
              "when they next sign in.")  # fmt: skip
    return redirect(url_for("staff.users"), code=303)


@bp.route("/users/<id:user_id>/sites", methods=["GET", "POST"])
@auth.roles_required("admin")
def user_sites(user_id: int):
    """Change the sites an account works for (within the admin's own sites)."""
    admin, user = auth.actor(), managed_user(user_id)
    if user.id == admin.id:
        flash("Another admin changes your own sites.", "error")
        return redirect(url_for("staff.users"), code=303)
    choices = sites.choices(admin)
    if not choices:  # a clinic without sites yet: nothing to give
        abort(404)
    # Filled in from the account on GET only: an empty POST is no choice (not the same again).
    now = {"sites": [site.id for site in user.sites], "all_sites": user.all_sites}
    form = SiteAccessForm(
        offered=choices, network=admin.all_sites, data=None if request.method == "POST" else now
    )
    status = 200
    if form.validate_on_submit():
        site_ids, all_sites = form.chosen
        try:
            sites.grant(user, site_ids or [], all_sites, admin)
        except NotAllowed as exc:
            db.session.rollback()
            form.sites.errors.append(str(exc))
            status = 422
        else:
            db.session.commit()
            flash(f"{named(user)} now works for {where(user)}.")
            return redirect(url_for("staff.users"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("staff/user_sites.html", form=form, person=user), status


@bp.route("/sites", methods=["GET", "POST"], endpoint="sites")
@auth.roles_required("admin")
def sites_page():
    """The sites (the admin's own, for a site-level admin), with their staff and screenings;
    a network-wide admin adds sites here."""
    admin = auth.actor()
    if request.method == "POST" and not admin.all_sites:
        abort(403)
    form = SiteForm()
    status = 200
    if form.validate_on_submit():
        sites.default()  # the first site stays the one every existing screening is in
        try:
            site = sites.create(form.name.data, admin)
        except NotAllowed as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
            status = 422
        else:
            db.session.commit()
            flash(f"The site {site.name} is added. Give staff access to it on the Users page.")
            return redirect(url_for("staff.sites"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/sites.html",
        form=form if admin.all_sites else None,
        counted=sites.counted(admin),
        network_wide=sites.network_wide_staff() if admin.all_sites else None,
    ), status


@bp.route("/audit")
@auth.roles_required("admin")
def audit_log():
    statement, filters, problems = audit.query(
        request.args, current_app.config["SCREENING_TIMEZONE"]
    )
    statement = statement.where(sites.audit_condition(auth.actor()))
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
        problems=problems,
    )


@bp.route("/api-keys", methods=["GET", "POST"], endpoint="api_keys")
@auth.roles_required("admin")
def api_keys_page():
    admin = auth.actor()
    form = ApiKeyForm(offered=offered(), network=admin.all_sites)
    status, made, secret = 200, None, None
    if form.validate_on_submit():
        site_ids, all_sites = form.chosen
        try:
            made, secret = api_keys.create(
                form.name.data, created_by=admin, scopes=form.scopes.data,
                site_ids=None if all_sites else site_ids,
            )  # fmt: skip
        except ValueError as exc:
            db.session.rollback()
            (form.name if form.sites is None else form.sites).errors.append(str(exc))
            status = 422
        else:
            db.session.commit()
            form = ApiKeyForm(formdata=None, offered=offered(), network=admin.all_sites)
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/api_keys.html",
        form=form,
        api_keys=api_keys.listed(managed_by=admin),
        made=made,
        secret=secret,
        action_form=EmptyForm(),
        several=sites.several(),
    ), status


@bp.route("/api-keys/<id:key_id>/revoke", methods=["POST"])
@auth.roles_required("admin")
def revoke_api_key(key_id: int):
    check_form()
    key = db.session.get(ApiKey, key_id)
    if key is None or not sites.manages(auth.actor(), key):
        abort(404)
    if api_keys.revoke(key, auth.actor()):
        db.session.commit()
        flash(f"The key {key.prefix} ({key.name}) is revoked: it no longer works.")
    return redirect(url_for("staff.api_keys"), code=303)
