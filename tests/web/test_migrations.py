"""The migrations build the schema the models describe, on SQLite and on PostgreSQL.

Each backend starts from an empty database of its own: a new SQLite file, or a PostgreSQL database
beside the worker's, emptied for this test (the shared, already migrated test database is left
alone).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from screening.extensions import db
from tests.conftest import (
    create_database,
    make_app,
    pg_url_or_skip,
    remove_sqlite,
    reset_pg_schema,
)


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest):
    if backend == "sqlite":
        path = Path(tempfile.mkstemp(suffix=".db", dir=request.getfixturevalue("sqlite_dir"))[1])
        path.unlink()  # a name only: the migrations make the file
        yield f"sqlite:///{path}"
        remove_sqlite(path)
        return
    # A database of its own beside the worker's, kept between runs and emptied before each test:
    # dropping a database makes PostgreSQL write every changed page of the server to disk (a
    # checkpoint), seconds while the disk is busy.
    base = sa.engine.make_url(pg_url_or_skip())
    url = base.set(database=f"{base.database}_empty").render_as_string(hide_password=False)
    create_database(base.render_as_string(hide_password=False), f"{base.database}_empty")
    reset_pg_schema(url)
    yield url


def head() -> str:
    """The newest revision: where `upgrade()` goes."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def index_names(conn) -> set[str]:
    """Every index in the database, expression-based ones included."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return set(conn.execute(sa.text(query)).scalars())


# SQLite cannot reflect expression-based indexes, so alembic skips comparing them (and warns);
# index_names() checks that they were created.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning")
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning")
def test_upgrade_on_an_empty_database_matches_the_models(empty_database_url: str):
    app = make_app(empty_database_url)
    try:
        with app.app_context():
            with db.engine.connect() as conn:
                assert sa.inspect(conn).get_table_names() == []
            upgrade()
            with db.engine.connect() as conn:
                tables = set(sa.inspect(conn).get_table_names())
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                revision = context.get_current_revision()
                differences = compare_metadata(context, db.metadata)
                indexes = index_names(conn)
            assert tables == set(db.metadata.tables) | {"alembic_version"}
            assert {"screenings", "answers", "steps_done", "definitions"} <= tables
            assert revision is not None
            assert differences == []
            wanted = {i.name for t in db.metadata.tables.values() for i in t.indexes}
            assert wanted and wanted <= indexes
            upgrade()  # a second upgrade is a no-op
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == revision
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_migrated_database_works_for_a_patient(empty_database_url: str):
    from tests.helpers import complete_questionnaire, new_screening

    from .support import example, screening_row

    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
    try:
        token = new_screening(app)
        client = app.test_client()
        complete_questionnaire(client, app, token, example(app, "low tier"))
        assert client.post(f"/s/{token}/submit").status_code == 303
        assert screening_row(app, token)["status"] == "submitted"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_review_note_migration_goes_down_and_up_again(empty_database_url: str):
    """e4a7b2c91d05 adds screenings.reviewed_note; its downgrade drops it (an existing review's
    who and when stay), and upgrading again adds it back."""
    from flask_migrate import downgrade

    from tests import factories

    app = make_app(empty_database_url)

    def columns() -> set[str]:
        with db.engine.connect() as conn:
            return {c["name"] for c in sa.inspect(conn).get_columns("screenings")}

    try:
        with app.app_context():
            upgrade()
            assert "reviewed_note" in columns()
        ident, _ = factories.submitted(app, "low tier")
        with app.app_context():
            db.session.execute(sa.text(
                "UPDATE screenings SET reviewed_note = 'Seen.', reviewed_at = created_at "
                "WHERE id = :id"), {"id": ident})
            db.session.commit()
            db.session.remove()
            downgrade(revision="5d1c7e9a3f20")
            assert "reviewed_note" not in columns()
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == "5d1c7e9a3f20"
                reviewed = conn.execute(sa.text(
                    "SELECT reviewed_at FROM screenings WHERE id = :id"), {"id": ident}).scalar()
                assert reviewed is not None
            upgrade()
            assert "reviewed_note" in columns()
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == head()
                note = conn.execute(sa.text(
                    "SELECT reviewed_note FROM screenings WHERE id = :id"), {"id": ident}).scalar()
                assert note is None
    finally:
        with app.app_context():
            db.session.remove()


def test_the_replaced_links_revision_goes_down_and_up_again(empty_database_url: str):
    from flask_migrate import downgrade

    app = make_app(empty_database_url)
    try:
        with app.app_context():
            upgrade()
            assert "replaced_links" in sa.inspect(db.engine).get_table_names()
            downgrade(revision="d2f9a4c7e815")
            assert "replaced_links" not in sa.inspect(db.engine).get_table_names()
            upgrade()
            assert "replaced_links" in sa.inspect(db.engine).get_table_names()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_surgery_records_revision_goes_down_and_up_again(empty_database_url: str):
    """a7e3c5d9b162 adds surgery_records (its checks hold in the database itself); its downgrade
    drops the table with its records, and upgrading again makes it anew."""
    from flask_migrate import downgrade

    from tests import factories

    app = make_app(empty_database_url)

    def insert(conn, **values) -> None:
        row = {"screening_id": ident, "procedure": "{}", "via": "cli", "surgery_date": None,
               "planned_date": None, **values}
        conn.execute(sa.text(
            "INSERT INTO surgery_records (screening_id, status, surgery_date, planned_date, "
            "procedure, via, recorded_at) VALUES (:screening_id, :status, :surgery_date, "
            ":planned_date, :procedure, :via, CURRENT_TIMESTAMP)"), row)

    try:
        with app.app_context():
            upgrade()
        ident, _ = factories.screening(app)
        with app.app_context():
            with db.engine.begin() as conn:
                insert(conn, status="performed", surgery_date="2026-12-01")
            for wrong in ({"status": "performed"}, {"status": "done"},
                          {"status": "cancelled", "surgery_date": "2026-12-01"},
                          {"status": "cancelled", "planned_date": "2027-01-01"},
                          {"status": "cancelled", "via": "fax"}):
                with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                    insert(conn, **wrong)
            downgrade(revision="f1c6d8a2b347")
            assert "surgery_records" not in sa.inspect(db.engine).get_table_names()
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == "f1c6d8a2b347"
            upgrade()
            assert "surgery_records" in sa.inspect(db.engine).get_table_names()
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == head()
                assert conn.execute(sa.text("SELECT count(*) FROM surgery_records")).scalar() == 0
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
