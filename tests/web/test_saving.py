"""What saving a step writes (answering.save_step): answers inserted or updated in place, the
time an answer was saved kept while its value stays the same, blank answers removed, hidden
ones kept, and the step marked done once."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from screening import codec
from screening.domain import NotAllowed, answering, links, submission
from screening.domain.invitations import revoke
from screening.extensions import db
from screening.models import Answer, Screening, StepDone, hash_token
from screening.scoring import score, type_answers, visible_questions
from tests.helpers import new_screening, step_data

from .support import example, main_text, questionnaire, walk

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
    changes = answering.save_step(screening, q, "medical_history", typed, visible, now=FIRST)
    assert screening.status == "in_progress"  # the caller's object is told, before the commit
    db.session.commit()
    on_step = [question.id for question in q.step_by_id["medical_history"].questions]
    assert changes == {i: codec.to_stored(typed[i]) for i in on_step}
    assert rows(screening.id) == {i: (changes[i], FIRST) for i in on_step}
    assert steps(screening.id) == {"medical_history": FIRST}
    assert (screening.status, screening.started_at) == ("in_progress", FIRST)


def test_saving_again_updates_in_place_and_keeps_the_time_of_unchanged_answers(history):
    screening, q, typed = history
    visible, _ = visible_questions(q, typed)
    answering.save_step(screening, q, "medical_history", typed, visible, now=FIRST)
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
    changes = answering.save_step(
        screening, q, "medical_history", again, visible, now=LATER
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
        answering.save_step(screening, q, "medical_history", typed, visible, now=now)
        db.session.commit()
    assert steps(screening.id) == {"medical_history": FIRST}
    assert {saved_at for _, saved_at in rows(screening.id).values()} == {FIRST}


def test_a_submitted_screening_takes_no_answers(history):
    screening, q, typed = history
    screening.status = "submitted"
    visible, _ = visible_questions(q, typed)
    with pytest.raises(NotAllowed):
        answering.save_step(screening, q, "medical_history", typed, visible, now=FIRST)
    db.session.rollback()
    assert rows(screening.id) == {} and steps(screening.id) == {}


# --- a step saved and the screening submitted at once -------------------------------------------
# Two tabs of one patient, or a double-tap racing the review's Submit. One side takes the
# screening's row in a thread of its own (its own app context, session and connection) and holds
# its transaction open for HOLD seconds while the other side starts; it notes when it began to
# commit. (The other side returning after that shows it waited; the outcome is what the tests
# are about.)

HOLD = 0.6


@contextlib.contextmanager
def hold_row(app, take_row):
    """Run `take_row()` in a thread with its own app context (and so its own session), then keep
    its transaction open for HOLD seconds and commit. The block runs once `take_row` has
    returned; on leaving it, the thread is joined and must not have failed. Yields a dict whose
    "committing" is, after the block, when the commit began."""
    outcome: dict[str, object] = {}
    taken = threading.Event()

    def run():
        with app.app_context():
            try:
                take_row()
                taken.set()
                time.sleep(HOLD)
                outcome["committing"] = time.monotonic()
                db.session.commit()
            except BaseException as exc:  # reported by the test, not lost with the thread
                outcome["error"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert taken.wait(10), outcome
    yield outcome
    thread.join(10)
    assert "error" not in outcome, outcome


def every_step_saved(app, client, example_name: str):
    """A screening with every step saved (the review is open), its questionnaire and typed
    answers."""
    token = new_screening(app)
    answers = example(app, example_name)
    walk(client, app, token, answers)
    q = questionnaire(app)
    typed, errors = type_answers(q, answers)
    assert not errors
    return token, q, typed


def stored(app, token: str) -> tuple[Screening, dict]:
    with app.app_context():
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token))
        )
        answers = answering.saved_answers(screening)
        db.session.expunge_all()
    return screening, answers


def test_a_step_saved_while_the_screening_is_submitted_waits_and_is_refused(app, client):
    token, q, typed = every_step_saved(app, client, "low tier")
    _, before = stored(app, token)
    with app.app_context():
        link = links.find(token)  # as a step's POST reads it, first
        assert link.status == "in_progress"

    def submit():
        assert submission.submit(links.find(token), q)

    with hold_row(app, submit) as held, app.app_context():
        changed = {**typed, "phq9_1": 3 if typed["phq9_1"] != 3 else 0}
        visible, _ = visible_questions(q, changed)
        with pytest.raises(NotAllowed):
            answering.save_step(link, q, "mood", changed, visible)
        refused_at = time.monotonic()
        db.session.rollback()
    assert refused_at > held["committing"]  # it waited for the submission, then found it
    screening, after = stored(app, token)
    assert screening.status == "submitted"
    assert after == before  # nothing saved after the submission
    assert screening.assessment == score(q, after).to_json()


def test_a_submission_while_a_step_is_being_saved_waits_and_scores_its_answers(app, client):
    token, q, typed = every_step_saved(app, client, "low tier")
    assert typed["phq9_9"] == 0
    # An answer that raises the self-harm flag, with the follow-up questions it brings up.
    self_harm = example(app, "self-harm flag")
    follow_ups = {question.id: self_harm[question.id]
                  for question in q.step_by_id["mood"].questions
                  if question.id.startswith("suicide_")}
    assert follow_ups
    flagged = {**typed, "phq9_9": 1, **follow_ups}

    def save():
        link = links.find(token)
        visible, _ = visible_questions(q, flagged)
        answering.save_step(link, q, "mood", flagged, visible)

    with hold_row(app, save) as held, app.app_context():
        assert submission.submit(links.find(token), q)
        submitted_at = time.monotonic()
        db.session.commit()
    assert submitted_at > held["committing"]  # it waited for the save, then scored it
    screening, after = stored(app, token)
    assert after["phq9_9"] == 1
    assert screening.has_red_flag
    assert screening.assessment == score(q, after).to_json()


def post_mood_while(app, client, token: str, q, take_row):
    """The mood step posted with a changed answer while `take_row` holds the screening's row."""
    changed = {**example(app, "low tier"), "phq9_1": 3}
    with hold_row(app, take_row):
        return client.post(f"/s/{token}/step/mood", data=step_data(q.step_by_id["mood"], changed))


def test_a_step_posted_while_the_clinic_revokes_the_link_gets_the_revoked_page(app, client):
    token, q, _ = every_step_saved(app, client, "low tier")
    _, before = stored(app, token)

    def revoke_link():
        screening = db.session.scalar(
            sa.select(Screening).where(Screening.token_hash == hash_token(token))
        )
        revoke(screening, None)  # flushed: the row is taken until the commit

    response = post_mood_while(app, client, token, q, revoke_link)
    assert response.status_code == 410
    assert "This link is no longer active" in main_text(response)
    assert stored(app, token)[1] == before


def test_a_step_posted_while_the_screening_is_purged_gets_the_unknown_link_page(app, client):
    """A purge (`screening purge --apply`) deleting the screening while its step is posted: the
    save waits, finds no screening, and the patient gets the page for a link that is not known
    (it had been a server error: the answers' insert failed on the missing screening)."""
    token, q, _ = every_step_saved(app, client, "low tier")

    def purge():
        db.session.execute(sa.delete(Screening).where(Screening.token_hash == hash_token(token)))

    response = post_mood_while(app, client, token, q, purge)
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0
