"""What a patient's step costs the database, read through the session: a page shown is four
plain reads (the screening by its link, its answers, its finished steps, the step's draft); a
step saved is the first three, then its writes (its draft deleted), in one transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.domain import links
from screening.extensions import db
from tests.helpers import new_screening, step_data

from .support import example, questionnaire, saved, walk


@pytest.fixture
def statements(app):
    """The first word of every statement the app sends while the fixture is used."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split()[0].upper())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_a_step_page_shown_reads_the_link_its_answers_and_its_steps(app, client, statements):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers, until="mood")
    statements.clear()
    assert client.get(f"/s/{token}/step/mood").status_code == 200
    assert statements == ["SELECT", "SELECT", "SELECT", "SELECT"]


def test_saving_a_step_reads_then_writes_in_one_transaction(app, client, statements, backend):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers, until="mood")
    statements.clear()
    data = step_data(questionnaire(app).step_by_id["mood"], answers)
    assert client.post(f"/s/{token}/step/mood", data=data).status_code == 303
    # The screening taken (still open?), the answers, the step done, then the screening's red
    # flags read to record any the answers raise or take back, the step's draft deleted; nothing
    # read again after the commit (the next page's address follows from what was saved). At the
    # commit, the audit event: on PostgreSQL the lock and its id, then the chain's end read, and
    # the insert.
    chained = ["SELECT", "SELECT", "INSERT"] if backend == "postgresql" else ["SELECT", "INSERT"]
    assert statements == [
        "SELECT", "SELECT", "SELECT", "UPDATE", "INSERT", "INSERT", "SELECT", "DELETE", *chained]
    assert saved(app, token)["phq9_1"] == answers["phq9_1"]


def test_only_a_token_of_ours_finds_a_screening(app):
    token = new_screening(app)
    with app.app_context():
        assert links.find(token) is not None
        for other in ("", "x" * 201, token[:-1] + ("A" if token[-1] != "A" else "B")):
            assert links.find(other) is None
