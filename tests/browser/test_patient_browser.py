"""The patient's questionnaire in a real browser: keyboard, touch, resume, errors, branches, no JS.

Every test drives the system Chromium against the live app (CSRF on) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from screening.extensions import db
from screening.models import Screening, hash_token

from .conftest import DESKTOP_ARGS, Patient, as_text, date_boxes, option_index

pytestmark = pytest.mark.browser

SCREENSHOTS = Path("/tmp/screenshots")
RESULT_HEADING = "Thank you, your answers have been sent"


def stored_screening(app, token: str) -> Screening:
    with app.app_context():
        query = sa.select(Screening).where(Screening.token_hash == hash_token(token))
        row = db.session.scalar(query)
        assert row is not None
        db.session.expunge(row)
        return row


def active_id(page: Page) -> str:
    return page.evaluate("document.activeElement ? document.activeElement.id : ''")


def visible(page: Page, question_id: str) -> bool:
    return page.locator(f"#question-{question_id}").is_visible()


# --- keyboard only --------------------------------------------------------------------------------


def tab_until(page: Page, wanted, what: str, limit: int = 80) -> str:
    """Press Tab until the focused element's id satisfies `wanted`; return that id."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = active_id(page)
        if wanted(focused):
            return focused
        seen.append(focused)
    raise AssertionError(f"{page.url}: Tab never reached {what}; focus went to {seen}")


def key_answer(page: Page, question, value: Any) -> None:
    """Answer one question with the keyboard alone, as a sighted keyboard user would."""
    name = f"q_{question.id}"
    if question.type in ("choice", "yes_no"):
        # Tab enters a radio group once; the arrow keys move within it and select as they go.
        focused = tab_until(page, lambda i: i.startswith(f"{name}-"), name)
        here, target = int(focused.rsplit("-", 1)[1]), option_index(question, value)
        if here == target:
            page.keyboard.press("Space")
        for _ in range(abs(target - here)):
            page.keyboard.press("ArrowDown" if target > here else "ArrowUp")
        expect(page.locator(f"#{name}-{target}")).to_be_checked()
    elif question.type == "multi_choice":
        for v in value:
            box = f"{name}-{option_index(question, v)}"
            tab_until(page, lambda i, box=box: i == box, box)
            page.keyboard.press("Space")
            expect(page.locator(f"#{box}")).to_be_checked()
    elif question.type in ("date", "month_year"):  # the day, month and year boxes
        for box, text in date_boxes(question, value):
            tab_until(page, lambda i, box=box: i == box, box)
            page.keyboard.type(text)
            expect(page.locator(f"#{box}")).to_have_value(text)
    else:
        tab_until(page, lambda i: i == name, name)
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.type(as_text(value))
        expect(page.locator(f"#{name}")).to_have_value(as_text(value))


