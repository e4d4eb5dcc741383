"""score(questionnaire, answers) -> Assessment. Pure and deterministic: no Flask, no database.

Answers are typed by their question, never by their JSON spelling ("2" and 2 are the same option);
a blank is no answer, never 0. Hidden questions (and questions hidden because their step or the
question they hang on is hidden) keep no answer for scoring.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .definition import model as m
from .definition.conditions import MISSING, evaluate, questions_read
from .i18n import CLINIC_LANGUAGE, N_, format_value, message

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Sanity bounds used when a height or weight question gives none of its own.
DEFAULT_BOUNDS = {"height": (30.0, 300.0), "weight": (2.0, 700.0)}


class AnswerError(ValueError):
    """An answer that cannot be used; the message is written for the patient.

    `template` (in the catalog of translations) and `params` let the patient's pages say it in
    the patient's language; `str()` is the English sentence.
    """

    def __init__(self, template: str, **params: Any):
        self.template, self.params = template, params
        super().__init__(message(template, params, CLINIC_LANGUAGE))


def _bound(value: Any, today: dt.date) -> Any:
    return today if value == "today" else value


def _fmt(value: Any) -> str:
    return format_value(value)


RANGE_MESSAGES = {
    "number": (
        N_("Please enter a number between %(low)s and %(high)s."),
        N_("Please enter a number of at least %(low)s."),
        N_("Please enter a number of at most %(high)s."),
    ),
    "height": (
        N_("Please enter a height between %(low)s and %(high)s."),
        N_("Please enter a height of at least %(low)s."),
        N_("Please enter a height of at most %(high)s."),
    ),
    "weight": (
        N_("Please enter a weight between %(low)s and %(high)s."),
        N_("Please enter a weight of at least %(low)s."),
        N_("Please enter a weight of at most %(high)s."),
    ),
    "date": (
        N_("Please enter a date between %(low)s and %(high)s."),
        N_("Please enter a date of at least %(low)s."),
        N_("Please enter a date of at most %(high)s."),
    ),
}


def _check_range(question: m.Question, value: Any, today: dt.date) -> None:
    lo, hi = _bound(question.min, today), _bound(question.max, today)
    if question.type in DEFAULT_BOUNDS:
        d_lo, d_hi = DEFAULT_BOUNDS[question.type]
        lo = d_lo if lo is None else lo
        hi = d_hi if hi is None else hi
    kind = question.type if question.type in RANGE_MESSAGES else "number"
    unit = {"height": " cm", "weight": " kg"}.get(
        question.type, f" {question.unit}" if question.unit else ""
    )

    def spelled(bound: Any) -> Any:
        return bound if kind == "date" else f"{_fmt(bound)}{unit}"  # dates: in the reader's words

    between, at_least, at_most = RANGE_MESSAGES[kind]
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise AnswerError(between, low=spelled(lo), high=spelled(hi))
    if lo is not None and value < lo:
        raise AnswerError(at_least, low=spelled(lo))
    if hi is not None and value > hi:
        raise AnswerError(at_most, high=spelled(hi))


def _is_blank(raw: Any) -> bool:
    return (
        raw is None
        or (isinstance(raw, str) and not raw.strip())
        or (isinstance(raw, list | tuple) and not raw)
    )


def _option(question: m.Question, raw: Any) -> m.OptionValue:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise AnswerError(N_("Please choose one of the options."))
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    option = question.option_by_key.get(str(raw).strip())
    if option is None:
        raise AnswerError(N_("Please choose one of the options."))
    return option.value


def normalize(question: m.Question, raw: Any, today: dt.date | None = None) -> Any:
    """The typed value of one answer, MISSING for a blank one; AnswerError for a bad one."""
    kind = type(raw)  # exactly str or int: a bool is neither, nor found by this lookup
    if (kind is str or kind is int) and question.type == "choice":
        option = question.option_by_value.get(raw)
        if option is not None:  # an option as stored, found at once (as `_option` would)
            return option.value
    today = today or dt.date.today()
    if _is_blank(raw):
        return MISSING
    qtype = question.type
    if qtype == "choice":
        return _option(question, raw)
    if qtype == "multi_choice":
        items = raw if isinstance(raw, list | tuple) else [raw]
        chosen = {str(_option(question, item)) for item in items if not _is_blank(item)}
        values = [o.value for o in question.options if str(o.value) in chosen]
        return tuple(values) if values else MISSING
    if qtype == "yes_no":
        if isinstance(raw, bool):
            return raw
        spelled = str(raw).strip().lower()
        if spelled in ("true", "yes", "1"):
            return True
        if spelled in ("false", "no", "0"):
            return False
        raise AnswerError(N_("Please answer yes or no."))
    if qtype == "integer":
        if isinstance(raw, bool):
            raise AnswerError(N_("Please enter a whole number."))
        if isinstance(raw, float):
            if not raw.is_integer():
                raise AnswerError(N_("Please enter a whole number."))
            value = int(raw)
        elif isinstance(raw, int):
            value = raw
        else:
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise AnswerError(N_("Please enter a whole number, using digits only.")) from None
        _check_range(question, value, today)
        return value
    if qtype in ("number", "height", "weight"):
        if isinstance(raw, bool):
            raise AnswerError(N_("Please enter a number."))
        try:
            value = (
                float(str(raw).strip().replace(",", ".")) if isinstance(raw, str) else float(raw)
            )
        except (TypeError, ValueError, OverflowError):
            raise AnswerError(N_("Please enter a number, using digits only.")) from None
        if not math.isfinite(value):
            raise AnswerError(N_("Please enter a number."))
        _check_range(question, value, today)
        return value
    if qtype == "date":
        if isinstance(raw, dt.datetime):
            raise AnswerError(N_("Please enter a date."))
        if isinstance(raw, dt.date):
            value = raw
        else:
            try:
                value = dt.date.fromisoformat(str(raw).strip())
            except ValueError:
                raise AnswerError(N_("Please enter a real date, for example 2025-03-31.")) from None
        _check_range(question, value, today)
        return value
    if qtype == "text":
        if not isinstance(raw, str):
            raise AnswerError(N_("Please enter text."))
        # Control characters (a NUL cannot even be stored by PostgreSQL) are dropped, not kept.
        # Browsers send a text box's line breaks as CRLF: one line break, one character.
        value = CONTROL_CHARS.sub("", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
        limit = question.max if question.max is not None else m.TEXT_MAX_DEFAULT
        if len(value) > limit:
            raise AnswerError(
                N_("Please keep this to %(limit)s characters or fewer (now %(count)s)."),
                limit=limit,
                count=len(value),
            )
        if question.min is not None and len(value) < question.min:
            raise AnswerError(N_("Please write at least %(min)s characters."), min=question.min)
        return value
    # Unreachable: types are checked at load.
    raise AnswerError(N_("This question cannot be answered."))


# --- the assessment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorResult:
    factor: m.RiskFactor
    answers: tuple[tuple[str, Any], ...]  # the answers its condition read, (question id, value)

    @property
    def id(self) -> str:
        return self.factor.id

    @property
    def points(self) -> int:
        return self.factor.points


@dataclass(frozen=True)
class FlagResult:
    flag: m.RedFlag
    answers: tuple[tuple[str, Any], ...]

    @property
    def id(self) -> str:
        return self.flag.id


@dataclass(frozen=True)
class InstrumentResult:
    instrument: m.Instrument
    score: int | None
    band: str | None
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """The answers scored. The points (factors, total, tier, subtotals, alerts) are worked out
    when first asked for: a patient's step page needs only what is shown, missing and flagged."""

    questionnaire: m.Questionnaire
    answers: dict[str, Any]  # typed answers to visible questions
    visible: frozenset[str]
    visible_steps: tuple[str, ...]
    missing: tuple[str, ...]
    errors: dict[str, str]
    red_flags: tuple[FlagResult, ...]
    instruments: dict[str, InstrumentResult]
    computed: dict[str, Any]
    _evaluator: _Evaluator = field(repr=False, compare=False)

    @cached_property
    def factors(self) -> tuple[FactorResult, ...]:
        ev = self._evaluator
        return tuple(
            FactorResult(f, ev.read(f.when))
            for f in self.questionnaire.risk_factors
            if evaluate(f.when, ev.lookup)
        )

    @cached_property
    def total(self) -> int:
        return sum(r.factor.points for r in self.factors)

    @cached_property
    def tier(self) -> m.Tier:
        return self.questionnaire.tier_for(self.total)

    @cached_property
    def category_points(self) -> dict[str, int]:
        points = {c: 0 for c in m.CATEGORIES}
        for r in self.factors:
            points[r.factor.category] += r.factor.points
        return points

    @cached_property
    def modifiable_points(self) -> int:
        return sum(r.factor.points for r in self.factors if r.factor.modifiable)

    @cached_property
    def domain_alerts(self) -> tuple[m.DomainAlert, ...]:
        points = self.category_points
        return tuple(
            a
            for a in self.questionnaire.domain_alerts
            if sum(points[c] for c in a.categories) >= a.min_points
        )

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors

    @property
    def max_total(self) -> int:
        return self.questionnaire.max_points

    def to_json(self) -> dict[str, Any]:
        """The stable JSON contract of `screening score --format json`."""
        q = self.questionnaire
        return {
            "questionnaire": {"id": q.id, "version": q.version},
            "complete": self.complete,
            "missing": list(self.missing),
            "errors": dict(self.errors),
            "total": self.total,
            "max_total": self.max_total,
            "tier": self.tier.id,
            "factors": [
                {
                    "id": r.factor.id,
                    "label": r.factor.label,
                    "category": r.factor.category,
                    "points": r.factor.points,
                    "modifiable": r.factor.modifiable,
                }
                for r in self.factors
            ],
            "red_flags": [
                {"id": r.flag.id, "clinician_message": r.flag.clinician_message}
                for r in self.red_flags
            ],
            "instruments": {
                i: {"score": r.score, "band": r.band} for i, r in self.instruments.items()
            },
            "computed": {k: (None if v is MISSING else v) for k, v in self.computed.items()},
            "subtotals": dict(self.category_points),
            "modifiable_points": self.modifiable_points,
            "domain_alerts": [a.id for a in self.domain_alerts],
        }


