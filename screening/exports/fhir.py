"""FHIR R4: the questionnaire as a Questionnaire, a submitted screening as a Bundle.

Pure functions that build plain JSON-able dicts (no Flask, no database, no FHIR library: the tests
validate the output with the fhir.resources models).

- `questionnaire_resource(q)`: steps become group items, questions their items (linkId = the
  question id), with the YAML's codes. A `show_if` becomes enableWhen / enableBehavior when it can
  be said exactly that way; otherwise the item carries the condition, as the YAML's JSON, in the
  extension `CONDITION_URL`, so nothing is lost.
- `bundle(assessment, patient, meta)`: a collection Bundle with the Patient, the
  QuestionnaireResponse (answers of visible questions only), an Observation per scored instrument
  (valueInteger, the band as interpretation, derivedFrom the response), and the RiskAssessment (the
  tier as qualitative risk, one basis per flagged factor, red flags and domain alerts as notes).

fullUrls are urn:uuid, uuid5 of the screening's reference: exporting the same screening twice gives
the same bundle.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from ..definition import model as m
from ..definition.conditions import evaluate
from ..scoring import Assessment, InstrumentResult

# This project's canonical base: the URLs of its code systems and extensions start with it.
BASE_URL = "https://example.org/fhir"
CONDITION_URL = f"{BASE_URL}/StructureDefinition/screening-condition"
RED_FLAG_URL = f"{BASE_URL}/StructureDefinition/screening-red-flag"
SCREENING_SYSTEM = f"{BASE_URL}/screening"
CONTENT_HASH_SYSTEM = f"{BASE_URL}/questionnaire-content-hash"
CATEGORY_SYSTEM = f"{BASE_URL}/CodeSystem/risk-factor-category"
FACTOR_PROPERTY_SYSTEM = f"{BASE_URL}/CodeSystem/risk-factor-property"

# HL7's.
UCUM = "http://unitsofmeasure.org"
ITEM_CONTROL_URL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_SYSTEM = "http://hl7.org/fhir/questionnaire-item-control"
UNIT_URL = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
UNIT_OPTION_URL = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"
MIN_LENGTH_URL = "http://hl7.org/fhir/StructureDefinition/minLength"
ORDINAL_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
TRANSLATION_URL = "http://hl7.org/fhir/StructureDefinition/translation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

OUTCOME = "Persistent pain after spine surgery (failed back surgery syndrome, PSPS type 2)"
ITEM_TYPES = {
    "choice": "choice",
    "multi_choice": "choice",
    "yes_no": "boolean",
    "integer": "integer",
    "number": "decimal",
    "text": "text",
    "date": "date",
    "height": "quantity",
    "weight": "quantity",
}
UNITS = {"height": "cm", "weight": "kg"}  # as the answers are stored
COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SCREENING_SYSTEM)


def to_json(resource: dict[str, Any]) -> str:
    """A resource as the command line prints it and the staff page serves it."""
    return json.dumps(resource, indent=2, ensure_ascii=False)


# --- small pieces -----------------------------------------------------------------------------


def fhir_id(text: str) -> str:
    """A FHIR id ([A-Za-z0-9-.], at most 64) from one of our ids (which may hold `_`)."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


def _text(key: str, text: str, language: str) -> dict[str, Any]:
    """{key: text}, and {_key: translation extensions} for a text the patient may read in other
    languages (a `Text` of a definition with `languages:`)."""
    out: dict[str, Any] = {key: str(text)}
    translations = [
        {
            "url": TRANSLATION_URL,
            "extension": [
                {"url": "lang", "valueCode": lang},
                {"url": "content", "valueString": content},
            ],
        }
        for lang, content in getattr(text, "translations", {}).items()
        if lang != language
    ]
    if translations:
        out[f"_{key}"] = {"extension": translations}
    return out


def questionnaire_url(q: m.Questionnaire) -> str:
    return f"{BASE_URL}/Questionnaire/{q.id}"


def code_system(q: m.Questionnaire, what: str) -> str:
    """This project's code system for one kind of thing of one questionnaire (tier, factor...)."""
    return f"{BASE_URL}/CodeSystem/{q.id}/{what}"


