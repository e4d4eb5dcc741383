"""A patient's answers: read, saved a step at a time, and scored as the clinic sees them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .. import codec
from ..definition import Questionnaire
from ..definition.conditions import MISSING
from ..extensions import db
from ..models import OPEN_STATUSES, Answer, Screening, StepDone, UTCDateTime, utcnow
from ..scoring import Assessment, score, type_answers, visible_questions
from . import NotAllowed, audit, clinic_entries, flags, questionnaires


def saved_answers(screening: Screening) -> dict[str, Any]:
    """Question id -> stored value, every answer kept (hidden ones too, for the record)."""
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.value).where(Answer.screening_id == screening.id)
    )
    return dict(rows.all())


def steps_done(screening: Screening) -> set[str]:
    rows = db.session.scalars(
        sa.select(StepDone.step_id).where(StepDone.screening_id == screening.id)
    )
    return set(rows)


def saved_times(screening: Screening) -> dict[str, dt.datetime]:
    rows = db.session.execute(
        sa.select(Answer.question_id, Answer.saved_at).where(Answer.screening_id == screening.id)
    )
    return dict(rows.all())


def judged_on(screening: Screening) -> dt.date | None:
    """The day a screening's answers are checked against: the day it was submitted (so a
    `min: today` planned surgery date stays valid once that day has passed), or today."""
    return screening.submitted_at.date() if screening.submitted_at else None


def assessment_of(
    screening: Screening, q: Questionnaire | None = None, clinic: bool = True
) -> Assessment:
    """The saved answers scored under the screening's pinned questionnaire (or `q`, e.g. its copy
    in the patient's language), as on the day it was submitted, with the clinic's entries
    (`clinic=False`: the patient's answers alone, for what the patient reads): every page, PDF
    and export of a screening scores through here, so they agree with the stored assessment."""
    q = q or questionnaires.of(screening)
    entries = clinic_entries.of(screening) if clinic else None
    return score(q, saved_answers(screening), judged_on(screening), clinic=entries)


def take_if_open(screening: Screening, same_link: bool = False) -> bool:
    """Take the screening's row, held until the caller commits, if it is still open (and, with
    `same_link`, its link still the one read): an update that changes nothing (PostgreSQL locks
    the row, SQLite the database), so what follows waits for a save or a submission under way
    and then sees it. False when it was sent, revoked or (with `same_link`) given a new link."""
    query = sa.update(Screening).where(
        Screening.id == screening.id, Screening.status.in_(OPEN_STATUSES)
    )
    if same_link:
        query = query.where(Screening.link_number == screening.link_number)
    taken = db.session.execute(
        query.values(status=Screening.status).execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def _upsert(dialect: str):
    """PostgreSQL's or SQLite's INSERT, which both take ON CONFLICT."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the app is written for these two
        raise RuntimeError(f"the database must be PostgreSQL or SQLite, not {dialect}")
    return insert


def save_step(
    screening: Screening,
    q: Questionnaire,
    step_id: str,
    values: Mapping[str, Any],
    visible: set[str] | frozenset[str],
    now: dt.datetime | None = None,
    saved: Mapping[str, Any] | None = None,
    via: str | None = None,
) -> dict[str, Any]:
    """Store one step's answers (its visible questions only) and mark the step done; record the
    red flags the answers now raise (domain.flags) in the same transaction. `saved`: the answers
    stored before this save, when the caller has them (else they are read). Audited: the step
    and the link (never a value), `via` e.g. "kiosk".

    A visible question left blank loses its stored answer; a hidden one keeps it for the record.
    An answer saved again unchanged keeps the time it was first saved with that value (the time
    the clinician's summary gives for a red flag's answer). Returns what changed: question id ->
    the stored value, None where an answer was removed.

    The screening's row is taken first, with a conditional update (it must still be open, and
    its link still the one the caller read; on the first save it becomes in progress, and the
    link the answers are saved through is the one that may show them: domain.links), and held
    until the caller commits: a save and a submission of one screening come one after the
    other, and a save that finds it submitted, revoked or its link replaced meanwhile is
    refused (NotAllowed). The database settles a double click on Continue:
    ON CONFLICT makes the second save update or keep the first one's rows.
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
        stored = changes[question.id] = None if value is MISSING else codec.to_stored(value)
        if stored is not None:
            rows.append(
                {"screening_id": screening.id, "question_id": question.id, "value": stored,
                 "saved_at": now}
            )  # fmt: skip
    db.session.flush()  # whatever the caller changed through the ORM goes first
    link = screening.link_number
    connection = db.session.connection()
    screenings, answers, steps = Screening.__table__, Answer.__table__, StepDone.__table__
    still_open = connection.execute(
        screenings.update()
        .where(
            screenings.c.id == screening.id,
            screenings.c.status.in_(OPEN_STATUSES),
            screenings.c.link_number == link,
        )
        .values(
            status="in_progress",
            started_at=sa.func.coalesce(
                screenings.c.started_at, sa.bindparam("now", now, type_=UTCDateTime)
            ),
            trusted_link=link,
        )
    )
    if still_open.rowcount != 1:
        raise NotAllowed("closed")  # submitted, revoked or given a new link since it was read
    db.session.expire(screening, ["status", "started_at", "trusted_link"])
    cleared = [question_id for question_id, stored in changes.items() if stored is None]
    if cleared:
        connection.execute(
            answers.delete().where(
                answers.c.screening_id == screening.id, answers.c.question_id.in_(cleared)
            )
        )
    insert = _upsert(connection.dialect.name)
    if rows:
        upsert = insert(answers)
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[answers.c.screening_id, answers.c.question_id],
                set_={"value": upsert.excluded.value, "saved_at": upsert.excluded.saved_at},
                where=answers.c.value.is_distinct_from(upsert.excluded.value),
            ),
            rows,
        )
    connection.execute(
        insert(steps).on_conflict_do_nothing(
            index_elements=[steps.c.screening_id, steps.c.step_id]
        ),
        {"screening_id": screening.id, "step_id": step_id, "completed_at": now},
    )
    if saved is None:
        answers = saved_answers(screening)
    else:
        answers = {k: v for k, v in {**saved, **changes}.items() if v is not None}
    flags.record(screening, q, score(q, answers, clinic=clinic_entries.of(screening)), now)
    audit.record("answers_saved", screening_id=screening.id,
                 detail=f"step {step_id}, {link_label(screening, via)}")  # fmt: skip
    return changes


def link_label(screening: Screening, via: str | None = None) -> str:
    """Which link a patient used, for the audit log: the first 8 hex digits of its stored hash
    (a new link has another; never the token), and how (e.g. kiosk)."""
    return f"link {screening.token_hash[:8]}" + (f" ({via})" if via else "")


def save_all(
    screening: Screening,
    q: Questionnaire,
    answers: Mapping[str, Any],
    now: dt.datetime | None = None,
) -> None:
    """Save a whole set of answers step by step, as a patient would (the demo data, tests):
    each step whose questions are shown, with the answers that are shown when it is saved."""
    typed, _ = type_answers(q, answers)
    for step in q.steps:
        visible, _ = visible_questions(q, typed)
        if any(question.id in visible for question in step.questions):
            save_step(screening, q, step.id, typed, visible, now)
