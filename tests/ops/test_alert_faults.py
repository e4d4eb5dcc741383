"""A red-flag alert survives the faults of real processes: a `screening worker` subprocess, a real
SMTP server on loopback (aiosmtpd) and PostgreSQL.

- the mail server is away when the flag is raised, and back later: the queue's retry sends it;
- the worker is killed in the middle of a delivery: its claim runs out, and the next worker
  sends it, once;
- the database cannot be reached when the job runs (every connection cut, as in a restart):
  the job fails, the queue tries again, and the alert is sent once the database is back.

Each test raises the flag as a patient would (the steps saved through the app), on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from screening.models import Alert, FlagEvent, utcnow
from tests.bench.harness import Worker, free_port, worker_env
from tests.staff.conftest import (
    TEAM,
    Mailbox,
    SMTPServer,
    alert_settings,
    answered_until_mood,
    scalars,
)
from tests.web.support import example

pytestmark = [pytest.mark.slow, pytest.mark.postgres]  # processes of their own
SMTP_TIMEOUT = 1  # second (loopback); a claim lasts twelve of them (screening.domain.alerts)


@pytest.fixture
def backend() -> str:
    return "postgres"  # production's database; a worker on SQLite is `make run`'s embedded one


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def app_config(smtp_port, tmp_path) -> dict:
    return alert_settings(smtp_port, tmp_path, timeout=SMTP_TIMEOUT)


@pytest.fixture
def workers(app, tmp_path):
    """Start `screening worker` processes (extra environment as keywords); all stopped after."""
    started: list[Worker] = []

    def start(**extra: str) -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        worker = Worker(worker_env(app.config, **extra), log).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def the_alert(app, ident: int) -> Alert:
    [alert] = scalars(app, sa.select(Alert).join(FlagEvent).where(FlagEvent.screening_id == ident))
    return alert


def wait_for(what: str, check: Callable[[], object], timeout: float, logs: list[Worker]) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f} s\n" + "\n".join(w.log_text() for w in logs))


def raise_flag(app) -> int:
    """A patient saves the mood step with PHQ-9 item 9 above 0 and closes the browser."""
    ident, _, _ = answered_until_mood(app, {**example(app, "self-harm"), "phq9_9": 1})
    return ident


# --- the mail server away, then back ----------------------------------------------------------


def started(worker: Worker) -> Worker:
    """Once the worker's catch-up sweep has run (so that the job, not that sweep, meets the
    alert raised next, and the queue's retry is what brings it)."""
    wait_for("the catch-up sweep", lambda: "every_minute" in worker.log_text()
             and "executed" in worker.log_text(), timeout=30, logs=[worker])  # fmt: skip
    return worker


def test_the_mail_server_away_when_the_flag_is_raised_then_back(app, smtp_port, workers):
    worker = started(workers())
    ident = raise_flag(app)  # nothing listens on the mail server's port yet
    failed = wait_for(
        "a first failed delivery", lambda: (a := the_alert(app, ident)).last_error and a,
        timeout=30, logs=[worker],
    )
    assert (failed.status, failed.tries) == ("pending", 1)
    server = SMTPServer(smtp_port).start()  # the mail server is back
    try:
        # The queue's retry comes at 15 s; should a minute's sweep have met the alert first, the
        # sweep's own retry is due 30 s later and the next minute's sweep sends it.
        wait_for("the alert", lambda: server.messages, timeout=100, logs=[worker])
        time.sleep(1)
        [mail] = server.messages
    finally:
        server.stop()
    assert mail.rcpt_tos == [TEAM]
    assert mail.subject.startswith("SAME-DAY red flag: screening S-")
    alert = the_alert(app, ident)
    assert (alert.status, alert.tries, alert.last_error) == ("sent", 2, None)
    assert mail.message["Message-ID"] == f"<{alert.key}@{mail.message['Message-ID'].split('@')[1]}"


# --- the worker killed mid-delivery -----------------------------------------------------------


class HoldingMailbox(Mailbox):
    """Holds the first message at the end of DATA (before accepting it) until `release`; then
    refuses it, as a mail server whose client has gone would never deliver it."""

    def __init__(self) -> None:
        super().__init__()
        self.holding, self.release = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's)
        if not self.holding.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Requested action aborted"
        return await super().handle_DATA(server, session, envelope)


def test_a_worker_killed_mid_delivery_leaves_the_alert_to_the_next_once(app, smtp_port, workers):
    server = SMTPServer(smtp_port)
    server.mailbox = HoldingMailbox()
    server.start()
    try:
        first = workers()
        ident = raise_flag(app)
        wait_for("the first delivery to reach DATA", server.mailbox.holding.is_set, 30, [first])
        first.signal(signal.SIGKILL)  # mid-delivery: claimed, not sent
        first.proc.wait(10)
        server.mailbox.release.set()
        claimed = the_alert(app, ident)
        assert (claimed.status, claimed.tries) == ("pending", 1)
        assert claimed.claimed_until is not None
        # Until the claim runs out, no other worker takes the alert ...
        left = claimed.claimed_until - utcnow()
        assert left > dt.timedelta(seconds=SMTP_TIMEOUT)
        time.sleep(left.total_seconds() + 0.5)
        # ... then the next worker sends it as it starts (its catch-up sweep).
        second = workers()
        wait_for("the alert from the next worker", lambda: server.messages, 30, [first, second])
        time.sleep(1)
        assert len(server.messages) == 1
    finally:
        server.stop()
    alert = the_alert(app, ident)
    assert (alert.status, alert.tries, alert.claimed_until) == ("sent", 2, None)


# --- the database cut off while the job runs ------------------------------------------------


class CuttableProxy:
    """A TCP proxy on loopback to `target`; `cut()` closes every connection through it and
    refuses new ones (a database restarting), `restore()` lets them through again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_the_database_cut_off_while_the_job_runs_then_back(app, smtp_port, workers):
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    server = SMTPServer(smtp_port).start()
    try:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        worker = workers(DATABASE_URL=through)
        # The worker has connected (its catch-up sweep ran) before it is paused.
        time.sleep(3)
        worker.signal(signal.SIGSTOP)
        ident = raise_flag(app)  # recorded and queued; the worker is paused
        proxy.cut()  # every connection of the worker's pool dies, and new ones are refused
        worker.signal(signal.SIGCONT)
        time.sleep(3)  # the job runs, cannot reach the database, and is queued again (15 s)
        assert not server.messages
        assert the_alert(app, ident).tries == 0  # never claimed: nothing reached the database
        proxy.restore()
        wait_for("the alert once the database is back", lambda: server.messages, 40, [worker])
        time.sleep(1)
        assert len(server.messages) == 1
        assert "OperationalError" in worker.log_text()
    finally:
        server.stop()
        proxy.close()
    alert = the_alert(app, ident)
    assert (alert.status, alert.tries) == ("sent", 1)
