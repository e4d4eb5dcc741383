"""Helpers for driving the patient's questionnaire through the test client."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from screening import codec
from screening.definition import model as m
from screening.domain import invitations, questionnaires
from screening.extensions import db


def new_screening(app, name: str = "Test Patient", days: int | None = None, **details) -> str:
    """Create a screening with the app's questionnaire; return its token."""
    with app.app_context():
        definition = questionnaires.store_in_force()
        _, token = invitations.create_screening(
            definition, patient_name=name, link_days=days or 14, **details
        )
        db.session.commit()
    return token


def questionnaire(app) -> m.Questionnaire:
    with app.app_context():
        return questionnaires.of(
            questionnaires.store_in_force()
        )


def field_data(question: m.Question, value: Any) -> dict[str, Any]:
    """The form fields a browser would post for one typed answer."""
    name = f"q_{question.id}"
    if value is None:
        return {}
    if question.type == "yes_no":
        return {name: "yes" if value else "no"}
    if question.type == "multi_choice":
        return {name: [str(v) for v in value]}
    if question.type in codec.DATE_PARTS:  # the day, month and year boxes
        boxes = codec.date_parts(question.type, value)
        return {f"{name}_{part}": text for part, text in boxes.items()}
    if isinstance(value, dt.date):
        return {name: value.isoformat()}
    return {name: str(value)}


def step_data(step: m.Step, answers: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for question in step.questions:
        if question.id in answers:
            data.update(field_data(question, answers[question.id]))
    return data


def location_path(response) -> str:
    location = response.headers["Location"]
    return re.sub(r"^https?://[^/]+", "", location)


def complete_questionnaire(client, app, token: str, answers: dict[str, Any]) -> list[str]:
    """Walk every step the app sends us to, posting `answers`; return the step ids visited."""
    q = questionnaire(app)
    response = client.post(f"/s/{token}/start")
    assert response.status_code == 303
    path = location_path(response)
    visited = []
    while "/step/" in path:
        step_id = path.rsplit("/", 1)[1].split("?")[0]
        visited.append(step_id)
        assert client.get(path).status_code == 200
        response = client.post(path, data=step_data(q.step_by_id[step_id], answers))
        assert response.status_code == 303, (step_id, response.data.decode()[:2000])
        path = location_path(response)
        assert len(visited) < 50
    assert path.endswith("/review")
    return visited


def signed_in_clinician(app, email: str = "clinic.doctor@example.org"):
    """A new test client signed in as a clinician (created if needed)."""
    import sqlalchemy as sa

    from screening.domain.accounts import create_user
    from screening.models import User

    password = "a long enough passphrase"
    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
            create_user(email, password, ["clinician"])
            db.session.commit()
    client = app.test_client()
    response = client.post("/staff/login", data={"email": email, "password": password})
    assert response.status_code == 303, response.status_code
    return client
