"""The scoring engine: instruments and tiers at every edge, hidden answers, typed values."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from pathlib import Path

import pytest

from screening.definition import load_path, load_text
from screening.definition.conditions import MISSING
from screening.definition.model import Band
from screening.scoring import AnswerError, normalize, score, type_answers, visible_questions

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini.yaml"
SHIPPED = ROOT / "questionnaires" / "fbss-preop.yaml"


def mini():
    return load_path(MINI)


def shipped():
    if not SHIPPED.exists():
        pytest.skip(f"{SHIPPED} is not written yet")
    return load_path(SHIPPED)


def yaml(text: str) -> str:
    return textwrap.dedent(text)


def spread(total: int, n_items: int, top: int = 3) -> list[int]:
    """Item answers (each 0..top) over n_items adding up to total, the first items fullest."""
    assert 0 <= total <= n_items * top
    return [min(top, max(0, total - top * i)) for i in range(n_items)]


NOTHING = {"surgery_type": "decompression", "prior": False, "height": 180, "weight": 70,
           "m1": 0, "m2": 0}
EVERYTHING = {"surgery_type": "fusion", "levels": 3, "prior": True, "prior_count": 2,
              "height": 160, "weight": 100, "regions": ["neck"], "m1": 3, "m2": 3}


# --- the two examples of mini.yaml, in full -----------------------------------------------------


def test_mini_nothing_applies():
    result = score(mini(), NOTHING)
    assert result.complete
    assert result.missing == ()
    assert result.errors == {}
    assert result.total == 0
    assert result.tier.id == "low"
    assert result.factors == ()
    assert result.red_flags == ()
    assert result.instruments["mood"].score == 0
    assert result.instruments["mood"].band == "minimal"
    assert result.computed == {"bmi": 21.6}
    assert result.modifiable_points == 0
    assert result.domain_alerts == ()
    assert set(result.category_points.values()) == {0}


def test_mini_everything_applies():
    q = mini()
    result = score(q, EVERYTHING)
    assert result.complete
    assert result.total == 10
    assert result.max_total == 10
    assert result.tier.id == "high"
    assert [r.id for r in result.factors] == [
        "fusion", "long_fusion", "repeat_surgery", "obesity", "low_mood", "widespread"
    ]
    assert [r.points for r in result.factors] == [1, 1, 3, 2, 2, 1]
    assert [r.id for r in result.red_flags] == ["low_mood_now"]
    assert result.computed == {"bmi": 39.1}
    assert result.category_points == {
        "surgery": 2, "history": 6, "habits": 0, "mental_health": 2, "psychosocial": 0
    }
    assert result.modifiable_points == 4
    assert [a.id for a in result.domain_alerts] == ["psych"]
    assert result.visible_steps == ("surgery", "revision", "body", "mood")


def test_a_factor_keeps_the_answers_its_condition_read():
    result = score(mini(), EVERYTHING)
    read = {r.id: r.answers for r in result.factors}
    assert read["long_fusion"] == (("levels", 3), ("surgery_type", "fusion"))
    assert read["obesity"] == (("height", 160.0), ("weight", 100.0))  # through the bmi
    assert read["low_mood"] == (("m1", 3), ("m2", 3))  # through the instrument
    assert read["widespread"] == (("regions", ("neck",)),)
    assert result.red_flags[0].answers == (("m2", 3),)


def test_domain_alert_at_its_threshold():
    q = mini()
    below = score(q, {**NOTHING, "m1": 1, "m2": 1})  # mood 2: low_mood does not apply
    assert below.category_points["mental_health"] == 0
    assert below.domain_alerts == ()
    at = score(q, {**NOTHING, "m1": 1, "m2": 2})  # mood 3: 2 mental_health points
    assert at.category_points["mental_health"] == 2
    assert [a.id for a in at.domain_alerts] == ["psych"]


# --- instruments at every band edge -------------------------------------------------------------


@pytest.mark.parametrize(
    ("m1", "m2", "expected_score", "band"),
    [
        (0, 0, 0, "minimal"),
        (1, 1, 2, "minimal"),  # the max of the first band
        (2, 1, 3, "raised"),  # max + 1
        (3, 2, 5, "raised"),
        (3, 3, 6, "raised"),  # the highest score
    ],
)
def test_mini_instrument_bands(m1, m2, expected_score, band):
    result = score(mini(), {**NOTHING, "m1": m1, "m2": m2})
    mood = result.instruments["mood"]
    assert (mood.score, mood.band, mood.missing) == (expected_score, band, ())
    assert result.computed["bmi"] == 21.6


@pytest.mark.parametrize(
    ("answers", "missing"),
    [
        ({"m1": 3}, ("m2",)),
        ({"m2": 0}, ("m1",)),
        ({}, ("m1", "m2")),
        ({"m1": 3, "m2": ""}, ("m2",)),
        ({"m1": 3, "m2": None}, ("m2",)),
        ({"m1": 3, "m2": 7}, ("m2",)),  # an answer with an error is no answer
    ],
)
def test_an_instrument_with_a_missing_item_has_no_score(answers, missing):
    result = score(mini(), {"surgery_type": "decompression", **answers})
    mood = result.instruments["mood"]
    assert mood.score is None
    assert mood.band is None
    assert mood.missing == missing
    assert result.to_json()["instruments"]["mood"] == {"score": None, "band": None}
    assert set(missing) <= set(result.missing)
    assert not result.complete


BANDS = yaml(
    """\
    id: bands
    version: 1.0.0
    title: Bands
    steps:
      - id: s1
        title: One
        questions:
          - id: i1
            type: choice
            label: Item one
            options: &scale
              - {value: 0, label: Never}
              - {value: 1, label: Sometimes}
              - {value: 2, label: Often}
              - {value: 3, label: Always}
          - {id: i2, type: choice, label: Item two, options: *scale}
          - {id: i3, type: choice, label: Item three, options: *scale}
    instruments:
      - id: scale
        label: Scale-3
        items: [i1, i2, i3]
        bands:
          - {label: none, max: 0}
          - {label: mild, max: 2}
          - {label: moderate, max: 5}
          - {label: severe, max: 9}
    tiers:
      - {id: low}
    """
)


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "none"), (1, "mild"), (2, "mild"), (3, "moderate"), (5, "moderate"), (6, "severe"),
     (9, "severe")],
)
def test_inline_instrument_bands(total, band):
    q = load_text(BANDS)
    answers = dict(zip(["i1", "i2", "i3"], spread(total, 3), strict=True))
    result = score(q, answers)
    assert result.instruments["scale"].score == total
    assert result.instruments["scale"].band == band
    assert q.instrument_by_id["scale"].band_for(total) == band


PHQ9_EDGES = [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "moderately severe"), (19, "moderately severe"), (20, "severe"), (27, "severe"),
]
GAD7_EDGES = [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "severe"), (21, "severe"),
]
PHQ9_ITEMS = [f"phq9_{i}" for i in range(1, 10)]
GAD7_ITEMS = [f"gad7_{i}" for i in range(1, 8)]


def test_shipped_instruments_are_the_published_ones():
    q = shipped()
    phq9, gad7 = q.instrument_by_id["phq9"], q.instrument_by_id["gad7"]
    assert phq9.items == tuple(PHQ9_ITEMS)
    assert gad7.items == tuple(GAD7_ITEMS)
    assert phq9.bands == (
        Band("minimal", 4), Band("mild", 9), Band("moderate", 14), Band("moderately severe", 19),
        Band("severe", 27),
    )
    assert gad7.bands == (Band("minimal", 4), Band("mild", 9), Band("moderate", 14),
                          Band("severe", 21))
    for item in PHQ9_ITEMS + GAD7_ITEMS:
        assert [o.value for o in q.questions[item].options] == [0, 1, 2, 3], item


@pytest.mark.parametrize(("total", "band"), PHQ9_EDGES)
def test_phq9_band_edges(total, band):
    q = shipped()
    # phq9_9 last, so it stays 0 below 25
    answers = dict(zip(PHQ9_ITEMS, spread(total, 9), strict=True))
    result = score(q, answers)
    assert result.instruments["phq9"].score == total
    assert result.instruments["phq9"].band == band
    assert result.to_json()["instruments"]["phq9"] == {"score": total, "band": band}


@pytest.mark.parametrize(("total", "band"), GAD7_EDGES)
def test_gad7_band_edges(total, band):
    q = shipped()
    answers = {item: str(v) for item, v in zip(GAD7_ITEMS, spread(total, 7), strict=True)}
    result = score(q, answers)
    assert result.instruments["gad7"].score == total
    assert result.instruments["gad7"].band == band


@pytest.mark.parametrize("instrument", ["phq9", "gad7"])
def test_shipped_instrument_with_a_missing_item_has_no_score(instrument):
    q = shipped()
    items = PHQ9_ITEMS if instrument == "phq9" else GAD7_ITEMS
    answers = {item: 3 for item in items}
    del answers[items[4]]
    answers[items[1]] = " "
    result = score(q, answers)
    assert result.instruments[instrument].score is None
    assert result.instruments[instrument].band is None
    assert result.instruments[instrument].missing == (items[1], items[4])
    assert items[1] in result.missing and items[4] in result.missing


@pytest.mark.parametrize(("phq9_9", "raised"), [(0, False), ("0", False), (1, True), ("1", True),
                                                (3, True), (None, False), ("", False)])
def test_self_harm_red_flag(phq9_9, raised):
    q = shipped()
    answers = {item: 0 for item in PHQ9_ITEMS}
    answers["phq9_9"] = phq9_9
    result = score(q, answers)
    assert ("self_harm" in [r.id for r in result.red_flags]) is raised
    assert result.errors == {}


# --- tiers at every edge ------------------------------------------------------------------------

TIERS = yaml(
    """\
    id: tiers
    version: 1.0.0
    title: Tiers
    steps:
      - id: s1
        title: One
        questions:
          - {id: q1, type: yes_no, label: One}
          - {id: q2, type: yes_no, label: Two}
          - {id: q3, type: yes_no, label: Three}
          - {id: q4, type: yes_no, label: Four}
          - {id: q5, type: yes_no, label: Five}
          - {id: q6, type: yes_no, label: Six}
    risk_factors:
    FACTORS
    tiers:
      - {id: low, max: 2}
      - {id: moderate, max: 4}
      - {id: high}
    """
)
FACTOR = """\
  - id: f{i}
    label: Factor {i}
    category: habits
    points: 1
    modifiable: true
    when: {{question: q{i}, equals: true}}
    patient_text: P.
    clinician_text: C.
    action: A.
    evidence: [{{citation: C, url: "https://example.org/{i}"}}]
