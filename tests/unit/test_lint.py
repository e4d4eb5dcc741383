"""The linter: the exhaustive analysis (score range, reachable tiers) and the examples."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from screening.definition import DefinitionError, load_path, load_text
from screening.definition.conditions import references
from screening.definition.lint import LintResult, analyse, check_examples, lint
from screening.definition.model import ScoreRange

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini.yaml"
SHIPPED = ROOT / "questionnaires" / "fbss-preop.yaml"


def yaml(text: str) -> str:
    return textwrap.dedent(text)


def factor(fid: str, when: str, points: int = 1, category: str = "history") -> str:
    return (
        f"  - id: {fid}\n"
        f"    label: {fid}\n"
        f"    category: {category}\n"
        f"    points: {points}\n"
        f"    modifiable: false\n"
        f"    when: {when}\n"
        f"    patient_text: P.\n"
        f"    clinician_text: C.\n"
        f"    action: A.\n"
        f"    evidence: [{{citation: C, pmid: '1'}}]\n"
    )


def definition(questions: str, factors: str = "", tiers: str = "", extra: str = "") -> str:
    text = (
        "id: lint\nversion: 1.0.0\ntitle: Lint\nsteps:\n"
        + textwrap.indent(textwrap.dedent(questions), "  ")
    )
    if factors:
        text += "risk_factors:\n" + factors
    text += tiers or "tiers:\n  - {id: low, max: 1}\n  - {id: high}\n"
    return text + textwrap.dedent(extra)


def lint_text(text: str) -> str:
    """The summary `screening lint` prints for a definition that loads."""
    return LintResult("inline.yaml", [], load_text(text, "inline.yaml")).summary()


# --- the analysis of mini.yaml ------------------------------------------------------------------


def test_mini_analysis():
    q = load_path(MINI)
    problems, score_range = analyse(q)
    assert problems == []
    assert score_range == ScoreRange(0, 10, ("low", "moderate", "high"), True)
    assert q.score_range == score_range
    assert q.max_points == 10


def test_mini_lint_summary():
    result = lint(MINI)
    assert result.ok
    assert result.problems == []
    assert result.questionnaire is not None
    assert result.summary().splitlines() == [
        f"{MINI}: mini 1.0.0: OK",
        "  4 steps, 11 questions, 6 risk factors, 1 red flags, 1 instruments",
        "  total score: lowest 0, highest 10",
        "  tiers: low (reachable), moderate (reachable), high (reachable)",
        "  languages: en",
        "  examples: 2 checked",
    ]


def test_mini_examples_pass():
    assert check_examples(load_path(MINI)) == []


def test_lint_of_a_broken_file_returns_its_problems():
    broken = ROOT / "tests" / "fixtures" / "broken" / "tiers_overlap.yaml"
    result = lint(broken)
    assert not result.ok
    assert result.questionnaire is None
    assert [(p.line, p.path) for p in result.problems] == [(11, "tiers[1].max")]


def test_shipped_questionnaire_lints_clean():
    if not SHIPPED.exists():
        pytest.skip(f"{SHIPPED} is not written yet")
    result = lint(SHIPPED)
    assert result.problems == []
    q = result.questionnaire
    r = q.score_range
    assert r.lowest == 0
    assert r.highest <= sum(f.points for f in q.risk_factors)
    assert r.reachable_tiers == tuple(t.id for t in q.tiers)
    assert "OK" in result.summary()


# --- what the analysis finds ---------------------------------------------------------------------

TWO_GATED = """\
- id: s1
  title: One
  questions:
    - {id: q0, type: yes_no, label: Zero}
    - {id: q1, type: yes_no, label: One, show_if: {question: q0, equals: true}}
