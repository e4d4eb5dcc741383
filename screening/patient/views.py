"""The patient's side: link -> welcome -> steps -> review -> submit -> result."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from .. import i18n, services
from ..definition import model as m
from ..definition.conditions import MISSING, questions_read, references
from ..extensions import db
from ..i18n import N_, current_language, gettext
from ..models import Screening, utcnow
from ..scoring import type_answers, visible_questions
from ..services import OpenLink
from . import pages
from .display import display_answer
from .forms import StepForm, build_step_form, saved_form_data
from .markup import question_markup

bp = Blueprint("patient", __name__)
bp.add_app_template_global(question_markup)

SUBMITTED_KEY = "submitted"  # screening ids this browser submitted: may see their result page
REVIEWED_KEY = "reviewed"  # the screening whose review page this browser showed last
KIOSK_KEY = "kiosk"  # a clinic device handed to a patient: {"screening_id", "seen"}
KIOSK_DEVICE = "kiosk_device"  # this browser is a clinic device that was handed to patients


class LinkProblem(HTTPException):
    """A link that does not lead to an open screening; shown as a friendly page."""

    def __init__(self, code: int, kind: str):
        super().__init__()
        self.code, self.kind = code, kind


class StepProblem(HTTPException):
    """A step that cannot be opened now (not reached yet, or not part of this patient's path)."""

    code = 409

    def __init__(self, token: str, kind: str, code: int = 409):
        super().__init__()
        self.token, self.kind, self.code = token, kind, code


@bp.app_errorhandler(LinkProblem)
def link_problem(exc: LinkProblem):
    if session.get(KIOSK_DEVICE):
        return render_template("patient/kiosk_done.html"), exc.code
    return render_template("patient/link_error.html", kind=exc.kind), exc.code


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
    from ..staff.invitations import InvitationError, new_link

    kiosk = session.get(KIOSK_KEY) or {}
    screening = db.session.get(Screening, kiosk.get("screening_id", 0))
    if screening is not None:
        try:
            new_link(screening)
            db.session.commit()
        except InvitationError:
            db.session.rollback()  # submitted or revoked: its link already shows nothing
    session.clear()
    session[KIOSK_DEVICE] = True


@bp.route("/kiosk/end", methods=["POST"])
def kiosk_end():
    if KIOSK_KEY in session:
        end_kiosk()
    return redirect(url_for("patient.kiosk_done"), code=303)


@bp.route("/kiosk")
def kiosk_done():
    return render_template("patient/kiosk_done.html")


@bp.after_request
def no_store(response):
    # Health information on possibly shared devices: never cache, never send the link onward.
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _may_see_result(screening: Screening) -> bool:
    return screening.id in session.get(SUBMITTED_KEY, [])


DOUBLE_CLICK = dt.timedelta(minutes=2)
SAME_LINK_PATH = re.compile(r"(?:/[A-Za-z0-9_-]+)+")


def _just_submitted(screening: Screening) -> bool:
    return screening.submitted_at is not None and utcnow() - screening.submitted_at < DOUBLE_CLICK


def _remember_submission(screening: Screening) -> None:
    """This browser sent the answers: it may see the result page and the patient's copy."""
    seen = [i for i in session.get(SUBMITTED_KEY, []) if i != screening.id][-4:]
    session[SUBMITTED_KEY] = [*seen, screening.id]


def open_screening(token: str, *, submitted_ok: bool = False) -> Screening:
    return _admitted(services.find_by_token(token), submitted_ok)


def open_context(token: str, *, to_change: bool = False) -> Context:
    """The screening of an open link with its saved answers and steps (one statement), read
    without the session; `to_change`: the screening opened in the session as an ORM object, for
    a request that changes more than its answers (the submission)."""
    found = services.open_by_token(token) if to_change else services.read_by_token(token)
    if found is None:
        raise LinkProblem(404, "unknown")
    screening, answers, done = found
    return Context(_admitted(screening, submitted_ok=False), (answers, done))


def _admitted(
    screening: Screening | OpenLink | None, submitted_ok: bool
) -> Screening | OpenLink:
    """`screening` if its link may be used now (a LinkProblem page otherwise); the rest of the
    request speaks the patient's language."""
    if screening is None:
        raise LinkProblem(404, "unknown")
    i18n.use_language(services.patient_language(screening))
    status = screening.effective_status()
    if status == "submitted":
        if submitted_ok and _may_see_result(screening):
            return screening
        raise LinkProblem(410, "submitted")
    if status in ("expired", "revoked"):
        raise LinkProblem(410, status)
    return screening


class Context:
    """Everything a patient page needs about one screening, read once per request."""

    def __init__(
        self,
        screening: Screening | OpenLink,
        saved: tuple[dict[str, Any], set[str]],
        base_q: m.Questionnaire | None = None,
    ):
        """`screening`: as read to be submitted (`services.open_by_token`) or to be shown or
        have a step saved (`services.read_by_token`); `saved`: its answers and finished steps;
        `base_q`: its questionnaire, when known (read from the screening otherwise)."""
        self.screening = screening
        # The clinic's questionnaire (scoring, submission) and the patient's copy of its texts.
        self.base_q = base_q or services.questionnaire_for(screening)
        self.q = self.base_q.localized(current_language())
        self.answers, done = saved
        self.progress = services.progress(self.q, self.answers, done)

    def after_saving(self, step_id: str, changes: dict[str, Any]) -> Context:
        """This screening once `services.save_step` stored `changes` for `step_id` (no second
        read of the database)."""
        answers = {**self.answers, **changes}
        for question_id in [k for k, v in changes.items() if v is None]:
            del answers[question_id]
        # The questionnaire is passed on: the committed screening would be read again for it.
        return Context(self.screening, (answers, set(self.progress.done) | {step_id}), self.base_q)

    def step_url(self, step_id: str, **kwargs: Any) -> str:
        if kwargs:
            return url_for("patient.step", token=self.token, step_id=step_id, **kwargs)
        # The step list links every step: one url_for, then the step's id in its place (ids
        # are plain identifiers, nothing to quote).
        return self._step_url_stem + step_id

    @cached_property
    def _step_url_stem(self) -> str:
        return url_for("patient.step", token=self.token, step_id="_").removesuffix("_")

    @property
    def token(self) -> str:
        return request.view_args["token"]

    @property
    def other_languages(self) -> list[tuple[str, str]]:
        """(code, name) of the languages the patient may switch to."""
        here = current_language()
        return [
            (code, i18n.language_name(code))
            for code in services.patient_languages(self.base_q)
            if code != here
        ]

    def continue_url(self) -> str:
        first = self.progress.first_unfinished
        if first is None:
            return url_for("patient.review", token=self.token)
        return self.step_url(first)

    def step_links(self, current: str | None) -> list[dict[str, Any]]:
        links = []
        for step_id in self.progress.steps:
            links.append(
                {
                    "title": self.q.step_by_id[step_id].title,
                    "url": self.step_url(step_id),
                    "current": step_id == current,
                    "done": step_id in self.progress.done
                    and step_id not in self.progress.unfinished,
                    "reachable": self.progress.reachable(step_id),
                }
            )
        return links


def raised_flags(
    q: m.Questionnaire, assessment: Any, exclude_questions: set[str]
) -> list[m.RedFlag]:
    """Red flags to show the patient now: raised, and not about questions on the current page."""
    flags = []
    for result in assessment.red_flags:
        reads = {ref for kind, ref in references(result.flag.when) if kind == "question"}
        if not reads & exclude_questions:
            flags.append(result.flag)
    return sorted(flags, key=lambda f: m.URGENCIES.index(f.urgency))


# --- pages ------------------------------------------------------------------------------------


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
        step_count=len(ctx.progress.steps),
    )


