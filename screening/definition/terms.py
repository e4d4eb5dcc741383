"""The language's smallest terms: a month of a year, a text in several languages, and the nodes
of a condition.

With the vocabulary's fixed lists. Part of the model (`model.py` re-exports them); apart so that
the model stays one readable room.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Literal

# --- the vocabulary --------------------------------------------------------------------------

QUESTION_TYPES = (
    "choice",
    "multi_choice",
    "yes_no",
    "integer",
    "number",
    "text",
    "date",
    "month_year",
    "height",
    "weight",
)
NUMERIC_TYPES = frozenset({"integer", "number", "height", "weight"})
DATE_TYPES = frozenset({"date", "month_year"})
ORDERED_TYPES = NUMERIC_TYPES | DATE_TYPES
CATEGORIES = ("surgery", "history", "habits", "mental_health", "psychosocial")
CATEGORY_LABELS = {
    "surgery": "Planned surgery",
    "history": "Medical history",
    "habits": "Habits",
    "mental_health": "Mental health",
    "psychosocial": "Psychosocial",
}
URGENCIES = ("emergency", "same_day", "review")
URGENCY_LABELS = {  # for the clinic: the PDF, the staff pages, the FHIR bundle
    "emergency": "Emergency: same-day emergency care",
    "same_day": "Same-day clinician review",
    "review": "Hold for review before surgery",
}
URGENCY_NAMES = {  # short, before a flag's title: "Emergency: Possible cauda equina syndrome"
    "emergency": "Emergency",
    "same_day": "Same day",
    "review": "Review",
}
TEXT_MAX_DEFAULT = 2000
# Sanity bounds of a height (cm) or weight (kg) question that gives none of its own.
DEFAULT_BOUNDS = {"height": (30.0, 300.0), "weight": (2.0, 700.0)}

OptionValue = str | int


# --- a month of a year -----------------------------------------------------------------------

YEAR_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")


class YearMonth(dt.date):
    """A month of a year, the answer to a `month_year` question ("When did you stop? An
    approximate date is fine"): written YYYY-MM (stored, exported, in conditions), and ordered
    as its first day, so it compares with another month and with a date as a date does."""

    __slots__ = ()

    def __new__(cls, year: int, month: int, day: int = 1) -> YearMonth:
        # `day` is taken and ignored: date's own methods make a copy with three numbers.
        return super().__new__(cls, year, month, 1)

    @classmethod
    def of(cls, value: dt.date) -> YearMonth:
        return cls(value.year, value.month)

    @classmethod
    def parse(cls, text: str) -> YearMonth | None:
        """YYYY-MM, or None (a month out of 1-12 too)."""
        found = YEAR_MONTH_RE.fullmatch(text.strip())
        if not found:
            return None
        try:
            return cls(int(found.group(1)), int(found.group(2)))
        except ValueError:
            return None

    def isoformat(self) -> str:  # type: ignore[override]
        return f"{self.year:04d}-{self.month:02d}"

    def __str__(self) -> str:
        return self.isoformat()

    def __repr__(self) -> str:
        return f"YearMonth({self.year}, {self.month})"

    def __reduce__(self) -> tuple[Any, ...]:  # type: ignore[override]
        return (YearMonth, (self.year, self.month))


# --- texts in several languages ---------------------------------------------------------------


class Text(str):
    """A text in the questionnaire's first language that also carries its translations.

    It is a `str`, so everything that reads the questionnaire (the engine, the clinician's PDF)
    sees the first language; `Questionnaire.localized(lang)` swaps every one for `lang`.
    """

    translations: dict[str, str]

    def __new__(cls, value: str, translations: Mapping[str, str]) -> Text:
        text = super().__new__(cls, value)
        text.translations = dict(translations)
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (str(self), self.translations))

    def to(self, language: str) -> str:
        return self.translations.get(language, str(self))


def localize(node: Any, language: str) -> Any:
    """`node` (a dataclass of this module, a tuple of them, or a Text) in `language`."""
    if isinstance(node, Text):
        return node.to(language)
    if isinstance(node, tuple):
        items = tuple(localize(item, language) for item in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for f in fields(node):
            if not f.init:
                continue
            value = getattr(node, f.name)
            new = localize(value, language)
            if new is not value:
                changes[f.name] = new
        return replace(node, **changes) if changes else node
    return node


# --- conditions -------------------------------------------------------------------------------

LeafOp = Literal[
    "equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "answered"
]
LEAF_OPS: tuple[str, ...] = (
    "equals",
    "not_equals",
    "in",
    "not_in",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "answered",
)


@dataclass(frozen=True, slots=True)
class Leaf:
    """`{question: ID, op: operand}` or `{value: ID, op: operand}`."""

    kind: Literal["question", "value"]
    ref: str
    op: str
    operand: Any


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Leaf | All | AnyOf | Not
