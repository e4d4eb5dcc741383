"""The way in: the home page, a link's welcome page, the language switch, starting, and the
end of a visit on a clinic device."""

from __future__ import annotations

import re

from flask import abort, redirect, render_template, request, session, url_for

from ..domain import questionnaires
from ..extensions import db
from ..web import KIOSK_KEY
from .blueprint import bp, end_kiosk
from .context import open_context, open_screening

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


@bp.route("/kiosk/end", methods=["POST"])
def kiosk_end():
    if KIOSK_KEY in session:
        end_kiosk()
    return redirect(url_for("patient.kiosk_done"), code=303)


@bp.route("/kiosk")
def kiosk_done():
    return render_template("patient/kiosk_done.html")
