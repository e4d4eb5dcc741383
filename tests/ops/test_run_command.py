"""`screening run` (what `make run` starts) serves the app and runs the jobs in the same process:
a red flag raised on its database reaches a real SMTP server on loopback with no other worker."""

from __future__ import annotations

import http.client
import subprocess
import time

import pytest

from tests.bench.harness import ROOT, Client, free_port, screening_command, worker_env
from tests.staff.conftest import TEAM, alert_settings, answered_until_mood
from tests.web.support import example

pytestmark = pytest.mark.slow  # a process of its own


@pytest.fixture
def backend() -> str:
    return "sqlite"  # as `make run`


@pytest.fixture
def app_config(smtp_server, tmp_path) -> dict:
    return alert_settings(smtp_server.port, tmp_path)


def test_screening_run_serves_pages_and_sends_alerts_itself(app, smtp_server, tmp_path):
    port = free_port()
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([*screening_command(), "run", "--port", str(port)],
                               env=worker_env(app.config), cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline, status = time.monotonic() + 30, None
        while status != 200 and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            client = Client(("127.0.0.1", port), timeout=5)
            try:
                status = client.get("/staff/login").status
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)
            finally:
                client.close()
        assert status == 200, (tmp_path / "run.log").read_text()

        answered_until_mood(app, {**example(app, "self-harm"), "phq9_9": 1})
        deadline = time.monotonic() + 30
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        [mail] = smtp_server.messages
        assert mail.rcpt_tos == [TEAM]
        assert mail.subject.startswith("SAME-DAY red flag: screening S-")
    finally:
        process.terminate()
        process.wait(20)
        log.close()
