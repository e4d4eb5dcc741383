"""Two `screening serve` instances behind one address (as behind a load balancer): the same
PostgreSQL database and SCREENING_SECRET_KEY, login rate limits in Redis.

A patient may be sent to either instance on any request; a staff member's failed logins count
against one limit wherever they land. Redis: SCREENING_TEST_REDIS_URL (default
redis://127.0.0.1:6379/15, flushed at the start): without it the tests are skipped, and fail in
CI.
"""

from __future__ import annotations

import os
import threading

import pytest

from tests.bench.harness import Client, Server, csrf_token, fresh_database, server_env
from tests.bench.patients import (
    CLINICIAN_EMAIL,
    STAFF_PASSWORD,
    Patient,
    create_patients,
    expected_answers,
    load_questionnaire,
    step_fields,
    verify_answers,
)
from tests.conftest import pg_url_or_skip
from tests.ops import login, redis_or_skip, start

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REDIS_URL = os.environ.get("SCREENING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="module")
def q():
    return load_questionnaire()


@pytest.fixture(scope="module")
def redis_url() -> str:
    """The Redis database for the login limits, flushed."""
    return redis_or_skip(REDIS_URL)


@pytest.fixture(scope="module")
def pg() -> str:
    url = pg_url_or_skip()
    fresh_database(url)
    create_patients(url, 0, None, staff=((CLINICIAN_EMAIL, "clinician"),))
    return url


@pytest.fixture(scope="module")
def instances(pg: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory):
    env = server_env(pg, SCREENING_RATELIMIT_STORAGE=redis_url)
    logs = tmp_path_factory.mktemp("two")
    a = Server(env, workers=2, threads=2, log_dir=logs, name="a")
    b = Server(env, workers=2, threads=2, log_dir=logs, name="b")
    starting = [threading.Thread(target=s.start) for s in (a, b)]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join(120)
    try:
        for server in (a, b):
            assert server.proc is not None and server.worker_pids(), server.log_text()[-3000:]
        yield a, b
    finally:
        stopping = [threading.Thread(target=s.stop) for s in (a, b)]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join(120)


def on(server: Server, jar: Client) -> Client:
    """A client for `server` holding the cookies of `jar` (the same browser)."""
    client = Client(server.address)
    client.cookies = jar.cookies  # shared: what one instance sets, the other sees
    return client


def test_a_patient_moves_between_instances(instances, pg: str, q):
    a, b = instances
    plan = create_patients(pg, 1, q, start=500)[0]
    patient = Patient(a.address, plan, q)
    # Steps 1-3 on instance A.
    path = start(patient)
    for _ in range(3):
        path = patient.answer_step(path, path.rsplit("/", 1)[1]).location
    # Step 4 on instance B with the same cookie jar.
    patient.client.close()
    patient.client = on(b, patient.client)
    path = patient.answer_step(path, path.rsplit("/", 1)[1]).location
    # Step 5: the page (and its CSRF token) from A, the answers posted to B.
    step_id = path.rsplit("/", 1)[1]
    from_a = on(a, patient.client)
    page = from_a.get(path)
    from_a.close()
    assert page.status == 200
    posted = patient.client.post(path, {**step_fields(q, step_id, plan.answers),
                                        "csrf_token": csrf_token(page.body)})
    assert posted.status == 303, posted.text[:1000]
    next_step = posted.location
    patient.client.close()

    # A new browser (a fresh cookie jar) on B: the link resumes at the first unfinished step.
    fresh = Patient(b.address, plan, q)
    welcome = fresh.client.get(f"/s/{plan.token}")
    assert welcome.status == 200
    resumed = fresh.client.post(f"/s/{plan.token}/start",
                                {"csrf_token": csrf_token(welcome.body)})
    assert resumed.status == 303
    assert resumed.location == next_step
    fresh.walk(resumed.location)  # the rest of the steps, review and submit, all on B
    fresh.client.close()
    assert fresh.submitted and fresh.error is None
    verification = verify_answers(pg, [plan], q)
    assert verification.ok, verification.problems()
    assert verification.answers_stored == len(expected_answers(q, plan.answers))


def test_failed_logins_count_against_one_limit_on_both_instances(instances, redis_url):
    import redis

    a, b = instances
    statuses = []
    for attempt in range(6):
        client = Client((a if attempt % 2 == 0 else b).address)
        try:
            statuses.append(login(client, CLINICIAN_EMAIL, "not the password at all").status)
        finally:
            client.close()
    assert statuses == [401] * 5 + [429]
    store = redis.Redis.from_url(redis_url)
    try:
        assert any(b"login-account:" in key for key in store.keys("*"))  # kept in Redis
    finally:
        store.close()
    # The account is now limited on both instances, even with the right password.
    for server in (a, b):
        client = Client(server.address)
        try:
            assert login(client, CLINICIAN_EMAIL, STAFF_PASSWORD).status == 429
        finally:
            client.close()
