"""Faults under gunicorn + PostgreSQL: database connections cut, SMTP down, a worker killed, a
double click; and the data-keeping commands: backup, purge, restore.

The server is `screening serve` (2 workers x 4 threads) on a free loopback port, started once for
the module against TEST_DATABASE_URL (emptied and migrated first; left migrated afterwards).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.bench.harness import (
    Client,
    Server,
    closed_port,
    csrf_token,
    fresh_database,
    server_env,
)
from tests.bench.patients import (
    CLINICIAN_EMAIL,
    INTAKE_EMAIL,
    Patient,
    create_patients,
    engine,
    expected_answers,
    load_questionnaire,
    make_app,
    verify_answers,
)
from tests.conftest import create_database, pg_url_or_skip
from tests.ops import count_rows, double_click_walk, login, start, step_state

pytestmark = pytest.mark.slow  # servers and processes of their own

FRIENDLY_503 = "Please try again in a moment"
WORKERS = 2


@pytest.fixture(scope="module")
def q():
    return load_questionnaire()


@pytest.fixture(scope="module")
def pg() -> str:
    url = pg_url_or_skip()
    fresh_database(url)
    create_patients(url, 0, None, staff=((INTAKE_EMAIL, "intake"), (CLINICIAN_EMAIL, "clinician")))
    return url


@pytest.fixture(scope="module")
def server(pg: str, tmp_path_factory: pytest.TempPathFactory):
    env = server_env(
        pg, SCREENING_SMTP_HOST="127.0.0.1", SCREENING_SMTP_PORT=str(closed_port())
    )
    srv = Server(env, workers=WORKERS, threads=4, log_dir=tmp_path_factory.mktemp("faults"))
    srv.start()
    yield srv
    srv.stop()


def run_patients(patients: list[Patient]) -> None:
    threads = [threading.Thread(target=p.run, daemon=True) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)


def assert_no_server_errors(patients: list[Patient]) -> None:
    """Every answer was a page (2xx/3xx) or the friendly 503; never a 500 or a stack trace."""
    for patient in patients:
        assert patient.error is None, patient.error
        assert patient.submitted
        for outcome in patient.outcomes:
            assert outcome.status != 500, (outcome.kind, outcome.body[:500])
            if outcome.status == 503:
                assert FRIENDLY_503 in outcome.body, outcome.body[:500]
                assert "Traceback" not in outcome.body


def fresh_patient_completes(server: Server, pg: str, q, index: int) -> None:
    """A new patient, no retries allowed: every request must succeed."""
    plan = create_patients(pg, 1, q, start=index)[0]
    patient = Patient(server.address, plan, q, attempts=1).run()
    assert patient.error is None and patient.submitted, patient.error
    assert verify_answers(pg, [plan], q).ok


# --- (a) database connections cut -------------------------------------------------------------


TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
CUTTING_SECONDS = 5.0


@dataclass
class CutRun:
    plans: list
    patients: list[Patient]
    cuts: int
    problems: list[str]
    failed_posts: list[str]
    workers: set[int]

    def outcomes(self):
        return [o for p in self.patients for o in p.outcomes]


@pytest.fixture(scope="module")
def cut_run(pg: str, server: Server, q) -> CutRun:
    """pg_terminate_backend every 0.1-0.3 s (for CUTTING_SECONDS) while 6 patients answer as fast
    as they can; each patient presses the button again after an error page."""
    plans = create_patients(pg, 6, q, start=100)
    workers = server.worker_pids()
    checker = engine(pg)
    problems: list[str] = []
    failed_posts: list[str] = []

    def after_failed_post(patient: Patient, step_id: str) -> None:
        """Right after a step's POST failed, before the patient tries again: all or nothing."""
        step = q.step_by_id[step_id]
        wanted = {qid: v for qid, v in expected_answers(q, patient.plan.answers).items()
                  if qid in {question.id for question in step.questions}}
        stored, done = step_state(checker, patient.plan.screening_id, list(wanted), step_id)
        failed_posts.append(step_id)
        if stored and stored != wanted:
            problems.append(f"{patient.plan.screening_id}/{step_id} half-saved: {stored}")
        if done and stored != wanted:
            problems.append(f"{patient.plan.screening_id}/{step_id} done without its answers")

    patients = [Patient(server.address, plan, q, attempts=50, retry_delay=0.05,
                        on_post_failure=after_failed_post) for plan in plans]
    stop = threading.Event()
    cuts: list[int] = []

    def cut() -> None:
        cutter = sa.create_engine(pg, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        until = time.monotonic() + CUTTING_SECONDS
        with cutter.connect() as conn:
            while not stop.wait(random.uniform(0.1, 0.3)) and time.monotonic() < until:
                cuts.append(conn.execute(sa.text(TERMINATE)).scalar_one())
        cutter.dispose()

    cutting = threading.Thread(target=cut, daemon=True)
    cutting.start()
    try:
        run_patients(patients)
    finally:
        stop.set()
        cutting.join(30)
        checker.dispose()
    run = CutRun(plans, patients, sum(cuts), problems, failed_posts, workers)
    statuses = [o.status for o in run.outcomes()]
    print(f"connections cut: {run.cuts} in {len(cuts)} rounds; statuses: "
          f"{ {s: statuses.count(s) for s in set(statuses)} }; {len(failed_posts)} failed POSTs")
    return run


@pytest.mark.postgres
def test_cut_connections_nothing_half_saved_nothing_lost_and_recovered(pg, server, q, cut_run):
    """Requests cut by pg_terminate_backend: a step is saved whole or not at all, no acknowledged
    answer is lost, every patient finishes, and the app recovers without a restart."""
    assert cut_run.cuts > 0
    assert cut_run.problems == []
    for patient in cut_run.patients:
        assert patient.error is None and patient.submitted, patient.error
    for outcome in cut_run.outcomes():
        assert outcome.status is not None  # the server always answered
        if outcome.status == 503:  # the friendly page, never a stack trace
            assert FRIENDLY_503 in outcome.body and "Traceback" not in outcome.body
            assert outcome.retry_after == "30"
    verification = verify_answers(pg, cut_run.plans, q)
    assert verification.ok, verification.problems()
    # Recovered by itself (pool pre-ping): every pooled connection is cut once more, then a new
    # patient goes through without one failed request, on the same workers.
    cutter = engine(pg)
    with cutter.connect() as conn:
        conn.execute(sa.text(TERMINATE))
    cutter.dispose()
    fresh_patient_completes(server, pg, q, 150)
    assert server.worker_pids() == cut_run.workers, server.error_log()[-3000:]
    assert server.proc.poll() is None


@pytest.mark.postgres
def test_cut_connections_never_answer_500(cut_run, server):
    statuses = [o.status for o in cut_run.outcomes()]
    errors = [(o.kind, o.body[:300]) for o in cut_run.outcomes() if o.status == 500]
    assert not errors, (
        f"{len(errors)} x 500 of {len(statuses)} requests: {errors}\n"
        f"server log: {server.error_log()[-3000:]}"
    )


# --- (b) SMTP down ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_invitation_with_smtp_down_shows_the_error_and_keeps_the_screening(pg: str, server):
    client = Client(server.address)
    assert login(client, INTAKE_EMAIL).status == 303
    page = client.get("/staff/invitations/new")
    assert page.status == 200
    response = client.post("/staff/invitations/new", {
        "csrf_token": csrf_token(page.body),
        "patient_name": "Mailless Patient",
        "patient_dob": "1961-02-03",
        "patient_email": "mailless@example.org",
        "link_days": "14",
        "language": "en",
        "send_email": "y",
    })
    assert response.status == 303, response.text[:2000]
    assert response.location.startswith("/staff/screenings/")
    screening_id = int(response.location.rsplit("/", 1)[1])
    shown = client.get(response.location)
    client.close()
    assert shown.status == 200
    assert "The e-mail could not be sent" in shown.text
    assert "refused the connection" in shown.text
    assert "The invitation is saved" in shown.text
    eng = engine(pg)
    try:
        with eng.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT patient_name, status FROM screenings WHERE id = :i"), {"i": screening_id}
            ).one()
            message = conn.execute(sa.text(
                "SELECT kind, ok, error FROM messages WHERE screening_id = :i"), {"i": screening_id}
            ).one()
        assert tuple(row) == ("Mailless Patient", "invited")
        assert message.kind == "invitation" and message.ok is False
        assert "refused" in message.error
        assert count_rows(eng, "audit_events", "action = 'invitation_send_failed' AND "
                          "screening_id = :i", i=screening_id) == 1
    finally:
        eng.dispose()


