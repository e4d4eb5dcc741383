"""A red flag reaches the clinic although the patient never sends the answers: a real `screening
worker` process, a real SMTP server on loopback, and the patient in Chromium closing the browser
right after the step that raised it."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.bench.harness import Worker, worker_env
from tests.staff.conftest import TEAM, alert_settings

from .conftest import DESKTOP_ARGS

pytestmark = pytest.mark.browser
DEADLINE = 60  # seconds from the patient's Continue to the alert in the clinic's mailbox


@pytest.fixture
def app_config(smtp_server, tmp_path):
    return {"WTF_CSRF_ENABLED": True, **alert_settings(smtp_server.port, tmp_path)}


@pytest.fixture
def worker(app, tmp_path):
    """`screening worker`, a process of its own, on the app's database and queue."""
    process = Worker(worker_env(app.config), tmp_path / "worker.log").start()
    yield process
    process.stop()


def test_a_self_harm_answer_reaches_the_clinic_without_sending_the_answers(
    app, browser, base_url, make_context, patient, smtp_server, worker
):
    from tests.staff.conftest import make_user

    answers = {**patient.example("self-harm")}
    token = patient.new_token(name="Fay Flagged")
    context = make_context()
    page = context.new_page()
    patient.seed(page, token, answers, until="mood")
    patient.fill_step(page, {**answers, "phq9_9": 1})  # "Several days"
    patient.press_continue(page)
    continued = time.monotonic()
    context.close()  # the patient closes the browser: nothing is ever sent

    while not smtp_server.messages and time.monotonic() - continued < DEADLINE:
        time.sleep(0.2)
    assert smtp_server.messages, "no alert within 60 s"
    waited = time.monotonic() - continued
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [TEAM]
    assert re.fullmatch(r"SAME-DAY red flag: screening S-\d{6}", mail.subject), mail.subject
    print(f"\nalert received {waited:.1f} s after the patient's Continue")

    clinician = make_user(app, "doctor@clinic.example", ["clinician"])
    staff = make_context(**DESKTOP_ARGS).new_page()
    staff.goto("/staff/login")
    staff.get_by_label("E-mail").fill(clinician.email)
    staff.get_by_label("Password").fill(clinician.password)
    staff.get_by_role("button", name="Sign in").click()
    first = staff.locator("tbody tr").first
    expect(first).to_contain_text("Fay Flagged")
    expect(first).to_contain_text("Started")
    expect(first.locator(".flag-summary")).to_have_text("Same day: Thoughts of self-harm")
    expect(first.locator(".flag-marker")).to_have_text("Open")

    # The flag, its answers and its alert on the screening's page, on a phone as on a desk.
    first.get_by_role("link").first.click()
    panel = staff.locator("section.flag-panel")
    expect(panel).to_contain_text("Thoughts of self-harm")
    expect(panel.locator("table")).to_contain_text(TEAM)
    phone = make_context().new_page()  # the default context is a phone's (390 px)
    phone.context.add_cookies(staff.context.cookies())
    phone.goto(staff.url)
    expect(phone.locator("section.flag-panel")).to_contain_text("Thoughts of self-harm")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider
