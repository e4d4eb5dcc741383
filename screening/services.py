"""Operations on screenings. They change the session and flush; the caller commits once."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import load_only
from sqlalchemy.sql.functions import GenericFunction

from . import reads
from .definition import Questionnaire, load_path, load_text
from .definition.conditions import MISSING
from .extensions import db
from .i18n import LANGUAGES
from .models import (
    OPEN_STATUSES,
    Answer,
    Definition,
    Screening,
    StepDone,
    UTCDateTime,
    effective_status,
    hash_token,
    utcnow,
)
from .scoring import Assessment, score

TOKEN_BYTES = 24  # 192 bits from the OS's CSPRNG; only the SHA-256 of it is stored

_by_hash: dict[str, Questionnaire] = {}


class NotAllowed(Exception):
    """The screening is not in a state that allows this (e.g. answers after submission)."""


def questionnaire_for(source: Definition | Screening | OpenLink) -> Questionnaire:
    """The parsed questionnaire of a stored definition (or of a screening's pinned one), parsed
    once per process; the definition's text is read from the database only the first time."""
    if isinstance(source, Definition):
        content_hash = source.content_hash
    else:
        content_hash = source.definition_hash
    q = _by_hash.get(content_hash)
    if q is None:
        if isinstance(source, Definition):
            definition = source
        elif isinstance(source, Screening):
            definition = source.definition
        else:
            definition = db.session.get_one(Definition, content_hash)
        q = load_text(definition.text, f"{definition.questionnaire_id}-{definition.version}.yaml")
        _by_hash[content_hash] = q
    return q


def patient_languages(q: Questionnaire) -> tuple[str, ...]:
    """The languages a patient may answer `q` in: its own (the clinic's first) that the
    patient's pages have too."""
    return tuple(lang for lang in q.languages if lang in LANGUAGES) or (q.language,)


def offered_languages(path: str | Path) -> tuple[str, ...]:
    """The languages a new screening of the questionnaire file `path` may be answered in."""
    return patient_languages(load_path(path))


def patient_language(screening: Screening | OpenLink) -> str:
    """The language the patient reads: the screening's, where it is one of its questionnaire's
    patient languages; otherwise the clinic's."""
    q = questionnaire_for(screening)
    return screening.language if screening.language in patient_languages(q) else q.language


def store_definition(path: str | Path) -> Definition:
    """The Definition row for the questionnaire file now in force (added if new)."""
    text = Path(path).read_text(encoding="utf-8")
    questionnaire = load_text(text, str(path))
    row = db.session.get(Definition, questionnaire.content_hash)
    if row is None:
        row = Definition(
            content_hash=questionnaire.content_hash,
            questionnaire_id=questionnaire.id,
            version=questionnaire.version,
            text=text,
        )
        db.session.add(row)
        db.session.flush()
    _by_hash[row.content_hash] = questionnaire
    return row


def create_screening(
    definition: Definition,
    *,
    patient_name: str,
    link_days: int,
    now: dt.datetime | None = None,
    **details: Any,
) -> tuple[Screening, str]:
    """A new screening and its token (shown once: only its hash is kept)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    screening = Screening(
        token_hash=hash_token(token),
        status="invited",
        questionnaire_id=definition.questionnaire_id,
        questionnaire_version=definition.version,
        definition_hash=definition.content_hash,
        patient_name=patient_name,
        created_at=now,
        expires_at=now + dt.timedelta(days=link_days),
        **details,
    )
    db.session.add(screening)
    db.session.flush()
    return screening, token


MAX_TOKEN_LENGTH = 200  # longer "tokens" in a URL are not links of ours: not even hashed


def _link_hash(token: str) -> str | None:
    """The stored hash a patient's link token would have, if it can be a token at all."""
    return hash_token(token) if token and len(token) <= MAX_TOKEN_LENGTH else None


def find_by_token(token: str) -> Screening | None:
    token_hash = _link_hash(token)
    if token_hash is None:
        return None
    return db.session.scalar(sa.select(Screening).where(Screening.token_hash == token_hash))


class _answers_object(GenericFunction):
    """JSON object of (question id, stored value) pairs: json_object_agg on PostgreSQL,
    json_group_object on SQLite (where the stored value is JSON text)."""

    type = sa.JSON()
    name = "json_object_agg"
    inherit_cache = True


@compiles(_answers_object, "sqlite")
def _answers_object_sqlite(element: _answers_object, compiler: Any, **kw: Any) -> str:
    key, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"json_group_object({key}, json({value}))"


class _step_ids(GenericFunction):
    """The ids of the steps finished, joined by spaces: string_agg on PostgreSQL, group_concat
    on SQLite. (`aggregate_strings` sends its separator as a value to be written into the
    statement on every run: a seventh of this statement's time in Python.)"""

    type = sa.String()
    name = "string_agg"
    inherit_cache = True


@compiles(_step_ids)
def _step_ids_postgresql(element: _step_ids, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ' ')"


@compiles(_step_ids, "sqlite")
def _step_ids_sqlite(element: _step_ids, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ' ')"


@dataclass(frozen=True, slots=True)
class OpenLink:
    """A patient's screening as their pages read it (`read_by_token`): the columns those pages
    use and nothing to write. Any other column is an AttributeError, never a silent None. A
    step's answers are saved with it (`save_step`); the submission, which changes the screening
    itself, opens it in the session (`open_by_token`)."""

    id: int
    status: str
    definition_hash: str
    language: str
    started_at: dt.datetime | None
    submitted_at: dt.datetime | None
    expires_at: dt.datetime
    has_red_flag: bool

    def effective_status(self, now: dt.datetime | None = None) -> str:
        return effective_status(self.status, self.expires_at, now)


# The columns of the patient's pages: the others (the patient's details, the stored
# assessment) are not theirs to read.
_LINK_COLUMNS = tuple(field.name for field in fields(OpenLink))


@lru_cache(maxsize=2)
def _open_statement(core: bool = False) -> sa.Select:
    """The statement of `open_by_token` (the ORM's) or of `read_by_token` (`core`: columns),
    built once: building it (two correlated subqueries) cost as much as running it."""
    answers = (
        sa.select(_answers_object(Answer.question_id, Answer.value))
        .where(Answer.screening_id == Screening.id)
        .scalar_subquery()
    )
    steps = (
        sa.select(_step_ids(StepDone.step_id))
        .where(StepDone.screening_id == Screening.id)
        .scalar_subquery()
    )
    columns = [getattr(Screening, name) for name in _LINK_COLUMNS]
    if core:
        selected = sa.select(*columns, answers, steps)
    else:
        # A fifth of the columns, a third less of the driver's and the ORM's work per page;
        # the others are read if ever asked for. (The first column, the id, is the primary
        # key, which the ORM always loads.)
        selected = sa.select(Screening, answers, steps).options(load_only(*columns[1:]))
    return selected.where(Screening.token_hash == sa.bindparam("token_hash"))


def open_by_token(token: str) -> tuple[Screening, dict[str, Any], set[str]] | None:
    """A patient's screening with its saved answers (as `saved_answers`) and the steps it has
    finished, in one statement, opened in the session as an ORM object: the submission starts
    here."""
    token_hash = _link_hash(token)
    if token_hash is None:
        return None
    row = db.session.execute(_open_statement(), {"token_hash": token_hash}).one_or_none()
    if row is None:
        return None
    screening, saved, done = row
    return screening, *_saved(saved, done)


def read_by_token(token: str) -> tuple[OpenLink, dict[str, Any], set[str]] | None:
    """As `open_by_token`, for every other patient page (a step's save included): the same
    statement's columns, read outside a transaction (autocommit: no BEGIN and ROLLBACK round
    trips; the one statement reads one consistent snapshot) and without the session, by
    `reads.one_row`. The session's and the ORM's work had been a quarter of a step page's
    time."""
    token_hash = _link_hash(token)
    if token_hash is None:
        return None
    row = reads.one_row(_open_statement(core=True), {"token_hash": token_hash})
    if row is None:
        return None
    *columns, saved, done = row
    return OpenLink(*columns), *_saved(saved, done)


def _saved(saved: dict[str, Any] | None, done: str | None) -> tuple[dict[str, Any], set[str]]:
    """The answers and the finished steps as `_open_statement` gives them (NULL for none; the
    steps' ids joined by spaces)."""
    return saved or {}, set(done.split(" ")) if done else set()


def saved_answers(screening: Screening) -> dict[str, Any]:
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.value).where(Answer.screening_id == screening.id)
    )
    return {question_id: value for question_id, value in rows}


