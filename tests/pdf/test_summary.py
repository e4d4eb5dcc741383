"""The clinician's summary and the patient's copy, read back from real PDFs.

Expected numbers come from `score()` (and, where the brief names them, from the examples of
questionnaires/fbss-preop.yaml); expected words from the YAML, never from the templates.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from screening.codec import display as display_answer
from screening.definition import load_text
from screening.definition import model as m
from screening.domain import documents
from screening.report.render import render_summary
from screening.scoring import score
from tests.conftest import make_app

from . import (
    CLINIC,
    GENERATED_AT,
    all_answers_page,
    body_lines,
    body_text,
    nospace,
    page_texts,
    points,
    reader,
    section,
    squash,
    words,
)
from .conftest import INFO, SETTINGS

EXAMPLE_KEYS = ["low", "moderate", "high", "self_harm"]
PAGES_DIR = Path("/tmp/pdf-pages")


DETAIL_HEADINGS = ("Red flags in detail", "Risk factors in detail", "Unknown, to verify",
                   "Where the clinic's entries differ", "Questionnaires item by item",
                   "All answers")  # fmt: skip


def heading_section(pages: list[str], heading: str) -> str:
    """The text under a heading of the detail (a line of its own; page 1 names the headings in
    its sentences too) up to the next heading, squashed."""
    lines = [line for page in pages for line in body_lines(page)]
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i] in DETAIL_HEADINGS), len(lines))
    return " ".join(lines[start:end])


def factors_section(pages: list[str]) -> str:
    return heading_section(pages, "Risk factors in detail")


def appendix_section(pages: list[str]) -> str:
    """From "All answers" (the page it starts) to the end."""
    return body_text(pages[all_answers_page(pages) :])


# --- the header -------------------------------------------------------------------------------


def test_header_names_the_clinic_the_patient_the_surgery_and_the_screening(rendered, fbss):
    first = squash(rendered("summary", "high").pages[0])
    assert first.startswith(f"{CLINIC} Pre-surgery screening summary")
    for expected in (
        "Patient Ann Example",
        "Date of birth 30 April 1960",
        "MRN MRN-0042",
        "Surgeon Dr. Joan Smith",
        "Screening S-000042, 27 February 2026",
        "Review Not yet reviewed",
        # The planned surgery as the patient answered it, and as the clinic entered it.
        "Planned surgery The patient's answer The clinic's entry",
        "The clinic's note L4-S1 posterior fusion, 14 April 2026",
        "Which part of your spine is the surgery for? Lower back –",
        "How many levels (joints between the bones) will be fused? Three or more levels –",
        f"{fbss.title}, version {fbss.version}, answered in English",
        "Before your spine surgery, version 2.2.0, answered in English",
    ):
        assert expected in first, expected


# --- tier, factors, red flags, instruments ----------------------------------------------------


def test_tier_and_axes_of_the_high_example(rendered):
    first = squash(rendered("summary", "high").pages[0])
    assert "Risk tier: High" in first
    # Each axis with its tier, and its scale's marker: points of the axis's most.
    assert "Medical and surgical risk" in first and "6 of 14" in first
    assert "Psychosocial and pain risk" in first and "12 of 21" in first
    assert "Workers' compensation and litigation: 4 points, 3 counted." in first


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_tier_and_axes_come_from_the_engine(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    first = squash(r.pages[0])
    assert f"Risk tier: {a.tier.label}" in first
    tiers = section(first, "Risk tier:", "To work on before surgery")
    for axis in a.axes:
        assert nospace(f"{axis.axis.label}{axis.axis.outcome}{axis.tier.label}") in nospace(tiers)
        assert f"{axis.points} of {axis.max}" in first, axis.axis.id


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_every_flagged_factor_is_in_the_detail_with_why_and_evidence(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    text = body_text(r.pages)
    factors = factors_section(r.pages)
    first = nospace(section(squash(r.pages[0]), "To work on before surgery", "Questionnaires"))
    if not a.factors:
        assert "No risk factor from this questionnaire applies." in factors
    for result in a.factors:
        f = result.factor
        kind = "modifiable" if f.modifiable else "not modifiable"
        assert f"{f.label} · +{points(f.points)} · {kind}" in factors, f.id
        assert nospace(f"Why it matters: {f.clinician_text}") in nospace(factors), f.id
        assert nospace(f.evidence[0].short) in nospace(factors), f.id
        # The action once: on page 1 for the top modifiable ones, in the detail for the others.
        on_page_one = f.modifiable and nospace(f"{f.label} +{f.points}{f.action}") in first
        in_detail = nospace(f"Before surgery: {f.action}") in nospace(factors)
        assert on_page_one != in_detail, f.id
    for axis in a.axes:
        heading = f"{axis.axis.label} ({points(axis.points)} of {axis.max})"
        listed = any(r.factor.axis == axis.axis.id for r in a.factors)
        assert (heading in factors) == listed, heading
    # A factor that does not apply is not printed; nor are its answers ("All answers" has them).
    applied = {r.factor.id for r in a.factors}
    for f in a.questionnaire.risk_factors:
        if f.id not in applied:
            assert f"{f.label} · +" not in text, f.id
    assert "Answered:" not in text


@pytest.mark.parametrize("key", ["moderate", "high", "safety_flags"])
def test_factors_are_grouped_by_axis_modifiable_first_then_by_points(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    q = a.questionnaire
    factors = factors_section(r.pages)
    axes = [x for x in a.axes if any(f.factor.axis == x.axis.id for f in a.factors)]
    headings = [factors.index(f"{x.axis.label} (") for x in axes]
    assert headings == sorted(headings), "axes out of order"
    bounds = [*headings[1:], len(factors)]
    order = [f.id for f in q.risk_factors]
    for axis, start, end in zip(axes, headings, bounds, strict=True):
        found = [res.factor for res in a.factors if res.factor.axis == axis.axis.id]
        where = {f.id: factors.index(f"{f.label} · +") for f in found}
        assert all(start < pos < end for pos in where.values()), axis.axis.id
        expected = sorted(found, key=lambda f: (not f.modifiable, -f.points, order.index(f.id)))
        assert sorted(where, key=where.get) == [f.id for f in expected], axis.axis.id


@pytest.mark.parametrize("key", [*EXAMPLE_KEYS, "safety_flags"])
def test_red_flag_box_is_on_page_one_when_a_flag_is_raised_and_absent_otherwise(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    text = body_text(r.pages)
    if not a.red_flags:
        assert "Red flags" not in text
        assert "Red flag:" not in text
        return
    first = nospace(r.pages[0])
    assert nospace("Red flags: act on these whatever the score") in first
    detail = nospace(heading_section(r.pages, "Red flags in detail"))
    for result in a.red_flags:
        flag = result.flag
        # On page 1 its title, urgency and status (no clinic records offline); its message once:
        # on page 1 when it fits, else in the detail.
        head = f"{flag.title} · {m.URGENCY_LABELS[flag.urgency]} · status not recorded"
        assert nospace(head) in first, flag.id
        message = nospace(flag.clinician_message)
        assert (message in first) != (message in detail), flag.id


def test_self_harm_flag_names_the_urgency_and_when_it_was_answered(rendered):
    pages = rendered("summary", "self_harm").pages
    first = squash(pages[0])
    assert "Red flags: act on these whatever the score" in first
    assert "Thoughts of self-harm · Same-day clinician review · status not recorded" in first
    assert "PHQ-9 item 9 above" in first
    detail = heading_section(pages, "Red flags in detail")
    when = "answered 27 February 2026, 14:30 UTC"
    assert f"Thoughts of self-harm · Same-day clinician review · {when}" in detail


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_instrument_scores_and_bands(rendered, fbss, key):
    r = rendered("summary", key)
    text = body_text(r.pages)
    answers = r.assessment.answers
    for instrument in fbss.instruments:
        # What each answer adds (STarT Back item 9's five answers score 0, 0, 0, 1, 1); hidden
        # AUDIT-C items count 0; an instrument not asked (STarT Back before neck surgery) has
        # no score.
        shown = [item for item in instrument.items if item in r.assessment.visible]
        first = nospace(section(squash(r.pages[0]), "Questionnaires"))
        if not shown:
            assert nospace(instrument.label) not in first, instrument.id
            assert f"{instrument.label} Little interest" not in text
            continue
        total = sum(fbss.item_score(item, answers[item]) for item in shown)
        band = next(b.label for b in instrument.bands if total <= b.max)
        expected = f"{instrument.label} {total} of {instrument.bands[-1].max}, {band}"
        assert nospace(expected) in first, expected


def test_instrument_scores_of_the_high_example(rendered):
    first = squash(rendered("summary", "high").pages[0])
    assert "PHQ-9 7 of 27, mild" in first
    assert "GAD-7 12 of 21, moderate" in first


@pytest.mark.parametrize("key", [*EXAMPLE_KEYS, "safety_flags"])
def test_page_one_lists_what_to_work_on_and_what_else_is_counted(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    first = squash(r.pages[0])
    work_on = nospace(section(first, "To work on before surgery", "Questionnaires"))
    for alert in a.domain_alerts:
        assert nospace(alert.clinician_message) in nospace(first)
    modifiable = [res.factor for res in a.factors if res.factor.modifiable]
    if not modifiable:
        assert nospace("Nothing modifiable was flagged.") in work_on
    order = [f.id for f in a.questionnaire.risk_factors]
    top = sorted(modifiable, key=lambda f: (-f.points, order.index(f.id)))
    listed = [f for f in top if nospace(f"{f.label} +{f.points}{f.action}") in work_on]
    assert listed == top[: len(listed)] and len(listed) >= min(2, len(top))
    fixed = [res.factor for res in a.factors if not res.factor.modifiable]
    fixed.sort(key=lambda f: (-f.points, order.index(f.id)))
    if fixed:
        also = "".join(f"{f.label} (+{f.points});" for f in fixed)[:-1]
        assert nospace(f"Also counted, not modifiable: {also}. Details on page 2.") in work_on


# --- the appendix -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_appendix_shows_every_visible_question_with_its_answer(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    q = a.questionnaire
    text = body_text(r.pages)
    appendix = nospace(appendix_section(r.pages))
    for step_id in a.visible_steps:
        step = q.step_by_id[step_id]
        assert nospace(step.title) in appendix, step_id
        for question in step.questions:
            if question.id not in a.visible:
                continue
            if question.id in a.answers:
                answer = display_answer(question, a.answers[question.id])
            else:
                assert not question.required, question.id
                answer = "Not answered (optional)"
            assert nospace(question.label + answer) in appendix, question.id
    for question_id, question in q.questions.items():
        if question_id not in a.visible:
            assert nospace(question.label) not in nospace(text), question_id


def test_appendix_of_the_high_example(rendered):
    appendix = appendix_section(rendered("summary", "high").pages)
    for row in (
        "When is your surgery planned? Not answered (optional)",
        "What would you most like to be able to do again after surgery? Not answered (optional)",
        "How many spine operations have you had so far? 2",
        "How tall are you? 180 cm (5 ft 11 in)",
        "How much do you weigh? 85 kg (187 lb)",
        "Which do you use? Vapes or e-cigarettes",
    ):
        assert row in appendix, row
    # The former smoker's question is hidden for a current smoker.
    assert "When did you stop?" not in appendix


# --- every page -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["summary", "patient_copy"])
@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_every_page_is_numbered_and_carries_the_reference_and_the_notice(rendered, kind, key):
    pages = rendered(kind, key).pages
    if kind == "summary":
        assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        flat = squash(text)
        assert f"Page {number} of {len(pages)}" in flat
        assert "S-000042 · generated 2 March 2026, 09:05 UTC" in flat
        assert "not a diagnosis" in flat


def test_instrument_and_appendix_rows_are_never_split_across_pages(rendered):
    """A question and its answer share a page (regression: before `tr { break-inside: avoid }`
    in report.css, 7 rows of the 4 demo summaries printed the answer at the foot of one page and
    the question at the top of the next, e.g. PHQ-9 item 6 of the high example)."""
    split = []
    for key in EXAMPLE_KEYS:
        r = rendered("summary", key)
        a = r.assessment
        q = a.questionnaire
        pages = [nospace(" ".join(body_lines(p))) for p in r.pages]
        rows = []
        for instrument in q.instruments:
            for item in (i for i in instrument.items if i in a.answers):
                value = a.answers[item]
                answer = display_answer(q.questions[item], value)
                shown_value = "" if str(value) == answer else str(value)
                rows.append((item, q.questions[item].label + shown_value + answer))
        for question_id in a.answers:
            question = q.questions[question_id]
            rows.append((question_id, question.label + display_answer(question,
                                                                      a.answers[question_id])))
        for question_id, row in rows:
            if not any(nospace(row) in page for page in pages):
                split.append(f"{key}: {question_id}")
    assert split == []


def test_category_with_one_point_says_one_point(rendered):
    """Regression: the category heading read 'Mental health (1 points)'."""
    r = rendered("summary", "low")
    [psychosocial] = [x for x in r.assessment.axes if x.points]
    assert psychosocial.points == 1
    factors = factors_section(r.pages)
    assert f"{psychosocial.axis.label} (1 point of {psychosocial.max})" in factors
    assert "1 points" not in factors


# --- branching: a hidden question's stale answer ----------------------------------------------

BRANCH = """
id: branch
version: "2.3.4"
title: Three-step branch
description: The third step asks two questions only when the first answer is X.
steps:
  - id: first
    title: The first step
    questions:
      - id: route
        type: choice
        label: Which way did you come?
        options:
          - {value: x, label: The X road}
          - {value: y, label: The Y road}
  - id: second
    title: The second step
    questions:
      - id: stopped
        type: yes_no
        label: Did you stop on the way?
  - id: third
    title: The third step
    questions:
      - id: x_sight
        type: choice
        label: What did you see on the X road?
        show_if: {question: route, equals: x}
        options:
          - {value: bridge, label: Zebrafinch bridge}
          - {value: river, label: A river}
      - id: x_note
        type: text
        label: Tell us about the X road
        required: false
        show_if: {question: route, equals: x}
      - id: closing
        type: text
        label: Anything else?
        required: false
