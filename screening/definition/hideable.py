"""Warnings of `screening lint`: red flags that read a question the patient may never be shown.

A red flag is raised only by answers, and a hidden question has no answer: a flag that reads a
question with a show_if (or on a step with one) can stay silent because the question was never
asked. That may be intended, so it is a warning, never an error; and there is no warning when the
flag's own condition requires what shows the question (the self-harm follow-ups, shown when PHQ-9
item 9 is above 0, read by flags that require item 9 above 0): then the question is hidden only
when the flag could not be raised anyway.
"""

from __future__ import annotations

from . import model as m
from .yaml_source import Problem


def _required(condition: m.Condition) -> list[m.Condition]:
    """The conditions that must hold for `condition` to hold: itself, and those of an `all`."""
    found = [condition]
    if isinstance(condition, m.All):
        for item in condition.items:
            found += _required(item)
    return found


def _hidden_by(q: m.Questionnaire, question: m.Question, flag: m.RedFlag) -> str | None:
    """Which condition can hide `question` while `flag` could be raised, in words, or None."""
    step = q.step_by_id[question.step_id]
    required = _required(flag.when)
    own = question.show_if is not None and question.show_if not in required
    steps = step.show_if is not None and step.show_if not in required
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
            by = _hidden_by(q, q.questions[question_id], flag)
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
