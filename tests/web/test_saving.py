"""What saving a step writes (services.save_step): answers inserted or updated in place, the
time an answer was saved kept while its value stays the same, blank answers removed, hidden
ones kept, and the step marked done once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from screening import services
from screening.extensions import db
from screening.models import Answer, Screening, StepDone, hash_token
from screening.scoring import type_answers, visible_questions
from tests.helpers import new_screening

from .support import example, questionnaire

FIRST = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 11, 2, 10, 45, tzinfo=dt.UTC)


def rows(screening_id: int) -> dict[str, tuple]:
    """question id -> (stored value, saved at), as the database holds them."""
    found = db.session.execute(
        sa.select(Answer.question_id, Answer.value, Answer.saved_at)
        .where(Answer.screening_id == screening_id)
    )
    return {question_id: (value, saved_at) for question_id, value, saved_at in found}


def steps(screening_id: int) -> dict[str, dt.datetime]:
    found = db.session.execute(
        sa.select(StepDone.step_id, StepDone.completed_at)
        .where(StepDone.screening_id == screening_id)
    )
    return dict(found.all())


@pytest.fixture
def history(app):
    """A new screening, the questionnaire, and the moderate-tier example's typed answers (its
    medical history has a diabetes answer that shows the optional HbA1c question)."""
    token = new_screening(app)
    q = questionnaire(app)
    typed, errors = type_answers(q, example(app, "moderate tier - two-level"))
    assert not errors and typed["hba1c"] == 7.2 and typed["sex_at_birth"] == "female"
    with app.app_context():
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token))
        )
        yield screening, q, typed


def test_a_first_save_inserts_the_answers_and_marks_the_step_done(history):
    screening, q, typed = history
    visible, _ = visible_questions(q, typed)
    changes = services.save_step(screening, q, "medical_history", typed, visible, now=FIRST)
    assert screening.status == "in_progress"  # the caller's object is told, before the commit
    db.session.commit()
    on_step = [question.id for question in q.step_by_id["medical_history"].questions]
    assert changes == {i: services.to_json_value(typed[i]) for i in on_step}
    assert rows(screening.id) == {i: (changes[i], FIRST) for i in on_step}
    assert steps(screening.id) == {"medical_history": FIRST}
    assert (screening.status, screening.started_at) == ("in_progress", FIRST)


def test_saving_again_updates_in_place_and_keeps_the_time_of_unchanged_answers(history):
    screening, q, typed = history
    visible, _ = visible_questions(q, typed)
    services.save_step(screening, q, "medical_history", typed, visible, now=FIRST)
    db.session.commit()
    ids_before = dict(db.session.execute(
        sa.select(Answer.question_id, Answer.id).where(Answer.screening_id == screening.id)
    ).all())

    # Later: the weight changed, the optional sex at birth left blank, and the diabetes answer
    # changed so that the HbA1c question is hidden (its answer is kept for the record).
    again = {**typed, "weight": 88.0, "diabetes": "none"}
    del again["sex_at_birth"]
    visible, _ = visible_questions(q, again)
    assert "hba1c" not in visible
    changes = services.save_step(
        screening, q, "medical_history", again, visible, now=LATER, done={"medical_history"}
    )
    db.session.commit()

    stored = rows(screening.id)
    assert stored["weight"] == (88.0, LATER) and stored["diabetes"] == ("none", LATER)
    assert stored["height"] == (170, FIRST)  # saved again unchanged: its time is kept
    assert stored["hba1c"] == (7.2, FIRST)  # hidden now: kept, not changed
    assert "sex_at_birth" not in stored  # left blank: removed
    assert changes["sex_at_birth"] is None and "hba1c" not in changes
    assert changes["weight"] == 88.0
    kept = dict(db.session.execute(
        sa.select(Answer.question_id, Answer.id).where(Answer.screening_id == screening.id)
    ).all())
    assert kept == {i: n for i, n in ids_before.items() if i != "sex_at_birth"}  # same rows
    assert steps(screening.id) == {"medical_history": FIRST}  # done once, when first done
    assert screening.started_at == FIRST


def test_a_step_saved_twice_without_knowing_it_was_done_is_done_once(history):
    screening, q, typed = history
    visible, _ = visible_questions(q, typed)
    for now in (FIRST, LATER):
        services.save_step(screening, q, "medical_history", typed, visible, now=now)
        db.session.commit()
    assert steps(screening.id) == {"medical_history": FIRST}
    assert {saved_at for _, saved_at in rows(screening.id).values()} == {FIRST}


def test_a_submitted_screening_takes_no_answers(history):
    screening, q, typed = history
    screening.status = "submitted"
    visible, _ = visible_questions(q, typed)
    with pytest.raises(services.NotAllowed):
        services.save_step(screening, q, "medical_history", typed, visible, now=FIRST)
    db.session.rollback()
    assert rows(screening.id) == {} and steps(screening.id) == {}
