"""compare(original, rescored): what differs when the same answers are scored under another
version of a questionnaire. Pure: questionnaires are variants of tests/fixtures/mini.yaml."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from screening import rescoring
from screening.commands.comparison import format_text
from screening.definition import load_text
from screening.rescoring import compare, rescore
from screening.scoring import score

MINI = Path(__file__).resolve().parent.parent / "fixtures" / "mini.yaml"
BASE = {"surgery_type": "decompression", "prior": False, "height": 180, "weight": 70,
        "m1": 0, "m2": 0}


def variant(*edits: tuple[str, str], version: str = "1.1.0"):
    """mini.yaml with each (old, new) text replaced exactly once, its version raised and its
    examples (written for 1.0.0) left out."""
    text = MINI.read_text(encoding="utf-8").split("\nexamples:", 1)[0] + "\n"
    for old, new in (("version: 1.0.0", f"version: {version}"), *edits):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return load_text(text, f"mini-{version}.yaml")


@pytest.fixture(scope="module")
def v1():
    return load_text(MINI.read_text(encoding="utf-8"), "mini.yaml")


def both(v1, v2, answers):
    original = score(v1, answers)
    assert original.complete, (original.missing, original.errors)
    return original, compare(original, rescore(v2, original))


def test_the_same_version_is_no_change(v1):
    original = score(v1, {**BASE, "surgery_type": "fusion", "levels": 3})
    c = compare(original, rescore(v1, original))
    assert c.same_definition and not c.changed
    assert (c.tier_before, c.total_before) == (c.tier_after, c.total_after)
    assert not c.factor_changes and not c.never_asked and not c.no_longer_asked
    assert format_text(c).endswith(
        "The current version (1.0.0) is the one this screening was answered under.")


def test_points_and_a_tier_boundary(v1):
    v2 = variant(("    points: 1\n    when: {question: surgery_type, equals: fusion}",
                  "    points: 2\n    when: {question: surgery_type, equals: fusion}"),
                 ("{id: low, max: 2}", "{id: low, max: 1}"))
    original, c = both(v1, v2, {**BASE, "surgery_type": "fusion", "levels": 1})
    assert c.changed and not c.same_definition
    assert (c.before.version, c.after.version) == ("1.0.0", "1.1.0")
    assert (c.tier_before.id, c.tier_after.id) == ("low", "moderate")
    assert (c.total_before, c.total_after) == (1, 2)
    assert (c.max_before, c.max_after) == (v1.max_points, v2.max_points) == (10, 11)
    [f] = c.factors_changed
    assert (f.id, f.label, f.points_before, f.points_after, f.kind) == (
        "fusion", "Fusion planned", 1, 2, "changed")
    assert c.factors_added == c.factors_removed == ()
    assert c.complete_before and c.complete_after
    text = format_text(c)
    assert "Risk tier:         Low -> Moderate  [CHANGED]" in text
    assert "Points:            1 of 10 -> 2 of 11  [CHANGED]" in text
    assert "~ Fusion planned [fusion]: 1 -> 2 points" in text
    data = c.to_json()
    assert data["tier"] == {
        "before": "low",
        "after": "moderate",
        "at_least": {"before": "low", "after": "moderate"},
    }
    assert data["total"] == {"before": 1, "after": 2}
    assert data["factors"]["changed"] == [{"id": "fusion", "label": "Fusion planned",
                                          "category": "surgery", "points_before": 1,
                                          "points_after": 2}]
    assert json.loads(json.dumps(data)) == data
    assert original.total == 1  # the original assessment is a value: nothing changed it


def test_factors_added_and_removed_with_the_same_total(v1):
    """One factor gone and another come with as many points: the result still changed."""
    v2 = variant(
        ("  - id: widespread\n    label: Pain in other regions",
         "  - id: any_prior\n    label: Earlier back surgery"),
        ("    when: {question: regions, contains: neck}",
         "    when: {question: prior, equals: true}"))
    _, c = both(v1, v2, {**BASE, "prior": True, "prior_count": 1, "regions": ["neck"]})
    assert (c.total_before, c.total_after, c.tier_before, c.tier_after) == (
        1, 1, c.tier_before, c.tier_before)
    assert [(f.id, f.label, f.points_before, f.points_after, f.kind) for f in c.factors_added] == [
        ("any_prior", "Earlier back surgery", None, 1, "added")]
    assert [(f.id, f.points_before, f.points_after, f.kind) for f in c.factors_removed] == [
        ("widespread", 1, None, "removed")]
    assert c.changed and not c.tier_changed and not c.total_changed
    text = format_text(c)
    assert "+ Earlier back surgery [any_prior]: +1 point" in text
    assert "- Pain in other regions [widespread]: was 1 point" in text
    assert "Points:            1 of 10 -> 1 of 10  [same]" in text


def test_a_new_required_question_and_a_removed_one(v1):
    v2 = variant(
        ("      - id: notes\n        type: text\n        label: Anything else?\n"
         "        required: false\n        max: 50\n",
         "      - id: smoker\n        type: yes_no\n        label: Do you smoke?\n"))
    original, c = both(v1, v2, {**BASE, "notes": "hello"})
    assert [(r.id, r.label, r.step_title, r.required) for r in c.never_asked] == [
        ("smoker", "Do you smoke?", "Your body", True)]
    assert [(r.id, r.label) for r in c.no_longer_asked] == [("notes", "Anything else?")]
    assert c.unusable_answers == ()  # a removed question is reported, not an error
    assert (c.complete_before, c.complete_after) == (True, False)
    assert (c.total_before, c.total_after) == (0, 0) and c.changed
    data = c.to_json()
    assert data["questions"]["never_asked"] == [
        {"id": "smoker", "label": "Do you smoke?", "step": "Your body", "required": True}]
    assert data["questions"]["no_longer_asked"][0]["id"] == "notes"
    text = format_text(c)
    assert "? smoker (required, Your body): Do you smoke?" in text
    assert "x notes (Your body): Anything else?" in text
    assert "Complete:          yes -> no  [CHANGED]" in text


def test_a_question_shown_under_more_answers_was_never_asked(v1):
    """`levels` was hidden for a decompression; a version that asks it there lists it as never
    answered, while questions the patient was shown and left blank are not listed."""
    v2 = variant(("        show_if: {question: surgery_type, equals: fusion}",
                  "        show_if: {question: surgery_type, in: [fusion, decompression]}"))
    _, c = both(v1, v2, BASE)  # regions, surgery_date and notes: shown, optional, left blank
    assert [r.id for r in c.never_asked] == ["levels"]
    assert c.no_longer_asked == c.no_longer_shown == ()


def test_an_answer_no_longer_shown_and_one_no_longer_usable(v1):
    v2 = variant(
        ("        label: Date of surgery\n        required: false\n",
         "        label: Date of surgery\n        required: false\n"
         "        show_if: {question: prior, equals: true}\n"),
        ("          - {value: other, label: Something else}\n", ""))
    _, c = both(v1, v2, {**BASE, "surgery_type": "other", "surgery_date": "2030-01-02"})
    assert [r.id for r in c.no_longer_shown] == ["surgery_date"]
    assert [(r.id, r.detail) for r in c.unusable_answers] == [
        ("surgery_type", "Please choose one of the options.")]
    assert c.never_asked == ()  # an unusable answer is not "never asked"
    assert c.changed and not c.complete_after
    text = format_text(c)
    assert "x surgery_date (Your body): Date of surgery" in text
    assert "! surgery_type (Your surgery): Please choose one of the options." in text


def test_red_flags_instruments_and_notes(v1):
    v2 = variant(("    when: {question: m2, equals: 3}", "    when: {question: m2, gte: 2}"),
                 ("    min_points: 2\n", "    min_points: 3\n"))
    answers = {**BASE, "m1": 1, "m2": 2}  # mood 3: low_mood applies under both (2 points)
    _, c = both(v1, v2, answers)
    assert [(f.id, f.urgency, f.title) for f in c.red_flags_added] == [
        ("low_mood_now", "same_day", "Low mood now")]
    assert c.red_flags_removed == ()
    assert (c.red_flags_before, c.red_flags_after) == ((), ("low_mood_now",))
    assert "Red flags:         none -> low_mood_now  [CHANGED]" in format_text(c)
    assert c.to_json()["red_flags"]["added"] == [
        {"id": "low_mood_now", "urgency": "same_day",
         "clinician_message": "Patient reports feeling down nearly every day."}]
    assert c.instruments_changed == ()  # mood 3, "raised" under both
    assert [a.id for a in c.domain_alerts_removed] == ["psych"]
    assert c.factor_changes == () and c.total_before == c.total_after == 2
    assert c.changed
    _, back = both(v2, v1, answers)
    assert [f.id for f in back.red_flags_removed] == ["low_mood_now"]
    assert [a.id for a in back.domain_alerts_added] == ["psych"]
    assert "Red flags removed:" in format_text(back)


def test_an_instrument_band_moves(v1):
    v2 = variant(("      - {label: minimal, max: 2}", "      - {label: minimal, max: 1}"))
    _, c = both(v1, v2, {**BASE, "m1": 1, "m2": 1})
    [i] = c.instruments_changed
    assert (i.score_before, i.band_before, i.score_after, i.band_after) == (
        2, "minimal", 2, "raised")
    assert c.to_json()["instruments"] == [{"id": "mood", "label": "Mood-2",
                                           "before": {"score": 2, "band": "minimal"},
                                           "after": {"score": 2, "band": "raised"}}]
    assert "~ Mood-2: 2 (minimal) -> 2 (raised)" in format_text(c)


def test_a_new_version_with_nothing_different_for_this_patient(v1):
    """Another version (a factor this patient does not have gains a point): no change for them,
    though the highest possible total moves."""
    v2 = variant(("    points: 3\n", "    points: 4\n"))
    _, c = both(v1, v2, BASE)
    assert not c.same_definition and not c.changed
    assert (c.max_before, c.max_after) == (10, 11)
    assert format_text(c).endswith(
        "No difference: the new version gives this screening the same result.")
    assert c.to_json()["changed"] is False


def test_date_bounds_are_judged_on_the_day_given(v1):
    """A date that was in range on the day of submission stays usable when re-scored later."""
    import datetime as dt

    v2 = variant(("        label: Date of surgery\n        required: false\n",
                  "        label: Date of surgery\n        required: false\n        min: today\n"))
    day = dt.date(2026, 1, 5)
    original = score(v1, {**BASE, "surgery_date": "2026-01-10"}, today=day)
    assert compare(original, rescore(v2, original, today=day)).unusable_answers == ()
    late = compare(original, rescore(v2, original, today=dt.date(2026, 2, 1)))
    assert [r.id for r in late.unusable_answers] == ["surgery_date"]


def test_the_module_is_pure():
    """No Flask, no database: only the language and the engine."""
    tree = ast.parse(Path(rescoring.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
    assert imported <= {"__future__", "datetime", "dataclasses", "typing", ".definition",
                        ".scoring"}, imported
