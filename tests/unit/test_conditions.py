"""The condition language: every operator, missing answers, combinators and `value:` leaves.

Two levels: `evaluate` on hand-made leaves with a dictionary lookup, and whole definitions loaded
with `load_text` and scored, so the operands are typed by the loader and the answers by the engine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest

from screening.definition import load_path, load_text
from screening.definition.conditions import (
    MISSING,
    evaluate,
    leaves,
    questions_read,
    references,
)
from screening.definition.model import All, AnyOf, Leaf, Not
from screening.scoring import score

# --- evaluate() on hand-made conditions ---------------------------------------------------------


def lookup(values: dict[str, Any]):
    return lambda leaf: values.get(leaf.ref, MISSING)


def leaf(op: str, operand: Any, ref: str = "x", kind: str = "question") -> Leaf:
    return Leaf(kind, ref, op, operand)


def holds(condition, values: dict[str, Any]) -> bool:
    return evaluate(condition, lookup(values))


D = dt.date

OPERATOR_CASES = [
    # op, operand, answer, expected
    ("equals", "current", "current", True),
    ("equals", "current", "never", False),
    ("equals", 2, 2, True),
    ("equals", 2, 3, False),
    ("equals", True, True, True),
    ("equals", True, False, False),
    ("equals", False, False, True),
    ("not_equals", "never", "current", True),
    ("not_equals", "never", "never", False),
    ("in", ("fusion", "revision"), "fusion", True),
    ("in", ("fusion", "revision"), "revision", True),
    ("in", ("fusion", "revision"), "decompression", False),
    ("not_in", ("working",), "retired", True),
    ("not_in", ("working",), "working", False),
    ("gt", 2, 3, True),
    ("gt", 2, 2, False),
    ("gt", 2, 1, False),
    ("gte", 2, 3, True),
    ("gte", 2, 2, True),
    ("gte", 2, 1, False),
    ("lt", 2, 1, True),
    ("lt", 2, 2, False),
    ("lt", 2, 3, False),
    ("lte", 2, 1, True),
    ("lte", 2, 2, True),
    ("lte", 2, 3, False),
    ("gte", 30, 29.9, False),
    ("gte", 30, 30.0, True),
    ("gt", 0, 0, False),
    ("gt", D(2020, 1, 1), D(2020, 1, 2), True),
    ("gt", D(2020, 1, 1), D(2020, 1, 1), False),
    ("gte", D(2020, 1, 1), D(2020, 1, 1), True),
    ("lt", D(2020, 1, 1), D(2019, 12, 31), True),
    ("lte", D(2020, 1, 1), D(2020, 1, 2), False),
    ("contains", "neck", ("neck", "hips"), True),
    ("contains", "neck", ("neck",), True),
    ("contains", "neck", ("hips",), False),
    ("answered", True, "anything", True),
    ("answered", True, 0, True),
    ("answered", True, False, True),
    ("answered", False, "anything", False),
    ("answered", False, 0, False),
]


@pytest.mark.parametrize(("op", "operand", "answer", "expected"), OPERATOR_CASES)
def test_operator_on_an_answer(op, operand, answer, expected):
    assert holds(leaf(op, operand), {"x": answer}) is expected


MISSING_CASES = [
    # Every leaf on a missing answer is false, whatever a missing answer would be "worth" as 0.
    ("equals", "current"),
    ("equals", 0),
    ("equals", False),
    ("not_equals", "never"),
    ("in", ("a", "b")),
    ("not_in", ("a",)),
    ("gt", -1),
    ("gte", 0),
    ("lt", 100),
    ("lte", 0),
    ("contains", "neck"),
    ("answered", True),
]


@pytest.mark.parametrize(("op", "operand"), MISSING_CASES)
def test_a_leaf_on_a_missing_answer_is_false(op, operand):
    assert holds(leaf(op, operand), {}) is False
    assert holds(leaf(op, operand), {"x": MISSING}) is False


def test_answered_false_is_the_only_leaf_true_on_a_missing_answer():
    assert holds(leaf("answered", False), {}) is True
    assert holds(leaf("answered", False), {"x": MISSING}) is True


def test_missing_is_a_falsy_singleton():
    assert repr(MISSING) == "MISSING"
    assert not MISSING
    assert type(MISSING)() is MISSING


def test_value_leaves_use_the_same_lookup():
    bmi = leaf("gte", 30, ref="bmi", kind="value")
    assert holds(bmi, {"bmi": 30.0}) is True
    assert holds(bmi, {"bmi": 29.9}) is False
    assert holds(bmi, {}) is False


def test_the_lookup_receives_the_leaf():
    seen = []

    def spy(received):
        seen.append(received)
        return 5

    condition = leaf("gt", 4, ref="phq9", kind="value")
    assert evaluate(condition, spy) is True
    assert seen == [condition]


YES = leaf("equals", True, ref="a")  # true with the answers below
NO = leaf("equals", True, ref="b")  # false with the answers below
ANSWERS = {"a": True, "b": False}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (All((YES,)), True),
        (All((YES, YES)), True),
        (All((YES, NO)), False),
        (All((NO, YES)), False),
        (All((NO, NO)), False),
        (AnyOf((YES,)), True),
        (AnyOf((NO, YES)), True),
        (AnyOf((YES, NO)), True),
        (AnyOf((NO, NO)), False),
        (Not(YES), False),
        (Not(NO), True),
        (Not(Not(YES)), True),
        (All((YES, AnyOf((NO, Not(NO))))), True),
        (AnyOf((NO, All((YES, NO)))), False),
        (Not(All((YES, NO))), True),
        (Not(AnyOf((YES, NO))), False),
    ],
)
def test_combinators(condition, expected):
    assert holds(condition, ANSWERS) is expected


def test_not_of_a_leaf_on_a_missing_answer_is_true():
    assert holds(Not(leaf("equals", "current", ref="smoking")), {}) is True
    assert holds(Not(leaf("answered", False, ref="smoking")), {}) is False


def test_evaluate_rejects_what_is_not_a_condition():
    with pytest.raises(TypeError, match="not a condition"):
        evaluate({"question": "x", "equals": 1}, lookup({}))


def test_evaluate_rejects_an_unknown_operator():
    with pytest.raises(ValueError, match="unknown operator"):
        holds(leaf("matches", "x"), {"x": "x"})


def test_leaves_and_references_walk_nested_conditions():
    a = leaf("equals", 1, ref="a")
    b = leaf("gte", 30, ref="bmi", kind="value")
    c = leaf("answered", False, ref="c")
    condition = All((a, AnyOf((b, Not(c)))))
    assert list(leaves(condition)) == [a, b, c]
    assert references(condition) == {("question", "a"), ("value", "bmi"), ("question", "c")}


# --- through load_text and score -----------------------------------------------------------------

DEFINITION = textwrap.dedent(
    """\
    id: ops
    version: 1.0.0
    title: Operators
    steps:
      - id: s1
        title: One
        questions:
          - id: smoking
            type: choice
            label: Smoking
            required: false
            options:
              - {value: never, label: Never}
              - {value: former, label: Former}
              - {value: current, label: Current}
          - {id: levels, type: integer, label: Levels, min: 0, max: 10, required: false}
          - {id: hba1c, type: number, label: HbA1c, min: 3, max: 20, required: false}
          - id: regions
            type: multi_choice
            label: Regions
            required: false
            options:
              - {value: neck, label: Neck}
              - {value: hips, label: Hips}
          - {id: prior, type: yes_no, label: Prior surgery, required: false}
          - {id: notes, type: text, label: Notes, required: false}
          - {id: op_date, type: date, label: Date, required: false}
          - {id: height, type: height, label: Height, required: false}
          - {id: weight, type: weight, label: Weight, required: false}
          - id: i1
            type: choice
            label: Item one
            required: false
            options: &scale
              - {value: 0, label: Never}
              - {value: 1, label: Sometimes}
              - {value: 2, label: Often}
              - {value: 3, label: Always}
          - {id: i2, type: choice, label: Item two, required: false, options: *scale}
          - {id: drinks, type: integer, label: Drinks, min: 0, max: 20, required: false}
          - {id: binges, type: integer, label: Binges, min: 0, max: 20, required: false}
      - id: s2
        title: Two
        show_if: {question: prior, equals: true}
        questions:
          - {id: prior_count, type: integer, label: Count, min: 1, max: 20, required: false}
          - id: detail
            type: text
            label: Detail
            required: false
            show_if: {question: prior_count, gte: 2}
    computed:
      - {id: bmi, label: BMI, bmi: {height: height, weight: weight}}
      - {id: alcohol, label: Alcohol, sum: [drinks, binges]}
    instruments:
      - id: scale
        label: Scale
        items: [i1, i2]
        bands:
          - {label: low, max: 2}
          - {label: high, max: 6}
    risk_factors:
      - id: f
        label: The factor under test
        category: history
        points: 1
        modifiable: false
        when: WHEN
        patient_text: P.
        clinician_text: C.
        action: A.
        evidence: [{citation: C, pmid: "1"}]
    red_flags:
      - id: r
        when: WHEN
        patient_message: P.
        clinician_message: C.
    tiers:
      - {id: low, max: 0}
      - {id: high}
    """
)


def applies(when: str, answers: dict[str, Any]) -> bool:
    """Whether the factor (and the red flag) with this `when` apply to these answers."""
    q = load_text(DEFINITION.replace("WHEN", when))
    result = score(q, answers)
    factor = [r.id for r in result.factors] == ["f"]
    flag = [r.id for r in result.red_flags] == ["r"]
    assert factor == flag, "a red flag and a risk factor read the same condition language"
    assert result.total == (1 if factor else 0)
    assert result.errors == {}
    return factor


THROUGH_SCORE = [
    # equals / not_equals / in / not_in on a choice
    ("{question: smoking, equals: current}", {"smoking": "current"}, True),
    ("{question: smoking, equals: current}", {"smoking": "never"}, False),
    ("{question: smoking, equals: current}", {}, False),
    ("{question: smoking, equals: current}", {"smoking": ""}, False),
    ("{question: smoking, not_equals: never}", {"smoking": "current"}, True),
    ("{question: smoking, not_equals: never}", {"smoking": "never"}, False),
    ("{question: smoking, not_equals: never}", {}, False),
    ("{question: smoking, in: [former, current]}", {"smoking": "former"}, True),
    ("{question: smoking, in: [former, current]}", {"smoking": "never"}, False),
    ("{question: smoking, in: [former, current]}", {}, False),
    ("{question: smoking, not_in: [never]}", {"smoking": "current"}, True),
    ("{question: smoking, not_in: [never]}", {"smoking": "never"}, False),
    ("{question: smoking, not_in: [never]}", {}, False),
    # gt / gte / lt / lte on an integer, at and around the threshold
    ("{question: levels, gt: 2}", {"levels": 3}, True),
    ("{question: levels, gt: 2}", {"levels": "3"}, True),
    ("{question: levels, gt: 2}", {"levels": 2}, False),
    ("{question: levels, gt: 2}", {}, False),
    ("{question: levels, gte: 2}", {"levels": 2}, True),
    ("{question: levels, gte: 2}", {"levels": 1}, False),
    ("{question: levels, lt: 2}", {"levels": 1}, True),
    ("{question: levels, lt: 2}", {"levels": 0}, True),
    ("{question: levels, lt: 2}", {"levels": 2}, False),
    ("{question: levels, lt: 2}", {}, False),
    ("{question: levels, lt: 2}", {"levels": " "}, False),
    ("{question: levels, lte: 2}", {"levels": 2}, True),
    ("{question: levels, lte: 2}", {"levels": 3}, False),
    ("{question: levels, lte: 2}", {"levels": None}, False),
    ("{question: levels, equals: 0}", {"levels": 0}, True),
    ("{question: levels, equals: 0}", {"levels": ""}, False),
    ("{question: levels, in: [1, 3]}", {"levels": "3"}, True),
    ("{question: levels, not_in: [1, 3]}", {"levels": 2}, True),
    # a decimal number
    ("{question: hba1c, gte: 6.5}", {"hba1c": 6.5}, True),
    ("{question: hba1c, gte: 6.5}", {"hba1c": "6,5"}, True),
    ("{question: hba1c, gte: 6.5}", {"hba1c": 6.4}, False),
    ("{question: hba1c, lt: 6.5}", {"hba1c": 6.49}, True),
    # a choice with integer options is ordered, "2" is the option 2
    ("{question: i1, gte: 2}", {"i1": 2}, True),
    ("{question: i1, gte: 2}", {"i1": "2"}, True),
    ("{question: i1, gte: 2}", {"i1": 1}, False),
    ("{question: i1, equals: 0}", {"i1": "0"}, True),
    ("{question: i1, equals: '3'}", {"i1": 3}, True),
    # dates
    ("{question: op_date, lt: 2020-01-01}", {"op_date": "2019-12-31"}, True),
    ("{question: op_date, lt: 2020-01-01}", {"op_date": "2020-01-01"}, False),
    ("{question: op_date, gte: 2020-01-01}", {"op_date": "2020-01-01"}, True),
    ("{question: op_date, gte: 2020-01-01}", {}, False),
    ("{question: op_date, equals: 2020-01-01}", {"op_date": "2020-01-01"}, True),
    # contains on a multi_choice
    ("{question: regions, contains: neck}", {"regions": ["neck", "hips"]}, True),
    ("{question: regions, contains: neck}", {"regions": ["neck"]}, True),
    ("{question: regions, contains: neck}", {"regions": "neck"}, True),
    ("{question: regions, contains: neck}", {"regions": ["hips"]}, False),
    ("{question: regions, contains: neck}", {"regions": []}, False),
    ("{question: regions, contains: neck}", {}, False),
    # yes_no
    ("{question: prior, equals: true}", {"prior": True}, True),
    ("{question: prior, equals: true}", {"prior": "yes"}, True),
    ("{question: prior, equals: true}", {"prior": "no"}, False),
    ("{question: prior, equals: false}", {"prior": False}, True),
    ("{question: prior, equals: false}", {"prior": "no"}, True),
    ("{question: prior, equals: false}", {}, False),
    ("{question: prior, not_equals: true}", {}, False),
    # text
    ("{question: notes, equals: none}", {"notes": "none"}, True),
    ("{question: notes, equals: none}", {"notes": "  none "}, True),
    ("{question: notes, equals: none}", {"notes": "None"}, False),
    ("{question: notes, in: [a, b]}", {"notes": "b"}, True),
    # answered true / false
    ("{question: notes, answered: true}", {"notes": "hello"}, True),
    ("{question: notes, answered: true}", {"notes": ""}, False),
    ("{question: notes, answered: true}", {"notes": "   "}, False),
    ("{question: notes, answered: true}", {}, False),
    ("{question: notes, answered: false}", {}, True),
    ("{question: notes, answered: false}", {"notes": " "}, True),
    ("{question: notes, answered: false}", {"notes": "hello"}, False),
    ("{question: levels, answered: true}", {"levels": 0}, True),
    ("{question: prior, answered: true}", {"prior": False}, True),
    # value: a computed BMI (rounded to one decimal), a sum, an instrument
    ("{value: bmi, gte: 30}", {"height": 160, "weight": 77}, True),  # 30.1
    ("{value: bmi, gte: 30}", {"height": 160, "weight": 76.8}, True),  # 30.0
    ("{value: bmi, gte: 30}", {"height": 160, "weight": 76.7}, True),  # 29.96, rounded to 30.0
    ("{value: bmi, gte: 30}", {"height": 160, "weight": 76.6}, False),  # 29.92, rounded to 29.9
    ("{value: bmi, gte: 30}", {"height": 160, "weight": 76}, False),  # 29.7
    ("{value: bmi, gte: 30}", {"height": 160}, False),
    ("{value: bmi, lt: 18.5}", {"weight": 50}, False),
    ("{value: bmi, lt: 18.5}", {"height": 180, "weight": 50}, True),  # 15.4
    ("{value: bmi, answered: false}", {"height": 180}, True),
    ("{value: alcohol, gt: 4}", {"drinks": 3, "binges": 2}, True),
    ("{value: alcohol, gt: 4}", {"drinks": "3", "binges": "2"}, True),
    ("{value: alcohol, gt: 4}", {"drinks": 2, "binges": 2}, False),
    ("{value: alcohol, gt: 4}", {"drinks": 20}, False),
    ("{value: alcohol, equals: 0}", {"drinks": 0, "binges": 0}, True),
    ("{value: alcohol, equals: 0}", {"drinks": 0}, False),
    ("{value: scale, gte: 3}", {"i1": 1, "i2": 2}, True),
    ("{value: scale, gte: 3}", {"i1": 1, "i2": 1}, False),
    ("{value: scale, gte: 3}", {"i1": 3}, False),
    ("{value: scale, equals: 0}", {"i1": 0, "i2": "0"}, True),
    ("{value: scale, lte: 2}", {"i1": 0}, False),
    ("{value: scale, answered: true}", {"i1": 0, "i2": 0}, True),
    ("{value: scale, answered: false}", {"i1": 0}, True),
    # a question in a hidden step, and one that hangs on it: hidden answers are no answers
    ("{question: prior_count, gte: 2}", {"prior": True, "prior_count": 3}, True),
    ("{question: prior_count, gte: 2}", {"prior": False, "prior_count": 3}, False),
    ("{question: prior_count, gte: 2}", {"prior_count": 3}, False),
    ("{question: prior_count, answered: false}", {"prior": False, "prior_count": 3}, True),
    ("{question: prior_count, answered: false}", {"prior": True, "prior_count": 3}, False),
    ("{question: detail, answered: true}", {"prior": True, "prior_count": 2, "detail": "x"},
     True),
    ("{question: detail, answered: true}", {"prior": True, "prior_count": 1, "detail": "x"},
     False),
    ("{question: detail, answered: true}", {"prior": False, "prior_count": 2, "detail": "x"},
     False),
    # combinators
    (
        "{all: [{question: smoking, equals: current}, {question: prior, equals: true}]}",
        {"smoking": "current", "prior": True},
        True,
    ),
    (
        "{all: [{question: smoking, equals: current}, {question: prior, equals: true}]}",
        {"smoking": "current", "prior": False},
        False,
    ),
    (
        "{all: [{question: smoking, equals: current}, {question: prior, equals: true}]}",
        {"smoking": "current"},
        False,
    ),
    (
        "{any: [{question: smoking, equals: current}, {question: prior, equals: true}]}",
        {"smoking": "never", "prior": True},
        True,
    ),
    (
        "{any: [{question: smoking, equals: current}, {question: prior, equals: true}]}",
        {"smoking": "never", "prior": False},
        False,
    ),
    ("{any: [{question: smoking, equals: current}, {question: prior, equals: true}]}", {}, False),
    ("{not: {question: smoking, equals: current}}", {"smoking": "never"}, True),
    ("{not: {question: smoking, equals: current}}", {"smoking": "current"}, False),
    ("{not: {question: smoking, equals: current}}", {}, True),
    ("{not: {question: smoking, answered: false}}", {"smoking": "never"}, True),
    ("{not: {question: smoking, answered: false}}", {}, False),
    (
        "{all: [{question: smoking, equals: current},"
        " {any: [{value: bmi, gte: 30}, {not: {question: levels, answered: false}}]}]}",
        {"smoking": "current", "levels": 1},
        True,
    ),
    (
        "{all: [{question: smoking, equals: current},"
        " {any: [{value: bmi, gte: 30}, {not: {question: levels, answered: false}}]}]}",
        {"smoking": "current", "height": 180, "weight": 70},
        False,
    ),
    (
        "{all: [{question: smoking, equals: current},"
        " {any: [{value: bmi, gte: 30}, {not: {question: levels, answered: false}}]}]}",
        {"smoking": "current", "height": 160, "weight": 100},
        True,
    ),
]


@pytest.mark.parametrize(("when", "answers", "expected"), THROUGH_SCORE)
def test_condition_through_the_engine(when, answers, expected):
    assert applies(when, answers) is expected


def test_operands_are_typed_by_the_question():
    q = load_text(DEFINITION.replace("WHEN", "{question: i1, in: ['1', 2]}"))
    condition = q.risk_factors[0].when
    assert condition == Leaf("question", "i1", "in", (1, 2))
    q = load_text(DEFINITION.replace("WHEN", "{question: op_date, lt: '2020-01-01'}"))
    assert q.risk_factors[0].when.operand == dt.date(2020, 1, 1)


def test_the_loaded_conditions_have_the_written_shape():
    q = load_text(
        DEFINITION.replace(
            "WHEN",
            "{all: [{question: smoking, equals: current}, {any: [{value: bmi, gte: 30},"
            " {not: {question: levels, answered: false}}]}]}",
        )
    )
    assert q.risk_factors[0].when == All(
        (
            Leaf("question", "smoking", "equals", "current"),
            AnyOf(
                (
                    Leaf("value", "bmi", "gte", 30),
                    Not(Leaf("question", "levels", "answered", False)),
                )
            ),
        )
    )


@pytest.mark.parametrize(
    ("show_if", "answers", "shown"),
    [
        ("{question: smoking, in: [former, current]}", {"smoking": "former"}, True),
        ("{question: smoking, in: [former, current]}", {"smoking": "never"}, False),
        ("{question: smoking, in: [former, current]}", {}, False),
        ("{question: smoking, answered: false}", {}, True),
        ("{question: smoking, answered: false}", {"smoking": "never"}, False),
        ("{value: bmi, gte: 30}", {"height": 160, "weight": 100}, True),
        ("{value: bmi, gte: 30}", {"height": 160, "weight": 60}, False),
        ("{not: {question: prior, equals: true}}", {}, True),
        ("{not: {question: prior, equals: true}}", {"prior": "yes"}, False),
    ],
)
def test_show_if_uses_the_same_language(show_if, answers, shown):
    text = DEFINITION.replace("WHEN", "{question: smoking, answered: true}").replace(
        "      - {id: binges, type: integer, label: Binges, min: 0, max: 20, required: false}\n",
        "      - {id: binges, type: integer, label: Binges, min: 0, max: 20, required: false}\n"
        f"      - {{id: extra, type: text, label: Extra, show_if: {show_if}}}\n",
    )
    q = load_text(text)
    assert "extra" in q.questions
    result = score(q, answers)
    assert ("extra" in result.visible) is shown
    # `extra` is required: it is missing exactly when it is shown (and not answered)
    assert ("extra" in result.missing) is shown


# --- what the loader works out once -----------------------------------------------------------


def test_each_rule_knows_the_questions_its_condition_reads():
    when = (
        "{all: [{value: bmi, gte: 30}, {question: smoking, equals: current},"
        " {value: scale, gte: 1}]}"
    )
    q = load_text(DEFINITION.replace("WHEN", when))
    factor, flag = q.risk_factors[0], q.red_flags[0]
    expected = ("smoking", "height", "weight", "i1", "i2")  # values expanded to their inputs
    assert factor.reads == flag.reads == expected
    assert questions_read(q, factor.when) == expected  # still there, and uncached
    assert "_questions_read" not in vars(q)


def test_the_visibility_order_and_the_required_questions_are_fields_of_the_model():
    q = load_text(DEFINITION.replace("WHEN", "{question: smoking, answered: true}"))
    names = {f.name for f in dataclasses.fields(q)}
    assert {"visibility_order", "required_questions"} <= names
    order = q.visibility_order
    assert sorted(order) == sorted(q.questions)
    assert order.index("prior") < order.index("prior_count") < order.index("detail")
    assert q.required_questions == ()  # every question of DEFINITION is optional
    required = load_text(
        DEFINITION.replace("WHEN", "{question: smoking, answered: true}").replace(
            "      - {id: notes, type: text, label: Notes, required: false}",
            "      - {id: notes, type: text, label: Notes}",
        )
    )
    assert required.required_questions == ("notes",)


def test_what_is_worked_out_survives_replace_and_localize_and_is_not_compared():
    q = load_text(DEFINITION.replace("WHEN", "{question: smoking, equals: current}"))
    factor = q.risk_factors[0]
    assert dataclasses.replace(factor, reads=()) == factor
    assert dataclasses.replace(q, title="Another").visibility_order == q.visibility_order
    bilingual = load_path(Path(__file__).resolve().parents[1] / "fixtures" / "bilingual.yaml")
    spanish = bilingual.localized("es")
    assert spanish is not bilingual
    assert spanish.visibility_order == bilingual.visibility_order != ()
    assert [f.reads for f in spanish.risk_factors] == [f.reads for f in bilingual.risk_factors]
    assert [f.reads for f in spanish.red_flags] == [f.reads for f in bilingual.red_flags]
