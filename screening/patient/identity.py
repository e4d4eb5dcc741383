"""A re-issued link asks who is there: before a new link shows or changes answers saved through
another one, its holder confirms the patient's date of birth (or the return code they were
shown, when none is on file). The rules live in domain.links; this page only asks."""

from __future__ import annotations

import datetime as dt

from flask import redirect, render_template, request, url_for

from ..domain import links
from ..extensions import db
from ..i18n import N_, current_language, gettext
from .blueprint import bp
from .context import Context, open_screening

DOB_PARTS = ("day", "month", "year")


@bp.route("/s/<token>/confirm", methods=["GET", "POST"])
def confirm(token: str):
    screening = open_screening(token)
    if not links.check_needed(screening):
        return redirect(url_for("patient.welcome", token=token), code=303)
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
                return redirect(url_for("patient.welcome", token=token), code=303)
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
    return render_template(
        "patient/confirm.html",
        ctx=ctx,
        kind=kind,
        locked=locked,
        error=error and gettext(current_language(), error),
        typed=typed if kind == "dob" and not locked else {},
    ), status


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
