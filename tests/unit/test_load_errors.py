"""Every load error: one broken fixture each, with the exact file:line, key path and message.

`screening lint` must report each of them as a problem on stderr with exit code 1, never as a
Python traceback.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from screening.commands import main
from screening.definition import DefinitionError, Problem, load_path, load_text

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken"

# fixture, line, path (substring), message (substring)
CASES = [
    ("malformed_yaml", 10, "", "this is not valid YAML"),
    ("empty", 1, "", "the file is empty"),
    ("unknown_key_top", 4, "author", "unknown key 'author' (allowed here: id, version, title"),
    ("unknown_key_question", 11, "steps[0].questions[0].hint", "unknown key 'hint'"),
    (
        "unknown_key_condition",
        14,
        "steps[0].questions[1].show_if.equal",
        "unknown key 'equal' in a condition",
    ),
    ("missing_required_key", 9, "steps[0].questions[1]", "the required key 'label' is missing"),
    ("duplicate_key", 11, "label", "the key 'label' appears twice in this block"),
    (
        "duplicate_question_id",
        12,
        "steps[1].questions[0].id",
        "the id 'q1' is already used by question 'q1' (line 8)",
    ),
    (
        "duplicate_factor_id",
        21,
        "risk_factors[1].id",
        "the id 'f1' is already used by risk factor 'f1' (line 11)",
    ),
    ("unknown_question_type", 9, "steps[0].questions[1].type", "unknown question type 'slider'"),
    (
        "condition_missing_question",
        15,
        "risk_factors[0].when.question",
        "there is no question 'smokes'",
    ),
    (
        "condition_unknown_option",
        17,
        "steps[0].questions[1].show_if.equals",
        "question 'smoking' has no option 'daily' (its options are: never, current)",
    ),
    (
        "contains_not_multi_choice",
        17,
        "steps[0].questions[1].show_if.contains",
        "contains is only for multi_choice questions ('smoking' is choice)",
    ),
    (
        "gt_on_text",
        12,
        "steps[0].questions[1].show_if.gt",
        "'notes' is a text question: gt is only for numbers and dates",
    ),
    (
        "question_for_computed",
        13,
        "steps[0].questions[2].show_if.question",
        "there is no question 'bmi' ('bmi' is a computed value or instrument: write value: bmi)",
    ),
    ("computed_sum_missing_question", 14, "computed[0].sum[1]", "there is no question 'binges'"),
    (
        "bmi_height_not_height",
        14,
        "computed[0].bmi.height",
        "question 'tall' is not a height question",
    ),
    (
        "instrument_last_band",
        21,
        "instruments[0].bands",
        "the last band must end at the highest possible score, 6 (it ends at 5)",
    ),
    (
        "instrument_bands_order",
        23,
        "instruments[0].bands[1].max",
        "bands must be in increasing order: 2 is not above 4",
    ),
    (
        "show_if_cycle",
        8,
        "question 'a'",
        "whether it is shown depends on itself through a → b → a (a cycle in show_if)",
    ),
    ("never_shown", 22, "question 'q2'", "question 'q2' can never be shown"),
    (
        "factor_never_applies",
        10,
        "risk factor 'very_long_fusion'",
        "can never apply: no set of answers makes its 'when' true",
    ),
    (
        "red_flag_never_raised",
        16,
        "red flag 'high_fever_without_fever'",
        "can never be raised: no set of answers makes its 'when' true",
    ),
    ("tiers_overlap", 11, "tiers[1].max", "must not overlap: 3 is not above 3"),
    ("tiers_unordered", 11, "tiers[1].max", "tiers must be in increasing order"),
    ("last_tier_max", 11, "tiers[1].max", "the last tier has no max"),
    ("version_not_semver", 2, "version", "1.0 is not a semantic version like 1.0.0"),
    ("yes_as_boolean", 11, "steps[0].questions[0].required", "must be true or false, not 'yes'"),
    # 0 points is a note for discussion (it adds nothing); below 0 is refused.
    ("points_negative", 13, "risk_factors[0].points", "must be at least 0"),
    ("unknown_category", 12, "risk_factors[0].category", "unknown category 'diet'"),
    (
        "evidence_without_id",
        20,
        "risk_factors[0].evidence[0]",
        "a citation needs a doi, a pmid or a url",
    ),
    (
        "bad_doi",
        20,
        "risk_factors[0].evidence[0].doi",
        "'doi.org/10.1001/jama' is not a DOI like 10.1001/jama.2010.338",
    ),
    ("example_unknown_question", 16, "examples[0].answers.q9", "unknown key 'q9'"),
    (
        "missing_translation",
        11,
        "steps[0].questions[0].label",
        "has no translation for es: the patient may read it in any of the questionnaire's "
        "languages; write it as {en: ..., es: ...}",
    ),
    (
        "translation_incomplete",
        14,
        "steps[0].questions[0].options[1].label",
        "has no translation for: es",
    ),
    (
        "translation_unknown_language",
        7,
        "steps[0].title.fr",
        "'fr' is not one of the questionnaire's languages (en, es; see 'languages' at the top)",
    ),
    (
        "translation_of_clinician_text",
        16,
        "red_flags[0].clinician_message",
        "is read by the clinic only: write it as plain text in the clinic's language (en)",
    ),
    ("language_code_bad", 3, "languages[1]", "'Spanish' is not a language code like en, es"),
]

# Load errors that once crashed the loader instead of being reported as problems.
BUG_CASES = [
    pytest.param(
        "null_document",
        1,
        "",
        "the file is empty",
        id="null_document",
    ),
    pytest.param(
        "bmi_missing_weight",
        13,
        "computed[0].bmi",
        "the required key 'weight' is missing",
        id="bmi_missing_weight",
    ),
    pytest.param(
        "example_tier_list",
        16,
        "examples[0].expect.tier",
        "there is no tier",
        id="example_tier_list",
    ),
]

ALL_FIXTURES = {name for name, *_ in CASES} | {p.values[0] for p in BUG_CASES}


def fixture(name: str) -> Path:
    return BROKEN / f"{name}.yaml"


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        load_path(path)
    return caught.value.problems


def test_every_broken_fixture_is_in_the_table():
    assert {p.stem for p in BROKEN.glob("*.yaml")} == ALL_FIXTURES


@pytest.mark.parametrize(("name", "line", "path", "message"), [*CASES, *BUG_CASES])
def test_load_error(name, line, path, message):
    file = fixture(name)
    problems = problems_of(file)
    assert len(problems) == 1, problems
    [problem] = problems
    assert problem.file == str(file)
    assert problem.line == line
    assert path in problem.path
    if not path:
        assert problem.path == ""
    assert message in problem.message
    assert str(problem).startswith(f"{file}:{line}: ")


@pytest.mark.parametrize(("name", "line", "path", "message"), [*CASES, *BUG_CASES])
def test_lint_reports_the_load_error_without_a_traceback(name, line, path, message):
    file = fixture(name)
    # FlaskGroup sets FLASK_RUN_FROM_CLI in os.environ; the runner puts it back as it was.
    result = CliRunner(env={"FLASK_RUN_FROM_CLI": None}).invoke(main, ["lint", str(file)])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert f"{file}:{line}: " in result.stderr
    assert message in result.stderr
    assert f"{file}: 1 problem" in result.stderr
    assert result.stdout == ""


def test_lint_reports_every_broken_fixture_at_once_without_a_traceback():
    files = [str(fixture(name)) for name, *_ in CASES]
    result = CliRunner(env={"FLASK_RUN_FROM_CLI": None}).invoke(main, ["lint", *files])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for name, line, _path, message in CASES:
        assert f"{fixture(name)}:{line}: " in result.stderr, name
        assert message in result.stderr, name
        assert f"{fixture(name)}: 1 problem\n" in result.stderr, name


def test_duplicate_key_names_the_full_key_path():
    [problem] = problems_of(fixture("duplicate_key"))
    assert problem.path == "steps[0].questions[0].label"


# --- more than one problem, and files that are not there ----------------------------------------


def yaml(text: str) -> str:
    return textwrap.dedent(text)


VALID = yaml(
    """\
    id: inline
    version: 1.0.0
    title: Inline
    steps:
      - id: s1
        title: Step one
        questions:
          - {id: q1, type: yes_no, label: Question one}
    tiers:
      - {id: low, max: 1}
      - {id: high}
    """
)


def test_the_valid_skeleton_of_these_tests_loads():
    q = load_text(VALID)
    assert list(q.questions) == ["q1"]


def test_every_problem_is_reported_in_file_order():
    text = VALID.replace("version: 1.0.0", "version: one").replace(
        "{id: q1, type: yes_no, label: Question one}",
        "{id: q1, type: yes_no, label: Question one, colour: red}",
    ).replace("{id: high}", "{id: high, max: 3}")
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "inline.yaml")
    problems = caught.value.problems
    assert [(p.line, p.path) for p in problems] == [
        (2, "version"),
        (8, "steps[0].questions[0].colour"),
        (11, "tiers[1].max"),
    ]
    assert all(p.file == "inline.yaml" for p in problems)
    message = str(caught.value)
    assert message.splitlines() == [str(p) for p in problems]
    assert message.splitlines()[0] == (
        "inline.yaml:2: version: 'one' is not a semantic version like 1.0.0 (write it in quotes)"
    )


def test_a_problem_without_a_line_or_path_prints_without_them():
    assert str(Problem("f.yaml", 0, "", "no such file")) == "f.yaml: no such file"
    assert str(Problem("f.yaml", 3, "", "bad")) == "f.yaml:3: bad"
    assert str(Problem("f.yaml", 3, "a.b", "bad")) == "f.yaml:3: a.b: bad"


def test_a_missing_file_is_a_problem(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_path(path)
    assert caught.value.problems == [Problem(str(path), 0, "", "no such file")]


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID.replace("Inline", "Caf\xe9").encode("latin-1"))
    [problem] = problems_of(path)
    assert problem.line == 0
    assert problem.message.startswith("not UTF-8 text")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "the questionnaire must be a block of keys, but it is a list"),
        ("just words\n", "the questionnaire must be a block of keys, but it is 'just words'"),
        ("# only a comment\n", "the file is empty"),
        ("id: [unclosed\n", "this is not valid YAML"),
        ("id: a\n\tversion: 1.0.0\n", "this is not valid YAML"),
    ],
)
def test_other_shapes_of_a_broken_file(text, message):
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "x.yaml")
    assert caught.value.problems
    assert any(message in p.message for p in caught.value.problems), caught.value.problems


def test_yaml_12_booleans_only_true_and_false():
    """`yes`, `no`, `on`, `off` are plain words; `true` loads as a boolean."""
    text = VALID.replace("label: Question one}", "label: Question one, required: true}")
    assert load_text(text).questions["q1"].required is True
    text = VALID.replace("label: Question one}", "label: Question one, required: false}")
    assert load_text(text).questions["q1"].required is False
    for word in ("yes", "no", "on", "off", "Yes"):
        text = VALID.replace("label: Question one}", f"label: Question one, required: {word}}}")
        with pytest.raises(DefinitionError) as caught:
            load_text(text)
        [problem] = caught.value.problems
        assert problem.message == f"must be true or false, not '{word}'"
    # as an option value, yes / no stay words
    text = VALID.replace(
        "{id: q1, type: yes_no, label: Question one}",
        "{id: q1, type: choice, label: Q, options: [{value: yes, label: Y},"
        " {value: no, label: N}]}",
    )
    assert [o.value for o in load_text(text).questions["q1"].options] == ["yes", "no"]


def test_a_self_referencing_alias_is_a_problem():
    with pytest.raises(DefinitionError) as caught:
        load_text("id: &a [*a]\n", "alias.yaml")
    assert caught.value.problems


def test_a_red_flag_is_named_by_its_title_or_else_by_its_id_spelled_out():
    flags = """\
    red_flags:
      - id: low_mood_now
        when: {question: q1, equals: true}
        patient_message: Please talk to someone today.
        clinician_message: Low mood reported.
      - id: named
        title: "Low mood: today"
        when: {question: q1, equals: true}
        patient_message: Please talk to someone today.
        clinician_message: Low mood reported.
    """
    q = load_text(VALID + yaml(flags))
    assert [f.title for f in q.red_flags] == ["Low mood now", "Low mood: today"]
    with pytest.raises(DefinitionError) as caught:
        load_text(VALID + yaml(flags).replace('title: "Low mood: today"', "title: [no]"))
    assert [p.path for p in caught.value.problems] == ["red_flags[1].title"]
