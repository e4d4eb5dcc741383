"""Link reads (screening.reads): on PostgreSQL a pool of their own in autocommit and the driver
called directly, with SQLAlchemy's pool, result types and errors kept, and a read whose
connection the server closed read again; elsewhere Core."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from screening import reads, services
from screening.extensions import db
from tests.bench.loadtest import closed_port
from tests.conftest import make_app
from tests.helpers import new_screening

from .conftest import BACKEND_PID, terminate

STATEMENT = services._open_statement(core=True)
ANSWERS = {"surgery_region": "lower_back", "prior_spine_surgery": True}


def link_engine(app) -> sa.Engine:
    return app.extensions[reads._ENGINE]


def answered_screening(app) -> tuple[str, str]:
    """A screening with two answers, one finished step and a start time; its token and hash."""
    token = new_screening(app)
    with app.app_context():
        screening = services.find_by_token(token)
        q = services.questionnaire_for(screening)
        services.save_step(
            screening, q, "about_surgery", ANSWERS, visible=set(ANSWERS), done=set(),
        )
        db.session.commit()
        token_hash = screening.token_hash
    return token, token_hash


@pytest.mark.postgres
def test_the_row_is_the_one_sqlalchemy_reads_with_its_types(pg_app):
    token, token_hash = answered_screening(pg_app)
    with pg_app.app_context():
        with db.engine.connect() as conn:
            expected = tuple(conn.execute(STATEMENT, {"token_hash": token_hash}).one())
        row = reads.one_row(STATEMENT, {"token_hash": token_hash})
        assert reads.one_row(STATEMENT, {"token_hash": "no such hash"}) is None
    assert row == expected
    started, expires = row[4], row[6]
    assert started.tzinfo is dt.UTC and expires.tzinfo is dt.UTC  # UTCDateTime, as read by Core
    assert row[8] == ANSWERS
    assert row[9] == "about_surgery"


@pytest.mark.postgres
def test_reads_use_their_own_pool_in_autocommit_and_go_with_the_app_engine(pg_app):
    _, token_hash = answered_screening(pg_app)
    with pg_app.app_context():
        engine = link_engine(pg_app)
        assert engine is not db.engine and engine.url == db.engine.url
        for _ in range(3):
            reads.one_row(STATEMENT, {"token_hash": token_hash})
        assert engine.pool.checkedout() == 0 and engine.pool.checkedin() == 1
        pooled = engine.raw_connection()
        try:
            assert pooled.driver_connection.autocommit is True
            assert pooled.driver_connection.info.transaction_status.name == "IDLE"
        finally:
            pooled.close()
        db.engine.dispose()
        assert engine.pool.checkedin() == 0


@pytest.mark.postgres
def test_reads_closed_by_the_server_are_read_again_on_a_new_pool(pg_app):
    """Every pooled connection closed by the server (as after a restart): the next read fails
    on one of them, and is served at once on a new connection, with no check of each
    connection before use; the others go with the old pool."""
    _, token_hash = answered_screening(pg_app)
    with pg_app.app_context():
        engine = link_engine(pg_app)
        held = [engine.connect() for _ in range(3)]
        old = {conn.execute(BACKEND_PID).scalar() for conn in held}
        for conn in held:
            conn.close()
        assert engine.pool.checkedin() == 3
        for pid in old:
            terminate(pid)
        invalidated = watch_invalidations(engine)
        sent = watch_checkouts(engine)
        assert reads.one_row(STATEMENT, {"token_hash": token_hash})[9] == "about_surgery"
        assert len(invalidated) == 1 and len(sent) == 2  # one closed connection, then a new one
        with engine.connect() as conn:
            assert conn.execute(BACKEND_PID).scalar() not in old
        assert engine.pool.checkedin() == 1


@pytest.mark.postgres
def test_a_read_cut_twice_is_a_database_error_and_the_next_is_served(pg_app):
    _, token_hash = answered_screening(pg_app)
    with pg_app.app_context():
        engine = link_engine(pg_app)
        cut: list[int] = []

        def cut_twice(dbapi_connection, record, proxy):
            if len(cut) < 2:
                cut.append(dbapi_connection.info.backend_pid)
                terminate(cut[-1])

        invalidated = watch_invalidations(engine)
        sa.event.listen(engine, "checkout", cut_twice)
        try:
            with pytest.raises(sa.exc.OperationalError) as raised:
                reads.one_row(STATEMENT, {"token_hash": token_hash})
        finally:
            sa.event.remove(engine, "checkout", cut_twice)
        assert len(cut) == 2 and cut[0] != cut[1]  # read again once, on a new connection
        assert raised.value.connection_invalidated is True
        assert token_hash not in str(raised.value)  # no parameters shown
        # Neither dead connection was put back for a later read to find.
        assert [type(exc) for exc in invalidated] == [type(raised.value.orig)] * 2
        assert reads.one_row(STATEMENT, {"token_hash": token_hash}) is not None
        with engine.connect() as conn:
            assert conn.execute(BACKEND_PID).scalar() not in cut


def watch_invalidations(engine: sa.Engine) -> list[BaseException | None]:
    invalidated: list[BaseException | None] = []
    sa.event.listen(engine, "invalidate", lambda conn, record, exc: invalidated.append(exc))
    return invalidated


def watch_checkouts(engine: sa.Engine) -> list[int]:
    taken: list[int] = []
    sa.event.listen(engine, "checkout", lambda conn, record, proxy: taken.append(id(conn)))
    return taken


@pytest.mark.postgres
def test_a_database_that_is_away_is_a_database_error(pg_app):
    with pg_app.app_context():
        engine = link_engine(pg_app)
        away = sa.create_engine(
            engine.url.set(port=closed_port()), isolation_level="AUTOCOMMIT"
        )
        pg_app.extensions[reads._ENGINE] = away
        try:
            with pytest.raises(sa.exc.OperationalError):
                reads.one_row(STATEMENT, {"token_hash": "x"})
        finally:
            pg_app.extensions[reads._ENGINE] = engine
            away.dispose()


def test_elsewhere_the_row_is_read_with_core(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'reads.db'}")
    with app.app_context():
        db.create_all()
    assert reads._ENGINE not in app.extensions
    _, token_hash = answered_screening(app)
    with app.app_context():
        row = reads.one_row(STATEMENT, {"token_hash": token_hash})
        assert row[8] == ANSWERS
        assert row[4].tzinfo is dt.UTC
        db.engine.dispose()
