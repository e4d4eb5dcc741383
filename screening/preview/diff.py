"""A draft against the version in force: what its structure changes (questions, risk factors, red
flags), and what it changes for each example of either file, by the comparison the staff side
shows for a stored screening re-scored under another version (`screening.rescoring`). Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..comparison_rows import factor_rows, instrument_rows
from ..definition import model as m
from ..rescoring import Comparison, compare
from ..scoring import Assessment, score
from .diagram import condition_text

T = TypeVar("T")


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "removed" or "changed"
    id: str
    label: str
    details: tuple[str, ...] = ()  # what changed, in words


def _options(question: m.Question) -> str:
    return ", ".join(f"{o.value}" for o in question.options)


def _shown(value: Any) -> Any:
    return value if value not in ("", None) else "(none)"


def _changes(
    old: Mapping[str, T],
    new: Mapping[str, T],
    label: Callable[[T], str],
    pairs: Callable[[T, T], Iterable[tuple[str, Any, Any]]],
    noted: Callable[[T], tuple[str, ...]] = lambda item: (),
) -> list[Change]:
    """The parts of `new` that `old` does not have (added), those it has otherwise (changed:
    each of `pairs`, (what, before, after), that differs), then those `new` lost (removed)."""
    changes = []
    for ident, item in new.items():
        before = old.get(ident)
        if before is None:
            changes.append(Change("added", ident, label(item), noted(item)))
            continue
        details = tuple(
            f"{what}: {_shown(a)} → {_shown(b)}" for what, a, b in pairs(before, item) if a != b
        )
        if details:
            changes.append(Change("changed", ident, label(item), details))
    for ident, item in old.items():
        if ident not in new:
            changes.append(Change("removed", ident, label(item), noted(item)))
    return changes


def question_changes(old: m.Questionnaire, new: m.Questionnaire) -> list[Change]:
    """Questions added, removed or changed (its step, type, label, options, required, bounds or
    condition, or its step's condition)."""

    def step_if(q: m.Questionnaire, question: m.Question) -> str:
        step = q.step_by_id.get(question.step_id)
        return condition_text(step.show_if) if step else ""

    def pairs(before: m.Question, question: m.Question) -> Iterable[tuple[str, Any, Any]]:
        return (
            ("step", before.step_id, question.step_id),
            ("type", before.type, question.type),
            ("label", before.label, question.label),
            ("help", before.help or "", question.help or ""),
            ("options", _options(before), _options(question)),
            ("required", before.required, question.required),
            ("min", before.min, question.min),
            ("max", before.max, question.max),
            ("unit", before.unit or "", question.unit or ""),
            ("shown if", condition_text(before.show_if), condition_text(question.show_if)),
            ("its step's condition", step_if(old, before), step_if(new, question)),
        )

    return _changes(old.questions, new.questions, lambda q: q.label, pairs)


def factor_changes(old: m.Questionnaire, new: m.Questionnaire) -> list[Change]:
    """Risk factors added, removed, or with other points, axis or condition."""

    def pairs(before: m.RiskFactor, factor: m.RiskFactor) -> Iterable[tuple[str, Any, Any]]:
        return (
            ("points", before.points, factor.points),
            ("axis", before.axis, factor.axis),
            ("when", condition_text(before.when), condition_text(factor.when)),
        )

    return _changes(
        old.factor_by_id, new.factor_by_id, lambda f: f.label, pairs,
        noted=lambda f: (f"points: {f.points}",),
    )  # fmt: skip


def flag_changes(old: m.Questionnaire, new: m.Questionnaire) -> list[Change]:
    """Red flags added, removed, or with another urgency or condition."""

    def pairs(before: m.RedFlag, flag: m.RedFlag) -> Iterable[tuple[str, Any, Any]]:
        return (
            ("urgency", before.urgency, flag.urgency),
            ("when", condition_text(before.when), condition_text(flag.when)),
        )

    return _changes(old.red_flag_by_id, new.red_flag_by_id, lambda f: f.title, pairs)


def question_marks(changes: list[Change]) -> dict[str, str]:
    """question id -> "added" or "changed", for the map."""
    return {c.id: c.kind for c in changes if c.kind != "removed"}


@dataclass(frozen=True)
class Rescored:
    """One set of answers scored under the version in force and under the draft."""

    name: str  # the example's name
    source: str  # "draft" or "in force": the file whose example it is
    original: Assessment
    rescored: Assessment
    comparison: Comparison

    @property
    def factor_rows(self) -> list[dict[str, Any]]:
        return factor_rows(self.original, self.rescored)

    @property
    def instrument_rows(self) -> list[dict[str, Any]]:
        return instrument_rows(self.original, self.rescored)


def _own(q: m.Questionnaire, answers: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answers.items() if k in q.questions}


def rescored(
    old: m.Questionnaire,
    new: m.Questionnaire,
    name: str,
    source: str,
    answers: dict[str, Any],
    clinic: dict[str, Any] | None = None,
) -> Rescored:
    """`answers` scored under each version (each reading the answers to its own questions)."""
    clinic = clinic or {}
    original = score(old, _own(old, answers), clinic=_own(old, clinic))
    after = score(new, _own(new, answers), clinic=_own(new, clinic))
    return Rescored(name, source, original, after, compare(original, after))


def example_comparisons(old: m.Questionnaire, new: m.Questionnaire) -> list[Rescored]:
    """Every example of the draft, then those of the version in force that the draft does not
    have by name, each scored under both versions."""
    found = [rescored(old, new, e.name, "draft", e.answers, e.clinic) for e in new.examples]
    names = {e.name for e in new.examples}
    found += [
        rescored(old, new, e.name, "in force", e.answers, e.clinic)
        for e in old.examples
        if e.name not in names
    ]
    return found
