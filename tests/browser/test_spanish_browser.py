"""A Spanish-speaking patient in a real browser: switches the page to Spanish, answers the whole
questionnaire in Spanish on a phone, and gets the result page in Spanish."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Patient, option_index
from .test_patient_browser import stored_screening

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp/screenshots")


def test_a_patient_completes_the_questionnaire_in_spanish(app, page: Page, patient: Patient,
                                                          backend: str):
    es = patient.q.localized("es")
    name = "self-harm flag"
    answers, expected = patient.example(name), patient.expected(name)
    token = patient.new_token()  # invited in English

    page.goto(f"/s/{token}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with page.expect_navigation():
        page.get_by_role("button", name="Español").tap()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(es.title)
    with page.expect_navigation():
        page.get_by_role("button", name="Comenzar").tap()

    visited = []
    while step_id := patient.step_id(page):
        step = es.step_by_id[step_id]
        expect(page.locator("form.step-form h1")).to_have_text(step.title)
        expect(page.locator("#progress-label")).to_have_text(re.compile(r"^Paso \d+ de \d+$"))
        for question in step.questions:
            if question.id not in answers or not page.locator(
                    f"#question-{question.id}").is_visible():
                continue
            value = answers[question.id]
            if question.type in ("choice", "yes_no"):
                label = page.locator(f"label[for=q_{question.id}-{option_index(question, value)}]")
                expected_label = ("Sí" if value else "No") if question.type == "yes_no" else (
                    question.option_label(value))
                expect(label).to_have_text(expected_label)
                label.tap()
            else:
                patient.fill_question(page, question, value)
        if step_id == "mood":
            flag = page.locator('[data-flag="self_harm"]')
            expect(flag).to_be_visible()  # at once, on the page where it was answered
            expect(flag).to_contain_text("988")
            expect(flag).to_contain_text("Hay ayuda para usted ahora mismo")
            (SCREENSHOTS / backend).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / backend / "es-mood-self-harm.png"),
                            full_page=True, scale="css")
        visited.append(step_id)
        with page.expect_navigation():
            page.get_by_role("button", name="Continuar").tap()
        Patient.assert_no_errors(page)
        assert len(visited) < 30
    page.wait_for_url(re.compile(r"/review$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Revise sus respuestas")
    with page.expect_navigation():
        page.get_by_role("button", name="Enviar mis respuestas").tap()
    page.wait_for_url(re.compile(r"/result$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Gracias, sus respuestas se enviaron")
    crisis = es.red_flag_by_id["self_harm"].patient_message.split(".")[0]
    expect(page.locator("main")).to_contain_text(crisis)
    page.screenshot(path=str(SCREENSHOTS / backend / "es-result.png"), full_page=True,
                    scale="css")

    row = stored_screening(app, token)
    assert (row.status, row.language) == ("submitted", "es")
    assert (row.tier, row.total) == (expected["tier"], expected["total"])
    assert sorted(r["id"] for r in row.assessment["red_flags"]) == sorted(expected["red_flags"])
