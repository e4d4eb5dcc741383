"""Checking exported FHIR: the fhir.resources R4B models, and what they leave unchecked.

The models check structure, cardinality, choice types ([x]) and primitive formats. They do not
check codes against R4's required value sets, nor the resources' invariants: `check_*` below do
that for what the exports use (item types, operators, enableBehavior, unique linkIds, answers
that match their items).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.riskassessment import RiskAssessment

MODELS = {
    "Bundle": Bundle,
    "Observation": Observation,
    "Patient": Patient,
    "Questionnaire": Questionnaire,
    "QuestionnaireResponse": QuestionnaireResponse,
    "RiskAssessment": RiskAssessment,
}

# R4's required value sets.
ITEM_TYPES = {
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string",
    "text", "url", "choice", "open-choice", "attachment", "reference", "quantity",
}  # fmt: skip
OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
ANSWER_TYPES = {
    "boolean": "Boolean",
    "decimal": "Decimal",
    "integer": "Integer",
    "date": "Date",
    "text": "String",
    "string": "String",
    "choice": "Coding",
    "quantity": "Quantity",
}
STATUSES = {
    "Questionnaire": {"draft", "active", "retired", "unknown"},
    "QuestionnaireResponse": {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
    "Observation": {"registered", "preliminary", "final", "amended"},
    "RiskAssessment": {"registered", "preliminary", "final", "amended"},
}


def validated(resource: dict[str, Any]) -> Any:
    """The model of `resource`, after checking that it holds all of it, unchanged."""
    plain = json.loads(json.dumps(resource))  # what a client receives
    model = MODELS[plain["resourceType"]].model_validate(plain)
    assert json.loads(model.model_dump_json(by_alias=True, exclude_none=True)) == plain
    return model


def items(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item, at any depth (in a response also those under answers)."""
    for item in node.get("item", []):
        yield item
        yield from items(item)
        for answer in item.get("answer", []):
            yield from items(answer)


def extensions(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield from node.get("extension", [])
        for value in node.values():
            yield from extensions(value)
    elif isinstance(node, list):
        for value in node:
            yield from extensions(value)


def answer_value(entry: dict[str, Any], prefix: str) -> tuple[str, Any]:
    [(key, value)] = [(k, v) for k, v in entry.items() if k.startswith(prefix)]
    return key.removeprefix(prefix), value


def check_extensions(resource: dict[str, Any]) -> None:
    for ext in extensions(resource):
        assert ext["url"].startswith(("http://", "https://")) or ext["url"] in ("lang", "content")
        has_value = any(k.startswith("value") for k in ext)
        assert has_value != ("extension" in ext), ext  # ext-1: a value or extensions, not both


def check_questionnaire(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """R4's rules for a Questionnaire; returns its items by linkId."""
    assert resource["status"] in STATUSES["Questionnaire"]
    by_id: dict[str, dict[str, Any]] = {}
    for item in items(resource):
        assert item["linkId"] not in by_id, f"linkId {item['linkId']} twice (que-2)"
        by_id[item["linkId"]] = item
        assert item["type"] in ITEM_TYPES, item["type"]
        if item["type"] == "display":  # que-6, que-9
            assert not {"required", "repeats", "answerOption", "item"} & set(item), item
        if item["type"] == "group":
            assert item.get("item"), f"group {item['linkId']} has no items (que-1)"
        if "answerOption" in item:  # que-5
            assert item["type"] in ("choice", "open-choice")
        if "maxLength" in item:  # que-10
            assert item["type"] in ("boolean", "decimal", "integer", "string", "text", "url")
    for item in by_id.values():
        entries = item.get("enableWhen", [])
        assert (len(entries) > 1) == ("enableBehavior" in item), item["linkId"]  # que-12
        if "enableBehavior" in item:
            assert item["enableBehavior"] in ("all", "any")
        for entry in entries:
            assert entry["question"] in by_id and entry["question"] != item["linkId"]
            target = by_id[entry["question"]]
            assert entry["operator"] in OPERATORS
            kind, value = answer_value(entry, "answer")
            if entry["operator"] == "exists":  # que-7
                assert kind == "Boolean"
            else:
                assert kind == ANSWER_TYPES[target["type"]], (item["linkId"], entry)
            if kind == "Coding":
                assert (value["system"], value["code"]) in codes(target), (item["linkId"], entry)
    check_extensions(resource)
    return by_id


def codes(item: dict[str, Any]) -> set[tuple[str, str]]:
    return {(o["valueCoding"]["system"], o["valueCoding"]["code"]) for o in item["answerOption"]}


def check_response(response: dict[str, Any], questionnaire: dict[str, Any]) -> None:
    """A QuestionnaireResponse against its Questionnaire: known items, typed answers."""
    assert response["status"] in STATUSES["QuestionnaireResponse"]
    by_id = {item["linkId"]: item for item in items(questionnaire)}
    for item in items(response):
        definition = by_id[item["linkId"]]
        if definition["type"] == "group":
            assert "answer" not in item and item["item"]
            continue
        answers = item["answer"]
        assert answers, item["linkId"]
        assert len(answers) == 1 or definition.get("repeats"), item["linkId"]
        for answer in answers:
            kind, value = answer_value(answer, "value")
            assert kind == ANSWER_TYPES[definition["type"]], (item["linkId"], answer)
            if kind == "Coding":
                assert (value["system"], value["code"]) in codes(definition), item["linkId"]


def entries(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def check_bundle(bundle: dict[str, Any]) -> None:
    """Every entry valid on its own, each fullUrl its resource's id, every reference resolved."""
    validated(bundle)
    assert bundle["type"] == "collection"
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        validated(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        if resource["resourceType"] in STATUSES:
            assert resource["status"] in STATUSES[resource["resourceType"]]
        contained = {f"#{c['id']}" for c in resource.get("contained", [])}
        for reference in references(resource):
            assert reference in full_urls or reference in contained, reference
        for c in resource.get("contained", []):  # dom-3: each contained resource is referenced
            assert f"#{c['id']}" in set(references(resource))
        check_extensions(resource)


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)