risk_factors:
  - id: took_y
    label: Took the Y road
    category: surgery
    points: 1
    modifiable: false
    when: {question: route, equals: y}
    patient_text: The Y road is longer.
    clinician_text: Y road reason for the team.
    action: Plan for the Y road.
    evidence: [{citation: "Example 2020", url: "https://example.org/y"}]
  - id: saw_bridge
    label: Saw the Zebrafinch bridge
    category: history
    points: 2
    modifiable: true
    when: {question: x_sight, equals: bridge}
    patient_text: Bridges take time.
    clinician_text: Quetzal bridge reason for the team.
    action: Cross the bridge slowly.
    evidence: [{citation: "Example 2021", url: "https://example.org/b"}]
tiers:
  - {id: low, label: Low, max: 1}
  - {id: high, label: High}
"""

STALE = ("Zebrafinch", "Quetzal", "Marmoset-note", "What did you see on the X road?",
         "Tell us about the X road")


def branch_text(answers: dict) -> tuple[str, str, object]:
    """The summary's text before "All answers", and from it."""
    q = load_text(BRANCH, "branch.yaml")
    a = score(q, answers)
    pdf = render_summary(a, INFO, SETTINGS, generated_at=GENERATED_AT)
    pages = page_texts(pdf.content)
    return body_text(pages[: all_answers_page(pages)]), appendix_section(pages), a


