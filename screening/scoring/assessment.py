"""score(questionnaire, answers) -> Assessment. Pure and deterministic: no Flask, no database.

Hidden questions (and questions hidden because their step or the question they hang on is hidden)
keep no answer for scoring. The clinic's own entries (`clinic`, for the questions marked `clinic`)
are scored where the patient's answer does not tell. A risk factor whose condition depends on an
answer that does not tell ("Not sure", an option marked `unknown`) is an unknown to verify, never
scored as absent. An incomplete set of answers has no tier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..definition import model as m
from ..definition.conditions import MISSING, UNKNOWN, evaluate, evaluate3
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
class AxisResult:
    axis: m.Axis
    points: int
    max: int
    reached: m.Tier  # by its points and floors; while incomplete, a lower bound
    floors: tuple[m.Floor, ...]  # the floors that hold (whether or not they raised the tier)
    complete: bool

    @property
    def id(self) -> str:
        return self.axis.id

    @property
    def tier(self) -> m.Tier | None:
        """The axis's tier; None while the answers are incomplete."""
        return self.reached if self.complete else None


@dataclass(frozen=True)
class CapResult:
    cap: m.Cap
    points: int  # what its factors add up to
    counted: int  # what is counted: at most cap.max


@dataclass(frozen=True)
class ClinicEntry:
    """A clinic's entry for a question: scored where `used`, shown beside a differing answer."""

    question_id: str
    clinic: Any
    patient: Any  # the patient's own answer (MISSING when none)
    used: bool

    @property
    def differs(self) -> bool:
        return not self.used and self.patient is not MISSING and self.patient != self.clinic


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
    clinic: tuple[ClinicEntry, ...] = ()

    @cached_property
    def _judged(self) -> tuple[tuple[FactorResult, ...], tuple[FactorResult, ...]]:
        ev, applies, unknown = self._evaluator, [], []
        for f in self.questionnaire.risk_factors:
            result = evaluate3(f.when, ev.lookup, ev.unknown)
            if result is True:
                applies.append(FactorResult(f, ev.read(f.reads)))
            elif result is UNKNOWN:
                unknown.append(FactorResult(f, ev.read(f.reads)))
        return tuple(applies), tuple(unknown)

    @property
    def factors(self) -> tuple[FactorResult, ...]:
        """The risk factors that apply."""
        return self._judged[0]

    @property
    def to_work_on(self) -> tuple[FactorResult, ...]:
        """The modifiable factors that apply, the most important first: the most points, then
        the questionnaire's order (the patient's result page and the clinician's page 1)."""
        order = {f.id: i for i, f in enumerate(self.questionnaire.risk_factors)}
        found = [r for r in self.factors if r.factor.modifiable]
        return tuple(sorted(found, key=lambda r: (-r.factor.points, order[r.factor.id])))

    @property
    def unknowns(self) -> tuple[FactorResult, ...]:
        """The risk factors that may apply: their condition depends on an answer that does not
        tell (and that the clinic has not entered either). To verify; never scored as absent."""
        return self._judged[1]

    @cached_property
    def caps(self) -> tuple[CapResult, ...]:
        """Each cap whose factors apply, with what its factors add up to and what is counted."""
        applying = {r.id: r.points for r in self.factors}
        results = []
        for cap in self.questionnaire.caps:
            points = sum(applying.get(f, 0) for f in cap.factors)
            if points:
                results.append(CapResult(cap, points, min(points, cap.max)))
        return tuple(results)

    def _points(self, factors: tuple[FactorResult, ...]) -> int:
        """The points of these factors, each cap's share no more than its max."""
        cap_of = self.questionnaire.cap_of
        by_cap: dict[str, int] = {}
        free = 0
        for r in factors:
            cap = cap_of.get(r.id)
            if cap is None:
                free += r.points
            else:
                by_cap[cap.id] = by_cap.get(cap.id, 0) + r.points
        caps = {c.id: c.max for c in self.questionnaire.caps}
        return free + sum(min(points, caps[c]) for c, points in by_cap.items())

    @cached_property
    def total(self) -> int:
        return self._points(self.factors)

    @cached_property
    def axes(self) -> tuple[AxisResult, ...]:
        q, ev = self.questionnaire, self._evaluator
        results = []
        for axis in q.axes:
            points = self._points(tuple(r for r in self.factors if r.factor.axis == axis.id))
            floors = tuple(f for f in axis.floors if evaluate(f.when, ev.lookup))
            ranks = [_rank(q, axis.tier_for(points).id), *(_rank(q, f.tier) for f in floors)]
            reached = q.tiers[max(ranks)]
            results.append(
                AxisResult(axis, points, q.axis_max(axis.id), reached, floors, self.complete)
            )
        return tuple(results)

    @cached_property
    def reached_tier(self) -> m.Tier:
        """The tier the answers given reach: the highest of the axes' (or the total's, without
        axes). While the answers are incomplete it is only a lower bound (an answer not given
        adds nothing), never the tier: see `tier`."""
        q = self.questionnaire
        if q.axes:
            return q.tiers[max(_rank(q, a.reached.id) for a in self.axes)]
        return q.tier_for(self.total)

    @property
    def tier(self) -> m.Tier | None:
        """The tier; None while the answers are incomplete, and for a questionnaire without
        tiers (a follow-up, which states an outcome instead)."""
        if not self.questionnaire.tiers:
            return None
        return self.reached_tier if self.complete else None

    @cached_property
    def category_points(self) -> dict[str, int]:
        points = {c: 0 for c in m.CATEGORIES}
        for r in self.factors:
            points[r.factor.category] += r.factor.points
        return points

    @cached_property
    def modifiable_points(self) -> int:
        return self._points(tuple(r for r in self.factors if r.factor.modifiable))

    @cached_property
    def domain_alerts(self) -> tuple[m.DomainAlert, ...]:
        points = self.category_points
        axis_points = {a.id: a.points for a in self.axes}
        raised = []
        for a in self.questionnaire.domain_alerts:
            if a.when is not None and evaluate(a.when, self._evaluator.lookup):
                raised.append(a)
            elif a.min_points is not None:
                have = (
                    axis_points.get(a.axis, 0) if a.axis else sum(points[c] for c in a.categories)
                )
                if have >= a.min_points:
                    raised.append(a)
        return tuple(raised)

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
            "tier": self.tier.id if self.tier else None,
            "axes": [
                {
                    "id": a.id,
                    "label": a.axis.label,
                    "points": a.points,
                    "max": a.max,
                    "tier": a.tier.id if a.tier else None,
                    "floors": [f.reason for f in a.floors],
                }
                for a in self.axes
            ],
            "factors": [
                {
                    "id": r.factor.id,
                    "label": r.factor.label,
                    "category": r.factor.category,
                    "axis": r.factor.axis,
                    "points": r.factor.points,
                    "modifiable": r.factor.modifiable,
                }
                for r in self.factors
            ],
            "unknowns": [
                {
                    "id": r.factor.id,
                    "label": r.factor.label,
                    "axis": r.factor.axis,
                    "points": r.factor.points,
                    "unknown_answers": self.unknown_answers(r),
                }
                for r in self.unknowns
            ],
            "caps": [{"id": c.cap.id, "points": c.points, "counted": c.counted} for c in self.caps],
            "clinic": [
                {
                    "question": e.question_id,
                    "clinic": _json_value(e.clinic),
                    "patient": None if e.patient is MISSING else _json_value(e.patient),
                    "used": e.used,
                    "differs": e.differs,
                }
                for e in self.clinic
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

    def unknown_answers(self, result: FactorResult) -> list[str]:
        """The questions a factor reads whose answer does not tell."""
        ev = self._evaluator
        return [
            i
            for i in result.factor.reads
            if ev.answer(i) in self.questionnaire.questions[i].unknown_values
        ]


def _rank(q: m.Questionnaire, tier_id: str) -> int:
    return next(i for i, t in enumerate(q.tiers) if t.id == tier_id)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


class _Evaluator:
    """Visibility and values for one set of typed answers."""

    def __init__(self, q: m.Questionnaire, typed: Mapping[str, Any]):
        self.q, self.typed = q, typed
        self.visible: set[str] = set()
        self.step_visible: dict[str, bool] = {}
        self.values: dict[str, Any] = {}
        self.clinic: dict[str, Any] = {}  # the clinic's entries scored (see `with_clinic`)

    def with_clinic(self, entries: Mapping[str, Any]) -> None:
        """Score these clinic entries from now on: visibility is decided (`run`) on the patient's
        own answers only, so an entry never makes a question the patient was not shown required;
        an entry counts for scoring whether or not its question was shown."""
        self.clinic = dict(entries)
        self.values.clear()  # computed from the patient's answers alone so far

    def unknown(self, leaf: m.Leaf) -> bool:
        """Whether a leaf reads an answer that does not tell ("Not sure")."""
        if leaf.kind != "question":
            return False
        value = self.answer(leaf.ref)
        return value is not MISSING and value in self.q.questions[leaf.ref].unknown_values

    def answer(self, question_id: str) -> Any:
        if question_id in self.clinic:
            return self.clinic[question_id]
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
        items = [
            MISSING if (v := self.answer(i)) is MISSING else self.q.item_score(i, v)
            for i in instrument.items
        ]
        if instrument.hidden_items_zero:
            # Visibility is decided in dependency order, so an item's is known by now.
            items = [
                0 if v is MISSING and i not in self.visible else v
                for i, v in zip(instrument.items, items, strict=True)
            ]
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


def _clinic_entries(
    q: m.Questionnaire, clinic: Mapping[str, Any] | None, today: dt.date | None, ev: _Evaluator
) -> list[tuple[str, Any, Any, bool]]:
    """(question, clinic value, patient value, used) for each clinic entry that can be used:
    used where the patient's answer (to a question shown) does not tell."""
    if not clinic:
        return []
    own = {k: v for k, v in clinic.items() if k in q.questions and q.questions[k].clinic}
    clinic_typed, _ = type_answers(q, own, today)  # an entry that cannot be used is not used
    entries = []
    for question_id, value in clinic_typed.items():
        unknown = q.questions[question_id].unknown_values
        if value in unknown:
            continue
        patient = ev.answer(question_id)
        entries.append((question_id, value, patient, patient is MISSING or patient in unknown))
    return entries


def score(
    q: m.Questionnaire,
    answers: Mapping[str, Any],
    today: dt.date | None = None,
    clinic: Mapping[str, Any] | None = None,
) -> Assessment:
    """The answers scored. `clinic`: the clinic's entries for the questions marked `clinic`."""
    own, all_errors = type_answers(q, answers, today)
    ev = _Evaluator(q, own)
    ev.run()
    clinic_entries = _clinic_entries(q, clinic, today, ev)
    ev.with_clinic({qid: value for qid, value, _, used in clinic_entries if used})
    # An error on a hidden question does not matter: the patient is not asked it.
    errors = {k: v for k, v in all_errors.items() if k not in q.questions or k in ev.visible}
    visible_answers = {k: v for k, v in own.items() if k in ev.visible}
    used = {e[0] for e in clinic_entries if e[3]}
    missing = tuple(
        question_id
        for question_id in q.required_questions
        if question_id in ev.visible
        and question_id not in visible_answers
        and question_id not in used
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
        clinic=tuple(
            ClinicEntry(qid, value, patient, used)
            for qid, value, patient, used in clinic_entries
            if qid in ev.visible or used
        ),
    )
