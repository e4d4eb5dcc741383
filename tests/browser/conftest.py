"""Browser fixtures: the real app on a live server, driven by the system Chromium.

The app runs with CSRF protection ON (as in production) on a werkzeug server in a thread, on one
database: PostgreSQL, production's, when TEST_DATABASE_URL is set (always in CI), SQLite otherwise.
What a browser sees does not depend on the database; the web tests below them (tests/web,
tests/staff) run every request on both. These tests never skip for a missing browser: the system
Chromium (/usr/bin/chromium, from Debian) is required locally and in CI.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.serving import make_server

from screening import codec
from tests.conftest import PG_URL
from tests.helpers import new_screening, questionnaire, step_data

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 10_000

MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
DESKTOP_ARGS = {"viewport": DESKTOP, "is_mobile": False, "has_touch": False,
                "device_scale_factor": 1}

expect.set_options(timeout=TIMEOUT_MS)


# --- the app on a live server ------------------------------------------------------------------


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres)] if PG_URL
                else ["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll interval: shutdown() waits for it, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    address = f"http://127.0.0.1:{server.server_port}"
    # The address patients open, as a deployment sets it: links are made from it only.
    app.config["SCREENING_BASE_URL"] = address
    try:
        yield address
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def base_url(live_server: str) -> str:
    return live_server


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is required for the browser tests (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"],
    }


@pytest.fixture
def browser_context_args(base_url: str) -> dict:
    # Function scoped (the live server is per test), so it does not extend the plugin's
    # session-scoped fixture.
    return {
        "base_url": base_url,
        "viewport": MOBILE,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    }


@pytest.fixture
def context(new_context) -> BrowserContext:
    ctx = new_context()
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


@pytest.fixture
def make_context(browser: Browser, browser_context_args: dict) -> Iterator[Callable[..., Any]]:
    """Another browser context (no cookies shared), with some of the default options changed."""
    made: list[BrowserContext] = []

    def make(**overrides: Any) -> BrowserContext:
        ctx = browser.new_context(**{**browser_context_args, **overrides})
        ctx.set_default_timeout(TIMEOUT_MS)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


# --- the patient's side, driven like a person would ---------------------------------------------


def as_text(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def date_boxes(question, value: Any) -> list[tuple[str, str]]:
    """(box id, text) for each box of a date (day, month, year) or a month (month, year)."""
    boxes = codec.date_parts(question.type, value)
    return [(f"q_{question.id}_{part}", text) for part, text in boxes.items()]


def option_index(question, value: Any) -> int:
    """The position of the radio/checkbox for `value` (the `-<index>` of its id)."""
    if question.type == "yes_no":
        return 0 if value else 1
    values = [str(o.value) for o in question.options]
    return values.index(str(value))


class Patient:
    """The screening app as a patient sees it: helpers over Playwright pages."""

    def __init__(self, app, base_url: str):
        self.app, self.base_url = app, base_url
        self.q = questionnaire(app)

    def new_token(self, **details: Any) -> str:
        return new_screening(self.app, **details)

    def example(self, name_part: str) -> dict[str, Any]:
        return next(e for e in self.q.examples if name_part in e.name.lower()).answers

    def expected(self, name_part: str) -> dict[str, Any]:
        return next(e for e in self.q.examples if name_part in e.name.lower()).expect

    # --- navigation

    @staticmethod
    def step_id(page: Page) -> str | None:
        match = re.search(r"/step/([^/?#]+)", page.url)
        return match.group(1) if match else None

    @staticmethod
    def wait_for_step(page: Page, step_id: str) -> None:
        page.wait_for_url(re.compile(rf"/step/{re.escape(step_id)}(\?.*)?$"))

    def start(self, page: Page, token: str) -> None:
        """Open the link and press Start (or "Continue where I left off")."""
        page.goto(f"/s/{token}")
        button = page.get_by_role("button", name=re.compile(r"^(Start|Continue where I left off)$"))
        with page.expect_navigation():
            button.click()

    def press_continue(self, page: Page) -> None:
        """Click Continue and wait for the next page; fail with the page's errors if any."""
        with page.expect_navigation():
            page.locator("form.step-form button[type=submit]").click()
        self.assert_no_errors(page)

    @staticmethod
    def assert_no_errors(page: Page) -> None:
        summary = page.locator("#error-summary")
        if summary.count():
            raise AssertionError(f"{page.url}: {summary.inner_text()}")

    # --- answering with the fast Playwright helpers (fill, check)

    def fill_question(self, page: Page, question, value: Any) -> None:
        name = f"q_{question.id}"
        if question.type in ("choice", "yes_no"):
            page.locator(f"#{name}-{option_index(question, value)}").check()
        elif question.type == "multi_choice":
            for v in value:
                page.locator(f"#{name}-{option_index(question, v)}").check()
        elif question.type in codec.DATE_PARTS:
            for box, text in date_boxes(question, value):
                page.locator(f"#{box}").fill(text)
        else:
            page.locator(f"#{name}").fill(as_text(value))

    def fill_step(self, page: Page, answers: dict[str, Any]) -> str:
        step_id = self.step_id(page)
        assert step_id, page.url
        for question in self.q.step_by_id[step_id].questions:
            if question.id in answers:
                self.fill_question(page, question, answers[question.id])
        return step_id

    def seed(self, page: Page, token: str, answers: dict[str, Any],
             until: str | None = None) -> None:
        """Answer the steps before `until` (or all) over HTTP, then open that page.

        For tests about a later page: the requests share the page's cookies (its session), and
        post what the browser would post, CSRF token included, without rendering every step.
        """
        api = page.request
        welcome = api.get(f"{self.base_url}/s/{token}")
        found = re.search(r'name="csrf_token" value="([^"]+)"', welcome.text())
        assert welcome.ok and found, welcome.status
        csrf = found.group(1)
        response = api.post(f"{self.base_url}/s/{token}/start", form={"csrf_token": csrf})
        steps = 0
        while (match := re.search(r"/step/([^/?#]+)$", response.url)) and match.group(1) != until:
            data = {**step_data(self.q.step_by_id[match.group(1)], answers), "csrf_token": csrf}
            url = response.url
            response = api.post(url, data=urlencode(data, doseq=True), headers={
                "Content-Type": "application/x-www-form-urlencoded"})
            assert response.ok and response.url != url, (url, response.status)
            steps += 1
            assert steps < 30
        assert response.url.endswith(f"/step/{until}" if until else "/review"), response.url
        page.goto(response.url)

    def walk(self, page: Page, answers: dict[str, Any], until: str | None = None) -> list[str]:
        """Answer and continue step after step until the step `until` (or the review page)."""
        visited = []
        while (step_id := self.step_id(page)) and step_id != until:
            self.fill_step(page, answers)
            visited.append(step_id)
            self.press_continue(page)
            assert len(visited) < 30
        if until:
            assert self.step_id(page) == until, page.url
        else:
            page.wait_for_url(re.compile(r"/review$"))
        return visited


@pytest.fixture
def patient(app, live_server: str) -> Patient:
    return Patient(app, live_server)