@bp.route("/s/<token>/language", methods=["POST"])
def language(token: str):
    """The patient switches the language of the questionnaire (kept for the next visit too)."""
    screening = open_screening(token)
    chosen = request.form.get("language", "")
    if chosen not in services.patient_languages(services.questionnaire_for(screening)):
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
    ctx = open_context(token)
    return redirect(ctx.continue_url(), code=303)


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
    typed, _ = type_answers(ctx.q, ctx.answers)
    for question in step_def.questions:
        typed.pop(question.id, None)
        if posted.get(question.id, MISSING) is not MISSING:
            typed[question.id] = posted[question.id]
    visible, _ = visible_questions(ctx.q, typed)
    return visible


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
        # The same step posted twice at once (a double click) is settled by the database: see
        # services.save_step.
        changes = services.save_step(
            ctx.screening, ctx.q, step_def.id, posted, visible, done=ctx.progress.done
        )
        db.session.commit()
    except services.NotAllowed:
        # Submitted or revoked since the link was read: the page for what it is now.
        db.session.rollback()
        open_context(ctx.token)
        raise LinkProblem(410, "submitted") from None
    after = ctx.after_saving(step_def.id, changes)
    if request.args.get("return") == "review" or step_def.id == after.progress.steps[-1]:
        return redirect(after.continue_url(), code=303)
    following = after.progress.neighbour(step_def.id, 1)
    if following is None or not after.progress.reachable(following):
        return redirect(after.continue_url(), code=303)
    return redirect(after.step_url(following), code=303)