"""


def test_factors_that_exclude_each_other_through_visibility():
    # f_no needs q0 = false, f_q1 needs q1, which is only shown when q0 = true
    text = definition(
        TWO_GATED,
        factor("f_no", "{question: q0, equals: false}", 2)
        + factor("f_q1", "{question: q1, equals: true}", 3),
    )
    q = load_text(text)
    assert q.score_range == ScoreRange(0, 3, ("low", "high"), True)


def test_the_lowest_total_can_be_above_zero():
    text = definition(
        TWO_GATED,
        factor("f_answered", "{question: q0, answered: true}", 2)
        + factor("f_unanswered", "{question: q0, answered: false}", 3),
        tiers="tiers:\n  - {id: low, max: 1}\n  - {id: mid, max: 2}\n  - {id: high}\n",
    )
    q = load_text(text)
    assert (q.score_range.lowest, q.score_range.highest) == (2, 3)
    assert q.score_range.reachable_tiers == ("mid", "high")
    summary = lint_text(text)
    assert "  total score: lowest 2, highest 3" in summary
    assert "  tiers: low (NOT reachable), mid (reachable), high (reachable)" in summary


def test_an_unreachable_tier_is_reported_not_an_error():
    text = definition(
        TWO_GATED,
        factor("f", "{question: q0, equals: true}", 1),
        tiers="tiers:\n  - {id: low, max: 3}\n  - {id: high}\n",
    )
    q = load_text(text)
    assert q.score_range == ScoreRange(0, 1, ("low",), True)
    assert "high (NOT reachable)" in lint_text(text)


def test_thresholds_on_a_bmi():
    questions = """\
    - id: s1
      title: One
      questions:
        - {id: height, type: height, label: Height, min: 150, max: 200}
        - {id: weight, type: weight, label: Weight, min: 40, max: 150}
    """
    computed = "computed:\n  - {id: bmi, label: BMI, bmi: {height: height, weight: weight}}\n"
    ok = definition(
        questions,
        factor("obese", "{value: bmi, gte: 30}", 1)
        + factor("very_obese", "{value: bmi, gte: 40}", 2),
        extra=computed,
    )
    q = load_text(ok)
    assert (q.score_range.lowest, q.score_range.highest) == (0, 3)
    # 150 kg / (1.5 m)^2 = 66.7 is the highest BMI these bounds allow
    never = definition(questions, factor("impossible", "{value: bmi, gt: 67}", 1), extra=computed)
    with pytest.raises(DefinitionError) as caught:
        load_text(never)
    [problem] = caught.value.problems
    assert problem.path == "risk factor 'impossible'"
    assert "can never apply" in problem.message


def test_a_part_too_large_to_enumerate_gives_a_bound():
    options = "".join(f"      - {{value: o{i}, label: O{i}}}\n" for i in range(13))
    questions = (
        "- id: s1\n  title: One\n  questions:\n"
        "    - id: many\n      type: multi_choice\n      label: Many\n      options:\n"
        + textwrap.indent(options, "  ")
    )
    factors = "".join(factor(f"f{i}", f"{{question: many, contains: o{i}}}") for i in range(13))
    q = load_text(definition(questions, factors))
    assert q.score_range.exact is False
    assert (q.score_range.lowest, q.score_range.highest) == (0, 13)
    assert "highest 13 (a bound: some parts were too large to enumerate)" in lint_text(
        definition(questions, factors)
    )


def test_analysis_depends_on_today():
    text = definition(
        """\
        - id: s1
          title: One
          questions:
            - {id: quit_date, type: date, label: Stopped, max: today}
        """,
        factor("recent", "{question: quit_date, gte: 2030-01-01}", 1),
    )
    q = load_text(text, analyse=False)
    problems, _ = analyse(q, today=dt.date(2025, 6, 1))
    assert [p.path for p in problems] == ["risk factor 'recent'"]
    problems, score_range = analyse(q, today=dt.date(2030, 6, 1))
    assert problems == []
    assert score_range.highest == 1


def test_a_question_shown_in_a_consistent_case_is_fine():
    # like the never_shown fixture, but q2's step is shown when q0 = a, where q1 is shown too
    text = definition(
        """\
        - id: s1
          title: One
          questions:
            - id: q0
              type: choice
              label: Zero
              options: [{value: a, label: A}, {value: b, label: B}]
            - {id: q1, type: yes_no, label: One, show_if: {question: q0, equals: a}}
        - id: s2
          title: Two
          show_if: {question: q0, equals: a}
          questions:
            - {id: q2, type: yes_no, label: Two, show_if: {question: q1, answered: true}}
        """
    )
    assert "q2" in load_text(text).questions


def test_a_transitively_impossible_question_is_found():
    text = definition(
        """\
        - id: s1
          title: One
          questions:
            - {id: q0, type: yes_no, label: Zero}
            - {id: q1, type: yes_no, label: One, show_if: {question: q0, equals: true}}
            - {id: q2, type: yes_no, label: Two, show_if: {question: q1, equals: true}}
            - id: q3
              type: yes_no
              label: Three
              show_if:
                all:
                  - {question: q2, answered: true}
                  - {question: q0, equals: false}
        """
    )
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "t.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.path) == (11, "question 'q3'")
    assert "question 'q3' can never be shown" in problem.message


def test_a_step_that_hangs_on_its_own_question_is_a_cycle():
    text = definition(
        """\
        - id: s1
          title: One
          show_if: {question: q1, equals: true}
          questions:
            - {id: q1, type: yes_no, label: One}
        """
    )
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "t.yaml")
    [problem] = caught.value.problems
    assert problem.path == "question 'q1'"
    assert problem.message == "whether it is shown depends on itself (a cycle in show_if)"


# --- examples -----------------------------------------------------------------------------------


EXAMPLES = definition(
    TWO_GATED,
    factor("f_q0", "{question: q0, equals: true}", 1)
    + factor("f_q1", "{question: q1, equals: true}", 2),
    extra="""\
    red_flags:
      - id: flag
        when: {question: q1, equals: true}
        patient_message: P.
        clinician_message: C.
    examples:
      - name: both
        answers: {q0: true, q1: true}
        expect: {total: 3, tier: high, factors: [f_q1, f_q0], red_flags: [flag], complete: true}
    """,
)


def test_examples_that_match():
    assert check_examples(load_text(EXAMPLES)) == []


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("{total: 2}", "expected total 2, but the rules give 3"),
        ("{tier: low}", "expected tier low, but the rules give high"),
        ("{factors: [f_q0]}", "expected factors ['f_q0'], but the rules give ['f_q0', 'f_q1']"),
        ("{red_flags: []}", "expected red flags [], but the rules give ['flag']"),
        ("{complete: false}", "expected complete False, but the rules give True (nothing missing)"),
    ],
)
def test_an_example_that_scores_differently(expect, message):
    text = EXAMPLES.replace(
        "expect: {total: 3, tier: high, factors: [f_q1, f_q0], red_flags: [flag], complete: true}",
        f"expect: {expect}",
    )
    q = load_text(text, "inline.yaml")
    [problem] = check_examples(q)
    assert problem.file == "inline.yaml"
    assert problem.line == q.examples[0].line
    assert problem.path == "examples 'both'"
    assert problem.message == message


def test_an_incomplete_example_names_what_is_missing():
    text = EXAMPLES.replace("answers: {q0: true, q1: true}", "answers: {q0: true}")
    assert [p.message for p in check_examples(load_text(text))] == [
        "expected total 3, but the rules give 1",
        "expected tier high, but the rules give None",
        "expected complete True, but the rules give False (q1)",
        "expected factors ['f_q0', 'f_q1'], but the rules give ['f_q0']",
        "expected red flags ['flag'], but the rules give []",
    ]


def test_an_example_whose_answer_cannot_be_used():
    text = EXAMPLES.replace("answers: {q0: true, q1: true}", "answers: {q0: true, q1: perhaps}")
    problems = check_examples(load_text(text))
    assert any(
        p.message == "the answer to 'q1' cannot be used: Please answer yes or no." for p in problems
    )


def test_lint_runs_the_examples(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(EXAMPLES.replace("total: 3", "total: 4"), encoding="utf-8")
    result = lint(path)
    assert not result.ok
    assert result.questionnaire is not None
    assert [str(p) for p in result.problems] == [
        f"{path}:{result.questionnaire.examples[0].line}: examples 'both': "
        "expected total 4, but the rules give 3"
    ]


def test_every_modifiable_factor_of_the_shipped_questionnaire_speaks_to_the_patient():
    """The patient sees modifiable factors with patient_text and patient_action, never `action`."""
    from screening.definition import load_path

    shipped = load_path(Path(__file__).resolve().parents[2] / "questionnaires" / "fbss-preop.yaml")
    modifiable = [f for f in shipped.risk_factors if f.modifiable]
    assert modifiable
    missing = [f.id for f in modifiable if not f.patient_action]
    assert missing == []
    for factor in modifiable:
        assert factor.patient_action != factor.action


def test_the_analysis_and_the_engine_share_the_height_and_weight_bounds():
    """The analysis enumerates the heights and weights the engine accepts: one source for both."""
    from screening.definition.model import DEFAULT_BOUNDS
    from screening.scoring import DEFAULT_BOUNDS as ENGINE_BOUNDS

    assert ENGINE_BOUNDS == DEFAULT_BOUNDS == {"height": (30.0, 300.0), "weight": (2.0, 700.0)}


# --- warnings: red flags on questions that can be hidden ------------------------------------------

HIDEABLE = definition(
    """\
    - id: s1
      title: One
      questions:
        - {id: low_mood, type: yes_no, label: Low mood}
        - id: follow_up
          type: yes_no
          label: Follow-up
          show_if: {question: low_mood, equals: true}
        - {id: drinks, type: integer, label: Drinks, min: 0, max: 20}
    - id: s2
      title: Two
      show_if: {question: low_mood, equals: true}
      questions:
        - {id: later, type: integer, label: Later, min: 0, max: 20}
        - {id: both, type: yes_no, label: Both, show_if: {question: later, gt: 0}}
    """,
    extra="""\
    computed:
      - {id: drinks_and_more, label: Drinks, sum: [drinks, later]}
    red_flags:
      - id: urgent
        urgency: emergency
        when:
          any:
            - {question: follow_up, equals: true}
            - {question: both, equals: true}
        patient_message: P.
        clinician_message: C.
      - id: heavy
        urgency: review
        when: {value: drinks_and_more, gte: 10}
        patient_message: P.
        clinician_message: C.
      - id: plain
        when: {question: low_mood, equals: true}
        patient_message: P.
        clinician_message: C.
      - id: requires_what_shows_it
        when:
          all:
            - {question: low_mood, equals: true}
            - {question: follow_up, equals: true}
        patient_message: P.
        clinician_message: C.
      - id: requires_the_step_not_the_question
        when:
          all:
            - {question: low_mood, equals: true}
            - {question: both, equals: true}
        patient_message: P.
        clinician_message: C.
    """,
)


def cli_lint(path: Path):
    from click.testing import CliRunner

    from screening.commands import main

    return CliRunner(env={"FLASK_RUN_FROM_CLI": None}).invoke(main, ["lint", str(path)])


def test_a_red_flag_on_a_question_that_can_be_hidden_is_a_warning(tmp_path):
    path = tmp_path / "hideable.yaml"
    path.write_text(HIDEABLE, encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    urgent = lines.index("  - id: urgent") + 1
    heavy = lines.index("  - id: heavy") + 1
    step_only = lines.index("  - id: requires_the_step_not_the_question") + 1
    expected = [
        f"{path}:{urgent}: red flag 'urgent': its question 'both' can be hidden "
        "(by its show_if and the show_if of its step 's2')",
        f"{path}:{urgent}: red flag 'urgent': its question 'follow_up' can be hidden "
        "(by its show_if)",
        # a computed value reads its inputs: 'drinks' is always shown, 'later' is not
        f"{path}:{heavy}: red flag 'heavy': its question 'later' can be hidden "
        "(by the show_if of its step 's2')",
        # the flag requires low_mood, which shows step s2, but not later > 0, which shows 'both';
        # `requires_what_shows_it` requires what shows 'follow_up': no warning
        f"{path}:{step_only}: red flag 'requires_the_step_not_the_question': its question 'both' "
        "can be hidden (by its show_if)",
    ]
    result = lint(path)
    assert result.ok and result.problems == []
    assert [str(w) for w in result.warnings] == expected
    assert result.summary().splitlines()[-4:] == expected  # after the summary

    ran = cli_lint(path)
    assert ran.exit_code == 0, ran.output  # a warning never fails the lint
    assert ran.stderr == ""
    out = ran.stdout.splitlines()
    assert out[0] == f"{path}: lint 1.0.0: OK"
    assert out[-4:] == expected


def test_red_flags_on_questions_always_shown_give_no_warning(tmp_path):
    path = tmp_path / "shown.yaml"
    path.write_text(EXAMPLES.replace("    when: {question: q1, equals: true}\n    patient_message",
                                     "    when: {question: q0, equals: true}\n    patient_message"),
                    encoding="utf-8")
    q = load_path(path)
    assert [f.reads for f in q.red_flags] == [("q0",)]
    result = lint(path)
    assert result.warnings == []
    ran = cli_lint(path)
    assert ran.exit_code == 0, ran.output
    assert ran.stdout == result.summary() + "\n"
    assert "can be hidden" not in ran.stdout


def test_the_shipped_questionnaire_warns_only_about_intended_follow_ups():
    """Each warning of fbss-preop.yaml is a follow-up question asked after a first answer; the
    self-harm follow-ups give none, as both self-harm flags require what shows them."""
    result = lint(SHIPPED)
    assert result.ok
    hidden = {(w.path, w.message.split("'")[1]) for w in result.warnings}
    assert hidden == {
        ("red flag 'myelopathy'", "clumsy_hands"),
        ("red flag 'myelopathy'", "unsteady_walking"),
        ("red flag 'infection_warning'", "injected_drugs"),
        ("red flag 'alcohol_withdrawal_review'", "audit_c_2"),
        ("red flag 'alcohol_withdrawal_review'", "audit_c_3"),
    }
    # The self-harm follow-ups hang on PHQ-9 item 9 alone, so no later answer can hide them.
    q = result.questionnaire
    for qid in ("suicide_wish_dead", "suicide_thoughts", "suicide_method", "suicide_intent",
                "suicide_plan", "suicide_behaviour"):
        question = q.questions[qid]
        assert question.step_id == "mood" and q.step_by_id["mood"].show_if is None
        assert question.show_if == q.questions["suicide_wish_dead"].show_if
        assert {ref for _, ref in references(question.show_if)} == {"phq9_9"}


def test_lint_refuses_an_unknown_urgency_with_file_and_line(tmp_path):
    path = tmp_path / "soon.yaml"
    path.write_text(EXAMPLES.replace("  - id: flag\n", "  - id: flag\n    urgency: soon\n"),
                    encoding="utf-8")
    line = path.read_text(encoding="utf-8").splitlines().index("    urgency: soon") + 1
    ran = cli_lint(path)
    assert ran.exit_code == 1
    assert ran.stdout == ""
    errors = ran.stderr.splitlines()
    assert errors[0] == (
        f"{path}:{line}: red_flags[0].urgency: unknown urgency 'soon' "
        "(use one of: emergency, same_day, review)"
    )
    # Told once: the example that expects the flag does not also say there is no such flag.
    assert errors[1:] == [f"{path}: 1 problem"]