def judged_on(screening: Screening) -> dt.date | None:
    """The day a screening's answers are checked against: the day it was submitted (so a
    `min: today` planned surgery date stays valid once that day has passed), or today."""
    return screening.submitted_at.date() if screening.submitted_at else None


def assessment_of(screening: Screening, q: Questionnaire | None = None) -> Assessment:
    """The screening's saved answers scored under its pinned questionnaire (or `q`, e.g. its
    copy in the patient's language), as on the day it was submitted. Every page, PDF and export
    of a screening scores through here, so they all agree with the stored assessment."""
    return score(q or questionnaire_for(screening), saved_answers(screening), judged_on(screening))


def saved_times(screening: Screening) -> dict[str, dt.datetime]:
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.saved_at).where(Answer.screening_id == screening.id)
    )
    return {question_id: saved_at for question_id, saved_at in rows}


def to_json_value(value: Any) -> Any:
    """A typed answer as stored: dates as ISO text, choices as their option value."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class Progress:
    steps: tuple[str, ...]  # the steps this patient sees, in order
    done: frozenset[str]
    unfinished: tuple[
        str, ...
    ]  # visible steps not done, or done but with a required answer missing
    assessment: Assessment

    @property
    def first_unfinished(self) -> str | None:
        return self.unfinished[0] if self.unfinished else None

    @property
    def complete(self) -> bool:
        return not self.unfinished

    def reachable(self, step_id: str) -> bool:
        """A step may be opened once every visible step before it is finished."""
        if step_id not in self.steps:
            return False
        first = self.first_unfinished
        return first is None or self.steps.index(step_id) <= self.steps.index(first)

    def number(self, step_id: str) -> int:
        return self.steps.index(step_id) + 1

    def neighbour(self, step_id: str, offset: int) -> str | None:
        index = self.steps.index(step_id) + offset
        return self.steps[index] if 0 <= index < len(self.steps) else None


def progress(q: Questionnaire, answers: Mapping[str, Any], done: set[str]) -> Progress:
    assessment = score(q, answers)
    missing_steps = {q.questions[i].step_id for i in assessment.missing}
    missing_steps |= {q.questions[i].step_id for i in assessment.errors if i in q.questions}
    steps = assessment.visible_steps
    unfinished = tuple(s for s in steps if s not in done or s in missing_steps)
    return Progress(steps, frozenset(done), unfinished, assessment)


@lru_cache(maxsize=4)
def _saving_statements(dialect: str) -> tuple[sa.Insert, sa.Insert]:
    """The two statements of `save_step` for the database `dialect` (PostgreSQL or SQLite),
    built once, on the tables: an answer inserted, or its row updated if the question has one
    (its saved time only when the value differs); a finished step inserted unless it is there
    already. The database settles a double click on Continue (two saves of one step at once):
    the second save updates or leaves the first one's rows, and no save fails on the other's."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - as the statements reading a link, saving is written for two
        raise RuntimeError(f"the database must be PostgreSQL or SQLite, not {dialect}")
    answers, steps = Answer.__table__, StepDone.__table__
    answer = insert(answers)
    answer = answer.on_conflict_do_update(
        index_elements=[answers.c.screening_id, answers.c.question_id],
        set_={"value": answer.excluded.value, "saved_at": answer.excluded.saved_at},
        where=answers.c.value.is_distinct_from(answer.excluded.value),
    )
    step = insert(steps).on_conflict_do_nothing(
        index_elements=[steps.c.screening_id, steps.c.step_id]
    )
    return answer, step