def tab_to_button(page: Page, text: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("t => document.activeElement.tagName === 'BUTTON' && "
                         "document.activeElement.textContent.trim() === t", text):
            return
    raise AssertionError(f"{page.url}: Tab never reached the button {text!r}")


def key_continue(page: Page, key: str) -> None:
    tab_to_button(page, "Continue")
    with page.expect_navigation():
        page.keyboard.press(key)
    Patient.assert_no_errors(page)


def keyboard_step(patient: Patient, page: Page, answers: dict[str, Any], key: str) -> str:
    step_id = patient.step_id(page)
    assert step_id, page.url
    for question in patient.q.step_by_id[step_id].questions:
        if question.id in answers:
            key_answer(page, question, answers[question.id])
    key_continue(page, key)
    return step_id


# --- touch ----------------------------------------------------------------------------------------


def touch_answer(page: Page, question, value: Any) -> None:
    """Answer one question with taps (on the option's words, where people put a finger)."""
    name = f"q_{question.id}"
    if question.type in ("choice", "yes_no"):
        index = option_index(question, value)
        page.locator(f"label[for={name}-{index}]").tap()
        expect(page.locator(f"#{name}-{index}")).to_be_checked()
    elif question.type == "multi_choice":
        for v in value:
            index = option_index(question, v)
            page.locator(f"label[for={name}-{index}]").tap()
            expect(page.locator(f"#{name}-{index}")).to_be_checked()
    elif question.type in ("date", "month_year"):  # the day, month and year boxes
        for box, text in date_boxes(question, value):
            page.locator(f"#{box}").tap()
            page.keyboard.type(text)
            expect(page.locator(f"#{box}")).to_have_value(text)
    else:
        page.locator(f"#{name}").tap()
        page.keyboard.type(as_text(value))
        expect(page.locator(f"#{name}")).to_have_value(as_text(value))


def touch_step(patient: Patient, page: Page, answers: dict[str, Any]) -> str:
    step_id = patient.step_id(page)
    assert step_id, page.url
    for question in patient.q.step_by_id[step_id].questions:
        if question.id in answers:
            touch_answer(page, question, answers[question.id])
    with page.expect_navigation():
        page.locator("form.step-form button[type=submit]").tap()
    patient.assert_no_errors(page)
    return step_id


# --- 1. the whole questionnaire, by keyboard and by touch -----------------------------------------


def test_keyboard_only_patient_completes_the_questionnaire(app, page: Page, patient: Patient):
    answers = patient.example("high tier - long revision")
    expected = patient.expected("high tier - long revision")
    token = patient.new_token()
    page.goto(f"/s/{token}")
    tab_to_button(page, "Start")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    visited = []
    while patient.step_id(page):
        # Alternate Enter and Space on the Continue button: both must work.
        visited.append(keyboard_step(patient, page, answers, "Enter" if len(visited) % 2 else
                                     "Space"))
        assert len(visited) < 30
    page.wait_for_url(re.compile(r"/review$"))
    assert visited[:4] == ["about_surgery", "earlier_surgery", "medical_history", "pain"]

    tab_to_button(page, "Send my answers", limit=400)  # past a Change link per answer
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/result$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(RESULT_HEADING)

    row = stored_screening(app, token)
    assert row.status == "submitted"
    assert row.tier == expected["tier"]
    assert row.total == expected["total"]


def test_touch_patient_completes_the_questionnaire(app, page: Page, patient: Patient):
    name = "moderate tier - two-level fusion"
    answers, expected = patient.example(name), patient.expected(name)
    token = patient.new_token()
    page.goto(f"/s/{token}")
    with page.expect_navigation():
        page.get_by_role("button", name="Start").tap()

    visited = []
    while patient.step_id(page):
        visited.append(touch_step(patient, page, answers))
        assert len(visited) < 30
    page.wait_for_url(re.compile(r"/review$"))
    assert "earlier_surgery" not in visited  # no earlier operation: that step is skipped

    # Change one answer from the review page and come straight back to it.
    with page.expect_navigation():
        page.get_by_role("link", name="Change your answer to: When did you stop?").tap()
    assert patient.step_id(page) == "habits"
    expect(page.locator("#q_quit_date_month")).to_have_value("6")  # June 2021
    expect(page.locator("#q_quit_date_year")).to_have_value("2021")
    expect(page.locator("#q_quit_date_month")).to_be_focused()
    with page.expect_navigation():
        page.get_by_role("button", name="Save and return to review").tap()
    page.wait_for_url(re.compile(r"/review$"))

    with page.expect_navigation():
        page.get_by_role("button", name="Send my answers").tap()
    page.wait_for_url(re.compile(r"/result$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(RESULT_HEADING)

    row = stored_screening(app, token)
    assert row.status == "submitted"
    assert row.tier == expected["tier"]
    assert row.total == expected["total"]


# --- 2. leave and come back on another device -----------------------------------------------------


def expect_step_shows(patient: Patient, page: Page, answers: dict[str, Any]) -> None:
    step_id = patient.step_id(page)
    checked = 0
    for question in patient.q.step_by_id[step_id].questions:
        if question.id not in answers:
            continue
        value, name = answers[question.id], f"q_{question.id}"
        if question.type in ("choice", "yes_no"):
            expect(page.locator(f"#{name}-{option_index(question, value)}")).to_be_checked()
        elif question.type == "multi_choice":
            for v in value:
                expect(page.locator(f"#{name}-{option_index(question, v)}")).to_be_checked()
        elif question.type in ("date", "month_year"):
            for box, text in date_boxes(question, value):
                expect(page.locator(f"#{box}")).to_have_value(text)
        else:
            expect(page.locator(f"#{name}")).to_have_value(as_text(value))
        checked += 1
    assert checked, step_id


def test_resume_from_a_new_browser_keeps_earlier_answers(page: Page, patient: Patient,
                                                         make_context):
    answers = patient.example("high tier - long revision")
    token = patient.new_token()
    patient.start(page, token)
    walked = patient.walk(page, answers, until="pain")
    assert walked == ["about_surgery", "earlier_surgery", "medical_history"]
    page.context.close()

    other = make_context().new_page()  # another phone: no cookies, no history
    other.goto(f"/s/{token}")
    with other.expect_navigation():
        other.get_by_role("button", name="Continue where I left off").click()
    patient.wait_for_step(other, "pain")
    expect(other.locator(".progress-label")).to_have_text(re.compile(r"^Step 4 of \d+$"))

    for step_id in reversed(walked):
        with other.expect_navigation():
            other.locator("a.back-link").click()
        patient.wait_for_step(other, step_id)
        expect_step_shows(patient, other, answers)
    # The fusion follow-ups answered on step 1 are shown again, not hidden.
    assert visible(other, "fusion_levels") and visible(other, "fusion_approach")


# --- 3. an invalid answer -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["two", "25"], ids=["letters", "out-of-range"])
def test_invalid_number_shows_errors_and_keeps_the_other_answers(page: Page, patient: Patient,
                                                                 bad: str):
    answers = patient.example("high tier - long revision")
    patient.seed(page, patient.new_token(), answers, until="earlier_surgery")
    page.locator("#q_is_revision-0").check()
    page.locator("#q_prior_relief-1").check()
    page.locator("#q_prior_surgery_count").fill(bad)
    url = page.url
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()

    assert page.url == url
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    page.wait_for_function("document.activeElement && document.activeElement.id === "
                           "'error-summary'")
    assert active_id(page) == "error-summary"
    expect(page).to_have_title(re.compile(r"^Error: "))
    link = summary.locator("a[href='#q_prior_surgery_count']")
    expect(link).to_have_count(1)
    assert summary.locator("a").count() == 1  # only the bad answer is reported

    message = page.locator("#question-prior_surgery_count #q_prior_surgery_count-error")
    expect(message).to_be_visible()
    expect(message).not_to_be_empty()
    field = page.locator("#q_prior_surgery_count")
    expect(field).to_have_value(bad)  # the patient's own words, to correct
    expect(field).to_have_attribute("aria-describedby", re.compile(r"q_prior_surgery_count-error"))
    expect(page.locator("#q_is_revision-0")).to_be_checked()
    expect(page.locator("#q_prior_relief-1")).to_be_checked()

    # Following the summary's link takes the patient to the field.
    link.click()
    expect(field).to_be_focused()
    expect(field).to_be_in_viewport()

    field.fill("2")
    patient.press_continue(page)
    patient.wait_for_step(page, "medical_history")


def test_expired_session_shows_the_step_again_with_the_answers(page: Page, patient: Patient):
    answers = patient.example("moderate tier - two-level fusion")
    patient.start(page, patient.new_token())
    patient.fill_step(page, answers)
    page.context.clear_cookies()  # the session (and its CSRF token) is gone
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    assert patient.step_id(page) == "about_surgery"
    expect(page.locator(".notice")).to_be_visible()
    expect_step_shows(patient, page, answers)
    patient.press_continue(page)  # the page carries a fresh token: pressing again saves
    patient.wait_for_step(page, "medical_history")


@pytest.mark.parametrize(("unit", "inputs", "question_id", "stored"), [
    ("feet_inches", {"#q_height_ft": "5", "#q_height_in": "11"}, "height", "180.3"),
    ("pounds", {"#q_weight_lb": "187"}, "weight", "84.8"),
], ids=["feet_inches", "pounds"])
def test_height_and_weight_in_us_units_are_accepted(page: Page, patient: Patient, unit: str,
                                                    inputs: dict, question_id: str, stored: str):
    # Regression: the US-unit boxes used to be ignored unless a `q_<id>_unit=us` field (never
    # rendered) was posted, so a patient answering in feet/inches or pounds was told to answer.
    answers = patient.example("high tier - long revision")
    patient.seed(page, patient.new_token(), answers, until="medical_history")
    patient.fill_step(page, answers)
    page.locator(f"#q_{question_id}").fill("")
    for selector, value in inputs.items():
        page.locator(selector).fill(value)
    patient.press_continue(page)  # fails at once with the page's error summary
    patient.wait_for_step(page, "pain")
    with page.expect_navigation():
        page.locator("a.back-link").click()
    expect(page.locator(f"#q_{question_id}")).to_have_value(stored)  # kept in cm / kg


# --- 4. branches show and hide at once, without a page load ---------------------------------------


class NoReload:
    """Proves that nothing navigated: a window marker survives and no frame navigated."""

    def __init__(self, page: Page):
        self.page, self.url, self.navigations = page, page.url, []
        page.on("framenavigated", lambda frame: self.navigations.append(frame.url))
        page.evaluate("window.__sameDocument = 'still here'")
        self.entries = page.evaluate("performance.getEntriesByType('navigation').length")

    def check(self) -> None:
        page = self.page
        assert page.url == self.url
        assert self.navigations == []
        assert page.evaluate("window.__sameDocument") == "still here"
        assert page.evaluate("performance.getEntriesByType('navigation').length") == self.entries


def test_fusion_answer_shows_and_hides_its_follow_ups_without_reload(page: Page,
                                                                     patient: Patient):
    patient.start(page, patient.new_token())
    patient.wait_for_step(page, "about_surgery")
    follow_ups = [page.locator(f"#question-{i}") for i in ("fusion_levels", "fusion_approach")]
    for box in follow_ups:
        expect(box).to_be_hidden()
    same = NoReload(page)

    page.locator("label[for=q_surgery_type-2]").tap()  # Fusion
    for box in follow_ups:
        expect(box).to_be_visible()
    page.locator("label[for=q_surgery_type-1]").tap()  # Discectomy
    for box in follow_ups:
        expect(box).to_be_hidden()
    page.locator("label[for=q_surgery_type-2]").tap()
    for box in follow_ups:
        expect(box).to_be_visible()
    same.check()


def test_quit_date_and_self_harm_box_show_and_hide_without_reload(page: Page, patient: Patient):
    answers = patient.example("moderate tier - two-level fusion")
    patient.seed(page, patient.new_token(), answers, until="habits")

    quit_date, forms = page.locator("#question-quit_date"), page.locator("#question-nicotine_forms")
    drinks = page.locator("#question-audit_c_2")
    expect(quit_date).to_be_hidden()
    expect(forms).to_be_hidden()
    same = NoReload(page)
    page.locator("label[for=q_nicotine-1]").tap()  # I used to, but I have stopped
    expect(quit_date).to_be_visible()
    expect(forms).to_be_hidden()
    page.locator("label[for=q_nicotine-2]").tap()  # Yes, I do now
    expect(quit_date).to_be_hidden()
    expect(forms).to_be_visible()
    page.locator("label[for=q_nicotine-0]").tap()  # No, never
    expect(quit_date).to_be_hidden()
    expect(forms).to_be_hidden()
    page.locator("label[for=q_audit_c_1-2]").tap()  # alcohol 2-4 times a month
    expect(drinks).to_be_visible()
    page.locator("label[for=q_audit_c_1-0]").tap()  # never
    expect(drinks).to_be_hidden()
    same.check()

    patient.fill_step(page, answers)
    patient.press_continue(page)
    patient.wait_for_step(page, "mood")

    box = page.locator('[data-flag="self_harm"]')
    expect(box).to_be_hidden()
    same = NoReload(page)
    page.locator("label[for=q_phq9_9-1]").tap()  # Several days
    expect(box).to_be_visible()
    expect(box).to_contain_text("988")
    page.locator("label[for=q_phq9_9-3]").tap()  # Nearly every day
    expect(box).to_be_visible()
    page.locator("label[for=q_phq9_9-0]").tap()  # Not at all
    expect(box).to_be_hidden()
    same.check()


def test_nowhere_else_unticks_the_areas_and_an_area_unticks_it(page: Page, patient: Patient):
    """An exclusive option (issue 20, item 8), with the page's script: ticking it unticks the
    others; ticking another unticks it. The server refuses the pair without the script."""
    answers = patient.example("low tier")
    patient.seed(page, patient.new_token(), answers, until="pain")
    q = patient.q.questions["other_pain_areas"]
    box = {o.value: page.locator(f"#q_other_pain_areas-{option_index(q, o.value)}")
           for o in q.options}
    label = {v: page.locator(f"label[for=q_other_pain_areas-{option_index(q, v)}]") for v in box}
    expect(page.locator("#question-other_pain_areas .options-or")).to_have_text("or")
    same = NoReload(page)
    label["headaches"].tap()
    label["arms_hands"].tap()
    label["none"].tap()
    expect(box["none"]).to_be_checked()
    expect(box["headaches"]).not_to_be_checked()
    expect(box["arms_hands"]).not_to_be_checked()
    label["neck_shoulders"].tap()
    expect(box["neck_shoulders"]).to_be_checked()
    expect(box["none"]).not_to_be_checked()
    label["none"].tap()
    same.check()
    patient.fill_step(page, {k: v for k, v in answers.items() if k != "other_pain_areas"})
    patient.press_continue(page)  # only "Nowhere else" was sent: saved without an error
    assert patient.step_id(page) == "safety"


def test_a_date_in_three_boxes(page: Page, patient: Patient):
    """The memorable date (issue 20, item 7): day, month and year boxes; a missing month is
    named, its box has the red border and the summary's link goes to it; what was typed stays."""
    answers = patient.example("moderate tier - two-level fusion")
    patient.start(page, patient.new_token())
    patient.fill_step(page, answers)
    example = page.locator("#q_surgery_date-example")
    expect(example).to_have_text(re.compile(r"^For example, 27\s3\s"))  # no-break spaces
    page.locator("#q_surgery_date_day").tap()
    page.keyboard.type("4")
    page.locator("#q_surgery_date_year").tap()
    page.keyboard.type("2031")
    with page.expect_navigation():
        page.locator("form.step-form button[type=submit]").tap()
    link = page.locator("#error-summary a[href='#q_surgery_date_month']")
    expect(link).to_have_text(re.compile("Date must include a month"))
    expect(page.locator("#q_surgery_date_month")).to_have_class(re.compile(r"\binput-error\b"))
    expect(page.locator("#q_surgery_date_day")).not_to_have_class(re.compile(r"\binput-error\b"))
    expect(page.locator("#q_surgery_date_day")).to_have_value("4")
    expect(page.locator("#q_surgery_date_year")).to_have_value("2031")
    link.click()
    expect(page.locator("#q_surgery_date_month")).to_be_focused()
    page.keyboard.type("11")
    patient.press_continue(page)
    with page.expect_navigation():
        page.locator("a.back-link").click()
    for box, text in (("day", "4"), ("month", "11"), ("year", "2031")):
        expect(page.locator(f"#q_surgery_date_{box}")).to_have_value(text)


def test_a_month_and_year_shows_its_follow_up_and_is_kept_as_a_draft(app, page: Page,
                                                                      patient: Patient):
    from .test_patient_pages_browser import wait_for_draft

    answers = patient.example("moderate tier - two-level fusion")
    token = patient.new_token()
    patient.seed(page, token, answers, until="habits")
    page.locator("label[for=q_nicotine-1]").tap()  # I used to, but I have stopped
    expect(page.locator("#question-quit_date legend")).to_contain_text("When did you stop?")
    expect(page.locator("#question-quit_date input")).to_have_count(2)  # month, year: no day
    page.locator("#q_quit_date_month").fill("6")
    page.locator("#q_quit_date_year").fill("2021")
    kept = wait_for_draft(app, token, "habits")
    assert kept["q_quit_date_month"] == ["6"] and kept["q_quit_date_year"] == ["2021"]
    page.goto(f"/s/{token}/step/habits")  # opened again: the draft is shown
    expect(page.locator("#draft-restored")).to_be_visible()
    expect(page.locator("#q_quit_date_month")).to_have_value("6")
    expect(page.locator("#q_quit_date_year")).to_have_value("2021")


# --- 7. without JavaScript ------------------------------------------------------------------------


def test_without_javascript_the_server_evaluates_the_branches(patient: Patient, make_context):
    page = make_context(java_script_enabled=False).new_page()
    token = patient.new_token()
    patient.start(page, token)
    patient.wait_for_step(page, "about_surgery")

    levels = page.locator("#question-fusion_levels")
    expect(levels).to_be_hidden()
    page.locator("#q_surgery_region-0").check()
    page.locator("#q_surgery_type-2").check()  # Fusion: no script reveals the follow-ups
    page.locator("#q_prior_spine_surgery-0").check()  # Yes: the earlier-surgery step follows
    expect(levels).to_be_hidden()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()

    # The server re-evaluated the branch: the follow-ups are now shown, and required.
    assert patient.step_id(page) == "about_surgery"
    expect(page.locator("#error-summary")).to_be_visible()
    for question_id in ("fusion_levels", "fusion_approach"):
        expect(page.locator(f"#question-{question_id}")).to_be_visible()
        expect(page.locator(f"#q_{question_id}-error")).to_be_visible()
    expect(page.locator("#q_surgery_type-2")).to_be_checked()
    expect(page.locator("#q_prior_spine_surgery-0")).to_be_checked()

    page.locator("#q_fusion_levels-0").check()
    page.locator("#q_fusion_approach-0").check()
    patient.press_continue(page)
    patient.wait_for_step(page, "earlier_surgery")

    # Back, answer No to the earlier operation: the server skips that step.
    with page.expect_navigation():
        page.locator("a.back-link").click()
    page.locator("#q_prior_spine_surgery-1").check()
    patient.press_continue(page)
    patient.wait_for_step(page, "medical_history")


# --- 6. no sideways scrolling on a small phone ----------------------------------------------------


def assert_no_sideways_scroll(page: Page, width: int = 360) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => Array.from(document.querySelectorAll('body *'))
                .filter(el => el.getBoundingClientRect().right > w + 0.5)
                .slice(0, 5).map(el => el.outerHTML.slice(0, 120))""", width)
    assert scroll <= width, f"{page.url}: scrollWidth {scroll} > {width}: {wide}"


def test_no_horizontal_scrolling_at_360px(patient: Patient, make_context):
    page = make_context(viewport={"width": 360, "height": 740}).new_page()
    answers = patient.example("high tier - long revision")
    token = patient.new_token()
    page.goto(f"/s/{token}")
    assert_no_sideways_scroll(page)
    patient.start(page, token)
    steps = 0
    while patient.step_id(page):  # every step, including the long option labels of step 1
        patient.fill_step(page, answers)
        page.locator(".step-list summary").click()  # the step list open, too
        assert_no_sideways_scroll(page)
        patient.press_continue(page)
        steps += 1
    assert steps >= 9
    page.wait_for_url(re.compile(r"/review$"))
    assert_no_sideways_scroll(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Send my answers").click()
    assert_no_sideways_scroll(page)


ANSWER_FIELD_STEPS = {"about_surgery": ["surgery_date"], "habits": ["quit_date"],
                      "pain": ["other_pain_areas"], "medical_history": ["height", "weight"]}


def shoot(page: Page, question_ids: list[str], path: Path) -> None:
    """The questions (one picture, from the first's top to the last's bottom), full width."""
    boxes = [page.locator(f"#question-{qid}").bounding_box() for qid in question_ids]
    top = min(b["y"] for b in boxes) + page.evaluate("window.scrollY") - 8
    bottom = max(b["y"] + b["height"] for b in boxes) + page.evaluate("window.scrollY") + 8
    width = page.evaluate("document.documentElement.clientWidth")
    page.screenshot(path=str(path), full_page=True, scale="css",
                    clip={"x": 0, "y": max(top, 0), "width": width, "height": bottom - top})
NOWHERE_ELSE = "#q_other_pain_areas-6"  # the last option, after "or"


@pytest.mark.parametrize("width", [390, 320])
def test_the_answer_fields_fit_a_small_phone_with_large_text(patient: Patient, make_context,
                                                             app, width: int):
    """The date, month and year, pain-areas and US-unit boxes at 390 and 320 px, with errors,
    and at 320 px with the text at 200%: nothing scrolls sideways. Screenshots in
    /tmp/answers-shots/ to look at."""
    app.config["SCREENING_UNITS"] = "us"
    folder = SCREENSHOTS.parent / "answers-shots"
    folder.mkdir(parents=True, exist_ok=True)
    page = make_context(viewport={"width": width, "height": 740}).new_page()
    answers = patient.example("moderate tier - two-level fusion")  # a former smoker
    token = patient.new_token()
    patient.seed(page, token, answers, until="mood")
    for step_id, question_ids in ANSWER_FIELD_STEPS.items():
        page.goto(f"/s/{token}/step/{step_id}")
        bad = {"about_surgery": ("#q_surgery_date_month", "13"),
               "habits": ("#q_quit_date_year", "21"),
               "medical_history": ("#q_weight_lb", "heavy")}.get(step_id)
        patient.fill_step(page, answers)
        if step_id == "pain":  # an area and "Nowhere else", as a page without the script sends
            page.locator("#q_other_pain_areas-0").check()
            page.locator(NOWHERE_ELSE).evaluate("el => { el.checked = true; }")
        if step_id == "medical_history":
            page.locator("#q_weight").fill("")
        if bad:
            page.locator(bad[0]).fill(bad[1])
        with page.expect_navigation():
            page.locator("form.step-form button[type=submit]").click()
        expect(page.locator("#error-summary")).to_be_visible()
        assert_no_sideways_scroll(page, width)
        shoot(page, question_ids, folder / f"{width}-{step_id}-errors.png")
        if width == 320:
            page.evaluate("document.documentElement.style.fontSize = '200%'")
            assert_no_sideways_scroll(page, width)
            shoot(page, question_ids, folder / f"{width}-{step_id}-text-200.png")
            page.evaluate("document.documentElement.style.fontSize = ''")
        if bad:
            page.locator(bad[0]).fill("")
        patient.fill_step(page, answers)
        if step_id == "pain":
            page.locator("#q_other_pain_areas-0").uncheck()
            page.locator(NOWHERE_ELSE).uncheck()
        if step_id == "medical_history":
            page.locator("#q_weight_lb").fill("")
        patient.press_continue(page)


def test_no_horizontal_scrolling_at_360px_with_errors(patient: Patient, make_context):
    page = make_context(viewport={"width": 360, "height": 740}).new_page()
    patient.start(page, patient.new_token())
    page.locator("#q_surgery_type-2").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert_no_sideways_scroll(page)


# --- 8. screenshots for people to look at ---------------------------------------------------------


def test_screenshots(patient: Patient, make_context, backend: str):
    answers = patient.example("self-harm flag")
    saved = []
    for label, args in [("390x844", {}), ("1280x900", DESKTOP_ARGS)]:
        folder = SCREENSHOTS / backend / label
        folder.mkdir(parents=True, exist_ok=True)
        page = make_context(**args).new_page()

        def shot(name: str, page: Page = page, folder: Path = folder) -> None:
            path = folder / f"{len(saved) % 6 + 1:02d}-{name}.png"
            # CSS pixels: a 2x phone PNG of a long page takes seconds to encode.
            page.screenshot(path=str(path), full_page=True, scale="css")
            saved.append(path)

        token = patient.new_token()
        page.goto(f"/s/{token}")
        shot("welcome")
        patient.start(page, token)
        shot("step-1")
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()
        expect(page.locator("#error-summary")).to_be_visible()
        shot("step-1-errors")
        patient.seed(page, token, answers, until="mood")
        patient.fill_step(page, answers)
        expect(page.locator('[data-flag="self_harm"]')).to_be_visible()
        shot("mood-self-harm")
        patient.press_continue(page)
        patient.seed(page, token, answers)
        shot("review")
        with page.expect_navigation():
            page.get_by_role("button", name="Send my answers").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(RESULT_HEADING)
        shot("result")
    assert len(saved) == 12
    for path in saved:
        assert path.stat().st_size > 1000, path