def test_stale_answer_of_a_question_hidden_by_an_earlier_step_is_not_printed():
    answers = {"route": "y", "stopped": False, "closing": "All fine",
               # saved while route was x, then route changed: hidden now, kept in the database
               "x_sight": "bridge", "x_note": "Marmoset-note about the X road"}
    text, appendix, a = branch_text(answers)
    assert [r.factor.id for r in a.factors] == ["took_y"]
    assert "Risk tier: Low" in text
    assert f"1 of {a.max_total}" in text  # the scale's marker: no axes, the total's scale
    assert "Took the Y road · +1 point · not modifiable" in text
    assert "Planned surgery (1 point)" in text  # no axes: grouped by category
    assert "The third step" in appendix
    assert "Anything else? All fine" in appendix
    assert "Which way did you come? The Y road" in appendix
    for stale in STALE:
        assert stale not in text + appendix, stale


def test_branch_answers_are_printed_when_the_question_is_shown():
    """The same check's counterpart: with route X the answers and the factor are printed."""
    answers = {"route": "x", "stopped": True, "x_sight": "bridge",
               "x_note": "Marmoset-note about the X road"}
    text, appendix, a = branch_text(answers)
    assert [r.factor.id for r in a.factors] == ["saw_bridge"]
    assert "Saw the Zebrafinch bridge · +2 points · modifiable" in text
    assert "Saw the Zebrafinch bridge +2 Cross the bridge slowly." in text  # to work on
    assert "What did you see on the X road? Zebrafinch bridge" in appendix
    assert "Tell us about the X road Marmoset-note about the X road" in appendix
    assert "Anything else? Not answered (optional)" in appendix


