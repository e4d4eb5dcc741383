"""PostgreSQL helpers of the ops tests: an application on the test database, and a server
connection ended as an administrator (or a restart) would end it."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from screening.extensions import db
from tests.conftest import make_app, pg_url_or_skip

BACKEND_PID = sa.text("SELECT pg_backend_pid()")


@pytest.fixture
def pg_app():
    app = make_app(pg_url_or_skip())
    yield app
    with app.app_context():
        db.engine.dispose()


def terminate(pid: int) -> None:
    """pg_terminate_backend, then wait until the backend is gone."""
    engine = sa.create_engine(pg_url_or_skip(), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        for _ in range(200):
            alive = conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar()
            if not alive:
                break
            time.sleep(0.01)
    engine.dispose()
