"""Save and resume: every step is committed as it is sent, and the link alone brings the patient
back to where they stopped, on any device."""

from __future__ import annotations

import sqlalchemy as sa

from tests.helpers import location_path, new_screening

from .support import (
    checked_values,
    example,
    input_value,
    main,
    main_text,
    saved,
    screening_row,
    steps_done,
    walk,
)


def committed_answers(database_url: str, token: str) -> dict:
    """The answers as another process sees them: a new engine, outside the app."""
    from screening.models import Answer, Screening, hash_token

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(Answer.question_id, Answer.value)
                .join(Screening, Screening.id == Answer.screening_id)
                .where(Screening.token_hash == hash_token(token)))
            return dict(rows.all())
    finally:
        engine.dispose()


def test_answers_are_committed_step_by_step(app, client, database_url):
    token = new_screening(app)
    answers = example(app, "moderate tier - two-level")
    assert screening_row(app, token)["status"] == "invited"
    walk(client, app, token, answers, until="medical_history")
    stored = committed_answers(database_url, token)
    assert stored == {"surgery_region": "lower_back", "surgery_type": "fusion",
                      "fusion_levels": "two", "fusion_approach": "back_only",
                      "prior_spine_surgery": False}
    row = screening_row(app, token)
    assert row["status"] == "in_progress"
    assert row["started_at"] is not None and row["submitted_at"] is None
    assert steps_done(app, token) == {"about_surgery"}

    walk(client, app, token, answers, until="pain")
    stored = committed_answers(database_url, token)
    assert stored["height"] == 170 and stored["weight"] == 92.5 and stored["hba1c"] == 7.2
    assert stored["diabetes"] == "yes_without_insulin"
    assert steps_done(app, token) == {"about_surgery", "medical_history"}
    assert screening_row(app, token)["started_at"] == row["started_at"]


def test_a_new_browser_continues_where_the_patient_left_off(app, client):
    token = new_screening(app)
    answers = example(app, "moderate tier - two-level")
    walk(client, app, token, answers, until="pain")

    phone = app.test_client()  # no cookies, no session: only the link
    welcome = phone.get(f"/s/{token}")
    assert welcome.status_code == 200
    button = main(welcome).find("button")
    assert button.text == "Continue where I left off"
    response = phone.post(f"/s/{token}/start")
    assert response.status_code == 303
    assert location_path(response) == f"/s/{token}/step/pain"

    # The saved answers are filled in when a finished step is opened again.
    response = phone.get(f"/s/{token}/step/about_surgery")
    assert response.status_code == 200
    assert checked_values(response, "surgery_region") == ["lower_back"]
    assert checked_values(response, "surgery_type") == ["fusion"]
    assert checked_values(response, "fusion_levels") == ["two"]
    assert checked_values(response, "prior_spine_surgery") == ["no"]
    response = phone.get(f"/s/{token}/step/medical_history")
    assert input_value(response, "q_height") == "170"
    assert input_value(response, "q_weight") == "92.5"
    assert input_value(response, "q_hba1c") == "7.2"
    assert checked_values(response, "sex_at_birth") == ["female"]
    assert checked_values(response, "osteoporosis") == ["no"]
    # The step not yet answered is empty.
    response = phone.get(f"/s/{token}/step/pain")
    assert input_value(response, "q_back_pain") == ""
    assert checked_values(response, "pain_duration") == []

    # The new browser finishes; the first one sees the same state.
    walk(phone, app, token, answers)
    assert location_path(client.post(f"/s/{token}/start")) == f"/s/{token}/review"
    assert set(saved(app, token)) == set(answers)


def test_resume_after_changing_the_path_goes_to_the_new_step(app, client):
    token = new_screening(app)
    answers = example(app, "low tier")
    walk(client, app, token, answers, until="safety")
    # A later visit: the patient now says they had spine surgery before.
    response = client.post(f"/s/{token}/step/about_surgery", data={
        "q_surgery_region": "lower_back", "q_surgery_type": "discectomy",
        "q_prior_spine_surgery": "yes"})
    assert location_path(response) == f"/s/{token}/step/earlier_surgery"
    fresh = app.test_client()
    assert "Continue where I left off" in main_text(fresh.get(f"/s/{token}"))
    assert location_path(fresh.post(f"/s/{token}/start")) == f"/s/{token}/step/earlier_surgery"
    # The review is not open until the new step is answered.
    review = fresh.get(f"/s/{token}/review")
    assert review.status_code == 303
    assert location_path(review) == f"/s/{token}/step/earlier_surgery"
