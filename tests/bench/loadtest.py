"""A bounded load test of the production setup: gunicorn (`screening serve`) + PostgreSQL.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        python -m tests.bench.loadtest --patients 50

The database named by TEST_DATABASE_URL (or --database-url) is EMPTIED: its `public` schema is
dropped and migrated again. Never point this at a database whose data you want to keep.

What it does:
1. migrates the database, creates N screenings and a clinician, starts `screening serve` on a
   free loopback port and sends every worker thread a few (unmeasured) requests;
2. runs N simulated patients at once (one thread and one cookie jar each) through the whole
   questionnaire with the questionnaire's example answer sets (taken in turn, plus a free-text
   answer of their own), while staff threads sign in as the clinician, load the dashboard and
   download the PDF summaries of submitted screenings, which one `screening worker` (the task
   queue, as in production) renders in the background meanwhile;
3. checks in the database that every screening is submitted and that the stored answers are
   exactly the visible answers that were posted (no answer missing, extra, changed or stored twice);
4. reports each kind of request's latency (count, p50, p95, p99, max) and the targets.

Targets: 50 concurrent patients; step requests (GET and POST together) p95 <= 50 ms; zero errors;
zero lost or duplicated answers. Time is reported, never asserted: the exit status is 1 on an
error or a wrong answer only.

Servers and HTTP come from tests/bench/harness.py, the simulated patients and the database check
from tests/bench/patients.py (both also used by tests/ops).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.harness import (
    Client,
    Server,
    Stats,
    Worker,
    csrf_token,
    fresh_database,
    server_env,
)
from tests.bench.patients import (
    CLINICIAN_EMAIL,
    STAFF_PASSWORD,
    Patient,
    PatientFailed,
    Verification,
    create_patients,
    load_questionnaire,
    verify_answers,
)

TARGET_PATIENTS = 50
TARGET_STEP_P95_MS = 50.0
STEP_KINDS = ("step GET", "step POST")
KINDS = ("welcome GET", "start POST", *STEP_KINDS, "review GET", "submit POST", "result GET",
         "login GET", "login POST", "dashboard GET", "PDF GET")  # the report's order


class Staff:
    """A clinician signing in, then loading the dashboard and PDFs until told to stop."""

    def __init__(self, address: tuple[str, int], stats: Stats, stop: threading.Event,
                 think: float = 0.0, share: tuple[int, int] = (0, 1)):
        self.client = Client(address)
        self.stats, self.stop, self.think = stats, stop, think
        # Staff member i of n takes the screenings whose id % n == i, so no two render the same
        # first PDF at once (that race is tested in tests/ops/test_serving.py, not timed here).
        self.share = share
        self.pdfs = 0
        self.seen: set[int] = set()
        self.preparing: list[int] = []  # asked for while being prepared: asked for again first

    def run(self) -> None:
        try:
            self.login()
            while not self.stop.is_set():
                self.round()
                if self.think:
                    self.stop.wait(random.uniform(0.5, 1.5) * self.think)
        except Exception as exc:  # noqa: BLE001 - counted as an error of the run
            self.stats.error("staff", f"{type(exc).__name__}: {exc}")
        finally:
            self.client.close()

    def login(self) -> None:
        page = self.client.get("/staff/login")
        self.stats.add("login GET", page)
        response = self.client.post("/staff/login", {
            "email": CLINICIAN_EMAIL, "password": STAFF_PASSWORD,
            "csrf_token": csrf_token(page.body),
        })
        self.stats.add("login POST", response)
        if response.status != 303:
            raise PatientFailed(f"login failed: HTTP {response.status}")

    def round(self) -> None:
        """The dashboard, the submitted screenings, and one PDF (a new one when there is)."""
        self.stats.add("dashboard GET", self.client.get("/staff/"))
        response = self.client.get("/staff/?status=submitted&sort=submitted")
        self.stats.add("dashboard GET", response)
        ids = [int(i) for i in re.findall(r'href="/staff/screenings/(\d+)"', response.text)]
        ids = [i for i in ids if i % self.share[1] == self.share[0]]
        if not ids:
            return
        if self.preparing:
            chosen = self.preparing.pop(0)
        else:
            chosen = random.choice([i for i in ids if i not in self.seen] or ids)
        self.seen.add(chosen)
        pdf = self.client.get(f"/staff/screenings/{chosen}/summary.pdf")
        self.stats.add("PDF GET", pdf)
        if pdf.status == 200:
            if not pdf.body.startswith(b"%PDF"):
                self.stats.error("PDF GET", "not a PDF")
            self.pdfs += 1
        elif pdf.status == 202:  # being prepared by the worker: the page says so
            self.preparing.append(chosen)


@dataclass
class Config:
    database_url: str
    patients: int = TARGET_PATIENTS
    workers: int = 3
    threads: int = 4
    staff: int = 2
    think: float = 1.0  # mean seconds a patient spends on a page
    staff_think: float = 1.0
    log_dir: str | None = None  # keep the server's logs here


@dataclass
class Report:
    config: Config
    seconds: float = 0.0
    completed: int = 0
    stats: Stats = field(default_factory=Stats)
    verification: Verification = field(default_factory=Verification)
    pdfs: int = 0
    resent: int = 0
    patient_errors: list[str] = field(default_factory=list)
    server_log_tail: str = ""
    load_before: float = 0.0  # the machine's 1-minute load average (other work slows it all)
    load_after: float = 0.0

    @property
    def per_minute(self) -> float:
        return self.completed / self.seconds * 60 if self.seconds else 0.0

    def step_p95(self) -> float:
        steps = self.stats.summary(*STEP_KINDS)
        return steps["p95"] if steps else 0.0

    def targets(self) -> list[tuple[str, bool, str]]:
        """(target, met, measured)."""
        v, errors, p95 = self.verification, self.stats.errors, self.step_p95()
        return [
            (f"{TARGET_PATIENTS} concurrent patients", self.config.patients >= TARGET_PATIENTS,
             f"{self.config.patients} run"),
            (f"step requests p95 <= {TARGET_STEP_P95_MS:g} ms", p95 <= TARGET_STEP_P95_MS,
             f"{p95:.1f} ms"),
            ("zero errors", not errors, f"{len(errors)}"),
            ("zero lost or duplicated answers", v.ok,
             "ok" if v.ok else f"{len(v.missing)} lost, {len(v.duplicated)} duplicated"),
        ]

    def to_json(self) -> dict[str, Any]:
        v = self.verification
        return {
            "patients": self.config.patients,
            "workers": self.config.workers,
            "threads": self.config.threads,
            "think": self.config.think,
            "load_average": [self.load_before, self.load_after],
            "seconds": self.seconds,
            "completed": self.completed,
            "completed_per_minute": self.per_minute,
            "latency_ms": {k: self.stats.summary(k) for k in sorted(self.stats.samples)},
            "step_latency_ms": self.stats.summary(*STEP_KINDS),
            "statuses": self.stats.statuses,
            "errors": self.stats.errors,
            "pdfs": self.pdfs,
            "resent_on_closed_keepalive": self.resent,
            "verification": {
                "ok": v.ok,
                "submitted": v.submitted,
                "answers_expected": v.answers_expected,
                "answers_stored": v.answers_stored,
                "problems": v.problems(),
            },
            "targets": {label: {"met": met, "measured": measured}
                        for label, met, measured in self.targets()},
        }

    def text(self) -> str:
        c, v, errors = self.config, self.verification, self.stats.errors
        lines = [
            "",
            "=" * 78,
            f"Load test: {c.patients} patients, {c.staff} staff, gunicorn {c.workers} workers x "
            f"{c.threads} threads (no worker recycling), {os.cpu_count()} cores",
            f"think time {c.think:g} s (patients) / {c.staff_think:g} s (staff), uniform x0.5-1.5;"
            f" load average before/after: {self.load_before:.1f} / {self.load_after:.1f}",
            "=" * 78,
            f"patients' phase         {self.seconds:8.1f} s",
            f"completed screenings    {self.completed:8d} of {c.patients}",
            f"completed per minute    {self.per_minute:8.1f}",
            f"PDFs downloaded         {self.pdfs:8d}  (the others asked for were being prepared)",
            f"requests resent         {self.resent:8d}  (kept-alive connection closed by server)",
            "",
            f"{'request':<16}{'count':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}",
        ]
        rows = [(kind, (kind,)) for kind in (*KINDS, *sorted(set(self.stats.samples) - {*KINDS}))]
        rows.append(("step GET+POST", STEP_KINDS))
        for label, kinds in rows:
            if s := self.stats.summary(*kinds):
                lines.append(f"{label:<16}{s['count']:>7}{s['p50']:>10.1f}{s['p95']:>10.1f}"
                             f"{s['p99']:>10.1f}{s['max']:>10.1f}")
        lines += [
            "",
            f"errors                  {len(errors):8d}"
            + (f"  e.g. {errors[:5]}" if errors else ""),
            f"submitted (database)    {v.submitted:8d} of {v.screenings}",
            f"answers expected/stored {v.answers_expected:8d} / {v.answers_stored}",
            "answers check           " + ("exactly once, values equal" if v.ok
                                          else "; ".join(v.problems())),
            "",
            "Targets",
            *(f"  {'[met]' if met else '[MISSED]':<9}{label:<36} {measured}"
              for label, met, measured in self.targets()),
            "=" * 78,
        ]
        return "\n".join(lines)


def run(config: Config, out: Callable[[str], None] | None = print) -> Report:
    """The whole load test; see the module's docstring."""
    out = out or (lambda line: None)
    q = load_questionnaire()
    report = Report(config, load_before=os.getloadavg()[0])
    log_dir = config.log_dir or tempfile.mkdtemp(prefix="screening-loadtest-")
    out(f"migrating {redacted(config.database_url)} (the schema is emptied) ...")
    fresh_database(config.database_url)
    *plans, warm_plan = create_patients(config.database_url, config.patients + 1, q,
                                        staff=((CLINICIAN_EMAIL, "clinician"),))
    # A queue of its own: the shared test queue file may hold what earlier tests left there
    # (alerts to an absent mail server), which the worker would work through first.
    env = server_env(config.database_url,
                     SCREENING_QUEUE=f"sqlite:///{os.path.join(log_dir, 'queue.db')}")
    server = Server(env, workers=config.workers, threads=config.threads, log_dir=log_dir,
                    name="screening")
    worker = Worker(env, os.path.join(log_dir, "worker.log"))
    out(f"starting screening serve on {server.base_url} and a screening worker ...")
    server.start()
    worker.start()
    try:
        warm_up(server, warm_plan.token)
        stop = threading.Event()
        staff = [Staff(server.address, report.stats, stop, config.staff_think, (i, config.staff))
                 for i in range(config.staff)]
        staff_threads = start_threads(s.run for s in staff)
        patients = [Patient(server.address, plan, q, report.stats, think=config.think)
                    for plan in plans]
        out(f"running {len(patients)} patients ...")
        started = time.perf_counter()
        # Arrivals spread over a page's think time, as patients opening their links would.
        for thread in start_threads(delayed(random.uniform(0, config.think), p.run)
                                    for p in patients):
            thread.join(600)
        report.seconds = time.perf_counter() - started
        out(f"patients done in {report.seconds:.1f} s; waiting for the staff ...")
        # The PDFs asked for while being prepared are rendered by now or soon: the staff ask
        # again until each has had one (a minute at most) before they stop.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(s.preparing and not s.pdfs for s in staff):
            time.sleep(0.2)
        stop.set()
        for thread in staff_threads:
            thread.join(120)
        report.completed = sum(p.submitted for p in patients)
        report.patient_errors = [f"patient {p.plan.index}: {p.error}" for p in patients
                                 if p.error]
        report.pdfs = sum(s.pdfs for s in staff)
        report.resent = sum(p.client.resent for p in patients)
        report.resent += sum(s.client.resent for s in staff)
        out("checking the answers in the database ...")
        report.verification = verify_answers(config.database_url, plans, q)
    finally:
        out("stopping screening serve and the worker ...")
        worker.stop()
        server.stop()
        report.server_log_tail = server.error_log()[-3000:]
        if not report.pdfs:
            report.server_log_tail += "\n--- worker ---\n" + worker.log_text()[-3000:]
        if config.log_dir is None:
            shutil.rmtree(log_dir, ignore_errors=True)
    report.load_after = os.getloadavg()[0]
    return report


