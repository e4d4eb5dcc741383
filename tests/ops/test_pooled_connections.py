"""Pooled PostgreSQL connections closed by the server are replaced before use, with no statement
sent to check them (screening.ops.init_database)."""

from __future__ import annotations

import select

import pytest
import sqlalchemy as sa

from screening.extensions import db
from tests.conftest import make_app

from .conftest import BACKEND_PID, terminate


@pytest.mark.postgres
def test_no_statement_is_sent_to_check_a_pooled_connection(pg_app):
    assert pg_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    with pg_app.app_context():
        sent: list[str] = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
        for _ in range(3):
            with db.engine.connect() as conn:
                conn.execute(BACKEND_PID)
        assert sent == [str(BACKEND_PID)] * 3


@pytest.mark.postgres
def test_a_connection_the_server_closed_is_replaced_before_use(pg_app):
    with pg_app.app_context():
        with db.engine.connect() as conn:
            first = conn.execute(BACKEND_PID).scalar()
        terminate(first)
        with db.engine.connect() as conn:  # the same pooled connection, closed by the server
            second = conn.execute(BACKEND_PID).scalar()
        assert second != first
        assert db.engine.pool.checkedout() == 0


@pytest.mark.postgres
def test_a_connection_cut_as_soon_as_it_is_made_fails_with_a_database_error(pg_app):
    """As pre-ping, the check leaves a connection just made alone. Were it checked, a stale
    pooled connection followed by a new one cut at once would exhaust the pool's two tries and
    end in InvalidRequestError ("This connection is closed"), a server error, where a database
    error gives the friendly retry page."""
    with pg_app.app_context():
        with db.engine.connect() as conn:
            stale = conn.execute(BACKEND_PID).scalar()
        terminate(stale)
        cut: list[int] = []

        def cut_at_once(dbapi_connection, connection_record):
            if cut:
                return
            cut.append(dbapi_connection.info.backend_pid)
            terminate(cut[0])
            poller = select.poll()
            poller.register(dbapi_connection.fileno(), select.POLLIN)
            assert poller.poll(5000), "the server's goodbye never came"

        sa.event.listen(db.engine, "connect", cut_at_once)
        try:
            with pytest.raises(sa.exc.OperationalError):
                with db.engine.connect() as conn:
                    conn.execute(BACKEND_PID)
        finally:
            sa.event.remove(db.engine, "connect", cut_at_once)
        assert len(cut) == 1
        with db.engine.connect() as conn:  # and the next request is served
            assert conn.execute(BACKEND_PID).scalar() not in (stale, cut[0])
        assert db.engine.pool.checkedout() == 0


def test_the_default_pings_elsewhere():
    sqlite = make_app("sqlite://")
    assert sqlite.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