class _Evaluator:
    """Visibility and values for one set of typed answers."""

    def __init__(self, q: m.Questionnaire, typed: Mapping[str, Any]):
        self.q, self.typed = q, typed
        self.visible: set[str] = set()
        self.step_visible: dict[str, bool] = {}
        self.values: dict[str, Any] = {}

    def answer(self, question_id: str) -> Any:
        if question_id in self.visible:
            return self.typed.get(question_id, MISSING)
        return MISSING

    def value(self, value_id: str) -> Any:
        if value_id not in self.values:
            self.values[value_id] = self._compute(value_id)
        return self.values[value_id]

    def _compute(self, value_id: str) -> Any:
        computed = self.q.computed_by_id.get(value_id)
        if computed is not None:
            inputs = [self.answer(i) for i in computed.inputs]
            if any(v is MISSING for v in inputs):
                return MISSING
            if computed.kind == "sum":
                return sum(inputs)
            height_cm, weight_kg = inputs
            return round(weight_kg / (height_cm / 100) ** 2, 1)
        instrument = self.q.instrument_by_id[value_id]
        items = [self.answer(i) for i in instrument.items]
        return MISSING if any(v is MISSING for v in items) else sum(items)

    def lookup(self, leaf: m.Leaf) -> Any:
        return self.answer(leaf.ref) if leaf.kind == "question" else self.value(leaf.ref)

    def run(self) -> None:
        q = self.q
        for question_id in q.visibility_order:
            question = q.questions[question_id]
            step = q.step_by_id[question.step_id]
            if step.id not in self.step_visible:
                self.step_visible[step.id] = step.show_if is None or evaluate(
                    step.show_if, self.lookup
                )
            if self.step_visible[step.id] and (
                question.show_if is None or evaluate(question.show_if, self.lookup)
            ):
                self.visible.add(question_id)

    def read(self, condition: m.Condition) -> tuple[tuple[str, Any], ...]:
        """The visible answers a condition reads (values expanded to their questions)."""
        return tuple(
            (i, self.answer(i))
            for i in questions_read(self.q, condition)
            if self.answer(i) is not MISSING
        )


