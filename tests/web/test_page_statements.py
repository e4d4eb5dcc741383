"""What a patient's step costs the database: a page shown is one statement read outside a
transaction, without the session (services.read_by_token); a step saved is that read, then its
writes in one transaction on a connection no longer in autocommit."""

from __future__ import annotations

import dataclasses
import re

import psycopg
import pytest
import sqlalchemy as sa

from screening import reads, services
from screening.extensions import db
from tests.helpers import new_screening, step_data

from .support import example, questionnaire, saved, walk


@pytest.fixture
def statements(app, tmp_path):
    """(statement, autocommit?) for every statement the app runs while the fixture is used: on
    the application's engine as SQLAlchemy runs them, and on PostgreSQL's pool of link reads
    (screening.reads), which sends them to psycopg directly, as the client library's trace of
    the connection's messages to the server shows them."""
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
    link_reads = app.extensions.get(reads._ENGINE)
    if link_reads is not None:
        traced = _Traces(tmp_path, seen)
        sa.event.listen(link_reads, "checkout", traced.start)
        sa.event.listen(link_reads, "checkin", traced.stop)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)
    if link_reads is not None:
        sa.event.remove(link_reads, "checkout", traced.start)
        sa.event.remove(link_reads, "checkin", traced.stop)


class _Traces:
    """libpq's trace of a pooled psycopg connection while it is checked out: each statement the
    server is asked to run (Execute of the extended protocol, Query of the simple one), named
    by the text the connection gave it (Parse: at once, or once before a prepared one)."""

    def __init__(self, folder, seen: list[tuple[str, bool]]):
        self.folder, self.seen = folder, seen
        self.texts: dict[tuple[int, str], str] = {}  # (connection, statement name) -> text
        self.files: dict[int, object] = {}

    def start(self, dbapi_connection, record, proxy) -> None:
        trace = open(self.folder / f"trace-{len(self.seen)}-{id(dbapi_connection)}.txt", "w+")
        self.files[id(dbapi_connection)] = trace
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def stop(self, dbapi_connection, record) -> None:
        trace = self.files.pop(id(dbapi_connection), None)
        if trace is None:
            return
        dbapi_connection.pgconn.untrace()
        trace.seek(0)
        # One message a line, "F" (to the server) or "B" (back), or more lines for a text
        # with line breaks in it.
        messages = re.split(r"\n(?=[FB]\t)", trace.read())
        current = ""  # the text of the statement the next Execute runs
        for message in messages:
            direction, _, kind, body = (message.split("\t", 3) + ["", "", ""])[:4]
            if direction != "F":
                continue
            names = re.match(r'\s*"(.*?)" "(.*?)"', body, re.DOTALL)
            if kind == "Parse":  # "name" "text" ...: the unnamed one runs next
                self.texts[id(dbapi_connection), names.group(1)] = names.group(2)
                if not names.group(1):
                    current = names.group(2)
            elif kind == "Bind":  # "portal" "statement" ...
                current = self.texts[id(dbapi_connection), names.group(2)]
            elif kind in ("Execute", "Query"):
                text = current if kind == "Execute" else re.match(r'\s*"(.*)"', body, re.DOTALL)[1]
                self.seen.append((text.split()[0].upper(), dbapi_connection.autocommit))
        trace.close()


def test_a_step_page_is_one_statement_outside_a_transaction(app, client, statements):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers, until="mood")
    statements.clear()
    assert client.get(f"/s/{token}/step/mood").status_code == 200
    assert statements == [("SELECT", True)]


def test_saving_a_step_is_one_read_outside_a_transaction_then_the_writes_in_one(
    app, client, statements
):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers, until="mood")
    assert client.get(f"/s/{token}/step/mood").status_code == 200  # autocommit, then reset
    statements.clear()
    data = step_data(questionnaire(app).step_by_id["mood"], answers)
    assert client.post(f"/s/{token}/step/mood", data=data).status_code == 303
    # The link read as for a page shown; saving reads nothing (its answers are written whether
    # or not rows are there: services.save_step), and the screening is not read again after
    # the commit.
    assert statements[0] == ("SELECT", True)
    writes = statements[1:]
    # The screening taken (still open?), the answers, the step done.
    assert [kind for kind, _ in writes] == ["UPDATE", "INSERT", "INSERT"]
    assert not any(autocommit for _, autocommit in writes)  # in a transaction: the reset
    assert saved(app, token)["phq9_1"] == answers["phq9_1"]


@pytest.fixture
def sessions_begun(app):
    """The transactions the ORM's sessions begin while the fixture is used."""
    begun: list[object] = []

    def record(session, transaction, connection):
        begun.append(session)

    sa.event.listen(sa.orm.Session, "after_begin", record)
    yield begun
    sa.event.remove(sa.orm.Session, "after_begin", record)


def test_the_pages_a_patient_only_looks_at_never_begin_a_session(app, client, sessions_begun):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers)  # every step saved: the review is open
    sessions_begun.clear()
    for path in ("", "/step/about_surgery", "/step/mood", "/review", "/step/mood?return=review"):
        assert client.get(f"/s/{token}{path}").status_code == 200, path
    assert sessions_begun == []
    data = step_data(questionnaire(app).step_by_id["mood"], answers)
    assert client.post(f"/s/{token}/step/mood", data=data).status_code == 303
    assert len(sessions_begun) == 1  # a save is the session's


def test_a_link_read_to_show_is_the_same_screening_as_one_opened_to_change(app, client):
    answers = example(app, "high tier")
    token = new_screening(app)
    walk(client, app, token, answers, until="mood")
    with app.app_context():
        shown, shown_answers, shown_done = services.read_by_token(token)
        opened, opened_answers, opened_done = services.open_by_token(token)
        for field in dataclasses.fields(shown):
            assert getattr(shown, field.name) == getattr(opened, field.name), field.name
        assert opened.started_at is not None and shown.status == "in_progress"
        assert (shown_answers, shown_done) == (opened_answers, opened_done)
        assert shown_answers and "mood" not in shown_done and "about_surgery" in shown_done
        assert shown.effective_status() == opened.effective_status() == "in_progress"
        # Read-only, and holding nothing else: no silent None for a column it does not have.
        with pytest.raises(dataclasses.FrozenInstanceError):
            shown.language = "es"
        with pytest.raises(AttributeError):
            shown.patient_name  # noqa: B018
        for unknown in ("", "x" * 201, token[:-1] + ("A" if token[-1] != "A" else "B")):
            assert services.read_by_token(unknown) is None