# --- (c) a worker killed ----------------------------------------------------------------------


@pytest.mark.postgres
def test_a_killed_worker_is_replaced_and_no_acknowledged_answer_is_lost(pg: str, server, q):
    plans = create_patients(pg, 6, q, start=200)
    before = server.worker_pids()
    assert len(before) == WORKERS
    # No silent resending here: a request cut by the kill is an error the patient sees, and the
    # patient tries again (as after an error page in a browser).
    patients = [Patient(server.address, plan, q, attempts=20, retry_delay=0.1,
                        retry_reused=False) for plan in plans]
    threads = [threading.Thread(target=p.run, daemon=True) for p in patients]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while sum(len(p.outcomes) for p in patients) < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    for thread in threads:
        thread.join(300)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = server.worker_pids()
        if len(after) == WORKERS and victim not in after:
            break
        time.sleep(0.1)
    assert victim not in after and len(after) == WORKERS, after
    assert server.proc.poll() is None, "the master is still running"
    assert "was sent SIGKILL" in server.error_log()
    cut = [o for p in patients for o in p.outcomes if o.status is None]
    print(f"requests cut by the kill: {[(o.kind, o.detail) for o in cut]}")
    assert_no_server_errors(patients)
    # Every acknowledged step (and every step posted again after a cut request) is stored
    # exactly as posted.
    verification = verify_answers(pg, plans, q)
    assert verification.ok, verification.problems()
    fresh_patient_completes(server, pg, q, 250)


