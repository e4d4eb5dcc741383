"""Processes and HTTP for the load test and tests/ops: `screening` commands and gunicorn servers
run as subprocesses on loopback, a browser-like client, and request latencies by kind.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "questionnaires" / "fbss-preop.yaml"
SECRET_KEY = "load-and-ops-tests-secret-key-0123456789abcdef"


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


def screening_command() -> list[str]:
    """The `screening` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("screening")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("screening")
    if found:
        return [found]
    raise RuntimeError("the `screening` command is not installed (pip install -e .)")


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production server: explicit key, given database, shipped questions."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("SCREENING_", "FLASK_")):
            del env[name]  # nothing from the developer's shell leaks into the server
    env.update(
        DATABASE_URL=database_url,
        SCREENING_ENV="production",
        SCREENING_SECRET_KEY=SECRET_KEY,
        SCREENING_QUESTIONNAIRE=str(SHIPPED),
        # Shared by the workers, as production requires with more than one worker.
        SCREENING_RATELIMIT_STORAGE=os.environ.get(
            "SCREENING_TEST_LIMITS_REDIS_URL", "redis://127.0.0.1:6379/14"
        ),
        # The simulated clinicians sign in with a password only (the second factor has tests of
        # its own): the setting a pilot would use.
        SCREENING_REQUIRE_SECOND_FACTOR="false",
        SCREENING_LOG_FORMAT="text",
        SCREENING_BASE_URL="http://127.0.0.1",
        # No worker recycling (production: every ~2000 requests): the fault tests follow the
        # workers' pids, and a recycled worker's start-up would land in a measured request.
        SCREENING_MAX_REQUESTS="0",
        # Red-flag alerts are recorded, queued in a file of their own and left there: no worker
        # runs beside these servers unless a test starts one (and then names its own queue).
        SCREENING_RED_FLAG_EMAIL="alerts@clinic.example",
        SCREENING_QUEUE=f"sqlite:///{tempfile.gettempdir()}/screening-test-queue-{os.getpid()}.db",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def cli(database_url: str, *args: str, input: str | None = None, check: bool = True,
        **extra: str) -> subprocess.CompletedProcess:
    """Run `screening ARGS` against a database; raise with its output when it fails."""
    result = subprocess.run(
        [*screening_command(), *args],
        env=server_env(database_url, **extra),
        cwd=ROOT,
        input=input,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"screening {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def fresh_database(database_url: str, revision: str | None = None) -> None:
    """Empty the database (PostgreSQL: a new public schema) and migrate it with the CLI."""
    if database_url.startswith("postgresql"):
        from tests.conftest import reset_pg_schema

        reset_pg_schema(database_url)
    cli(database_url, "db", "upgrade", *([revision] if revision else []))


class Server:
    """`screening serve` (a gunicorn master) started as a subprocess in its own session.

    stdout (the access log) and stderr (gunicorn's and the app's own log) go to files in
    `log_dir`, read back with `log_text()`, `error_log()` or `log_since(log_mark())`.
    """

    def __init__(self, env: dict[str, str], *, workers: int = 3, threads: int = 4,
                 log_dir: str | Path | None = None, ready_path: str = "/readyz",
                 name: str = "server"):
        self.env, self.workers, self.threads = env, workers, threads
        self.ready_path, self.name = ready_path, name
        self.port = free_port()
        self._own_dir = None if log_dir else tempfile.TemporaryDirectory(prefix="screening-srv-")
        self.log_dir = Path(log_dir or self._own_dir.name)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.out_path = self.log_dir / f"{name}-{self.port}.out.log"
        self.err_path = self.log_dir / f"{name}-{self.port}.err.log"
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        command = [*screening_command(), "serve", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--threads", str(self.threads)]
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.proc = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=out, stderr=err, start_new_session=True
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Until `ready_path` answers 200 and every worker has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   + self.log_text()[-4000:])
            probe = Client(self.address, timeout=5)
            try:
                status = probe.get(self.ready_path).status
            except (OSError, http.client.HTTPException):
                status = None
            finally:
                probe.close()
            if status == 200 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready in {timeout:.0f} s:\n"
                           + self.log_text()[-4000:])

    def worker_pids(self) -> set[int]:
        """The gunicorn workers: the master's child processes."""
        return children(self.proc.pid) if self.proc and self.proc.poll() is None else set()

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode

    def log_text(self) -> str:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace")
                         for path in (self.out_path, self.err_path) if path.exists())

    def error_log(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def log_mark(self) -> tuple[int, int]:
        """Where the logs end now; `log_since(mark)` reads what was written after."""
        return tuple(p.stat().st_size if p.exists() else 0 for p in (self.out_path, self.err_path))

    def log_since(self, mark: tuple[int, int]) -> tuple[str, str]:
        """(access log, error log) written since `mark`."""
        parts = []
        for path, offset in zip((self.out_path, self.err_path), mark, strict=True):
            with open(path, "rb") as handle:
                handle.seek(offset)
                parts.append(handle.read().decode("utf-8", errors="replace"))
        return parts[0], parts[1]

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Worker:
    """`screening worker` as a subprocess; its output goes to `log_path`."""

    def __init__(self, env: dict[str, str], log_path: str | Path):
        self.env, self.log_path = env, Path(log_path)
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([*screening_command(), "worker"], env=self.env, cwd=ROOT,
                                         stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        return self

    def signal(self, number: int) -> None:
        self.proc.send_signal(number)

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def worker_env(config: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment of a `screening worker` beside the test app configured by `config`: the
    same database, queue, alert address and mail server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "FLASK_"))}
    env.update(
        DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"], SCREENING_SECRET_KEY=SECRET_KEY,
        SCREENING_QUESTIONNAIRE=str(SHIPPED), SCREENING_QUEUE=config["SCREENING_QUEUE"],
        SCREENING_RED_FLAG_EMAIL=config["SCREENING_RED_FLAG_EMAIL"],
        SCREENING_SMTP_HOST="127.0.0.1", SCREENING_SMTP_PORT=str(config["SCREENING_SMTP_PORT"]),
        SCREENING_SMTP_TIMEOUT=str(config["SCREENING_SMTP_TIMEOUT"]), PYTHONUNBUFFERED="1",
    )  # fmt: skip
    env.update(extra)
    return env


