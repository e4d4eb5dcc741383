"""Production-serving tests: gunicorn (`screening serve`) and PostgreSQL on loopback, started and
stopped by the tests. The servers and clients come from tests/bench/harness.py, the simulated
patients from tests/bench/patients.py; the helpers below are shared by the modules here.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa

from tests.bench.harness import Client, Response, csrf_token
from tests.bench.patients import STAFF_PASSWORD, Patient, Plan, step_fields


def login(client: Client, email: str, password: str = STAFF_PASSWORD) -> Response:
    page = client.get("/staff/login")
    assert page.status == 200, page.status
    return client.post(
        "/staff/login", {"email": email, "password": password, "csrf_token": csrf_token(page.body)}
    )


def start(patient: Patient) -> str:
    """Open the link and press Start; the path of the first step."""
    token = patient.token
    page = patient.client.get(f"/s/{token}")
    assert page.status == 200, page.status
    response = patient.client.post(f"/s/{token}/start", {"csrf_token": csrf_token(page.body)})
    assert response.status == 303, response.status
    return response.location


def at_once(count: int, action) -> list[Any]:
    """Run action(i) for i in range(count) in threads released together; their results."""
    results: list[Any] = [None] * count
    gate = threading.Barrier(count)

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def double_click_walk(address: tuple[str, int], plan: Plan, q, copies: int = 3
                      ) -> list[tuple[str, list[int]]]:
    """Walk the questionnaire posting every step `copies` times at once from the same browser (a
    double or triple click on Continue); [(step, statuses)]. Then review and submit once."""
    patient = Patient(address, plan, q)
    path = start(patient)
    seen = []
    while "/step/" in path:
        step_id = path.rsplit("/", 1)[1]
        page = patient.client.get(path)
        assert page.status == 200, (step_id, page.status)
        data = {**step_fields(q, step_id, plan.answers), "csrf_token": csrf_token(page.body)}

        def post(_: int, path: str = path, data: dict = data) -> Response:
            client = Client(address)
            client.cookies = dict(patient.client.cookies)
            try:
                return client.post(path, data)
            finally:
                client.close()

        responses = at_once(copies, post)
        statuses = [r.status if isinstance(r, Response) else repr(r) for r in responses]
        seen.append((step_id, statuses))
        moved = [r for r in responses if isinstance(r, Response) and r.status == 303]
        if not moved:  # every copy failed: the patient presses Continue once more
            retry = patient.client.post(path, data)
            assert retry.status == 303, (step_id, retry.status)
            moved = [retry]
        path = moved[0].location
        assert len(seen) < 40
    assert path.endswith("/review"), path
    patient.finish(path)
    patient.client.close()
    return seen


def step_state(eng, screening_id: int, question_ids: list[str], step_id: str,
               attempts: int = 20) -> tuple[dict[str, Any], bool]:
    """The stored answers to these questions and whether the step is marked done (committed
    data only; tried again if the connection is cut meanwhile)."""
    for attempt in range(attempts):
        try:
            with eng.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT question_id, value FROM answers WHERE screening_id = :s "
                            "AND question_id IN :q").bindparams(sa.bindparam("q", expanding=True)),
                    {"s": screening_id, "q": question_ids},
                ).all()
                done = conn.execute(
                    sa.text("SELECT count(*) FROM steps_done WHERE screening_id = :s "
                            "AND step_id = :t"), {"s": screening_id, "t": step_id},
                ).scalar_one()
            return dict(rows), bool(done)
        except sa.exc.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def count_rows(eng, table: str, where: str = "", **params: Any) -> int:
    with eng.connect() as conn:
        query = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return conn.execute(sa.text(query), params).scalar_one()


def redis_or_skip(url: str) -> str:
    """The Redis database at `url`, flushed; a skip when Redis does not answer, a failure in CI
    (where .ci/run starts it)."""
    import pytest
    import redis

    from tests.conftest import IN_CI

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        message = f"Redis at {url} does not answer (SCREENING_TEST_REDIS_URL)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return url