def _coding(code: m.Coding, display: str | None = None) -> dict[str, Any]:
    coding = {"system": code.system, "code": code.code}
    if code.display or display:
        coding["display"] = code.display or display
    return coding


def option_coding(
    q: m.Questionnaire,
    question: m.Question,
    option: m.Option,
    ordinal: bool = True,
    translated: bool = False,
) -> dict[str, Any]:
    """The Coding of an option: the YAML's code (e.g. LOINC LA...) or one of this project's. With
    `ordinal`, an integer option value goes along as ordinalValue (the points the option scores);
    with `translated` (in the Questionnaire), the label's translations."""
    code = option.code
    if code is not None and code.display and code.display != option.label:
        coding = _coding(code)  # the code system's own display (LOINC's)
    else:
        coding = {
            "system": code.system if code else code_system(q, f"option/{question.id}"),
            "code": code.code if code else str(option.value),
            "display": str(option.label),
        }
        if translated:
            coding.update(_text("display", option.label, q.language))
    if ordinal and isinstance(option.value, int):
        coding = {"extension": [{"url": ORDINAL_URL, "valueDecimal": option.value}], **coding}
    return coding


def _quantity(question: m.Question, value: float) -> dict[str, Any]:
    unit = UNITS[question.type]
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _value(
    q: m.Questionnaire, question: m.Question, value: Any, prefix: str, ordinal: bool = True
) -> dict[str, Any]:
    """{prefix + type: value}: an answer (prefix "value") or an enableWhen answer ("answer")."""
    qtype = question.type
    if qtype in ("choice", "multi_choice"):
        option = question.option_by_key[str(value)]
        return {f"{prefix}Coding": option_coding(q, question, option, ordinal)}
    if qtype == "yes_no":
        return {f"{prefix}Boolean": bool(value)}
    if qtype == "integer":
        return {f"{prefix}Integer": int(value)}
    if qtype == "number":
        return {f"{prefix}Decimal": value}
    if qtype in UNITS:
        return {f"{prefix}Quantity": _quantity(question, value)}
    if qtype == "date":
        return {f"{prefix}Date": value.isoformat()}
    return {f"{prefix}String": str(value)}


