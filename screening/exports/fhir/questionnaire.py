"""The questionnaire as a FHIR Questionnaire: steps become group items, questions their items
(linkId = the question id), with the YAML's codes, units, bounds and translations."""

from __future__ import annotations

import re
from typing import Any

from ... import codec
from ...definition import model as m
from .common import (
    CONTENT_HASH_SYSTEM,
    ENTRY_FORMAT_URL,
    ITEM_CONTROL_SYSTEM,
    ITEM_CONTROL_URL,
    MAX_VALUE_URL,
    MIN_LENGTH_URL,
    MIN_VALUE_URL,
    UCUM,
    UNIT_OPTION_URL,
    UNIT_URL,
    UNITS,
    coding_of,
    fhir_id,
    option_coding,
    questionnaire_url,
    step_link_id,
    text_element,
)
from .conditions import with_condition

ITEM_TYPES = {
    "choice": "choice",
    "multi_choice": "choice",
    "yes_no": "boolean",
    "integer": "integer",
    "number": "decimal",
    "text": "text",
    "date": "date",
    "month_year": "date",  # a FHIR date may be partial: YYYY-MM, a month
    "height": "quantity",
    "weight": "quantity",
}


def _bound(question: m.Question, url: str, value: Any) -> dict[str, Any] | None:
    if value is None or value == "today":  # "today" moves: no fixed bound to write
        return None
    if question.type == "integer":
        return {"url": url, "valueInteger": value}
    if question.type == "number":
        return {"url": url, "valueDecimal": value}
    if question.type in m.DATE_TYPES:
        return {"url": url, "valueDate": codec.to_stored(value)}
    return None


def _question_item(q: m.Questionnaire, question: m.Question) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = []
    if question.type in UNITS:
        unit = UNITS[question.type]
        extensions.append(
            {"url": UNIT_OPTION_URL, "valueCoding": {"system": UCUM, "code": unit, "display": unit}}
        )
    elif question.unit and question.type in ("integer", "number"):
        extensions.append(
            {"url": UNIT_URL, "valueCoding": text_element("display", question.unit, q.language)}
        )
    if question.type == "month_year":  # the month and the year only
        extensions.append({"url": ENTRY_FORMAT_URL, "valueString": "YYYY-MM"})
    if question.type == "text":
        if question.min:
            extensions.append({"url": MIN_LENGTH_URL, "valueInteger": question.min})
    else:
        for url, value in ((MIN_VALUE_URL, question.min), (MAX_VALUE_URL, question.max)):
            bound = _bound(question, url, value)
            if bound is not None:
                extensions.append(bound)
    item: dict[str, Any] = {}
    if extensions:
        item["extension"] = extensions
    item["linkId"] = question.id
    if question.code is not None:
        item["code"] = [coding_of(question.code)]
    item.update(text_element("text", question.label, q.language))
    item["type"] = ITEM_TYPES[question.type]
    item = with_condition(item, q, question.show_if)
    item["required"] = question.required
    if question.type == "multi_choice":
        item["repeats"] = True
    if question.type == "text":
        item["maxLength"] = question.max if question.max is not None else m.TEXT_MAX_DEFAULT
    if question.options:
        item["answerOption"] = [
            {"valueCoding": option_coding(q, question, o, translated=True)}
            for o in question.options
        ]
    if question.help:
        item["item"] = [_display(q, f"{question.id}.help", question.help, control="help")]
    return item


def _display(
    q: m.Questionnaire, link_id: str, text: str, control: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if control:
        item["extension"] = [
            {
                "url": ITEM_CONTROL_URL,
                "valueCodeableConcept": {
                    "coding": [{"system": ITEM_CONTROL_SYSTEM, "code": control}]
                },
            }
        ]
    return {**item, "linkId": link_id, **text_element("text", text, q.language), "type": "display"}


def questionnaire_resource(q: m.Questionnaire) -> dict[str, Any]:
    items = []
    for step in q.steps:
        intro = f"{step_link_id(step)}.intro"
        children = [_display(q, intro, step.intro)] if step.intro else []
        children += [_question_item(q, question) for question in step.questions]
        group = {"linkId": step_link_id(step), **text_element("text", step.title, q.language)}
        group["type"] = "group"
        group = with_condition(group, q, step.show_if)
        group["item"] = children
        items.append(group)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": fhir_id(f"{q.id}-{q.version}"),
        "language": q.language,
        "url": questionnaire_url(q),
    }
    if q.content_hash:
        resource["identifier"] = [{"system": CONTENT_HASH_SYSTEM, "value": q.content_hash}]
    resource.update(
        {
            "version": q.version,
            "name": "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", q.id) if p),
            **text_element("title", q.title, q.language),
            "status": "active",
            "subjectType": ["Patient"],
        }
    )
    if q.description:
        resource.update(text_element("description", q.description, q.language))
    notice = copyright_text(q)
    if notice:
        resource["copyright"] = notice
    resource["item"] = items
    return resource


def copyright_text(q: m.Questionnaire) -> str | None:
    """Questionnaire.copyright (markdown): the instruments' attributions and the notices owed
    to the code systems used, one paragraph each."""
    lines = [i.attribution for i in q.instruments if i.attribution] + list(q.notices)
    return "\n\n".join(lines) or None
