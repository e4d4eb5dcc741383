"""Simulated patients for the load test and tests/ops: their screenings and answers (the shipped
questionnaire's example answer sets), a browser walking the questionnaire, and the check in the
database that every visible answer was stored exactly once.
"""

from __future__ import annotations

import http.client
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.bench.harness import SECRET_KEY, SHIPPED, Client, Response, Stats, csrf_token

CLINICIAN_EMAIL = "clinician@example.org"
INTAKE_EMAIL = "intake@example.org"
STAFF_PASSWORD = "Correct horse battery 42!"


# --- what the patients answer -----------------------------------------------------------------


def load_questionnaire():
    from screening.definition import load_path

    return load_path(SHIPPED)


@dataclass
class Plan:
    """One simulated patient: their screening and the answers they will give."""

    index: int
    screening_id: int
    token: str
    name: str
    example: str
    answers: dict[str, Any]


def example_answers(q, index: int, free_text: str | None = None) -> tuple[str, dict[str, Any]]:
    """The questionnaire's example answer sets in turn, each with a free-text answer of its own."""
    example = q.examples[index % len(q.examples)]
    answers = dict(example.answers)
    answers["goals"] = free_text or f"Walk the dog to the harbour again, patient {index}"
    return example.name, answers


def expected_answers(q, answers: dict[str, Any]) -> dict[str, Any]:
    """What must be stored: the typed value of every visible answer, as the app keeps it."""
    from screening.codec import to_stored
    from screening.scoring import type_answers, visible_questions

    typed, errors = type_answers(q, answers)
    assert not errors, errors
    visible, _ = visible_questions(q, typed)
    return {qid: to_stored(value) for qid, value in typed.items() if qid in visible}


def step_fields(q, step_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    from tests.helpers import step_data

    return step_data(q.step_by_id[step_id], answers)


# --- a patient's browser ----------------------------------------------------------------------


class PatientFailed(Exception):
    pass


@dataclass
class Outcome:
    """What happened to one request of a patient."""

    kind: str
    path: str
    status: int | None  # None: an exception, no answer
    detail: str = ""
    step: str | None = None
    ms: float = 0.0
    body: str = ""  # of an error answer
    retry_after: str | None = None


class Patient:
    """A patient's browser going through the questionnaire.

    `attempts` > 1 retries a failed request (an error answer or a broken connection), as a patient
    pressing the button again after the friendly error page; `on_post_failure(patient, step_id)`
    runs before such a retry of a step's POST (the fault tests look at the database there).
    """

    def __init__(
        self,
        address: tuple[str, int],
        plan: Plan,
        q,
        stats: Stats | None = None,
        *,
        think: float = 0.0,
        attempts: int = 1,
        retry_delay: float = 0.2,
        retry_reused: bool = True,
        on_post_failure: Callable[[Patient, str], None] | None = None,
        client: Client | None = None,
    ):
        self.plan, self.q, self.stats = plan, q, stats or Stats()
        self.client = client or Client(address, retry_reused=retry_reused)
        self.think, self.attempts, self.retry_delay = think, attempts, retry_delay
        self.on_post_failure = on_post_failure
        self.outcomes: list[Outcome] = []
        self.acknowledged: list[str] = []  # steps whose POST was answered 303
        self.visited: list[str] = []
        self.submitted = False
        self.error: str | None = None

    @property
    def token(self) -> str:
        return self.plan.token

    def pause(self) -> None:
        """Reading and answering a page: `think` seconds on average."""
        if self.think:
            time.sleep(random.uniform(0.5, 1.5) * self.think)

    def call(self, kind: str, method: str, path: str, data_for: Callable[[], dict] | None = None,
             expect: tuple[int, ...] = (200,), step: str | None = None) -> Response:
        """One request (with `data_for()` as its form), tried up to `attempts` times until its
        status is expected; every try is counted in `stats` and kept in `outcomes`."""
        last = ""
        for attempt in range(1, self.attempts + 1):
            try:
                data = data_for() if data_for else None
                response = self.client.request(method, path, data)
            except (OSError, http.client.HTTPException) as exc:
                self.stats.error(kind, f"{type(exc).__name__}: {exc}")
                self.outcomes.append(Outcome(kind, path, None, type(exc).__name__, step))
                last = f"{kind} {type(exc).__name__}: {exc}"
            else:
                self.stats.add(kind, response)
                failed = response.status >= 400
                self.outcomes.append(Outcome(
                    kind, path, response.status, "", step, response.ms,
                    response.text if failed else "", response.header("Retry-After"),
                ))
                if response.status in expect:
                    return response
                if not failed:  # an error status is counted by Stats.add
                    self.stats.error(kind, f"HTTP {response.status}, expected {expect}")
                last = f"{kind}: HTTP {response.status} (expected {expect})"
            if method == "POST" and step and self.on_post_failure:
                self.on_post_failure(self, step)
            if attempt < self.attempts:
                time.sleep(self.retry_delay)
        raise PatientFailed(last)

    def run(self) -> Patient:
        """The whole questionnaire, from the link to the result; a failure ends in `error`."""
        try:
            token = self.token
            page = self.call("welcome GET", "GET", f"/s/{token}")
            self.pause()
            response = self.call("start POST", "POST", f"/s/{token}/start",
                                 lambda: {"csrf_token": csrf_token(page.body)}, (303,))
            self.walk(response.location)
        except PatientFailed as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported, never swallowed silently
            self.error = f"{type(exc).__name__}: {exc}"
            self.stats.error("patient", self.error)
        finally:
            self.client.close()
        return self

    def walk(self, path: str) -> None:
        """Answer the steps from `path` on, then review and submit."""
        while "/step/" in path:
            step_id = path.rsplit("/", 1)[1].split("?")[0]
            self.visited.append(step_id)
            path = self.answer_step(path, step_id).location
            if len(self.visited) > 40:
                raise PatientFailed("the questionnaire does not end")
        if not path.endswith("/review"):
            raise PatientFailed(f"after the steps: {path}")
        self.finish(path)

    def answer_step(self, path: str, step_id: str) -> Response:
        """Load the step's page, answer (think), press Continue: the 303 answer."""

        def fields() -> dict[str, Any]:
            # The page is loaded again before each attempt, as a patient reloading it would.
            page = self.call("step GET", "GET", path, step=step_id)
            self.pause()
            return {**step_fields(self.q, step_id, self.plan.answers),
                    "csrf_token": csrf_token(page.body)}

        response = self.call("step POST", "POST", path, fields, (303,), step=step_id)
        self.acknowledged.append(step_id)
        return response

    def finish(self, review_path: str) -> None:
        page = self.call("review GET", "GET", review_path)
        self.pause()
        response = self.call(
            "submit POST", "POST", f"/s/{self.token}/submit",
            lambda: {"csrf_token": csrf_token(page.body)}, (303, 410),
        )
        if response.status == 303:
            self.call("result GET", "GET", response.location)
        self.submitted = True


# --- the database -----------------------------------------------------------------------------


def make_app(database_url: str):
    """The app in this process, for setting up data (never serving)."""
    from screening import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": SECRET_KEY,
        "SCREENING_QUESTIONNAIRE": str(SHIPPED),
        "SCREENING_LOG_REQUESTS": False,
        "SCREENING_QUEUE": "memory",
    })


