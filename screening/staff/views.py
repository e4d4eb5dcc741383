"""The clinic's side: sign-in, the screenings list, invitations, review, users, the audit log.

Who may do what (and nothing more):
- intake: create, send, resend, extend and revoke invitations, print handouts, hand a device to a
  patient; sees statuses, never answers or scores.
- clinician: sees everything about screenings, downloads PDFs, acknowledges red flags, marks
  reviewed.
- admin: manages staff accounts and reads the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from typing import Any

import segno
import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_login import current_user
from markupsafe import Markup

from .. import audit, i18n, services
from ..definition.conditions import MISSING
from ..definition.model import URGENCY_LABELS
from ..exports import fhir
from ..exports import stored as stored_fhir
from ..extensions import db, limiter
from ..models import OPEN_STATUSES, ROLES, AuditEvent, Screening, User, utcnow
from ..patient.display import display_answer
from ..report.store import document_for, pdf_response, settings_from
from . import auth, dashboard, export, invitations
from .forms import EMAIL_RE, EmptyForm, ExtendForm, InvitationForm, LoginForm, UserForm

bp = Blueprint("staff", __name__, url_prefix="/staff")
KIOSK_KEY = "kiosk"


@bp.before_request
def staff_session() -> Any:
    if not current_user.is_authenticated:
        return None
    why = auth.session_expired()
    if why is not None:
        audit.record("session_expired", user=current_user._get_current_object(), detail=why)
        db.session.commit()
        auth.end_session()
        flash(
            "You were signed out after a period without activity."
            if why == "idle"
            else "Your session has ended. Please sign in again."
        )
        return redirect(url_for("staff.login"))
    auth.touch()
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _user() -> User:
    return current_user._get_current_object()


def _screening(screening_id: int) -> Screening:
    screening = db.session.get(Screening, screening_id)
    if screening is None:
        abort(404)
    return screening


# --- signing in and out -----------------------------------------------------------------------


def _account_key() -> str:
    return "login-account:" + auth.normalize_email(request.form.get("email", ""))[:254]


def _failed_login(response: Response) -> bool:
    return response.status_code != 303


def _landing(user: User) -> str:
    """The first page a member of staff may open."""
    return url_for("staff.home" if user.has_role("intake", "clinician") else "staff.users")


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
        return redirect(_landing(_user()))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = auth.authenticate(form.email.data, form.password.data)
        if user is not None:
            auth.start_session(user)
            audit.record("login", user=user)
            db.session.commit()
            target = request.args.get("next", "")
            if not target.startswith("/staff/") or target.startswith("//"):
                target = _landing(user)
            return redirect(target, code=303)
        # What was typed is kept only when it is shaped like an e-mail address: a password typed
        # into the wrong box, or a name, stays out of the audit log.
        typed = auth.normalize_email(form.email.data)[:254]
        audit.record(
            "login_failed",
            email=typed if EMAIL_RE.match(typed) else None,
            detail=None if EMAIL_RE.match(typed) else "not an e-mail address",
        )
        db.session.commit()
        error = "The e-mail or password is not right."
    status = 401 if error else (422 if form.errors else 200)
    return render_template("staff/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        audit.record("logout", user=_user())
        db.session.commit()
    auth.end_session()
    flash("You are signed out.")
    return redirect(url_for("staff.login"), code=303)


# --- the screenings list ----------------------------------------------------------------------


@bp.route("/")
@auth.roles_required("intake", "clinician")
def home():
    clinician = _user().has_role("clinician")
    filters = dashboard.Filters.from_args(request.args, clinician)
    page = dashboard.search(filters, clinician)
    return render_template(
        "staff/dashboard.html",
        page=page,
        filters=filters,
        clinician=clinician,
        intake=_user().has_role("intake"),
        surgeons=dashboard.surgeons(),
        now=utcnow(),
        statuses=[s for s in ("invited", "in_progress", "submitted", "expired", "revoked")],
    )


@bp.route("/export.csv")
@auth.roles_required("clinician")
def export_csv():
    """The screenings the list's filters select, as CSV (answers included: clinicians only)."""
    filters = dashboard.Filters.from_args(request.args, clinician=True)
    where = dashboard.condition(filters, clinician=True)
    audit.record("answers_exported", user=_user(), detail=f"{export.count(where)} screenings")
    db.session.commit()
    # Written out before the response starts (to memory, or to disk past 8 MB), so that no
    # database transaction stays open while a slow client downloads.
    buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    for line in export.lines(where):
        buffer.write(line.encode("utf-8"))
    buffer.seek(0)
    return send_file(
        buffer, mimetype="text/csv", as_attachment=True, download_name="screenings.csv", max_age=0
    )


# --- invitations (intake) ---------------------------------------------------------------------


