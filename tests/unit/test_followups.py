"""Follow-up after surgery in the questionnaire language: a pre-operative questionnaire's
`followups` (schema, builder, the model's dates), a follow-up's `baseline` and `outcome` (what
they may read), and what `screening lint` checks across the two files."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from screening.definition import DefinitionError, load_path, load_text
from screening.definition import model as m
from screening.definition.lint import lint

ROOT = Path(__file__).resolve().parents[2]
PREOP = ROOT / "questionnaires" / "fbss-preop.yaml"
FOLLOWUP = ROOT / "questionnaires" / "fbss-followup.yaml"


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "f.yaml")
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


PREOP_TEXT = """\
id: preop
version: 1.0.0
title: Before
steps:
  - id: s
    title: S
    questions:
      - {id: pain, type: integer, label: Pain, min: 0, max: 10}
      - {id: note, type: text, label: Note, required: false}
      - id: level
        type: choice
        label: Level
        options: [{value: 0, label: None}, {value: 2, label: Some}]
computed:
  - {id: pain_sum, label: Pain sum, sum: [pain, level]}
tiers:
  - {id: low}
"""


def followups(entries: str) -> str:
    return PREOP_TEXT + "followups:\n" + textwrap.indent(textwrap.dedent(entries), "  ")


ONE = """\
- id: {id}
  questionnaire: {file}
  after_surgery: {after}
  remind_after: {remind}
  expires_after: {expires}
  label: {id}
"""


def entry(fid: str, after: str, remind: str = "{days: 7}", expires: str = "{days: 14}",
          file: str = "followup.yaml", more: str = "") -> str:
    text = ONE.format(id=fid, file=file, after=after, remind=remind, expires=expires)
    return text + textwrap.indent(textwrap.dedent(more), "  ")


FOLLOWUP_TEXT = """\
id: followup
version: 1.0.0
title: After
steps:
  - id: s
    title: S
    questions:
      - {id: pain, type: integer, label: Pain, min: 0, max: 10}
      - {id: again, type: yes_no, label: Another operation?}
      - id: sure
        type: choice
        label: Healed?
        required: false
        options: [{value: yes, label: Yes}, {value: not_sure, label: Not sure, unknown: true}]
baseline:
  questionnaire: preop
  values: [pain, pain_sum]
outcome:
  id: poor
  label: Poor
  description: Another operation, or pain 5 or more without improving by a third.
  values:
    - {id: change, label: Change, change: {from: baseline.pain, to: pain}}
    - {id: percent, label: Percent, percent_change: {from: baseline.pain, to: pain}}
  criteria:
    - {id: reoperation, label: Another operation, when: {question: again, equals: true}}
    - id: pain
      label: Pain without improvement
      when: {all: [{question: pain, gte: 5}, {value: percent, gt: -33}]}
  evidence: [{citation: C, pmid: '1'}]