# --- paper and metadata -----------------------------------------------------------------------


def clinic_settings(paper: str):
    """The report settings of an app configured with this clinic name and paper."""
    app = make_app("sqlite://", SCREENING_CLINIC_NAME=CLINIC, SCREENING_PAPER=paper)
    with app.app_context():
        return documents.settings()


def test_letter_paper_is_612_by_792_points(rendered):
    assert clinic_settings("letter") == SETTINGS
    for page in reader(rendered("summary", "high").content).pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == (612, 792)


def test_a4_paper_is_595_by_842_points(fbss, rendered):
    settings = clinic_settings("a4")
    pdf = render_summary(rendered("summary", "low").assessment, INFO, settings, GENERATED_AT)
    pages = reader(pdf.content).pages
    for page in pages:
        assert float(page.mediabox.width) == pytest.approx(595.28, abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(841.89, abs=0.5)
    texts = page_texts(pdf.content)
    assert f"Page {len(texts)} of {len(texts)}" in squash(texts[-1])


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("summary", "Pre-surgery screening summary – Ann Example"),
        ("patient_copy", "Your pre-surgery questionnaire – Ann Example"),
    ],
)
def test_metadata_title_author_language_date_and_tags(rendered, kind, title):
    pdf = reader(rendered(kind, "high").content)
    meta = pdf.metadata
    assert meta.title == title
    assert meta.author == CLINIC
    assert meta.creation_date is not None
    assert meta.creation_date.replace(tzinfo=None) == GENERATED_AT.replace(tzinfo=None)
    catalog = pdf.trailer["/Root"]
    assert catalog["/Lang"] == "en"
    assert "/StructTreeRoot" in catalog
    assert bool(catalog["/MarkInfo"]["/Marked"])


