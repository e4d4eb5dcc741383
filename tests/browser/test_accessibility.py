"""axe-core on every kind of patient page: no "serious" or "critical" violations.

Checked on a phone (390x844, the default context) and on a desktop (1280x900). Violations of lower
impact are printed (run with -s) but do not fail the tests.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .conftest import DESKTOP_ARGS, Patient

pytestmark = pytest.mark.browser

FAILING_IMPACTS = {"serious", "critical"}
VIEWPORTS = {"phone": {}, "desktop": DESKTOP_ARGS}

_axe = Axe()


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v.get('helpUrl', '')}]")
        for node in v["nodes"][:8]:
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"      {summary[:240]}")
    return "\n".join(lines)


class AxeReport:
    """Runs axe on several pages of one test and fails once, listing every page's problems."""

    def __init__(self, label: str):
        self.label, self.failures, self.notes = label, [], []

    def check(self, page: Page, name: str) -> None:
        violations = _axe.run(page).response["violations"]
        bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        minor = [v for v in violations if v["impact"] not in FAILING_IMPACTS]
        if bad:
            self.failures.append(f"{name} ({page.url}):\n{describe(bad)}")
        if minor:
            self.notes.append(f"{name}: {describe(minor)}")

    def assert_clean(self) -> None:
        if self.notes:
            print(f"\naxe, {self.label}, minor or moderate findings:\n" + "\n".join(self.notes))
        found = "\n".join(self.failures)
        assert not self.failures, f"axe: serious or critical violations ({self.label}):\n{found}"


@pytest.fixture(params=list(VIEWPORTS))
def viewport_page(request: pytest.FixtureRequest, make_context) -> tuple[str, Page]:
    return request.param, make_context(**VIEWPORTS[request.param]).new_page()


def test_welcome_and_step_pages(viewport_page: tuple[str, Page], patient: Patient):
    label, page = viewport_page
    report = AxeReport(label)
    token = patient.new_token()
    page.goto(f"/s/{token}")
    report.check(page, "welcome")

    patient.start(page, token)
    patient.wait_for_step(page, "about_surgery")
    report.check(page, "step 1")
    page.locator("#q_surgery_type-2").check()  # Fusion: the follow-ups appear
    expect(page.locator("#question-fusion_levels")).to_be_visible()
    page.locator(".step-list summary").click()
    report.check(page, "step 1 with follow-ups and the step list open")

    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary")).to_be_visible()
    report.check(page, "step 1 with errors")

    page.goto(f"/s/{token}/step/habits")  # not reached yet: the friendly step error page
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("haven't reached"))
    report.check(page, "step not reached")
    report.assert_clean()


def test_mood_review_and_result_pages(viewport_page: tuple[str, Page], patient: Patient):
    label, page = viewport_page
    report = AxeReport(label)
    answers = patient.example("self-harm flag")
    token = patient.new_token()
    patient.seed(page, token, answers, until="mood")
    patient.fill_step(page, answers)
    expect(page.locator('[data-flag="self_harm"]')).to_be_visible()
    report.check(page, "mood step with the self-harm box")

    patient.press_continue(page)
    patient.seed(page, token, answers)
    report.check(page, "review")

    with page.expect_navigation():
        page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(re.compile(r"/result$"))
    report.check(page, "result")

    page.context.clear_cookies()  # another browser opens the used link
    page.goto(f"/s/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("already been sent"))
    report.check(page, "link already used")
    report.assert_clean()


@pytest.mark.parametrize("width", [390, 320])
def test_answer_fields_at_phone_widths(make_context, patient: Patient, app, width: int):
    """The day, month and year boxes, the month and year, "Nowhere else" after "or" and the US
    units first (issue 20, items 3, 7, 8, 13), as answered and with their errors."""
    app.config["SCREENING_UNITS"] = "us"
    report = AxeReport(f"{width} px")
    page = make_context(viewport={"width": width, "height": 740}).new_page()
    answers = patient.example("moderate tier - two-level fusion")
    token = patient.new_token()
    patient.seed(page, token, answers, until="mood")
    page.goto(f"/s/{token}/step/pain")
    report.check(page, "pain areas")
    page.goto(f"/s/{token}/step/about_surgery")
    report.check(page, "a date in three boxes")
    page.locator("#q_surgery_date_day").fill("31")
    page.locator("#q_surgery_date_month").fill("2")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary")).to_be_visible()
    report.check(page, "a date that is not a real one")
    page.goto(f"/s/{token}/step/habits")
    expect(page.locator("#q_quit_date_month")).to_be_visible()
    report.check(page, "a month and a year")
    page.goto(f"/s/{token}/step/medical_history")
    page.locator("#q_weight").fill("")
    page.locator("#q_weight_lb").fill("heavy")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.locator("#q_weight_lb")).to_have_class(re.compile(r"\binput-error\b"))
    report.check(page, "pounds first, with letters in the pounds box")
    report.assert_clean()