@bp.route("/invitations/new", methods=["GET", "POST"])
@auth.roles_required("intake")
def new_invitation():
    form = InvitationForm()
    if not form.validate_on_submit():
        return render_template("staff/invitation_new.html", form=form), (
            422 if form.is_submitted() else 200
        )
    definition = services.store_definition(current_app.config["SCREENING_QUESTIONNAIRE"])
    screening, token = services.create_screening(
        definition,
        patient_name=form.patient_name.data,
        patient_dob=form.patient_dob.data,
        patient_mrn=form.patient_mrn.data or None,
        patient_email=form.patient_email.data or None,
        patient_phone=form.patient_phone.data or None,
        surgeon=form.surgeon.data or None,
        planned_surgery=form.planned_surgery.data or None,
        surgery_date=form.surgery_date.data,
        language=form.language.data,
        link_days=form.link_days.data,
    )
    screening.invited_by_id = _user().id
    current_app.extensions.pop("screening_surgeons", None)  # the filter's list may grow
    audit.record("invitation_created", user=_user(), screening_id=screening.id)
    db.session.commit()  # the screening is kept whatever happens to the e-mail
    if form.send_email.data:
        _send(screening, token, resend=False)
    else:
        flash(f"Invitation {screening.reference} created. Print a handout or send it by e-mail.")
    return redirect(url_for("staff.screening", screening_id=screening.id), code=303)


def _send(screening: Screening, token: str | None, resend: bool) -> bool:
    """E-mail `token`'s link, or a new link (the old one kept if the e-mail fails)."""
    if token is None:
        result = invitations.send_new_link(screening)
    else:
        result = invitations.email_link(screening, token)
    if result.ok:
        audit.record(
            "invitation_resent" if resend else "invitation_sent",
            user=_user(),
            screening_id=screening.id,
        )
        flash(f"The link was e-mailed to {screening.patient_email}.")
    else:
        audit.record("invitation_send_failed", user=_user(), screening_id=screening.id)
        flash(
            f"The e-mail could not be sent: {result.error}. The invitation is saved; "
            "you can try again or print a handout.",
            "error",
        )
    db.session.commit()
    return result.ok


@bp.route("/screenings/<int:screening_id>/send", methods=["POST"])
@auth.roles_required("intake")
def send(screening_id: int):
    screening = _screening(screening_id)
    _check_form()
    try:
        _send(screening, None, resend=invitations.last_message(screening) is not None)
    except invitations.InvitationError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("staff.screening", screening_id=screening_id), code=303)


@bp.route("/screenings/<int:screening_id>/extend", methods=["POST"])
@auth.roles_required("intake")
def extend(screening_id: int):
    screening = _screening(screening_id)
    form = ExtendForm()
    if not form.validate_on_submit():
        flash("Enter a number of days between 1 and 90.", "error")
    else:
        try:
            invitations.extend(screening, form.days.data)
            audit.record(
                "invitation_extended",
                user=_user(),
                screening_id=screening.id,
                detail=f"{form.days.data} days",
            )
            db.session.commit()
            flash(f"The link now works until {screening.expires_at:%d %B %Y}.")
        except invitations.InvitationError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    return redirect(url_for("staff.screening", screening_id=screening_id), code=303)


@bp.route("/screenings/<int:screening_id>/revoke", methods=["POST"])
@auth.roles_required("intake")
def revoke(screening_id: int):
    screening = _screening(screening_id)
    _check_form()
    try:
        invitations.revoke(screening)
        audit.record("invitation_revoked", user=_user(), screening_id=screening.id)
        db.session.commit()
        flash("The link is revoked and no longer works.")
    except invitations.InvitationError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("staff.screening", screening_id=screening_id), code=303)


@bp.route("/screenings/<int:screening_id>/handout", methods=["POST"])
@auth.roles_required("intake")
def handout(screening_id: int):
    """A printable page with a new link and its QR code (the earlier link stops working)."""
    screening = _screening(screening_id)
    _check_form()
    token = _new_link_or_none(screening)
    if token is None:
        return redirect(url_for("staff.screening", screening_id=screening_id), code=303)
    audit.record("handout_printed", user=_user(), screening_id=screening.id)
    db.session.commit()
    link = invitations.patient_url(token)
    qr = Markup(
        segno.make(link, error="m").svg_inline(
            scale=5, dark="#000", light="#fff", title="QR code of the link"
        )
    )
    language = services.patient_language(screening)
    with force_locale(language):  # the handout's words are the patient's; the page is English
        return render_template(
            "staff/handout.html",
            screening=screening,
            link=link,
            qr=qr,
            expires=i18n.format_date(screening.expires_at.date(), language),
            html_language=i18n.CLINIC_LANGUAGE,
        )