# --- a double click on Continue ---------------------------------------------------------------


@pytest.fixture(scope="module")
def double_clicked(pg: str, server: Server, q):
    """A patient who pressed Continue three times on every step (three POSTs at once)."""
    plans = create_patients(pg, 2, q, start=300)
    seen = [double_click_walk(server.address, plan, q) for plan in plans]
    return plans, seen


@pytest.mark.postgres
def test_a_double_click_stores_each_answer_once(pg: str, q, double_clicked):
    plans, _ = double_clicked
    verification = verify_answers(pg, plans, q)
    assert verification.ok, verification.problems()


@pytest.mark.postgres
def test_a_double_click_on_continue_is_not_an_error(double_clicked):
    _, seen = double_clicked
    failures = [(step, statuses) for walk in seen for step, statuses in walk
                if set(statuses) != {303}]
    assert failures == []


@pytest.mark.postgres
def test_failed_patient_pages_keep_the_token_out_of_the_log(server: Server, cut_run,
                                                            double_clicked):
    # The whole log of runs with cut connections and double clicks: access lines, the app's own
    # lines, and any "Exception on <path>" or "Error handling request <path>" line.
    log = server.log_text()
    assert log.strip()
    tokens = [plan.token for plan in [*cut_run.plans, *double_clicked[0]]]
    leaked = [line[:120] for line in log.splitlines() if any(t in line for t in tokens)]
    assert leaked == []


@pytest.mark.postgres
def test_a_double_click_on_submit_shows_the_result(pg: str, server: Server, q):
    plan = create_patients(pg, 1, q, start=400)[0]
    patient = Patient(server.address, plan, q)
    path = start(patient)
    while "/step/" in path:
        path = patient.answer_step(path, path.rsplit("/", 1)[1]).location
    review = patient.client.get(path)
    before = dict(patient.client.cookies)  # what both clicks carry
    token = csrf_token(review.body)
    patient.client.close()
    answers = []
    for _ in range(2):  # the second click leaves before the first answer arrives
        client = Client(server.address)
        client.cookies = dict(before)
        answers.append(client.post(f"/s/{plan.token}/submit", {"csrf_token": token}))
        client.close()
    assert answers[0].status == 303 and answers[0].location.endswith("/result")
    assert answers[1].status == 303, f"HTTP {answers[1].status}: {answers[1].text[:300]}"
    assert answers[1].location.endswith("/result")


