"""score_outcome(followup, answers, baseline_values) -> OutcomeResult: a follow-up's outcome from
its answers and the pre-operative screening's values; a missing answer or baseline value makes it
not known (None), never met or not met by default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.definition import load_path, load_text
from screening.scoring import baseline_values, score, score_outcome
from tests.unit.test_followups import FOLLOWUP_TEXT
from tests.unit.test_properties import JUNK, valid

ROOT = Path(__file__).resolve().parents[2]
PREOP = ROOT / "questionnaires" / "fbss-preop.yaml"
FOLLOWUP = ROOT / "questionnaires" / "fbss-followup.yaml"

WELL = {
    "peg_1": 2, "peg_2": 1, "peg_3": 2, "back_pain": 2, "leg_pain": 1, "pgic": 1,
    "satisfaction": "very_satisfied", "reoperation": False,
}  # fmt: skip


def peg(total: int) -> dict[str, int]:
    """PEG items adding up to `total`."""
    items = [total // 3 + (1 if i < total % 3 else 0) for i in range(3)]
    return {f"peg_{i + 1}": v for i, v in enumerate(items)}


@pytest.fixture(scope="module")
def followup():
    return load_path(FOLLOWUP)


def test_a_good_outcome(followup):
    result = score_outcome(followup, WELL, {"peg": 21, "back_pain": 4, "leg_pain": 8})
    assert result.met is False
    assert [(c.id, c.met) for c in result.criteria] == [
        ("reoperation", False),
        ("persistent_pain", False),
    ]
    assert result.values == {
        "peg_change": -16,
        "peg_change_percent": -76.2,
        "back_pain_change": -2,
        "leg_pain_change": -7,
    }
    assert result.reasons == (
        "not met: Another spine operation since the surgery: reoperation False",
        "not met: PEG 4 or more (sum 12 or more) without an improvement of 30% or more since "
        "before surgery: peg 5, peg_change_percent -76.2, peg_change -16",
    )
    assert result.assessment.complete


def test_persistent_pain_without_improvement_is_met(followup):
    answers = {**WELL, **peg(18), "pgic": 4}
    result = score_outcome(followup, answers, {"peg": 18})
    assert result.met is True
    assert [c.id for c in result.met_criteria] == ["persistent_pain"]
    assert result.reasons == (
        "met: PEG 4 or more (sum 12 or more) without an improvement of 30% or more since before "
        "surgery: peg 18, peg_change_percent 0, peg_change 0",
    )
    # back and leg pain were not in the baseline given: their change is not known
    assert result.values["back_pain_change"] is None


@pytest.mark.parametrize(
    ("baseline", "now", "met"),
    [
        (20, 14, False),  # exactly 30% better: an important improvement
        (20, 15, True),  # 25% better: not enough
        (27, 18, False),  # a third better
        (12, 21, True),  # worse
        (0, 12, True),  # no pain before by the PEG: no percent, and no improvement
        (0, 11, False),  # PEG below 4 now
        (30, 11, False),
    ],
)
def test_the_persistent_pain_threshold_and_the_30_percent_rule(followup, baseline, now, met):
    result = score_outcome(followup, {**WELL, **peg(now)}, {"peg": baseline})
    assert result.met is met


def test_another_operation_is_met_whatever_the_pain(followup):
    answers = {**WELL, "reoperation": True}
    for base in ({"peg": 21}, {}, {"peg": None}):
        result = score_outcome(followup, answers, base)
        assert result.met is True
        assert [c.id for c in result.met_criteria] == ["reoperation"]


def test_a_missing_baseline_is_not_known_unless_the_answers_decide(followup):
    moderate = {**WELL, **peg(13)}
    for base in ({}, {"peg": None}, {"peg": True}, {"peg": "18"}):
        result = score_outcome(followup, moderate, base)
        assert result.met is None, base
        persistent = result.criteria[1]
        assert persistent.met is None
        assert persistent.unknown == ("peg_change_percent", "peg_change")
        assert result.reasons == (
            "not known: PEG 4 or more (sum 12 or more) without an improvement of 30% or more "
            "since before surgery: peg 13, peg_change_percent not known, peg_change not known "
            "(not known: peg_change_percent, peg_change)",
        )
    # Mild pain now: persistent pain is ruled out whatever the baseline was.
    assert score_outcome(followup, WELL, {}).met is False


def test_missing_answers_are_not_known(followup):
    no_operation_answer = {k: v for k, v in WELL.items() if k != "reoperation"}
    result = score_outcome(followup, no_operation_answer, {"peg": 20})
    assert result.met is None and not result.assessment.complete
    assert result.criteria[0].unknown == ("reoperation",)
    no_peg = {k: v for k, v in WELL.items() if k != "peg_2"}
    result = score_outcome(followup, no_peg, {"peg": 20})
    assert result.met is None
    assert result.assessment.missing == ("peg_2",)
    # An answer that cannot be used is no answer either.
    result = score_outcome(followup, {**WELL, "peg_1": 11}, {"peg": 20})
    assert result.met is None and "peg_1" in result.assessment.errors


def test_nothing_answered_is_not_known(followup):
    result = score_outcome(followup, {}, {})
    assert result.met is None
    assert {c.met for c in result.criteria} == {None}


def test_an_answer_that_does_not_tell_is_not_known():
    q = load_text(FOLLOWUP_TEXT.replace(
        "- {id: reoperation, label: Another operation, when: {question: again, equals: true}}",
        "- {id: reoperation, label: Another operation, when: {question: again, equals: true}}\n"
        "    - {id: unhealed, label: Not healed, when: {question: sure, not_equals: yes}}",
    ))
    answers = {"pain": 2, "again": False}
    assert score_outcome(q, {**answers, "sure": "yes"}, {"pain": 3}).met is False
    unsure = score_outcome(q, {**answers, "sure": "not_sure"}, {"pain": 3})
    assert unsure.met is None
    met = {c.id: c.met for c in unsure.criteria}
    assert met == {"reoperation": False, "unhealed": None, "pain": False}


def test_the_json_of_an_outcome(followup):
    result = score_outcome(followup, {**WELL, **peg(18)}, {"peg": 18})
    data = result.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["outcome"] == "poor_outcome" and data["met"] is True
    assert data["criteria"][1] == {
        "id": "persistent_pain",
        "met": True,
        "values": {"peg": 18, "peg_change_percent": 0.0, "peg_change": 0},
    }
    assert (data["complete"], data["missing"]) == (True, [])


def test_a_questionnaire_without_an_outcome_is_refused():
    with pytest.raises(ValueError, match="states no outcome"):
        score_outcome(load_path(PREOP), {}, {})


def test_the_baseline_of_a_pre_operative_screening_end_to_end(followup):
    """A pre-operative example scored, its values taken as the baseline, a follow-up scored."""
    preop = load_path(PREOP)
    example = next(e for e in preop.examples if e.expect.get("complete", True) and e.expect.get(
        "tier") == "high")
    before = score(preop, example.answers)
    values = baseline_values(before)
    assert values["peg"] == before.instruments["peg"].score
    assert values["back_pain"] == example.answers["back_pain"]
    assert set(followup.baseline.values) <= set(values)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values.values())
    assert "bmi" in values and "phq9" in values  # computed values and instruments
    same = {**WELL, **peg(values["peg"])}
    assert score_outcome(followup, same, values).met is (values["peg"] >= 12)


def test_a_screening_answered_under_1_2_0_has_no_peg_baseline(followup):
    old = load_path(ROOT / "questionnaires" / "previous" / "fbss-preop-1.2.0.yaml")
    values = baseline_values(score(old, old.examples[0].answers))
    assert "peg" not in values
    assert score_outcome(followup, {**WELL, **peg(15)}, values).met is None


# --- properties -----------------------------------------------------------------------------------


def oracle(answers: dict[str, Any], base: dict[str, Any]) -> bool | None:
    """The shipped outcome written out by hand, with None for what is not known."""
    reop = answers.get("reoperation")
    items = [answers.get(f"peg_{i}") for i in (1, 2, 3)]
    now = None if None in items else sum(items)
    before = base.get("peg")
    if reop is True:
        return True
    if now is not None and now < 12:
        persistent: bool | None = False
    elif now is None or before is None:
        persistent = None
    elif before == 0:
        persistent = True
    else:
        persistent = 100 * (now - before) / before > -30 or now - before >= 0
    if persistent is True:
        return True
    if reop is None or persistent is None:
        return None
    return False


def followup_answers() -> st.SearchStrategy[dict[str, Any]]:
    q = load_path(FOLLOWUP)
    return st.fixed_dictionaries(
        {}, optional={qid: valid(question) for qid, question in q.questions.items()}
    )


def baselines() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {}, optional={"peg": st.none() | st.integers(0, 30), "back_pain": st.integers(0, 10)}
    )


def typed(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers as the engine reads them ("7" is 7, "yes" is True), for the oracle."""
    q = load_path(FOLLOWUP)
    return dict(score(q, answers).answers)


