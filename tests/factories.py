"""Screenings made directly with the domain's own operations, without HTTP: invited, or answered
with one of the questionnaire's examples and submitted. Tests of the patient's pages walk the
pages instead (tests/web/support.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from screening.domain import answering, flags, invitations, questionnaires, submission
from screening.extensions import db
from screening.models import Screening, User


def screening(
    app, name: str = "Ann Example", *, created: dt.datetime | None = None, days: int = 14,
    **details: Any,
) -> tuple[int, str]:  # fmt: skip
    """An invited screening of the questionnaire in force, created at `created`: (id, token)."""
    with app.app_context():
        made, token = invitations.create_screening(
            questionnaires.store_in_force(), patient_name=name, link_days=days, now=created,
            **details,
        )  # fmt: skip
        db.session.commit()
        ident = made.id
        db.session.remove()
    return ident, token


def example_answers(app, name_part: str) -> dict[str, Any]:
    """The answers of the first example of the questionnaire in force whose name holds
    `name_part`."""
    with app.app_context():
        q = questionnaires.in_force()
    return dict(next(e for e in q.examples if name_part in e.name.lower()).answers)


def answer_and_submit(app, ident: int, answers: dict[str, Any]) -> None:
    """Save every step of the screening's own (pinned) questionnaire with `answers`, as a
    patient would, and submit."""
    with app.app_context():
        found = db.session.get(Screening, ident)
        q = questionnaires.of(found)
        answering.save_all(found, q, answers)
        assert submission.submit(found, q)
        db.session.commit()
        db.session.remove()


def submitted(
    app, name_part: str = "low tier", name: str = "Ann Example", **details: Any
) -> tuple[int, str]:
    """A screening answered with an example and submitted: (id, token)."""
    ident, token = screening(app, name, **details)
    answer_and_submit(app, ident, example_answers(app, name_part))
    return ident, token


def submit_example(app, ident: int, name_part: str) -> None:
    """`answer_and_submit` with the answers of an example of the questionnaire."""
    answer_and_submit(app, ident, example_answers(app, name_part))


def acknowledged_flag(app, screening_id: int, user_id: int) -> tuple[int, int]:
    """The screening's first red flag, acknowledged by the user `user_id` with a note: (flag
    event id, acknowledgement id)."""
    with app.app_context():
        [event, *_] = flags.events(db.session.get(Screening, screening_id))
        made = flags.acknowledge(event, db.session.get(User, user_id), "Phoned the patient.")
        db.session.commit()
        found = event.id, made.id
        db.session.remove()
    return found


def flag_event_ids(app, screening_id: int) -> list[int]:
    """The ids of the screening's flag events, oldest first."""
    with app.app_context():
        found = [e.id for e in flags.events(db.session.get(Screening, screening_id))]
        db.session.remove()
    return found