@bp.route("/screenings/<int:screening_id>/hand-over", methods=["POST"])
@auth.roles_required("intake")
def hand_over(screening_id: int):
    """Start the questionnaire on this device for the patient in front of us.

    The staff session ends at once; the device is in kiosk mode until the patient finishes or
    walks away, and then shows a neutral page.
    """
    screening = _screening(screening_id)
    _check_form()
    token = _new_link_or_none(screening)
    if token is None:
        return redirect(url_for("staff.screening", screening_id=screening_id), code=303)
    audit.record("handed_to_patient", user=_user(), screening_id=screening.id)
    db.session.commit()
    auth.end_session()
    session[KIOSK_KEY] = {"screening_id": screening.id, "seen": int(utcnow().timestamp())}
    return redirect(url_for("patient.welcome", token=token), code=303)


def _new_link_or_none(screening: Screening) -> str | None:
    """A new link for the screening, or None (with a message) when it is closed."""
    try:
        return invitations.new_link(screening)
    except invitations.InvitationError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return None


def _check_form() -> None:
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)


# --- one screening ----------------------------------------------------------------------------


@bp.route("/screenings/<int:screening_id>")
@auth.roles_required("intake", "clinician")
def screening(screening_id: int):
    screening = _screening(screening_id)
    user = _user()
    clinician = user.has_role("clinician")
    context: dict[str, Any] = {
        "screening": screening,
        "clinician": clinician,
        "intake": user.has_role("intake"),
        "status": screening.effective_status(),
        # A red-flag notice would tell intake staff about the result: clinicians only.
        "messages": [
            m for m in invitations.messages(screening) if clinician or m.kind != "red_flag"
        ],
        "form": EmptyForm(),
        "extend_form": ExtendForm(),
        "open": screening.status in OPEN_STATUSES,
    }
    if clinician and screening.status == "submitted":
        context.update(_assessment_context(screening))
    audit.record("screening_viewed", user=user, screening_id=screening.id)
    db.session.commit()
    return render_template("staff/screening.html", **context)


def _assessment_context(screening: Screening) -> dict[str, Any]:
    q = services.questionnaire_for(screening)
    a = services.assessment_of(screening, q)
    appendix = []
    for step_id in a.visible_steps:
        step = q.step_by_id[step_id]
        rows = [
            {
                "label": question.label,
                "answer": display_answer(question, a.answers.get(question.id, MISSING)),
            }
            for question in step.questions
            if question.id in a.visible
        ]
        appendix.append({"title": step.title, "rows": rows})
    flags = [
        {"flag": r.flag, "title": r.flag.title, "urgency": URGENCY_LABELS[r.flag.urgency]}
        for r in a.red_flags
    ]
    factors = sorted(a.factors, key=lambda r: (r.factor.category, not r.factor.modifiable))
    return {
        "a": a,
        "q": q,
        "flags": flags,
        "factors": factors,
        "appendix": appendix,
        "original": screening.assessment,
    }


@bp.route("/screenings/<int:screening_id>/acknowledge", methods=["POST"])
@auth.roles_required("clinician")
def acknowledge(screening_id: int):
    screening = _screening(screening_id)
    _check_form()
    if screening.has_red_flag and screening.acknowledged_at is None:
        screening.acknowledged_at, screening.acknowledged_by_id = utcnow(), _user().id
        audit.record("red_flag_acknowledged", user=_user(), screening_id=screening.id)
        db.session.commit()
        flash("Red flags acknowledged.")
    return redirect(url_for("staff.screening", screening_id=screening_id), code=303)


@bp.route("/screenings/<int:screening_id>/review", methods=["POST"])
@auth.roles_required("clinician")
def review(screening_id: int):
    screening = _screening(screening_id)
    _check_form()
    if screening.status != "submitted":
        abort(409)
    screening.reviewed_at, screening.reviewed_by_id = utcnow(), _user().id
    audit.record("screening_reviewed", user=_user(), screening_id=screening.id)
    db.session.commit()
    flash("Marked as reviewed.")
    return redirect(url_for("staff.screening", screening_id=screening_id), code=303)


@bp.route("/screenings/<int:screening_id>/summary.pdf")
@auth.roles_required("clinician")
def summary_pdf(screening_id: int):
    screening = _screening(screening_id)
    if screening.status != "submitted":
        abort(409)
    document = document_for(screening, "summary", settings_from(current_app.config))
    # Read before the commit expires them (reading them after would load the PDF again).
    response = pdf_response(
        document.content, document.sha256, f"screening-{screening.reference}-summary.pdf"
    )
    audit.record("pdf_downloaded", user=_user(), screening_id=screening.id)
    db.session.commit()
    return response


