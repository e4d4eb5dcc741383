"""A step of the questionnaire: shown with the saved answers, posted, checked, saved."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING, references
from ..domain import NotAllowed, answering, links, questionnaires
from ..extensions import db
from ..i18n import N_, current_language, gettext, use_language
from ..models import utcnow
from ..scoring import type_answers, visible_questions
from ..web import KIOSK_KEY
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
    typed, _ = type_answers(ctx.q, ctx.answers)
    for question in step_def.questions:
        typed.pop(question.id, None)
        if posted.get(question.id, MISSING) is not MISSING:
            typed[question.id] = posted[question.id]
    visible, _ = visible_questions(ctx.q, typed)
    return visible


def _required_message(question: m.Question) -> str:
    if question.type == "multi_choice":
        text = N_("Please choose at least one answer.")
    elif question.type in ("choice", "yes_no"):
        text = N_("Please choose an answer.")
    else:
        text = N_("Please answer this question.")
    return gettext(current_language(), text)


def _post_step(ctx: Context, step_def: m.Step, form: StepForm):
    posted, errors = form.typed_answers()
    visible = _visibility(ctx, step_def, posted)
    has_errors = False
    for field in form.question_fields():
        question = field.question
        if question.id not in visible:
            continue
        if question.id in errors:
            field.errors = [errors[question.id]]
        elif question.required and posted[question.id] is MISSING:
            field.errors = [_required_message(question)]
        else:
            continue
        has_errors = True
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
    q, prog = ctx.q, ctx.progress
    if visible is None:
        visible = prog.assessment.visible
    if form is None:
        form = build_step_form(step_def)(formdata=None, data=saved_form_data(step_def, ctx.answers))
    raised = {r.flag.id for r in prog.assessment.red_flags}
    flags_on = _flags_on(q, step_def)
    previous = prog.neighbour(step_def.id, -1)
    return render_template(
        "patient/step.html",
        ctx=ctx,
        q=q,
        step=step_def,
        form=form,
        visible=visible,
        errors=[
            {"id": f.input_id, "label": f.question.label, "message": f.errors[0]}
            for f in form.question_fields()
            if f.errors
        ],
        notice=notice,
        return_code=show_return_code(ctx.screening),
        number=prog.number(step_def.id),
        count=len(prog.steps),
        back_url=ctx.step_url(previous)
        if previous
        else url_for("patient.welcome", token=ctx.token),
        return_to=request.args.get("return") == "review",
        steps=ctx.step_links(step_def.id),
        page_flags=[
            {"flag": flag, "shown": flag.id in raised, "after": after} for flag, after in flags_on
        ],
        script_data=_script_data(ctx, step_def, [flag for flag, _ in flags_on]),
        today_iso=utcnow().date().isoformat(),
    )


def _flags_on(q: m.Questionnaire, step_def: m.Step) -> list[tuple[m.RedFlag, str]]:
    """The red flags that read this step's answers, each with the question it follows on the
    page (the last it reads), so the patient sees it as soon as it is raised."""
    order = [question.id for question in step_def.questions]
    flags = []
    for flag in q.red_flags:
        reads = set(flag.reads) & set(order)
        if reads:
            flags.append((flag, max(reads, key=order.index)))
    return flags


def _script_data(ctx: Context, step_def: m.Step, flags: list[m.RedFlag]) -> dict[str, Any]:
    """What the page's script needs to show and hide questions (and flags) at once as the
    patient answers: the types of the page's questions, the answers and values from elsewhere
    that its conditions read, and how the values made on this page are computed."""
    q, assessment = ctx.q, ctx.progress.assessment
    on_page = {question.id for question in step_def.questions}
    conditions = [question.show_if for question in step_def.questions if question.show_if]
    conditions += [flag.when for flag in flags]
    known: dict[str, Any] = {}
    values: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        for kind, ref in sorted(references(condition)):
            if kind == "question":
                if ref not in on_page and ref in assessment.answers:
                    known[ref] = codec.to_stored(assessment.answers[ref])
                continue
            inputs = q.value_inputs(ref)
            computed = q.computed_by_id.get(ref)
            if all(i in on_page for i in inputs):  # worked out in the browser as they are typed
                kind = computed.kind if computed else "sum"
                values[ref] = {"kind": kind, "inputs": list(inputs)}
                continue
            if computed:
                current = assessment.computed.get(ref)
            else:
                current = assessment.instruments[ref].score
            if current is not None and current is not MISSING:
                known[ref] = current
    types = {question.id: question.type for question in step_def.questions}
    return {"types": types, "known": known, "values": values}


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
