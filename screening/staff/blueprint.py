"""The staff blueprint and what every staff page does: the session's timeouts, no caching, and
the helpers its views share.

Who may do what (and nothing more):
- intake: create, send, resend, extend and revoke invitations, print handouts, hand a device to a
  patient; sees statuses, never answers or scores.
- clinician: sees everything about screenings, downloads PDFs, acknowledges red flags, marks
  reviewed.
- admin: manages staff accounts and API keys, reads the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from ..domain import NotAllowed, audit, sites
from ..extensions import db
from ..models import Screening
from . import auth
from .forms import EmptyForm

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
def staff_session() -> Any:
    if not current_user.is_authenticated:
        return None
    why = auth.session_expired()
    if why is not None:
        audit.record("session_expired", user=auth.actor(), detail=why)
        db.session.commit()
        auth.end_session()
        flash(
            "You were signed out after a period without activity."
            if why == "idle"
            else "Your session has ended. Please sign in again."
        )
        return redirect(url_for("staff.login"))
    auth.touch()
    step = auth.unfinished(auth.actor())
    if step is not None:
        page, open_pages = auth.UNFINISHED[step]
        if request.endpoint not in open_pages:
            return redirect(url_for(page))
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def screening_or_404(screening_id: int) -> Screening:
    """The screening, if it is of one of the signed-in user's sites; else not found (a
    screening of another site is not said to exist)."""
    screening = db.session.get(Screening, screening_id)
    if screening is None or not sites.visible(auth.actor(), screening):
        abort(404)
    return screening


def check_form() -> None:
    """A button's POST carries a valid CSRF token (its form has nothing else)."""
    if not EmptyForm().validate_on_submit():
        abort(400)


def attempt(change: Callable[[], object]) -> bool:
    """Run a domain operation and commit it; when the domain refuses it, roll back and flash
    its reason. Whether it was done."""
    try:
        change()
    except NotAllowed as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    db.session.commit()
    return True


def back_to(screening_id: int) -> Response:
    return redirect(url_for("staff.screening", screening_id=screening_id), code=303)