def type_answers(
    q: m.Questionnaire, answers: Mapping[str, Any], today: dt.date | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values of the given answers, and an error message per answer that cannot be used."""
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    today = today or dt.date.today()  # once, not once per answer
    for question_id, raw in answers.items():
        question = q.questions.get(question_id)
        if question is None:
            errors[str(question_id)] = "There is no such question in this questionnaire."
            continue
        try:
            value = normalize(question, raw, today)
        except AnswerError as exc:
            errors[question_id] = str(exc)
            continue
        if value is not MISSING:
            typed[question_id] = value
    return typed, errors


def visible_questions(
    q: m.Questionnaire, typed: Mapping[str, Any]
) -> tuple[set[str], dict[str, bool]]:
    """Which questions and steps are shown for these typed answers."""
    ev = _Evaluator(q, typed)
    ev.run()
    steps = {s.id: ev.step_visible.get(s.id, False) for s in q.steps}
    return ev.visible, steps


def _required(q: m.Questionnaire) -> tuple[str, ...]:
    """The ids of `q`'s required questions in the order they are asked; kept on `q` (a frozen
    dataclass's own cache), which every patient page scores."""
    kept = q.__dict__.get("_required")
    if kept is None:
        kept = q.__dict__["_required"] = tuple(
            question.id for step in q.steps for question in step.questions if question.required
        )
    return kept


def score(
    q: m.Questionnaire, answers: Mapping[str, Any], today: dt.date | None = None
) -> Assessment:
    typed, all_errors = type_answers(q, answers, today)
    ev = _Evaluator(q, typed)
    ev.run()
    # An error on a hidden question does not matter: the patient is not asked it.
    errors = {k: v for k, v in all_errors.items() if k not in q.questions or k in ev.visible}
    visible_answers = {k: v for k, v in typed.items() if k in ev.visible}
    missing = tuple(
        question_id
        for question_id in _required(q)
        if question_id in ev.visible and question_id not in visible_answers
    )
    computed = {c.id: ev.value(c.id) for c in q.computed}
    instruments = {}
    for instrument in q.instruments:
        value = ev.value(instrument.id)
        missing_items = tuple(i for i in instrument.items if ev.answer(i) is MISSING)
        if value is MISSING:
            instruments[instrument.id] = InstrumentResult(instrument, None, None, missing_items)
        else:
            instruments[instrument.id] = InstrumentResult(
                instrument, value, instrument.band_for(value), ()
            )
    flags = tuple(
        FlagResult(f, ev.read(f.when)) for f in q.red_flags if evaluate(f.when, ev.lookup)
    )
    return Assessment(
        questionnaire=q,
        answers=visible_answers,
        visible=frozenset(ev.visible),
        visible_steps=tuple(s.id for s in q.steps if ev.step_visible.get(s.id, False)),
        missing=missing,
        errors=errors,
        red_flags=flags,
        instruments=instruments,
        computed=computed,
        _evaluator=ev,
    )
