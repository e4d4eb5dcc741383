"""score_outcome(followup, answers, baseline_values) -> OutcomeResult: a follow-up
questionnaire's outcome, from its answers and the values of the pre-operative screening (its
baseline). Pure and deterministic, as the rest of the engine: no Flask, no database.

Each criterion is judged with Kleene's three values, as a risk factor that rests on "Not sure" is:
a leaf whose value is not known (no answer, a hidden question, an answer that does not tell or
cannot be used, a baseline value the screening does not have, a percent change from 0) is
unknown. The outcome is met when any criterion is met, not met when every criterion is not met,
and otherwise not known (None): a missing answer never counts as a good outcome, nor as a poor
one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..definition import model as m
from ..definition.conditions import MISSING, UNKNOWN, evaluate3, leaves
from .answers import plain
from .assessment import Assessment, score


@dataclass(frozen=True)
class CriterionResult:
    criterion: m.Criterion
    met: bool | None  # None: not known
    values: tuple[tuple[str, Any], ...]  # what its condition reads: (name, value or None)

    @property
    def id(self) -> str:
        return self.criterion.id

    @property
    def unknown(self) -> tuple[str, ...]:
        """The names it reads whose value is not known."""
        return tuple(name for name, value in self.values if value is None)

    @property
    def reason(self) -> str:
        """"Persistent pain ...: peg 21, baseline.peg 24, peg_change_percent -12.5"."""
        read = ", ".join(f"{name} {_text(value)}" for name, value in self.values)
        return f"{self.criterion.label}: {read}" if read else self.criterion.label


@dataclass(frozen=True)
class OutcomeResult:
    outcome: m.Outcome
    met: bool | None  # None: the answers and the baseline cannot tell
    criteria: tuple[CriterionResult, ...]
    values: dict[str, Any]  # the outcome's values (None when not known)
    assessment: Assessment  # the follow-up's answers scored: complete, missing, red flags

    @property
    def met_criteria(self) -> tuple[CriterionResult, ...]:
        return tuple(c for c in self.criteria if c.met is True)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why, one line a criterion: the criteria met (met); those not known, with what is
        missing (not known); every criterion, not met (not met)."""
        if self.met is True:
            return tuple(f"met: {c.reason}" for c in self.met_criteria)
        if self.met is None:
            return tuple(
                f"not known: {c.reason} (not known: {', '.join(c.unknown) or 'an answer'})"
                for c in self.criteria
                if c.met is None
            )
        return tuple(f"not met: {c.reason}" for c in self.criteria)

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.id,
            "met": self.met,
            "criteria": [
                {
                    "id": c.id,
                    "met": c.met,
                    "values": {name: _json(value) for name, value in c.values},
                }
                for c in self.criteria
            ],
            "values": {k: _json(v) for k, v in self.values.items()},
            "reasons": list(self.reasons),
            "complete": self.assessment.complete,
            "missing": list(self.assessment.missing),
        }


def score_outcome(
    q: m.Questionnaire,
    answers: Mapping[str, Any],
    baseline_values: Mapping[str, Any],
    today: dt.date | None = None,
) -> OutcomeResult:
    """The outcome of follow-up questionnaire `q` for these answers, against the pre-operative
    screening's values (`baseline_values`: id -> number, as `baseline_values()` gives them; a
    value absent or None is not known)."""
    outcome = q.outcome
    if outcome is None:
        raise ValueError(f"{q.id} {q.version} states no outcome")
    assessment = score(q, answers, today)
    values: dict[str, Any] = {}

    def value(name: str) -> Any:
        if name.startswith(m.BASELINE_PREFIX):
            found = baseline_values.get(name.removeprefix(m.BASELINE_PREFIX))
            return found if _number(found) else MISSING
        if name in outcome.value_by_id:
            if name not in values:
                values[name] = _outcome_value(outcome.value_by_id[name], value)
            return values[name]
        if name in q.questions:
            return assessment.answers.get(name, MISSING)
        if name in assessment.instruments:
            found = assessment.instruments[name].score
            return MISSING if found is None else found
        return assessment.computed.get(name, MISSING)

    def lookup(leaf: m.Leaf) -> Any:
        return value(leaf.ref)

    def unknown(leaf: m.Leaf) -> bool:
        found = value(leaf.ref)
        if found is MISSING:
            return True
        return leaf.kind == "question" and found in q.questions[leaf.ref].unknown_values

    results = []
    for criterion in outcome.criteria:
        met = evaluate3(criterion.when, lookup, unknown)
        names = dict.fromkeys(leaf.ref for leaf in leaves(criterion.when))
        read = tuple((name, None if value(name) is MISSING else value(name)) for name in names)
        results.append(CriterionResult(criterion, met, read))
    found = [r.met for r in results]
    met = True if True in found else (UNKNOWN if UNKNOWN in found else False)
    for v in outcome.values:
        value(v.id)
    return OutcomeResult(
        outcome,
        met,
        tuple(results),
        {v.id: None if values[v.id] is MISSING else values[v.id] for v in outcome.values},
        assessment,
    )


def baseline_values(assessment: Assessment) -> dict[str, int | float]:
    """A pre-operative screening's values a follow-up may read (`baseline.ID`): its instruments'
    scores, its computed values and its answers to numeric questions, each that is known."""
    q = assessment.questionnaire
    numeric = set(m.numeric_values(q))
    found: dict[str, int | float] = {
        k: v for k, v in assessment.answers.items() if k in numeric and _number(v)
    }
    found.update({k: v for k, v in assessment.computed.items() if _number(v)})
    found.update({k: r.score for k, r in assessment.instruments.items() if r.score is not None})
    return found


def _outcome_value(v: m.OutcomeValue, value: Any) -> Any:
    start, end = (value(name) for name in v.inputs)
    if start is MISSING or end is MISSING:
        return MISSING
    if v.kind == "change":
        return end - start
    if start == 0:
        return MISSING  # a percent of nothing: the criteria say what a change from 0 means
    return round(100 * (end - start) / start, 1)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str:
    return "not known" if value is None else plain(value)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
