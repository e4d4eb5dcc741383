"""Moving through the steps: the counter, the step list, steps out of order, hidden steps,
branching inside a step, measurements in either unit system, and dates."""

from __future__ import annotations

import pytest

from tests.helpers import location_path, new_screening, step_data

from .support import (
    checked_values,
    date_boxes,
    date_fields,
    db_state,
    example,
    input_value,
    main,
    main_text,
    page,
    post,
    questionnaire,
    saved,
    screening_row,
    step_counter,
    steps_done,
    title,
    walk,
)


def test_step_counter_counts_the_steps_that_may_still_be_shown(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")  # no earlier spine surgery
    # Before any answer, "earlier surgery" and STarT Back (for low-back surgery) may be shown:
    # the welcome page promises at most 11, as the first step counts them (issue 20, item 6).
    welcome = main_text(client.get(f"/s/{token}"))
    assert "in up to 11 short steps" in welcome
    assert client.post(f"/s/{token}/start").status_code == 303
    first = client.get(f"/s/{token}/step/about_surgery")
    assert step_counter(first) == (1, 11)
    assert "(step 1 of 11)" in page(first).find("title").text
    steps = [li.text for li in page(first).find("details").find_all("li")]
    assert len(steps) == 11
    assert [s for s in steps if "only if it applies to you" in s] == [
        "Your earlier spine surgery only if it applies to you",
        "Your back pain in the last 2 weeks only if it applies to you",
    ]

    response = post(client, app, token, "about_surgery", {**answers, "prior_spine_surgery": True})
    assert location_path(response) == f"/s/{token}/step/earlier_surgery"
    response = client.get(f"/s/{token}/step/earlier_surgery")
    assert step_counter(response) == (2, 11)
    assert "in 11 short steps" in main_text(client.get(f"/s/{token}"))

    # Going back and answering "no" takes the earlier-surgery step out again: N - 1.
    response = post(client, app, token, "about_surgery", answers)
    assert location_path(response) == f"/s/{token}/step/medical_history"
    response = client.get(f"/s/{token}/step/medical_history")
    assert step_counter(response) == (2, 10)
    steps = [li.text for li in page(response).find("details").find_all("li")]
    assert len(steps) == 10
    assert not [s for s in steps if "Your earlier spine surgery" in s]
    assert "in 10 short steps" in main_text(client.get(f"/s/{token}"))


def test_welcome_promises_the_steps_each_step_counts(app, client):
    """Once the first step is answered, the welcome page's number, each step's "of N" and the
    steps the patient then answers are one and the same number (issue 20, item 6)."""
    for name, expected in (("low tier", 10), ("high tier", 11)):
        token = new_screening(app)
        answers = example(app, name)
        client.post(f"/s/{token}/start")
        walk(client, app, token, answers, until="medical_history")
        counted = step_counter(client.get(f"/s/{token}/step/medical_history"))[1]
        assert counted == expected, name
        assert f"in {counted} short steps" in main_text(client.get(f"/s/{token}"))
        assert walk(client, app, token, answers) == f"/s/{token}/review"
        assert len(steps_done(app, token)) == counted, name


def test_step_list_links_only_the_steps_reached(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "low tier"), until="pain")
    response = client.get(f"/s/{token}/step/pain")
    assert step_counter(response) == (3, 10)
    items = page(response).find("details").find_all("li")
    links = {li.text.split(" done")[0]: li.find("a") for li in items}
    assert links["Your planned surgery"].attrs["href"] == f"/s/{token}/step/about_surgery"
    assert links["Your health"].attrs["href"] == f"/s/{token}/step/medical_history"
    current = next(li for li in items if li.attrs.get("aria-current") == "step")
    assert current.find("a") is None and "Your pain" in current.text
    later = items[3:]
    assert len(later) == 7 and all(li.find("a") is None for li in later)
    assert "done" in items[0].text and "done" in items[1].text
    # The back link goes to the step before.
    assert main(response).find("a", class_="back-link").attrs["href"] == (
        f"/s/{token}/step/medical_history")


