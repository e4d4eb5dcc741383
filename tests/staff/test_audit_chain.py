"""The audit trail is tamper-evident: a hash chain that `screening audit verify` checks, and on
PostgreSQL a trigger and the application role's grants that refuse UPDATE and DELETE."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from screening.commands import main as screening_cli
from screening.domain import audit
from screening.extensions import db
from screening.models import AuditEvent
from tests.conftest import ROOT, make_app
from tests.web.test_migrations import empty_database_url  # noqa: F401 - a fixture

from .conftest import audit_events, signed_in

MIGRATION = ROOT / "screening" / "migrations" / "versions" / "3c9f1e7a2b58_audit_chain.py"


def verify(runner) -> tuple[int, str]:
    result = runner.invoke(screening_cli, ["audit", "verify"])
    return result.exit_code, result.output.strip()


def record(app, *actions: str, screening_id: int | None = None) -> None:
    with app.app_context():
        for action in actions:
            audit.record(action, screening_id=screening_id, detail=f"{action} detail")
        db.session.commit()
        db.session.remove()


def tamper(app, sql: str, **params) -> None:
    """Change audit rows behind the application's back (the PostgreSQL trigger bypassed, as a
    superuser could)."""
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(sql), params)
        db.session.remove()


def test_the_chain_links_every_event_to_the_one_before(app, runner, staff):
    signed_in(app.test_client(), staff["intake"])
    record(app, "screening_viewed", "pdf_downloaded", screening_id=7)  # two in one commit
    record(app, "backup_written")
    events = audit_events(app)
    assert [e.action for e in events] == [
        "login", "screening_viewed", "pdf_downloaded", "backup_written"]
    assert events[0].prev_hash == audit.GENESIS
    for before, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == before.hash
    for event in events:
        columns = {name: getattr(event, name) for name in audit.CHAINED}
        assert event.hash == audit.digest(**columns) and len(event.hash) == 64
    assert verify(runner) == (0, "audit log intact: 4 events")


def test_verify_on_an_empty_log(app, runner):
    assert verify(runner) == (0, "audit log intact: 0 events")


def test_verify_finds_an_edited_row(app, runner, staff):
    record(app, *["screening_viewed"] * 5, screening_id=3)
    [_, _, third, _, _] = audit_events(app)
    tamper(app, "UPDATE audit_events SET detail = 'nothing to see' WHERE id = :id", id=third.id)
    code, output = verify(runner)
    assert code == 1
    assert output.startswith(f"audit log broken at event {third.id} (at ")
    assert output.endswith("content changed (the event's hash does not match it)")
    assert third.at.isoformat(timespec="seconds") in output


def test_verify_finds_an_edit_whose_hash_was_made_again(app, runner):
    record(app, *["screening_viewed"] * 4)
    [_, second, third, _] = audit_events(app)
    columns = {name: getattr(second, name) for name in audit.CHAINED}
    forged = audit.digest(**{**columns, "screening_id": 99})
    tamper(app, "UPDATE audit_events SET screening_id = 99, hash = :h WHERE id = :id",
           h=forged, id=second.id)
    code, output = verify(runner)
    assert code == 1 and output.startswith(f"audit log broken at event {third.id} ")
    assert f"(or event {second.id} was rewritten)" in output


def test_verify_finds_a_deleted_row(app, runner):
    record(app, *["screening_viewed"] * 5)
    [first, second, third, _, _] = audit_events(app)
    tamper(app, "DELETE FROM audit_events WHERE id = :id", id=second.id)
    code, output = verify(runner)
    assert code == 1 and output.startswith(f"audit log broken at event {third.id} ")
    assert f"events missing between event {first.id} and this one" in output


def test_the_oldest_remaining_event_starts_the_chain(app, runner):
    """Events removed from the start (a retention rule one day) leave a chain that verifies:
    the oldest event's link is trusted."""
    record(app, *["screening_viewed"] * 4)
    first = audit_events(app)[0]
    tamper(app, "DELETE FROM audit_events WHERE id = :id", id=first.id)
    assert verify(runner) == (0, "audit log intact: 3 events")


def test_events_of_a_rolled_back_transaction_leave_no_trace(app, runner):
    record(app, "screening_viewed")
    with app.app_context():
        audit.record("pdf_downloaded")
        db.session.flush()
        db.session.rollback()
        audit.record("backup_written")
        db.session.commit()
        db.session.remove()
    assert [e.action for e in audit_events(app)] == ["screening_viewed", "backup_written"]
    assert verify(runner) == (0, "audit log intact: 2 events")


