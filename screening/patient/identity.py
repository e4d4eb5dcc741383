"""A re-issued link asks who is there: before a new link shows or changes answers saved through
another one, its holder confirms the patient's date of birth (or the return code they were
shown, when none is on file). The same check lets the patient download their copy of a
submitted screening from any device. The rules live in domain.links; this page only asks."""

from __future__ import annotations

import datetime as dt

from flask import redirect, render_template, request, session, url_for

from ..domain import links
from ..extensions import db
from ..i18n import N_, current_language, gettext
from ..models import Screening
from ..web import KIOSK_KEY
from .blueprint import KIOSK_DEVICE, bp
from .context import Context, allow_copy, find, may_have_copy, open_screening

DOB_PARTS = ("day", "month", "year")


@bp.route("/s/<token>/confirm", methods=["GET", "POST"])
def confirm(token: str):
    screening = open_screening(token)
    if not links.check_needed(screening):
        return redirect(url_for("patient.welcome", token=token), code=303)
    confirmed, page = _check(screening, "confirm")
    if confirmed:
        return redirect(url_for("patient.welcome", token=token), code=303)
    return page


@bp.route("/s/<token>/copy", methods=["GET", "POST"])
def copy(token: str):
    """The patient's copy of a submitted screening, from any device: once its holder has
    confirmed who they are (the same check as a re-issued link's), in this browser."""
    screening = find(token)
    if screening.status != "submitted":
        return redirect(url_for("patient.welcome", token=token), code=303)
    if KIOSK_KEY in session or session.get(KIOSK_DEVICE):  # a clinic device keeps no copies
        return render_template("patient/kiosk_done.html")
    if not may_have_copy(screening):
        confirmed, page = _check(screening, "copy")
        if not confirmed:
            return page
        allow_copy(screening)
        return redirect(url_for("patient.copy", token=token), code=303)
    ctx = Context(screening, {}, set())
    return render_template("patient/copy.html", ctx=ctx)


def _check(screening: Screening, purpose: str) -> tuple[bool, tuple[str, int] | None]:
    """One visit to the identity check's page (`purpose`: "confirm" to see saved answers,
    "copy" to download the patient's copy): whether this request confirmed who is there, else
    the page to show."""
    # Nothing saved is read: the page knows the link, the language and what to ask.
    ctx = Context(screening, {}, set())
    kind = links.check_kind(screening)
    typed = {part: request.form.get(part, "").strip()[:10] for part in DOB_PARTS}
    error = None
    if request.method == "POST" and kind != "none" and not links.locked(screening):
        if kind == "dob":
            dob = _date(typed)
            if dob is None:
                error = N_("Please enter your date of birth as numbers, for example 27 3 1961.")
            else:
                outcome = links.confirm_identity(screening, dob=dob)
        else:
            code = links.normal_code(request.form.get("code", "")[:40])
            if code is None:
                error = N_("Please enter the 6 letters and numbers of your code.")
            else:
                outcome = links.confirm_identity(screening, code=code)
        if error is None:
            db.session.commit()
            if outcome == "confirmed":
                return True, None
            if outcome == "wrong":
                error = (
                    N_("That date of birth does not match our records. Please try again.")
                    if kind == "dob"
                    else N_("That code does not match our records. Please try again.")
                )
    locked = links.locked(screening)
    status = 200
    if error:
        status = 422
    elif locked or kind == "none":
        status = 403
    return False, (
        render_template(
            "patient/confirm.html",
            ctx=ctx,
            kind=kind,
            locked=locked,
            purpose=purpose,
            error=error and gettext(current_language(), error),
            typed=typed if kind == "dob" and not locked else {},
        ),
        status,
    )


def _date(typed: dict[str, str]) -> dt.date | None:
    """The date of day, month and year boxes, or None when they do not make one."""
    if not all(typed[part].isascii() and typed[part].isdigit() for part in DOB_PARTS):
        return None
    day, month, year = (int(typed[part]) for part in DOB_PARTS)
    if not 1900 <= year <= 2100:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
