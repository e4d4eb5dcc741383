"""Staff accounts in the system Chromium: the first sign-in of an account made with an initial
password (choose one's own, then set up the second factor from the QR code's key), an admin's
reset link opened on a phone, and signing in with the authenticator app's code.

Codes are computed in the test from the secret the page shows, as the user's app would. The app
runs with CSRF on and the second factor required (as in production). Each page is checked with
axe-core; screenshots at 390 px and 1280 px go to /tmp/staff-shots/ (outside the repository).
"""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from screening.domain.accounts import create_user
from screening.extensions import db

from .conftest import DESKTOP_ARGS
from .test_accessibility import AxeReport

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/staff-shots")
INITIAL = "Given-By-The-Office-4471"
ADMIN_OWN = "Lantern-Quarry-Mosaic-913"
CLINICIAN_OWN = "Fjord-Cobalt-Thimble-206"
ADMIN = "it.office@riverside.example"
CLINICIAN = "dr.osei@riverside.example"


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True, "SCREENING_REQUIRE_SECOND_FACTOR": True}


@pytest.fixture
def axe() -> AxeReport:
    return AxeReport("staff accounts")


def shot(page: Page, name: str, axe: AxeReport) -> None:
    """A screenshot to look at, and axe-core on the page."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    axe.check(page, name)


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def enrol(page: Page, name: str, axe: AxeReport) -> str:
    """Set up the app from the key under the QR code; returns the secret."""
    expect(page.get_by_role("heading", name="Set up a second factor")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    shot(page, f"accounts-{name}-two-factor", axe)
    secret = page.locator("#secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your second factor is on")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    shot(page, f"accounts-{name}-recovery-codes", axe)
    page.get_by_role("link", name="I have kept them").click()
    return secret


def test_first_sign_in_reset_link_and_codes(app, live_server, make_context, axe):
    with app.app_context():
        create_user(ADMIN, INITIAL, ["admin"], "IT Office", initial=True)
        db.session.commit()

    desk = make_context(**DESKTOP_ARGS).new_page()
    # The admin's first sign-in: their own password first, then the second factor.
    sign_in(desk, ADMIN, INITIAL)
    expect(desk.get_by_role("heading", name="Choose your own password")).to_be_visible()
    shot(desk, "accounts-forced-change-1280", axe)
    desk.get_by_label("Current password").fill(INITIAL)
    desk.get_by_label("New password", exact=True).fill("Summer2024!!!!")
    desk.get_by_label("New password again").fill("Summer2024!!!!")
    desk.get_by_role("button", name="Change password").click()
    expect(desk.locator("#error-summary")).to_contain_text("easy to guess")
    desk.get_by_label("Current password").fill(INITIAL)
    desk.get_by_label("New password", exact=True).fill(ADMIN_OWN)
    desk.get_by_label("New password again").fill(ADMIN_OWN)
    desk.get_by_role("button", name="Change password").click()
    enrol(desk, "admin-1280", axe)
    expect(desk.get_by_role("heading", name="Your account")).to_be_visible()

    # The admin adds a clinician, then resets their password: a link to pass on.
    desk.get_by_role("link", name="Users").click()
    desk.get_by_label("E-mail").fill(CLINICIAN)
    desk.get_by_label("Clinician").check()
    desk.get_by_label("Initial password").fill(INITIAL)
    desk.get_by_role("button", name="Add user").click()
    expect(desk.get_by_role("status")).to_contain_text("The account is made")
    row = desk.get_by_role("row").filter(has_text=CLINICIAN)
    row.get_by_role("button", name="Reset password").click()
    link = desk.locator("code.api-key").inner_text()
    assert link.startswith(app.config["SCREENING_BASE_URL"])
    path = link.removeprefix(app.config["SCREENING_BASE_URL"])
    shot(desk, "accounts-reset-link-1280", axe)

    # On the clinician's phone: the link, their own password, the second factor, signing in.
    phone = make_context().new_page()
    phone.goto(path)
    expect(phone.get_by_role("heading", name="Set your password")).to_be_visible()
    shot(phone, "accounts-set-password-390", axe)
    phone.get_by_label("New password", exact=True).fill(CLINICIAN_OWN)
    phone.get_by_label("New password again").fill(CLINICIAN_OWN)
    phone.get_by_role("button", name="Set password").click()
    expect(phone.get_by_role("status")).to_contain_text("Your password is set")
    sign_in(phone, CLINICIAN, CLINICIAN_OWN)
    secret = enrol(phone, "clinician-390", axe)
    phone.get_by_role("button", name="Sign out on every device").click()

    sign_in(phone, CLINICIAN, CLINICIAN_OWN)
    expect(phone.get_by_role("heading", name="Enter your code")).to_be_visible()
    shot(phone, "accounts-code-390", axe)
    phone.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))  # a fresh code
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("heading", name="Screenings")).to_be_visible()

    # The link was used: it opens nothing now.
    phone.goto(path)
    expect(phone.get_by_role("heading", name="This link no longer works")).to_be_visible()
    axe.assert_clean()


def test_an_admin_adds_a_site_and_gives_it_to_a_user(app, live_server, make_context, axe):
    """A network-wide admin adds a site on the Sites page and puts a clinician in it, on a
    desktop; the same pages on a phone."""
    secret = pyotp.random_base32()
    with app.app_context():
        create_user(CLINICIAN, CLINICIAN_OWN, ["clinician"], "Dr Osei")
        admin = create_user(ADMIN, ADMIN_OWN, ["admin"], "IT Office", all_sites=True)
        admin.totp_secret = secret
        db.session.commit()
    desk = make_context(**DESKTOP_ARGS).new_page()
    sign_in(desk, ADMIN, ADMIN_OWN)
    desk.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    desk.get_by_role("button", name="Sign in").click()

    desk.get_by_role("link", name="Sites").click()
    desk.get_by_role("button", name="Add site").click()
    expect(desk.locator("#error-summary")).to_contain_text("Enter the site's name.")
    desk.get_by_label("Name").fill("North Clinic")
    desk.get_by_role("button", name="Add site").click()
    expect(desk.get_by_role("status")).to_contain_text("The site North Clinic is added")
    expect(desk.get_by_role("row").filter(has_text="North Clinic")).to_contain_text("0")
    shot(desk, "sites-page-1280", axe)

    desk.get_by_role("link", name="Users").click()
    desk.get_by_role("link", name=f"Change sites of {CLINICIAN}").click()
    expect(desk.get_by_label("Main site")).to_be_checked()
    desk.get_by_label("North Clinic").check()
    shot(desk, "sites-user-1280", axe)
    desk.get_by_role("button", name="Save sites").click()
    expect(desk.get_by_role("status")).to_contain_text("now works for Main site, North Clinic")
    expect(desk.get_by_role("row").filter(has_text=CLINICIAN)).to_contain_text("North Clinic")
    shot(desk, "sites-users-1280", axe)
    desk.get_by_role("link", name="API keys").click()
    shot(desk, "sites-api-keys-1280", axe)

    phone = make_context().new_page()
    sign_in(phone, ADMIN, ADMIN_OWN)
    phone.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))  # a fresh code
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_role("heading", name="Users")).to_be_visible()
    for path, name in (("/staff/sites", "page"), ("/staff/users", "users"),
                       ("/staff/api-keys", "api-keys")):  # fmt: skip
        phone.goto(path)
        shot(phone, f"sites-{name}-390", axe)
    phone.goto("/staff/users")
    phone.get_by_role("link", name=f"Change sites of {CLINICIAN}").click()
    expect(phone.get_by_label("North Clinic")).to_be_checked()
    shot(phone, "sites-user-390", axe)
    axe.assert_clean()
