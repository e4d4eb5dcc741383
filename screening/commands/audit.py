"""The audit log on the command line: exported as CSV, and its hash chain verified."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..domain import audit
from ..extensions import db
from .options import day


def _export(since: str, out) -> None:
    out.write(audit.to_csv(audit.since(day(since))))
    audit.record("audit_exported", detail=f"since {since}")
    db.session.commit()


@click.group("audit", invoke_without_command=True)
@click.option("--since", help="Export from a date on, YYYY-MM-DD (UTC): as `audit export`.")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-")
@click.pass_context
def audit_group(ctx: click.Context, since: str | None, out) -> None:
    """The audit log: `export` it as CSV, or `verify` its hash chain."""
    if ctx.invoked_subcommand is not None:
        return
    if since is None:
        raise click.UsageError("give --since YYYY-MM-DD, or a command (export, verify)")
    ctx.invoke(audit_export, since=since, out=out)


@audit_group.command("export")
@click.option("--since", required=True, help="A date, YYYY-MM-DD (UTC).")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
def audit_export(since: str, out) -> None:
    """Export the audit log from a date on, as CSV."""
    _export(since, out)


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check every event's hash and its link to the one before (exit 1 at the first broken)."""
    result = audit.verify()
    db.session.rollback()
    if result.intact:
        click.echo(f"audit log intact: {result.count} events")
        return
    e = result.broken_at
    click.echo(
        f"audit log broken at event {e.id} (at {e.at.isoformat(timespec='seconds')}, "
        f"{e.action}): {result.problem}"
    )
    sys.exit(1)
