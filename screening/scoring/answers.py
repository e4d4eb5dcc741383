"""One answer typed by its question: `normalize(question, raw)`, the engine's only reading of what a
patient (or a file of answers) gives. A blank is no answer (MISSING), never 0; "2" and 2 are the
same option; a value out of range is an AnswerError with a message for the patient.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from ..definition import model as m
from ..definition.conditions import MISSING
from ..definition.model import DEFAULT_BOUNDS

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
WHOLE = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def whole_number(raw: str) -> int | None:
    """A whole number as typed, read strictly: after Unicode normalisation (NFKC: full-width
    digits become ASCII ones) only ASCII digits with an optional sign, spaces around allowed.
    None for anything else: "1_0", "1e3", "0x10", Arabic-Indic digits, which int() would take.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not WHOLE.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (4,300): no one's answer
        return None


def decimal_number(raw: str) -> float | None:
    """A number as typed, read as strictly (`whole_number`), with one decimal point or comma;
    None for "inf", "nan", "1e3", "1_0.5" and the like, which float() would take."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(",", ".")
    return float(text) if DECIMAL.fullmatch(text) else None


def without_format_characters(text: str) -> str:
    """`text` without Unicode format characters (category Cf): bidirectional overrides and
    isolates that reverse words on a page, zero-width spaces and joiners, soft hyphens. The same
    rule as screening.text (the engine imports nothing from outside itself)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def N_(text: str) -> str:  # noqa: N802 - the name gettext's tools look for
    """Marks a message for the catalog (`make translations`); it is translated at the edge."""
    return text


