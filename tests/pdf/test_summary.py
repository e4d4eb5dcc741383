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


def factors_section(text: str) -> str:
    return section(text, "Flagged risk factors", "Validated instruments")


def appendix_section(text: str) -> str:
    return section(text, "Appendix: all answers")


# --- the header -------------------------------------------------------------------------------


def test_header_names_the_clinic_the_patient_the_surgery_and_the_screening(rendered, fbss):
    first = squash(rendered("summary", "high").pages[0])
    assert first.startswith(f"{CLINIC} Pre-surgery screening summary")
    for expected in (
        "Patient Ann Example",
        "Date of birth 30 April 1960",
        "MRN MRN-0042",
        "Planned surgery L4-S1 posterior fusion, 14 April 2026",
        "Surgeon Dr. Joan Smith",
        "Screening S-000042, 27 February 2026",
        f"Questionnaire {fbss.title}, version {fbss.version}",
        "Questionnaire Before your spine surgery, version 2.0.0, answered in English",
    ):
        assert expected in first, expected


# --- tier, factors, red flags, instruments ----------------------------------------------------


def test_tier_and_total_of_the_high_example(rendered):
    first = squash(rendered("summary", "high").pages[0])
    # 35: the linter's bound on the highest total (both axes, before caps).
    assert "Risk tier: High (18 of 35 points)" in first


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_tier_and_total_come_from_the_engine(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    first = squash(r.pages[0])
    assert f"Risk tier: {a.tier.label} ({a.total} of {a.max_total} points)" in first
    assert f"Modifiable points: {a.modifiable_points} of {a.total}." in first


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_every_flagged_factor_is_listed_with_its_points_and_reasons(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    text = body_text(r.pages)
    factors = factors_section(text)
    if not a.factors:
        assert "No risk factor from this questionnaire applies." in factors
    for result in a.factors:
        f = result.factor
        kind = "modifiable" if f.modifiable else "not modifiable"
        assert f"{f.label} · +{points(f.points)} · {kind}" in factors, f.id
        assert nospace(f"Why it matters: {f.clinician_text}") in nospace(factors), f.id
        assert nospace(f"Before surgery: {f.action}") in nospace(factors), f.id
    for category in m.CATEGORIES:
        n = a.category_points[category]
        heading = f"{m.CATEGORY_LABELS[category]} ({n} point"
        # A category is listed when a factor of it applies (a 0-point note too, since 2.0.0).
        listed = any(r.factor.category == category for r in a.factors)
        assert (heading in factors) == listed, heading
    # A factor that does not apply is not printed.
    applied = {r.factor.id for r in a.factors}
    for f in a.questionnaire.risk_factors:
        if f.id not in applied:
            assert f"{f.label} · +" not in text, f.id


@pytest.mark.parametrize("key", ["moderate", "high", "safety_flags"])
def test_factors_are_grouped_by_category_with_the_modifiable_ones_first(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    factors = factors_section(body_text(r.pages))
    categories = [c for c in m.CATEGORIES if a.category_points[c]]
    headings = [factors.index(f"{m.CATEGORY_LABELS[c]} (") for c in categories]
    assert headings == sorted(headings), "categories out of order"
    bounds = dict(zip(categories, [*headings[1:], len(factors)], strict=True))
    mixed = []
    for category, start in zip(categories, headings, strict=True):
        where = {
            result.factor.id: factors.index(f"{result.factor.label} · +")
            for result in a.factors
            if result.factor.category == category
        }
        assert all(start < pos < bounds[category] for pos in where.values()), category
        kinds = {fid: a.questionnaire.factor_by_id[fid].modifiable for fid in where}
        modifiable = [pos for fid, pos in where.items() if kinds[fid]]
        fixed = [pos for fid, pos in where.items() if not kinds[fid]]
        if modifiable and fixed:
            mixed.append(category)
            assert max(modifiable) < min(fixed), f"{category}: modifiable factors not first"
    if key in ("moderate", "safety_flags"):
        # These examples list a non-modifiable factor before a modifiable one in the YAML.
        assert "history" in mixed


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
    for result in a.red_flags:
        # The box sits on page 1, as the discussion points say ("see the box on page 1").
        assert nospace(result.flag.clinician_message) in first, result.flag.id
        assert nospace(f"Red flag: {result.flag.title}") in nospace(
            section(text, "Points to discuss with the surgical team")
        )


def test_self_harm_flag_names_the_urgency_and_when_it_was_answered(rendered):
    first = squash(rendered("summary", "self_harm").pages[0])
    assert "Red flags: act on these whatever the score" in first
    head = "Thoughts of self-harm · Same-day clinician review · answered 27 February 2026, 14:30"
    assert head in first
    assert "PHQ-9 item 9 above" in first


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
        if not shown:
            assert f"{instrument.label}:" not in text, instrument.id
            continue
        total = sum(fbss.item_score(item, answers[item]) for item in shown)
        band = next(b.label for b in instrument.bands if total <= b.max)
        expected = f"{instrument.label}: {total} of {instrument.bands[-1].max} ({band})"
        assert expected in text, expected


def test_instrument_scores_of_the_high_example(rendered):
    text = body_text(rendered("summary", "high").pages)
    assert "PHQ-9: 7 of 27 (mild)" in text
    assert "GAD-7: 12 of 21 (moderate)" in text


@pytest.mark.parametrize("key", [*EXAMPLE_KEYS, "safety_flags"])
def test_points_to_discuss_list_flags_notes_and_every_factor_modifiable_first(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    discussion = section(
        body_text(r.pages), "Points to discuss with the surgical team", "Appendix: all answers"
    )
    if not (a.factors or a.red_flags or a.domain_alerts):
        assert "Nothing flagged." in discussion
    for alert in a.domain_alerts:
        assert f"Note: {squash(alert.clinician_message)}" in discussion
    before, planning = [], []
    for result in a.factors:
        f = result.factor
        kind = "Before surgery" if f.modifiable else "For planning"
        line = f"{kind}: {f.label}: {squash(f.action)}"
        assert nospace(line) in nospace(discussion), f.id
        (before if f.modifiable else planning).append(discussion.index(f"{kind}: {f.label}:"))
    if before and planning:
        assert max(before) < min(planning)


# --- the appendix -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_appendix_shows_every_visible_question_with_its_answer(rendered, key):
    r = rendered("summary", key)
    a = r.assessment
    q = a.questionnaire
    text = body_text(r.pages)
    appendix = nospace(appendix_section(text))
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
    appendix = appendix_section(body_text(rendered("summary", "high").pages))
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
                rows.append((item, q.questions[item].label + str(value)
                             + display_answer(q.questions[item], value)))
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
    assert r.assessment.category_points["history"] == 1
    factors = factors_section(body_text(r.pages))
    assert "Medical history (1 point)" in factors
    assert "(1 points)" not in factors


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


def branch_text(answers: dict) -> tuple[str, object]:
    q = load_text(BRANCH, "branch.yaml")
    a = score(q, answers)
    pdf = render_summary(a, INFO, SETTINGS, generated_at=GENERATED_AT)
    return body_text(page_texts(pdf.content)), a


def test_stale_answer_of_a_question_hidden_by_an_earlier_step_is_not_printed():
    answers = {"route": "y", "stopped": False, "closing": "All fine",
               # saved while route was x, then route changed: hidden now, kept in the database
               "x_sight": "bridge", "x_note": "Marmoset-note about the X road"}
    text, a = branch_text(answers)
    assert [r.factor.id for r in a.factors] == ["took_y"]
    assert f"Risk tier: Low (1 of {a.max_total} points)" in text
    assert "Took the Y road · +1 point · not modifiable" in text
    appendix = appendix_section(text)
    assert "The third step" in appendix
    assert "Anything else? All fine" in appendix
    assert "Which way did you come? The Y road" in appendix
    for stale in STALE:
        assert stale not in text, stale


def test_branch_answers_are_printed_when_the_question_is_shown():
    """The same check's counterpart: with route X the answers and the factor are printed."""
    answers = {"route": "x", "stopped": True, "x_sight": "bridge",
               "x_note": "Marmoset-note about the X road"}
    text, a = branch_text(answers)
    assert [r.factor.id for r in a.factors] == ["saw_bridge"]
    assert "Saw the Zebrafinch bridge · +2 points · modifiable" in text
    appendix = appendix_section(text)
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
