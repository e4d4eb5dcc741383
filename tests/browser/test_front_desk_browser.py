"""The front desk in a real browser (issue 20 items 1, 5, 15-18; issue 19 §8), on a phone (390
px) and a desktop (1280 px), axe-core on every page, screenshots in the test's tmp_path to look
at: a handout printed and reloaded (the same link and short code), the e-mail's preview, the
screening's details, the short code typed at /c in Spanish, a replaced link, a device handed to
a Spanish-speaking patient, and the patient's copy downloaded from another phone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from screening import queue
from screening.domain.accounts import create_user
from screening.extensions import db
from tests import factories

from .conftest import DESKTOP_ARGS
from .test_accessibility import AxeReport

pytestmark = pytest.mark.browser

PASSWORD = "Tangerine-Otter-5821"
INTAKE = "frontdesk@riverside.example"
VIEWPORTS = {"phone": {}, "desktop": DESKTOP_ARGS}


@pytest.fixture(params=list(VIEWPORTS))
def size(request) -> str:
    return request.param


def sign_in(page: Page) -> None:
    page.goto("/staff/login")
    page.locator("#email").fill(INTAKE)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def nowrap_lines(page: Page) -> list[int]:
    """How many lines each date (a .nowrap span or cell) of the details takes."""
    return page.eval_on_selector_all(
        ".facts-grid .nowrap", "els => els.map(e => e.getClientRects().length)")


def test_handout_code_and_replaced_link(app, make_context, size, tmp_path):
    with app.app_context():
        create_user(INTAKE, PASSWORD, ["intake"], "Front Desk")
        db.session.commit()
    ident, first = factories.screening(
        app, "Ana María Ruiz Castellanos", language="es", patient_dob=dt.date(1961, 3, 27),
        patient_email="ana.maria.ruiz.castellanos@correo-de-pacientes.example",
        surgery_date=dt.date.today() + dt.timedelta(days=30),
    )  # fmt: skip
    report = AxeReport(size)
    staff = make_context(**VIEWPORTS[size]).new_page()
    sign_in(staff)
    staff.goto(f"/staff/screenings/{ident}")
    assert all(lines == 1 for lines in nowrap_lines(staff)), nowrap_lines(staff)
    # The address breaks only after its @ or before a dot: each line ends or starts at one.
    email = staff.locator("dd.email-address")
    lines = email.evaluate("""el => {
        const range = document.createRange(), text = el.textContent, tops = [];
        let line = '', last = null; const out = [];
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let node; while ((node = walker.nextNode())) {
          for (let i = 0; i < node.length; i++) {
            range.setStart(node, i); range.setEnd(node, i + 1);
            const top = Math.round(range.getBoundingClientRect().top);
            if (last !== null && top !== last) { out.push(line); line = ''; }
            line += node.data[i]; last = top;
          }
        }
        out.push(line); return out; }""")
    for before, after in zip(lines, lines[1:], strict=False):
        assert before.endswith("@") or after.startswith("."), lines
    report.check(staff, "screening page")
    staff.screenshot(path=tmp_path / f"screening-{size}.png", full_page=True)

    staff.get_by_role("button", name="Print a handout with QR code and short code").click()
    staff.wait_for_url(re.compile(rf"/staff/screenings/{ident}/handout$"))
    code = staff.locator(".short-code").inner_text()
    link = staff.locator(".handout-link").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}", code)
    expect(staff.locator(".handout svg")).to_be_visible()
    expect(staff.locator("article.handout")).to_contain_text("escriba este código")
    staff.reload()
    expect(staff.locator(".short-code")).to_have_text(code)
    expect(staff.locator(".handout-link")).to_have_text(link)
    report.check(staff, "handout")
    staff.screenshot(path=tmp_path / f"handout-{size}.png", full_page=True)

    staff.goto(f"/staff/screenings/{ident}/invitation-email")
    expect(staff.locator("pre.email-text")).to_contain_text("Estimado/a Ana María Ruiz Castellanos")
    expect(staff.frame_locator("iframe.email-preview").get_by_text("Abrir su cuestionario")
           ).to_be_visible()
    report.check(staff, "e-mail preview")
    staff.screenshot(path=tmp_path / f"email-preview-{size}.png", full_page=True)

    # The patient types the code, in lower case without dashes, at the short address.
    phone = make_context(**VIEWPORTS[size], locale="es-ES").new_page()
    phone.goto("/c")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Escriba el código de su carta")
    report.check(phone, "short code, empty")
    phone.get_by_label("Su código").fill("AAAA-AAAA-AA")
    phone.get_by_role("button", name="Continuar").click()
    expect(phone.locator("#error-summary")).to_contain_text("No encontramos ese código")
    report.check(phone, "short code, wrong")
    phone.screenshot(path=tmp_path / f"code-error-es-{size}.png", full_page=True)
    phone.get_by_label("Su código").fill(code.replace("-", "").lower())
    phone.get_by_role("button", name="Continuar").click()
    phone.wait_for_url(re.compile(re.escape(link.split("/s/", 1)[1]) + "$"))
    expect(phone.get_by_role("button", name="Comenzar")).to_be_visible()
    phone.screenshot(path=tmp_path / f"code-welcome-es-{size}.png", full_page=True)

    # The link e-mailed before was replaced by the handout's: it says so, in Spanish.
    phone.goto(f"/s/{first}")
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Este enlace fue reemplazado por uno más reciente")
    report.check(phone, "replaced link")
    phone.screenshot(path=tmp_path / f"replaced-es-{size}.png", full_page=True)
    english = make_context(**VIEWPORTS[size]).new_page()
    english.goto("/c")
    report.check(english, "short code, English")
    english.screenshot(path=tmp_path / f"code-en-{size}.png", full_page=True)

    # Handed to the patient: no link to come back to; the front desk is there to tell.
    staff.goto(f"/staff/screenings/{ident}")
    staff.get_by_role("button", name="Hand this device to the patient").click()
    expect(staff.get_by_text("devuelva este dispositivo a la recepción")).to_be_visible()
    expect(staff.get_by_text("volver a este enlace")).to_have_count(0)
    report.check(staff, "kiosk welcome")
    staff.screenshot(path=tmp_path / f"kiosk-welcome-es-{size}.png", full_page=True)
    report.assert_clean()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_patients_copy_from_another_phone(app, make_context, size, language, tmp_path):
    _, token = factories.submitted(app, "low tier", language=language,
                                   patient_dob=dt.date(1961, 3, 27))  # fmt: skip
    words = {
        "en": ("Download a copy of your summary", "Day", "Month", "Year", "Continue",
               "Download your summary (PDF)", "We are preparing your copy"),
        "es": ("Descargar una copia de su resumen", "Día", "Mes", "Año", "Continuar",
               "Descargar su resumen (PDF)", "Estamos preparando su copia"),
    }[language]  # fmt: skip
    report = AxeReport(f"{size} {language}")
    phone = make_context(**VIEWPORTS[size]).new_page()
    phone.goto(f"/s/{token}")
    report.check(phone, "already sent")
    phone.get_by_role("link", name=words[0]).click()
    phone.wait_for_url(re.compile(r"/copy$"))
    report.check(phone, "copy: identity check")
    phone.screenshot(path=tmp_path / f"copy-check-{language}-{size}.png", full_page=True)
    phone.get_by_label(words[1]).fill("27")
    phone.get_by_label(words[2]).fill("3")
    phone.get_by_label(words[3]).fill("1961")
    phone.get_by_role("button", name=words[4]).click()
    download_link = phone.get_by_role("link", name=words[5])
    expect(download_link).to_be_visible()
    report.check(phone, "copy: download")
    phone.screenshot(path=tmp_path / f"copy-download-{language}-{size}.png", full_page=True)
    # The copy asked for at submission is not rendered yet: the page says so, then starts the
    # download by itself once the worker has rendered it.
    download_link.click()
    expect(phone.get_by_text(words[6])).to_be_visible()
    report.check(phone, "copy: being prepared")
    with phone.expect_download(timeout=20_000) as download:
        queue.run_pending(app)  # the worker
    assert Path(download.value.path()).read_bytes()[:4] == b"%PDF"
    with phone.expect_download() as again:  # from now on straight from the store
        phone.goto(f"/s/{token}/copy")
        phone.get_by_role("link", name=words[5]).click()
    assert Path(again.value.path()).read_bytes() == Path(download.value.path()).read_bytes()
    report.assert_clean()
