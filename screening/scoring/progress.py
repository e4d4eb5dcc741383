"""Where a patient stands in the questionnaire: the steps they see, those finished, what is left.
Pure, from the answers saved so far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..definition.conditions import UNKNOWN, evaluate3, leaves
from ..definition.model import Leaf, Questionnaire
from .assessment import Assessment, score


@dataclass(frozen=True)
class Progress:
    steps: tuple[str, ...]  # the steps this patient sees, in order
    done: frozenset[str]
    # Visible steps not done, or done with a required answer now missing (a later answer showed
    # a question on it).
    unfinished: tuple[str, ...]
    assessment: Assessment
    # Hidden steps that answers not given yet may still show (their `show_if` reads a question
    # on a step still to be answered): counted in the number of steps, so the count promised at
    # the start and shown on every step only ever goes down.
    maybe: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """The number of steps the patient is told about: those they see and those that may
        still be shown."""
        return len(self.steps) + len(self.maybe)

    @property
    def first_unfinished(self) -> str | None:
        return self.unfinished[0] if self.unfinished else None

    @property
    def complete(self) -> bool:
        return not self.unfinished

    def reachable(self, step_id: str) -> bool:
        """A step may be opened once every visible step before it is finished."""
        if step_id not in self.steps:
            return False
        first = self.first_unfinished
        return first is None or self.steps.index(step_id) <= self.steps.index(first)

    def number(self, step_id: str) -> int:
        return self.steps.index(step_id) + 1

    def neighbour(self, step_id: str, offset: int) -> str | None:
        index = self.steps.index(step_id) + offset
        return self.steps[index] if 0 <= index < len(self.steps) else None


def progress(q: Questionnaire, answers: Mapping[str, Any], done: set[str]) -> Progress:
    assessment = score(q, answers)
    missing_steps = {q.questions[i].step_id for i in assessment.missing}
    missing_steps |= {q.questions[i].step_id for i in assessment.errors if i in q.questions}
    steps = assessment.visible_steps
    unfinished = tuple(s for s in steps if s not in done or s in missing_steps)
    return Progress(steps, frozenset(done), unfinished, assessment,
                    _maybe(q, assessment, set(unfinished)))  # fmt: skip


def _maybe(q: Questionnaire, assessment: Assessment, unfinished: set[str]) -> tuple[str, ...]:
    """The hidden steps whose `show_if` is still undecided: false now, but reading a question
    not answered yet on a step still to come (a step to answer, or a step that may itself be
    shown). A condition reads earlier steps only, so one pass in order decides them."""
    pending = set(unfinished)
    maybe: list[str] = []

    def undecided(leaf: Leaf) -> bool:
        inputs = (leaf.ref,) if leaf.kind == "question" else q.value_inputs(leaf.ref)
        return any(
            i not in assessment.answers and q.questions[i].step_id in pending for i in inputs
        )

    for step in q.steps:
        if step.show_if is None or step.id in assessment.visible_steps:
            continue
        if not any(undecided(leaf) for leaf in leaves(step.show_if)):
            continue
        # The engine's own reading of the answers (pure, same package).
        lookup = assessment._evaluator.lookup  # noqa: SLF001
        if evaluate3(step.show_if, lookup, undecided) is UNKNOWN:
            maybe.append(step.id)
            pending.add(step.id)
    return tuple(maybe)
