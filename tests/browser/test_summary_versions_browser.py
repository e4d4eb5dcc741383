"""The PDF summary's versions in a real browser, CSRF on: a clinician finds the summary being
prepared, the worker renders it, acknowledging a flag makes a new version whose page 1 names
them, and every version stays downloadable. Phone (390 px) and desktop (1280 px): nothing wider
than the screen, no serious axe finding. Screenshots go to /tmp/summary-shots."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from playwright.sync_api import Page, expect

from screening import queue
from screening.domain.accounts import create_user
from screening.extensions import db
from tests import factories

from .conftest import DESKTOP_ARGS
from .test_clinic_entries_browser import no_serious_axe_finding, no_wider_than_the_screen
from .test_staff_journey import PASSWORD, sign_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/summary-shots")
CLINICIAN = "dr.osei@riverside.example"


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def clinician(app) -> None:
    with app.app_context():
        create_user(CLINICIAN, PASSWORD, ["clinician"], "Dr Ama Osei")
        db.session.commit()


def page_one(page: Page, link_name: str) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    content = Path(info.value.path()).read_bytes()
    return " ".join(pypdf.PdfReader(io.BytesIO(content)).pages[0].extract_text().split())


@pytest.mark.parametrize("backend", ["sqlite"])  # the page looks the same on PostgreSQL
def test_a_clinician_follows_the_summary_through_its_versions(app, clinician, make_context):
    ident, _ = factories.submitted(app, "self-harm flag", "Beatriz Costa")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = sign_in(make_context(**DESKTOP_ARGS), CLINICIAN)
    page.goto(f"/staff/screenings/{ident}")
    expect(page.get_by_role("link", name="PDF summary: being prepared")).to_be_visible()
    page.get_by_role("link", name="PDF summary: being prepared").click()
    expect(page.get_by_role("heading", name="The PDF summary is being prepared")).to_be_visible()
    page.screenshot(path=str(SHOTS / "pending-1280.png"), full_page=True)
    no_serious_axe_finding(page)

    queue.run_pending(app)  # the worker
    page.goto(f"/staff/screenings/{ident}")
    first = page_one(page, "Download PDF summary (version 1)")
    assert "Open, not yet acknowledged" in first

    page.get_by_label("What was done", exact=False).first.fill(
        "Phoned the patient; crisis line given"
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Acknowledge", exact=False).first.click()
    expect(page.get_by_text("is being prepared")).to_be_visible()
    queue.run_pending(app)
    page.reload()
    second = page_one(page, "Download PDF summary (version 2)")
    assert "Acknowledged by Dr Ama Osei" in second
    assert "Phoned the patient; crisis line given" in second
    versions = page.locator("ul.versions")
    expect(versions).to_contain_text("Red flag acknowledged")
    expect(versions).to_contain_text("Answers submitted")
    page.screenshot(path=str(SHOTS / "versions-1280.png"), full_page=True)
    no_serious_axe_finding(page)

    phone = sign_in(make_context(), CLINICIAN)
    phone.goto(f"/staff/screenings/{ident}")
    expect(phone.get_by_role("link", name="Version 1")).to_be_visible()
    phone.screenshot(path=str(SHOTS / "versions-390.png"), full_page=True)
    no_wider_than_the_screen(phone)