def _datetime(value: dt.datetime) -> str:
    """A FHIR dateTime in UTC, e.g. 2026-03-04T09:30:15Z (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- conditions -------------------------------------------------------------------------------


def condition_json(condition: m.Condition) -> dict[str, Any]:
    """A condition as the YAML writes it, with JSON values (dates as ISO text)."""
    if isinstance(condition, m.Leaf):
        operand = condition.operand
        if isinstance(operand, tuple):
            operand = [v.isoformat() if isinstance(v, dt.date) else v for v in operand]
        elif isinstance(operand, dt.date):
            operand = operand.isoformat()
        return {condition.kind: condition.ref, condition.op: operand}
    if isinstance(condition, m.All):
        return {"all": [condition_json(c) for c in condition.items]}
    if isinstance(condition, m.AnyOf):
        return {"any": [condition_json(c) for c in condition.items]}
    return {"not": condition_json(condition.item)}


class NotMapped(Exception):
    """The condition cannot be said exactly with enableWhen."""


def _leaf(q: m.Questionnaire, leaf: m.Leaf) -> tuple[str, list[dict[str, Any]]]:
    """The enableWhen entries of one leaf and how they combine: "one", "any" or "all".

    Exact, with R4's operators: `=` and the comparisons are false without an answer, `!=` is true
    without one (no answer equals), `exists` tests for an answer. Choices and yes/no questions are
    written as the options that make the leaf true (so `not_equals` and `gt` on an ordinal choice
    become `=` on each such option, any of them).
    """
    if leaf.kind != "question":
        raise NotMapped("a computed value or an instrument score")
    question = q.questions[leaf.ref]

    def entry(operator: str, value: Any) -> dict[str, Any]:
        return {
            "question": question.id,
            "operator": operator,
            **_value(q, question, value, "answer", ordinal=False),
        }

    if leaf.op == "answered":
        return "one", [
            {"question": question.id, "operator": "exists", "answerBoolean": leaf.operand}
        ]
    if leaf.op == "contains":  # a multi_choice answer holding the option: R4's "=" on repeats
        return "one", [entry("=", leaf.operand)]
    if question.type in ("choice", "yes_no"):
        values = [o.value for o in question.options] if question.type == "choice" else [True, False]
        chosen = [v for v in values if evaluate(leaf, lambda _leaf, v=v: v)]
        if not chosen:
            raise NotMapped("no answer makes it true")
        return ("one" if len(chosen) == 1 else "any"), [entry("=", v) for v in chosen]
    if leaf.op == "equals":
        return "one", [entry("=", leaf.operand)]
    if leaf.op == "in":
        return ("one" if len(leaf.operand) == 1 else "any"), [entry("=", v) for v in leaf.operand]
    if leaf.op in COMPARISONS:
        return "one", [entry(COMPARISONS[leaf.op], leaf.operand)]
    # not_equals / not_in: answered, and none of the values (R4's != alone is true unanswered).
    values = leaf.operand if leaf.op == "not_in" else (leaf.operand,)
    exists = {"question": question.id, "operator": "exists", "answerBoolean": True}
    return "all", [exists, *(entry("!=", v) for v in values)]


def _simplify(condition: m.Condition) -> m.Condition:
    while isinstance(condition, m.All | m.AnyOf) and len(condition.items) == 1:
        condition = condition.items[0]
    return condition


def _flatten(condition: m.All | m.AnyOf) -> list[m.Condition]:
    """The items of an all (any), with the items of an all (any) inside it taken up."""
    items: list[m.Condition] = []
    for item in condition.items:
        item = _simplify(item)
        if type(item) is type(condition):
            items.extend(_flatten(item))
        else:
            items.append(item)
    return items


def enable_when(
    q: m.Questionnaire, condition: m.Condition
) -> tuple[list[dict[str, Any]], str | None]:
    """enableWhen entries and enableBehavior (None for a single entry); NotMapped when the
    condition cannot be said exactly that way (not, an any inside an all or the reverse, a
    computed value or an instrument score)."""
    condition = _simplify(condition)
    if isinstance(condition, m.Leaf):
        mode, entries = _leaf(q, condition)
        return entries, (mode if len(entries) > 1 else None)
    if isinstance(condition, m.Not):
        raise NotMapped("not")
    behavior = "all" if isinstance(condition, m.All) else "any"
    entries: list[dict[str, Any]] = []
    for item in _flatten(condition):
        if not isinstance(item, m.Leaf):
            raise NotMapped("nested")
        mode, found = _leaf(q, item)
        if mode not in ("one", behavior):
            raise NotMapped("nested")
        entries.extend(e for e in found if e not in entries)
    return entries, (behavior if len(entries) > 1 else None)


def condition_extension(condition: m.Condition) -> dict[str, Any]:
    text = json.dumps(condition_json(condition), ensure_ascii=False, separators=(", ", ": "))
    return {"url": CONDITION_URL, "valueString": text}


def _with_condition(
    item: dict[str, Any], q: m.Questionnaire, condition: m.Condition | None
) -> dict[str, Any]:
    if condition is None:
        return item
    try:
        entries, behavior = enable_when(q, condition)
    except NotMapped:
        return {"extension": [*item.pop("extension", []), condition_extension(condition)], **item}
    item["enableWhen"] = entries
    if behavior:
        item["enableBehavior"] = behavior
    return item


# --- the Questionnaire ------------------------------------------------------------------------


def _bound(question: m.Question, url: str, value: Any) -> dict[str, Any] | None:
    if value is None or value == "today":  # "today" moves: no fixed bound to write
        return None
    if question.type == "integer":
        return {"url": url, "valueInteger": value}
    if question.type == "number":
        return {"url": url, "valueDecimal": value}
    if question.type == "date":
        return {"url": url, "valueDate": value.isoformat()}
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
            {"url": UNIT_URL, "valueCoding": _text("display", question.unit, q.language)}
        )
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
        item["code"] = [_coding(question.code)]
    item.update(_text("text", question.label, q.language))
    item["type"] = ITEM_TYPES[question.type]
    item = _with_condition(item, q, question.show_if)
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
    return {**item, "linkId": link_id, **_text("text", text, q.language), "type": "display"}


def step_link_id(step: m.Step) -> str:
    """Steps and questions have separate ids in the YAML: a step's linkId cannot clash."""
    return f"step.{step.id}"