@settings(max_examples=300, deadline=None)
@given(answers=followup_answers(), base=baselines())
def test_the_shipped_outcome_agrees_with_its_definition_written_out(answers, base):
    result = score_outcome(load_path(FOLLOWUP), answers, base)
    assert result.met is oracle(typed(answers), base)
    # met when a criterion is met; not known when none is and one is not known
    found = [c.met for c in result.criteria]
    assert result.met is (True if True in found else None if None in found else False)
    data = result.to_json()
    assert json.loads(json.dumps(data)) == data


@settings(max_examples=300, deadline=None)
@given(answers=followup_answers(), base=baselines(), data=st.data())
def test_less_information_never_decides_otherwise(answers, base, data):
    """Leaving answers or baseline values out makes the outcome not known or leaves it as it was:
    a missing answer never decides it."""
    q = load_path(FOLLOWUP)
    full = score_outcome(q, answers, base).met
    kept = data.draw(st.sets(st.sampled_from(sorted(answers))) if answers else st.just(set()))
    fewer = {k: v for k, v in answers.items() if k in kept}
    base_kept = data.draw(st.sets(st.sampled_from(sorted(base))) if base else st.just(set()))
    less = score_outcome(q, fewer, {k: v for k, v in base.items() if k in base_kept}).met
    assert less is None or less is full


@settings(max_examples=200, deadline=None)
@given(
    answers=st.fixed_dictionaries(
        {}, optional={qid: JUNK for qid in load_path(FOLLOWUP).questions}
    ),
    base=st.dictionaries(st.sampled_from(["peg", "back_pain", "other"]), JUNK),
)
def test_junk_never_breaks_the_outcome(answers, base):
    result = score_outcome(load_path(FOLLOWUP), answers, base)
    assert result.met in (True, False, None)
    assert json.loads(json.dumps(result.to_json(), default=str))
