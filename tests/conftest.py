"""Shared fixtures: the app on each database backend, clients, and patient helpers.

Every database test runs on SQLite and on PostgreSQL (TEST_DATABASE_URL). In CI (CI=true) a missing
PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

IN_CI = os.environ.get("CI", "").lower() == "true"
BASE_PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
# Under pytest-xdist (`make test` runs two workers) each worker has a database of its own
# ("test_gw0", "test_gw1", made next to TEST_DATABASE_URL's), since the tests empty theirs.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _worker_url(url: str) -> str:
    if not url or not WORKER:
        return url
    parsed = sa.engine.make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(
        hide_password=False
    )


PG_URL = _worker_url(BASE_PG_URL)
ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "questionnaires" / "fbss-preop.yaml"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError(
            "CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI"
        )
    if PG_URL != BASE_PG_URL:
        _create_database(BASE_PG_URL, sa.engine.make_url(PG_URL).database)


def _create_database(server_url: str, name: str) -> None:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def pg_url_or_skip() -> str:
    if not PG_URL:
        if IN_CI:
            pytest.fail("TEST_DATABASE_URL is required in CI")
        pytest.skip("TEST_DATABASE_URL not set (PostgreSQL tests run in CI)")
    return PG_URL


def reset_pg_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """The PostgreSQL test database, emptied and migrated once per run."""
    url = pg_url_or_skip()
    reset_pg_schema(url)
    from flask_migrate import upgrade

    from screening import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url,
                      "SCREENING_QUEUE": "memory"})
    with app.app_context():
        upgrade()
        from screening.extensions import db

        db.engine.dispose()
    return url


def truncate_all(url: str) -> None:
    from screening.extensions import db

    engine = sa.create_engine(url)
    names = ", ".join(t.name for t in db.metadata.sorted_tables)
    with engine.begin() as conn:
        # The audit trail refuses TRUNCATE (a trigger); triggers do not fire in replica mode.
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url = request.getfixturevalue("pg_migrated")
    truncate_all(url)
    return url


def make_app(database_url: str, **config):
    from screening import create_app

    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SCREENING_QUESTIONNAIRE": str(SHIPPED),
        "SCREENING_BASE_URL": "http://localhost",
        "SCREENING_QUEUE": "memory",  # jobs wait until a test runs them (queue.run_pending)
    }
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app_config() -> dict:
    """Extra settings for the `app` fixture; override in a test module."""
    return {}


@pytest.fixture
def app(database_url: str, app_config: dict):
    from screening.extensions import db

    app = make_app(database_url, **app_config)
    with app.app_context():
        if database_url.startswith("sqlite"):
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback; what it received in `.messages`."""
    from tests.staff.conftest import SMTPServer

    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