@bp.route("/screenings/<int:screening_id>/summary/refresh", methods=["POST"])
@auth.roles_required("clinician")
def refresh_pdf(screening_id: int):
    screening = _screening(screening_id)
    _check_form()
    if screening.status != "submitted":
        abort(409)
    document_for(screening, "summary", settings_from(current_app.config), refresh=True)
    audit.record("pdf_rerendered", user=_user(), screening_id=screening.id)
    db.session.commit()
    flash("The PDF summary was rendered again.")
    return redirect(url_for("staff.screening", screening_id=screening_id), code=303)


@bp.route("/screenings/<int:screening_id>/fhir.json")
@auth.roles_required("clinician")
def fhir_bundle(screening_id: int):
    """The screening as a FHIR R4 Bundle (answers included: clinicians only; audited)."""
    screening = _screening(screening_id)
    try:
        bundle = stored_fhir.fhir_bundle(screening)
    except stored_fhir.NotSubmitted:
        abort(409)
    audit.record("fhir_exported", user=_user(), screening_id=screening.id)
    db.session.commit()
    response = Response(fhir.to_json(bundle), content_type="application/fhir+json; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="screening-{screening.reference}-fhir.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- users (admin) ----------------------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@auth.roles_required("admin")
def users():
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth.create_user(
                form.email.data, form.password.data, form.roles.data, form.name.data or ""
            )
        except (ValueError, auth.PasswordRejected) as exc:
            db.session.rollback()
            form.password.errors.append(str(exc)) if isinstance(
                exc, auth.PasswordRejected
            ) else form.email.errors.append(str(exc))
            status = 422
        else:
            audit.record("user_created", user=_user(), detail=f"user {user.id}")
            db.session.commit()
            flash(f"{user.email} can now sign in.")
            return redirect(url_for("staff.users"), code=303)
    elif form.is_submitted():
        status = 422
    people = db.session.scalars(sa.select(User).order_by(User.email)).all()
    return render_template(
        "staff/users.html", form=form, people=people, roles=ROLES, action_form=EmptyForm()
    ), status


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@auth.roles_required("admin")
def disable_user(user_id: int):
    _check_form()
    user = db.session.get(User, user_id) or abort(404)
    if user.id == _user().id:
        flash("You cannot disable your own account.", "error")
    elif user.active:
        user.active, user.disabled_at = False, utcnow()
        user.session_version += 1  # ends the user's sessions
        audit.record("user_disabled", user=_user(), detail=f"user {user.id}")
        db.session.commit()
        flash(f"{user.email} is disabled.")
    return redirect(url_for("staff.users"), code=303)


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@auth.roles_required("admin")
def enable_user(user_id: int):
    _check_form()
    user = db.session.get(User, user_id) or abort(404)
    if not user.active:
        user.active, user.disabled_at = True, None
        audit.record("user_enabled", user=_user(), detail=f"user {user.id}")
        db.session.commit()
        flash(f"{user.email} can sign in again.")
    return redirect(url_for("staff.users"), code=303)


# --- the audit log (admin) --------------------------------------------------------------------

AUDIT_PAGE = 50


def audit_query(args: Any) -> tuple[sa.Select, dict[str, Any]]:
    filters = {
        "action": args.get("action", ""),
        "user": args.get("user", "").strip(),
        "screening": args.get("screening", "").strip(),
        "since": args.get("since", "").strip(),
    }
    query = sa.select(AuditEvent)
    if filters["action"] in audit.ACTIONS:
        query = query.where(AuditEvent.action == filters["action"])
    if filters["user"]:
        query = query.where(AuditEvent.user_email == filters["user"].lower())
    if filters["screening"].isdigit():
        query = query.where(AuditEvent.screening_id == int(filters["screening"]))
    try:
        since = dt.date.fromisoformat(filters["since"]) if filters["since"] else None
    except ValueError:
        since = None
    if since:
        query = query.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    return query.order_by(AuditEvent.id.desc()), filters


@bp.route("/audit")
@auth.roles_required("admin")
def audit_log():
    query, filters = audit_query(request.args)
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    events = db.session.scalars(query.limit(AUDIT_PAGE + 1).offset((page - 1) * AUDIT_PAGE)).all()
    return render_template(
        "staff/audit.html",
        events=events[:AUDIT_PAGE],
        filters=filters,
        page=page,
        more=len(events) > AUDIT_PAGE,
        actions=audit.ACTIONS,
    )


def audit_csv(events: list[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "at", "action", "user_id", "user_email", "address", "screening_id", "detail"]
    )
    for e in events:
        cells = [
            e.id,
            e.at.isoformat(),
            e.action,
            e.user_id or "",
            e.user_email or "",
            e.address or "",
            e.screening_id or "",
            e.detail or "",
        ]
        writer.writerow([export.spreadsheet_safe(cell) for cell in cells])
    return out.getvalue()


# Routes on `bp` kept in modules of their own: API keys (admin), re-scoring (clinicians).
from . import api_keys, rescore  # noqa: E402,F401