def _required_message(question: m.Question) -> str:
    if question.type == "multi_choice":
        text = N_("Please choose at least one answer.")
    elif question.type in ("choice", "yes_no"):
        text = N_("Please choose an answer.")
    else:
        text = N_("Please answer this question.")
    return gettext(current_language(), text)


def render_step(
    ctx: Context,
    step_def: m.Step,
    form: StepForm | None = None,
    visible: set[str] | frozenset[str] | None = None,
    notice: str | None = None,
):
    """The step page: with `form` (and `visible`), posted answers shown again; without, the
    saved answers, in a form built only when the page was not kept (screening.patient.pages)."""
    q, prog = ctx.q, ctx.progress
    plan = _step_plan(q, step_def)
    if visible is None:
        visible = prog.assessment.visible
    raised = {r.flag.id for r in prog.assessment.red_flags}
    page_flags = [
        {"flag": flag, "shown": flag.id in raised, "after": after} for flag, after in plan.flags
    ]
    banner_flags = raised_flags(q, prog.assessment, plan.on_page)
    script_data = _script_data(ctx, plan)
    return_to = request.args.get("return") == "review"
    key = None
    if form is None and notice is None and pages.chosen_only(q, script_data["known"]):
        key = _page_key(ctx, step_def, visible, page_flags, banner_flags, script_data, return_to)

    def context() -> dict[str, Any]:
        shown = form
        if shown is None:
            shown = build_step_form(step_def)(
                formdata=None, data=saved_form_data(step_def, ctx.answers)
            )
        previous = prog.neighbour(step_def.id, -1)
        return {
            "ctx": ctx,
            "q": q,
            "step": step_def,
            "form": shown,
            "visible": visible,
            "errors": [
                {"id": f.input_id, "label": f.question.label, "message": f.errors[0]}
                for f in shown.question_fields()
                if f.errors
            ],
            "notice": notice,
            "number": prog.number(step_def.id),
            "count": len(prog.steps),
            "back_url": ctx.step_url(previous)
            if previous
            else url_for("patient.welcome", token=ctx.token),
            "return_to": return_to,
            "steps": ctx.step_links(step_def.id),
            "page_flags": page_flags,
            "banner_flags": banner_flags,
            "script_data": script_data,
        }

    return pages.render("patient/step.html", key, ctx.token, q, context)


def _page_key(
    ctx: Context,
    step_def: m.Step,
    visible: set[str] | frozenset[str],
    page_flags: list[dict[str, Any]],
    banner_flags: list[m.RedFlag],
    script_data: dict[str, Any],
    return_to: bool,
) -> tuple | None:
    """Everything a step page of saved answers is made from but its questionnaire copy, the
    link and the CSRF token (screening.patient.pages); None when a question on it holds
    something the patient typed (only options chosen, or nothing, may be kept). The questions'
    fields follow from their saved answers and visibility; the step list, the back link and the
    page's number from the steps' ids, the finished and the unfinished ones; the clinic's name
    and contact from the application and the language."""
    saved = []
    for question in step_def.questions:
        answer = ctx.answers.get(question.id)
        if answer is not None and question.type not in pages.CHOSEN_TYPES:
            return None
        saved.append(answer)
    prog = ctx.progress
    return (
        step_def.id,
        current_language(),
        utcnow().date(),  # a date question's bounds
        KIOSK_KEY in session,
        return_to,
        json.dumps(saved),
        tuple(question.id in visible for question in step_def.questions),
        prog.steps,
        tuple(sorted(prog.done)),
        prog.unfinished,
        tuple(pf["shown"] for pf in page_flags),
        tuple(flag.id for flag in banner_flags),
        json.dumps(script_data["known"], sort_keys=True),  # the rest is the step's own
    )


