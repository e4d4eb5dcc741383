"""What the Questionnaire and the Bundle share: URLs and code systems, ids, texts with their
translations, codings, and an answer as a FHIR value."""

from __future__ import annotations

import json
import re
from typing import Any

from ... import codec
from ...definition import model as m

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
ENTRY_FORMAT_URL = "http://hl7.org/fhir/StructureDefinition/entryFormat"
ORDINAL_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
TRANSLATION_URL = "http://hl7.org/fhir/StructureDefinition/translation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"

UNITS = {"height": "cm", "weight": "kg"}  # as the answers are stored


def to_json(resource: dict[str, Any]) -> str:
    """A resource as the command line prints it and the staff page serves it."""
    return json.dumps(resource, indent=2, ensure_ascii=False)


def fhir_id(text: str) -> str:
    """A FHIR id ([A-Za-z0-9-.], at most 64) from one of our ids (which may hold `_`)."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


def questionnaire_url(q: m.Questionnaire) -> str:
    return f"{BASE_URL}/Questionnaire/{q.id}"


def code_system(q: m.Questionnaire, what: str) -> str:
    """This project's code system for one kind of thing of one questionnaire (tier, factor...)."""
    return f"{BASE_URL}/CodeSystem/{q.id}/{what}"


def step_link_id(step: m.Step) -> str:
    """Steps and questions have separate ids in the YAML: a step's linkId cannot clash."""
    return f"step.{step.id}"


def text_element(key: str, text: str, language: str) -> dict[str, Any]:
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


def coding_of(code: m.Coding) -> dict[str, Any]:
    """A code of the YAML (a question's, an option's, an instrument's) as a Coding."""
    coding = {"system": code.system, "code": code.code}
    if code.display:
        coding["display"] = code.display
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
        coding = coding_of(code)  # the code system's own display (LOINC's)
    else:
        coding = {
            "system": code.system if code else code_system(q, f"option/{question.id}"),
            "code": code.code if code else str(option.value),  # the option's key in the YAML
            "display": str(option.label),
        }
        if translated:
            coding.update(text_element("display", option.label, q.language))
    if ordinal and isinstance(option.value, int):
        coding = {"extension": [{"url": ORDINAL_URL, "valueDecimal": option.value}], **coding}
    return coding


def _quantity(question: m.Question, value: float) -> dict[str, Any]:
    unit = UNITS[question.type]
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def value_element(
    q: m.Questionnaire, question: m.Question, value: Any, prefix: str, ordinal: bool = True
) -> dict[str, Any]:
    """{prefix + FHIR type: value} for one typed value of `question` (one option of a
    multi_choice answer): an answer (prefix "value") or an enableWhen answer ("answer")."""
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
    # A date and a text are written as the answer is stored (a date as ISO text; a month as a
    # FHIR date of month precision, YYYY-MM).
    if qtype in m.DATE_TYPES:
        return {f"{prefix}Date": codec.to_stored(value)}
    return {f"{prefix}String": codec.to_stored(value)}