def test_events_held_across_flushes_and_savepoints_keep_their_order(app, runner):
    with app.app_context():
        audit.record("screening_viewed")
        db.session.flush()  # held, not inserted: it gets its id at the commit
        with db.session.begin_nested():
            audit.record("pdf_downloaded")
        audit.record("backup_written")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
        db.session.commit()
        db.session.remove()
    assert [e.action for e in audit_events(app)] == [
        "screening_viewed", "pdf_downloaded", "backup_written"]
    assert verify(runner)[0] == 0


def test_audit_export_and_the_old_spelling(app, runner, staff):
    signed_in(app.test_client(), staff["intake"])
    for args in (["audit", "export", "--since", "2020-01-01"], ["audit", "--since", "2020-01-01"]):
        result = runner.invoke(screening_cli, args)
        assert result.exit_code == 0 and result.output.startswith("id,at,action,"), args
    result = runner.invoke(screening_cli, ["audit"])
    assert result.exit_code == 2 and "give --since" in result.output
    assert [e.action for e in audit_events(app)] == ["login", "audit_exported", "audit_exported"]
    assert verify(runner) == (0, "audit log intact: 3 events")


def _migration():
    spec = importlib.util.spec_from_file_location("audit_chain_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_hashes_as_the_application_does(app):
    record(app, "screening_viewed", "login_failed")
    for event in audit_events(app):
        columns = {name: getattr(event, name) for name in audit.CHAINED}
        assert _migration()._digest(**columns) == event.hash


def test_the_migration_chains_the_events_already_stored(
    empty_database_url: str, tmp_path: Path  # noqa: F811
):
    app = make_app(empty_database_url)
    try:
        with app.app_context():
            upgrade(revision="007b834293c4")
            with db.engine.begin() as conn:
                for n in range(1, 2502):  # more than two of the migration's batches
                    conn.execute(
                        sa.text("INSERT INTO audit_events (at, action, address, detail) "
                                "VALUES (:at, 'screening_viewed', 'cli', :d)"),
                        {"at": f"2026-01-01 10:00:00.{n:06d}", "d": f"n {n}"},
                    )
            upgrade()
            result = audit.verify()
            assert (result.intact, result.count) == (True, 2501)
            audit.record("backup_written")
            db.session.commit()
            assert audit.verify().count == 2502 and audit.verify().intact
            db.session.remove()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- PostgreSQL: nobody may UPDATE or DELETE an audit row --------------------------------------


def pg_only(app) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL only")


def test_postgresql_refuses_update_delete_and_truncate_even_to_its_owner(app):
    pg_only(app)
    record(app, "screening_viewed")
    for sql in ("UPDATE audit_events SET detail = 'x'", "DELETE FROM audit_events",
                "TRUNCATE audit_events"):
        with app.app_context(), pytest.raises(sa.exc.ProgrammingError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(sql))
    assert len(audit_events(app)) == 1


def test_the_application_role_of_the_readme_may_insert_but_not_change(app, runner):
    """The grants README.md gives a production application role, applied to a role made here."""
    pg_only(app)
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    role = f"screening_app_{url.database}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        drop_role(conn, role)
        conn.execute(sa.text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'app-test-password'"))
        for grant in readme_grants():
            conn.execute(sa.text(grant.replace("screening_app", f'"{role}"')
                                 .replace("DATABASE screening", f'DATABASE "{url.database}"')))
    as_app = make_app(url.set(username=role, password="app-test-password")
                      .render_as_string(hide_password=False))
    try:
        record(as_app, "screening_viewed", "pdf_downloaded")  # INSERT, the lock and the sequence
        with as_app.app_context():
            for sql in ("UPDATE audit_events SET detail = 'x'", "DELETE FROM audit_events"):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    with db.engine.begin() as conn:
                        conn.execute(sa.text(sql))
            db.engine.dispose()
        assert verify(runner) == (0, "audit log intact: 2 events")
    finally:
        with as_app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            drop_role(conn, role)
        admin.dispose()


def drop_role(conn, role: str) -> None:
    if conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
        conn.execute(sa.text(f'DROP ROLE "{role}"'))


def readme_grants() -> list[str]:
    """The GRANT and REVOKE statements of README.md's production section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- app-role-grants -->", 1)[1].split("```", 2)[1]
    statements = [s.strip() for s in block.split(";")]
    return [s for s in statements if s.startswith(("GRANT", "REVOKE", "ALTER DEFAULT"))]


def test_concurrent_appends_keep_one_chain(app, runner):
    pg_only(app)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(50):
                record(app, "screening_viewed", screening_id=n * 100 + i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert verify(runner) == (0, "audit log intact: 100 events")
