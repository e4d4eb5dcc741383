"""The JSON Schema of the questionnaire language (`screening/definition/questionnaire.schema.json`).

It is a valid draft 2020-12 schema, every shipped or valid definition passes it as an editor would
check it, it agrees with the model, and what it finds is told as `file:line: path: message`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from screening.definition import DefinitionError, load_text, schema
from screening.definition import model as m
from screening.definition.yaml_source import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "screening" / "definition" / "questionnaire.schema.json"
VALID = [
    *sorted((ROOT / "questionnaires").glob("*.yaml")),
    *sorted((ROOT / "tests" / "fixtures").glob("*.yaml")),
    ROOT / "tests" / "exports" / "conditions.yaml",
]


def raw_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(raw_schema())
    assert raw_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_definition_passes_the_schema(path):
    data, problems = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    assert problems == []
    # as an editor checks it: the file as it is, with the plain validator
    assert [e.message for e in Draft202012Validator(raw_schema()).iter_errors(data)] == []
    assert schema.check(data, str(path)) == []


def test_the_shipped_questionnaire_names_the_schema_for_editors():
    shipped = ROOT / "questionnaires" / "fbss-preop.yaml"
    first = shipped.read_text(encoding="utf-8").splitlines()[0]
    assert (
        first == "# yaml-language-server: $schema=../screening/definition/questionnaire.schema.json"
    )
    assert (shipped.parent / first.split("$schema=")[1]).resolve() == SCHEMA_FILE


def test_the_schema_agrees_with_the_model():
    defs = raw_schema()["$defs"]
    assert tuple(defs["question_type"]["enum"]) == m.QUESTION_TYPES
    assert tuple(defs["category"]["enum"]) == m.CATEGORIES
    assert tuple(defs["urgency"]["enum"]) == m.URGENCIES
    condition_keys = list(defs["condition"]["properties"])
    assert condition_keys == ["question", "value", *m.LEAF_OPS, "all", "any", "not"]
    language = defs["language"]["pattern"]
    assert list(defs["translations"]["patternProperties"]) == [language]


def test_every_message_names_a_part_of_the_schema_or_a_validator():
    names = set(raw_schema()["$defs"])
    validators = set(Draft202012Validator.VALIDATORS)
    types = {"object", "array", "string", "integer", "number", "boolean", "null"}
    for key in schema.MESSAGES:
        first, *rest = key.split(" ")
        assert first in names or first in validators, key
        assert not rest or rest[0] in (types if first == "type" else validators), key


# --- structural problems, told the project's way -------------------------------------------------

BASE = textwrap.dedent(
    """\
    id: inline
    version: 1.0.0
    title: Inline
    steps:
      - id: s1
        title: Step one
        questions:
          - {id: q1, type: yes_no, label: Question one}
          - id: q2
            type: choice
            label: Question two
            options:
              - {value: a, label: A}
              - {value: b, label: B}
    red_flags:
      - id: flag
        when: {question: q1, equals: true}
        patient_message: Call us.
        clinician_message: Call them.
    tiers:
      - {id: low, max: 1}
      - {id: high}
    """
)


OPTIONS = "        options:\n          - {value: a, label: A}\n          - {value: b, label: B}\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "s.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_base_of_these_tests_loads():
    assert list(load_text(BASE).questions) == ["q1", "q2"]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "{value: b, label: B}",
            "{value: b, label: B, colour: red}",
            "s.yaml:14: steps[0].questions[1].options[1].colour: unknown key 'colour' "
            "(allowed here: value, label, code, unknown, score, exclusive)",
        ),
        (
            "    type: choice\n",
            "    type: choice\n        required: no\n",
            "s.yaml:11: steps[0].questions[1].required: must be true or false, not 'no'",
        ),
        (
            OPTIONS,
            "",
            "s.yaml:9: steps[0].questions[1]: a choice question needs options",
        ),
        (
            OPTIONS,
            "        options: []\n",
            "s.yaml:12: steps[0].questions[1].options: must not be empty",
        ),
        (
            "{id: q1, type: yes_no, label: Question one}",
            "{id: q1, type: yes_no, label: Question one, unit: cm}",
            "s.yaml:8: steps[0].questions[0].unit: a yes_no question has no unit",
        ),
        (
            "    clinician_message: Call them.\n",
            "    clinician_message: Call them.\n    urgency: soon\n",
            "s.yaml:20: red_flags[0].urgency: unknown urgency 'soon' "
            "(use one of: emergency, same_day, review)",
        ),
        (
            "    when: {question: q1, equals: true}",
            "    when: {question: q1, equals: true, gt: 0}",
            "s.yaml:17: red_flags[0].when: a condition has exactly one test "
            "(equals, not_equals, in, not_in, gt, gte, lt, lte, contains, answered)",
        ),
        (
            "    when: {question: q1, equals: true}",
            "    when: {all: [{question: q1, equals: true}], not: {question: q1, equals: false}}",
            "s.yaml:17: red_flags[0].when: 'all' must stand alone in its block",
        ),
        (
            "    when: {question: q1, equals: true}",
            "    when: {any: {question: q1, equals: true}}",
            "s.yaml:17: red_flags[0].when.any: must be a list, not a block of keys",
        ),
        (
            "  - {id: high}",
            "  - {id: High}",
            "s.yaml:22: tiers[1].id: 'High' is not a valid id "
            "(use lower-case letters, digits and _, starting with a letter)",
        ),
        (
            "title: Inline",
            "title: '  '",
            "s.yaml:3: title: must not be empty",
        ),
    ],
)
def test_a_structural_problem_names_its_line_path_and_what_is_wrong(old, new, problem):
    assert old in BASE
    assert problems_of(BASE.replace(old, new)) == [problem]


def test_every_structural_problem_is_reported_not_only_the_first():
    text = (
        BASE.replace("version: 1.0.0", "version: 1.0")
        .replace("{value: a, label: A}", "{value: a}")
        .replace("patient_message: Call us.", "patient_message: [Call us.]")
        .replace("  - {id: low, max: 1}", "  - {id: low, max: -1, colour: red}")
    )
    assert problems_of(text) == [
        "s.yaml:2: version: 1.0 is not a semantic version like 1.0.0 (write it in quotes)",
        "s.yaml:13: steps[0].questions[1].options[0]: the required key 'label' is missing",
        "s.yaml:18: red_flags[0].patient_message: must be text, not a list",
        "s.yaml:21: tiers[0].colour: unknown key 'colour' (allowed here: id, label, max)",
        "s.yaml:21: tiers[0].max: must be at least 0",
    ]


def test_structural_and_semantic_problems_come_together():
    text = BASE.replace("{id: q1, type: yes_no, label: Question one}", "{id: q1, type: slider}")
    text = text.replace("{question: q1, equals: true}", "{question: q3, equals: true}")
    assert problems_of(text) == [
        "s.yaml:8: steps[0].questions[0]: the required key 'label' is missing",
        "s.yaml:8: steps[0].questions[0].type: unknown question type 'slider' (use one of: "
        "choice, multi_choice, yes_no, integer, number, text, date, month_year, height, weight)",
        "s.yaml:17: red_flags[0].when.question: there is no question 'q3'",
    ]


def test_a_translated_text_with_a_comma_is_told_how_to_quote_it():
    text = BASE.replace("version: 1.0.0", "version: 1.0.0\nlanguages: [en, es]")
    text = text.replace("title: Inline", "title: {en: Yes, often, es: Sí}")
    assert (
        "s.yaml:4: title.often: 'often' is not one of the questionnaire's languages (en, es; see "
        "'languages' at the top) (a comma inside {...} ends a text there: put the text in quotes)"
    ) in problems_of(text)


def test_dates_are_read_as_yaml_1_2_text_and_parsed_where_a_date_is_expected():
    text = BASE.replace(
        "{id: q1, type: yes_no, label: Question one}",
        "{id: q1, type: yes_no, label: Question one}\n"
        "      - {id: when, type: date, label: When, min: 2000-01-01, max: today}",
    )
    assert load_text(text).questions["when"].min == dt.date(2000, 1, 1)
    # a day that does not exist is a problem, not a traceback
    bad = text.replace("min: 2000-01-01", "min: 2000-02-30")
    assert problems_of(bad) == [
        "s.yaml:9: steps[0].questions[1].min: must be a date like 2020-01-31 or 'today', "
        "not '2000-02-30'"
    ]


# --- never a traceback ------------------------------------------------------------------------


def _paths(node, here=()):
    """The path of every value in `node`, itself first."""
    yield here
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*here, index))


def test_any_value_of_the_wrong_kind_is_a_problem_never_a_traceback():
    """Each value of a valid definition replaced, one at a time, by a value of another kind."""
    mini = yaml.safe_load((ROOT / "tests" / "fixtures" / "mini.yaml").read_text(encoding="utf-8"))
    wrong_kinds = (None, ["x"], "x", {"x": 1}, -1)
    for index, path in enumerate(list(_paths(mini))[1:]):
        data = copy.deepcopy(mini)
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = wrong_kinds[index % len(wrong_kinds)]
        try:
            load_text(json.dumps(data, indent=1), "m.yaml", analyse=False)  # JSON is YAML
        except DefinitionError as exc:
            assert exc.problems, path