def plain(value: Any) -> str:
    """A value as an English sentence writes it: no needless ".0", dates as 1 December 2026,
    months as December 2026."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, m.YearMonth):
        return f"{value:%B %Y}"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


class AnswerError(ValueError):
    """An answer that cannot be used; the message is written for the patient.

    It carries a template (in the catalog of translations) and its values, so that the pages say
    it in the patient's language (`screening.i18n.message`); `str()` is the English sentence.
    """

    def __init__(self, template: str, **params: Any):
        self.template, self.params = template, params
        super().__init__(template % {k: plain(v) for k, v in params.items()})


def _bound(value: Any, today: dt.date, qtype: str) -> Any:
    if value != "today":
        return value
    return m.YearMonth.of(today) if qtype == "month_year" else today


RANGE_MESSAGES = {
    "number": (
        N_("Please enter a number between %(low)s and %(high)s."),
        N_("Please enter a number of at least %(low)s."),
        N_("Please enter a number of at most %(high)s."),
    ),
    "height": (
        N_("Please enter a height between %(low)s and %(high)s."),
        N_("Please enter a height of at least %(low)s."),
        N_("Please enter a height of at most %(high)s."),
    ),
    "weight": (
        N_("Please enter a weight between %(low)s and %(high)s."),
        N_("Please enter a weight of at least %(low)s."),
        N_("Please enter a weight of at most %(high)s."),
    ),
    "date": (
        N_("Please enter a date between %(low)s and %(high)s."),
        N_("Please enter a date of at least %(low)s."),
        N_("Please enter a date of at most %(high)s."),
    ),
}


def _check_range(question: m.Question, value: Any, today: dt.date) -> None:
    lo, hi = _bound(question.min, today, question.type), _bound(question.max, today, question.type)
    if question.type in DEFAULT_BOUNDS:
        d_lo, d_hi = DEFAULT_BOUNDS[question.type]
        lo = d_lo if lo is None else lo
        hi = d_hi if hi is None else hi
    kind = "date" if question.type in m.DATE_TYPES else question.type
    kind = kind if kind in RANGE_MESSAGES else "number"
    unit = {"height": " cm", "weight": " kg"}.get(
        question.type, f" {question.unit}" if question.unit else ""
    )

    def spelled(bound: Any) -> Any:
        return bound if kind == "date" else f"{plain(bound)}{unit}"  # dates: in the reader's words

    between, at_least, at_most = RANGE_MESSAGES[kind]
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise AnswerError(between, low=spelled(lo), high=spelled(hi))
    if lo is not None and value < lo:
        raise AnswerError(at_least, low=spelled(lo))
    if hi is not None and value > hi:
        raise AnswerError(at_most, high=spelled(hi))


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _is_blank(raw: Any) -> bool:
    return (
        raw is None
        or (isinstance(raw, str) and not raw.strip())
        or (isinstance(raw, list | tuple) and not raw)
    )


def _option(question: m.Question, raw: Any) -> m.OptionValue:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise AnswerError(N_("Please choose one of the options."))
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    option = question.option_by_key.get(str(raw).strip())
    if option is None:
        raise AnswerError(N_("Please choose one of the options."))
    return option.value


def normalize(question: m.Question, raw: Any, today: dt.date | None = None) -> Any:
    """The typed value of one answer, MISSING for a blank one; AnswerError for a bad one."""
    kind = type(raw)  # exactly str or int: a bool is neither, nor found by this lookup
    if (kind is str or kind is int) and question.type == "choice":
        option = question.option_by_value.get(raw)
        if option is not None:  # an option as stored, found at once (as `_option` would)
            return option.value
    today = today or dt.date.today()
    if _is_blank(raw):
        return MISSING
    qtype = question.type
    if qtype == "choice":
        return _option(question, raw)
    if qtype == "multi_choice":
        items = raw if isinstance(raw, list | tuple) else [raw]
        chosen = {str(_option(question, item)) for item in items if not _is_blank(item)}
        values = [o.value for o in question.options if str(o.value) in chosen]
        alone = [o for o in question.options if o.exclusive and str(o.value) in chosen]
        if alone and len(values) > 1:
            raise AnswerError(
                N_("Please choose “%(option)s” or the other answers, not both."),
                option=alone[0].label,
            )
        return tuple(values) if values else MISSING
    if qtype == "yes_no":
        if isinstance(raw, bool):
            return raw
        spelled = str(raw).strip().lower()
        if spelled in ("true", "yes", "1"):
            return True
        if spelled in ("false", "no", "0"):
            return False
        raise AnswerError(N_("Please answer yes or no."))
    if qtype == "integer":
        if isinstance(raw, bool):
            raise AnswerError(N_("Please enter a whole number."))
        if isinstance(raw, float):
            if not raw.is_integer():
                raise AnswerError(N_("Please enter a whole number."))
            value = int(raw)
        elif isinstance(raw, int):
            value = raw
        else:
            value = whole_number(str(raw))
            if value is None:
                raise AnswerError(N_("Please enter a whole number, using digits only."))
        _check_range(question, value, today)
        return value
    if qtype in ("number", "height", "weight"):
        if isinstance(raw, bool):
            raise AnswerError(N_("Please enter a number."))
        try:
            value = decimal_number(raw) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None:
            raise AnswerError(N_("Please enter a number, using digits only."))
        if not math.isfinite(value):
            raise AnswerError(N_("Please enter a number."))
        _check_range(question, value, today)
        return value
    if qtype == "date":
        if isinstance(raw, dt.datetime):
            raise AnswerError(N_("Please enter a date."))
        if isinstance(raw, dt.date):
            value = raw
        else:
            try:
                value = dt.date.fromisoformat(str(raw).strip())
            except ValueError:
                raise AnswerError(N_("Please enter a real date, for example 2025-03-31.")) from None
        _check_range(question, value, today)
        return value
    if qtype == "month_year":
        # A whole date is a month too (an answer given to a `date` question before it became
        # a `month_year` one, re-scored under the new version).
        if isinstance(raw, dt.datetime):
            raise AnswerError(N_("Please enter a month and a year."))
        if isinstance(raw, dt.date):
            value = m.YearMonth.of(raw)
        else:
            text = str(raw).strip()
            value = m.YearMonth.parse(text[:7]) if len(text) in (7, 10) else None
            if value is None or (len(text) == 10 and _iso_date(text) is None):
                raise AnswerError(N_("Please enter a real month, for example 2025-03."))
        _check_range(question, value, today)
        return value
    if qtype == "text":
        if not isinstance(raw, str):
            raise AnswerError(N_("Please enter text."))
        # Control characters (a NUL cannot even be stored by PostgreSQL) are dropped, not kept.
        # Browsers send a text box's line breaks as CRLF: one line break, one character.
        # Format characters (a right-to-left override reverses words in the PDF) are dropped too.
        value = CONTROL_CHARS.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
        value = without_format_characters(value).strip()
        limit = question.max if question.max is not None else m.TEXT_MAX_DEFAULT
        if len(value) > limit:
            raise AnswerError(
                N_("Please keep this to %(limit)s characters or fewer (now %(count)s)."),
                limit=limit,
                count=len(value),
            )
        if question.min is not None and len(value) < question.min:
            raise AnswerError(N_("Please write at least %(min)s characters."), min=question.min)
        return value
    # Unreachable: types are checked at load.
    raise AnswerError(N_("This question cannot be answered."))


def type_answers(
    q: m.Questionnaire, answers: Mapping[str, Any], today: dt.date | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values of the given answers, and an error message per answer that cannot be used."""
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    today = today or dt.date.today()  # once, not once per answer
    for question_id, raw in answers.items():
        question = q.questions.get(question_id)
        if question is None:
            errors[str(question_id)] = "There is no such question in this questionnaire."
            continue
        try:
            value = normalize(question, raw, today)
        except AnswerError as exc:
            errors[question_id] = str(exc)
            continue
        if value is not MISSING:
            typed[question_id] = value
    return typed, errors
