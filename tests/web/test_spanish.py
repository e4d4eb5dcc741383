"""The patient's side in Spanish: the questionnaire's texts, the application's own words, the
language switch, and what stays in the clinic's language (the stored assessment)."""

from __future__ import annotations

import re

from screening.i18n import gettext
from tests.helpers import location_path, new_screening
from tests.web.support import (
    example,
    main_text,
    page,
    questionnaire,
    screening_row,
    step_id_of,
    title,
    walk,
)


def spanish(app):
    return questionnaire(app).localized("es")


def test_a_spanish_invitation_opens_in_spanish(app, client):
    token = new_screening(app, language="es")
    response = client.get(f"/s/{token}")
    assert response.status_code == 200
    html = page(response)
    assert html.find("html").attrs["lang"] == "es"
    es = spanish(app)
    assert title(response).startswith(es.title)
    text = main_text(response)
    assert "Toma unos" in text and "pasos cortos" in text
    assert page(response).find("main").find("button", type="submit").text == "Comenzar"
    # The footer and the skip link too.
    assert "No es un diagnóstico" in html.text
    assert "Ir al contenido principal" in html.text
    # The switch offers English, in English.
    switch = html.find("form", **{"class": "language-switch"})
    button = switch.find("button")
    assert (button.attrs["value"], button.attrs["lang"], button.text) == ("en", "en", "English")


def test_every_step_speaks_spanish(app, client):
    token = new_screening(app, language="es")
    es = spanish(app)
    path = walk(client, app, token, example(app, "self-harm"), until="mood")
    response = client.get(path)
    assert response.status_code == 200
    text = main_text(response)
    assert es.step_by_id["mood"].title in text
    assert re.search(r"Paso \d+ de \d+", text)
    for item in ("phq9_1", "phq9_9"):
        assert es.questions[item].label in text
    assert "Ningún día" in text and "Casi todos los días" in text
    assert "Continuar" in text and "Atrás" in text
    english = questionnaire(app)
    assert english.questions["phq9_1"].label not in text


def test_errors_are_in_spanish_and_keep_what_was_typed(app, client):
    token = new_screening(app, language="es")
    path = walk(client, app, token, example(app, "low tier"), until="medical_history")
    response = client.post(path, data={"q_height": "20", "q_weight": "70"})
    assert response.status_code == 422
    text = main_text(response)
    assert "Hay un problema" in text
    assert "Por favor, escriba una estatura entre" in text
    assert page(response).by_id("q_weight").attrs["value"] == "70"
    assert page(response).find("title").text.startswith("Error: Su salud (paso ")


def test_required_answer_message_in_spanish(app, client):
    token = new_screening(app, language="es")
    response = client.post(f"/s/{token}/start")
    first = location_path(response)
    response = client.post(first, data={})
    assert response.status_code == 422
    assert "Por favor, elija una respuesta." in main_text(response)


def test_review_and_result_in_spanish_and_the_crisis_message(app, client):
    token = new_screening(app, language="es")
    es = spanish(app)
    answers = example(app, "self-harm")
    assert walk(client, app, token, answers).endswith("/review")
    review = client.get(f"/s/{token}/review")
    text = main_text(review)
    assert "Revise sus respuestas" in text and "Enviar mis respuestas" in text
    assert "Sí" in text  # a yes/no answer, in words
    crisis = es.red_flag_by_id["self_harm"].patient_message
    # On the review page, a short note with the crisis lines, in Spanish.
    assert "Hay ayuda para usted ahora mismo" in text
    assert "Si está pensando en hacerse daño: llame o envíe un mensaje de texto al 988" in text
    assert "llame al 988 y oprima el 2, o envíe AYUDA" in text
    assert client.post(f"/s/{token}/submit").status_code == 303
    result = client.get(f"/s/{token}/result")
    text = main_text(result)
    assert "Gracias, sus respuestas se enviaron" in text
    assert crisis.split(".")[0] in text
    stored = screening_row(app, token)["assessment"]
    work_on = [es.factor_by_id[f["id"]] for f in stored["factors"] if f["modifiable"]]
    assert work_on, "the example has something to work on"
    for factor in work_on:
        assert " ".join(factor.patient_text.split()) in " ".join(text.split())
    # What the clinic keeps is in the clinic's language.
    english = questionnaire(app)
    for factor in stored["factors"]:
        assert factor["label"] == english.factor_by_id[factor["id"]].label


def test_the_patient_switches_language_and_it_is_kept(app, client):
    token = new_screening(app)  # English
    path = walk(client, app, token, example(app, "low tier"), until="pain")
    english = questionnaire(app).step_by_id[step_id_of(path)].title
    assert english in main_text(client.get(path))
    response = client.post(f"/s/{token}/language", data={"language": "es", "next": path})
    assert response.status_code == 303
    assert location_path(response) == path
    assert screening_row(app, token)["language"] == "es"
    assert spanish(app).step_by_id[step_id_of(path)].title in main_text(client.get(path))
    # A second device, without this browser's cookies, continues in Spanish too.
    other = app.test_client()
    assert page(other.get(f"/s/{token}")).find("html").attrs["lang"] == "es"
    # And back.
    client.post(f"/s/{token}/language", data={"language": "en", "next": path})
    assert screening_row(app, token)["language"] == "en"
    assert page(client.get(path)).find("html").attrs["lang"] == "en"


def test_the_switch_refuses_other_languages_and_foreign_addresses(app, client):
    token = new_screening(app)
    response = client.post(f"/s/{token}/language", data={"language": "fr"})
    assert response.status_code == 400
    assert screening_row(app, token)["language"] == "en"
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/staff/", "/s/other-token",
                      f"/s/{token}/../../staff", f"/s/{token}\\@evil.example",
                      f"/s/{token}x/step/pain"):
        response = client.post(f"/s/{token}/language", data={"language": "es", "next": elsewhere})
        assert response.status_code == 303
        assert location_path(response) == f"/s/{token}", elsewhere
        assert "evil" not in response.headers["Location"]
    response = client.post("/s/unknown-token-xyz/language", data={"language": "es"})
    assert response.status_code == 404


def test_a_broken_link_follows_the_browsers_language(app, client):
    response = client.get("/s/no-such-token", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert response.status_code == 404
    assert "Este enlace no funciona" in main_text(response)
    response = client.get("/s/no-such-token", headers={"Accept-Language": "en-GB"})
    assert "This link isn't working" in main_text(response)


def test_spanish_strings_come_from_the_catalog():
    assert gettext("es", "Send my answers") == "Enviar mis respuestas"


def test_the_clinics_contact_line_in_spanish(app, client):
    token = new_screening(app, language="es")
    footer = page(client.get(f"/s/{token}")).find("footer").text
    assert "Si tiene preguntas, llame a la recepción de la clínica." in footer
    app.config["SCREENING_CLINIC_CONTACT"] = "Call Riverside on 555-0100."
    footer = page(client.get(f"/s/{token}")).find("footer").text
    assert "Call Riverside on 555-0100." in footer  # a clinic's own line, as it wrote it
    app.config["SCREENING_CLINIC_CONTACT_ES"] = "Llame a Riverside al 555-0100."
    footer = page(client.get(f"/s/{token}")).find("footer").text
    assert "Llame a Riverside al 555-0100." in footer and "Call Riverside" not in footer
