"""Commands for running the service: demo data, the servers and the background worker, backups,
retention."""

from __future__ import annotations

import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext
from werkzeug.serving import run_simple

from .. import queue
from ..domain import demo, maintenance
from ..extensions import db
from ..i18n import language_name


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Demo data for `make run`: staff accounts, screenings in each state, and patient links.
    Refused in production: it resets the demo accounts to a password it prints."""
    if current_app.config.get("SCREENING_ENV") == "production":
        raise click.ClickException(
            "screening demo is for trying the service out and does not run in production "
            "(SCREENING_ENV=production): it would reset the demo staff accounts' password"
        )
    made = demo.make(current_app.config["SCREENING_LINK_DAYS"])
    db.session.commit()
    base = current_app.config["SCREENING_BASE_URL"].rstrip("/")
    click.echo("")
    click.echo(f"Staff sign-in: {base}/staff/")
    for email, _, roles in demo.USERS:
        click.echo(f"  {email:<24} ({', '.join(roles)})")
    click.echo(f"  password for each: {made.password}")
    click.echo("")
    clinic_language = made.links[0][0].language
    for screening, token in made.links:
        words = "A patient's link"
        if screening.language != clinic_language:
            words += f" in {language_name(screening.language, clinic_language)}"
        click.echo(f"{words} ({screening.reference}, {screening.patient_name}):")
        click.echo(f"  {base}/s/{token}")
    click.echo("")


@click.command("serve")
@click.option("--bind", help="host:port (default SCREENING_BIND or 127.0.0.1:8000)")
@click.option("--workers", type=int, help="default: cores + 1 (SCREENING_WORKERS)")
@click.option("--threads", type=int, help="per worker, default 4 (SCREENING_THREADS)")
def serve_command(bind, workers, threads) -> None:
    """Serve the app with gunicorn (production)."""
    from ..app import create_app
    from ..serving import Server, options
    from ..settings import ConfigError

    app = create_app()  # fail here, before forking, on a bad configuration
    try:
        settings = options(app.config, bind, workers, threads)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    Server(create_app, settings).run()


@click.command("backup")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(out: Path) -> None:
    """A consistent copy of the database (pg_dump on PostgreSQL, else SQLite's backup API)."""
    try:
        maintenance.backup(out)
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"wrote {out} ({out.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current data without asking.")
@with_appcontext
def restore_command(backup: Path, yes: bool) -> None:
    """Replace the database's contents with a backup made by `screening backup`."""
    if not yes:
        click.confirm(
            "This replaces every screening in the database with the backup. Go on?", abort=True
        )
    try:
        maintenance.restore(backup)
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"restored {backup}")


@click.command("purge")
@click.option(
    "--older-than", "days", required=True, type=click.IntRange(1, None),
    help="Remove screenings created more than DAYS ago.",
)  # fmt: skip
@click.option("--apply", is_flag=True, help="Really delete (without it: a dry run).")
@with_appcontext
def purge_command(days: int, apply: bool) -> None:
    """Remove patients' data past the clinic's retention period (a dry run unless --apply)."""
    if not apply:
        cutoff, ids = maintenance.older_than(days)
        click.echo(
            f"dry run: {len(ids)} screening(s) created before {cutoff:%Y-%m-%d} would be "
            "removed, with their answers and documents; run again with --apply"
        )
        return
    cutoff, removed = maintenance.purge(days)
    db.session.commit()
    click.echo(f"removed {removed} screening(s) created before {cutoff:%Y-%m-%d}")


@click.command("worker")
@click.option("--threads", type=int, help="default SCREENING_WORKER_THREADS (2)")
@click.option(
    "--no-periodic", is_flag=True,
    help="Leave the every-minute sweep and the daily reminders to other workers.",
)  # fmt: skip
def worker_command(threads, no_periodic) -> None:
    """Run background jobs: red-flag alerts, their escalation, the sweep, reminders. Production
    runs one or more, on any machines, next to `screening serve` (SCREENING_QUEUE=redis://...)."""
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    consumer = queue.of(app).huey.create_consumer(
        workers=threads or app.config["SCREENING_WORKER_THREADS"],
        worker_type="thread",
        periodic=not no_periodic,
    )
    click.echo(f"worker on {queue.describe(app.config['SCREENING_QUEUE'])}", err=True)
    if not no_periodic:
        queue.catch_up(app)
    consumer.run()


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run_command(host: str, port: int) -> None:
    """The development server, with a background worker of its own in the same process (so
    `make run` needs no other service): jobs run as they would in production."""
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    # Werkzeug's server itself: `app.run` does nothing under a Flask command line.
    server = threading.Thread(
        target=run_simple, args=(host, port, app), kwargs={"threaded": True}, daemon=True
    )
    server.start()
    # The worker takes the main thread: it answers Ctrl-C for both (the server is a daemon).
    consumer = queue.of(app).huey.create_consumer(workers=1, worker_type="thread")
    queue.catch_up(app)
    consumer.run()
