"""Clinical model 2.0 in the language: risk axes and their tiers, floors, caps, the points rule,
"Not sure" answers as unknowns, the clinic's entries, no tier for incomplete answers, option scores
and hidden items counted as 0. On `tests/fixtures/axes.yaml` and variations of it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.definition import DefinitionError, load_path, load_text
from screening.definition.examples import check_examples
from screening.definition.model import Effect
from screening.scoring import score

ROOT = Path(__file__).resolve().parents[2]
AXES = ROOT / "tests" / "fixtures" / "axes.yaml"
TEXT = AXES.read_text(encoding="utf-8")
QUIET = {"procedure": "decompression", "smoker": False, "m1": 0, "m2": 0, "bother": "none",
         "drinks": False}  # fmt: skip


@pytest.fixture(scope="module")
def q():
    return load_path(AXES)


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "a.yaml")
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


# --- axes, tiers, floors, caps ----------------------------------------------------------------


def test_each_axis_has_its_points_and_tier_and_the_tier_is_the_higher(q):
    a = score(q, {**QUIET, "procedure": "fusion", "smoker": True})
    assert [(x.id, x.points, x.max, x.tier.id) for x in a.axes] == [
        ("medical", 4, 4, "high"),
        ("psychosocial", 0, 2, "low"),
    ]
    assert a.tier.id == "high"
    assert a.total == 4
    assert a.to_json()["axes"] == [
        {"id": "medical", "label": "Medical and surgical", "points": 4, "max": 4, "tier": "high",
         "floors": []},
        {"id": "psychosocial", "label": "Psychosocial and pain", "points": 0, "max": 2,
         "tier": "low", "floors": []},
    ]  # fmt: skip


def test_a_floor_raises_its_axis_whatever_the_points(q):
    a = score(q, {**QUIET, "m1": 3, "bother": "lots"})  # distress 4: below the floor
    assert (a.axes[1].points, a.axes[1].tier.id, a.axes[1].floors) == (1, "low", ())
    a = score(q, {**QUIET, "m1": 3, "m2": 3})  # distress 6: the floor holds
    psychosocial = a.axes[1]
    assert psychosocial.tier.id == "moderate"
    assert [f.reason for f in psychosocial.floors] == [
        "A distress score of 6 or more puts this axis at least at moderate."
    ]
    assert a.tier.id == "moderate"


def test_a_cap_counts_overlapping_factors_once(q):
    a = score(q, {**QUIET, "m1": 3, "m2": 3})
    assert {r.id for r in a.factors} == {"low_mood", "worry"}  # 1 + 2 points
    assert [(c.cap.id, c.points, c.counted) for c in a.caps] == [("distress_cap", 3, 2)]
    assert a.axes[1].points == 2
    assert a.total == 2
    assert a.modifiable_points == 2
    assert a.to_json()["caps"] == [{"id": "distress_cap", "points": 3, "counted": 2}]


def test_alerts_by_an_axis_points_or_by_a_condition(q):
    assert [x.id for x in score(q, {**QUIET, "m2": 3}).domain_alerts] == ["psych_referral"]
    a = score(q, {**QUIET, "m1": 3, "m2": 3, "bother": "lots"})  # distress 7
    assert [x.id for x in a.domain_alerts] == ["psych_referral", "distress_high"]
    assert score(q, QUIET).domain_alerts == ()


def test_the_analysis_knows_each_axis_range_with_the_cap(q):
    r = q.score_range
    assert r.axes == {"medical": (0, 4), "psychosocial": (0, 2)}  # 1 + 2 capped at 2
    assert (r.lowest, r.highest) == (0, 6)
    assert set(r.reachable_tiers) == {"low", "moderate", "high"}
    assert q.axis_max("psychosocial") == 2


def test_lint_warns_of_a_tier_an_axis_can_never_reach():
    from screening.definition.lint import lint

    result = lint(AXES)
    assert result.ok
    assert [str(w) for w in result.warnings] == [
        f"{AXES}: axis 'psychosocial': tier 'high' can never be reached: its points go from 0 "
        "to 2, and the tier starts at 4"
    ]
    # A floor that raises the axis to the tier makes it reachable.
    text = TEXT.replace("tier: moderate\n", "tier: high\n")
    path = AXES.parent / "unused-name-for-the-message.yaml"
    from screening.definition.lint import unreachable_axis_tiers

    assert unreachable_axis_tiers(load_text(text, str(path))) == []


# --- no tier for incomplete answers -------------------------------------------------------------


def test_incomplete_answers_have_no_tier_on_any_axis(q):
    a = score(q, {"procedure": "fusion", "smoker": True})
    assert not a.complete
    assert a.tier is None
    assert [x.tier for x in a.axes] == [None, None]
    assert a.reached_tier.id == "high"  # what the answers given reach: a lower bound only
    data = a.to_json()
    assert data["tier"] is None
    assert [x["tier"] for x in data["axes"]] == [None, None]


def test_no_answers_at_all_is_no_tier_not_low(q):
    assert score(q, {}).tier is None


# --- "Not sure" is an unknown, never absent -----------------------------------------------------


def test_not_sure_lists_the_factors_that_depend_on_it_as_unknowns(q):
    a = score(q, {**QUIET, "procedure": "not_sure", "smoker": True})
    assert a.factors == ()
    assert [r.id for r in a.unknowns] == ["fusion", "smoking_fusion"]
    assert [a.unknown_answers(r) for r in a.unknowns] == [["procedure"], ["procedure"]]
    assert a.to_json()["unknowns"][0] == {
        "id": "fusion", "label": "Fusion planned", "axis": "medical", "points": 2,
        "unknown_answers": ["procedure"],
    }  # fmt: skip


def test_an_unknown_that_cannot_matter_is_not_listed(q):
    # Smoking with fusion needs a smoker: a non-smoker's "not sure" cannot make it apply.
    a = score(q, {**QUIET, "procedure": "not_sure", "smoker": False})
    assert [r.id for r in a.unknowns] == ["fusion"]


# --- the clinic's entries -----------------------------------------------------------------------


def test_the_clinics_entry_is_scored_where_the_patient_is_not_sure(q):
    a = score(q, {**QUIET, "procedure": "not_sure", "smoker": True}, clinic={"procedure": "fusion"})
    assert [r.id for r in a.factors] == ["fusion", "smoking_fusion"]
    assert a.unknowns == ()
    [entry] = a.clinic
    assert (entry.question_id, entry.clinic, entry.patient, entry.used, entry.differs) == (
        "procedure", "fusion", "not_sure", True, False,
    )  # fmt: skip
    assert a.answers["procedure"] == "not_sure"  # the patient's own answer is kept as given


def test_the_patients_own_answer_is_scored_and_a_difference_shown(q):
    a = score(q, {**QUIET, "procedure": "decompression"}, clinic={"procedure": "fusion"})
    assert a.factors == ()
    [entry] = a.clinic
    assert (entry.used, entry.differs) == (False, True)
    assert a.to_json()["clinic"] == [
        {"question": "procedure", "clinic": "fusion", "patient": "decompression", "used": False,
         "differs": True}
    ]  # fmt: skip


def test_an_unanswered_question_takes_the_clinics_entry_and_is_not_missing(q):
    answers = {k: v for k, v in QUIET.items() if k != "procedure"}
    a = score(q, answers, clinic={"procedure": "fusion"})
    assert a.complete
    assert [r.id for r in a.factors] == ["fusion"]


def test_entries_the_clinic_cannot_make_are_ignored(q):
    a = score(
        q,
        {**QUIET, "procedure": "not_sure"},
        clinic={"smoker": True, "procedure": "not_sure", "nonsense": 1},
    )
    assert a.clinic == ()  # not a clinic question, "not sure" again, no such question
    assert [r.id for r in a.unknowns] == ["fusion"]
    a = score(q, {**QUIET, "procedure": "not_sure"}, clinic={"procedure": "laser"})
    assert a.clinic == ()  # not one of the options: not used


# --- instruments ----------------------------------------------------------------------------------


def test_options_give_their_own_score_to_an_instrument(q):
    assert score(q, {**QUIET, "bother": "some"}).instruments["distress"].score == 0
    assert score(q, {**QUIET, "bother": "lots"}).instruments["distress"].score == 1
    assert q.instrument_by_id["distress"].attribution == "Distress-3 is a made-up scale for tests."


def test_hidden_items_count_as_zero_but_an_unanswered_shown_one_does_not(q):
    assert score(q, QUIET).instruments["drinking"].score == 0  # never drinks: 0, not unknown
    a = score(q, {**QUIET, "drinks": True})
    assert a.instruments["drinking"].score is None
    assert not a.complete
    a = score(q, {**QUIET, "drinks": True, "drinks_often": 4})
    assert [r.id for r in a.factors] == ["heavy_drinking"]  # a note: 0 points
    assert a.total == 0


def test_the_notices_are_read(q):
    assert q.notices == ("This material contains content from LOINC (http://loinc.org).",)


# --- the points rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "value", "points"),
    [("OR", 1.22, 0), ("OR", 1.23, 1), ("OR", 1.87, 2), ("RR", 2.12, 2), ("OR", 3.79, 3),
     ("HR", 6.91, 5), ("OR", 0.5, -2), ("SMD", 0.31, 1), ("SMD", 0.5, 2)],
)  # fmt: skip
def test_points_are_the_rounded_log_ratio(measure, value, points):
    effect = Effect(measure, value, None, None, "x", "s")
    assert effect.points(1.5) == points
    ln_or = value * math.pi / math.sqrt(3) if measure == "SMD" else math.log(value)
    assert abs(effect.points(1.5) - ln_or / math.log(1.5)) <= 0.5


def test_lint_refuses_points_that_do_not_follow_the_rule():
    text = TEXT.replace(
        "    points: 2\n    effect: {measure: OR, value: 2.2",
        "    points: 3\n    effect: {measure: OR, value: 2.2",
    )
    assert problems_of(text) == [
        "risk_factors[0].points: the points rule gives 2 (ln(OR 2.2 (1.5-3.1)) / ln(1.5) = 1.94), "
        "not 3: change the points or write a `justification`"
    ]


def test_a_justification_lets_other_points_stand():
    text = TEXT.replace(
        "    points: 2\n    effect: {measure: OR, value: 2.2",
        "    points: 3\n    justification: The team's judgement.\n"
        "    effect: {measure: OR, value: 2.2",
    )
    q = load_text(text, "a.yaml")
    assert q.factor_by_id["fusion"].points == 3


def test_points_without_an_effect_need_a_justification():
    text = TEXT.replace("    justification: Expert weight for the test.\n", "")
    assert problems_of(text) == [
        "risk_factors[3].points: the questionnaire has a points_rule: give the `effect` these "
        "points rest on (or a `justification` for points without one)"
    ]


def test_an_effect_must_be_for_its_axiss_outcome():
    text = TEXT.replace("outcome: persistent_pain, source: Javeed", "outcome: complications, "
                        "source: Javeed")  # fmt: skip
    assert problems_of(text) == [
        "risk_factors[2].effect.outcome: the outcome 'complications' is not one of axis "
        "'psychosocial''s outcomes (persistent_pain): an effect size must be for its axis's outcome"
    ]


def test_an_effect_names_one_of_its_citations_and_an_interval_that_holds_it():
    text = TEXT.replace("source: Deyo 2010}", "source: Smith 1999}").replace(
        "ci: [1.56, 2.35]", "ci: [2.0, 2.35]"
    )
    assert problems_of(text) == [
        "risk_factors[0].effect.source: 'Smith 1999' does not begin any of the factor's evidence "
        "citations",
        "risk_factors[1].effect.ci: the interval 2-2.35 does not hold the value 1.91",
    ]


def test_axes_are_checked():
    without_axis = problems_of(TEXT.replace("    axis: medical\n    category: surgery",
                                            "    category: surgery"))  # fmt: skip
    assert without_axis[0] == (
        "risk_factors[0]: a risk factor needs an axis (one of medical, psychosocial)"
    )
    assert problems_of(
        TEXT.replace("tier_max: {low: 1, moderate: 3}", "tier_max: {low: 3, moderate: 1}", 1)
    ) == [  # fmt: skip
        "axes[0].tier_max.moderate: tier 'moderate': the max must be a whole number above 3"
    ]
    assert problems_of(
        TEXT.replace("tier_max: {low: 1, moderate: 3}", "tier_max: {low: 1}", 1)
    ) == [  # fmt: skip
        "axes[0].tier_max: must give the max of every tier but the last, in order: low, moderate "
        "(it gives low)"
    ]
    assert problems_of(TEXT.replace("tier: moderate\n", "tier: severe\n")) == [
        "axes[1].floors[0].tier: there is no tier 'severe'"
    ]
    assert problems_of(
        TEXT.replace("  - {id: low, label: Low}", "  - {id: low, label: Low, max: 1}")
    ) == [  # fmt: skip
        "tiers[0].max: with axes, each axis gives the tiers' maxima (its tier_max)"
    ]


def test_a_cap_holds_factors_of_one_axis():
    text = TEXT.replace("factors: [low_mood, worry]", "factors: [low_mood, fusion]")
    assert problems_of(text) == ["caps[0].factors: a cap's factors must all be on one axis"]


# --- examples -----------------------------------------------------------------------------------


def test_the_fixtures_examples_hold(q):
    assert check_examples(q) == []


def test_an_example_that_expects_the_wrong_axis_tier_or_unknowns_fails():
    text = TEXT.replace(
        "expect: {tier: low, total: 0, factors: [], unknowns: [fusion, smoking_fusion]}",
        "expect: {tier: low, axes: {medical: moderate}, unknowns: [fusion]}",
    )
    messages = [p.message for p in check_examples(load_text(text, "a.yaml"))]
    assert messages == [
        "expected axis 'medical' tier moderate, but the rules give low (0 points)",
        "expected unknowns ['fusion'], but the rules give ['fusion', 'smoking_fusion']",
    ]


def test_an_example_may_give_only_clinic_questions_as_the_clinics():
    text = TEXT.replace("clinic: {procedure: fusion}", "clinic: {smoker: true}")
    assert problems_of(text) == [
        "examples[4].clinic.smoker: 'smoker' is not a question the clinic can enter "
        "(`clinic: true`)"
    ]


# --- properties ---------------------------------------------------------------------------------


def answer_sets(q) -> st.SearchStrategy[dict[str, Any]]:
    def one(question):
        if question.type == "yes_no":
            return st.booleans()
        return st.sampled_from([o.value for o in question.options])

    return st.fixed_dictionaries({}, optional={i: one(x) for i, x in q.questions.items()})


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_invariants_of_axes_unknowns_and_tiers(data):
    q = load_path(AXES)
    answers = data.draw(answer_sets(q), label="answers")
    clinic = data.draw(
        st.fixed_dictionaries({}, optional={"procedure": st.sampled_from(
            ["fusion", "decompression", "not_sure"])}), label="clinic",
    )  # fmt: skip
    a = score(q, answers, clinic=clinic)
    assert sum(x.points for x in a.axes) == a.total
    for axis in a.axes:
        low, high = q.score_range.axes[axis.id]
        assert low <= axis.points <= high
        assert axis.reached.id in q.score_range.reachable_tiers
    assert not {r.id for r in a.factors} & {r.id for r in a.unknowns}
    assert (a.tier is None) == (not a.complete)
    if a.tier is not None:
        ranks = [t.id for t in q.tiers]
        assert ranks.index(a.tier.id) == max(ranks.index(x.tier.id) for x in a.axes)
    # An unknown is never scored: the total is what the factors that apply add up to.
    assert a.total <= sum(r.points for r in a.factors)
