"""A step of the questionnaire: shown with the saved answers, posted, checked, saved."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for

from ..definition import model as m
from ..domain import NotAllowed, answering, links, questionnaires
from ..extensions import db
from ..i18n import N_, current_language, gettext, use_language
from ..web import KIOSK_KEY
from . import pages
from .blueprint import RETURN_CODE_KEY, LinkProblem, StepProblem, bp
from .context import Context, open_context, show_return_code
from .forms import StepForm, build_step_form


@bp.route("/s/<token>/step/<step_id>", methods=["GET", "POST"])
def step(token: str, step_id: str):
    ctx = open_context(token)
    step_def = open_step(ctx, token, step_id)
    if request.method == "POST":
        return _post_step(ctx, step_def, build_step_form(step_def)())
    return render_step(ctx, step_def)


def open_step(ctx: Context, token: str, step_id: str) -> m.Step:
    """The step, if this patient may open it now."""
    if step_id not in ctx.q.step_by_id:
        raise StepProblem(token, "unknown", 404)
    if step_id not in ctx.progress.steps:
        raise StepProblem(token, "skipped")
    if not ctx.progress.reachable(step_id):
        raise StepProblem(token, "not_reached")
    return ctx.q.step_by_id[step_id]


def _visibility(ctx: Context, step_def: m.Step, posted: dict[str, Any]) -> set[str]:
    """The questions shown once this step's posted answers replace its saved ones."""
    return pages.visibility(ctx.q, ctx.answers, step_def, posted)


def _post_step(ctx: Context, step_def: m.Step, form: StepForm):
    posted, visible, has_errors = pages.check_step(ctx.q, ctx.answers, step_def, form)
    if has_errors:
        return render_step(ctx, step_def, form, visible=visible), 422
    try:
        changes = answering.save_step(
            ctx.screening, ctx.q, step_def.id, posted, visible, saved=ctx.answers,
            via="kiosk" if KIOSK_KEY in session else None,
        )  # fmt: skip
        code = links.give_return_code(ctx.screening)
        db.session.commit()
    except NotAllowed:
        # Submitted or revoked since the link was read: the page for what it is now.
        db.session.rollback()
        open_context(ctx.token)
        raise LinkProblem(410, "submitted") from None
    if code:
        session[RETURN_CODE_KEY] = {"screening_id": ctx.screening.id, "code": code}
    after = ctx.after_saving(step_def.id, changes)
    if request.args.get("return") == "review" or step_def.id == after.progress.steps[-1]:
        return redirect(after.continue_url(), code=303)
    following = after.progress.neighbour(step_def.id, 1)
    if following is None or not after.progress.reachable(following):
        return redirect(after.continue_url(), code=303)
    return redirect(after.step_url(following), code=303)


def render_step(
    ctx: Context,
    step_def: m.Step,
    form: StepForm | None = None,
    visible: set[str] | frozenset[str] | None = None,
    notice: str | None = None,
):
    """The step page: with `form` (and `visible`), what was posted shown again; without, the
    saved answers."""
    prog = ctx.progress
    previous = prog.neighbour(step_def.id, -1)
    return render_template(
        "patient/step.html",
        **pages.step_page(ctx.q, prog, step_def, ctx.answers, form, visible),
        ctx=ctx,
        notice=notice,
        return_code=show_return_code(ctx.screening),
        back_url=ctx.step_url(previous)
        if previous
        else url_for("patient.welcome", token=ctx.token),
        return_to=request.args.get("return") == "review",
        steps=ctx.step_links(step_def.id),
    )


def speak_the_patients_language() -> None:
    """On a page of a patient's link refused before its view ran (a CSRF failure): the rest of
    the request in that patient's language."""
    token = (request.view_args or {}).get("token") if request.blueprint == "patient" else None
    screening = links.find(token) if token else None
    if screening is not None:
        use_language(questionnaires.patient_language(screening))


def reshow_after_csrf_failure():
    """A step posted with an expired or missing CSRF token: shown again with what was typed."""
    token, step_id = request.view_args["token"], request.view_args["step_id"]
    ctx = open_context(token)
    step_def = open_step(ctx, token, step_id)
    form = build_step_form(step_def)()
    posted, _ = form.typed_answers()
    notice = gettext(
        current_language(),
        N_(
            "This page was open for a long time, so for your security we could not save it "
            "yet. Your answers are still here: please check them and press Continue again."
        ),
    )
    visible = _visibility(ctx, step_def, posted)
    return render_step(ctx, step_def, form, visible=visible, notice=notice), 400
