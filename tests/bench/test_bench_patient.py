"""Server time to render a step and to save one, on SQLite and PostgreSQL.

Run with `make bench` (pytest-benchmark); targets: median under 15 ms each on a 2-core machine.
Red flags are recorded as each step is saved (scored, compared with the standing flag events);
their cost is the difference between `test_save_step` and `test_save_step_without_flags`
(target: 1 ms or less at the median), and `test_save_step_raising_a_flag` is the worst case, a
save that raises a flag (an event and its alert).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.domain import answering, flags
from screening.extensions import db
from screening.models import Alert, Answer, FlagEvent, Screening
from tests.helpers import location_path, new_screening, questionnaire, step_data

pytestmark = pytest.mark.benchmark(group="patient step")

MOOD_A = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 0}
MOOD_B = {f"phq9_{i}": 2 for i in range(1, 10)} | {"phq9_9": 0}


@pytest.fixture
def app_config() -> dict:
    return {"SCREENING_RED_FLAG_EMAIL": "spine-team@clinic.example"}  # a flag has an alert


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


def alternate(client, path: str, step, *answers: dict):
    """A save of `answers[0]`, then `answers[1]`, and so on in turn; the count in `state`."""
    payloads = [step_data(step, a) for a in answers]
    state = {"n": 0}

    def save():
        state["n"] += 1
        return client.post(path, data=payloads[state["n"] % len(payloads)])

    return save, state


def stored_phq9_1(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Answer.value).where(Answer.question_id == "phq9_1"))


def test_save_step(benchmark, app, client, at_mood_step):
    _, path, step = at_mood_step
    save, state = alternate(client, path, step, MOOD_A, MOOD_B)
    response = benchmark(save)
    assert response.status_code == 303
    assert stored_phq9_1(app) == (2 if state["n"] % 2 else 1)


def test_save_step_without_flags(benchmark, app, client, at_mood_step, monkeypatch):
    """The same save with the flag recording taken out (its score and its comparison)."""
    monkeypatch.setattr(answering, "score", lambda q, answers: None)
    monkeypatch.setattr(flags, "record", lambda *args: [])
    _, path, step = at_mood_step
    save, state = alternate(client, path, step, MOOD_A, MOOD_B)
    response = benchmark(save)
    assert response.status_code == 303
    assert stored_phq9_1(app) == (2 if state["n"] % 2 else 1)


def test_save_step_raising_a_flag(benchmark, app, client, at_mood_step):
    """Each save raises the self-harm flag: an event, its alert, the job queued (each round
    starts from a screening without flags and with PHQ-9 item 9 at 0, set outside the timing)."""
    _, path, step = at_mood_step
    example = next(e for e in questionnaire(app).examples if "self-harm" in e.name).answers
    follow_ups = {k: v for k, v in example.items() if k.startswith("suicide_")}
    payload = step_data(step, {**MOOD_A, "phq9_9": 1, **follow_ups})

    def without_flags():
        with app.app_context():
            db.session.execute(sa.delete(Alert))
            db.session.execute(sa.delete(FlagEvent))
            db.session.execute(sa.update(Screening).values(has_red_flag=False))
            db.session.execute(
                sa.update(Answer).where(Answer.question_id == "phq9_9").values(value=0)
            )
            db.session.commit()

    response = benchmark.pedantic(
        lambda: client.post(path, data=payload), setup=without_flags, rounds=100, warmup_rounds=2
    )
    assert response.status_code == 303
    with app.app_context():
        raised = db.session.scalars(sa.select(FlagEvent.flag_id)).all()
        assert raised == ["self_harm"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 1
