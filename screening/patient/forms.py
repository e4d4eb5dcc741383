"""One WTForms form per step, generated from the questionnaire.

Fields are named `q_<question id>` and keep exactly what the patient typed, so a page shown again
after an error holds the patient's own words. Typing and range checks are the engine's own
(`codec.parse`), so the browser and `screening score` agree on what an answer means.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context
from flask_wtf import FlaskForm
from wtforms.fields import Field
from wtforms.utils import unset_value

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING
from ..i18n import N_, current_language, gettext, message
from ..scoring import AnswerError


class QuestionField(Field):
    """A question of the YAML. `data` is the patient's raw text (or list of option values)."""

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        question: m.Question,
        **kwargs: Any,
    ):
        super().__init__(label, validators, **kwargs)
        self.question = question

    # The boxes of a question typed in several (a date's day, month and year; a height's feet
    # and inches) whose answer is wrong: their border shows it, the error summary links to the
    # first. Set when the answer is typed (`typed`); empty for a question of one box.
    error_parts: tuple[str, ...] = ()

    @property
    def input_id(self) -> str:
        """The id of the element the label and the error summary point at."""
        return self.id

    def box_id(self, part: str) -> str:
        """The id of one of the question's boxes."""
        return f"{self.id}_{part}"

    def box_in_error(self, part: str) -> bool:
        return bool(self.errors) and part in self.wrong_parts

    @property
    def wrong_parts(self) -> tuple[str, ...]:
        return self.error_parts

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = valuelist[0] if valuelist else ""

    def process_data(self, value: Any) -> None:
        self.data = codec.to_form(self.question, value)

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)

    def raw_answer(self) -> Any:
        return self.data

    def typed(self, today: Any = None) -> Any:
        """The engine's value for the posted text; AnswerError if it cannot be used."""
        return codec.parse(self.question, self.raw_answer(), today)


class ChoiceField(QuestionField):
    @property
    def input_id(self) -> str:
        return f"{self.id}-0"

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """(posted value, label) for each radio button."""
        if self.question.type == "yes_no":
            language = current_language()
            return [("yes", gettext(language, N_("Yes"))), ("no", gettext(language, N_("No")))]
        return [(str(o.value), o.label) for o in self.question.options]

    def is_checked(self, value: Any) -> bool:
        return self.data is not None and self.data != "" and str(self.data) == str(value)


class MultiChoiceField(QuestionField):
    @property
    def input_id(self) -> str:
        return f"{self.id}-0"

    pairs = ChoiceField.pairs

    @property
    def exclusive_keys(self) -> frozenset[str]:
        """The posted values of the options that go with no other ("Nowhere else")."""
        return frozenset(str(value) for value in self.question.exclusive_values)

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = list(valuelist)

    def is_checked(self, value: Any) -> bool:
        return str(value) in {str(v) for v in self.data or ()}


class DateField(QuestionField):
    """A date in three boxes (day, month, year), or a month in two (`month_year`: month, year),
    as GOV.UK's "memorable date" pattern: `<name>_day`, `<name>_month`, `<name>_year`. `data`
    holds each box as typed, so a page shown again keeps them; a single `<name>` posted as ISO
    text (a draft kept before the boxes) fills them in too."""

    @property
    def parts(self) -> tuple[str, ...]:
        return codec.DATE_PARTS[self.question.type]

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        if data is unset_value:
            data = self.default
        self.object_data = data
        qtype = self.question.type
        self.data = codec.date_parts(qtype, None if data is unset_value else data)
        if formdata is not None:
            keys = [f"{self.name}_{part}" for part in self.parts]
            if any(key in formdata for key in keys):
                self.data = {part: formdata.get(f"{self.name}_{part}", "") for part in self.parts}
            elif self.name in formdata:
                self.data = codec.date_parts(qtype, formdata.get(self.name, ""))

    @property
    def input_id(self) -> str:
        return self.box_id((self.wrong_parts or self.parts)[0])

    @property
    def wrong_parts(self) -> tuple[str, ...]:
        return self.error_parts or self.parts  # a missing or out-of-range date: every box

    def raw_answer(self) -> Any:
        return codec.date_from_parts(self.question.type, self.data)

    def typed(self, today: Any = None) -> Any:
        try:
            return super().typed(today)
        except AnswerError as exc:
            self.error_parts = getattr(exc, "parts", self.parts)
            raise


