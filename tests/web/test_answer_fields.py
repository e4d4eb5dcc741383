"""The patient's answer fields (issue 20, items 3, 7, 8 and 13): a month and a year for an
approximate date, "Nowhere else" that goes with no other area (refused without JavaScript),
the error border on the pounds box that was typed in, and the clinic's units first."""

from __future__ import annotations

import pytest

from tests.helpers import new_screening

from .support import (
    at_step,
    checked_values,
    date_boxes,
    date_fields,
    db_state,
    described_by,
    error_summary_links,
    example,
    main,
    main_text,
    page,
    post,
    saved,
    walk,
)


@pytest.fixture
def app_config() -> dict:
    return {"PROPAGATE_EXCEPTIONS": False}


def former_smoker(app) -> dict:
    return example(app, "moderate tier - two-level")  # quit in June 2021


# --- a month and a year (month_year) ------------------------------------------------------------


def test_when_did_you_stop_is_a_month_and_a_year(app, client):
    answers = former_smoker(app)
    token = at_step(client, app, "habits", answers)
    response = client.get(f"/s/{token}/step/habits")
    box = main(response).by_id("question-quit_date")
    fieldset = box.find("fieldset")
    assert fieldset.find("legend").text.strip().startswith("When did you stop?")
    assert [i.attrs["name"] for i in box.find_all("input")] == ["q_quit_date_month",
                                                               "q_quit_date_year"]
    assert [i.attrs["inputmode"] for i in box.find_all("input")] == ["numeric", "numeric"]
    assert [label.text for label in box.find_all("label")] == ["Month", "Year"]
    assert "q_quit_date-example" in described_by(fieldset)
    assert main(response).by_id("q_quit_date-example").text.startswith("For example, 3 ")
    response = post(client, app, token, "habits", answers,
                    **date_fields("q_quit_date", "03", "2024"))
    assert response.status_code == 303
    assert saved(app, token)["quit_date"] == "2024-03"
    assert date_boxes(client.get(f"/s/{token}/step/habits"), "q_quit_date") == ("3", "2024")


@pytest.mark.parametrize(("boxes", "message", "wrong"), [
    (("", "2024"), "Date must include a month.", ["month"]),
    (("4", ""), "Date must include a year.", ["year"]),
    (("13", "2024"), "Month must be a number from 1 to 12.", ["month"]),
    (("May", "2024"), "Date must be written in numbers.", ["month"]),
    (("1", "2999"), "Please enter a date of at most", ["month", "year"]),
])
def test_a_month_that_cannot_be_used_is_422_with_its_boxes_kept(app, client, boxes, message,
                                                                wrong):
    answers = former_smoker(app)
    token = at_step(client, app, "habits", answers)
    before = db_state(app)
    response = post(client, app, token, "habits", answers, **date_fields("q_quit_date", *boxes))
    assert response.status_code == 422
    links = error_summary_links(response)
    assert message in links[f"#q_quit_date_{wrong[0]}"]
    assert date_boxes(response, "q_quit_date") == boxes
    doc = main(response)
    marked = [part for part in ("month", "year")
              if doc.by_id(f"q_quit_date_{part}").has_class("input-error")]
    assert marked == wrong
    assert db_state(app) == before


def test_the_month_is_shown_in_words_on_the_review_page_in_spanish_too(app, client):
    answers = former_smoker(app)
    token = new_screening(app, language="es")
    walk(client, app, token, answers)
    assert "¿Cuándo lo dejó? junio de 2021" in main_text(client.get(f"/s/{token}/review"))


def test_a_date_posted_as_one_iso_text_still_fills_the_boxes(app, client):
    """A draft kept by the browser's date picker before the boxes (one `q_<id>` field)."""
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    response = post(client, app, token, "about_surgery", example(app, "low tier"),
                    q_surgery_date="2031-02-03", q_surgery_region="the_moon")
    assert response.status_code == 422
    assert date_boxes(response, "q_surgery_date") == ("3", "2", "2031")


# --- exclusive options --------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "message"), [
    ("en", "Please choose “Nowhere else” or the other answers, not both."),
    ("es", "Por favor, elija “En ninguna otra parte” o las otras respuestas, pero no ambas cosas."),
])
def test_nowhere_else_with_an_area_is_refused_without_javascript(app, client, language,
                                                                 message):
    answers = example(app, "low tier")
    token = at_step(client, app, "pain", answers, language=language)
    before = db_state(app)
    response = post(client, app, token, "pain", answers,
                    q_other_pain_areas=["none", "headaches", "arms_hands"])
    assert response.status_code == 422
    links = error_summary_links(response)
    assert message in links["#q_other_pain_areas-0"]
    assert main(response).by_id("q_other_pain_areas-error").text.endswith(message)
    assert checked_values(response, "other_pain_areas") == ["headaches", "arms_hands", "none"]
    assert db_state(app) == before
    assert "other_pain_areas" not in saved(app, token)


