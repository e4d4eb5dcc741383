"""Looking after the data: backups and restores of the whole database, and removing patients'
data past the clinic's retention period."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from ..extensions import db
from ..models import Screening, utcnow
from . import audit


class MaintenanceError(RuntimeError):
    """The operation failed; the message says why (a tool's own words, shortened)."""


def _libpq_url(url: sa.URL) -> str:
    """A SQLAlchemy URL as pg_dump and pg_restore understand it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_copy(source_path: str | Path, target_path: str | Path) -> None:
    """SQLite's online backup: a consistent copy even while the app writes."""
    source, target = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


def _run(tool: str, *args: str) -> None:
    result = subprocess.run([tool, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise MaintenanceError(f"{tool} failed: {result.stderr.strip()[:500]}")


def backup(out: Path) -> None:
    """A consistent copy of the database: pg_dump on PostgreSQL, SQLite's backup API."""
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        _run("pg_dump", "--format=custom", "--no-owner", f"--file={out}", _libpq_url(url))
    elif url.get_backend_name() == "sqlite" and url.database:
        _sqlite_copy(url.database, out)
    else:
        raise MaintenanceError(f"cannot back up a {url.get_backend_name()} database")
    audit.record("backup_written")


def restore(backup_file: Path) -> None:
    """Replace the database's contents with a backup made by `backup`."""
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()  # no pooled connection survives the replacement
    if url.get_backend_name() == "postgresql":
        _run(
            "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
            f"--dbname={_libpq_url(url)}", str(backup_file),
        )  # fmt: skip
    elif url.get_backend_name() == "sqlite" and url.database:
        _sqlite_copy(backup_file, url.database)
    else:
        raise MaintenanceError(f"cannot restore a {url.get_backend_name()} database")
    audit.record("backup_restored")


def older_than(days: int) -> tuple[dt.datetime, list[int]]:
    """The cut-off and the screenings created before it."""
    cutoff = utcnow() - dt.timedelta(days=days)
    ids = db.session.scalars(
        sa.select(Screening.id).where(Screening.created_at < cutoff).order_by(Screening.id)
    )
    return cutoff, list(ids)


def purge(days: int) -> tuple[dt.datetime, int]:
    """Remove screenings created more than `days` ago, with their answers, steps, documents and
    messages (ON DELETE CASCADE); audited with the count."""
    cutoff, ids = older_than(days)
    for start in range(0, len(ids), 500):
        db.session.execute(sa.delete(Screening).where(Screening.id.in_(ids[start : start + 500])))
    audit.record("screenings_purged", detail=f"{len(ids)} older than {days} days")
    return cutoff, len(ids)