@dataclass(frozen=True)
class _StepPlan:
    """What a step page is made of that follows from the questionnaire alone: worked out once
    per step of each questionnaire copy (`_step_plan`), not on every page."""

    on_page: frozenset[str]  # the step's question ids
    flags: tuple[tuple[m.RedFlag, str], ...]  # flags reading the step, the question they follow
    types: dict[str, str]  # question id -> type, for the page's script (never changed)
    known_questions: tuple[str, ...]  # answers from other steps the page's conditions read
    known_values: tuple[tuple[str, bool], ...]  # values they read from elsewhere (computed?)
    values: tuple[tuple[str, str, tuple[str, ...]], ...]  # values made on the page: kind, inputs


def _step_plan(q: m.Questionnaire, step_def: m.Step) -> _StepPlan:
    """`step_def`'s plan in `q`, kept on `q` (a frozen dataclass's own cache, as
    `conditions.questions_read` keeps the questions a condition reads)."""
    kept = q.__dict__.setdefault("_step_plans", {})
    plan = kept.get(step_def.id)
    if plan is None:
        plan = kept[step_def.id] = _make_step_plan(q, step_def)
    return plan


def _make_step_plan(q: m.Questionnaire, step_def: m.Step) -> _StepPlan:
    order = [question.id for question in step_def.questions]
    on_page = frozenset(order)
    flags = []
    for flag in q.red_flags:
        reads = set(questions_read(q, flag.when)) & on_page
        if reads:
            flags.append((flag, max(reads, key=order.index)))
    conditions = [question.show_if for question in step_def.questions if question.show_if]
    conditions += [flag.when for flag, _ in flags]
    known_questions: dict[str, None] = {}
    known_values: dict[str, bool] = {}
    values: dict[str, tuple[str, tuple[str, ...]]] = {}
    for condition in conditions:
        for kind, ref in sorted(references(condition)):
            if kind == "question" and ref not in on_page:
                known_questions[ref] = None
            elif kind == "value":
                inputs = q.value_inputs(ref)
                computed = ref in q.computed_by_id
                if all(i in on_page for i in inputs):
                    values[ref] = (q.computed_by_id[ref].kind if computed else "sum", inputs)
                else:
                    known_values[ref] = computed
    return _StepPlan(
        on_page=on_page,
        flags=tuple(flags),
        types={question.id: question.type for question in step_def.questions},
        known_questions=tuple(known_questions),
        known_values=tuple(known_values.items()),
        values=tuple((ref, kind, inputs) for ref, (kind, inputs) in values.items()),
    )


def _script_data(ctx: Context, plan: _StepPlan) -> dict[str, Any]:
    """What the page's script needs to show and hide questions at once as the patient answers."""
    assessment = ctx.progress.assessment
    known: dict[str, Any] = {}
    for ref in plan.known_questions:
        if ref in assessment.answers:
            known[ref] = services.to_json_value(assessment.answers[ref])
    for ref, computed in plan.known_values:
        current = (
            assessment.computed.get(ref) if computed else assessment.instruments[ref].score
        )
        if current is not None and current is not MISSING:
            known[ref] = current
    values = {ref: {"kind": kind, "inputs": list(inputs)} for ref, kind, inputs in plan.values}
    return {"types": dict(plan.types), "known": known, "values": values}