def test_step_out_of_order_is_409_and_changes_nothing(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    q = questionnaire(app)
    before = db_state(app)
    for step_id in ("medical_history", "pain", "life_and_work"):
        response = client.get(f"/s/{token}/step/{step_id}")
        assert response.status_code == 409
        assert title(response) == "You haven't reached this part yet"
        assert "Please answer the earlier questions first." in main_text(response)
        go = main(response).find("a", class_="button")
        assert go.attrs["href"] == f"/s/{token}"
        response = client.post(f"/s/{token}/step/{step_id}",
                               data=step_data(q.step_by_id[step_id], answers))
        assert response.status_code == 409
    assert db_state(app) == before

    walk(client, app, token, answers, until="medical_history")
    before = db_state(app)
    response = post(client, app, token, "pain", answers)  # step 3 while step 2 is unfinished
    assert response.status_code == 409
    assert db_state(app) == before
    assert "back_pain" not in saved(app, token)


def test_unknown_step_is_404(app, client):
    token = new_screening(app)
    before = db_state(app)
    for method in (client.get, client.post):
        response = method(f"/s/{token}/step/no_such_step")
        assert response.status_code == 404
        assert title(response) == "Page not found"
        assert "There is no such page in this questionnaire." in main_text(response)
    assert db_state(app) == before


def test_step_hidden_by_branching_is_409_and_changes_nothing(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers, until="pain")
    before = db_state(app)
    response = client.get(f"/s/{token}/step/earlier_surgery")
    assert response.status_code == 409
    assert title(response) == "This part doesn't apply to you"
    assert "you do not need to answer these questions" in main_text(response)
    response = post(client, app, token, "earlier_surgery",
                    {"prior_surgery_count": 2, "is_revision": "revision",
                     "prior_relief": "not_better"})
    assert response.status_code == 409
    assert db_state(app) == before
    assert "earlier_surgery" not in steps_done(app, token)


def test_hidden_question_is_not_required_and_a_stale_answer_is_not_saved(app, client):
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    answers = example(app, "low tier")  # discectomy: the fusion questions are hidden
    response = post(client, app, token, "about_surgery", answers)
    assert response.status_code == 303
    stored = saved(app, token)
    assert stored["surgery_type"] == "discectomy"
    assert "fusion_levels" not in stored

    # A browser without the script still posts the hidden radios if they were clicked.
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    response = post(client, app, token, "about_surgery", answers,
                    q_fusion_levels="three_or_more", q_fusion_approach="bogus")
    assert response.status_code == 303
    stored = saved(app, token)
    assert "fusion_levels" not in stored and "fusion_approach" not in stored
    assert stored["surgery_region"] == "lower_back"


def test_follow_up_shown_by_an_answer_on_the_same_page_is_required(app, client):
    token = new_screening(app)
    client.post(f"/s/{token}/start")
    before = db_state(app)
    answers = {**example(app, "low tier"), "surgery_type": "fusion"}
    response = post(client, app, token, "about_surgery", answers)
    assert response.status_code == 422
    assert not main(response).by_id("question-fusion_levels").hidden
    assert main(response).by_id("q_fusion_levels-error").text == "Error: Please choose an answer."
    assert db_state(app) == before


def test_hidden_follow_up_keeps_its_row_but_review_and_score_ignore_it(app, client):
    token = new_screening(app)
    answers = example(app, "high tier - long revision")  # fusion, 3 or more levels: 17 points
    walk(client, app, token, answers)
    assert saved(app, token)["fusion_levels"] == "three_or_more"
    review = client.get(f"/s/{token}/review")
    assert "How many levels (joints between the bones) will be fused?" in main_text(review)

    changed = {**answers, "surgery_type": "decompression"}
    response = post(client, app, token, "about_surgery", changed, q_fusion_levels="one")
    assert response.status_code == 303
    stored = saved(app, token)
    assert stored["surgery_type"] == "decompression"
    assert stored["fusion_levels"] == "three_or_more"  # kept for the record, not overwritten
    assert stored["fusion_approach"] == "back_only"

    review = client.get(f"/s/{token}/review")
    assert review.status_code == 200
    text = main_text(review)
    assert "How many levels" not in text and "From which side" not in text
    assert "Three or more levels" not in text

    assert client.post(f"/s/{token}/submit").status_code == 303
    row = screening_row(app, token)
    factors = {f["id"] for f in row["assessment"]["factors"]}
    assert not factors & {"fusion_planned", "complex_fusion", "nicotine_with_fusion"}
    assert row["total"] == 17 - 3
    assert row["tier"] == "high"


# --- measurements -----------------------------------------------------------------------------


def test_height_and_weight_in_metric_are_stored_in_cm_and_kg(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers, until="medical_history")
    response = post(client, app, token, "medical_history", {**answers, "height": None,
                                                            "weight": None},
                    q_height="172,5", q_weight="81")
    assert response.status_code == 303
    stored = saved(app, token)
    assert stored["height"] == pytest.approx(172.5)
    assert stored["weight"] == pytest.approx(81.0)
    again = client.get(f"/s/{token}/step/medical_history")
    assert input_value(again, "q_height") == "172.5"
    assert input_value(again, "q_weight") == "81"


def test_height_and_weight_in_us_units_are_stored_in_cm_and_kg(app, client):
    token = new_screening(app)
    answers = {**example(app, "low tier"), "height": None, "weight": None}
    walk(client, app, token, answers, until="medical_history")
    response = post(client, app, token, "medical_history", answers,
                    q_height="", q_height_ft="5", q_height_in="10", q_weight="", q_weight_lb="150")
    assert response.status_code == 303
    stored = saved(app, token)
    assert stored["height"] == pytest.approx(177.8)  # 70 in x 2.54
    assert stored["weight"] == pytest.approx(68.0)  # 150 lb x 0.45359237 = 68.04
    # Shown again in centimetres, and on the review page in both units.
    assert input_value(client.get(f"/s/{token}/step/medical_history"), "q_height") == "177.8"
    walk(client, app, token, answers)
    text = main_text(client.get(f"/s/{token}/review"))
    assert "177.8 cm (5 ft 10 in)" in text
    assert "68 kg (150 lb)" in text


def test_us_units_out_of_range_or_not_numbers_are_422_and_keep_what_was_typed(app, client):
    token = new_screening(app)
    answers = {**example(app, "low tier"), "height": None, "weight": None}
    walk(client, app, token, answers, until="medical_history")
    before = db_state(app)
    response = post(client, app, token, "medical_history", answers,
                    q_height_ft="five", q_height_in="10", q_weight_lb="900")
    assert response.status_code == 422
    doc = main(response)
    assert doc.by_id("q_height-error").text == "Error: Please enter feet and inches as numbers."
    assert doc.by_id("q_weight-error").text == (
        "Error: Please enter a weight between 25 kg and 350 kg.")
    assert input_value(response, "q_height_ft") == "five"
    assert input_value(response, "q_height_in") == "10"
    assert input_value(response, "q_weight_lb") == "900"
    assert db_state(app) == before


def test_us_units_typed_into_the_page_as_rendered_are_accepted(app, client):
    token = new_screening(app)
    answers = {**example(app, "low tier"), "height": None, "weight": None}
    walk(client, app, token, answers, until="medical_history")
    form = client.get(f"/s/{token}/step/medical_history")
    names = {n.attrs["name"] for n in main(form).find_all("input") if "name" in n.attrs}
    assert {"q_height", "q_height_ft", "q_height_in", "q_weight", "q_weight_lb"} <= names
    # What a browser sends: every named input of the form, the metric boxes left empty.
    data = step_data(questionnaire(app).step_by_id["medical_history"], answers)
    data.update({name: "" for name in names if name.startswith(("q_height", "q_weight"))})
    data.update({"q_height_ft": "5", "q_height_in": "10", "q_weight_lb": "150"})
    response = client.post(f"/s/{token}/step/medical_history", data=data)
    assert response.status_code == 303, main_text(response)[:800]
    stored = saved(app, token)
    assert stored["height"] == pytest.approx(177.8)
    assert stored["weight"] == pytest.approx(68.0)


def test_the_metric_box_wins_when_both_units_are_filled_in(app, client):
    token = new_screening(app)
    answers = {**example(app, "low tier"), "height": None, "weight": None}
    walk(client, app, token, answers, until="medical_history")
    response = post(client, app, token, "medical_history", answers,
                    q_height="180", q_height_ft="5", q_height_in="10",
                    q_weight="80", q_weight_lb="150")
    assert response.status_code == 303
    stored = saved(app, token)
    assert stored["height"] == pytest.approx(180.0)
    assert stored["weight"] == pytest.approx(80.0)


# --- dates ------------------------------------------------------------------------------------


def test_dates_are_stored_as_the_iso_date_entered(app, client):
    token = new_screening(app)
    answers = example(app, "moderate tier - two-level")  # former smoker, quit June 2021
    client.post(f"/s/{token}/start")
    response = post(client, app, token, "about_surgery", answers,
                    **date_fields("q_surgery_date", "1", "01", "2031"))
    assert response.status_code == 303
    assert saved(app, token)["surgery_date"] == "2031-01-01"
    assert date_boxes(client.get(f"/s/{token}/step/about_surgery"),
                      "q_surgery_date") == ("1", "1", "2031")
    walk(client, app, token, answers)
    stored = saved(app, token)
    assert stored["surgery_date"] == "2031-01-01"  # no shift to 2030-12-31 on any server zone
    assert stored["quit_date"] == "2021-06"  # a month and a year (month_year)
    assert date_boxes(client.get(f"/s/{token}/step/habits"), "q_quit_date") == ("6", "2021")
    text = main_text(client.get(f"/s/{token}/review"))
    assert "1 January 2031" in text
    assert "When did you stop? June 2021" in text


def test_optional_date_left_blank_is_not_stored_and_clearing_it_deletes_it(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    client.post(f"/s/{token}/start")
    assert post(client, app, token, "about_surgery", answers,
                **date_fields("q_surgery_date", "6", "5", "2031")).status_code == 303
    assert saved(app, token)["surgery_date"] == "2031-05-06"
    assert post(client, app, token, "about_surgery", answers,
                **date_fields("q_surgery_date", " ", "", "  ")).status_code == 303
    assert "surgery_date" not in saved(app, token)
    walk(client, app, token, answers)
    assert "When is your surgery planned? Not answered" in main_text(
        client.get(f"/s/{token}/review"))


def test_saved_answers_are_shown_again_on_the_step(app, client):
    token = new_screening(app)
    answers = example(app, "moderate tier - two-level")
    walk(client, app, token, answers, until="mood")
    response = client.get(f"/s/{token}/step/about_surgery")
    assert checked_values(response, "surgery_type") == ["fusion"]
    assert checked_values(response, "fusion_levels") == ["two"]
    assert checked_values(response, "prior_spine_surgery") == ["no"]
    assert not main(response).by_id("question-fusion_levels").hidden
    response = client.get(f"/s/{token}/step/pain")
    assert checked_values(response, "other_pain_areas") == ["hips_knees_feet"]
    assert input_value(response, "q_back_pain") == "5"
    response = client.get(f"/s/{token}/step/medical_history")
    assert input_value(response, "q_hba1c") == "7.2"
    assert input_value(response, "q_weight") == "92.5"
