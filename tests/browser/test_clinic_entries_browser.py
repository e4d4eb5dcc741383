"""The clinic's entries in a real browser, CSRF on: intake staff enter them on the invitation and
change them on the screening's page; a clinician reads the axes, the unknowns and the entries on a
phone (390 px) and a desktop (1280 px): nothing wider than the screen, no serious axe finding.
Screenshots go to /tmp/clinic-shots for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from screening.domain.accounts import create_user
from screening.extensions import db
from tests import factories

from .conftest import DESKTOP_ARGS, MOBILE
from .test_staff_journey import PASSWORD, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/clinic-shots")
CLINIC_YAML = Path(__file__).resolve().parent.parent / "fixtures" / "clinic.yaml"
INTAKE = "frontdesk@riverside.example"
CLINICIAN = "dr.osei@riverside.example"
REVISION = "Have you had an operation on this part of your spine before?"
PATIENT = {
    "procedure": "not_sure", "revision": "yes", "smoker": False, "diabetes": "not_sure",
    "m1": 2, "m2": 2, "worry": True,
}  # fmt: skip


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True, "SCREENING_QUESTIONNAIRE": str(CLINIC_YAML)}


@pytest.fixture
def accounts(app) -> None:
    with app.app_context():
        create_user(INTAKE, PASSWORD, ["intake"], "Front Desk")
        create_user(CLINICIAN, PASSWORD, ["clinician"], "Dr Ama Osei")
        db.session.commit()


def no_wider_than_the_screen(page: Page) -> None:
    width = page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > w + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className)""",
        width,
    )
    assert scroll <= width, f"{page.url}: scrollWidth {scroll} > {width}: {wide}"


def no_serious_axe_finding(page: Page) -> None:
    violations = Axe().run(page).response["violations"]
    bad = [(v["id"], v["help"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, bad


@pytest.mark.parametrize("backend", ["sqlite"])  # the pages look the same on PostgreSQL
def test_intake_enters_and_changes_the_clinics_entries(app, accounts, make_context):
    page = sign_in(make_context(**DESKTOP_ARGS), INTAKE)
    page.goto("/staff/invitations/new")
    fieldset = page.locator("fieldset.clinic-entries")
    expect(fieldset.locator("legend")).to_have_text(
        "What the clinic knows about the planned surgery"
    )
    page.locator("#patient_name").fill("Gideon Park")
    page.locator("#patient_dob").fill("1961-02-03")
    page.get_by_label("Send the link by e-mail now").uncheck()
    page.get_by_label("Which operation is planned?").select_option("fusion")
    page.get_by_label("How many levels are planned?").fill("9")
    with page.expect_navigation():
        page.get_by_role("button", name="Create invitation").click()
    expect(page.locator("#error-summary")).to_contain_text("Please enter a number between 1 and 6.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "invitation-error-1280.png"), full_page=True)
    page.get_by_label("How many levels are planned?").fill("2")
    with page.expect_navigation():
        page.get_by_role("button", name="Create invitation").click()
    form = page.locator("form[action$='/clinic-answers']")
    expect(form.get_by_label("Which operation is planned?")).to_have_value("fusion")
    expect(form.get_by_label("How many levels are planned?")).to_have_value("2")
    form.get_by_label(REVISION).select_option("yes")
    with page.expect_navigation():
        form.get_by_role("button", name="Save the clinic's entries").click()
    expect(page.get_by_text("The clinic's entries are saved.")).to_be_visible()
    expect(form.get_by_label(REVISION)).to_have_value("yes")
    no_serious_axe_finding(page)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_clinician_reads_axes_unknowns_and_entries(app, accounts, make_context):
    ident, _ = factories.screening(
        app, "Beatriz Costa", surgeon="Dr Lindqvist", patient_mrn="M-1002",
        clinic_answers={"procedure": "decompression", "levels": 1, "revision": "no"},
    )  # fmt: skip
    factories.answer_and_submit(app, ident, PATIENT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, args in (("390", {}), ("1280", DESKTOP_ARGS)):
        page = sign_in(make_context(**args), CLINICIAN)
        page.goto(f"/staff/screenings/{ident}")
        expect(page.locator("#assessment")).to_contain_text("Risk tier: Moderate")
        expect(page.locator("#unknowns")).to_have_text("Unknown, to verify")
        differs = page.get_by_text("Differs: the patient answered Yes, the clinic entered No")
        expect(differs).to_be_visible()
        if label == "390":
            assert page.viewport_size["width"] == MOBILE["width"]
        page.screenshot(path=str(SHOTS / f"screening-clinician-{label}.png"), full_page=True)
        no_wider_than_the_screen(page)
        no_serious_axe_finding(page)
