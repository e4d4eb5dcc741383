"""Warnings of `screening lint`: red flags that read a question the patient may never be shown.

A red flag is raised only by answers, and a hidden question has no answer: a flag that reads a
question with a show_if (or on a step with one) can stay silent because the question was never
asked. That may be intended (follow-up questions asked only after a first answer, as the
self-harm questions after PHQ-9 item 9), so it is a warning, never an error.
"""

from __future__ import annotations

from . import model as m
from .yaml_source import Problem


def _hidden_by(q: m.Questionnaire, question: m.Question) -> str | None:
    """Which condition can hide `question`, in words, or None if it is always shown."""
    step = q.step_by_id[question.step_id]
    own = question.show_if is not None
    steps = step.show_if is not None
    if own and steps:
        return f"its show_if and the show_if of its step '{step.id}'"
    if own:
        return "its show_if"
    if steps:
        return f"the show_if of its step '{step.id}'"
    return None


def hideable_flag_questions(q: m.Questionnaire) -> list[Problem]:
    """One warning per red flag and question it reads (computed values and instruments
    expanded to their inputs) that can be hidden, in the order of the flags and their reads."""
    warnings = []
    for flag in q.red_flags:
        for question_id in flag.reads:
            by = _hidden_by(q, q.questions[question_id])
            if by is not None:
                warnings.append(
                    Problem(
                        q.source_name,
                        flag.line,
                        f"red flag '{flag.id}'",
                        f"its question '{question_id}' can be hidden (by {by})",
                    )
                )
    return warnings
