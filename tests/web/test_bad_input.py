"""Answers that cannot be used: each is 422 (or 413) with a message beside the field, what the
patient typed is kept on the page, and nothing at all changes in the database."""

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
    input_value,
    main,
    main_text,
    page,
    post,
    saved,
    screening_row,
    title,
    walk,
)


@pytest.fixture
def app_config() -> dict:
    # As in production: an unexpected error is the friendly 500 page, not an exception in the test.
    return {"PROPAGATE_EXCEPTIONS": False}


def assert_field_error(response, field_id: str, anchor: str, message: str) -> None:
    """The summary links to the field, the message sits beside it and the field points at it."""
    assert response.status_code == 422
    doc = main(response)
    assert "There is a problem" in doc.by_id("error-summary").text
    links = error_summary_links(response)
    assert anchor in links, links
    assert message in links[anchor]
    error = doc.by_id(f"{field_id}-error")
    assert error.text.startswith(f"Error: {message}")
    owners = [n for n in doc.iter() if f"{field_id}-error" in described_by(n)]
    assert len(owners) == 1
    assert doc.by_id(anchor.lstrip("#")) is not None
    assert doc.by_id(f"question-{field_id[2:]}").has_class("has-error")


def test_option_that_does_not_exist_is_422_and_keeps_the_other_answers(app, client):
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    answers = example(app, "low tier")
    before = db_state(app)
    response = post(client, app, token, "about_surgery", answers,
                    q_surgery_region="the_moon", **date_fields("q_surgery_date", "3", "2", "2031"))
    assert_field_error(response, "q_surgery_region", "#q_surgery_region-0",
                       "Please choose one of the options.")
    owner = main(response).find("fieldset", **{"aria-describedby": "q_surgery_region-error"})
    assert owner is not None
    assert page(response).find("title").text.startswith("Error: Your planned surgery")
    # Everything else the patient entered is still there.
    assert date_boxes(response, "q_surgery_date") == ("3", "2", "2031")
    assert checked_values(response, "surgery_type") == ["discectomy"]
    assert checked_values(response, "prior_spine_surgery") == ["no"]
    assert checked_values(response, "surgery_region") == []
    assert db_state(app) == before
    assert screening_row(app, token)["status"] == "invited"


def test_not_a_whole_number_is_422_with_the_message_beside_the_input(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "pain", answers)
    before = db_state(app)
    response = post(client, app, token, "pain", answers, q_back_pain="seven",
                    q_other_pain_areas=["headaches", "arms_hands"])
    assert_field_error(response, "q_back_pain", "#q_back_pain",
                       "Please enter a whole number, using digits only.")
    field = main(response).by_id("q_back_pain")
    assert field.tag == "input" and "q_back_pain-error" in described_by(field)
    assert field.has_class("input-error")
    assert field.attrs["value"] == "seven"
    assert checked_values(response, "other_pain_areas") == ["headaches", "arms_hands"]
    assert checked_values(response, "pain_duration") == [answers["pain_duration"]]
    assert db_state(app) == before
    assert "back_pain" not in saved(app, token)


@pytest.mark.parametrize(("value", "message"), [
    ("11", "Please enter a number between 0 and 10."),
    ("-1", "Please enter a number between 0 and 10."),
    ("7.5", "Please enter a whole number, using digits only."),
    # Read strictly: what int() would also take is refused, with the same plain message.
    ("1_0", "Please enter a whole number, using digits only."),
    ("1e1", "Please enter a whole number, using digits only."),
    ("0x5", "Please enter a whole number, using digits only."),
    ("٥", "Please enter a whole number, using digits only."),
])
def test_number_out_of_range_is_422(app, client, value, message):
    answers = example(app, "low tier")
    token = at_step(client, app, "pain", answers)
    before = db_state(app)
    response = post(client, app, token, "pain", answers, q_back_pain=value)
    assert_field_error(response, "q_back_pain", "#q_back_pain", message)
    assert input_value(response, "q_back_pain") == value
    assert db_state(app) == before


def test_full_width_digits_are_digits(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "pain", answers)
    response = post(client, app, token, "pain", answers, q_back_pain=" ７ ")
    assert response.status_code == 303
    assert saved(app, token)["back_pain"] == 7


