"""Where a patient stands in the questionnaire: the steps they see, those finished, what is left.
Pure, from the answers saved so far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..definition.model import Questionnaire
from .assessment import Assessment, score


@dataclass(frozen=True)
class Progress:
    steps: tuple[str, ...]  # the steps this patient sees, in order
    done: frozenset[str]
    # Visible steps not done, or done with a required answer now missing (a later answer showed
    # a question on it).
    unfinished: tuple[str, ...]
    assessment: Assessment

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
    return Progress(steps, frozenset(done), unfinished, assessment)