@bp.route("/s/<token>/review")
def review(token: str):
    ctx = open_context(token)
    if not ctx.progress.complete:
        return redirect(ctx.continue_url(), code=303)
    assessment = ctx.progress.assessment
    sections = []
    for step_id in ctx.progress.steps:
        step_def = ctx.q.step_by_id[step_id]
        rows = [
            {
                "question": question,
                "answer": display_answer(
                    question, assessment.answers.get(question.id, MISSING), current_language()
                ),
            }
            for question in step_def.questions
            if question.id in assessment.visible
        ]
        sections.append(
            {
                "step": step_def,
                "rows": rows,
                "change_url": ctx.step_url(step_id, **{"return": "review"}),
            }
        )
    session[REVIEWED_KEY] = ctx.screening.id
    return render_template(
        "patient/review.html",
        ctx=ctx,
        q=ctx.q,
        sections=sections,
        banner_flags=raised_flags(ctx.q, assessment, set()),
        steps=ctx.step_links(None),
    )


@bp.route("/s/<token>/submit", methods=["POST"])
def submit(token: str):
    screening = services.find_by_token(token)
    if (
        screening is not None
        and screening.status == "submitted"
        and (
            _may_see_result(screening)
            or (_just_submitted(screening) and session.get(REVIEWED_KEY) == screening.id)
        )
    ):
        # A second click from the browser that showed the review page: the first click's cookie
        # may not have reached it yet. Any other browser gets "already sent".
        _remember_submission(screening)
        return redirect(url_for("patient.result", token=token), code=303)
    ctx = open_context(token, to_change=True)
    if not ctx.progress.complete:
        return redirect(ctx.continue_url(), code=303)
    try:
        submitted_now = services.submit(ctx.screening, ctx.base_q)
        db.session.commit()
    except services.NotAllowed:
        db.session.rollback()
        return redirect(ctx.continue_url(), code=303)
    _remember_submission(ctx.screening)
    if submitted_now and ctx.screening.has_red_flag:
        from ..staff.invitations import notify_red_flag

        notify_red_flag(ctx.screening)  # a failure is recorded for staff, never shown here
        db.session.commit()
    return redirect(url_for("patient.result", token=token), code=303)


@bp.route("/s/<token>/result")
def result(token: str):
    screening = open_screening(token, submitted_ok=True)
    if screening.status != "submitted":
        abort(404)
    q = services.questionnaire_for(screening).localized(current_language())
    assessment = services.assessment_of(screening, q)
    work_on = [r.factor for r in assessment.factors if r.factor.modifiable]
    flags = sorted(
        (r.flag for r in assessment.red_flags), key=lambda f: m.URGENCIES.index(f.urgency)
    )
    return render_template(
        "patient/result.html",
        q=q,
        screening=screening,
        work_on=work_on,
        flags=flags,
        token=token,
        kiosk=KIOSK_KEY in session,  # a clinic device: a way to finish, no copy to download
    )


@bp.route("/s/<token>/my-summary.pdf")
def patient_copy(token: str):
    """The patient's own plain-language copy (same browser that submitted)."""
    from ..report.store import document_for, pdf_response, settings_from

    screening = open_screening(token, submitted_ok=True)
    if screening.status != "submitted":
        abort(404)
    document = document_for(screening, "patient_copy", settings_from(current_app.config))
    db.session.commit()
    return pdf_response(document.content, document.sha256, "my-pre-surgery-summary.pdf")


def speak_the_patients_language() -> None:
    """On a page of a patient's link refused before its view ran (a CSRF failure): the rest of
    the request in that patient's language."""
    token = (request.view_args or {}).get("token") if request.blueprint == "patient" else None
    screening = services.find_by_token(token) if token else None
    if screening is not None:
        i18n.use_language(services.patient_language(screening))


def reshow_after_csrf_failure():
    """A step posted with an expired or missing CSRF token: show it again with what was typed."""
    token, step_id = request.view_args["token"], request.view_args["step_id"]
    ctx = open_context(token)
    step_def = open_step(ctx, token, step_id)
    form = build_step_form(step_def)()
    posted, _ = form.typed_answers()
    visible = _visibility(ctx, step_def, posted)
    notice = gettext(
        current_language(),
        N_(
            "This page was open for a long time, so for your security we could not save it "
            "yet. Your answers are still here: please check them and press Continue again."
        ),
    )
    return render_step(ctx, step_def, form, visible=visible, notice=notice), 400
