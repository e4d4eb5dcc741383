"""Answers written out for people: the review page, the PDF appendix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..definition import model as m
from ..definition.conditions import MISSING
from ..i18n import CLINIC_LANGUAGE, N_, gettext
from ..i18n import format_date as format_date

NOT_ANSWERED = N_("Not answered")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def display_answer(question: m.Question, value: Any, language: str = CLINIC_LANGUAGE) -> str:
    """The answer in words, in `language` (the question's own texts come from the questionnaire
    given, so pass its localized copy for a patient's page)."""
    if value is MISSING or value is None:
        return gettext(language, NOT_ANSWERED)
    qtype = question.type
    if qtype == "choice":
        return question.option_label(value) or str(value)
    if qtype == "multi_choice":
        return ", ".join(question.option_label(v) or str(v) for v in value)
    if qtype == "yes_no":
        return gettext(language, N_("Yes") if value else N_("No"))
    if qtype == "height":
        inches = value / 2.54
        feet, rest = divmod(round(inches), 12)
        return gettext(
            language, N_("%(cm)s cm (%(feet)s ft %(inches)s in)"), cm=_number(value),
            feet=feet, inches=rest,
        )  # fmt: skip
    if qtype == "weight":
        return gettext(
            language, N_("%(kg)s kg (%(pounds)s lb)"), kg=_number(value),
            pounds=round(value / 0.45359237),
        )  # fmt: skip
    if qtype in ("integer", "number"):
        return f"{_number(value)} {question.unit}" if question.unit else _number(value)
    if qtype == "date":
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        return format_date(value, language)
    return str(value)
