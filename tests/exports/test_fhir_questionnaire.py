"""The questionnaire as a FHIR R4 Questionnaire: valid, coded, and its conditions kept exactly."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from screening.definition import load_path
from screening.definition import model as m
from screening.definition.conditions import MISSING, evaluate, leaves
from screening.exports import fhir
from tests.conftest import ROOT, SHIPPED

from .support import answer_value, check_questionnaire, validated

HERE = Path(__file__).parent
CONDITIONS = HERE / "conditions.yaml"
BILINGUAL = ROOT / "tests" / "fixtures" / "bilingual.yaml"
LOINC = "http://loinc.org"


@pytest.fixture(scope="module")
def shipped() -> m.Questionnaire:
    return load_path(SHIPPED)


@pytest.fixture(scope="module")
def conditions() -> m.Questionnaire:
    return load_path(CONDITIONS)


@pytest.fixture(scope="module")
def exported(conditions) -> dict[str, dict[str, Any]]:
    resource = fhir.questionnaire_resource(conditions)
    validated(resource)
    return check_questionnaire(resource)


def test_the_shipped_questionnaire_is_a_valid_questionnaire(shipped):
    resource = fhir.questionnaire_resource(shipped)
    validated(resource)
    by_id = check_questionnaire(resource)
    assert resource["url"] == "https://example.org/fhir/Questionnaire/fbss-preop"
    assert (resource["version"], resource["status"], resource["language"]) == (
        shipped.version,
        "active",
        shipped.language,
    )
    assert resource["identifier"] == [
        {"system": fhir.CONTENT_HASH_SYSTEM, "value": shipped.content_hash}
    ]
    # Steps are groups, holding their questions in order; every question is there once.
    groups = resource["item"]
    assert [g["linkId"] for g in groups] == [f"step.{s.id}" for s in shipped.steps]
    assert {g["type"] for g in groups} == {"group"}
    for group, step in zip(groups, shipped.steps, strict=True):
        questions = [i["linkId"] for i in group["item"] if i["type"] != "display"]
        assert questions == [question.id for question in step.questions]
    assert {k for k, v in by_id.items() if v["type"] not in ("group", "display")} == set(
        shipped.questions
    )
    # The shipped conditions all map onto enableWhen: no item needs the extension.
    assert '"screening-condition"' not in json.dumps(resource)
    assert fhir.CONDITION_URL not in json.dumps(resource)
    for question in shipped.questions.values():
        assert ("enableWhen" in by_id[question.id]) == (question.show_if is not None)
    revision = shipped.steps[1]
    assert revision.show_if is not None and "enableWhen" in by_id[f"step.{revision.id}"]


def test_the_shipped_follow_up_is_a_valid_questionnaire():
    followup = load_path(ROOT / "questionnaires" / "fbss-followup.yaml")
    resource = fhir.questionnaire_resource(followup)
    validated(resource)
    by_id = check_questionnaire(resource)
    assert resource["url"] == "https://example.org/fhir/Questionnaire/fbss-followup"
    assert {"peg_1", "back_pain", "pgic", "reoperation", "reoperation_when"} <= set(by_id)
    assert by_id["peg_1"]["code"] == [{"system": LOINC, "code": "75893-8"}]


def test_the_shipped_codes_are_kept(shipped):
    by_id = check_questionnaire(fhir.questionnaire_resource(shipped))
    assert by_id["phq9_1"]["code"] == [
        {
            "system": LOINC,
            "code": "44250-9",
            "display": "Little interest or pleasure in doing things",
        }
    ]
    assert by_id["gad7_1"]["code"][0]["code"] == "69725-0"
    assert by_id["audit_c_1"]["code"][0]["code"] == "68518-0"
    options = [o["valueCoding"] for o in by_id["phq9_1"]["answerOption"]]
    assert [(c["system"], c["code"], c["display"]) for c in options] == [
        (LOINC, "LA6568-5", "Not at all"),
        (LOINC, "LA6569-3", "Several days"),
        (LOINC, "LA6570-1", "More than half the days"),
        (LOINC, "LA6571-9", "Nearly every day"),
    ]
    # The labels' translations go along with the code system's display (the same words).
    assert all(c["_display"]["extension"][0]["url"] == fhir.TRANSLATION_URL for c in options)
    # Each option's value (the points it scores) goes along as ordinalValue.
    assert [c["extension"] for c in options] == [
        [{"url": fhir.ORDINAL_URL, "valueDecimal": n}] for n in range(4)
    ]
    for question in shipped.questions.values():
        if question.code is not None:
            assert by_id[question.id]["code"][0]["code"] == question.code.code


def test_types_units_and_bounds(exported):
    types = {k: v["type"] for k, v in exported.items()}
    assert {k: types[k] for k in ("kind", "regions", "flag", "count", "amount", "word")} == {
        "kind": "choice",
        "regions": "choice",
        "flag": "boolean",
        "count": "integer",
        "amount": "decimal",
        "word": "text",
    }
    assert (types["when"], types["height"], types["weight"]) == ("date", "quantity", "quantity")
    assert exported["regions"]["repeats"] is True and "repeats" not in exported["kind"]
    assert exported["regions"]["required"] is False and exported["kind"]["required"] is True
    # An option without a code gets one of this project's, per question.
    assert exported["kind"]["answerOption"][0] == {
        "valueCoding": {
            "system": "https://example.org/fhir/CodeSystem/conditions/option/kind",
            "code": "a",
            "display": "A",
        }
    }
    ext = {k: {e["url"]: e for e in v.get("extension", [])} for k, v in exported.items()}
    assert ext["height"][fhir.UNIT_OPTION_URL]["valueCoding"] == {
        "system": "http://unitsofmeasure.org",
        "code": "cm",
        "display": "cm",
    }
    assert ext["weight"][fhir.UNIT_OPTION_URL]["valueCoding"]["code"] == "kg"
    assert ext["count"][fhir.UNIT_URL] == {
        "url": fhir.UNIT_URL,
        "valueCoding": {"display": "times"},
    }
    assert ext["count"][fhir.MIN_VALUE_URL]["valueInteger"] == 0
    assert ext["count"][fhir.MAX_VALUE_URL]["valueInteger"] == 10
    assert ext["amount"][fhir.MIN_VALUE_URL]["valueDecimal"] == 0.5
    assert ext["when"][fhir.MIN_VALUE_URL]["valueDate"] == "2000-01-01"
    assert fhir.MAX_VALUE_URL not in ext["when"]  # "today" moves: no fixed bound
    assert exported["word"]["maxLength"] == 20
    assert ext["word"][fhir.MIN_LENGTH_URL]["valueInteger"] == 2
    assert exported["word.help"]["type"] == "display"
    assert exported["word.help"]["text"] == "One word."
    assert exported["step.follow.intro"]["text"] == "Each question here has a condition."


def ew(question: str, operator: str, **answer: Any) -> dict[str, Any]:
    return {"question": question, "operator": operator, **answer}


def kind(code: str) -> dict[str, Any]:
    return {
        "answerCoding": {
            "system": "https://example.org/fhir/CodeSystem/conditions/option/kind",
            "code": code,
            "display": code.upper(),
        }
    }


EXISTS = {"operator": "exists", "answerBoolean": True}
MAPPED = {
    "q_equals": ([ew("kind", "=", **kind("a"))], None),
    "q_not_equals_choice": ([ew("kind", "=", **kind("b")), ew("kind", "=", **kind("c"))], "any"),
    "q_not_equals_int": (
        [{"question": "count", **EXISTS}, ew("count", "!=", answerInteger=3)],
        "all",
    ),
    "q_in_choice": ([ew("kind", "=", **kind("a")), ew("kind", "=", **kind("b"))], "any"),
    "q_in_int": ([ew("count", "=", answerInteger=1), ew("count", "=", answerInteger=2)], "any"),
    "q_not_in_int": (
        [
            {"question": "count", **EXISTS},
            ew("count", "!=", answerInteger=1),
            ew("count", "!=", answerInteger=2),
        ],
        "all",
    ),
    "q_gt": ([ew("count", ">", answerInteger=2)], None),
    "q_gte": ([ew("count", ">=", answerInteger=2)], None),
    "q_lt": ([ew("count", "<", answerInteger=5)], None),
    "q_lte": ([ew("count", "<=", answerInteger=5)], None),
    "q_answered": ([ew("when", "exists", answerBoolean=True)], None),
    "q_unanswered": ([ew("word", "exists", answerBoolean=False)], None),
    "q_yes": ([ew("flag", "=", answerBoolean=True)], None),
    "q_not_yes": ([ew("flag", "=", answerBoolean=False)], None),
    "q_date": ([ew("when", ">", answerDate="2020-01-01")], None),
    "q_number": ([ew("amount", "<=", answerDecimal=80.5)], None),
    "q_height": (
        [
            ew(
                "height",
                ">=",
                answerQuantity={"value": 180, "unit": "cm", "system": fhir.UCUM, "code": "cm"},
            )
        ],
        None,
    ),
    "q_text": ([ew("word", "=", answerString="hello")], None),
    "q_all": ([ew("kind", "=", **kind("a")), ew("count", ">", answerInteger=2)], "all"),
    "q_all_not_equals": (
        [
            ew("kind", "=", **kind("a")),
            {"question": "count", **EXISTS},
            ew("count", "!=", answerInteger=3),
            ew("count", "!=", answerInteger=4),
        ],
        "all",
    ),
    "q_any": (
        [
            ew("kind", "=", **kind("a")),
            ew("count", ">", answerInteger=2),
            ew("flag", "=", answerBoolean=True),
        ],
        "any",
    ),
    "q_any_in": (
        [
            ew("kind", "=", **kind("a")),
            ew("kind", "=", **kind("b")),
            ew("count", "=", answerInteger=5),
        ],
        "any",
    ),
    "step.flagged": ([ew("flag", "=", answerBoolean=True)], None),
}
UNMAPPED = {
    "q_all_in": {
        "all": [{"question": "kind", "in": ["a", "b"]}, {"question": "flag", "equals": True}]
    },
    "q_any_not_equals": {
        "any": [{"question": "count", "not_equals": 3}, {"question": "flag", "equals": True}]
    },
    "q_not": {"not": {"question": "kind", "equals": "a"}},
    "q_nested": {
        "any": [
            {"all": [{"question": "kind", "equals": "a"}, {"question": "flag", "equals": True}]},
            {"question": "count", "equals": 5},
        ]
    },
    "q_value": {"value": "bmi", "gte": 30},
    "step.not_a": {"not": {"question": "kind", "equals": "a"}},
}


@pytest.mark.parametrize("link_id", sorted(MAPPED))
def test_a_condition_that_maps_onto_enable_when(exported, link_id):
    entries, behavior = MAPPED[link_id]
    item = exported[link_id]
    assert item["enableWhen"] == entries
    assert item.get("enableBehavior") == behavior
    assert fhir.CONDITION_URL not in json.dumps(item.get("extension", []))


def test_contains_on_a_multi_choice_is_equals(exported):
    [entry] = exported["q_contains"]["enableWhen"]
    assert entry["operator"] == "=" and entry["answerCoding"]["code"] == "neck"
    assert exported["regions"]["repeats"] is True  # "=": at least one of its answers


def test_an_ordinal_comparison_is_the_options_that_pass(exported):
    item = exported["q_ordinal"]
    assert [e["answerCoding"]["code"] for e in item["enableWhen"]] == ["2", "3"]
    assert {e["operator"] for e in item["enableWhen"]} == {"="}
    assert item["enableBehavior"] == "any"


@pytest.mark.parametrize("link_id", sorted(UNMAPPED))
def test_a_condition_that_does_not_map_is_kept_in_the_extension(exported, link_id):
    item = exported[link_id]
    assert "enableWhen" not in item and "enableBehavior" not in item
    [ext] = [e for e in item["extension"] if e["url"] == fhir.CONDITION_URL]
    assert set(ext) == {"url", "valueString"}
    assert json.loads(ext["valueString"]) == UNMAPPED[link_id]
    assert fhir.CONDITION_URL == (
        "https://example.org/fhir/StructureDefinition/screening-condition"
    )


def test_every_condition_of_the_fixture_is_checked(conditions):
    conditional = {q.id for q in conditions.questions.values() if q.show_if is not None}
    conditional |= {f"step.{s.id}" for s in conditions.steps if s.show_if is not None}
    assert conditional == set(MAPPED) | set(UNMAPPED) | {"q_contains", "q_ordinal"}


# --- the enableWhen written means what the condition means ------------------------------------

CANDIDATES: dict[str, list[Any]] = {
    "kind": ["a", "b", "c"],
    "count": [0, 1, 2, 3, 4, 5, 10],
    "ordinal": [0, 1, 2, 3],
    "flag": [True, False],
    "regions": [("neck",), ("hips",), ("neck", "hips")],
    "when": [dt.date(2010, 5, 1), dt.date(2020, 1, 1), dt.date(2021, 3, 3)],
    "amount": [0.5, 80.5, 80.6],
    "height": [179.9, 180.0, 200.0],
    "word": ["hello", "other"],
}


def _primitive(kind_: str, value: Any) -> Any:
    if kind_ == "Coding":
        return (value["system"], value["code"])
    if kind_ == "Quantity":
        return value["value"]
    return value


def r4_enabled(item: dict[str, Any], answers: dict[str, list[tuple[str, Any]]]) -> bool:
    """R4's enableWhen, as the spec defines its operators (QuestionnaireItemOperator)."""
    results = []
    for entry in item["enableWhen"]:
        kind_, expected = answer_value(entry, "answer")
        expected = _primitive(kind_, expected)
        given = [_primitive(k, v) for k, v in answers.get(entry["question"], [])]
        op = entry["operator"]
        if op == "exists":
            results.append(bool(given) == expected)
        elif op == "=":
            results.append(any(v == expected for v in given))
        elif op == "!=":  # "True if no answer has a value that is equal to the enableWhen answer"
            results.append(not any(v == expected for v in given))
        else:
            compare = {">": "__gt__", ">=": "__ge__", "<": "__lt__", "<=": "__le__"}[op]
            results.append(any(getattr(v, compare)(expected) for v in given))
    return any(results) if item.get("enableBehavior") == "any" else all(results)


