"""A draft against the version in force: what its structure changes (questions, risk factors, red
flags), and what it changes for each example of either file, by the comparison the staff side
shows for a stored screening re-scored under another version (`screening.rescoring`). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..comparison_rows import factor_rows, instrument_rows
from ..definition import model as m
from ..rescoring import Comparison, compare
from ..scoring import Assessment, score
from .diagram import condition_text


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "removed" or "changed"
    id: str
    label: str
    details: tuple[str, ...] = ()  # what changed, in words


def _options(question: m.Question) -> str:
    return ", ".join(f"{o.value}" for o in question.options)


def question_changes(old: m.Questionnaire, new: m.Questionnaire) -> list[Change]:
    """Questions added, removed or changed (its step, type, label, options, required, bounds or
    condition)."""
    changes = []
    for qid, question in new.questions.items():
        before = old.questions.get(qid)
        if before is None:
            changes.append(Change("added", qid, question.label))
            continue
        details = []
        for what, a, b in (
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
        ):
            if a != b:
                details.append(f"{what}: {a if a not in ('', None) else '(none)'} → "
                               f"{b if b not in ('', None) else '(none)'}")  # fmt: skip
        old_step, new_step = old.step_by_id.get(before.step_id), new.step_by_id[question.step_id]
        old_step_if = condition_text(old_step.show_if) if old_step else ""
        if old_step_if != condition_text(new_step.show_if):
            details.append(f"its step's condition: {old_step_if or '(none)'} → "
                           f"{condition_text(new_step.show_if) or '(none)'}")  # fmt: skip
        if details:
            changes.append(Change("changed", qid, question.label, tuple(details)))
    for qid, question in old.questions.items():
        if qid not in new.questions:
            changes.append(Change("removed", qid, question.label))
    return changes


def factor_changes(old: m.Questionnaire, new: m.Questionnaire) -> list[Change]:
    """Risk factors added, removed, or with other points, axis or condition."""
    changes = []
    for fid, factor in new.factor_by_id.items():
        before = old.factor_by_id.get(fid)
        if before is None:
            changes.append(Change("added", fid, factor.label, (f"points: {factor.points}",)))
            continue
        details = []
        if before.points != factor.points:
            details.append(f"points: {before.points} → {factor.points}")
        if before.axis != factor.axis:
            details.append(f"axis: {before.axis or '(none)'} → {factor.axis or '(none)'}")
        if condition_text(before.when) != condition_text(factor.when):
            details.append(f"when: {condition_text(before.when)} → {condition_text(factor.when)}")
        if details:
            changes.append(Change("changed", fid, factor.label, tuple(details)))
    for fid, factor in old.factor_by_id.items():
        if fid not in new.factor_by_id:
            changes.append(Change("removed", fid, factor.label, (f"points: {factor.points}",)))
    return changes


def flag_changes(old: m.Questionnaire, new: m.Questionnaire) -> list[Change]:
    changes = []
    for fid, flag in new.red_flag_by_id.items():
        before = old.red_flag_by_id.get(fid)
        if before is None:
            changes.append(Change("added", fid, flag.title))
            continue
        details = []
        if before.urgency != flag.urgency:
            details.append(f"urgency: {before.urgency} → {flag.urgency}")
        if condition_text(before.when) != condition_text(flag.when):
            details.append(f"when: {condition_text(before.when)} → {condition_text(flag.when)}")
        if details:
            changes.append(Change("changed", fid, flag.title, tuple(details)))
    for fid, flag in old.red_flag_by_id.items():
        if fid not in new.red_flag_by_id:
            changes.append(Change("removed", fid, flag.title))
    return changes


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
