"""The application: settings, extensions, blueprints, error pages and security headers."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, has_request_context, render_template, request, session
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import health, i18n, logs, settings, templating, web
from .api import bp as api_bp
from .domain import jobs
from .extensions import csrf, db, limiter, migrate, retry_after
from .paths import PACKAGE_DIR, STATIC_DIR, TEMPLATES_DIR
from .patient import bp as patient_bp
from .patient.steps import reshow_after_csrf_failure, speak_the_patients_language
from .staff import bp as staff_bp
from .staff.auth import login_manager
from .web import KIOSK_KEY

log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application. Settings: defaults, then the environment, then `config` (tests)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
    )
    app.config.update(settings.DEFAULTS)
    overrides = dict(config or {})
    app.config.update(_environment(app, overrides))
    app.config.update(overrides)
    # Checked however it was given (the environment's is checked as it is read).
    app.config["SCREENING_TIMEZONE"] = settings.time_zone(app.config["SCREENING_TIMEZONE"])
    units = settings.one_of("SCREENING_UNITS", "metric", "us")
    app.config["SCREENING_UNITS"] = units(app.config["SCREENING_UNITS"])
    app.url_map.converters["id"] = web.IdConverter

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    migrate.init_app(app, db, directory=str(PACKAGE_DIR / "migrations"))
    _sqlite_pragmas(app)
    templating.init_app(app)
    i18n.init_app(app)
    logs.init_app(app)
    health.init_app(app)
    jobs.init_app(app)
    if app.config.get("SCREENING_PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["SCREENING_PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.register_blueprint(patient_bp)
    app.register_blueprint(staff_bp)
    csrf.exempt(api_bp)  # read-only, and takes no cookies: a bearer key on every call
    app.register_blueprint(api_bp)
    app.after_request(security_headers)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        if request.endpoint == "patient.step":
            try:
                return reshow_after_csrf_failure()
            except HTTPException as problem:  # a closed link or a step not reached: its own page
                return app.handle_http_exception(problem)
        speak_the_patients_language()  # the check ran before the view knew the screening
        return _error_page(400, *CSRF_PAGE)(exc)

    for code, (title, message) in ERROR_PAGES.items():
        app.register_error_handler(code, _error_page(code, title, message))

    @app.context_processor
    def clinic() -> dict[str, Any]:
        kiosk = has_request_context() and KIOSK_KEY in session  # mail is rendered off-request too
        return {
            "clinic_name": app.config["SCREENING_CLINIC_NAME"],
            "clinic_contact": i18n.clinic_contact(app.config, i18n.current_language()),
            "kiosk_idle_seconds": app.config["SCREENING_KIOSK_IDLE_MINUTES"] * 60 if kiosk else 0,
        }

    return app


N_ = i18n.N_
ERROR_PAGES = {
    403: (N_("Not allowed"), N_("You do not have access to this page.")),
    404: (N_("Page not found"), N_("There is no page at this address.")),
    405: (N_("Not allowed"), N_("This page cannot be used that way.")),
    409: (
        N_("Not available yet"),
        N_("This is not available in the screening's current state."),
    ),
    413: (
        N_("Too much text"),
        N_("What was sent is too long. Please shorten your answers and try again."),
    ),
    429: (N_("Too many attempts"), N_("Please wait a few minutes and try again.")),
    500: (
        N_("Something went wrong"),
        N_("Your earlier answers are saved. Please try again in a moment."),
    ),
}
CSRF_PAGE = (
    N_("Please try again"),
    N_(
        "This page was open for too long or came from somewhere else, so it could not be sent. "
        "Please go back, reload the page and try again."
    ),
)


def _error_page(code: int, title: str, message: str):
    def handler(exc):
        if code == 500:
            db.session.rollback()  # nothing half-done is kept
        language = i18n.current_language()
        page = render_template(
            "errors/error.html",
            # The staff layout reads the signed-in user: not after a failure (the database
            # may be what failed).
            staff_page=code < 500 and request.path.startswith("/staff/"),
            code=code,
            title=i18n.gettext(language, title),
            message=i18n.gettext(language, message),
        )
        # The exception's own headers, e.g. a 405's Allow (the methods the page takes).
        headers = exc.get_headers() if isinstance(exc, HTTPException) else []
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        if code == 429:
            headers += retry_after().items()
        return page, code, headers

    return handler


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def security_headers(response):
    """On every response: no inline scripts, no framing, no sniffing, links kept on this site."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _environment(app: Flask, overrides: dict[str, Any]) -> dict[str, Any]:
    values = settings.from_environment(app.instance_path, overrides)
    return {k: v for k, v in values.items() if k not in overrides}


def _sqlite_pragmas(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        sa.event.listen(db.engine, "connect", _on_sqlite_connect)


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Write-ahead log: one fsync a commit instead of the rollback journal's several, and readers
    # no longer wait for a writer. Stays on the database file once set.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
