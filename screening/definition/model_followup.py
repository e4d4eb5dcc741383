"""The follow-up part of the immutable definition (a pre-operative questionnaire's `followups`, a
follow-up's `baseline` and `outcome`), re-exported by `model`."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from .terms import NUMERIC_TYPES

if TYPE_CHECKING:
    from .model import Condition, Evidence, Questionnaire

# --- follow-up after surgery ------------------------------------------------------------------

OFFSET_UNITS = ("days", "weeks", "months")
# A value named `baseline.ID` is the pre-operative screening's value ID (a follow-up's outcome).
BASELINE_PREFIX = "baseline."
# Every start day of four years (a leap year among them): what a number of months can span.
_FOUR_YEARS = tuple(dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(4 * 365 + 1))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, the month's last day where it has no such
    day (31 January + 1 month = 28 or 29 February)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


@dataclass(frozen=True, slots=True)
class Offset:
    """A time after a day: a number of days, weeks or calendar months."""

    amount: int
    unit: str  # one of OFFSET_UNITS

    def after(self, day: dt.date) -> dt.date:
        if self.unit == "months":
            return add_months(day, self.amount)
        return day + dt.timedelta(days=self.amount * (7 if self.unit == "weeks" else 1))

    @property
    def days(self) -> tuple[int, int]:
        """The fewest and the most days it can be, whatever the day it starts from."""
        if self.unit != "months":
            return (self.amount * (7 if self.unit == "weeks" else 1),) * 2
        spans = {(self.after(day) - day).days for day in _FOUR_YEARS}
        return min(spans), max(spans)

    @property
    def text(self) -> str:
        """The offset in words: 6 weeks, 1 month."""
        return f"{self.amount} {self.unit if self.amount != 1 else self.unit[:-1]}"


@dataclass(frozen=True)
class Followup:
    """A follow-up questionnaire sent after surgery (`followups` of a pre-operative
    questionnaire): which file, when, when to remind, when its link expires."""

    id: str
    questionnaire: str  # a file name beside the definition, e.g. fbss-followup.yaml
    after_surgery: Offset  # the day it is due, from the day of surgery
    remind_after: Offset  # from the day it is sent
    expires_after: Offset  # from the day it is sent: then the link stops working
    label: str  # patient text: "6 weeks after your surgery"
    outcome: bool = False  # its answers are scored for the follow-up's outcome
    line: int = field(default=0, compare=False)

    def due(self, surgery: dt.date) -> dt.date:
        return self.after_surgery.after(surgery)

    def reminder(self, surgery: dt.date) -> dt.date:
        """The day of the reminder, when it is sent on the day it is due."""
        return self.remind_after.after(self.due(surgery))

    def expires(self, surgery: dt.date) -> dt.date:
        """The day its link stops working, when it is sent on the day it is due."""
        return self.expires_after.after(self.due(surgery))


@dataclass(frozen=True)
class Baseline:
    """What a follow-up reads of the pre-operative screening: the questionnaire's id and the
    values (its numeric questions, computed values and instruments), named `baseline.ID`."""

    questionnaire: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class OutcomeValue:
    """A number the outcome's criteria read: `change` (to - from) or `percent_change`
    (100 x (to - from) / from, none when `from` is 0). `from` and `to` are questions, computed
    values, instruments, earlier outcome values or baseline values (`baseline.ID`)."""

    id: str
    label: str
    kind: Literal["change", "percent_change"]
    inputs: tuple[str, str]  # (from, to)


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    when: Condition
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Outcome:
    """What counts as a poor outcome, scored from a follow-up's answers and the pre-operative
    baseline: met when any criterion is met (Kleene's logic: a criterion that would depend on a
    value not known is not known, and so is the outcome unless another criterion is met)."""

    id: str
    label: str
    description: str
    criteria: tuple[Criterion, ...]
    evidence: tuple[Evidence, ...]
    values: tuple[OutcomeValue, ...] = ()
    line: int = field(default=0, compare=False)

    @cached_property
    def value_by_id(self) -> dict[str, OutcomeValue]:
        return {v.id: v for v in self.values}


def numeric_values(q: Questionnaire) -> tuple[str, ...]:
    """What a follow-up may read of `q` as a baseline value (`baseline.ID`): the numeric
    questions (numbers, heights, weights, choices whose option values are whole numbers), the
    computed values and the instruments."""
    questions = [
        question.id
        for question in q.questions.values()
        if question.type in NUMERIC_TYPES
        or (question.type == "choice" and question.options
            and all(_whole(o.value) for o in question.options))
    ]  # fmt: skip
    return (*questions, *(c.id for c in q.computed), *(i.id for i in q.instruments))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