"""


# --- the shipped files ---------------------------------------------------------------------------


def test_the_shipped_questionnaire_follows_up_at_6_weeks_3_and_12_months():
    q = load_path(PREOP)
    assert [(f.id, f.questionnaire, f.after_surgery.text, f.outcome) for f in q.followups] == [
        ("week_6", "fbss-followup.yaml", "6 weeks", False),
        ("month_3", "fbss-followup.yaml", "3 months", False),
        ("month_12", "fbss-followup.yaml", "12 months", True),
    ]
    surgery = dt.date(2026, 11, 30)
    week_6, month_3, month_12 = q.followups
    assert week_6.due(surgery) == dt.date(2027, 1, 11)
    assert week_6.reminder(surgery) == dt.date(2027, 1, 18)
    assert week_6.expires(surgery) == dt.date(2027, 2, 8)
    assert month_3.due(surgery) == dt.date(2027, 2, 28)  # no 30 February: its last day
    assert month_12.due(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    # Each link has expired before the next is due, whatever the day of surgery.
    for before, after in zip(q.followups, q.followups[1:], strict=False):
        for day in (dt.date(2026, 1, 31), dt.date(2027, 11, 30), dt.date(2028, 2, 29)):
            assert before.expires(day) < after.due(day)
    es = q.localized("es").followups
    assert [f.label for f in es] == [
        "6 semanas después de su cirugía",
        "3 meses después de su cirugía",
        "12 meses después de su cirugía",
    ]
    assert q.followups[0].label == "6 weeks after your surgery"


def test_both_shipped_files_lint_clean():
    preop, followup = lint(PREOP), lint(FOLLOWUP)
    assert preop.problems == [] and followup.problems == []
    assert (
        "  follow-up 'month_12': fbss-followup.yaml, 12 months after surgery (reminder after "
        "7 days, expires after 42 days), scored for its outcome" in preop.summary().splitlines()
    )
    assert followup.summary().splitlines()[:4] == [
        f"{FOLLOWUP}: fbss-followup 1.0.0: OK",
        "  2 steps, 9 questions, 0 red flags, 1 instruments",
        "  baseline: fbss-preop (peg, back_pain, leg_pain)",
        "  outcome 'poor_outcome': Poor outcome: another spine operation, or persistent pain "
        "without important improvement; met when any of: reoperation, persistent_pain",
    ]


def test_the_follow_up_repeats_the_baseline_items_as_they_were_asked():
    """Same ids, wording (both languages), options, codes and PEG instrument as fbss-preop."""
    preop, followup = load_path(PREOP), load_path(FOLLOWUP)
    for qid in ("peg_1", "peg_2", "peg_3", "back_pain", "leg_pain"):
        before, after = preop.questions[qid], followup.questions[qid]
        assert (after.type, after.label, after.help, after.options, after.code, after.min,
                after.max) == (before.type, before.label, before.help, before.options,
                               before.code, before.min, before.max), qid
        for lang in ("es",):
            assert followup.localized(lang).questions[qid].label == (
                preop.localized(lang).questions[qid].label
            )
    peg_before, peg_after = preop.instrument_by_id["peg"], followup.instrument_by_id["peg"]
    assert peg_after == peg_before
    assert followup.notices == preop.notices
    assert set(followup.baseline.values) <= set(m.numeric_values(preop))


def test_the_pgic_is_the_standard_seven_point_scale():
    q = load_path(FOLLOWUP)
    pgic = q.questions["pgic"]
    assert [(o.value, o.label) for o in pgic.options] == [
        (1, "Very much improved"),
        (2, "Much improved"),
        (3, "Minimally improved"),
        (4, "No change"),
        (5, "Minimally worse"),
        (6, "Much worse"),
        (7, "Very much worse"),
    ]


def test_a_follow_up_has_no_tiers_and_scores_no_tier():
    from screening.scoring import score

    q = load_path(FOLLOWUP)
    assert q.tiers == () and q.risk_factors == () and q.outcome is not None
    result = score(q, q.examples[0].answers)
    assert result.complete and result.tier is None and result.to_json()["tier"] is None


# --- offsets ------------------------------------------------------------------------------------


def test_offsets_in_days_weeks_and_calendar_months():
    assert m.Offset(10, "days").days == (10, 10)
    assert m.Offset(6, "weeks").days == (42, 42)
    assert m.Offset(1, "months").days == (28, 31)
    assert m.Offset(12, "months").days == (365, 366)
    assert m.Offset(1, "months").after(dt.date(2027, 1, 31)) == dt.date(2027, 2, 28)
    assert m.Offset(1, "months").after(dt.date(2028, 1, 31)) == dt.date(2028, 2, 29)
    assert m.Offset(13, "months").after(dt.date(2026, 12, 15)) == dt.date(2028, 1, 15)
    assert (m.Offset(1, "weeks").text, m.Offset(2, "months").text) == ("1 week", "2 months")


# --- followups: the schema and the builder --------------------------------------------------


def test_followups_load():
    q = load_text(followups(entry("early", "{weeks: 2}") + entry("late", "{months: 6}",
                                                                  more="outcome: true\n")))
    assert [(f.id, f.after_surgery, f.outcome) for f in q.followups] == [
        ("early", m.Offset(2, "weeks"), False),
        ("late", m.Offset(6, "months"), True),
    ]


def test_followups_must_be_in_order_of_time():
    found = problems_of(followups(entry("a", "{months: 3}") + entry("b", "{weeks: 12}")))
    assert found == [
        "followups[1].after_surgery: follow-ups are listed in order of time after surgery: "
        "12 weeks is not later than 3 months ('a')"
    ]


def test_a_month_is_not_surely_later_than_a_number_of_days_it_can_equal():
    found = problems_of(followups(entry("a", "{days: 28}", "{days: 1}", "{days: 2}")
                                  + entry("b", "{months: 1}")))
    assert found == [
        "followups[1].after_surgery: follow-ups are listed in order of time after surgery: "
        "1 month is not later than 28 days ('a')"
    ]


def test_two_followups_are_never_open_at_once():
    found = problems_of(followups(entry("a", "{weeks: 6}", expires="{weeks: 8}")
                                  + entry("b", "{months: 3}")))
    assert found == [
        "followups[0].expires_after: 'a' would still be open when 'b' is due (3 months after "
        "surgery): a patient would have two follow-ups open at once; let its link expire sooner"
    ]


def test_the_reminder_comes_before_the_link_expires():
    found = problems_of(followups(entry("a", "{weeks: 6}", "{weeks: 2}", "{days: 14}")))
    assert found == [
        "followups[0].remind_after: the reminder (2 weeks after it is sent) must come before its "
        "link expires (14 days after it is sent)"
    ]


def test_one_followup_at_most_is_scored_for_the_outcome():
    text = followups(entry("a", "{weeks: 6}", more="outcome: true\n")
                     + entry("b", "{months: 6}", more="outcome: true\n"))
    assert problems_of(text) == [
        "followups[1].outcome: only one follow-up is scored for the outcome (followups[0] is)"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("after_surgery: {weeks: 6, days: 2}",
         "followups[0].after_surgery: give one of days, weeks or months, e.g. {weeks: 6}"),
        ("after_surgery: {}",
         "followups[0].after_surgery: give one of days, weeks or months, e.g. {weeks: 6}"),
        ("after_surgery: {years: 1}",
         "followups[0].after_surgery.years: unknown key 'years' (allowed here: days, weeks, "
         "months)"),
        ("after_surgery: {weeks: 0}", "followups[0].after_surgery.weeks: must be at least 1"),
        ("questionnaire: ../other/followup.yaml",
         "followups[0].questionnaire: '../other/followup.yaml' is not the name of a YAML file "
         "beside this one, like fbss-followup.yaml"),
        ("questionnaire: followup.json",
         "followups[0].questionnaire: 'followup.json' is not the name of a YAML file beside "
         "this one, like fbss-followup.yaml"),
    ],
)
def test_a_followup_of_the_wrong_shape(change, expected):
    key = change.split(":")[0]
    lines = [
        line for line in entry("a", "{weeks: 6}").splitlines() if line[2:].split(":")[0] != key
    ]
    text = followups("\n".join([*lines, f"  {change}"]) + "\n")
    assert problems_of(text) == [expected]


def test_a_followup_label_is_a_patient_text_in_every_language():
    text = followups(entry("a", "{weeks: 6}"))
    found = problems_of(text.replace("id: preop", "id: preop\nlanguages: [en, es]"))
    assert (
        "followups[0].label: has no translation for es: the patient may read it in any of the "
        "questionnaire's languages; write it as {en: ..., es: ...}"
    ) in found


def test_a_follow_up_questionnaire_sends_no_followups():
    text = FOLLOWUP_TEXT + "followups:\n" + textwrap.indent(entry("a", "{weeks: 6}"), "  ")
    assert problems_of(text) == [
        "followups: a follow-up questionnaire (it states an outcome) sends no follow-ups of its "
        "own: the pre-operative questionnaire lists them all"
    ]


# --- a follow-up's baseline and outcome ---------------------------------------------------------


def test_a_follow_up_loads_without_tiers():
    q = load_text(FOLLOWUP_TEXT)
    assert q.baseline == m.Baseline("preop", ("pain", "pain_sum"))
    assert [v.inputs for v in q.outcome.values] == [("baseline.pain", "pain")] * 2
    assert [c.id for c in q.outcome.criteria] == ["reoperation", "pain"]
    assert q.tiers == ()


def test_without_an_outcome_the_tiers_are_required():
    text = FOLLOWUP_TEXT.split("baseline:")[0]
    assert problems_of(text) == [": the required key 'tiers' is missing"]


def test_risk_factors_need_tiers():
    text = FOLLOWUP_TEXT + (
        "risk_factors:\n  - {id: f, label: F, category: history, points: 1, modifiable: false, "
        "when: {question: again, equals: true}, patient_text: P, clinician_text: C, action: A, "
        "evidence: [{citation: C, pmid: '1'}]}\n"
    )
    assert problems_of(text) == [
        "risk_factors: risk factors are scored into tiers: give the `tiers`"
    ]


def test_a_baseline_needs_an_outcome():
    text = FOLLOWUP_TEXT.split("outcome:")[0] + "tiers: [{id: low}]\n"
    assert problems_of(text) == [
        "baseline: a baseline is read only by an outcome: state the `outcome`, or remove this"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "from: baseline.pain, to: pain}}\n    - {id: percent",
            "from: baseline.pian, to: pain}}\n    - {id: percent",
            "outcome.values[0].change.from: 'pian' is not one of the baseline values (pain, "
            "pain_sum): add it to baseline.values",
        ),
        (
            "change: {from: baseline.pain, to: pain}}",
            "change: {from: baseline.pain, to: percent}}",
            "outcome.values[0].change.to: 'percent' is an outcome value made later: a value "
            "reads only earlier ones",
        ),
        (
            "change: {from: baseline.pain, to: pain}}",
            "change: {from: baseline.pain, to: again}}",
            "outcome.values[0].change.to: question 'again' cannot be compared: it must be an "
            "integer or number question, or a choice whose option values are all whole numbers",
        ),
        (
            "change: {from: baseline.pain, to: pain}}",
            "change: {from: baseline.pain, to: pains}}",
            "outcome.values[0].change.to: there is no question, computed value, instrument or "
            "earlier outcome value 'pains' (a pre-operative value is written baseline.ID)",
        ),
        (
            "{value: percent, gt: -33}",
            "{value: baseline.level, gt: 1}",
            "outcome.criteria[1].when.all[1].value: there is no computed value or instrument "
            "'baseline.level' (the baseline values are pain, pain_sum: add it there)",
        ),
        (
            "{value: percent, gt: -33}",
            "{value: percent, equals: high}",
            "outcome.criteria[1].when.all[1].equals: 'percent' holds a number: 'high' is not a "
            "number",
        ),
        (
            "values: [pain, pain_sum]",
            "values: [pain, pain]",
            "baseline.values[1]: the value 'pain' is listed twice",
        ),
    ],
)
def test_what_an_outcome_may_read(old, new, expected):
    assert old in FOLLOWUP_TEXT
    found = problems_of(FOLLOWUP_TEXT.replace(old, new))
    assert expected in found, found


def test_baseline_values_are_read_only_by_the_outcome():
    text = FOLLOWUP_TEXT.replace(
        "label: Another operation?}",
        "label: Another operation?, show_if: {value: baseline.pain, gt: 3}}",
    )
    assert problems_of(text) == [
        "steps[0].questions[1].show_if.value: there is no computed value or instrument "
        "'baseline.pain' (a value of the pre-operative screening, baseline.ID, is read only by a "
        "follow-up's outcome: its criteria and values)"
    ]


def test_outcome_values_are_read_only_by_its_criteria():
    text = FOLLOWUP_TEXT.replace(
        "label: Another operation?}",
        "label: Another operation?, show_if: {value: change, gt: 3}}",
    )
    assert problems_of(text) == [
        "steps[0].questions[1].show_if.value: there is no computed value or instrument 'change' "
        "(it is a value of the outcome: only the outcome's criteria read it)"
    ]


def test_an_outcome_value_names_one_kind():
    text = FOLLOWUP_TEXT.replace(
        "- {id: change, label: Change, change: {from: baseline.pain, to: pain}}",
        "- {id: change, label: Change}",
    )
    assert problems_of(text) == [
        "outcome.values[0]: give exactly one of 'change' or 'percent_change'"
    ]


# --- examples of a follow-up ----------------------------------------------------------------------


def example(answers: str, expect: str, baseline: str = "") -> str:
    lines = f"  - name: e\n    answers: {answers}\n    expect: {expect}\n"
    return lines + (f"    baseline: {baseline}\n" if baseline else "")


def test_examples_name_declared_baseline_values_and_criteria():
    text = FOLLOWUP_TEXT + "examples:\n" + example(
        "{pain: 2, again: false}", "{outcome: false, criteria: [pains]}", "{pain: 3, peg: 4}"
    )
    assert sorted(problems_of(text)) == [
        "examples[0].baseline.peg: 'peg' is not a baseline value (allowed here: pain, pain_sum)",
        "examples[0].expect.criteria[0]: there is no criterion 'pains'",
    ]


def test_a_questionnaire_without_an_outcome_expects_none():
    text = PREOP_TEXT + "examples:\n" + example("{pain: 2}", "{outcome: false}")
    assert problems_of(text) == [
        "examples[0].expect.outcome: the questionnaire states no outcome (a follow-up's `outcome`)"
    ]
    text = PREOP_TEXT + "examples:\n" + example("{pain: 2}", "{complete: true}", "{pain: 2}")
    assert problems_of(text) == [
        "examples[0].baseline.pain: 'pain' is not a baseline value (allowed here: none: the "
        "questionnaire declares no baseline)"
    ]


def test_lint_runs_the_outcome_examples(tmp_path):
    good = example("{pain: 6, again: false}", "{outcome: true, criteria: [pain]}", "{pain: 7}")
    wrong = example("{pain: 6, again: false}", "{outcome: false, criteria: []}", "{pain: 7}")
    unknown = example("{pain: 6, again: false}", "{outcome: null}")
    path = tmp_path / "followup.yaml"
    path.write_text(FOLLOWUP_TEXT + "examples:\n" + good + wrong + unknown, encoding="utf-8")
    result = lint(path)
    assert [p.message for p in result.problems] == [
        "expected outcome False, but the rules give True (met: Pain without improvement: pain 6, "
        "percent -14.3)",
        "expected criteria met [], but the rules give ['pain']",
    ]


# --- lint across the two files ------------------------------------------------------------------


def lint_pair(tmp_path: Path, followup: str, preop_entries: str = "") -> list[str]:
    (tmp_path / "followup.yaml").write_text(followup, encoding="utf-8")
    entries = preop_entries or entry("a", "{weeks: 6}") + entry(
        "b", "{months: 12}", more="outcome: true\n"
    )
    (tmp_path / "preop.yaml").write_text(followups(entries), encoding="utf-8")
    result = lint(tmp_path / "preop.yaml")
    return [f"{p.path}: {p.message}" for p in result.problems]


def test_a_pair_that_fits_lints_clean(tmp_path):
    assert lint_pair(tmp_path, FOLLOWUP_TEXT) == []


def test_a_followup_naming_a_missing_file(tmp_path):
    entries = entry("a", "{weeks: 6}", file="folowup.yaml")
    assert lint_pair(tmp_path, FOLLOWUP_TEXT, entries) == [
        f"followups[0].questionnaire: there is no file 'folowup.yaml' beside this one "
        f"({tmp_path})"
    ]


def test_a_followup_naming_a_file_that_does_not_load(tmp_path):
    broken = FOLLOWUP_TEXT.replace("type: yes_no", "type: yes_or_no")
    assert lint_pair(tmp_path, broken) == [
        "followups[0].questionnaire: 'followup.yaml' cannot be loaded (1 problems; `screening "
        f"lint {tmp_path / 'followup.yaml'}` lists them)",
        "followups[1].questionnaire: 'followup.yaml' cannot be loaded (1 problems; `screening "
        f"lint {tmp_path / 'followup.yaml'}` lists them)",
    ]


def test_a_follow_up_of_another_questionnaire(tmp_path):
    other = FOLLOWUP_TEXT.replace("questionnaire: preop", "questionnaire: spine-preop")
    found = lint_pair(tmp_path, other, entry("a", "{weeks: 6}"))
    assert found == [
        "followups[0].questionnaire: 'followup.yaml' follows the questionnaire 'spine-preop' "
        "(its baseline.questionnaire), not this one ('preop')"
    ]


def test_a_baseline_value_the_pre_operative_questionnaire_does_not_compute(tmp_path):
    text = FOLLOWUP_TEXT.replace("values: [pain, pain_sum]", "values: [pain, peg, note]")
    assert lint_pair(tmp_path, text, entry("a", "{weeks: 6}")) == [
        "followups[0].questionnaire: 'followup.yaml' reads the baseline value 'peg', which this "
        "questionnaire does not compute: preop 1.0.0 has no question, computed value or "
        "instrument 'peg'",
        "followups[0].questionnaire: 'followup.yaml' reads the baseline value 'note', which this "
        "questionnaire does not compute: 'note' is a text question, not a number",
    ]


def test_the_outcome_followup_names_a_file_with_an_outcome(tmp_path):
    plain = FOLLOWUP_TEXT.split("baseline:")[0] + "tiers: [{id: low}]\n"
    found = lint_pair(tmp_path, plain, entry("a", "{weeks: 6}", more="outcome: true\n"))
    assert found == ["followups[0].outcome: 'followup.yaml' states no outcome to score"]


def test_the_command_line_lints_the_pair(tmp_path):
    from click.testing import CliRunner

    from screening.commands import main

    text = FOLLOWUP_TEXT.replace("values: [pain, pain_sum]", "values: [pain, peg]")
    lint_pair(tmp_path, text)
    result = CliRunner().invoke(main, ["lint", str(tmp_path / "preop.yaml")])
    assert result.exit_code == 1
    assert "preop.yaml" in result.output and "reads the baseline value 'peg'" in result.output