def questionnaire_resource(q: m.Questionnaire) -> dict[str, Any]:
    items = []
    for step in q.steps:
        intro = f"{step_link_id(step)}.intro"
        children = [_display(q, intro, step.intro)] if step.intro else []
        children += [_question_item(q, question) for question in step.questions]
        group = {"linkId": step_link_id(step), **_text("text", step.title, q.language)}
        group["type"] = "group"
        group = _with_condition(group, q, step.show_if)
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
            **_text("title", q.title, q.language),
            "status": "active",
            "subjectType": ["Patient"],
        }
    )
    if q.description:
        resource.update(_text("description", q.description, q.language))
    resource["item"] = items
    return resource


# --- a screening as a Bundle ------------------------------------------------------------------


@dataclass(frozen=True)
class PatientDetails:
    name: str = ""
    birth_date: dt.date | None = None
    mrn: str | None = None


@dataclass(frozen=True)
class ScreeningMeta:
    reference: str  # e.g. S-000012: the bundle's identifier, and the seed of its uuids
    submitted_at: dt.datetime


def _uuid(meta: ScreeningMeta, *parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join((meta.reference, *parts))))


def _patient(patient: PatientDetails, ident: str) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": ident}
    if patient.mrn:
        resource["identifier"] = [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": IDENTIFIER_TYPE,
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ],
                    "text": "MRN",
                },
                "value": patient.mrn,
            }
        ]
    if patient.name:
        resource["name"] = [{"text": patient.name}]
    if patient.birth_date:
        resource["birthDate"] = patient.birth_date.isoformat()
    return resource


def _answers(a: Assessment, question: m.Question) -> list[dict[str, Any]]:
    value = a.answers[question.id]
    values = value if question.type == "multi_choice" else (value,)
    return [_value(a.questionnaire, question, v, "value") for v in values]


def _response(
    a: Assessment, meta: ScreeningMeta, ident: str, subject: dict[str, str]
) -> dict[str, Any]:
    q = a.questionnaire
    groups = []
    for step_id in a.visible_steps:  # the answers of visible questions only
        step = q.step_by_id[step_id]
        items = [
            {"linkId": question.id, "text": question.label, "answer": _answers(a, question)}
            for question in step.questions
            if question.id in a.visible and question.id in a.answers
        ]
        if items:
            groups.append({"linkId": step_link_id(step), "text": step.title, "item": items})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": ident,
        "language": q.language,  # of its texts: the clinic's, whatever the patient read
    }
    resource.update(
        {
            "identifier": {"system": SCREENING_SYSTEM, "value": meta.reference},
            "questionnaire": f"{questionnaire_url(q)}|{q.version}",
            "status": "completed" if a.complete else "in-progress",
            "subject": subject,
            "authored": _datetime(meta.submitted_at),
            "item": groups,
        }
    )
    return resource


def _instrument(
    q: m.Questionnaire,
    r: InstrumentResult,
    ident: str,
    subject: dict[str, str],
    effective: str,
    source: dict[str, str],
) -> dict[str, Any]:
    """An instrument's total: the YAML's code (LOINC for PHQ-9 and GAD-7) or one of ours."""
    instrument = r.instrument
    coding = (
        _coding(instrument.code)
        if instrument.code is not None
        else {
            "system": code_system(q, "instrument"),
            "code": instrument.id,
            "display": instrument.label,
        }
    )
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {"coding": [coding], "text": instrument.label},
        "subject": subject,
        "effectiveDateTime": effective,
        "valueInteger": r.score,
        "interpretation": [{"text": r.band}],
        "derivedFrom": [source],
    }


