"""Query strings are redacted in every log: a patient's name typed in the dashboard's search box
(`?q=`) reaches neither the development server's request lines (`screening run`), nor gunicorn's
access or error log (`screening serve`), nor the app's own lines. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from screening.logs import RedactTokens, redact
from screening.serving import RedactingLogger

NAME = "Ottoline Quarrington"
SEARCH = "/staff/?q=Ottoline+Quarrington&surgeon=Dr+Vexley&page=2"


@pytest.fixture
def loggers_on(app):
    """Alembic's logging set-up (run by the PostgreSQL fixture, in this process) disables the
    loggers that exist by then; a server process never runs it."""
    for name in ("werkzeug", "screening.requests"):
        logging.getLogger(name).disabled = False


@pytest.fixture
def dev_server(app, loggers_on):
    """The app behind Werkzeug's development server (what `screening run` starts), on a free
    port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_development_server_logs_no_query_value(dev_server, caplog):
    opener = urllib.request.build_opener(NoRedirect)
    with caplog.at_level(logging.INFO):
        for path in (SEARCH, "/staff/login?next=%2Fstaff%2F%3Fq%3DOttoline%2BQuarrington"):
            try:
                opener.open(dev_server + path, timeout=5).close()
            except urllib.error.HTTPError as answer:  # the redirect to the sign-in page
                answer.close()
        for _ in range(50):  # the server logs a request after answering it
            lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
            if len(lines) >= 2:
                break
            time.sleep(0.05)
    assert any("/staff/?q=[redacted]&surgeon=[redacted]&page=[redacted]" in line for line in lines)
    assert any("/staff/login?next=[redacted]" in line for line in lines), lines
    everything = "\n".join(record.getMessage() for record in caplog.records)
    assert "Ottoline" not in everything and "Vexley" not in everything


def test_gunicorns_logs_hold_no_query_value():
    logger = RedactingLogger(SimpleNamespace(**{"loglevel": "info", "errorlog": "-",
                                                "accesslog": None, "syslog": False,
                                                "capture_output": False, "logconfig": None,
                                                "logconfig_dict": {}, "logconfig_json": None,
                                                "disable_redirect_access_to_syslog": False,
                                                "user": 0, "group": 0,
                                                "access_log_format": ""}))  # fmt: skip
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/staff/", "QUERY_STRING": SEARCH[8:],
               "SERVER_PROTOCOL": "HTTP/1.1", "RAW_URI": SEARCH,
               "HTTP_REFERER": f"https://clinic.example{SEARCH}"}  # fmt: skip
    request = SimpleNamespace(headers=[], uri=SEARCH, path="/staff/", query=SEARCH[8:],
                              method="GET", version=(1, 1))  # fmt: skip
    response = SimpleNamespace(status="200 OK", headers=[], sent=10, response_length=10)
    atoms = logger.atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=5))
    assert not any(NAME.split()[0] in str(v) for v in atoms.values()), atoms
    record = logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1,
                               "Error handling request %s", (SEARCH,), None)  # fmt: skip
    assert RedactTokens().filter(record)
    assert record.getMessage() == (
        "Error handling request /staff/?q=[redacted]&surgeon=[redacted]&page=[redacted]"
    )


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ("GET /staff/?q=Ann+Example HTTP/1.1", "GET /staff/?q=[redacted] HTTP/1.1"),
        ("GET /staff/?Ann%20Example HTTP/1.1", "GET /staff/?[redacted] HTTP/1.1"),
        ("GET /s/AbCdEfGhIjKlMnOp/step/mood?lang=es HTTP/1.1",
         "GET /s/[link]/step/mood?lang=[redacted] HTTP/1.1"),
        ("Is this a question? Yes.", "Is this a question? Yes."),
    ],
)  # fmt: skip
def test_redact_keeps_the_names_and_drops_every_value(line, logged):
    assert redact(line) == logged


def test_the_apps_own_request_lines_name_the_endpoint_only(app, loggers_on, client, caplog):
    with caplog.at_level(logging.INFO, logger="screening.requests"):
        client.get(SEARCH)
    [line] = [r.getMessage() for r in caplog.records if r.name == "screening.requests"]
    assert line.startswith("GET staff.home 302") and "?" not in line
