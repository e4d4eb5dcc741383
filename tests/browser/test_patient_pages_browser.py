"""Issue 20's patient pages in Chromium, on a phone (390 px) and a desktop (1280 px), in English
and Spanish, axe-core clean on every page: the steps promised and counted (item 6), the stem with
every PHQ-9 and GAD-7 item (9), "Change" links and a compact review page (10), the reference
number (11), three things to work on first (12), nothing sideways at 320 px with text at 200%
(13), and a locked phone that loses nothing (14); Continue without JavaScript.

Screenshots of every page are written to /tmp/screenshots/pages/ to look at.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from screening.extensions import db
from screening.models import Draft, Screening, hash_token

from .conftest import DESKTOP_ARGS, Patient, option_index
from .test_accessibility import AxeReport

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/screenshots/pages")
VIEWPORTS = {"390": {}, "1280": DESKTOP_ARGS}
HIGH = "high tier - long revision"  # four modifiable factors beyond the first three
WORDS = {
    "en": {"start": "Start", "continue": "Continue", "step": "Step {} of {}",
           "up_to": "in up to {} short steps", "change": "Change", "save_back":
           "Save and return to review", "send": "Send my answers",
           "reference": "Your reference number", "more": "More things that may help (4)",
           "restored": "We kept what you had entered on this page",
           "stem": "Over the last 2 weeks, how often have you been bothered by any of the "
                   "following problems?"},
    "es": {"start": "Comenzar", "continue": "Continuar", "step": "Paso {} de {}",
           "up_to": "en {} pasos cortos como máximo", "change": "Cambiar", "save_back":
           "Guardar y volver a la revisión", "send": "Enviar mis respuestas",
           "reference": "Su número de referencia", "more": "Más cosas que pueden ayudar (4)",
           "restored": "Guardamos lo que había escrito en esta página",
           "stem": "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias "
                   "debido a los siguientes problemas?"},
}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, scale="css")


def drafts_of(app, token: str) -> dict[str, dict]:
    with app.app_context():
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token)))
        found = {d.step_id: d.fields for d in db.session.scalars(
            sa.select(Draft).where(Draft.screening_id == screening.id))}
        db.session.remove()
    return found


def wait_for_draft(app, token: str, step_id: str, seconds: float = 5) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = drafts_of(app, token).get(step_id)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no draft of {step_id} was kept")


def reached_step(page: Page, words: dict) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=words["start"]).click()


@pytest.fixture(params=[(v, lang) for v in VIEWPORTS for lang in ("en", "es")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def seen(request, make_context) -> tuple[str, str, Page]:
    size, language = request.param
    return size, language, make_context(**VIEWPORTS[size]).new_page()


# --- items 6, 9, 10, 11, 12: every page, both sizes, both languages, axe clean -------------------


def test_the_patient_pages_of_issue_20(seen, patient: Patient, app):
    size, language, page = seen
    words = WORDS[language]
    report = AxeReport(f"{size} {language}")
    token = patient.new_token(language=language)
    name = f"{size}-{language}"

    # Item 6: the welcome page promises the number the first step counts.
    page.goto(f"/s/{token}")
    expect(page.locator("main")).to_contain_text(words["up_to"].format(11))
    report.check(page, "welcome")
    shot(page, f"{name}-01-welcome")
    reached_step(page, words)
    expect(page.locator("#progress-label")).to_have_text(words["step"].format(1, 11))
    page.locator(".step-list summary").click()
    expect(page.locator(".step-list li")).to_have_count(11)
    report.check(page, "step 1 with its step list")
    shot(page, f"{name}-02-step-1")

    # Item 9: on the mood step the stem is with every item, and in its question's name.
    answers = patient.example(HIGH)
    patient.seed(page, token, answers, until="mood")
    first = page.get_by_role("group", name=re.compile(re.escape(words["stem"])))
    expect(first).to_have_count(9)
    item = page.locator("#question-phq9_7 legend .question-stem")
    item.scroll_into_view_if_needed()
    expect(item).to_be_visible()
    expect(item).to_be_in_viewport()
    report.check(page, "mood step with stems")
    shot(page, f"{name}-03-mood")

    # Item 10: the review page, a Change link per answer, and the round trip.
    patient.seed(page, token, answers)
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"\nreview page, {size} px, {language}: {height} px tall")
    report.check(page, "review")
    shot(page, f"{name}-04-review")
    question = patient.q.localized(language).questions["back_pain"]
    change = page.get_by_role("link", name=re.compile(re.escape(question.label)))
    expect(change).to_have_count(1)
    expect(change).to_contain_text(words["change"])
    with page.expect_navigation():
        change.click()
    assert re.search(r"/step/pain\?return_to=review#question-back_pain$", page.url), page.url
    expect(page.locator("#q_back_pain")).to_be_focused()
    page.locator("#q_back_pain").fill("3")
    report.check(page, "a step opened from the review page")
    with page.expect_navigation():
        page.get_by_role("button", name=words["save_back"]).click()
    page.wait_for_url(re.compile(r"/review$"))
    row = page.locator(".summary-row", has=page.locator("dt", has_text=question.label))
    expect(row.locator(".summary-value")).to_have_text("3")

    # Items 11 and 12: the confirmation with its reference, three things first, then "more".
    with page.expect_navigation():
        page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url(re.compile(r"/result$"))
    panel = page.locator(".panel-confirmation")
    expect(panel).to_contain_text(words["reference"])
    expect(panel.locator(".reference")).to_have_text(re.compile(r"^S-\d{6}$"))
    expect(page.locator("#work-on > li")).to_have_count(3)
    more = page.locator("details.more-work-on")
    expect(more.locator("summary")).to_have_text(words["more"])
    expect(more.locator("li").first).to_be_hidden()
    report.check(page, "result")
    shot(page, f"{name}-05-result")
    more.locator("summary").click()
    expect(more.locator("li")).to_have_count(4)
    expect(more.locator("li").first).to_be_visible()
    report.check(page, "result with more opened")
    report.assert_clean()


def test_review_page_height_on_a_phone(patient: Patient, page: Page):
    """Issue 20 item 10: the review page was about 10,900 px tall on a phone (11,304 px with
    this example before the change, without any Change link); 8,251 px with a Change link per
    answer. Kept under 8,600."""
    token = patient.new_token()
    patient.seed(page, token, patient.example("moderate tier - two-level"))
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"\nreview page at 390 px: {height} px")
    assert height < 8600, height


# --- item 14: a locked phone that loses nothing --------------------------------------------------


@pytest.mark.parametrize("how", ["locked", "closed"])
def test_a_locked_phone_loses_nothing(patient: Patient, app, make_context, how: str):
    token = patient.new_token()
    answers = patient.example(HIGH)
    phone = make_context().new_page()
    patient.seed(phone, token, answers, until="habits")
    # Half the step: nicotine (which opens its follow-up) and one follow-up answered.
    patient.fill_question(phone, patient.q.questions["nicotine"], "current")
    expect(phone.locator("#question-nicotine_forms")).to_be_visible()
    phone.locator("#q_nicotine_forms-0").check()
    if how == "locked":
        with phone.expect_response(re.compile(r"/step/habits/draft$")) as sent:
            phone.evaluate("""() => {
                Object.defineProperty(document, 'visibilityState', {value: 'hidden'});
                document.dispatchEvent(new Event('visibilitychange'));
            }""")
        assert sent.value.status == 204
    else:
        phone.close(run_before_unload=True)  # pagehide: the beacon
    kept = wait_for_draft(app, token, "habits")
    assert kept["q_nicotine"] == ["current"]
    # Not an answer: nothing saved for the step.
    with app.app_context():
        from screening.domain import answering
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token)))
        assert "nicotine" not in answering.saved_answers(screening)
        assert "habits" not in answering.steps_done(screening)
        db.session.remove()

    # The link opened again on another browser: the answers are back where they were.
    again = make_context().new_page()
    again.goto(f"/s/{token}")
    reached_step(again, {"start": "Continue where I left off"})
    patient.wait_for_step(again, "habits")
    expect(again.locator("#draft-restored")).to_contain_text(WORDS["en"]["restored"])
    current = option_index(patient.q.questions["nicotine"], "current")
    expect(again.locator(f"#q_nicotine-{current}")).to_be_checked()
    expect(again.locator("#q_nicotine_forms-0")).to_be_checked()
    expect(again.locator("#question-nicotine_forms")).to_be_visible()
    report = AxeReport("draft restored")
    report.check(again, "a step with its draft restored")
    report.assert_clean()
    shot(again, f"390-en-06-draft-restored-{how}")
    patient.fill_step(again, answers)
    patient.press_continue(again)
    assert drafts_of(app, token) == {}


def test_a_draft_is_saved_as_the_patient_answers(patient: Patient, app, page: Page):
    token = patient.new_token()
    patient.seed(page, token, patient.example("low tier"), until="life_and_work")
    page.locator("#q_goals").fill("Walk to the shops")
    assert wait_for_draft(app, token, "life_and_work")["q_goals"] == ["Walk to the shops"]
    page.locator("#q_goals").fill("Walk to the shops and back")
    deadline = time.monotonic() + 5
    while drafts_of(app, token)["life_and_work"]["q_goals"] != ["Walk to the shops and back"]:
        assert time.monotonic() < deadline, drafts_of(app, token)
        time.sleep(0.1)


def test_continue_without_javascript(patient: Patient, app, make_context):
    """Without the script, Continue saves as before and no draft is made."""
    page = make_context(java_script_enabled=False).new_page()
    token = patient.new_token()
    answers = patient.example("low tier")
    patient.start(page, token)
    visited = []
    while step_id := patient.step_id(page):
        # Without the script, a follow-up shows once its question is sent: answer what is
        # shown, Continue, and answer again what the page then asks for.
        for _ in range(3):
            for question in patient.q.step_by_id[step_id].questions:
                shown = page.locator(f"#question-{question.id}").is_visible()
                if shown and question.id in answers:
                    patient.fill_question(page, question, answers[question.id])
            with page.expect_navigation():
                page.locator("form.step-form button[type=submit]").click()
            if not page.locator("#error-summary").count():
                break
        visited.append(step_id)
        if step_id == "pain":
            page.goto(f"/s/{token}/step/pain")  # leaving a page keeps nothing without the script
            page.locator("#q_back_pain").fill("4")
            page.goto(f"/s/{token}/step/safety")
        assert len(visited) < 15
    page.wait_for_url(re.compile(r"/review$"))
    assert visited[:3] == ["about_surgery", "medical_history", "pain"]
    assert drafts_of(app, token) == {}
    expect(page.locator(".summary-action a").first).to_be_visible()


# --- item 13: nothing sideways at 320 px with the browser's text at 200% -------------------------


def text_at_200_percent(page: Page) -> None:
    """The browser's text size setting doubled (Chrome's default font size 16 -> 32 px): what a
    patient who enlarges text gets; the pages size everything in rem, so all of it grows."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})


