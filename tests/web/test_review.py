"""The review page: every answer the patient was asked, by step, each step with a Change link."""

from __future__ import annotations

import pytest

from tests.helpers import location_path, new_screening, step_data

from .support import db_state, example, main, main_text, questionnaire, saved, walk


def test_review_lists_every_visible_answer_by_step_with_change_links(app, client):
    token = new_screening(app)
    answers = example(app, "moderate tier - two-level")
    walk(client, app, token, answers)
    response = client.get(f"/s/{token}/review")
    assert response.status_code == 200
    q = questionnaire(app)
    sections = main(response).find_all("section")
    shown_steps = [s for s in q.steps if s.id != "earlier_surgery"]
    assert [s.find("h2").text for s in sections] == [s.title for s in shown_steps]
    for section, step in zip(sections, shown_steps, strict=True):
        rows = section.find_all("div", class_="summary-row")
        questions = [row.find("dt").text for row in rows]
        expected = [question for question in step.questions
                    if question.id in answers or not question.required]
        assert questions == [" ".join(q.label.split()) for q in expected]
        # GOV.UK's summary list: key, value, and a Change link naming the question (item 10).
        for row, question in zip(rows, expected, strict=True):
            value, action = row.find_all("dd")
            assert "summary-value" in value.attrs["class"]
            change = action.find("a")
            assert change.attrs["href"] == (
                f"/s/{token}/step/{step.id}?return_to=review#question-{question.id}")
            assert change.text == " ".join(
                f"Change your answer to: {question.label}".split())
    text = main_text(response)
    assert "How many levels (joints between the bones) will be fused? Two levels" in text
    assert "Which part of your spine is the surgery for? Lower back" in text
    assert "Have you had an operation on your spine before? No" in text
    assert "How tall are you? 170 cm (5 ft 7 in)" in text
    assert "92.5 kg (204 lb)" in text
    assert "7.2 %" in text
    assert "Hips, knees or feet" in text
    assert "When did you stop? June 2021" in text
    assert "What would you most like to be able to do again after surgery? Not answered" in text
    # Questions this patient was not asked are not listed.
    assert "Which do you use?" not in text  # nicotine forms: former smoker
    assert "How long have you been off work?" not in text
    assert main(response).find("form").attrs["action"] == f"/s/{token}/submit"


def test_changing_a_step_from_the_review_returns_to_the_review(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers)
    change = client.get(f"/s/{token}/step/pain?return_to=review")
    assert change.status_code == 200
    form = main(change).find("form")
    assert form.attrs["action"] == f"/s/{token}/step/pain?return_to=review"
    assert form.find("button").text == "Save and return to review"
    # Back goes to the review page it came from.
    assert main(change).find("a", class_="back-link").attrs["href"] == f"/s/{token}/review"

    data = step_data(questionnaire(app).step_by_id["pain"], {**answers, "back_pain": 2})
    response = client.post(f"/s/{token}/step/pain?return_to=review", data=data)
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/review"
    assert saved(app, token)["back_pain"] == 2
    review = main_text(client.get(f"/s/{token}/review"))
    assert "how bad has the pain in your back (or neck) been? 2" in review

    # Without ?return_to=review, the next step follows as usual.
    response = client.post(f"/s/{token}/step/pain", data=data)
    assert location_path(response) == f"/s/{token}/step/safety"

    # A bad answer on a change keeps the way back to the review.
    before = db_state(app)
    data["q_back_pain"] = "lots"
    response = client.post(f"/s/{token}/step/pain?return_to=review", data=data)
    assert response.status_code == 422
    assert main(response).find("form").attrs["action"] == (
        f"/s/{token}/step/pain?return_to=review")
    assert db_state(app) == before


def test_review_before_finishing_goes_to_the_first_unfinished_step(app, client):
    token = new_screening(app)
    before = db_state(app)
    response = client.get(f"/s/{token}/review")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/about_surgery"
    assert db_state(app) == before
    answers = example(app, "low tier")
    walk(client, app, token, answers, until="habits")
    response = client.get(f"/s/{token}/review")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/habits"


def test_a_change_that_opens_a_new_step_goes_there_before_the_review(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers)
    data = step_data(questionnaire(app).step_by_id["about_surgery"],
                     {**answers, "prior_spine_surgery": True})
    response = client.post(f"/s/{token}/step/about_surgery?return_to=review", data=data)
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/earlier_surgery"
    assert client.get(f"/s/{token}/review").status_code == 303


@pytest.mark.parametrize("value", ["https://evil.example/", "//evil.example", "/staff/",
                                   "Review", "review ", ""])
def test_return_to_takes_no_address_from_the_request(app, client, value):
    """Only `return_to=review` leads back to the review page (of the same link); any other
    value is ignored: the next step follows, and no address from the request is used."""
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers)
    data = step_data(questionnaire(app).step_by_id["pain"], answers)
    response = client.post(f"/s/{token}/step/pain", query_string={"return_to": value}, data=data)
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/safety"
    page = client.get(f"/s/{token}/step/pain", query_string={"return_to": value})
    assert page.status_code == 200
    assert "evil" not in page.get_data(as_text=True)
    assert main(page).find("form").attrs["action"] == f"/s/{token}/step/pain"
