"""One answer in each shape it takes, converted in one place.

    form text  --parse-->  typed value  --to_stored-->  stored JSON  --parse-->  typed value
    stored JSON  --to_form-->  form text          typed value  --display-->  words people read
    typed value  --cell-->  a CSV cell

The typed value is the engine's (`scoring.normalize`: options as their value, yes/no as a bool,
numbers, dates, a tuple for several options); everything else is derived from it here, for the
patient's pages, the staff pages, the PDF, the CSV export and FHIR.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from typing import Any

from .definition import model as m
from .definition.conditions import MISSING
from .i18n import CLINIC_LANGUAGE, N_, format_date, gettext
from .scoring import AnswerError, decimal_number, normalize
from .text import without_format_characters

CM_PER_INCH = 2.54
KG_PER_POUND = 0.45359237
NOT_ANSWERED = N_("Not answered")


def parse(question: m.Question, raw: Any, today: dt.date | None = None) -> Any:
    """The typed value of what was given (form text, a stored value, a file's JSON): MISSING
    for a blank; AnswerError (with a message for the patient) for one that cannot be used."""
    return normalize(question, raw, today)


def to_stored(value: Any) -> Any:
    """A typed answer as stored (JSON): dates as ISO text, several options as a list."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def number(value: Any) -> str:
    """A number as typed: no needless ".0"."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def to_form(question: m.Question, stored: Any) -> Any:
    """A stored answer as its form shows it: the text in the box, "yes"/"no", the options
    ticked."""
    if stored is None:
        return [] if question.type == "multi_choice" else ""
    if question.type == "multi_choice":
        return list(stored) if isinstance(stored, list | tuple) else []
    if isinstance(stored, bool):
        return "yes" if stored else "no"
    if isinstance(stored, float):
        return number(stored)
    return stored


def metric_height(feet: str, inches: str) -> Any:
    """Centimetres from feet and inches as typed ("" when both are blank)."""
    feet, inches = feet.strip(), inches.strip()
    if not feet and not inches:
        return ""
    feet_, inches_ = decimal_number(feet or "0"), decimal_number(inches or "0")
    if feet_ is None or inches_ is None:
        raise AnswerError(N_("Please enter feet and inches as numbers."))
    return round((feet_ * 12 + inches_) * CM_PER_INCH, 1)


def metric_weight(pounds: str) -> Any:
    """Kilograms from pounds as typed ("" when blank)."""
    pounds = pounds.strip()
    if not pounds:
        return ""
    found = decimal_number(pounds)
    if found is None:
        raise AnswerError(N_("Please enter your weight in pounds as a number."))
    return round(found * KG_PER_POUND, 1)


# A date is typed in three boxes and a month in two (GOV.UK's "memorable date" pattern).
DATE_PARTS = {"date": ("day", "month", "year"), "month_year": ("month", "year")}
PART_LABELS = {"day": N_("Day"), "month": N_("Month"), "year": N_("Year")}
MISSING_PARTS = {
    ("day",): N_("Date must include a day."),
    ("month",): N_("Date must include a month."),
    ("year",): N_("Date must include a year."),
    ("day", "month"): N_("Date must include a day and a month."),
    ("day", "year"): N_("Date must include a day and a year."),
    ("month", "year"): N_("Date must include a month and a year."),
}


def _part_error(template: str, parts: tuple[str, ...]) -> AnswerError:
    """An AnswerError that names the boxes that are wrong (`parts`: their border shows it)."""
    error = AnswerError(template)
    error.parts = parts  # type: ignore[attr-defined]
    return error


def date_from_parts(qtype: str, typed: Mapping[str, str]) -> str:
    """ISO text (YYYY-MM-DD, or YYYY-MM for a month) from the boxes as typed ("" when all are
    blank); an AnswerError whose `parts` are the boxes to correct. The range is the engine's
    to check (`parse`)."""
    names = DATE_PARTS[qtype]
    texts = {p: unicodedata.normalize("NFKC", str(typed.get(p) or "")).strip() for p in names}
    if not any(texts.values()):
        return ""
    missing = tuple(p for p in names if not texts[p])
    if missing:
        raise _part_error(MISSING_PARTS[missing], missing)
    wrong = tuple(p for p in names if not (texts[p].isascii() and texts[p].isdigit()))
    if wrong:
        raise _part_error(N_("Date must be written in numbers."), wrong)
    year, month = int(texts["year"]), int(texts["month"])
    if len(texts["year"]) != 4:
        raise _part_error(N_("Year must include 4 numbers."), ("year",))
    if not 1 <= month <= 12:
        raise _part_error(N_("Month must be a number from 1 to 12."), ("month",))
    if qtype == "month_year":
        return f"{year:04d}-{month:02d}"
    day = int(texts["day"])
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise _part_error(N_("Date must be a real date."), ("day",)) from None


def date_parts(qtype: str, stored: Any) -> dict[str, str]:
    """The boxes of a stored date (or month) as the page shows them: numbers without leading
    zeros; blank boxes for none (or for a value that is not a date)."""
    boxes = dict.fromkeys(DATE_PARTS[qtype], "")
    text = stored.isoformat() if isinstance(stored, dt.date) else str(stored or "").strip()
    pieces = text.split("-")
    if len(pieces) in (2, 3) and all(piece.isdigit() for piece in pieces):
        found = dict(zip(("year", "month", "day"), pieces, strict=False))
        for part in boxes:
            boxes[part] = str(int(found[part])) if part in found else ""
    return boxes


def display(question: m.Question, value: Any, language: str = CLINIC_LANGUAGE) -> str:
    """The answer in words, in `language` (a question's own texts come from the questionnaire
    copy given: pass the patient's localized copy for a patient's page)."""
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
        feet, inches = divmod(round(value / CM_PER_INCH), 12)
        return gettext(
            language, N_("%(cm)s cm (%(feet)s ft %(inches)s in)"), cm=number(value),
            feet=feet, inches=inches,
        )  # fmt: skip
    if qtype == "weight":
        return gettext(
            language, N_("%(kg)s kg (%(pounds)s lb)"), kg=number(value),
            pounds=round(value / KG_PER_POUND),
        )  # fmt: skip
    if qtype in ("integer", "number"):
        return f"{number(value)} {question.unit}" if question.unit else number(value)
    if qtype == "date":
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        return format_date(value, language)
    if qtype == "month_year":
        if isinstance(value, str):
            value = m.YearMonth.parse(value) or dt.date.fromisoformat(value)
        return format_date(m.YearMonth.of(value), language)
    return without_format_characters(str(value))


def cell(value: Any) -> Any:
    """A typed answer (or computed value) in a CSV cell: several options joined by ";", yes/no
    as words, blank for none."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return to_stored(value)
