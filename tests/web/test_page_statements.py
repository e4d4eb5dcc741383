"""What a patient's step costs the database: a page shown is one statement read outside a
transaction; a step saved is one transaction, and the next page is no longer in autocommit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.extensions import db
from tests.helpers import new_screening, step_data

from .support import example, questionnaire, saved, walk


@pytest.fixture
def statements(app):
    """(statement, autocommit?) for every statement the app runs while the fixture is used."""
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        declared = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        dbapi = conn.connection.dbapi_connection
        # The driver's own state: psycopg's autocommit flag, sqlite3's isolation_level None.
        actual = dbapi.autocommit if hasattr(dbapi, "pgconn") else dbapi.isolation_level is None
        assert declared == actual, (statement, declared, actual)
        seen.append((statement.split()[0].upper(), actual))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_a_step_page_is_one_statement_outside_a_transaction(app, client, statements):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers, until="mood")
    statements.clear()
    assert client.get(f"/s/{token}/step/mood").status_code == 200
    assert statements == [("SELECT", True)]


def test_saving_a_step_after_a_page_is_shown_is_one_transaction(app, client, statements):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers, until="mood")
    assert client.get(f"/s/{token}/step/mood").status_code == 200  # autocommit, then reset
    statements.clear()
    data = step_data(questionnaire(app).step_by_id["mood"], answers)
    assert client.post(f"/s/{token}/step/mood", data=data).status_code == 303
    kinds = [kind for kind, _ in statements]
    assert kinds[0] == "SELECT" and "INSERT" in kinds
    assert not any(autocommit for _, autocommit in statements)  # the connection was reset
    # Read once: the screening is not read again after the commit.
    assert sum(1 for kind in kinds if kind == "SELECT") == 2  # the page's, the step's answers
    assert saved(app, token)["phq9_1"] == answers["phq9_1"]
