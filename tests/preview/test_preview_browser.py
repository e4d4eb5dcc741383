"""The preview in Chromium: a lint error at file:line, the page following the file on disk, the
panel following the answers as `screening score` does, each example's button, axe-core, and
screenshots at 390 px and 1280 px (to /tmp/preview-shots/)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from click.testing import CliRunner
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from screening.commands import main
from screening.definition import load_path
from screening.preview import create_preview_app
from tests.browser.conftest import browser_type_launch_args  # noqa: F401 - the system Chromium

from .conftest import AXES, break_file

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/preview-shots")
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False,
           "device_scale_factor": 1}  # fmt: skip
FAILING_IMPACTS = {"serious", "critical"}

expect.set_options(timeout=10_000)


@pytest.fixture
def in_force(tmp_path: Path) -> Path:
    path = tmp_path / "in-force.yaml"
    shutil.copy(AXES, path)
    return path


@pytest.fixture
def live_server(draft: Path, in_force: Path) -> Iterator[str]:
    """The preview of the draft, CSRF on, on a werkzeug server in a thread."""
    app = create_preview_app(draft, against=in_force)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)  # fmt: skip
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture
def browser_context_args(base_url: str) -> dict:
    return {"base_url": base_url, **DESKTOP}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def axe_clean(page: Page, name: str) -> None:
    violations = Axe().run(page).response["violations"]
    bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    described = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes'][:5]]}"
        for v in bad
    )
    assert not bad, f"axe on {name} ({page.url}):\n{described}"


def panel_score(page: Page) -> tuple[str | None, int]:
    tier = page.locator("#panel-tier").get_attribute("data-tier") or None
    total = int(page.locator("#panel-total").get_attribute("data-total") or "-1")
    return tier, total


def score_json(answers: dict) -> dict:
    result = CliRunner().invoke(
        main, ["score", str(AXES), "-", "--format", "json"], input=json.dumps(answers)
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_lint_error_at_file_line_then_fixed_on_disk(page: Page, draft: Path):
    good = draft.read_text(encoding="utf-8")
    line = break_file(draft)
    page.goto("/")
    problems = page.locator("#lint-problems")
    expect(problems).to_contain_text(
        f"{draft}:{line}: risk_factors[1].when.all[0].question: there is no question 'smokes'"
    )
    # Fixed on disk: the page's script sees the new content and shows the questionnaire again.
    draft.write_text(good, encoding="utf-8")
    expect(page.get_by_role("heading", name="Your surgery", level=1)).to_be_visible()
    expect(problems).to_have_count(0)
    # Broken again while a step is open: the problems replace it.
    break_file(draft)
    expect(page.locator("#lint-problems")).to_be_visible()


def test_panel_follows_the_answers_as_screening_score(page: Page):
    page.goto("/step/surgery")
    expect(page.locator("#panel-total")).to_have_attribute("data-total", "0")
    page.locator("#q_procedure-0").check()  # fusion: counted before Continue
    expect(page.locator("#panel-total")).to_have_attribute("data-total", "2")
    page.locator("#q_smoker-0").check()  # yes
    expect(page.locator("#panel-total")).to_have_attribute("data-total", "4")
    expect(page.locator('#panel-axes [data-axis="medical"]')).to_have_attribute("data-points", "4")
    partial = {"procedure": "fusion", "smoker": True}
    assert panel_score(page) == (score_json(partial)["tier"], score_json(partial)["total"])
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    answers = {**partial, "m1": 3, "m2": 0, "bother": "lots", "drinks": False}
    page.locator("#q_m1-1").check()
    page.locator("#q_m2-0").check()
    page.locator("#q_bother-2").check()
    page.locator("#q_drinks-1").check()
    expected = score_json(answers)
    expect(page.locator("#panel-tier")).to_have_attribute("data-tier", expected["tier"])
    expect(page.locator("#panel-total")).to_have_attribute("data-total", str(expected["total"]))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{page.url.split('/step')[0].split('/review')[0]}/review")
    assert panel_score(page) == (expected["tier"], expected["total"])
    shown = page.locator("#panel-factors li[data-factor]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.factor)"
    )
    assert shown == [f["id"] for f in expected["factors"]]


def test_each_example_button_reproduces_its_expectations(page: Page):
    q = load_path(AXES)
    page.goto("/")
    for index, example in enumerate(q.examples):
        with page.expect_navigation():
            page.locator(f'[data-example-button="{index}"]').click()
        result = page.locator("#example-result")
        expect(result).to_have_attribute("data-example", example.name)
        expect(result).to_have_attribute("data-holds", "yes")
        expect(result).to_contain_text("its expectations hold")
        tier, total = panel_score(page)
        if "tier" in example.expect:
            assert tier == example.expect["tier"], example.name
        if "total" in example.expect:
            assert total == example.expect["total"], example.name
        for axis, axis_tier in example.expect.get("axes", {}).items():
            item = page.locator(f'#panel-axes [data-axis="{axis}"]')
            assert (item.get_attribute("data-tier") or None) == axis_tier, example.name


@pytest.mark.parametrize("size", ["390", "1280"])
def test_axe_and_screenshots(make_page, size: str, draft: Path):
    page = make_page(PHONE if size == "390" else DESKTOP)
    page.goto("/step/surgery")
    shot(page, f"step-{size}")
    axe_clean(page, "step")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#error-summary")).to_be_visible()
    axe_clean(page, "step with errors")
    shot(page, f"step-errors-{size}")
    if size == "390":
        expect(page.locator("#score-panel")).not_to_have_attribute("open", "")  # folded
        page.locator("#score-panel > summary").click()
    with page.expect_navigation():
        page.locator('[data-example-button="2"]').click()  # complete: the review page
    if size == "390":
        page.locator("#score-panel > summary").click()
    shot(page, f"review-{size}")
    axe_clean(page, "review")
    page.goto("/step/mood")
    if size == "390":
        page.locator("#score-panel > summary").click()
    shot(page, f"step-panel-{size}")
    for url, name in (("/map", "map"), ("/diff", "diff"), ("/source", "source")):
        page.goto(url)
        axe_clean(page, name)
        shot(page, f"{name}-{size}")
    break_file(draft)
    page.goto("/")
    expect(page.locator("#lint-problems")).to_be_visible()
    axe_clean(page, "lint problems")
    shot(page, f"lint-{size}")


@pytest.fixture
def make_page(browser, base_url: str) -> Iterator:
    made = []

    def make(options: dict) -> Page:
        context = browser.new_context(base_url=base_url, **options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()
