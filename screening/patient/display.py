"""Answers written out for people: the review page, the PDF appendix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..definition import model as m
from ..definition.conditions import MISSING

NOT_ANSWERED = "Not answered"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def format_date(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def display_answer(question: m.Question, value: Any) -> str:
    if value is MISSING or value is None:
        return NOT_ANSWERED
    qtype = question.type
    if qtype == "choice":
        return question.option_label(value) or str(value)
    if qtype == "multi_choice":
        return ", ".join(question.option_label(v) or str(v) for v in value)
    if qtype == "yes_no":
        return "Yes" if value else "No"
    if qtype == "height":
        inches = value / 2.54
        feet, rest = divmod(round(inches), 12)
        return f"{_number(value)} cm ({feet} ft {rest} in)"
    if qtype == "weight":
        return f"{_number(value)} kg ({round(value / 0.45359237)} lb)"
    if qtype in ("integer", "number"):
        return f"{_number(value)} {question.unit}" if question.unit else _number(value)
    if qtype == "date":
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        return format_date(value)
    return str(value)