def _factor(
    q: m.Questionnaire,
    factor: m.RiskFactor,
    subject: dict[str, str],
    effective: str,
    source: dict[str, str],
) -> dict[str, Any]:
    """A flagged factor as a contained Observation: its points, why it matters, what to do."""
    notes = [
        {"text": factor.clinician_text},
        {"text": f"Before surgery: {factor.action}"},
        {"text": "Evidence: " + "; ".join(e.short for e in factor.evidence)},
    ]
    return {
        "resourceType": "Observation",
        "id": fhir_id(f"factor-{factor.id}"),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": factor.category,
                        "display": m.CATEGORY_LABELS[factor.category],
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": code_system(q, "risk-factor"),
                    "code": factor.id,
                    "display": factor.label,
                }
            ],
            "text": factor.label,
        },
        "subject": subject,
        "effectiveDateTime": effective,
        "valueInteger": factor.points,
        "derivedFrom": [source],
        "note": notes,
        "component": [
            {
                "code": {
                    "coding": [{"system": FACTOR_PROPERTY_SYSTEM, "code": "modifiable"}],
                    "text": "Modifiable before surgery",
                },
                "valueBoolean": factor.modifiable,
            }
        ],
    }


def _points(n: int) -> str:
    return f"{n} point{'' if n == 1 else 's'}"


def _risk_assessment(
    a: Assessment, ident: str, subject: dict[str, str], effective: str, source: dict[str, str]
) -> dict[str, Any]:
    q = a.questionnaire
    contained = [_factor(q, r.factor, subject, effective, source) for r in a.factors]
    basis = [
        {
            "reference": f"#{observation['id']}",
            "display": f"{r.factor.label}: {_points(r.points)}. {r.factor.clinician_text}",
        }
        for r, observation in zip(a.factors, contained, strict=True)
    ]
    notes = []
    for r in a.red_flags:
        flag = r.flag
        title = flag.title
        notes.append(
            {
                "extension": [
                    {
                        "url": RED_FLAG_URL,
                        "valueCoding": {
                            "system": code_system(q, "red-flag"),
                            "code": flag.id,
                            "display": title,
                        },
                    }
                ],
                "text": (
                    f"RED FLAG: {title} ({m.URGENCY_LABELS.get(flag.urgency, flag.urgency)}). "
                    f"{flag.clinician_message}"
                ),
            }
        )
    notes += [{"text": alert.clinician_message} for alert in a.domain_alerts]
    resource: dict[str, Any] = {"resourceType": "RiskAssessment", "id": ident}
    if contained:
        resource["contained"] = contained
    resource.update(
        {
            "status": "final",
            "method": {
                "coding": [{"system": questionnaire_url(q), "code": q.version}],
                "text": f"{q.title} ({q.id} {q.version}): points model",
            },
            "subject": subject,
            "occurrenceDateTime": effective,
        }
    )
    if basis:
        resource["basis"] = basis
    resource["prediction"] = [
        {
            "outcome": {"text": OUTCOME},
            "qualitativeRisk": {
                "coding": [
                    {"system": code_system(q, "tier"), "code": a.tier.id, "display": a.tier.label}
                ],
                "text": a.tier.label,
            },
            "rationale": (
                f"{a.total} of {a.max_total} points ({a.modifiable_points} modifiable), "
                f"{len(a.factors)} risk factor{'' if len(a.factors) == 1 else 's'}"
            ),
        }
    ]
    if notes:
        resource["note"] = notes
    return resource


def bundle(a: Assessment, patient: PatientDetails, meta: ScreeningMeta) -> dict[str, Any]:
    """The screening as a collection Bundle (see the module's docstring)."""
    q = a.questionnaire
    ids = {
        "Patient": _uuid(meta, "Patient"),
        "QuestionnaireResponse": _uuid(meta, "QuestionnaireResponse"),
        "RiskAssessment": _uuid(meta, "RiskAssessment"),
    }
    subject = {"reference": f"urn:uuid:{ids['Patient']}"}
    source = {"reference": f"urn:uuid:{ids['QuestionnaireResponse']}"}
    effective = _datetime(meta.submitted_at)
    resources = [
        _patient(patient, ids["Patient"]),
        _response(a, meta, ids["QuestionnaireResponse"], subject),
    ]
    for instrument in q.instruments:
        r = a.instruments.get(instrument.id)
        if r is not None and r.score is not None:
            ident = _uuid(meta, "Observation", instrument.id)
            resources.append(_instrument(q, r, ident, subject, effective, source))
    resources.append(_risk_assessment(a, ids["RiskAssessment"], subject, effective, source))
    return {
        "resourceType": "Bundle",
        "id": _uuid(meta, "Bundle"),
        "identifier": {"system": SCREENING_SYSTEM, "value": meta.reference},
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