@pytest.mark.parametrize("link_id", sorted(set(MAPPED) | {"q_contains", "q_ordinal"}))
def test_enable_when_agrees_with_the_engine_on_every_answer(conditions, exported, link_id):
    """For every combination of answers (and no answer) to what the condition reads, R4's
    reading of the enableWhen gives what the engine gives."""
    if link_id.startswith("step."):
        condition = conditions.step_by_id[link_id.removeprefix("step.")].show_if
    else:
        condition = conditions.questions[link_id].show_if
    read = sorted({leaf.ref for leaf in leaves(condition)})
    for combination in itertools.product(*([MISSING, *CANDIDATES[r]] for r in read)):
        typed = dict(zip(read, combination, strict=True))
        expected = evaluate(condition, lambda leaf, typed=typed: typed[leaf.ref])
        answers = {}
        for ref, value in typed.items():
            if value is MISSING:
                continue
            question = conditions.questions[ref]
            values = value if question.type == "multi_choice" else (value,)
            answers[ref] = [
                answer_value(fhir.value_element(conditions, question, v, "value"), "value")
                for v in values
            ]
        assert r4_enabled(exported[link_id], answers) == expected, (link_id, typed)


# --- translations -----------------------------------------------------------------------------


def test_the_patients_languages_go_along_as_translations():
    q = load_path(BILINGUAL)
    resource = fhir.questionnaire_resource(q)
    validated(resource)
    by_id = check_questionnaire(resource)

    def spanish(element: dict[str, Any]) -> str:
        [translation] = element["extension"]
        assert translation["url"] == fhir.TRANSLATION_URL
        parts = {e["url"]: e for e in translation["extension"]}
        assert parts["lang"]["valueCode"] == "es"
        return parts["content"]["valueString"]

    assert resource["language"] == "en"
    assert (resource["title"], spanish(resource["_title"])) == (
        "Before your surgery",
        "Antes de su cirugía",
    )
    assert spanish(by_id["nicotine"]["_text"]) == "¿Usa nicotina?"
    assert spanish(by_id["nicotine.help"]["_text"]) == "Cigarrillos, vapeadores o bolsitas."
    assert spanish(by_id["step.habits"]["_text"]) == "Hábitos"
    never = by_id["nicotine"]["answerOption"][0]["valueCoding"]
    assert (never["display"], spanish(never["_display"])) == ("Never", "Nunca")
    [unit] = by_id["sleep_hours"]["extension"][:1]
    assert spanish(unit["valueCoding"]["_display"]) == "horas"
    # A questionnaire in one language has none.
    assert '"_text"' not in json.dumps(fhir.questionnaire_resource(load_path(CONDITIONS)))