def children(pid: int) -> set[int]:
    """Live process ids whose parent is `pid` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    ms: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def location(self) -> str:
        """The Location header as a path (the scheme and host removed)."""
        return re.sub(r"^https?://[^/]+", "", self.headers.get("Location", ""))


class Client:
    """A browser-like HTTP/1.1 client: one keep-alive connection and its own cookie jar.

    The jar ignores the Secure flag (SCREENING_ENV=production marks cookies Secure; the tests talk
    plain HTTP on loopback). A request on a kept-alive connection that the server had closed is
    sent again once on a new connection, as browsers do (`retry_reused`); a request on a fresh
    connection is never sent twice.
    """

    def __init__(self, address: tuple[str, int], timeout: float = 60, retry_reused: bool = True):
        self.host, self.port = address
        self.timeout, self.retry_reused = timeout, retry_reused
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None
        self.resent = 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return self.request("GET", path, None, headers)

    def post(self, path: str, data: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> Response:
        return self.request("POST", path, data or {}, headers)

    def request(self, method: str, path: str, data: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        body = urlencode(data, doseq=True).encode() if data is not None else None
        sent = {"Accept": "text/html,application/xhtml+xml,*/*", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 1 and self.retry_reused:
                    self.resent += 1
                    continue
                raise
            except BaseException:
                self.close()
                raise
            ms = (time.perf_counter() - started) * 1000
            if response.will_close:
                self.close()
            self._keep(response.headers.get_all("Set-Cookie") or [])
            return Response(response.status, response.headers, payload, ms)
        raise AssertionError("unreachable")

    def _keep(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            jar = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in (morsel["expires"] or ""):
                    self.cookies.pop(name, None)  # deleted
                else:
                    self.cookies[name] = morsel.coded_value


CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]*)"')


def csrf_token(html: str | bytes) -> str:
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    tag = CSRF_INPUT.search(html)
    if tag is None:
        raise AssertionError("no csrf_token input on the page")
    value = VALUE.search(tag.group(0))
    assert value is not None, tag.group(0)
    return value.group(1)


# --- measurements -----------------------------------------------------------------------------


class Stats:
    """Latencies by kind of request, and every error (non-2xx/3xx answer or exception)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[int, int]] = {}
        self.errors: list[str] = []

    def add(self, kind: str, response: Response) -> None:
        with self.lock:
            self.samples.setdefault(kind, []).append(response.ms)
            by_status = self.statuses.setdefault(kind, {})
            by_status[response.status] = by_status.get(response.status, 0) + 1
            if not 200 <= response.status < 400:
                self.errors.append(f"{kind}: HTTP {response.status}")

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors.append(f"{kind}: {detail}")

    def summary(self, *kinds: str) -> dict[str, float] | None:
        """count, p50, p95, p99 and max of these kinds' requests taken together (ms)."""
        values = [ms for kind in kinds for ms in self.samples.get(kind, [])]
        return {"count": len(values), **percentiles(values)} if values else None


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if len(values) == 1:
        return dict.fromkeys(("p50", "p95", "p99", "max"), values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": values[-1]}