def clinic_units() -> str:
    """`us` or `metric` (SCREENING_UNITS): which units a height and a weight show first."""
    return (current_app.config.get("SCREENING_UNITS") if has_app_context() else None) or "metric"


class MeasureField(QuestionField):
    """Height or weight, in metric or US units; the stored value is always cm or kg.

    Inputs: `<name>` (cm or kg), and `<name>_ft` + `<name>_in` for a height or `<name>_lb` for a
    weight. The metric box wins when both are filled in. The clinic's units
    (SCREENING_UNITS) come first on the page.
    """

    @property
    def groups(self) -> list[tuple[str, ...]]:
        """The boxes, in the order the page shows them: metric, then US, or US first."""
        us = ("ft", "in") if self.question.type == "height" else ("lb",)
        return [us, ("metric",)] if clinic_units() == "us" else [("metric",), us]

    def box_id(self, part: str) -> str:
        return self.id if part == "metric" else f"{self.id}_{part}"

    @property
    def input_id(self) -> str:
        return self.box_id(self.wrong_parts[0])

    @property
    def wrong_parts(self) -> tuple[str, ...]:
        return self.error_parts or self.groups[0]  # nothing typed: the first boxes

    def typed(self, today: Any = None) -> Any:
        try:
            return super().typed(today)
        except AnswerError:
            self.error_parts = self._typed_parts()
            raise

    def _typed_parts(self) -> tuple[str, ...]:
        """The boxes the answer was read from (the metric box wins)."""
        d = self.data
        if d["metric"].strip():
            return ("metric",)
        if self.question.type == "height":
            return tuple(p for p in ("ft", "in") if d[p].strip()) or ("ft", "in")
        return ("lb",)

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        if data is unset_value:
            data = self.default
        self.object_data = data
        metric = "" if data in (None, unset_value) else codec.number(data)
        self.data = {"metric": metric, "ft": "", "in": "", "lb": ""}
        if formdata is not None:
            keys = [self.name, *(f"{self.name}_{k}" for k in ("ft", "in", "lb"))]
            if any(k in formdata for k in keys):
                self.data = {
                    "metric": formdata.get(self.name, ""),
                    "ft": formdata.get(f"{self.name}_ft", ""),
                    "in": formdata.get(f"{self.name}_in", ""),
                    "lb": formdata.get(f"{self.name}_lb", ""),
                }

    def raw_answer(self) -> Any:
        d = self.data
        if d["metric"].strip():
            return d["metric"]
        if self.question.type == "height":
            return codec.metric_height(d["ft"], d["in"])
        return codec.metric_weight(d["lb"])


FIELD_TYPES: dict[str, type[QuestionField]] = {
    "choice": ChoiceField,
    "yes_no": ChoiceField,
    "multi_choice": MultiChoiceField,
    "height": MeasureField,
    "weight": MeasureField,
    "date": DateField,
    "month_year": DateField,
}


class StepForm(FlaskForm):
    """Base of the generated step forms.

    CSRF is checked for every POST by Flask-WTF's CSRFProtect before a view runs (so an expired
    token can re-show the page with what was typed); the templates render the token.
    """

    class Meta:
        csrf = False

    step: m.Step

    def question_fields(self) -> list[QuestionField]:
        return [self[f"q_{q.id}"] for q in self.step.questions]

    def typed_answers(self, today: Any = None) -> tuple[dict[str, Any], dict[str, str]]:
        """The typed value of each question on the page, and a message for each unusable one
        (in the page's language)."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        language = current_language()
        for field in self.question_fields():
            try:
                values[field.question.id] = field.typed(today)
            except AnswerError as exc:
                values[field.question.id] = MISSING
                errors[field.question.id] = message(exc.template, exc.params, language)
        return values, errors


def build_step_form(step: m.Step) -> type[StepForm]:
    """The form class of one step: a class of its own, made for each request (never setattr
    on a shared one)."""
    attrs: dict[str, Any] = {"step": step}
    for question in step.questions:
        field_class = FIELD_TYPES.get(question.type, QuestionField)
        attrs[f"q_{question.id}"] = field_class(question.label, question=question)
    return type(f"Step_{step.id}", (StepForm,), attrs)


def saved_form_data(step: m.Step, answers: dict[str, Any]) -> dict[str, Any]:
    """Initial data for a step's form from the stored answers."""
    return {f"q_{q.id}": answers[q.id] for q in step.questions if q.id in answers}
