"""Operations: health and readiness probes, and the friendly page when the database is away."""

from __future__ import annotations

import functools
import logging
import select

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy.exc import DBAPIError, OperationalError

from . import i18n, reads
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
            connection.execute(sa.text("SELECT 1"))
            rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            current = frozenset(row[0] for row in rows)
    except (OperationalError, DBAPIError):
        return jsonify(status="unavailable", database="unreachable"), 503
    heads = migration_heads(current_app.extensions["migrate"].directory)
    if current != heads:
        return jsonify(status="unavailable", database="ok", migrations="behind"), 503
    return jsonify(status="ok", database="ok", migrations="current")


@functools.lru_cache(maxsize=4)
def migration_heads(directory: str) -> frozenset[str]:
    """The newest revisions of the migration scripts (read once per process)."""
    return frozenset(ScriptDirectory(str(directory)).get_heads())


def database_unavailable(exc: Exception):
    """A request that could not reach the database: nothing was saved; ask to try again."""
    db.session.rollback()
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


def _safe_session_teardown(app) -> None:
    """Flask-SQLAlchemy closes the session after the response is made; if the database went away
    meanwhile, that rollback fails. The response (a saved step's redirect) must still go out."""
    funcs = app.teardown_appcontext_funcs
    for index, func in enumerate(funcs):
        if getattr(func, "__name__", "") == "_teardown_session":

            def safe(exc, _close=func):
                try:
                    _close(exc)
                except (OperationalError, sa.exc.InterfaceError, DBAPIError) as error:
                    log.warning("closing a session failed: %s", type(error).__name__)

            funcs[index] = safe


def init_database(app) -> None:
    """`db.init_app`, and on PostgreSQL pooled connections checked by `_closed_by_server`
    instead of SQLAlchemy's pre-ping, and the pool of the link reads (screening.reads).

    Pre-ping sends a statement to the server each time a request takes a connection from the
    pool: a round trip and a server's turn on every page, a seventh of a step page's time
    under load. The check here needs neither: an idle connection has nothing to read, so one
    with something to read (the server's last message, the end of the stream after a restart
    or an administrator's pg_terminate_backend) is replaced before a request uses it, as
    pre-ping would. A connection just made is not checked, as pre-ping does not check one
    either: the pool tries twice, and a second connection found closed would end in "This
    connection is closed", not a database error. A connection cut in the middle of a request
    (or right after it was made) fails that request with the friendly page, and SQLAlchemy
    then replaces every connection made before it."""
    watch = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    if watch and options.get("pool_pre_ping"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "pool_pre_ping": False}
    db.init_app(app)
    with app.app_context():
        if watch:
            sa.event.listen(db.engine, "connect", _made)
            sa.event.listen(db.engine, "checkout", _closed_by_server)
        reads.init_app(app)


_FRESH = "screening.fresh"


def _made(dbapi_connection, connection_record) -> None:
    connection_record.info[_FRESH] = True


def _closed_by_server(dbapi_connection, connection_record, connection_proxy) -> None:
    if connection_record.info.pop(_FRESH, False):
        return  # just made: the server answered a moment ago
    if dbapi_connection.closed:
        raise sa.exc.DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise sa.exc.DisconnectionError("the server closed the connection")  # the pool retries


def init_app(app) -> None:
    _safe_session_teardown(app)
    app.register_blueprint(bp)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(sa.exc.InterfaceError, database_unavailable)