"""


def tiers_definition():
    factors = "".join(FACTOR.format(i=i) for i in range(1, 7))
    return load_text(TIERS.replace("FACTORS\n", factors))


@pytest.mark.parametrize(
    ("total", "tier"),
    [(0, "low"), (1, "low"), (2, "low"), (3, "moderate"), (4, "moderate"), (5, "high"),
     (6, "high")],
)
def test_tier_edges(total, tier):
    q = tiers_definition()
    answers = {f"q{i}": i <= total for i in range(1, 7)}
    result = score(q, answers)
    assert result.total == total
    assert result.tier.id == tier
    assert q.tier_for(total).id == tier
    assert result.max_total == 6
    assert result.modifiable_points == total
    assert result.category_points["habits"] == total


@pytest.mark.parametrize(
    ("total", "tier"),
    [(0, "low"), (2, "low"), (3, "moderate"), (5, "moderate"), (6, "high"), (10, "high"),
     (1000, "high")],
)
def test_mini_tier_for(total, tier):
    assert mini().tier_for(total).id == tier


@pytest.mark.parametrize(
    ("answers", "total", "tier"),
    [
        ({"surgery_type": "fusion", "levels": 3}, 2, "low"),
        ({"prior": True, "prior_count": 2}, 3, "moderate"),
        ({"prior": True, "prior_count": 2, "height": 160, "weight": 100}, 5, "moderate"),
        ({"prior": True, "prior_count": 2, "height": 160, "weight": 100, "regions": ["neck"]}, 6,
         "high"),
    ],
)
def test_mini_tier_edges_through_the_engine(answers, total, tier):
    result = score(mini(), {**NOTHING, **answers})
    assert result.total == total
    assert result.tier.id == tier
    assert result.total == sum(r.points for r in result.factors)


# --- hidden answers are ignored -----------------------------------------------------------------

HIDDEN = yaml(
    """\
    id: hidden
    version: 1.0.0
    title: Hidden
    steps:
      - id: gate
        title: Gate
        questions:
          - {id: gate, type: yes_no, label: Gate}
          - {id: mid, type: yes_no, label: Mid, show_if: {question: gate, equals: true}}
      - id: inner
        title: Inner
        show_if: {question: mid, equals: true}
        questions:
          - {id: height, type: height, label: Height}
          - {id: weight, type: weight, label: Weight}
          - id: i1
            type: choice
            label: Item one
            options: &scale
              - {value: 0, label: Never}
              - {value: 1, label: Sometimes}
              - {value: 2, label: Often}
              - {value: 3, label: Always}
          - {id: i2, type: choice, label: Item two, options: *scale}
          - {id: n, type: integer, label: Number, min: 0, max: 10}
          - {id: deep, type: yes_no, label: Deep, show_if: {question: n, gte: 5}}
    computed:
      - {id: bmi, label: BMI, bmi: {height: height, weight: weight}}
      - {id: n_plus, label: N plus item, sum: [n, i1]}
    instruments:
      - id: scale
        label: Scale
        items: [i1, i2]
        bands:
          - {label: low, max: 2}
          - {label: high, max: 6}
    risk_factors:
      - id: obese
        label: Obese
        category: history
        points: 2
        modifiable: true
        when: {value: bmi, gte: 30}
        patient_text: P.
        clinician_text: C.
        action: A.
        evidence: [{citation: C, pmid: "1"}]
      - id: scale_high
        label: Scale high
        category: mental_health
        points: 3
        modifiable: true
        when: {value: scale, gte: 3}
        patient_text: P.
        clinician_text: C.
        action: A.
        evidence: [{citation: C, pmid: "1"}]
      - id: many
        label: Many
        category: habits
        points: 1
        modifiable: false
        when: {value: n_plus, gte: 5}
        patient_text: P.
        clinician_text: C.
        action: A.
        evidence: [{citation: C, pmid: "1"}]
      - id: deep
        label: Deep
        category: psychosocial
        points: 4
        modifiable: false
        when: {question: deep, equals: true}
        patient_text: P.
        clinician_text: C.
        action: A.
        evidence: [{citation: C, pmid: "1"}]
    red_flags:
      - id: deep_flag
        when: {question: deep, equals: true}
        patient_message: P.
        clinician_message: C.
    tiers:
      - {id: low, max: 2}
      - {id: high}
    """
)
INNER = {"height": 160, "weight": 100, "i1": 3, "i2": 3, "n": 7, "deep": True}


def test_hidden_fixture_counts_everything_when_shown():
    q = load_text(HIDDEN)
    result = score(q, {"gate": True, "mid": True, **INNER})
    assert result.complete
    assert result.total == 10
    assert [r.id for r in result.factors] == ["obese", "scale_high", "many", "deep"]
    assert [r.id for r in result.red_flags] == ["deep_flag"]
    assert result.computed == {"bmi": 39.1, "n_plus": 10}
    assert (result.instruments["scale"].score, result.instruments["scale"].band) == (6, "high")


@pytest.mark.parametrize(
    ("gate", "visible"),
    [
        ({"gate": False, "mid": True}, {"gate"}),  # mid hidden, so the step that hangs on it
        ({"gate": True, "mid": False}, {"gate", "mid"}),  # the step is hidden
        ({"mid": True}, {"gate"}),  # gate unanswered: mid hidden
    ],
)
def test_hidden_answers_contribute_nothing(gate, visible):
    q = load_text(HIDDEN)
    result = score(q, {**gate, **INNER})
    assert result.visible == visible
    assert result.visible_steps == ("gate",)
    assert set(result.answers) == set(gate) & visible
    assert result.total == 0
    assert result.factors == ()
    assert result.red_flags == ()
    assert result.computed == {"bmi": MISSING, "n_plus": MISSING}
    assert result.to_json()["computed"] == {"bmi": None, "n_plus": None}
    assert result.instruments["scale"].score is None
    assert result.instruments["scale"].band is None
    assert result.instruments["scale"].missing == ("i1", "i2")
    assert result.missing == tuple(k for k in ("gate", "mid") if k in visible and k not in gate)
    assert result.errors == {}


def test_a_question_hanging_on_a_hidden_answer_is_hidden():
    q = load_text(HIDDEN)
    # n is shown (the step is), but deep hangs on n >= 5
    shown = score(q, {"gate": True, "mid": True, **INNER, "n": 4})
    assert "deep" not in shown.visible
    assert "deep" not in shown.missing
    assert [r.id for r in shown.factors] == ["obese", "scale_high", "many"]  # n_plus = 4 + 3
    assert shown.red_flags == ()


def test_an_error_on_a_hidden_answer_is_not_reported():
    q = load_text(HIDDEN)
    bad = {"height": 20, "weight": "heavy", "i1": 9, "n": "many", "deep": "perhaps"}
    hidden = score(q, {"gate": False, **bad})
    assert hidden.errors == {}
    assert hidden.complete
    shown = score(q, {"gate": True, "mid": True, **bad})
    assert set(shown.errors) == {"height", "weight", "i1", "n"}  # deep hangs on the bad n
    assert not shown.complete


def test_mini_hidden_answers():
    q = mini()
    # levels is only asked for a fusion; prior_count only when there was an earlier operation
    result = score(q, {**NOTHING, "levels": 6, "prior_count": 5})
    assert result.total == 0
    assert result.factors == ()
    assert "levels" not in result.answers and "prior_count" not in result.answers
    assert result.complete
    assert result.visible_steps == ("surgery", "body", "mood")
    with_errors = score(q, {**NOTHING, "levels": "lots", "prior_count": -1})
    assert with_errors.errors == {}
    assert with_errors.complete
    shown = score(q, {**NOTHING, "prior": True, "prior_count": -1})
    assert shown.errors == {"prior_count": "Please enter a number between 1 and 20."}


def test_visible_questions_and_type_answers():
    q = mini()
    typed, errors = type_answers(q, {"surgery_type": "fusion", "levels": "2", "prior": "no",
                                     "m1": "x"})
    assert typed == {"surgery_type": "fusion", "levels": 2, "prior": False}
    assert errors == {"m1": "Please choose one of the options."}
    visible, steps = visible_questions(q, typed)
    assert "levels" in visible and "prior_count" not in visible
    assert steps == {"surgery": True, "revision": False, "body": True, "mood": True}


# --- values are typed by the question -----------------------------------------------------------


def test_a_string_and_a_number_score_the_same():
    q = mini()
    as_numbers = score(q, EVERYTHING)
    as_strings = score(q, {k: (str(v) if isinstance(v, int | bool) else v)
                           for k, v in EVERYTHING.items()} | {"prior": "yes"})
    assert as_strings.errors == {}
    assert as_strings.to_json() == as_numbers.to_json()
    assert as_strings.answers == as_numbers.answers


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", None, []])
def test_a_blank_is_no_answer_never_zero(blank):
    q = mini()
    result = score(q, {**NOTHING, "m1": blank})
    assert "m1" in result.missing
    assert "m1" not in result.answers
    assert result.errors == {}
    assert result.instruments["mood"].score is None  # not 0 + 0
    assert not result.complete


# question, raw answer, typed value
VALID_ANSWERS = [
    ("surgery_type", "fusion", "fusion"),
    ("surgery_type", " fusion ", "fusion"),
    ("m1", 2, 2),
    ("m1", "2", 2),
    ("m1", 2.0, 2),
    ("m1", " 2 ", 2),
    ("m1", 0, 0),
    ("m1", " 3 ", 3),
    ("m1", 0, 0),
    ("levels", 3, 3),
    ("levels", "3", 3),
    ("levels", " 4 ", 4),
    ("levels", 2.0, 2),
    ("levels", 1, 1),
    ("levels", 6, 6),
    ("prior", True, True),
    ("prior", False, False),
    ("prior", "yes", True),
    ("prior", "no", False),
    ("prior", "Yes", True),
    ("prior", " NO ", False),
    ("prior", "true", True),
    ("prior", "false", False),
    ("height", 180, 180.0),
    ("height", "180", 180.0),
    ("height", "172.5", 172.5),
    ("height", 100, 100.0),
    ("height", 250, 250.0),
    ("weight", "70,5", 70.5),
    ("weight", 30, 30.0),
    ("weight", 300, 300.0),
    ("regions", ["neck", "hips"], ("neck", "hips")),
    ("regions", ["hips", "neck"], ("neck", "hips")),  # in the order of the options
    ("regions", ["neck", "neck"], ("neck",)),
    ("regions", ["neck", ""], ("neck",)),
    ("regions", "shoulders", ("shoulders",)),
    ("regions", ("hips",), ("hips",)),
    ("regions", [""], MISSING),
    ("surgery_date", "2025-03-31", dt.date(2025, 3, 31)),
    ("surgery_date", " 2024-02-29 ", dt.date(2024, 2, 29)),
    ("surgery_date", dt.date(2025, 3, 31), dt.date(2025, 3, 31)),
    ("notes", "  some words  ", "some words"),
    ("notes", "\u2067right\u202eleft\u202c\u200b \ufeff", "rightleft"),  # format characters
    ("levels", " 3 ", 3),
    ("levels", "３", 3),  # full-width digits are digits after NFKC
    ("levels", "+3", 3),
    ("height", "１７０,５", 170.5),
    ("height", "170.", 170.0),
    ("notes", "x" * 50, "x" * 50),
]


@pytest.mark.parametrize(("question", "raw", "typed"), VALID_ANSWERS)
def test_normalize_valid(question, raw, typed):
    value = normalize(mini().questions[question], raw)
    assert value == typed
    assert type(value) is type(typed)


# question, raw answer, the message for the patient
BAD_ANSWERS = [
    ("surgery_type", "laser", "Please choose one of the options."),
    ("surgery_type", "FUSION", "Please choose one of the options."),
    ("surgery_type", True, "Please choose one of the options."),
    ("surgery_type", {"value": "fusion"}, "Please choose one of the options."),
    ("m1", 4, "Please choose one of the options."),
    ("m1", -1, "Please choose one of the options."),
    ("m1", 1.5, "Please choose one of the options."),
    ("m1", True, "Please choose one of the options."),  # True == 1, yet no answer of 1
    ("m1", False, "Please choose one of the options."),
    ("m1", ["1"], "Please choose one of the options."),
    ("levels", "three", "Please enter a whole number, using digits only."),
    ("levels", "2.0", "Please enter a whole number, using digits only."),
    ("levels", 2.5, "Please enter a whole number."),
    ("levels", True, "Please enter a whole number."),
    ("levels", 0, "Please enter a number between 1 and 6."),
    ("levels", 7, "Please enter a number between 1 and 6."),
    ("levels", "7", "Please enter a number between 1 and 6."),
    ("levels", float("nan"), "Please enter a whole number."),
    ("prior", "maybe", "Please answer yes or no."),
    ("prior", 2, "Please answer yes or no."),
    ("height", 99, "Please enter a height between 100 cm and 250 cm."),
    ("height", 250.5, "Please enter a height between 100 cm and 250 cm."),
    ("height", "tall", "Please enter a number, using digits only."),
    ("height", True, "Please enter a number."),
    ("height", float("inf"), "Please enter a number."),
    ("height", "nan", "Please enter a number, using digits only."),
    # Numbers read strictly: digits only (after NFKC), what int() and float() also take refused.
    *(("levels", raw, "Please enter a whole number, using digits only.")
      for raw in ["1_0", "1e0", "0x3", "١", "+-2", "9" * 5000, "3 4"]),  # fmt: skip
    *(("height", raw, "Please enter a number, using digits only.")
      for raw in ["1_70", "1.7e2", "0x10", "inf", "-inf", "١٧٠", "170.5.1", "170 cm"]),  # fmt: skip
    ("height", [180], "Please enter a number, using digits only."),
    ("weight", 29.9, "Please enter a weight between 30 kg and 300 kg."),
    ("weight", 301, "Please enter a weight between 30 kg and 300 kg."),
    ("regions", ["neck", "knees"], "Please choose one of the options."),
    ("regions", [True], "Please choose one of the options."),
    ("surgery_date", "31/03/2025", "Please enter a real date, for example 2025-03-31."),
    ("surgery_date", "2025-02-30", "Please enter a real date, for example 2025-03-31."),
    ("surgery_date", "tomorrow", "Please enter a real date, for example 2025-03-31."),
    ("surgery_date", dt.datetime(2025, 3, 31, 12, 0), "Please enter a date."),
    ("notes", "x" * 51, "Please keep this to 50 characters or fewer (now 51)."),
    ("notes", 5, "Please enter text."),
    ("notes", ["a"], "Please enter text."),
]


@pytest.mark.parametrize(("question", "raw", "message"), BAD_ANSWERS)
def test_normalize_rejects(question, raw, message):
    q = mini()
    with pytest.raises(AnswerError) as caught:
        normalize(q.questions[question], raw)
    assert str(caught.value) == message
    # and through score, as an error for that question (only: the rest is still scored)
    answers = {**EVERYTHING, question: raw}
    result = score(q, answers)
    assert result.errors == {question: message}
    assert question not in result.answers
    assert not result.complete


@pytest.mark.parametrize("blank", ["", " ", None, [], ()])
@pytest.mark.parametrize("question", ["surgery_type", "m1", "levels", "prior", "height",
                                      "regions", "surgery_date", "notes"])
def test_normalize_blank_is_missing(question, blank):
    assert normalize(mini().questions[question], blank) is MISSING


def test_a_huge_integer_for_a_number_is_an_answer_error():
    q = mini()
    with pytest.raises(AnswerError):
        normalize(q.questions["height"], 10**400)
    result = score(q, {**EVERYTHING, "weight": 10**400})
    assert "weight" in result.errors


DATES = yaml(
    """\
    id: dates
    version: 1.0.0
    title: Dates
    steps:
      - id: s1
        title: One
        questions:
          - {id: quit_date, type: date, label: "When did you stop?", max: today}
          - {id: surgery_date, type: date, label: "When is the surgery?", min: today,
             required: false}
          - {id: in_2020, type: date, label: A date in 2020, min: 2020-01-01, max: 2020-12-31,
             required: false}
          - {id: tall, type: height, label: Height with the default bounds, required: false}
          - {id: heavy, type: weight, label: Weight with the default bounds, required: false}
    tiers:
      - {id: low}
    """
)
TODAY = dt.date(2025, 6, 1)
IN_2020 = "1 January 2020 and 31 December 2020"


@pytest.mark.parametrize(
    ("question", "raw", "message"),
    [
        ("quit_date", "2025-06-01", None),
        ("quit_date", "1990-01-01", None),
        ("quit_date", "2025-06-02", "Please enter a date of at most 1 June 2025."),
        ("surgery_date", "2025-06-01", None),
        ("surgery_date", "2025-05-31", "Please enter a date of at least 1 June 2025."),
        ("in_2020", "2020-01-01", None),
        ("in_2020", "2020-12-31", None),
        ("in_2020", "2019-12-31", f"Please enter a date between {IN_2020}."),
        ("in_2020", "2021-01-01", f"Please enter a date between {IN_2020}."),
        ("tall", 30, None),
        ("tall", 300, None),
        ("tall", 29, "Please enter a height between 30 cm and 300 cm."),
        ("tall", 301, "Please enter a height between 30 cm and 300 cm."),
        ("heavy", 2, None),
        ("heavy", 700, None),
        ("heavy", 1.9, "Please enter a weight between 2 kg and 700 kg."),
        ("heavy", 700.1, "Please enter a weight between 2 kg and 700 kg."),
    ],
)
def test_bounds_with_a_given_today(question, raw, message):
    q = load_text(DATES)
    result = score(q, {"quit_date": "2000-01-01", question: raw}, today=TODAY)
    if message is None:
        assert result.errors == {}
        assert question in result.answers
        assert result.complete
    else:
        assert result.errors == {question: message}
        with pytest.raises(AnswerError, match=message):
            normalize(q.questions[question], raw, today=TODAY)


def test_today_moves_the_bound():
    q = load_text(DATES)
    assert score(q, {"quit_date": "2025-06-02"}, today=TODAY).errors
    assert not score(q, {"quit_date": "2025-06-02"}, today=TODAY + dt.timedelta(days=1)).errors
    assert not score(q, {"quit_date": dt.date.today().isoformat()}).errors


# --- missing answers make the assessment incomplete ---------------------------------------------


def test_no_answers_at_all():
    result = score(mini(), {})
    assert not result.complete
    assert result.missing == ("surgery_type", "prior", "height", "weight", "m1", "m2")
    assert result.errors == {}
    assert result.total == 0
    assert result.tier is None  # no tier for incomplete answers: not "low"
    assert result.reached_tier.id == "low"  # what the answers given reach: a lower bound
    assert result.to_json()["tier"] is None
    assert result.computed == {"bmi": MISSING}
    assert result.instruments["mood"].missing == ("m1", "m2")
    assert result.to_json()["complete"] is False


@pytest.mark.parametrize(
    ("answers", "missing"),
    [
        ({"surgery_type": "fusion"}, ("levels",)),
        ({"prior": True}, ("prior_count",)),
        ({"prior": True, "surgery_type": "fusion", "height": ""},
         ("levels", "prior_count", "height")),
        ({"weight": None}, ("weight",)),
    ],
)
def test_required_visible_questions_without_an_answer_are_missing(answers, missing):
    result = score(mini(), {**NOTHING, **answers})
    assert result.missing == missing
    assert not result.complete
    assert result.errors == {}


def test_optional_questions_are_never_missing():
    result = score(mini(), NOTHING)
    for optional in ("regions", "surgery_date", "notes"):
        assert not mini().questions[optional].required
        assert optional not in result.missing
    assert result.complete


def test_an_answer_to_an_unknown_question_is_an_error_not_a_crash():
    result = score(mini(), {**NOTHING, "shoe_size": 44})
    assert result.errors == {"shoe_size": "There is no such question in this questionnaire."}
    assert not result.complete
    assert result.total == 0


def test_score_is_deterministic_and_does_not_touch_the_answers():
    q = mini()
    answers = dict(EVERYTHING)
    first = score(q, answers).to_json()
    assert answers == EVERYTHING
    assert score(q, answers).to_json() == first


def test_bmi_is_rounded_to_one_decimal():
    result = score(mini(), {**NOTHING, "height": 175, "weight": 80})
    assert result.computed["bmi"] == 26.1
    assert math.isclose(80 / 1.75**2, 26.122, abs_tol=1e-3)


def test_max_total_without_analysis_is_the_sum_of_points():
    q = load_text(MINI.read_text(encoding="utf-8"), "mini.yaml", analyse=False)
    assert q.score_range is None
    assert q.max_points == 10
    assert score(q, EVERYTHING).max_total == 10


def test_shipped_examples_score_as_written():
    q = shipped()
    assert q.examples, "the shipped questionnaire carries its examples"
    for example in q.examples:
        result = score(q, example.answers, clinic=example.clinic)
        assert result.errors == {}, example.name
        if "total" in example.expect:
            assert result.total == example.expect["total"], example.name
        if "tier" in example.expect:  # null while the answers are incomplete
            assert (result.tier and result.tier.id) == example.expect["tier"], example.name
        if "axes" in example.expect:
            got = {a.id: a.tier and a.tier.id for a in result.axes}
            assert got == example.expect["axes"], example.name
        if "factors" in example.expect:
            assert sorted(r.id for r in result.factors) == sorted(example.expect["factors"])
        if "unknowns" in example.expect:
            assert sorted(r.id for r in result.unknowns) == sorted(example.expect["unknowns"])
        # The factors' points, less what the caps hold back (2.0.0 caps overlapping factors).
        held_back = sum(c.points - c.counted for c in result.caps)
        assert result.total == sum(r.points for r in result.factors) - held_back
        assert result.total == sum(a.points for a in result.axes)


def test_the_codec_shows_a_stored_answer_without_format_characters():
    from screening import codec

    stored = "Ann \u202eelpmaxE\u202c\u200b"
    assert codec.display(mini().questions["notes"], stored) == "Ann elpmaxE"