@pytest.mark.parametrize("pounds", ["1_70", "inf", "nan", "1e2", "0x50"])
def test_pounds_are_read_strictly(app, client, pounds):
    answers = {**example(app, "moderate tier - two-level"), "hba1c": None}
    token = at_step(client, app, "medical_history", answers)
    before = db_state(app)
    response = post(client, app, token, "medical_history", answers, q_weight="", q_weight_lb=pounds)
    assert response.status_code == 422
    assert "Please enter your weight in pounds as a number." in main(response).text
    assert db_state(app) == before


def test_decimal_and_range_errors_on_a_number_with_a_unit(app, client):
    answers = {**example(app, "moderate tier - two-level"), "hba1c": None}
    token = at_step(client, app, "medical_history", answers)
    before = db_state(app)
    response = post(client, app, token, "medical_history", answers, q_hba1c="58")
    assert_field_error(response, "q_hba1c", "#q_hba1c",
                       "Please enter a number between 3 % and 20 %.")
    assert input_value(response, "q_hba1c") == "58"
    assert input_value(response, "q_height") == "170"
    response = post(client, app, token, "medical_history", answers, q_hba1c="high")
    assert_field_error(response, "q_hba1c", "#q_hba1c",
                       "Please enter a number, using digits only.")
    assert db_state(app) == before


def test_text_longer_than_its_maximum_is_422_and_kept(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "life_and_work", answers)
    before = db_state(app)
    long_text = "I want to walk my dog again. " * 17 + "x" * 8  # 501 characters
    assert len(long_text.strip()) == 501
    response = post(client, app, token, "life_and_work", answers, q_goals=long_text)
    assert_field_error(response, "q_goals", "#q_goals",
                       "Please keep this to 500 characters or fewer (now 501).")
    textarea = main(response).by_id("q_goals")
    assert textarea.tag == "textarea" and "q_goals-error" in described_by(textarea)
    assert textarea.text == " ".join(long_text.split())
    assert checked_values(response, "work_status") == [answers["work_status"]]
    assert db_state(app) == before
    # Exactly the maximum is fine.
    response = post(client, app, token, "life_and_work", answers, q_goals="y" * 500)
    assert response.status_code == 303
    assert saved(app, token)["goals"] == "y" * 500


def test_request_larger_than_the_limit_is_a_friendly_413(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "life_and_work", answers)
    assert app.config["MAX_CONTENT_LENGTH"] == 256 * 1024
    before = db_state(app)
    response = post(client, app, token, "life_and_work", answers, q_goals="z" * (257 * 1024))
    assert response.status_code == 413
    assert title(response) == "Too much text"
    assert "Please shorten your answers" in main_text(response)
    assert app.config["SCREENING_CLINIC_CONTACT"] in main_text(response)
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert db_state(app) == before


def test_missing_required_answers_are_422_with_a_message_each(app, client):
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    before = db_state(app)
    response = client.post(f"/s/{token}/step/about_surgery", data={})
    assert response.status_code == 422
    links = error_summary_links(response)
    assert sorted(links) == ["#q_prior_spine_surgery-0", "#q_surgery_region-0",
                             "#q_surgery_type-0"]
    assert "Which part of your spine is the surgery for?" in links["#q_surgery_region-0"]
    for text in links.values():
        assert "Please choose an answer." in text
    assert db_state(app) == before

    answers = example(app, "low tier")
    walk(client, app, token, answers, until="pain")
    before = db_state(app)
    response = post(client, app, token, "pain",
                    {**answers, "back_pain": None, "other_pain_areas": None})
    assert_field_error(response, "q_back_pain", "#q_back_pain",
                       "Please answer this question.")
    assert_field_error(response, "q_other_pain_areas", "#q_other_pain_areas-0",
                       "Please choose at least one answer.")
    assert len(error_summary_links(response)) == 2
    assert db_state(app) == before


def test_blank_and_whitespace_only_answers_count_as_missing(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "pain", answers)
    before = db_state(app)
    response = post(client, app, token, "pain", answers, q_back_pain="   ",
                    q_pain_duration="")
    assert_field_error(response, "q_back_pain", "#q_back_pain",
                       "Please answer this question.")
    assert_field_error(response, "q_pain_duration", "#q_pain_duration-0",
                       "Please choose an answer.")
    assert db_state(app) == before


