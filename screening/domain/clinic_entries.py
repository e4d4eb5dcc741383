"""What the clinic knows about the planned surgery: its entries for the questions a questionnaire
marks `clinic` (the procedure, its levels, ...), given on the invitation or changed before the
patient submits. Typed by the engine (`codec.parse`, the patient's own reading), kept on the
screening (`clinic_answers`), scored where the patient's answer does not tell (`scoring.score`'s
`clinic`), shown to clinicians beside a differing answer and never to the patient."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING
from ..extensions import db
from ..models import OPEN_STATUSES, Screening, User
from ..scoring import AnswerError
from . import NotAllowed, audit


def questions(q: m.Questionnaire) -> tuple[m.Question, ...]:
    """The questions the clinic may enter, in the questionnaire's order."""
    return tuple(question for question in q.questions.values() if question.clinic)


def options(question: m.Question) -> tuple[m.Option, ...]:
    """The options the clinic may choose: not those that do not tell ("Not sure")."""
    return tuple(o for o in question.options if not o.unknown)


def checked(q: m.Questionnaire, given: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The entries to keep (question id -> stored value; blanks left out), and a message per
    entry that cannot be kept: a question the clinic does not enter, or a value the engine does
    not take for it (out of range, not one of the options, "Not sure")."""
    entries: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question_id, raw in given.items():
        question = q.questions.get(question_id)
        if question is None or not question.clinic:
            names = ", ".join(c.id for c in questions(q)) or "none"
            errors[question_id] = f"Not a question the clinic enters (these are: {names})."
            continue
        try:
            value = codec.parse(question, raw)
        except AnswerError as exc:
            errors[question_id] = str(exc)
            continue
        if value is MISSING:
            continue
        if value in question.unknown_values:
            errors[question_id] = "Leave it blank when the clinic does not know."
            continue
        entries[question_id] = codec.to_stored(value)
    return entries, errors


def of(screening: Screening) -> dict[str, Any]:
    """The screening's entries (question id -> stored value)."""
    return dict(screening.clinic_answers or {})


def current(screening_id: int) -> dict[str, Any]:
    """The entries as the database holds them now (not the session's copy): read by the
    submission after it has taken the screening's row."""
    stored = db.session.scalar(
        sa.select(Screening.clinic_answers).where(Screening.id == screening_id)
    )
    return dict(stored or {})


def displayed(q: m.Questionnaire, entries: Mapping[str, Any]) -> list[dict[str, str]]:
    """The entries as staff read them: the question's label and the value in words."""
    rows = []
    for question in questions(q):
        if question.id in entries:
            try:
                answer = codec.display(question, codec.parse(question, entries[question.id]))
            except AnswerError:  # kept as checked; never expected to fail
                answer = str(entries[question.id])
            rows.append({"label": question.label, "answer": answer})
    return rows


def change(screening: Screening, entries: Mapping[str, Any], actor: User | None) -> list[str]:
    """Replace the screening's entries with `entries` (as `checked` gives them) while it is
    open; NotAllowed once submitted, revoked or expired by a concurrent change. Audited with the
    ids of the questions changed (never a value). Returns those ids."""
    before = of(screening)
    changed = sorted(k for k in {*before, *entries} if before.get(k) != entries.get(k))
    if not changed:
        return []
    db.session.flush()
    updated = db.session.execute(
        sa.update(Screening)
        .where(Screening.id == screening.id, Screening.status.in_(OPEN_STATUSES))
        .values(clinic_answers=dict(entries) or None)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount != 1:
        raise NotAllowed("This screening is closed: the clinic's entries can no longer change.")
    db.session.expire(screening, ["clinic_answers"])
    audit.record(
        "clinic_answers_changed", user=actor, screening_id=screening.id,
        detail="questions " + ", ".join(changed),
    )  # fmt: skip
    return changed
