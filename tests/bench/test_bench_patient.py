"""Server time to render a step and to save one, on SQLite and PostgreSQL.

Run with `make bench` (pytest-benchmark); targets: median under 15 ms each on a 2-core machine.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.extensions import db
from screening.models import Answer
from tests.helpers import location_path, new_screening, questionnaire, step_data

pytestmark = pytest.mark.benchmark(group="patient step")

MOOD_A = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}
MOOD_B = {f"phq9_{i}": 2 for i in range(1, 10)} | {"phq9_9": 0}


@pytest.fixture
def at_mood_step(app, client):
    """A screening answered up to the PHQ-9 step (9 questions), as a patient would reach it."""
    q = questionnaire(app)
    answers = next(e for e in q.examples if e.expect.get("tier") == "high").answers
    token = new_screening(app)
    path = location_path(client.post(f"/s/{token}/start"))
    while not path.endswith("/step/mood"):
        step_id = path.rsplit("/", 1)[1]
        path = location_path(client.post(path, data=step_data(q.step_by_id[step_id], answers)))
    return token, path, q.step_by_id["mood"]


def test_render_step(benchmark, client, at_mood_step):
    _, path, _ = at_mood_step
    response = benchmark(client.get, path)
    assert response.status_code == 200
    assert b"Little interest or pleasure in doing things" in response.data


def test_save_step(benchmark, app, client, at_mood_step):
    token, path, step = at_mood_step
    payloads = [step_data(step, MOOD_A), step_data(step, MOOD_B)]
    state = {"n": 0}

    def save():
        state["n"] += 1
        return client.post(path, data=payloads[state["n"] % 2])

    response = benchmark(save)
    assert response.status_code == 303
    with app.app_context():
        stored = db.session.scalar(
            sa.select(Answer.value).where(Answer.question_id == "phq9_1")
        )
    assert stored == (2 if state["n"] % 2 else 1)
