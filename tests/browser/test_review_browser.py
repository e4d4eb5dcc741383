"""The review workflow in the system Chromium, on a phone and on a desk: the dashboard names the
most urgent red flag; a clinician marks a screening reviewed with a note, finds it with the
dashboard's review filter, and undoes the review. Times are the clinic's (New York). Each page
is checked with axe-core; screenshots at 390 px and 1280 px go to /tmp/staff-shots/review-*
(outside the repository)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.staff.conftest import make_user
from tests.staff.test_review_workflow import CAUDA, emergency_and_same_day

from .conftest import DESKTOP, MOBILE
from .test_accessibility import AxeReport
from .test_staff_accounts import SHOTS, shot, sign_in

pytestmark = pytest.mark.browser

CLINICIAN = "dr.osei@riverside.example"
ADMIN = "it.office@riverside.example"
INTAKE = "frontdesk@riverside.example"
NOTE = "Discussed with Dr Osei; refer to pain psychology before the fusion."
VIEWPORTS = {
    "390": {"viewport": MOBILE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "1280": {"viewport": DESKTOP, "is_mobile": False, "has_touch": False,
             "device_scale_factor": 1},
}


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True, "SCREENING_TIMEZONE": "America/New_York"}


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_mark_reviewed_with_a_note_find_it_and_undo(app, make_context, width):
    axe = AxeReport(f"review at {width} px")
    clinician = make_user(app, CLINICIAN, ["clinician"])
    ident = emergency_and_same_day(app, "Zoë Hartmann", surgeon="Dr Osei")
    factories.submitted(app, "low tier", name="Liam Low")
    page = make_context(**VIEWPORTS[width]).new_page()
    sign_in(page, clinician.email, clinician.password)

    # The dashboard names the emergency, counts the other flag, says it is open.
    row = page.locator("table.screenings tbody tr", has_text="Zoë Hartmann")
    expect(row.locator(".flag-summary")).to_have_text(f"Emergency: {CAUDA}")
    expect(row).to_contain_text("+1 more")
    expect(row.locator(".flag-marker")).to_have_text("Open")
    shot(page, f"review-{width}-dashboard", axe)

    # The screening's page: the emergency first, then the review box.
    with page.expect_navigation():
        row.get_by_role("link", name="Zoë Hartmann").click()
    expect(page.locator("#flags ~ article h3").first).to_contain_text(CAUDA)
    invited = page.locator(".facts-grid div", has=page.get_by_text("Invited", exact=True))
    expect(invited.locator("dd")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T$"))
    review = page.locator("section", has=page.locator("#review"))
    expect(review).to_contain_text("Not reviewed yet.")
    review.get_by_label("Note (optional)").fill(NOTE)
    shot(page, f"review-{width}-screening-before-review", axe)
    review.screenshot(path=SHOTS / f"review-{width}-box-before.png")
    with page.expect_navigation():
        review.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_role("status").filter(has_text="Marked as reviewed.")).to_be_visible()
    expect(review).to_contain_text(re.compile(
        r"Reviewed \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T by dr\.osei@riverside\.example\."))
    expect(review).to_contain_text(f"Note: {NOTE}")
    review.scroll_into_view_if_needed()
    shot(page, f"review-{width}-screening-reviewed", axe)
    review.screenshot(path=SHOTS / f"review-{width}-box-reviewed.png")

    # The dashboard's filter finds it.
    page.goto("/staff/")
    page.get_by_label("Review").select_option(label="Reviewed")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"reviewed=yes"))
    rows = page.locator("table.screenings tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Zoë Hartmann")
    expect(rows.first.locator(".reviewed-mark")).to_contain_text("Reviewed 20")
    shot(page, f"review-{width}-dashboard-reviewed-filter", axe)

    # Undo: the review is gone, from the page and from the filter.
    page.goto(f"/staff/screenings/{ident}")
    with page.expect_navigation():
        page.get_by_role("button", name="Undo review").click()
    expect(page.get_by_role("status").filter(has_text="The review is undone")).to_be_visible()
    expect(review).to_contain_text("Not reviewed yet.")
    expect(review.get_by_label("Note (optional)")).to_have_value("")
    shot(page, f"review-{width}-screening-undone", axe)
    page.goto("/staff/?reviewed=yes")
    expect(page.locator("table.screenings tbody")).to_contain_text("No screenings match.")
    page.goto("/staff/?reviewed=no")
    expect(page.locator("table.screenings tbody tr")).to_have_count(2)
    axe.assert_clean()


def test_the_other_staff_pages_of_this_change(app, make_context):
    """The pages this change touched beside the review, looked at: "Add a user" (its role
    checkboxes), the audit log with a reference that is not one, the 403 page."""
    axe = AxeReport("users, audit, 403")
    admin = make_user(app, ADMIN, ["admin"])
    intake = make_user(app, INTAKE, ["intake"])
    for width, args in VIEWPORTS.items():
        page = make_context(**args).new_page()
        sign_in(page, admin.email, admin.password)
        page.goto("/staff/users")
        roles = page.get_by_role("group", name="Roles")
        expect(roles.get_by_role("checkbox")).to_have_count(3)
        shot(page, f"review-{width}-users", axe)
        page.goto("/staff/audit?screening=S-00000X")
        expect(page.locator("#screening-error")).to_contain_text("like S-000005")
        shot(page, f"review-{width}-audit-error", axe)
        page = make_context(**args).new_page()
        sign_in(page, intake.email, intake.password)
        response = page.goto("/staff/audit")
        assert response is not None and response.status == 403
        expect(page.get_by_role("navigation", name="Staff")).to_contain_text(INTAKE)
        shot(page, f"review-{width}-403", axe)
    axe.assert_clean()