def save_step(
    screening: Screening | OpenLink,
    q: Questionnaire,
    step_id: str,
    values: Mapping[str, Any],
    visible: set[str],
    now: dt.datetime | None = None,
    done: set[str] | frozenset[str] | None = None,
) -> dict[str, Any]:
    """Store the answers of one step (visible questions only) and mark the step done.

    A visible question left blank loses its stored answer; a hidden one keeps it for the record.
    An answer saved again unchanged keeps the time it was first saved with that value.
    Returns what changed, question id -> the stored value (None where an answer was removed),
    so a caller holding the saved answers can bring them up to date without reading them again.
    `done`, the steps the caller knows are finished, spares a statement when it holds `step_id`.

    The rows are written in the session's transaction with SQLAlchemy Core: first one
    conditional update of the screening (it must still be open; on the first save it becomes
    in progress), then one statement for the answers and one for the step. (Saving the PHQ-9
    step with its 9 answers changed took 4.4-5.3 ms of CPU through the ORM's unit of work,
    2.2-2.9 ms through its bulk insert, 1.4-1.6 ms so.) `screening` may be an `OpenLink`.

    The update comes first and holds the screening's row until the caller commits: a save and
    a submission (`submit`, which takes the row before it reads the answers) are one after the
    other. A submission committed after the caller read the link refuses this save
    (NotAllowed); a submission that comes while this save is in flight scores its answers.
    """
    if screening.status not in OPEN_STATUSES:
        raise NotAllowed(screening.status)
    now = now or utcnow()
    changes: dict[str, Any] = {}
    rows = []
    for question in q.step_by_id[step_id].questions:
        if question.id not in visible:
            continue
        value = values.get(question.id, MISSING)
        if value is MISSING:
            changes[question.id] = None
            continue
        stored = changes[question.id] = to_json_value(value)
        rows.append(
            {
                "screening_id": screening.id,
                "question_id": question.id,
                "value": stored,
                "saved_at": now,
            }
        )
    db.session.flush()  # whatever the caller changed through the ORM goes first
    connection = db.session.connection()
    screenings = Screening.__table__
    still_open = connection.execute(
        screenings.update()
        .where(screenings.c.id == screening.id, screenings.c.status.in_(OPEN_STATUSES))
        .values(
            status="in_progress",
            started_at=sa.func.coalesce(
                screenings.c.started_at, sa.bindparam("now", now, type_=UTCDateTime)
            ),
        )
    )
    if still_open.rowcount != 1:
        raise NotAllowed("closed")  # submitted or revoked since the link was read
    if isinstance(screening, Screening) and screening in db.session:
        db.session.expire(screening, ["status", "started_at"])
    answer, step = _saving_statements(connection.dialect.name)
    cleared = [question_id for question_id, stored in changes.items() if stored is None]
    if cleared:
        answers = Answer.__table__
        connection.execute(
            answers.delete().where(
                answers.c.screening_id == screening.id, answers.c.question_id.in_(cleared)
            )
        )
    if rows:
        connection.execute(answer, rows)
    if done is None or step_id not in done:
        connection.execute(
            step, {"screening_id": screening.id, "step_id": step_id, "completed_at": now}
        )
    return changes


def submit(screening: Screening, q: Questionnaire, now: dt.datetime | None = None) -> bool:
    """Submit once. Returns False when it was already submitted (a double click, a resubmission).

    The status changes with a conditional UPDATE, so two requests racing cannot both submit.
    Before the answers are read, the screening's row is taken (an update that changes nothing:
    PostgreSQL locks the row, SQLite the database): a step being saved is waited for and its
    answers are scored, and a step saved after this waits and is then refused (`save_step`).
    """
    now = now or utcnow()
    taken = db.session.execute(
        sa.update(Screening)
        .where(Screening.id == screening.id, Screening.status.in_(OPEN_STATUSES))
        .values(status=Screening.status)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return False
    assessment = score(q, saved_answers(screening))
    if not assessment.complete:
        raise NotAllowed("incomplete")
    data = assessment.to_json()
    result = db.session.execute(
        sa.update(Screening)
        .where(Screening.id == screening.id, Screening.status.in_(OPEN_STATUSES))
        .values(
            status="submitted",
            submitted_at=now,
            total=assessment.total,
            tier=assessment.tier.id,
            has_red_flag=bool(assessment.red_flags),
            assessment=data,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(screening)
    return result.rowcount == 1
