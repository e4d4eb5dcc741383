"""Pooled PostgreSQL connections closed by the server (a restart, an administrator) are
replaced before a request uses them: SQLAlchemy's pool_pre_ping."""

from __future__ import annotations

import pytest

from screening.extensions import db
from tests.conftest import make_app

from .conftest import BACKEND_PID, terminate


def test_every_database_is_pinged():
    for url in ("sqlite://",):
        assert make_app(url).config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


@pytest.mark.postgres
def test_a_connection_the_server_closed_is_replaced_before_use(pg_app):
    assert pg_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    with pg_app.app_context():
        with db.engine.connect() as conn:
            first = conn.execute(BACKEND_PID).scalar()
        terminate(first)
        with db.engine.connect() as conn:  # the same pooled connection, closed by the server
            second = conn.execute(BACKEND_PID).scalar()
        assert second != first
        assert db.engine.pool.checkedout() == 0