def test_nowhere_else_comes_last_after_or_and_is_marked_for_the_script(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "pain", answers)
    box = main(client.get(f"/s/{token}/step/pain")).by_id("question-other_pain_areas")
    group = box.find("div", class_="options")
    assert "data-exclusive-group" in group.attrs
    inputs = group.find_all("input")
    assert inputs[-1].attrs["value"] == "none" and "data-exclusive" in inputs[-1].attrs
    assert not any("data-exclusive" in i.attrs for i in inputs[:-1])
    assert group.find("p", class_="options-or").text == "or"
    # Alone, it is an answer like any other.
    response = post(client, app, token, "pain", answers, q_other_pain_areas=["none"])
    assert response.status_code == 303
    assert saved(app, token)["other_pain_areas"] == ["none"]


# --- the pounds box (item 3) and the clinic's units (item 13) ------------------------------------


def test_letters_in_the_pounds_box_put_the_error_on_the_pounds_box(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "medical_history", answers)
    response = post(client, app, token, "medical_history", {**answers, "weight": None},
                    q_weight_lb="one sixty")
    assert response.status_code == 422
    assert "#q_weight_lb" in error_summary_links(response)
    doc = main(response)
    assert doc.by_id("q_weight_lb").has_class("input-error")
    assert not doc.by_id("q_weight").has_class("input-error")
    assert doc.by_id("q_weight_lb").attrs["value"] == "one sixty"


def test_letters_in_the_inches_box_put_the_error_on_the_boxes_typed_in(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "medical_history", answers)
    response = post(client, app, token, "medical_history", {**answers, "height": None},
                    q_height_ft="5", q_height_in="ten")
    assert response.status_code == 422
    assert "#q_height_ft" in error_summary_links(response)
    doc = main(response)
    assert doc.by_id("q_height_ft").has_class("input-error")
    assert doc.by_id("q_height_in").has_class("input-error")
    assert not doc.by_id("q_height").has_class("input-error")


def box_order(response, question_id: str) -> list[str]:
    box = main(response).by_id(f"question-{question_id}")
    return [i.attrs["id"] for i in box.find_all("input")]


def test_metric_first_by_default(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "medical_history", answers)
    response = client.get(f"/s/{token}/step/medical_history")
    assert box_order(response, "height") == ["q_height", "q_height_ft", "q_height_in"]
    assert box_order(response, "weight") == ["q_weight", "q_weight_lb"]


def test_a_us_clinic_asks_in_feet_inches_and_pounds_first(app, client):
    app.config["SCREENING_UNITS"] = "us"
    answers = example(app, "low tier")
    token = at_step(client, app, "medical_history", answers)
    response = client.get(f"/s/{token}/step/medical_history")
    assert box_order(response, "height") == ["q_height_ft", "q_height_in", "q_height"]
    assert box_order(response, "weight") == ["q_weight_lb", "q_weight"]
    # Nothing typed: the message is on the first boxes, feet and inches, pounds.
    response = post(client, app, token, "medical_history",
                    {**answers, "height": None, "weight": None})
    assert response.status_code == 422
    links = error_summary_links(response)
    assert "#q_height_ft" in links and "#q_weight_lb" in links
    doc = main(response)
    assert doc.by_id("q_weight_lb").has_class("input-error")
    assert not doc.by_id("q_weight").has_class("input-error")
    # Either is taken, and stored in kg.
    response = post(client, app, token, "medical_history", {**answers, "weight": None},
                    q_weight_lb="165")
    assert response.status_code == 303
    assert saved(app, token)["weight"] == pytest.approx(74.8)


# --- drafts keep the boxes ----------------------------------------------------------------------


def test_a_draft_keeps_the_date_boxes(app, client):
    app.config["WTF_CSRF_ENABLED"] = False
    answers = former_smoker(app)
    token = at_step(client, app, "habits", answers)
    response = client.get(f"/s/{token}/step/habits")
    mark = main(response).find("form", class_="step-form").attrs["data-draft-of"]
    response = client.post(f"/s/{token}/step/habits/draft", data={
        "draft_of": mark, "q_nicotine": "former", **date_fields("q_quit_date", "11", "20")})
    assert response.status_code == 204
    response = client.get(f"/s/{token}/step/habits")
    assert "We kept what you had entered" in main_text(response)
    assert date_boxes(response, "q_quit_date") == ("11", "20")  # as typed, unfinished
    assert page(response).find(id="error-summary") is None
