"""Logging: request ids, an optional JSON format, and never a patient's data or link token.

Request lines name the endpoint (e.g. `patient.step`), never the path: paths carry link tokens.
Where a path does reach a log (the development server's request line, gunicorn's "Error handling
request"), its link token is redacted and so is every value of its query string.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler

# A patient's link, and a member of staff's password-reset link: never in a log.
TOKEN_PATH = re.compile(r"/(s|staff/password)/[A-Za-z0-9_.-]{8,}")
REDACTED = r"/\1/[link]"
# A query string after a path: "?" and what follows up to a space, a quote or the end.
QUERY = re.compile(r"(/[^\s?\"']*)\?([^\s\"']*)")
# A parameter's name kept in the log: short, lower case (q, page, next, created_from...).
QUERY_KEY = re.compile(r"[a-z_]{1,20}")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("screening.requests")


def redact(text: str) -> str:
    """`text` without link tokens, and with every value of a query string replaced.

    Every value, not only the search box's: a surgeon's name, a date, a `next` page carrying a
    link can be patients' data as much as `q` is. The names are kept (which filter was used is
    what one looks for in a log) when they look like the app's own: anything else is dropped.
    """
    return QUERY.sub(_redact_query, TOKEN_PATH.sub(REDACTED, text))


def _redact_query(match: re.Match) -> str:
    names = [part.split("=", 1)[0] for part in match.group(2).split("&") if part]
    kept = [f"{n}=[redacted]" if QUERY_KEY.fullmatch(n) else "[redacted]" for n in names]
    return f"{match.group(1)}?{'&'.join(kept)}"


class RedactTokens(logging.Filter):
    """Rewrites /s/<token> and query strings in a record's message and arguments (e.g. the
    request line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


class RequestId(logging.Filter):
    """Gives every record logged while a request is handled that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            request_id = g.get("request_id")
            if request_id:
                record.request_id = request_id
        return True


def guard(handler: logging.Handler) -> None:
    """Every line through `handler`: link tokens redacted, the request id attached."""
    if not any(isinstance(f, RedactTokens) for f in handler.filters):
        handler.addFilter(RedactTokens())
        handler.addFilter(RequestId())


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request id if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "endpoint", "method", "status", "ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, separators=(",", ":"))


def install() -> None:
    # WeasyPrint narrates every render at INFO; only its warnings belong in the app's log.
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())


def init_app(app: Flask) -> None:
    install()
    root = logging.getLogger()
    if app.config.get("SCREENING_LOG_FORMAT") == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JSONFormatter())
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
    elif not log.handlers and not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Flask logs "Exception on <path>" through its own handler or the root's: guard them all.
    for handler in [*root.handlers, *app.logger.handlers, default_handler]:
        guard(handler)

    @app.before_request
    def start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers["X-Request-ID"] = request_id
            if app.config["SCREENING_LOG_REQUESTS"]:
                ms = round((time.perf_counter() - g.started) * 1000, 1)
                log.info(
                    "%s %s %s %.1fms",
                    request.method,
                    request.endpoint or "-",
                    response.status_code,
                    ms,
                    extra={
                        "request_id": request_id,
                        "endpoint": request.endpoint or "-",
                        "method": request.method,
                        "status": response.status_code,
                        "ms": ms,
                    },
                )
        return response