def start_threads(targets) -> list[threading.Thread]:
    """A started daemon thread for each target (daemons: a stuck request never blocks exit)."""
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    return threads


def delayed(seconds: float, target: Callable[[], Any]) -> Callable[[], None]:
    def later() -> None:
        if seconds:
            time.sleep(seconds)
        target()

    return later


def warm_up(server: Server, token: str, rounds: int = 3) -> None:
    """Requests every worker thread will have served before the patients come (not measured):
    a worker's first requests parse the questionnaire and compile the templates, which a
    clinic's long-running server has done long before."""

    def hit() -> None:
        client = Client(server.address)
        try:
            for _ in range(rounds):
                client.get(f"/s/{token}")
                client.get(f"/s/{token}/step/about_surgery")
                client.close()  # a new connection: another worker may take it
        finally:
            client.close()

    for thread in start_threads(hit for _ in range(server.workers * server.threads)):
        thread.join(120)


def redacted(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.loadtest",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=TARGET_PATIENTS)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--staff", type=int, default=2)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a patient spends on a page (0: as fast as possible)")
    parser.add_argument("--staff-think", type=float, default=1.0)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", ""),
                        help="PostgreSQL URL (default TEST_DATABASE_URL); ITS DATA IS DELETED")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--log-dir", help="keep the server's logs here")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("a PostgreSQL URL is needed: set TEST_DATABASE_URL or --database-url")
    config = Config(
        database_url=args.database_url, patients=args.patients, workers=args.workers,
        threads=args.threads, staff=args.staff, think=args.think, staff_think=args.staff_think,
        log_dir=args.log_dir,
    )
    began = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - began:6.1f} s] {line}", file=sys.stderr, flush=True)

    report = run(config, out=say)
    print(report.text())
    ok = not report.stats.errors and report.verification.ok
    if report.patient_errors:
        print("patients who did not finish:", *report.patient_errors[:10], sep="\n  ")
    if not ok:
        print("the server's log ends:", report.server_log_tail, sep="\n")
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
