"""The patient's blueprint, its pages for links that cannot be used, and what every patient page
does: no caching, and a clinic device left alone goes back to a neutral page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from ..domain import NotAllowed, alerts, links
from ..extensions import db
from ..models import URGENCIES, Screening, utcnow
from ..web import KIOSK_KEY

bp = Blueprint("patient", __name__)

SUBMITTED_KEY = "submitted"  # screening ids this browser submitted: may see their result page
COPY_KEY = "copy"  # screening ids whose identity check this browser passed: may have their copy
RETURN_CODE_KEY = "return_code"  # a return code just made, to show once: {"screening_id", "code"}
REVIEWED_KEY = "reviewed"  # the screening whose review page this browser showed last
KIOSK_DEVICE = "kiosk_device"  # this browser is a clinic device that was handed to patients


class LinkProblem(HTTPException):
    """A link that does not lead to an open screening (`kind`: unknown, submitted, expired,
    revoked); shown as a friendly page, with the crisis lines while a self-harm flag stands."""

    def __init__(self, code: int, kind: str, crisis: bool = False):
        super().__init__()
        self.code, self.kind, self.crisis = code, kind, crisis


class IdentityNeeded(HTTPException):
    """A re-issued link whose holder has not yet confirmed who they are (domain.links): nothing
    saved is shown and nothing is saved; the patient is sent to the check."""

    code = 303

    def __init__(self, token: str):
        super().__init__()
        self.token = token


class StepProblem(HTTPException):
    """A step that cannot be opened now (not reached yet, or not on this patient's path)."""

    def __init__(self, token: str, kind: str, code: int = 409):
        super().__init__()
        self.token, self.kind, self.code = token, kind, code


@bp.app_errorhandler(LinkProblem)
def link_problem(exc: LinkProblem):
    if session.get(KIOSK_DEVICE):
        return render_template("patient/kiosk_done.html"), exc.code
    token = (request.view_args or {}).get("token")
    copy_url = url_for("patient.copy", token=token) if exc.kind == "submitted" and token else None
    return render_template(
        "patient/link_error.html", kind=exc.kind, crisis=exc.crisis, copy_url=copy_url
    ), exc.code


@bp.app_errorhandler(IdentityNeeded)
def identity_needed(exc: IdentityNeeded):
    return redirect(url_for("patient.confirm", token=exc.token), code=303)


@bp.app_errorhandler(StepProblem)
def step_problem(exc: StepProblem):
    return render_template("patient/step_error.html", kind=exc.kind, token=exc.token), exc.code


@bp.before_request
def kiosk_idle():
    """A handed-over device left alone returns to the neutral page, showing nothing."""
    kiosk = session.get(KIOSK_KEY)
    if kiosk is None or request.endpoint in ("patient.kiosk_end", "patient.kiosk_done", "static"):
        return None
    now = int(utcnow().timestamp())
    if now - kiosk.get("seen", 0) > current_app.config["SCREENING_KIOSK_IDLE_MINUTES"] * 60:
        end_kiosk()
        return redirect(url_for("patient.kiosk_done"), code=303)
    session[KIOSK_KEY] = {**kiosk, "seen": now}
    return None


def end_kiosk() -> None:
    """Close a patient's visit on a clinic device: a new link (Back shows nothing), no session."""
    kiosk = session.get(KIOSK_KEY) or {}
    screening = db.session.get(Screening, kiosk.get("screening_id", 0))
    if screening is not None:
        try:
            links.new_link(screening)
            db.session.commit()
        except NotAllowed:
            db.session.rollback()  # submitted or revoked: its link already shows nothing
    session.clear()
    session[KIOSK_DEVICE] = True


@bp.context_processor
def clinic_told() -> dict[str, Any]:
    """The urgencies whose flags reach the clinic at once: the patient is told so only then;
    and whether this is a clinic device handed to the patient (no link to come back to, and the
    front desk is there to tell)."""
    return {
        "clinic_told": {u for u in URGENCIES if alerts.recipient(u)},
        "on_clinic_device": KIOSK_KEY in session,
    }


@bp.after_request
def no_store(response):
    # Health information on possibly shared devices: never cached, the link never sent onward.
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
