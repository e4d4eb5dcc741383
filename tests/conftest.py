"""Shared fixtures: the app on each database backend, clients, and patient helpers.

Every database test runs on SQLite and on PostgreSQL (TEST_DATABASE_URL). In CI (CI=true) a missing
PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jinja2
import jinja2.bccache
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
    if PG_URL:
        create_database(BASE_PG_URL, sa.engine.make_url(PG_URL).database)


def create_database(server_url: str, name: str) -> None:
    """The database `name` on the server of `server_url`, made if missing.

    Its commits do not wait for the disk (synchronous_commit off, for every connection to it,
    the servers' the tests start included): a test database that a crash of the machine may
    leave without its last commits. Every commit is still a commit, seen at once by every other
    connection; only the wait for the write-ahead log's fsync, a millisecond or more each time
    and far more while the disk is busy, is left out.
    """
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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


@functools.cache
def _cleaner(url: str) -> tuple[sa.Engine, tuple[str, ...], tuple[str, ...]]:
    """An engine kept for the run, the tables children first, and the sequences they own."""
    from screening.extensions import db

    # No server-side prepared statements: they would outlive a schema dropped and made again.
    # Pinged before each use: some tests end every connection to the database (tests/ops).
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None})
    tables = tuple(t.name for t in reversed(db.metadata.sorted_tables))
    with engine.connect() as conn:
        sequences = tuple(conn.scalars(sa.text(
            "SELECT DISTINCT quote_ident(s.relname) FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "WHERE s.relkind = 'S' AND t.relname = ANY(:tables) "
            "AND t.relnamespace = current_schema()::regnamespace"
        ), {"tables": list(tables)}))
    return engine, tables, sequences


def truncate_all(url: str) -> None:
    """Every table of the models emptied and its ids counting from 1 again, as TRUNCATE ...
    RESTART IDENTITY would leave them. DELETE, since the tables hold a few rows: TRUNCATE makes
    new files for every table (about 10 times slower here, once per test)."""
    engine, tables, sequences = _cleaner(url)
    with engine.begin() as conn:
        # The audit trail refuses DELETE (a trigger); triggers, foreign keys' included, do not
        # fire in replica mode.
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for name in tables:
            conn.execute(sa.text(f'DELETE FROM "{name}"'))
        for sequence in sequences:
            conn.execute(sa.text(f"ALTER SEQUENCE {sequence} RESTART"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


# Where the tests' SQLite databases live: in memory (tmpfs) when the machine has /dev/shm, so that
# a commit does not wait for the disk (SQLite syncs its log at each one, a millisecond or more, far
# more while the disk is busy). The files are real SQLite files all the same, in WAL mode.
SHM = Path("/dev/shm")


@pytest.fixture(scope="session")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not (SHM.is_dir() and os.access(SHM, os.W_OK)):
        yield tmp_path_factory.mktemp("sqlite")
        return
    made = Path(tempfile.mkdtemp(prefix="screening-tests-", dir=SHM))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(sqlite_dir: Path) -> Path:
    """A SQLite file with the models' tables, made once per run (per worker): each test gets a
    copy, which takes a millisecond where making the tables takes about a tenth of a second."""
    from screening.extensions import db

    path = sqlite_dir / "template.db"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection closed: the WAL is folded into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def sqlite_url(sqlite_dir: Path, sqlite_template: Path) -> Iterator[str]:
    """A new SQLite database with the models' tables, for one test."""
    path = Path(tempfile.mkstemp(suffix=".db", dir=sqlite_dir)[1])
    shutil.copyfile(sqlite_template, path)
    yield f"sqlite:///{path}"
    remove_sqlite(path)


def remove_sqlite(path: Path) -> None:
    """A SQLite database's file, and its log and index if they were left."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("pg_migrated")
    truncate_all(url)
    return url


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates kept in memory for every app of the run: each test makes an app
    of its own, whose environment would otherwise parse and compile each page it renders again
    (about a tenth of a second per test). Jinja checks each entry against the template's source,
    and every app here has the same environment settings (create_app)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


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
    app = create_app(settings)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@pytest.fixture
def app_config() -> dict:
    """Extra settings for the `app` fixture; override in a test module."""
    return {}


@pytest.fixture
def app(database_url: str, app_config: dict):
    from screening.extensions import db

    app = make_app(database_url, **app_config)
    made = app.config["SQLALCHEMY_DATABASE_URI"]
    if made.startswith("sqlite") and made != database_url:  # a module's own database
        with app.app_context():
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
