"""The clinician's summary's content: what page 1 holds (cut to fit), the detail, and "All
answers", from an assessment and the clinic's records. Pure: the template draws it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING
from ..scoring import Assessment
from .info import FlagStatus, PatientInfo

# --- the summary's content --------------------------------------------------------------------
#
# Page 1 holds what a surgeon acts on; then the detail; then "All answers" on pages of their own.
# Every fact is printed once before "All answers": an answer shown on page 1 (the planned
# surgery, the goals) or in an instrument's table is not repeated under a risk factor.


@dataclass(frozen=True)
class Fit:
    """How much page 1 holds; the renderer takes the first that keeps page 1 on one page, and
    page 1 says where what it leaves out continues."""

    factors: int  # top modifiable factors with their actions
    flag_messages: bool  # each flag's message for the surgical team on page 1
    note_chars: int | None  # acknowledgement notes cut to this length (in full in the detail)
    flags: int | None  # at most this many flags on page 1 (the most urgent)


FITS = (
    Fit(5, True, None, None),
    Fit(3, True, None, None),
    Fit(3, False, None, None),
    Fit(3, False, 120, None),
    Fit(2, False, 60, 4),
)
PAGE_ONE_END = "page-one-end"  # an anchor at the end of page 1's content


def _answer_text(q: m.Questionnaire, question_id: str, value: Any) -> str:
    return codec.display(q.questions[question_id], value)


def _order(q: m.Questionnaire) -> dict[str, int]:
    return {f.id: i for i, f in enumerate(q.risk_factors)}


def top_modifiable(a: Assessment) -> list[Any]:
    """The modifiable factors that apply, the most important first (Assessment.to_work_on)."""
    return list(a.to_work_on)


def _flag_rows(a: Assessment, info: PatientInfo, fit: Fit) -> list[dict[str, Any]]:
    """The red flags, most urgent first (then the order they were raised), each with its status
    from the clinic's records; without records (an offline rendering), the flags the answers
    raise, with no status."""
    q = a.questionnaire
    answered = _flag_times(a, info)
    if info.flags is None:
        statuses = [FlagStatus(r.flag.id, raised_at=answered[r.flag.id]) for r in a.red_flags]
        recorded = False
    else:
        statuses, recorded = list(info.flags), True
    rows = []
    for status in statuses:
        flag = q.red_flag_by_id.get(status.flag_id)
        urgency = flag.urgency if flag else "review"
        note = status.note or ""
        cut = fit.note_chars is not None and len(note) > fit.note_chars
        rows.append(
            {
                "title": flag.title if flag else status.flag_id.replace("_", " ").capitalize(),
                "urgency": m.URGENCY_LABELS[urgency],
                "rank": m.URGENCIES.index(urgency),
                "message": flag.clinician_message if flag else "",
                "raised_at": status.raised_at,
                "withdrawn": status.withdrawn_at is not None,
                "recorded": recorded,
                "acknowledged_by": status.acknowledged_by,
                "acknowledged_at": status.acknowledged_at,
                "note": note,
                "short_note": note[: fit.note_chars].rstrip() + "…" if cut else note,
                "note_cut": cut,
            }
        )
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    rows.sort(key=lambda r: (r["rank"], r["raised_at"] or epoch))
    return rows


def _scales(a: Assessment) -> list[dict[str, Any]]:
    """One scale per axis (or one for the total, with no axes), each drawn from 0 to the most
    points it can have under the questionnaire: the same length means the same points for
    every patient."""
    q = a.questionnaire
    if a.axes:
        rows = [
            (r.axis.label, r.axis.outcome, r.points, r.max, r.tier or None, r.axis.tiers,
             r.reached if not r.complete else None, r.floors)
            for r in a.axes
        ]  # fmt: skip
    else:
        reached = None if a.complete else a.reached_tier
        rows = [("Total", None, a.total, a.max_total, a.tier, q.tiers, reached, ())]
    return [
        _scale(label, outcome, points, top, tier, tiers, at_least, floors)
        for label, outcome, points, top, tier, tiers, at_least, floors in rows
    ]


SCALE_WIDTH = 300.0
TIER_FILLS = ("#d9efe0", "#fbe8c2", "#f6cccc", "#e9b3b3")


def _scale(label, outcome, points, top, tier, tiers, at_least, floors) -> dict[str, Any]:
    top = max(top, points, 1)
    segments, start = [], 0
    for i, t in enumerate(tiers):
        end = top + 1 if t.max is None else min(t.max + 1, top + 1)
        if end > start:
            x, w = start / (top + 1) * SCALE_WIDTH, (end - start) / (top + 1) * SCALE_WIDTH
            text = f"{t.label} {start}–{end - 1}" if end - 1 > start else f"{t.label} {start}"
            if len(text) * 4.2 > w:  # too long for its segment at 7 pt: the name alone
                text = t.label if len(t.label) * 4.2 <= w else ""
            segments.append({"x": x, "w": w, "text": text, "fill": TIER_FILLS[i % 4]})
        start = end
    # The marker stands in the middle of the points' cell; its label never leaves the picture.
    marker = (min(points, top) + 0.5) / (top + 1) * SCALE_WIDTH
    anchor = "start" if marker < 30 else "end" if marker > SCALE_WIDTH - 30 else "middle"
    return {
        "label": label, "outcome": outcome, "points": points, "max": top, "tier": tier,
        "at_least": at_least, "floors": floors, "segments": segments, "marker": marker,
        "anchor": anchor, "width": SCALE_WIDTH,
    }  # fmt: skip


def _instrument_rows(a: Assessment) -> list[dict[str, Any]]:
    q = a.questionnaire
    rows = []
    for result in a.instruments.values():
        # Only the items the patient was shown: a hidden item is not asked (AUDIT-C's drinks
        # questions after "Never" count 0), and an instrument none of whose items was shown was
        # not given (STarT Back before neck surgery).
        shown = [item for item in result.instrument.items if item in a.visible]
        if not shown:
            continue
        items = []
        for item in shown:
            value = a.answers.get(item, MISSING)
            items.append(
                {
                    "id": item,
                    "label": q.questions[item].label,
                    "answer": _answer_text(q, item, value),
                    "value": "" if value is MISSING else value,
                }
            )
        # A subscale whose items an instrument printed before holds them all: its table would
        # print the same answers twice, so it names that instrument instead.
        within = next((r["instrument"].label for r in rows
                       if set(shown) <= {i["id"] for i in r["items"]}), None)  # fmt: skip
        rows.append(
            {
                "instrument": result.instrument,
                "score": result.score,
                "band": result.band,
                "items": items,
                "within": within,
                "max": result.instrument.bands[-1].max,
            }
        )
    return rows


def _two_columns(instruments: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The instruments' tables in two columns of about the same height, in their order (a
    table's cells: far cheaper to lay out than CSS columns). A row's height is guessed from
    its label's length (about 45 characters a line in a half-page column)."""

    def height(i: dict[str, Any]) -> int:
        if i["within"]:
            return 2
        return 2 + sum(1 + len(item["label"]) // 45 for item in i["items"])

    heights = [height(i) for i in instruments]
    best = min(range(len(instruments) + 1),
               key=lambda cut: max(sum(heights[:cut]), sum(heights[cut:])))  # fmt: skip
    return [instruments[:best], instruments[best:]]


def _answers_of(a: Assessment, ids: Any) -> list[dict[str, str]]:
    q = a.questionnaire
    return [
        {"label": q.questions[i].label, "answer": _answer_text(q, i, a.answers[i])}
        for i in ids
        if i in a.visible and i in a.answers
    ]


def _planned_surgery(a: Assessment) -> dict[str, Any]:
    """The planned surgery, question by question (those the clinic may also enter): as the
    patient answered it and as the clinic entered it."""
    q = a.questionnaire
    entries = {e.question_id: e.clinic for e in a.clinic}
    rows = []
    for question in q.questions.values():
        if not question.clinic:
            continue
        patient = a.answers.get(question.id, MISSING) if question.id in a.visible else MISSING
        clinic = entries.get(question.id, MISSING)
        if patient is MISSING and clinic is MISSING:
            continue
        rows.append(
            {
                "label": question.label,
                "patient": "" if patient is MISSING else _answer_text(q, question.id, patient),
                "clinic": "" if clinic is MISSING else _answer_text(q, question.id, clinic),
            }
        )
    return {"rows": rows, "asked": [qq.id for qq in q.questions.values() if qq.clinic]}


def _detail_factors(a: Assessment, on_page_one: set[str]) -> list[dict[str, Any]]:
    """The factors that apply, grouped by axis (or by category with no axes), each with why
    it matters and its evidence, and its action unless page 1 has it. The answers behind them
    are under "All answers" (printed once)."""
    order = _order(a.questionnaire)
    if a.axes:
        groups = [
            (r.axis.label, r.points, r.max, [f for f in a.factors if f.factor.axis == r.axis.id])
            for r in a.axes
        ]
    else:
        groups = [
            (m.CATEGORY_LABELS[c], a.category_points[c], None,
             [f for f in a.factors if f.factor.category == c])
            for c in m.CATEGORIES
        ]  # fmt: skip
    return [
        {
            "label": label,
            "points": points,
            "max": top,
            "factors": [
                {"factor": r.factor, "action": r.factor.id not in on_page_one}
                for r in sorted(
                    results,
                    key=lambda r: (not r.factor.modifiable, -r.factor.points, order[r.factor.id]),
                )
            ],
        }  # fmt: skip
        for label, points, top, results in groups
        if results
    ]


def _unknown_rows(a: Assessment) -> list[dict[str, Any]]:
    """Each factor that may apply (the answers that did not tell are `_unknown_answers`)."""
    q = a.questionnaire
    return [
        {"factor": r.factor, "axis": q.axis_by_id[r.factor.axis].label if r.factor.axis else None}
        for r in a.unknowns
    ]


def _unknown_answers(a: Assessment, printed: set[str]) -> dict[str, Any]:
    """The answers that did not tell ("Not sure"), each once though several factors read it
    (the procedure type decides four), in the questionnaire's order; those page 1 shows (the
    planned surgery) are named by where they are instead."""
    q = a.questionnaire
    found = {i: v for r in a.unknowns for i, v in r.answers if i in a.unknown_answers(r)}
    return {
        "answers": [
            {"label": question.label, "answer": _answer_text(q, i, found[i])}
            for i, question in q.questions.items()
            if i in found and i not in printed
        ],
        "on_page_one": any(i in printed for i in found),
    }


def _clinic_rows(a: Assessment) -> list[dict[str, Any]]:
    """Where the clinic's entry and the patient's answer differ (page 1 shows the entries)."""
    q = a.questionnaire
    return [
        {
            "label": q.questions[e.question_id].label,
            "clinic": _answer_text(q, e.question_id, e.clinic),
            "patient": _answer_text(q, e.question_id, e.patient),
        }
        for e in a.clinic
        if e.differs and e.patient is not MISSING
    ]


def _appendix(a: Assessment) -> list[dict[str, Any]]:
    q = a.questionnaire
    sections = []
    for step_id in a.visible_steps:
        step = q.step_by_id[step_id]
        rows = []
        for question in step.questions:
            if question.id not in a.visible:
                continue
            value = a.answers.get(question.id, MISSING)
            text = codec.display(question, value)
            if value is MISSING and not question.required:
                text = f"{codec.NOT_ANSWERED} (optional)"
            rows.append({"label": question.label, "answer": text, "missing": value is MISSING})
        sections.append({"title": step.title, "rows": rows})
    return sections


def _credits(q: m.Questionnaire) -> list[str]:
    """What the instruments' owners and the code systems ask to be printed with them."""
    lines = [i.attribution for i in q.instruments if i.attribution] + list(q.notices)
    return list(dict.fromkeys(lines))  # a subscale shares its instrument's line: printed once


def _sources(instruments: list[dict[str, Any]]) -> list[str]:
    """The instruments' sources, each once, printed with the credits."""
    return list(
        dict.fromkeys(i["instrument"].source for i in instruments if i["instrument"].source)
    )


def _flag_times(a: Assessment, info: PatientInfo) -> dict[str, dt.datetime | None]:
    times = {}
    for r in a.red_flags:
        moments = [info.answered_at[i] for i, _ in r.answers if i in info.answered_at]
        times[r.flag.id] = max(moments) if moments else info.screening_date
    return times


PARTS = ("page_one", "detail", "answers")


def summary_context(
    a: Assessment,
    info: PatientInfo,
    fit: Fit = FITS[0],
    overflowed: bool = False,
    parts: tuple[str, ...] = PARTS,
) -> dict[str, Any]:
    """What the summary's template shows, page 1 cut to `fit`; `parts`: which of page 1, the
    detail and "All answers" it holds (all three but for a benchmark)."""
    q = a.questionnaire
    flags = _flag_rows(a, info, fit)
    for i, f in enumerate(flags):
        f["on_page_one"] = fit.flags is None or i < fit.flags
        f["detail_status"] = not f["on_page_one"] or f["note_cut"]
        f["detail_message"] = bool(f["message"]) and (not f["on_page_one"] or not fit.flag_messages)
    shown_flags = [f for f in flags if f["on_page_one"]]
    work_on = top_modifiable(a)
    surgery = _planned_surgery(a)
    instruments = _instrument_rows(a)
    order = _order(q)
    also = sorted((r for r in a.factors if not r.factor.modifiable),
                  key=lambda r: (-r.factor.points, order[r.factor.id]))  # fmt: skip
    return {
        "flags": shown_flags,
        "more_flags": len(flags) - len(shown_flags),
        "flags_in_detail": flags,  # with when each was answered
        "fit": fit,
        "overflowed": overflowed,
        "scales": _scales(a),
        "work_on": work_on[: fit.factors],
        "more_work_on": len(work_on) - min(len(work_on), fit.factors),
        "also_counted": also,
        "instruments": instruments,
        "instrument_columns": _two_columns(instruments),
        "goals": _answers_of(a, q.summary_goals),
        "surgery": surgery,
        "detail": _detail_factors(a, {r.factor.id for r in work_on[: fit.factors]}),
        "unknowns": _unknown_rows(a),
        "unknown_answers": _unknown_answers(a, set(surgery["asked"])),
        "clinic_rows": _clinic_rows(a),
        "appendix": _appendix(a),
        "credits": _credits(q),
        "sources": _sources(instruments),
        "page_one_end": PAGE_ONE_END,
        "parts": parts,
    }