def create_patients(database_url: str, count: int, q, *, start: int = 0,
                    staff: tuple[tuple[str, str], ...] = ()) -> list[Plan]:
    """`count` new screenings (and staff accounts (email, role)), created through the domain."""
    from screening.domain import accounts, invitations, questionnaires
    from screening.extensions import db

    app = make_app(database_url)
    plans = []
    with app.app_context():
        definition = questionnaires.store_in_force()
        for email, role in staff:
            accounts.create_user(email, STAFF_PASSWORD, [role], role.capitalize())
        for index in range(start, start + count):
            name = f"Loadtest Patient {index:03d} Quillfeather"
            screening, token = invitations.create_screening(
                definition, patient_name=name, link_days=14, patient_mrn=f"LT-{index:05d}"
            )
            example, answers = example_answers(q, index)
            plans.append(Plan(index, screening.id, token, name, example, answers))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return plans


def engine(database_url: str):
    """An engine without a pool: every connection is opened and closed by its user."""
    import sqlalchemy as sa

    return sa.create_engine(database_url, poolclass=sa.pool.NullPool)


@dataclass
class Verification:
    screenings: int = 0
    submitted: int = 0
    answers_expected: int = 0
    answers_stored: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    not_submitted: list[int] = field(default_factory=list)
    steps_missing: list[str] = field(default_factory=list)

    PROBLEMS = ("missing", "extra", "changed", "duplicated", "not_submitted", "steps_missing")

    @property
    def ok(self) -> bool:
        return not any(getattr(self, name) for name in self.PROBLEMS)

    def problems(self) -> list[str]:
        return [f"{name} ({len(values)}): {values[:10]}" for name in self.PROBLEMS
                if (values := getattr(self, name))]


def verify_answers(database_url: str, plans: list[Plan], q) -> Verification:
    """Compare the (PostgreSQL) database with what each patient posted: every screening
    submitted, every visible answer stored exactly once with its value, every visible step
    marked done."""
    import sqlalchemy as sa

    from screening.scoring import type_answers, visible_questions

    ids = {"ids": [p.screening_id for p in plans]}
    ids_param = sa.bindparam("ids", expanding=True)

    def select(conn, sql: str) -> list[tuple]:
        return conn.execute(sa.text(sql).bindparams(ids_param), ids).all()

    eng = engine(database_url)
    try:
        with eng.connect() as conn:
            rows = select(conn, "SELECT screening_id, question_id, value FROM answers "
                                "WHERE screening_id IN :ids")
            statuses = dict(select(conn, "SELECT id, status FROM screenings WHERE id IN :ids"))
            done_rows = select(conn, "SELECT screening_id, step_id FROM steps_done "
                                     "WHERE screening_id IN :ids")
    finally:
        eng.dispose()
    stored: dict[int, dict[str, list[Any]]] = {}
    for screening_id, question_id, value in rows:
        stored.setdefault(screening_id, {}).setdefault(question_id, []).append(value)
    done: dict[int, set[str]] = {}
    for screening_id, step_id in done_rows:
        done.setdefault(screening_id, set()).add(step_id)

    result = Verification(screenings=len(plans))
    for plan in plans:
        sid = plan.screening_id
        expected = expected_answers(q, plan.answers)
        have = stored.get(sid, {})
        result.answers_expected += len(expected)
        result.answers_stored += sum(len(v) for v in have.values())
        for qid, value in expected.items():
            if qid not in have:
                result.missing.append(f"{sid}:{qid}")
            elif have[qid][0] != value:
                result.changed.append(f"{sid}:{qid}={have[qid][0]!r}!={value!r}")
        for qid, values in have.items():
            if qid not in expected:
                result.extra.append(f"{sid}:{qid}")
            if len(values) > 1:
                result.duplicated.append(f"{sid}:{qid}x{len(values)}")
        if statuses.get(sid) == "submitted":
            result.submitted += 1
        else:
            result.not_submitted.append(sid)
        _, steps = visible_questions(q, type_answers(q, plan.answers)[0])
        for step_id in sorted({s for s, shown in steps.items() if shown} - done.get(sid, set())):
            result.steps_missing.append(f"{sid}:{step_id}")
    return result
