"""A step of the questionnaire: shown with the saved answers, posted, checked, saved."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, session, url_for

from ..definition import model as m
from ..domain import NotAllowed, answering, drafts, links, questionnaires
from ..extensions import db
from ..i18n import N_, current_language, gettext, use_language
from ..web import KIOSK_KEY
from . import pages
from .blueprint import RETURN_CODE_KEY, LinkProblem, StepProblem, bp
from .context import Context, open_context, show_return_code
from .forms import StepForm, build_step_form, saved_form_data


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
        drafts.discard(ctx.screening, step_def.id)  # the answers are saved: no draft is left
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
    if pages.returns_to_review(request.args) or step_def.id == after.progress.steps[-1]:
        return redirect(after.continue_url(), code=303)
    following = after.progress.neighbour(step_def.id, 1)
    if following is None or not after.progress.reachable(following):
        return redirect(after.continue_url(), code=303)
    return redirect(after.step_url(following), code=303)


@bp.route("/s/<token>/step/<step_id>/draft", methods=["POST"])
def save_draft(token: str, step_id: str):
    """What the patient has typed on a step and not saved yet, sent by the page's script (as
    they answer, and when the page is hidden or closed): kept as the step's draft, answered 204.
    CSRF-checked like every POST; only through a link that may see the saved answers."""
    if (request.content_length or 0) > drafts.MAX_BYTES * 2:
        abort(413)
    ctx = open_context(token)
    step_def = open_step(ctx, token, step_id)
    if request.form.get("draft_of") != drafts.saved_mark(step_def, ctx.answers):
        return "", 409  # sent by a page shown before the step was saved again: not kept
    try:
        fields = drafts.step_fields(step_def, request.form)
    except drafts.TooLarge:
        abort(413)
    try:
        drafts.save(ctx.screening, step_def.id, fields)
        db.session.commit()
    except NotAllowed:
        db.session.rollback()
        raise LinkProblem(410, "submitted") from None
    return "", 204


def _draft_form(ctx: Context, step_def: m.Step) -> tuple[StepForm | None, set[str] | None]:
    """The step's form holding its draft, with the questions it shows; (None, None) without a
    draft, or with one that holds nothing more than the saved answers (then forgotten)."""
    formdata = drafts.find(ctx.screening, step_def.id)
    if formdata is None:
        return None, None
    form = build_step_form(step_def)(formdata=formdata)
    posted, _ = form.typed_answers()
    saved = build_step_form(step_def)(
        formdata=None, data=saved_form_data(step_def, ctx.answers)
    ).typed_answers()[0]
    if posted == saved:
        drafts.discard(ctx.screening, step_def.id)
        db.session.commit()
        return None, None
    return form, _visibility(ctx, step_def, posted)


def render_step(
    ctx: Context,
    step_def: m.Step,
    form: StepForm | None = None,
    visible: set[str] | frozenset[str] | None = None,
    notice: str | None = None,
):
    """The step page: with `form` (and `visible`), what was posted shown again; without, the
    step's draft if there is one, else the saved answers."""
    restored = False
    if form is None:
        form, visible = _draft_form(ctx, step_def)
        restored = form is not None
    prog = ctx.progress
    previous = prog.neighbour(step_def.id, -1)
    return_to = pages.returns_to_review(request.args)
    if return_to:
        back_url = url_for("patient.review", token=ctx.token)
    elif previous:
        back_url = ctx.step_url(previous)
    else:
        back_url = url_for("patient.welcome", token=ctx.token)
    return render_template(
        "patient/step.html",
        **pages.step_page(ctx.q, prog, step_def, ctx.answers, form, visible),
        ctx=ctx,
        notice=notice,
        return_code=show_return_code(ctx.screening),
        back_url=back_url,
        return_to=return_to,
        steps=ctx.step_links(step_def.id),
        restored=restored,
        draft_url=url_for("patient.save_draft", token=ctx.token, step_id=step_def.id),
        draft_of=drafts.saved_mark(step_def, ctx.answers),
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
