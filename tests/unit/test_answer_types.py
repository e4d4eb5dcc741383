"""The answer fields of issue 20 in the language and the engine: `month_year` (a month and a
year, stored as YYYY-MM), a date typed in day, month and year boxes, and `exclusive` options
("Nowhere else") that go with no other option."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
import textwrap

import pytest

from screening import codec
from screening.definition import DefinitionError, load_text
from screening.definition.conditions import MISSING
from screening.definition.lint import analyse
from screening.definition.model import YearMonth
from screening.exports import fhir
from screening.scoring import AnswerError, normalize, score
from tests.unit.test_cli import invoke

TODAY = dt.date(2026, 3, 15)


def definition(questions: str, extra: str = "") -> str:
    return (
        "id: fields\nversion: 1.0.0\ntitle: Fields\nsteps:\n  - id: s1\n    title: One\n"
        "    questions:\n"
        + textwrap.indent(textwrap.dedent(questions), "      ")
        + textwrap.dedent(extra)
        + "tiers:\n  - {id: low, max: 1}\n  - {id: high}\n"
    )


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "f.yaml")
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def factor(fid: str, when: str) -> str:
    return (
        f"  - id: {fid}\n    label: {fid}\n    category: history\n    points: 1\n"
        f"    modifiable: false\n    when: {when}\n    patient_text: P.\n"
        f"    clinician_text: C.\n    action: A.\n    evidence: [{{citation: C, pmid: '1'}}]\n"
    )


MONTH = definition(
    """\
    - {id: stopped, type: month_year, label: When did you stop?, required: false, max: today}
    - {id: since, type: month_year, label: Since, required: false, min: 2020-01, max: 2030-12}
    """,
    "risk_factors:\n" + factor("recent", "{question: stopped, gte: 2025-10}"),
)

AREAS = definition(
    """\
    - id: areas
      type: multi_choice
      label: Where else?
      options:
        - {value: head, label: Head}
        - {value: neck, label: Neck}
        - {value: none, label: Nowhere else, exclusive: true}
    """,
    "risk_factors:\n"
    + factor("widespread", "{all: [{question: areas, contains: head}, "
                           "{question: areas, contains: neck}]}"),
)


# --- a month of a year ------------------------------------------------------------------------


def test_a_month_is_written_yyyy_mm_and_ordered_as_its_first_day():
    march = YearMonth(2026, 3)
    assert (march.isoformat(), str(march)) == ("2026-03", "2026-03")
    assert repr(march) == "YearMonth(2026, 3)"
    assert YearMonth(2026, 2) < march < YearMonth(2026, 4) < YearMonth(2027, 1)
    assert march == dt.date(2026, 3, 1) and march < dt.date(2026, 3, 2)
    assert pickle.loads(pickle.dumps(march)) == march
    assert isinstance(copy.deepcopy(march), YearMonth)
    assert json.dumps({"a": march}, default=str) == '{"a": "2026-03"}'
    assert YearMonth.parse(" 2026-03 ") == march
    assert [YearMonth.parse(t) for t in ("2026-13", "2026-3", "26-03", "2026-03-01")] == [None] * 4


@pytest.mark.parametrize(("raw", "expected"), [
    ("2021-06", YearMonth(2021, 6)),
    (" 2021-06 ", YearMonth(2021, 6)),
    ("2021-06-15", YearMonth(2021, 6)),  # a whole date (a version before asked for one)
    (dt.date(2021, 6, 15), YearMonth(2021, 6)),
    (YearMonth(2021, 6), YearMonth(2021, 6)),
    ("", MISSING),
])
def test_a_month_answer_is_typed(raw, expected):
    q = load_text(MONTH)
    value = normalize(q.questions["stopped"], raw, TODAY)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("question", "raw", "message"), [
    ("stopped", "2021-13", "Please enter a real month, for example 2025-03."),
    ("stopped", "2021-02-30", "Please enter a real month, for example 2025-03."),
    ("stopped", "June", "Please enter a real month, for example 2025-03."),
    ("stopped", "2026-04", "Please enter a date of at most March 2026."),
    ("since", "2019-12", "Please enter a date between January 2020 and December 2030."),
])
def test_a_month_that_cannot_be_used_says_why(question, raw, message):
    q = load_text(MONTH)
    with pytest.raises(AnswerError, match=message):
        normalize(q.questions[question], raw, TODAY)


def test_this_month_is_within_max_today_on_any_day_of_it():
    q = load_text(MONTH)
    assert normalize(q.questions["stopped"], "2026-03", dt.date(2026, 3, 1)) == YearMonth(2026, 3)


def test_a_condition_compares_months_and_scores():
    q = load_text(MONTH)
    assert score(q, {"stopped": "2025-11"}, today=TODAY).total == 1
    assert score(q, {"stopped": "2025-09"}, today=TODAY).total == 0
    assert score(q, {"stopped": "2025-10"}, today=TODAY).total == 1  # October itself


def test_the_analysis_counts_in_months():
    q = load_text(MONTH, analyse=False)
    problems, score_range = analyse(q, today=TODAY)
    assert problems == [] and score_range.highest == 1
    problems, _ = analyse(q, today=dt.date(2025, 9, 30))  # before October 2025 nobody can say it
    assert [p.path for p in problems] == ["risk factor 'recent'"]


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("min: 2020-01", "min: 2020-13",
     "steps[0].questions[1].min: must be a month like 2020-01 or 'today', not '2020-13'"),
    ("min: 2020-01", "min: 2020-01-01", "steps[0].questions[1].min: "),
    ("min: 2020-01", "min: 2031-01", "steps[0].questions[1].min: min is greater than max"),
    ("gte: 2025-10", "gte: 2025-10-01",
     "risk_factors[0].when.gte: gte takes a month like 2020-01, not '2025-10-01'"),
    ("gte: 2025-10", "equals: 2025",
     "risk_factors[0].when.equals: 'stopped' holds a month (YYYY-MM): 2025 is not one"),
])
def test_month_bounds_and_operands_are_checked(old, new, problem):
    assert old in MONTH
    found = problems_of(MONTH.replace(old, new))
    assert any(p.startswith(problem) for p in found), found


# --- the boxes of a date ----------------------------------------------------------------------


@pytest.mark.parametrize(("qtype", "boxes", "expected"), [
    ("date", {"day": "27", "month": "3", "year": "2026"}, "2026-03-27"),
    ("date", {"day": " 01 ", "month": "03", "year": "2026"}, "2026-03-01"),
    ("date", {"day": "２７", "month": "３", "year": "２０２６"}, "2026-03-27"),  # full-width
    ("date", {"day": "", "month": " ", "year": ""}, ""),
    ("month_year", {"month": "3", "year": "2026"}, "2026-03"),
    ("month_year", {}, ""),
])
def test_the_boxes_make_an_iso_date(qtype, boxes, expected):
    assert codec.date_from_parts(qtype, boxes) == expected


@pytest.mark.parametrize(("qtype", "boxes", "message", "parts"), [
    ("date", {"day": "", "month": "3", "year": "2026"}, "Date must include a day.", ("day",)),
    ("date", {"day": "1", "month": "", "year": "2026"}, "Date must include a month.", ("month",)),
    ("date", {"day": "1", "month": "3"}, "Date must include a year.", ("year",)),
    ("date", {"year": "2026"}, "Date must include a day and a month.", ("day", "month")),
    ("date", {"month": "3"}, "Date must include a day and a year.", ("day", "year")),
    ("date", {"day": "3"}, "Date must include a month and a year.", ("month", "year")),
    ("date", {"day": "1", "month": "III", "year": "2026"}, "Date must be written in numbers.",
     ("month",)),
    ("date", {"day": "-1", "month": "3", "year": "2026"}, "Date must be written in numbers.",
     ("day",)),
    ("date", {"day": "1", "month": "3", "year": "26"}, "Year must include 4 numbers.", ("year",)),
    ("date", {"day": "1", "month": "0", "year": "2026"}, "Month must be a number from 1 to 12.",
     ("month",)),
    ("date", {"day": "29", "month": "2", "year": "2026"}, "Date must be a real date.", ("day",)),
    ("date", {"day": "0", "month": "2", "year": "2026"}, "Date must be a real date.", ("day",)),
    ("month_year", {"month": "", "year": "2026"}, "Date must include a month.", ("month",)),
    ("month_year", {"month": "13", "year": "2026"}, "Month must be a number from 1 to 12.",
     ("month",)),
])
def test_boxes_that_make_no_date_name_the_boxes_to_correct(qtype, boxes, message, parts):
    with pytest.raises(AnswerError, match=message) as caught:
        codec.date_from_parts(qtype, boxes)
    assert caught.value.parts == parts


def test_a_stored_date_fills_the_boxes_without_leading_zeros():
    assert codec.date_parts("date", "2026-03-07") == {"day": "7", "month": "3", "year": "2026"}
    assert codec.date_parts("month_year", "2026-03") == {"month": "3", "year": "2026"}
    assert codec.date_parts("month_year", YearMonth(2026, 3)) == {"month": "3", "year": "2026"}
    assert codec.date_parts("date", None) == {"day": "", "month": "", "year": ""}
    assert codec.date_parts("date", "next week") == {"day": "", "month": "", "year": ""}


def test_a_month_is_displayed_in_words():
    q = load_text(MONTH)
    question = q.questions["stopped"]
    assert codec.display(question, YearMonth(2026, 3)) == "March 2026"
    assert codec.display(question, "2026-03", "es") == "marzo de 2026"
    assert codec.to_stored(YearMonth(2026, 3)) == "2026-03"
    assert codec.cell(YearMonth(2026, 3)) == "2026-03"


# --- exclusive options ------------------------------------------------------------------------


def test_an_exclusive_option_goes_with_no_other():
    q = load_text(AREAS)
    areas = q.questions["areas"]
    assert areas.exclusive_values == frozenset({"none"})
    assert normalize(areas, ["none"]) == ("none",)
    assert normalize(areas, ["head", "neck"]) == ("head", "neck")
    with pytest.raises(AnswerError, match="Please choose “Nowhere else” or the other answers, "
                                          "not both."):
        normalize(areas, ["head", "none"])


def test_scoring_never_sees_the_combination():
    q = load_text(AREAS)
    assessment = score(q, {"areas": ["none", "head", "neck"]})
    assert not assessment.factors and assessment.tier is None and not assessment.complete
    assert "areas" in assessment.errors
    assert score(q, {"areas": ["head", "neck"]}).total == 1


def test_screening_score_names_the_combination(tmp_path):
    path = tmp_path / "areas.yaml"
    path.write_text(AREAS, encoding="utf-8")
    result = invoke("score", path, "-", "--format", "json",
                    stdin=json.dumps({"areas": ["none", "head", "neck"]}))
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["tier"] is None and found["factors"] == []
    assert "not both" in found["errors"]["areas"]
    result = invoke("score", path, "-", stdin=json.dumps({"areas": ["none", "head"]}))
    assert result.exit_code == 0
    assert "areas (Please choose “Nowhere else” or the other answers, not both.)" in result.output


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("type: multi_choice", "type: choice",
     "steps[0].questions[0].options[2].exclusive: only an option of a multi_choice question can "
     "be exclusive"),
    ("exclusive: true}", "exclusive: yes}", "steps[0].questions[0].options[2].exclusive: "),
])
def test_the_exclusive_marking_is_checked(old, new, problem):
    found = problems_of(AREAS.replace(old, new))
    assert any(p.startswith(problem) for p in found), found


def exclusive(text: str, value: str) -> str:
    label = value.capitalize()
    return text.replace(f"{{value: {value}, label: {label}}}",
                        f"{{value: {value}, label: {label}, exclusive: true}}")


def test_two_exclusive_options_are_fine_but_not_every_option():
    # "None of these" and "Not sure" may both stand alone (no factor reads them here).
    plain = AREAS[: AREAS.index("risk_factors:")] + "tiers:" + AREAS.split("tiers:")[1]
    q = load_text(exclusive(plain, "neck"))
    assert q.questions["areas"].exclusive_values == frozenset({"neck", "none"})
    found = problems_of(exclusive(exclusive(plain, "neck"), "head"))
    assert any(p.startswith("steps[0].questions[0].options: every option is exclusive")
               for p in found), found


def test_a_condition_that_needs_the_exclusive_option_with_another_can_never_apply():
    text = AREAS.replace("contains: neck}", "contains: none}")
    found = problems_of(text)
    assert any(p.startswith("risk factor 'widespread'") for p in found), found


def test_the_shipped_none_options_are_exclusive():
    from screening.definition import load_path
    from tests.unit.test_lint import SHIPPED

    q = load_path(SHIPPED)
    assert q.version == "2.2.0"
    assert q.questions["other_pain_areas"].exclusive_values == frozenset({"none"})
    assert q.questions["other_pain_areas"].options[-1].value == "none"
    assert q.questions["quit_date"].type == "month_year"


# --- FHIR ------------------------------------------------------------------------------------


def test_fhir_a_month_is_a_date_of_month_precision():
    q = load_text(MONTH)
    resource = fhir.questionnaire_resource(q)
    items = {i["linkId"]: i for i in resource["item"][0]["item"]}
    since = items["since"]
    assert since["type"] == "date"
    extensions = {e["url"]: e for e in since["extension"]}
    assert extensions[fhir.ENTRY_FORMAT_URL]["valueString"] == "YYYY-MM"
    assert extensions[fhir.common.MIN_VALUE_URL]["valueDate"] == "2020-01"
    assert extensions[fhir.common.MAX_VALUE_URL]["valueDate"] == "2030-12"
    assert fhir.common.value_element(q, q.questions["stopped"], YearMonth(2021, 6), "value") == {
        "valueDate": "2021-06"}


def test_screenings_pinned_to_2_0_0_still_display_and_score():
    """2.0.0 is kept unchanged: its date answer and its examples are as they were; the same
    answers read under 2.1.0 take the date's month."""
    from screening.definition import load_path
    from tests.unit.test_lint import SHIPPED

    old = load_path(SHIPPED.parent / "previous" / "fbss-preop-2.0.0.yaml")
    new = load_path(SHIPPED)
    assert (old.version, old.questions["quit_date"].type) == ("2.0.0", "date")
    assert not old.questions["other_pain_areas"].exclusive_values
    answers = next(e for e in old.examples if e.name.startswith("moderate tier")).answers
    assert answers["quit_date"] == "2021-06-15"
    a = score(old, answers)
    assert a.complete and not a.errors
    assert codec.display(old.questions["quit_date"], a.answers["quit_date"]) == "15 June 2021"
    b = score(new, answers)
    assert b.answers["quit_date"] == YearMonth(2021, 6) and b.total == a.total