# --- the patient's copy -----------------------------------------------------------------------


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_patient_copy_has_what_to_work_on_and_questions_for_the_surgeon(rendered, key):
    r = rendered("patient_copy", key)
    a = r.assessment
    text = body_text(r.pages)
    assert text.startswith(f"{CLINIC} Getting ready for your spine surgery")
    assert "For Ann Example, answers sent 27 February 2026." in text
    assert "Things you can work on before surgery" in text
    assert "Questions to bring to your surgeon" in text
    modifiable = [r.factor for r in a.factors if r.factor.modifiable]
    assert modifiable or key == "low"
    for factor in modifiable:
        assert nospace(factor.patient_text) in nospace(text), factor.id
        if factor.patient_action:
            assert nospace(f"What can help: {factor.patient_action}") in nospace(text), factor.id


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_patient_copy_shows_the_crisis_line_only_when_self_harm_is_raised(rendered, fbss, key):
    r = rendered("patient_copy", key)
    text = body_text(r.pages)
    raised = any(f.flag.id == "self_harm" for f in r.assessment.red_flags)
    assert raised == (key == "self_harm")
    message = next(f for f in fbss.red_flags if f.id == "self_harm").patient_message
    assert (nospace(message) in nospace(text)) == raised
    assert ("988" in text) == raised


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_patient_copy_has_no_points_tiers_or_clinician_text(rendered, fbss, key):
    r = rendered("patient_copy", key)
    text = body_text(r.pages)
    found = words(text)
    assert not {w for w in found if w.lower() in ("tier", "tiers", "points")}
    assert not found & {"Low", "Moderate", "High"}
    assert "+1" not in text and "+2" not in text and "+3" not in text
    assert "Risk" not in text
    joined = nospace(text)
    for factor in fbss.risk_factors:
        assert nospace(factor.clinician_text) not in joined, factor.id
        if factor.action != factor.patient_action:  # the team's action is for the team
            assert nospace(factor.action) not in joined, factor.id
    for flag in fbss.red_flags:
        assert nospace(flag.clinician_message) not in joined, flag.id


# --- a look at the pages (for people) ---------------------------------------------------------


def test_demo_pages_are_written_as_png_for_a_look(rendered, tmp_path):
    """Every page of the demo PDFs as a PNG in /tmp/pdf-pages/ (outside the repository)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is needed: apt-get install poppler-utils")
    PAGES_DIR.mkdir(parents=True, exist_ok=True)
    expected = []
    for kind in ("summary", "patient_copy"):
        for key in EXAMPLE_KEYS:
            stem = f"{kind}-{key}"
            for old in PAGES_DIR.glob(f"{stem}-*.png"):
                old.unlink()
            r = rendered(kind, key)
            pdf_path = tmp_path / f"{stem}.pdf"
            pdf_path.write_bytes(r.content)
            subprocess.run(
                ["pdftoppm", "-r", "60", "-png", str(pdf_path), str(PAGES_DIR / stem)],
                check=True,
                timeout=60,
            )
            pngs = sorted(PAGES_DIR.glob(f"{stem}-*.png"))
            assert len(pngs) == len(r.pages), stem
            expected.extend(pngs)
    for png in expected:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
