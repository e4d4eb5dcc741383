"""The end of the questionnaire: the review page, sending the answers, the result page and the
patient's own copy."""

from __future__ import annotations

from flask import abort, redirect, render_template, session, url_for

from ..domain import NotAllowed, answering, questionnaires, submission
from ..extensions import db
from ..i18n import current_language
from ..web import KIOSK_KEY, pdf_response
from . import pages
from .blueprint import REVIEWED_KEY, bp
from .context import (
    Context,
    admitted,
    find,
    just_submitted,
    may_have_copy,
    may_see_result,
    open_context,
    open_screening,
    raised_flags,
    remember_submission,
    show_return_code,
    trusted,
)


@bp.route("/s/<token>/review")
def review(token: str):
    ctx = open_context(token)
    if not ctx.progress.complete:
        return redirect(ctx.continue_url(), code=303)
    assessment = ctx.progress.assessment
    sections = pages.review_sections(
        ctx.q, ctx.progress, lambda step_id: ctx.step_url(step_id, **{pages.RETURN_TO: "review"})
    )
    session[REVIEWED_KEY] = ctx.screening.id
    return render_template(
        "patient/review.html",
        ctx=ctx,
        q=ctx.q,
        sections=sections,
        banner_flags=raised_flags(assessment),
        steps=ctx.step_links(None),
        return_code=show_return_code(ctx.screening),
    )


@bp.route("/s/<token>/submit", methods=["POST"])
def submit(token: str):
    screening = find(token)
    if screening.status == "submitted" and (
        may_see_result(screening)
        or (just_submitted(screening) and session.get(REVIEWED_KEY) == screening.id)
    ):
        # A second click from the browser that showed the review page: the first click's cookie
        # may not have reached it yet. Any other browser gets "already sent".
        remember_submission(screening)
        return redirect(url_for("patient.result", token=token), code=303)
    trusted(admitted(screening), token)
    q = questionnaires.of(screening)
    try:
        submission.submit(screening, q, via="kiosk" if KIOSK_KEY in session else None)
        db.session.commit()
    except NotAllowed:  # an answer is missing: back to where it is asked
        db.session.rollback()
        ctx = Context(screening, answering.saved_answers(screening),
                      answering.steps_done(screening))  # fmt: skip
        return redirect(ctx.continue_url(), code=303)
    remember_submission(screening)
    return redirect(url_for("patient.result", token=token), code=303)


@bp.route("/s/<token>/result")
def result(token: str):
    screening = open_screening(token, submitted_ok=True)
    if screening.status != "submitted":
        abort(404)
    q = questionnaires.of(screening).localized(current_language())
    assessment = answering.assessment_of(screening, q, clinic=False)  # the patient's own
    work_on = pages.things_to_work_on(assessment)
    flags = raised_flags(assessment)
    return render_template(
        "patient/result.html",
        q=q,
        screening=screening,
        work_on=work_on[: pages.TOP_THINGS],
        more_work_on=work_on[pages.TOP_THINGS :],
        flags=flags,
        token=token,
        kiosk=KIOSK_KEY in session,  # a clinic device: a way to finish, no copy to download
    )


@bp.route("/s/<token>/my-summary.pdf")
def patient_copy(token: str):
    """The patient's own plain-language copy: for the browser that submitted, or one whose
    holder confirmed who they are (patient.copy); others are sent to that check first."""
    screening = find(token)
    if screening.status != "submitted":
        abort(404)
    if not may_have_copy(screening):
        return redirect(url_for("patient.copy", token=token), code=303)
    how = "the browser that submitted" if may_see_result(screening) else "identity confirmed"
    document = submission.patient_copy(screening, how)
    if document is None:  # rendered by a worker within seconds of sending the answers
        db.session.rollback()
        return render_template("patient/copy_pending.html", token=token), 202
    db.session.commit()
    return pdf_response(document.content, document.sha256, "my-pre-surgery-summary.pdf")