# --- (d) and (e): backup, purge, restore -----------------------------------------------------


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def database(backend: str, tmp_path: Path) -> str:
    """An empty database of this test's own: on PostgreSQL one next to the test database, so
    that the servers of this module keep theirs, whatever order the tests run in."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'screening.db'}"
    else:
        beside = sa.engine.make_url(pg_url_or_skip())
        name = f"{beside.database}_restore"
        create_database(pg_url_or_skip(), name)
        url = beside.set(database=name).render_as_string(hide_password=False)
    fresh_database(url)
    return url


def command(url: str, *args: str) -> str:
    """`screening ARGS` run in this process (click's runner) against the database at `url`; its
    output. (The commands' own processes are tested once, in tests/unit/test_cli.py.)"""
    from screening.commands import main

    app = make_app(url)
    try:
        result = app.test_cli_runner().invoke(main, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout
    finally:
        with app.app_context():
            from screening.extensions import db

            db.engine.dispose()


def snapshot(url: str) -> dict:
    """Every screening, answer and finished step, read through the app's models."""
    from screening.extensions import db
    from screening.models import Answer, Document, Screening, StepDone

    app = make_app(url)
    with app.app_context():
        screenings = {
            s.id: (s.patient_name, s.status, s.total, s.tier, s.has_red_flag, s.submitted_at)
            for s in db.session.scalars(sa.select(Screening))
        }
        answers = {(a.screening_id, a.question_id): a.value
                   for a in db.session.scalars(sa.select(Answer))}
        steps = {(d.screening_id, d.step_id) for d in db.session.scalars(sa.select(StepDone))}
        # Every version, rendered (its hash and size) or still waiting for the worker (None).
        documents = {(d.screening_id, d.kind, d.version):
                     (d.sha256, None if d.content is None else len(d.content))
                     for d in db.session.scalars(sa.select(Document))}
        db.session.remove()
        db.engine.dispose()
    return {"screenings": screenings, "answers": answers, "steps": steps,
            "documents": documents}


def backdate(url: str, days: int, ids: list[int] | None = None) -> None:
    from screening.extensions import db
    from screening.models import Screening

    app = make_app(url)
    with app.app_context():
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        update = sa.update(Screening).values(created_at=when)
        if ids is not None:
            update = update.where(Screening.id.in_(ids))
        db.session.execute(update)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_backup_purge_dry_run_purge_apply_restore(backend: str, tmp_path: Path, q):
    """(d) `backup`, then `purge --older-than 30` (a dry run, then --apply) of backdated
    screenings, then `restore`: every screening, answer, step and document is back.
    (e) the dry run deletes nothing and says how many; --apply removes the screenings with their
    answers, steps and documents, keeps the newer ones, and writes 'screenings_purged'."""
    from screening.domain import documents
    from screening.extensions import db
    from screening.models import Screening

    url = database(backend, tmp_path)
    command(url, "demo")  # one submitted screening per example of the questionnaire, and a link
    app = make_app(url)
    with app.app_context():
        submitted = db.session.scalars(
            sa.select(Screening).where(Screening.status == "submitted").order_by(Screening.id)
        ).all()
        old = [s.id for s in submitted[:3]]
        submitted_ids = [s.id for s in submitted]
        documents.written_out(submitted[0], "summary")  # a stored PDF, rendered here
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    before = snapshot(url)
    # Every answer of every submitted screening is its example's visible answer: the examples a
    # patient alone can give, of the questionnaire in force and of its previous version.
    from screening.definition import load_path
    from screening.domain.demo import PREVIOUS, submittable

    made = [("Example Patient", q), ("Earlier Example Patient", load_path(PREVIOUS))]
    assert len(submitted) == sum(len(submittable(of)) for _, of in made)
    for name, of in made:
        for index, example in enumerate(submittable(of), start=1):
            (sid,) = [i for i, s in before["screenings"].items() if s[0] == f"{name} {index}"]
            stored = {qid: v for (s, qid), v in before["answers"].items() if s == sid}
            assert stored == expected_answers(of, example.answers), example.name
    # Submission asked for version 1 of both documents of each; the one rendered here is stored.
    assert set(before["documents"]) == {(sid, kind, 1) for sid in submitted_ids
                                        for kind in ("summary", "patient_copy")}
    assert [k for k, (sha, _) in before["documents"].items() if sha] == [(old[0], "summary", 1)]

    backup = tmp_path / f"screening-{backend}.backup"
    assert "wrote" in command(url, "backup", "--out", str(backup))
    assert backup.stat().st_size > 0

    backdate(url, 400, old)
    eng = engine(url)
    try:
        dry = command(url, "purge", "--older-than", "30")
        assert "dry run: 3 screening(s)" in dry and "--apply" in dry
        assert snapshot(url) == before
        assert count_rows(eng, "audit_events", "action = 'screenings_purged'") == 0

        applied = command(url, "purge", "--older-than", "30", "--apply")
        assert "removed 3 screening(s)" in applied
        for table, column in (("screenings", "id"), ("answers", "screening_id"),
                              ("steps_done", "screening_id"), ("documents", "screening_id")):
            with eng.connect() as conn:
                left = conn.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE {column} IN :ids")
                    .bindparams(sa.bindparam("ids", expanding=True)), {"ids": old})
                assert left.scalar_one() == 0, table
        purged = snapshot(url)
        assert set(purged["screenings"]) == set(before["screenings"]) - set(old)
        assert purged["answers"] == {k: v for k, v in before["answers"].items()
                                     if k[0] not in old}  # the newer ones keep theirs
        with eng.connect() as conn:
            events = conn.execute(sa.text(
                "SELECT detail FROM audit_events WHERE action = 'screenings_purged'")).all()
        assert [e.detail for e in events] == ["3 older than 30 days"]
    finally:
        eng.dispose()

    assert "restored" in command(url, "restore", str(backup), "--yes")
    restored = snapshot(url)
    assert restored == before  # every value, as it was when the backup was made
    eng = engine(url)
    try:
        assert count_rows(eng, "audit_events", "action = 'backup_restored'") == 1
    finally:
        eng.dispose()
