"""A re-issued link asks who is there (issue 17 §6), in a real browser: a second phone opens the
new link, is asked the date of birth in day, month and year boxes, gets a calm error for a wrong
one, and sees the saved answers once it is right. axe-core on the check page, phone and desktop;
screenshots of each (in the test's tmp_path) to look at."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from screening.domain import links
from screening.extensions import db
from screening.models import Screening

from .conftest import DESKTOP_ARGS, Patient
from .test_accessibility import AxeReport

pytestmark = pytest.mark.browser

GOALS = "Walk Zelda to school again"


def reissue(app) -> str:
    """A new link for the only screening (a handout, a resend, a reminder); its token."""
    with app.app_context():
        screening = db.session.scalar(sa.select(Screening))
        token = links.new_link(screening)
        db.session.commit()
        db.session.remove()
    return token


def test_a_new_link_asks_the_date_of_birth_before_showing_the_answers(
    page: Page, patient: Patient, make_context, tmp_path
):
    first = patient.new_token(patient_dob=dt.date(1961, 3, 27))
    patient.seed(page, first, {**patient.example("low tier"), "goals": GOALS})
    expect(page.get_by_text(GOALS)).to_be_visible()  # the first phone: its own answers
    token = reissue(patient.app)

    report = AxeReport("the identity check")
    phone = make_context().new_page()
    phone.goto(f"/s/{token}")
    phone.wait_for_url(re.compile(rf"/s/{token}/confirm$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Please confirm your date of birth")
    expect(phone.get_by_text(GOALS)).to_have_count(0)
    expect(phone.get_by_text("contact the clinic")).to_be_visible()
    report.check(phone, "check, phone")
    phone.screenshot(path=tmp_path / "confirm-390.png", full_page=True)

    phone.get_by_label("Day").fill("28")
    phone.get_by_label("Month").fill("3")
    phone.get_by_label("Year").fill("1961")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Continue").click()
    summary = phone.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("does not match our records")
    expect(phone.get_by_label("Day")).to_have_value("28")
    report.check(phone, "check with an error, phone")
    phone.screenshot(path=tmp_path / "confirm-error-390.png", full_page=True)

    desktop = make_context(**DESKTOP_ARGS).new_page()
    desktop.goto(f"/s/{token}/confirm")
    report.check(desktop, "check, desktop")
    desktop.screenshot(path=tmp_path / "confirm-1280.png", full_page=True)

    phone.get_by_label("Day").fill("27")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Continue").click()
    expect(phone).to_have_url(re.compile(rf"/s/{token}$"))
    with phone.expect_navigation():
        phone.get_by_role("button", name="Continue where I left off").click()
    phone.wait_for_url(re.compile(r"/review$"))
    expect(phone.get_by_text(GOALS)).to_be_visible()
    report.assert_clean()


def test_the_return_code_is_shown_after_the_first_save(page: Page, patient: Patient, tmp_path):
    token = patient.new_token()  # no date of birth on file
    patient.start(page, token)
    patient.fill_step(page, patient.example("low tier"))
    patient.press_continue(page)
    notice = page.locator("#return-code")
    expect(notice).to_contain_text("Your return code is:")
    expect(notice.locator("strong")).to_have_text(re.compile(r"^[A-Z2-9]{3}-[A-Z2-9]{3}$"))
    report = AxeReport("the return code")
    report.check(page, "step with the return code, phone")
    page.screenshot(path=tmp_path / "return-code-390.png")
    report.assert_clean()