def shot_at_200_percent(page: Page, name: str) -> None:
    """A full-page screenshot resets the emulated font sizes while it is taken: the same size is
    set in the page's CSS for it."""
    page.evaluate("document.documentElement.style.fontSize = '32px'")
    shot(page, name)


def assert_fits(page: Page, name: str, width: int = 320) -> None:
    size = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert size == 32, f"{name}: the text is not at 200% ({size}px)"
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => Array.from(document.querySelectorAll('body *'))
                .filter(el => el.getBoundingClientRect().right > w + 0.5)
                .slice(0, 5).map(el => el.outerHTML.slice(0, 140))""", width)
    assert scroll <= width, f"{name} ({page.url}): scrollWidth {scroll} > {width}: {wide}"


@pytest.mark.parametrize("language", ["en", "es"])
def test_nothing_overflows_at_320px_with_text_at_200_percent(patient: Patient, make_context,
                                                             language: str):
    page = make_context(viewport={"width": 320, "height": 640}).new_page()
    text_at_200_percent(page)
    words = WORDS[language]
    token = patient.new_token(language=language)
    answers = patient.example(HIGH)
    page.goto(f"/s/{token}")
    assert_fits(page, "welcome")
    reached_step(page, words)
    page.locator(".step-list summary").click()
    assert_fits(page, "step 1 with its step list")
    with page.expect_navigation():
        page.get_by_role("button", name=words["continue"]).click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert_fits(page, "step 1 with errors")
    for step_id in ("medical_history", "pain", "habits", "mood", "worry", "back_pain_outlook",
                    "life_and_work"):
        patient.seed(page, token, answers, until=step_id)
        patient.fill_step(page, answers)
        assert_fits(page, step_id)
        # Leaving by address: no draft is sent on the way out (the step is posted next, and a
        # request still running when the test ends would outlive its server).
        page.evaluate("document.querySelector('form.step-form').dispatchEvent(new Event('submit'))")
        if step_id == "habits":
            shot_at_200_percent(page, f"320-200pc-{language}-habits")
    patient.seed(page, token, answers)
    assert_fits(page, "review")
    shot_at_200_percent(page, f"320-200pc-{language}-review")
    with page.expect_navigation():
        page.get_by_role("button", name=words["send"]).click()
    page.wait_for_url(re.compile(r"/result$"))
    page.locator("details.more-work-on summary").click()
    assert_fits(page, "result (the confirmation)")
    shot_at_200_percent(page, f"320-200pc-{language}-result")


def test_the_identity_check_fits_at_320px_with_text_at_200_percent(patient: Patient, app,
                                                                    make_context):
    import datetime as dt

    from screening.domain import links

    first = make_context().new_page()
    token = patient.new_token(patient_dob=dt.date(1961, 3, 27))
    patient.seed(first, token, patient.example("low tier"), until="pain")
    with app.app_context():
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token)))
        new_token = links.new_link(screening)
        db.session.commit()
        db.session.remove()
    page = make_context(viewport={"width": 320, "height": 640}).new_page()
    text_at_200_percent(page)
    page.goto(f"/s/{new_token}")
    page.wait_for_url(re.compile(r"/confirm$"))
    assert_fits(page, "identity check")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert_fits(page, "identity check with an error")
