"""Health and readiness probes, and the friendly page when the database is away."""

from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify, render_template
from sqlalchemy.exc import DBAPIError, OperationalError

from . import i18n
from .extensions import db

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz():
    """The process is up (no database call: a load balancer's liveness check)."""
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    """The database answers and its schema is at the newest migration."""
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            current = frozenset(row[0] for row in rows)
    except (OperationalError, DBAPIError):
        return jsonify(status="unavailable", database="unreachable"), 503
    heads = migration_heads(current_app.extensions["migrate"].directory)
    if current != heads:
        return jsonify(status="unavailable", database="ok", migrations="behind"), 503
    return jsonify(status="ok", database="ok", migrations="current")


@functools.cache
def migration_heads(directory: str) -> frozenset[str]:
    """The newest revisions of the migration scripts (read once per process)."""
    return frozenset(ScriptDirectory(str(directory)).get_heads())


def database_unavailable(exc: Exception):
    """A request that could not reach the database: nothing was saved; ask to try again."""
    try:
        db.session.rollback()
    except (OperationalError, sa.exc.InterfaceError, DBAPIError) as error:
        # The connection itself is broken (cut in the middle of a pipelined statement, say):
        # there is nothing left to undo, and the page must still be the retry page, not a 500.
        log.warning("rolling back failed: %s", type(error).__name__)
        _close_session(error)
    log.warning("database unavailable: %s", type(exc).__name__)
    language = i18n.current_language()
    body = render_template(
        "errors/error.html",
        code=503,
        title=i18n.gettext(language, i18n.N_("Please try again in a moment")),
        message=i18n.gettext(
            language,
            i18n.N_(
                "We could not finish this just now. Your answers from earlier pages are safe. "
                "Please go back, check this page and try again in a minute."
            ),
        ),
    )
    return body, 503, {"Retry-After": "30"}


def _close_session(exc: BaseException | None) -> None:
    """Close the request's session before Flask-SQLAlchemy's own teardown does (teardowns run
    last registered, first), so that a database gone away meanwhile cannot turn a response
    already made (a saved step's redirect) into a server error: the close's rollback fails on
    a dead connection, and there is nothing left to undo."""
    try:
        db.session.remove()
    except (OperationalError, sa.exc.InterfaceError, DBAPIError) as error:
        log.warning("closing a session failed: %s", type(error).__name__)


def init_app(app: Flask) -> None:
    """After `db.init_app`: the probes, the retry page, and the session closed safely."""
    app.teardown_appcontext(_close_session)
    app.register_blueprint(bp)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(sa.exc.InterfaceError, database_unavailable)