@pytest.mark.parametrize(("boxes", "message", "wrong"), [
    (("30", "2", "2031"), "Date must be a real date.", ["day"]),
    (("next", "week", "2031"), "Date must be written in numbers.", ["day", "month"]),
    (("1", "1", "2001"), "Please enter a date of at least", ["day", "month", "year"]),
    (("", "2", ""), "Date must include a day and a year.", ["day", "year"]),
    (("3", "", "2031"), "Date must include a month.", ["month"]),
    (("3", "13", "2031"), "Month must be a number from 1 to 12.", ["month"]),
    (("3", "2", "31"), "Year must include 4 numbers.", ["year"]),
])
def test_bad_dates_are_422(app, client, boxes, message, wrong):
    """GOV.UK's memorable date: the message names what is missing or wrong, the border is on
    the boxes to correct, the summary links to the first, and every box keeps what was typed."""
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    before = db_state(app)
    response = post(client, app, token, "about_surgery", example(app, "low tier"),
                    **date_fields("q_surgery_date", *boxes))
    assert_field_error(response, "q_surgery_date", f"#q_surgery_date_{wrong[0]}", message)
    assert date_boxes(response, "q_surgery_date") == boxes
    doc = main(response)
    marked = [part for part in ("day", "month", "year")
              if doc.by_id(f"q_surgery_date_{part}").has_class("input-error")]
    assert marked == wrong
    assert db_state(app) == before


def test_yes_no_with_another_value_is_422(app, client):
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    before = db_state(app)
    response = post(client, app, token, "about_surgery", example(app, "low tier"),
                    q_prior_spine_surgery="maybe")
    assert_field_error(response, "q_prior_spine_surgery", "#q_prior_spine_surgery-0",
                       "Please answer yes or no.")
    assert db_state(app) == before


def test_bad_request_after_saving_keeps_the_saved_answers(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "safety", answers)
    stored = saved(app, token)
    before = db_state(app)
    response = post(client, app, token, "pain", answers, q_back_pain="99")
    assert response.status_code == 422
    assert input_value(response, "q_back_pain") == "99"
    assert db_state(app) == before
    assert saved(app, token) == stored
    # The saved value comes back when the page is opened again.
    again = client.get(f"/s/{token}/step/pain")
    assert input_value(again, "q_back_pain") == str(answers["back_pain"])


def test_control_characters_in_text_are_dropped_the_same_on_every_database(app, client):
    # A NUL cannot be stored in PostgreSQL's JSONB at all; both backends must keep the same text.
    answers = example(app, "low tier")
    token = at_step(client, app, "life_and_work", answers)
    response = post(client, app, token, "life_and_work", answers,
                    q_goals="walk\x00 the\x07 dog\x1b\nagain\tsoon")
    assert response.status_code == 303, (response.status_code, title(response))
    assert saved(app, token)["goals"] == "walk the dog\nagain\tsoon"


def test_text_is_stored_trimmed_and_exactly_as_written_on_every_database(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "life_and_work", answers)
    goals = "Walk 🐕 to the café — 30 min, “every day”"
    response = post(client, app, token, "life_and_work", answers, q_goals=f"  {goals}\n ")
    assert response.status_code == 303
    assert saved(app, token)["goals"] == goals
    again = client.get(f"/s/{token}/step/life_and_work")
    assert main(again).by_id("q_goals").text == goals


def test_text_at_its_maximum_with_line_breaks_as_a_browser_sends_it_is_accepted(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "life_and_work", answers)
    typed = "\n".join(["x" * 99] * 5) + "x"  # what the textarea holds: 500 characters
    assert len(typed) == 500
    response = post(client, app, token, "life_and_work", answers,
                    q_goals=typed.replace("\n", "\r\n"))  # what the browser sends
    assert response.status_code == 303, main(response).text[-300:]
    assert saved(app, token)["goals"].replace("\r\n", "\n") == typed


def test_fields_of_other_steps_posted_to_a_step_are_ignored(app, client):
    answers = example(app, "low tier")
    token = at_step(client, app, "life_and_work", answers)
    before = saved(app, token)
    response = post(client, app, token, "life_and_work", answers, q_back_pain="9",
                    q_phq9_9="3", q_surgery_region="neck", q_height="250")
    assert response.status_code == 303
    after = saved(app, token)
    for question_id in ("back_pain", "phq9_9", "surgery_region", "height"):
        assert after[question_id] == before[question_id]
