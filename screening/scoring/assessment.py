"""score(questionnaire, answers) -> Assessment. Pure and deterministic: no Flask, no database.

Hidden questions (and questions hidden because their step or the question they hang on is hidden)
keep no answer for scoring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..definition import model as m
from ..definition.conditions import MISSING, evaluate
from .answers import type_answers


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
            FactorResult(f, ev.read(f.reads))
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
                {
                    "id": r.flag.id,
                    "urgency": r.flag.urgency,
                    "clinician_message": r.flag.clinician_message,
                }
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

    def read(self, reads: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
        """The visible answers among the questions a rule reads (its `reads`)."""
        return tuple((i, self.answer(i)) for i in reads if self.answer(i) is not MISSING)


def visible_questions(
    q: m.Questionnaire, typed: Mapping[str, Any]
) -> tuple[set[str], dict[str, bool]]:
    """Which questions and steps are shown for these typed answers."""
    ev = _Evaluator(q, typed)
    ev.run()
    steps = {s.id: ev.step_visible.get(s.id, False) for s in q.steps}
    return ev.visible, steps


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
        for question_id in q.required_questions
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
        FlagResult(f, ev.read(f.reads)) for f in q.red_flags if evaluate(f.when, ev.lookup)
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
