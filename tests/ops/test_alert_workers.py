"""Production's queue: Redis, with more than one `screening worker`. Every alert is sent once,
although both workers take jobs and both run the every-minute sweep (their claims on the alert
rows keep them apart). Redis: SCREENING_TEST_REDIS_URL's database 14, flushed at the start."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from screening.models import Alert
from tests.bench.harness import Worker, worker_env
from tests.ops import redis_or_skip
from tests.staff.conftest import alert_settings, answered_until_mood, scalars
from tests.web.support import example

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
REDIS = os.environ.get("SCREENING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PATIENTS = 6


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def app_config(smtp_server, tmp_path) -> dict:
    queue = make_url(REDIS).set(database="14").render_as_string(hide_password=False)
    return {**alert_settings(smtp_server.port, tmp_path), "SCREENING_QUEUE": redis_or_skip(queue)}


def test_two_workers_on_redis_send_each_alert_once(app, smtp_server, tmp_path):
    workers = [Worker(worker_env(app.config), tmp_path / f"worker-{i}.log").start()
               for i in range(2)]  # fmt: skip
    try:
        answers = {**example(app, "self-harm"), "phq9_9": 1}
        for _ in range(PATIENTS):
            answered_until_mood(app, answers)
        deadline = time.monotonic() + 60
        while len(smtp_server.messages) < PATIENTS and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # a second copy would have come by now
        logs = "\n".join(w.log_text() for w in workers)
        assert len(smtp_server.messages) == PATIENTS, logs
    finally:
        for worker in workers:
            worker.stop()
    ids = {m.message["Message-ID"] for m in smtp_server.messages}
    assert len(ids) == PATIENTS  # one message per alert
    alerts = scalars(app, sa.select(Alert))
    assert [(a.status, a.tries) for a in alerts] == [("sent", 1)] * PATIENTS
