"""What a step page and the review page show, worked out from the questionnaire and the answers
alone: no database, no link, no session. The patient's views (`steps`, `finish`) add their
screening's links and save through the domain; the author's preview (`screening.preview`) keeps
its answers in memory and shows the same pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING, references
from ..i18n import N_, current_language, gettext
from ..models import utcnow
from ..scoring import Assessment, Progress, type_answers, visible_questions
from .forms import StepForm, build_step_form, saved_form_data

RETURN_TO = "return_to"  # ?return_to=review: a step opened from the review page goes back there


def returns_to_review(args: Mapping[str, str]) -> bool:
    """The step was opened with a "Change" link of the review page. Only this one value is
    read: the address to go back to is always the review page of the same link, never one
    taken from the request."""
    return args.get(RETURN_TO) == "review"


def step_links(
    q: m.Questionnaire, prog: Progress, step_url: Callable[[str], str], current: str | None
) -> list[dict[str, Any]]:
    """The steps as the page's step list shows them (title, link, current, done, reachable,
    maybe: a step that later answers may still show or leave out), as many as `prog.count`."""
    listed = set(prog.steps) | set(prog.maybe)
    return [
        {
            "title": step.title,
            "url": step_url(step.id),
            "current": step.id == current,
            "done": step.id in prog.done and step.id not in prog.unfinished,
            "reachable": prog.reachable(step.id),
            "maybe": step.id in prog.maybe,
        }
        for step in q.steps
        if step.id in listed
    ]


def stems(q: m.Questionnaire, step_def: m.Step) -> dict[str, str]:
    """Question id -> the stem of its instrument (`stem` in the questionnaire), for the items on
    this step: shown with each item, so every question makes sense on its own (on a phone the
    step's intro has long scrolled away; a screen reader reads each question alone)."""
    on_step = {question.id for question in step_def.questions}
    return {
        item: instrument.stem
        for instrument in q.instruments
        if instrument.stem
        for item in instrument.items
        if item in on_step
    }


def visibility(
    q: m.Questionnaire, answers: Mapping[str, Any], step_def: m.Step, posted: dict[str, Any]
) -> set[str]:
    """The questions shown once this step's posted answers replace its saved ones."""
    typed, _ = type_answers(q, answers)
    for question in step_def.questions:
        typed.pop(question.id, None)
        if posted.get(question.id, MISSING) is not MISSING:
            typed[question.id] = posted[question.id]
    visible, _ = visible_questions(q, typed)
    return visible


def required_message(question: m.Question) -> str:
    if question.type == "multi_choice":
        text = N_("Please choose at least one answer.")
    elif question.type in ("choice", "yes_no"):
        text = N_("Please choose an answer.")
    else:
        text = N_("Please answer this question.")
    return gettext(current_language(), text)


def check_step(
    q: m.Questionnaire, answers: Mapping[str, Any], step_def: m.Step, form: StepForm
) -> tuple[dict[str, Any], set[str], bool]:
    """A posted step checked: its typed answers, the questions shown with them, and whether any
    shown question has an error (set on its field)."""
    posted, errors = form.typed_answers()
    visible = visibility(q, answers, step_def, posted)
    has_errors = False
    for field in form.question_fields():
        question = field.question
        if question.id not in visible:
            continue
        if question.id in errors:
            field.errors = [errors[question.id]]
        elif question.required and posted[question.id] is MISSING:
            field.errors = [required_message(question)]
        else:
            continue
        has_errors = True
    return posted, visible, has_errors


def step_page(
    q: m.Questionnaire,
    prog: Progress,
    step_def: m.Step,
    answers: Mapping[str, Any],
    form: StepForm | None = None,
    visible: set[str] | frozenset[str] | None = None,
) -> dict[str, Any]:
    """The parts of `patient/step.html` that come from the questionnaire and the answers: with
    `form` (and `visible`), what was posted shown again; without, the saved answers."""
    if visible is None:
        visible = prog.assessment.visible
    if form is None:
        form = build_step_form(step_def)(formdata=None, data=saved_form_data(step_def, answers))
    raised = {r.flag.id for r in prog.assessment.red_flags}
    on_page = flags_on(q, step_def)
    item_stems = stems(q, step_def)
    return {
        "q": q,
        "step": step_def,
        "stems": item_stems,
        # The intro is not shown when it is only the stem the first question carries already.
        "intro": None
        if step_def.intro and step_def.intro == item_stems.get(step_def.questions[0].id)
        else step_def.intro,
        "form": form,
        "visible": visible,
        "errors": [
            {"id": f.input_id, "label": f.question.label, "message": f.errors[0]}
            for f in form.question_fields()
            if f.errors
        ],
        "number": prog.number(step_def.id),
        "count": prog.count,
        "page_flags": [
            {"flag": flag, "shown": flag.id in raised, "after": after} for flag, after in on_page
        ],
        "script_data": script_data(q, prog.assessment, step_def, [flag for flag, _ in on_page]),
        "today_iso": utcnow().date().isoformat(),
    }


def flags_on(q: m.Questionnaire, step_def: m.Step) -> list[tuple[m.RedFlag, str]]:
    """The red flags that read this step's answers, each with the question it follows on the
    page (the last it reads), so the patient sees it as soon as it is raised."""
    order = [question.id for question in step_def.questions]
    flags = []
    for flag in q.red_flags:
        reads = set(flag.reads) & set(order)
        if reads:
            flags.append((flag, max(reads, key=order.index)))
    return flags


def script_data(
    q: m.Questionnaire, assessment: Assessment, step_def: m.Step, flags: list[m.RedFlag]
) -> dict[str, Any]:
    """What the page's script needs to show and hide questions (and flags) at once as the
    patient answers: the types of the page's questions, the answers and values from elsewhere
    that its conditions read, and how the values made on this page are computed."""
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


TOP_THINGS = 3  # the things to work on the result page leads with


def things_to_work_on(assessment: Assessment) -> list[m.RiskFactor]:
    """The risk factors the patient can change (`modifiable` in the questionnaire) that their
    answers raise, most important first: the most points first and, at equal points, in the
    questionnaire's order. Nothing the patient cannot change is in the list."""
    return [r.factor for r in assessment.to_work_on]


def review_sections(
    q: m.Questionnaire, prog: Progress, change_url: Callable[[str], str]
) -> list[dict[str, Any]]:
    """The review page's sections: each step the patient sees, with the answers to its shown
    questions as the patient reads them, and where to change each (`change_url(step_id)`, to
    the question on its step: `#question-<id>`, which the page's script focuses)."""
    assessment = prog.assessment
    language = current_language()
    sections = []
    for step_id in prog.steps:
        step_def = q.step_by_id[step_id]
        url = change_url(step_id)
        rows = [
            {
                "question": question,
                "answer": codec.display(
                    question, assessment.answers.get(question.id, MISSING), language
                ),
                "change_url": f"{url}#question-{question.id}",
            }
            for question in step_def.questions
            if question.id in assessment.visible
        ]
        shown_stems = [s for qid, s in stems(q, step_def).items() if qid in assessment.visible]
        sections.append({
            "step": step_def,
            "rows": rows,
            "change_url": url,
            "stem": shown_stems[0] if shown_stems else None,  # once, above the items
        })  # fmt: skip
    return sections
