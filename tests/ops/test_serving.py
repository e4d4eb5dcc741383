"""Serving in production: health and readiness probes, request ids, and logs that never hold a
patient's link token, query strings, name or free text; PDFs served by several workers at once.

Servers are `screening serve` subprocesses on free loopback ports; the PostgreSQL database is
TEST_DATABASE_URL (emptied and migrated by this module, and left migrated).
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.bench.harness import (
    Client,
    Server,
    Worker,
    cli,
    closed_port,
    fresh_database,
    server_env,
)
from tests.bench.patients import (
    CLINICIAN_EMAIL,
    Patient,
    Plan,
    create_patients,
    example_answers,
    load_questionnaire,
    verify_answers,
)
from tests.conftest import pg_url_or_skip
from tests.ops import at_once, login

pytestmark = pytest.mark.slow  # servers and processes of their own

FIRST_REVISION = "661a518b496a"
GUNICORN_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ")
ACCESS_LINE = re.compile(r'^127\.0\.0\.1 "(GET|POST|HEAD) (\S+)" (\d{3}) ')


@pytest.fixture(scope="module")
def q():
    return load_questionnaire()


# --- readiness when the database is not ready -------------------------------------------------


@pytest.mark.postgres
def test_readyz_is_503_while_the_migrations_are_behind(tmp_path):
    """A database with only the first migration (new code deployed before `db upgrade`)."""
    url = pg_url_or_skip()
    fresh_database(url, FIRST_REVISION)
    server = Server(server_env(url), workers=1, threads=2, log_dir=tmp_path, ready_path="/healthz")
    try:
        server.start()
        client = Client(server.address)
        health = client.get("/healthz")
        ready = client.get("/readyz")
        client.close()
    finally:
        server.stop()
        fresh_database(url)  # the next tests' schema
    assert health.status == 200
    assert ready.status == 503
    assert json.loads(ready.body) == {
        "status": "unavailable", "database": "ok", "migrations": "behind"
    }


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory: pytest.TempPathFactory):
    """A server whose database does not answer (nothing listens on its port); JSON logs."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/screening"
    env = server_env(url, SCREENING_LOG_FORMAT="json")
    server = Server(env, workers=1, threads=2, ready_path="/healthz",
                    log_dir=tmp_path_factory.mktemp("unreachable"))
    server.start()
    yield server
    server.stop()


def test_readyz_is_503_when_the_database_is_unreachable(unreachable: Server):
    client = Client(unreachable.address)
    try:
        assert client.get("/healthz").status == 200
        ready = client.get("/readyz")
        assert ready.status == 503
        assert json.loads(ready.body) == {"status": "unavailable", "database": "unreachable"}
        # A patient's link meanwhile: the friendly page, never a stack trace.
        page = client.get("/s/" + "x" * 32)
        assert page.status == 503
        assert page.header("Retry-After") == "30"
        assert "Please try again in a moment" in page.text
        assert "Traceback" not in page.text and "OperationalError" not in page.text
    finally:
        client.close()


def test_every_json_line_logged_for_a_request_carries_its_request_id(unreachable: Server):
    mark = unreachable.log_mark()
    client = Client(unreachable.address)
    response = client.get("/s/" + "y" * 32, headers={"X-Request-ID": "probe-db-away-1"})
    client.close()
    assert response.status == 503
    assert response.header("X-Request-ID") == "probe-db-away-1"
    time.sleep(0.3)
    entries = json_entries(unreachable.log_since(mark)[1])
    assert any(e["message"].startswith("database unavailable") for e in entries)
    assert [e for e in entries if e.get("request_id") != "probe-db-away-1"] == []


# --- the production server --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg() -> str:
    url = pg_url_or_skip()
    fresh_database(url)
    create_patients(url, 0, None, staff=((CLINICIAN_EMAIL, "clinician"),))
    return url


@pytest.fixture(scope="module")
def server(pg: str, tmp_path_factory: pytest.TempPathFactory):
    env = server_env(pg, SCREENING_LOG_FORMAT="json")
    srv = Server(env, workers=2, threads=4, log_dir=tmp_path_factory.mktemp("serving"))
    srv.start()
    yield srv
    srv.stop()


def json_entries(text: str) -> list[dict]:
    """The app's lines of a JSON-format error log (gunicorn's own lines left out); each one must
    be a JSON object."""
    entries = []
    for line in text.splitlines():
        if not line.strip() or GUNICORN_LINE.match(line):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON: {line[:300]}") from None
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


@pytest.mark.postgres
def test_healthz_and_readyz(server: Server):
    client = Client(server.address)
    try:
        health = client.get("/healthz")
        ready = client.get("/readyz")
    finally:
        client.close()
    assert health.status == 200 and json.loads(health.body) == {"status": "ok"}
    assert ready.status == 200
    assert json.loads(ready.body) == {"status": "ok", "database": "ok", "migrations": "current"}


