"""The way in: the home page, a link's welcome page, the language switch, starting, and the
end of a visit on a clinic device."""

from __future__ import annotations

import re

from flask import abort, current_app, redirect, render_template, request, session, url_for

from ..domain import audit, links, questionnaires
from ..extensions import db, limiter
from ..i18n import N_, current_language, gettext
from ..models import Screening
from ..web import KIOSK_KEY
from .blueprint import bp, end_kiosk
from .context import open_context, open_screening, tell_the_desk

SAME_LINK_PATH = re.compile(r"(?:/[A-Za-z0-9_-]+)+")


@bp.route("/")
def home():
    return render_template("patient/home.html")


@bp.route("/s/<token>")
def welcome(token: str):
    ctx = open_context(token)
    return render_template(
        "patient/welcome.html",
        ctx=ctx,
        q=ctx.q,
        started=ctx.screening.status == "in_progress",
        step_count=ctx.progress.count,  # as every step's "Step N of M" counts them
        steps_may_change=bool(ctx.progress.maybe),
        crisis=any(r.flag.self_harm for r in ctx.progress.assessment.red_flags),
    )


@bp.route("/s/<token>/language", methods=["POST"])
def language(token: str):
    """The patient switches the questionnaire's language (kept for the next visit too)."""
    screening = open_screening(token)
    chosen = request.form.get("language", "")
    if chosen not in questionnaires.patient_languages(questionnaires.of(screening)):
        abort(400)
    if screening.language != chosen:
        screening.language = chosen
        db.session.commit()
    back = request.form.get("next", "")
    own = url_for("patient.welcome", token=token)
    rest = back[len(own) :] if back.startswith(own) else None
    if not (rest == "" or (rest and SAME_LINK_PATH.fullmatch(rest))):
        back = own  # only back to a page of this same link
    return redirect(back, code=303)


@bp.route("/s/<token>/start", methods=["POST"])
def start(token: str):
    return redirect(open_context(token).continue_url(), code=303)


TELL_DESK_KEY = "tell_desk"  # the patient who just finished on this device must tell the desk


@bp.route("/kiosk/end", methods=["POST"])
def kiosk_end():
    if KIOSK_KEY in session:
        screening = db.session.get(Screening, session[KIOSK_KEY].get("screening_id", 0))
        urgent = screening is not None and tell_the_desk(screening)
        end_kiosk()
        if urgent:  # said once, on the page the patient sees next (not to the next patient)
            session[TELL_DESK_KEY] = True
    return redirect(url_for("patient.kiosk_done"), code=303)


@bp.route("/kiosk")
def kiosk_done():
    return render_template("patient/kiosk_done.html", tell_desk=session.pop(TELL_DESK_KEY, False))


def _wrong_code(response) -> bool:
    """A code typed that opens no link (what the limits count; a right one never does)."""
    return response.status_code == 422


@bp.route("/c", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SCREENING_CODE_LIMIT_ADDRESS"], methods=["POST"],
               deduct_when=_wrong_code)  # fmt: skip
@limiter.limit(lambda: current_app.config["SCREENING_CODE_LIMIT_ALL"], methods=["POST"],
               key_func=lambda: "all", scope="short-codes", deduct_when=_wrong_code)  # fmt: skip
def short_code():
    """The short address printed on a handout: its short code opens the handout's link (and so
    the same identity check as any re-issued link), while that link works."""
    typed = request.form.get("code", "")[:40]
    error = None
    if request.method == "POST":
        code = links.normal_short_code(typed)
        if code is None:
            error = N_("Enter the code as it is printed on your letter: 10 letters and numbers, "
                       "for example K7QM-2XHD-9R.")  # fmt: skip
        else:
            token = links.handout_token(code)
            current = links.find(token)
            screening = current or links.replaced(token)
            if screening is not None:
                link = f"link {screening.link_number}" if current else "a replaced link"
                audit.record("short_code_entered", screening_id=screening.id, detail=link)
                db.session.commit()
                return redirect(url_for("patient.welcome", token=token), code=303)
            error = N_("We could not find that code. Please check it against your letter. If it "
                       "still does not work, please contact the clinic.")  # fmt: skip
    return render_template(
        "patient/short_code.html",
        typed=typed,
        error=error and gettext(current_language(), error),
    ), 422 if error else 200