@pytest.mark.postgres
def test_request_id_is_echoed_when_given_and_generated_otherwise(server: Server):
    mark = server.log_mark()
    client = Client(server.address)
    try:
        given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.trace_01"})
        first = client.get("/healthz")
        second = client.get("/healthz")
        bad = client.get("/healthz", headers={"X-Request-ID": "no spaces or <tags> please"})
        long = client.get("/healthz", headers={"X-Request-ID": "a" * 65})
    finally:
        client.close()
    assert given.header("X-Request-ID") == "lb-7f3a.trace_01"
    generated = [r.header("X-Request-ID") for r in (first, second, bad, long)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", g or "") for g in generated), generated
    assert len(set(generated)) == 4
    time.sleep(0.3)
    access, errors = server.log_since(mark)
    assert "rid=lb-7f3a.trace_01" in access
    ids = [e.get("request_id") for e in json_entries(errors)]
    assert "lb-7f3a.trace_01" in ids and set(generated) <= set(ids)


@pytest.mark.postgres
def test_a_patient_run_leaves_no_token_query_name_or_free_text_in_the_logs(server, pg, q):
    name = "Ottoline Quarrington-Vexley"
    result = cli(pg, "invite", "--name", name, "--dob", "1958-07-14")
    token = result.stdout.strip().rsplit("/s/", 1)[1]
    free_text = "Carry my granddaughter Philippa up Schiehallion again"
    _, answers = example_answers(q, 2, free_text)
    screening_id = int(re.search(r"S-(\d+)", result.stdout).group(1))
    plan = Plan(0, screening_id, token, name, "high tier", answers)
    mark = server.log_mark()
    client = Client(server.address)
    with_query = client.get(f"/s/{token}?utm_source=QSMARKER42&t={token}")
    assert with_query.status == 200
    patient = Patient(server.address, plan, q, client=client).run()
    assert patient.error is None and patient.submitted
    assert verify_answers(pg, [plan], q).ok
    time.sleep(0.3)
    access, errors = server.log_since(mark)
    everything = access + errors
    patient_lines = [line for line in access.splitlines() if "/s/[link]" in line]
    assert len(patient_lines) >= 2 * len(patient.visited) + 5  # the whole run was logged
    assert token not in everything
    assert "QSMARKER42" not in everything
    for line in access.splitlines():
        match = ACCESS_LINE.match(line)
        assert match, line
        assert "?" not in match.group(2), line  # no query string
    assert name not in everything and "Quarrington" not in everything
    assert free_text not in everything and "Philippa" not in everything
    entries = json_entries(errors)
    assert entries, "the app's JSON lines"
    for entry in entries:
        assert re.fullmatch(r"[0-9a-f]{32}", entry.get("request_id", "")), entry
    assert {e["endpoint"] for e in entries} >= {"patient.welcome", "patient.step",
                                                 "patient.review", "patient.submit"}


@pytest.mark.postgres
def test_the_first_downloads_of_a_pdf_at_the_same_time_all_succeed(server: Server, pg, q,
                                                                   tmp_path):
    """Four clinicians ask for a new PDF at once: none waits on a render in the request (each is
    told it is being prepared); a `screening worker` started beside the servers renders it once;
    then four at once get the same stored bytes."""
    plan = create_patients(pg, 1, q, start=700)[0]
    patient = Patient(server.address, plan, q).run()
    assert patient.submitted
    clinician = Client(server.address)
    assert login(clinician, CLINICIAN_EMAIL).status == 303
    cookies = dict(clinician.cookies)
    clinician.close()

    def download(_: int):
        client = Client(server.address)
        client.cookies = dict(cookies)
        try:
            return client.get(f"/staff/screenings/{plan.screening_id}/summary.pdf")
        finally:
            client.close()

    waiting = at_once(4, download)
    assert [getattr(r, "status", repr(r)) for r in waiting] == [202] * 4
    assert all("being prepared" in r.text for r in waiting)

    worker = Worker(dict(server.env), tmp_path / "worker.log").start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and download(0).status != 200:
            time.sleep(0.5)
    finally:
        worker.stop()
    responses = at_once(4, download)
    statuses = [getattr(r, "status", repr(r)) for r in responses]
    assert statuses == [200] * 4, worker.log_text()[-2000:]
    assert len({r.body for r in responses}) == 1  # one document, byte for byte
    assert responses[0].body[:4] == b"%PDF"


def test_the_log_filters_redact_tokens_and_attach_the_request_id():
    """What every handler of the app carries: the token out of a failed request's line."""
    import logging

    from screening import create_app
    from screening.logs import RedactTokens, RequestId

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "SCREENING_QUEUE": "memory"})
    handler_filters = [type(f) for f in logging.getLogger().handlers[0].filters]
    assert RedactTokens in handler_filters and RequestId in handler_filters
    record = logging.LogRecord("flask.app", logging.ERROR, __file__, 1,
                               "Exception on %s [%s]", ("/s/AbCdEfGhIjKlMnOpQrStUv/step/mood",
                                                        "POST"), None)
    with app.test_request_context("/s/x"):
        from flask import g

        g.request_id = "rid-123"
        for f in (RedactTokens(), RequestId()):
            assert f.filter(record)
    assert record.getMessage() == "Exception on /s/[link]/step/mood [POST]"
    assert record.request_id == "rid-123"


def test_a_staff_password_reset_link_is_redacted_too():
    from screening.logs import redact

    line = 'GET /staff/password/eyJ1c2VyIjoyfQ.axMMAA.4TF4-83E5uWTGq7u35li HTTP/1.1" 200'
    assert redact(line) == 'GET /staff/password/[link] HTTP/1.1" 200'
    assert redact("/s/AbCdEfGhIjKlMnOp/review") == "/s/[link]/review"
