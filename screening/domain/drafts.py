"""Drafts: what a patient typed on a step and has not saved yet.

The step page's script sends the page's fields as they are answered (and when the phone locks
or the tab closes), so nothing typed is lost before Continue. A draft is never an answer: it is
not scored, not shown to staff and does not mark the step done; it is shown again only on its
own step, to a link that may see the saved answers, and is gone once the step is saved or the
screening is sent. It holds only the fields of its step's questions, as posted (raw text), and
is never logged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from ..definition import model as m
from ..extensions import db
from ..models import Draft, Screening, utcnow
from . import NotAllowed
from .answering import _upsert, take_if_open

# A step's fields, as posted, are a few hundred bytes; its longest, a few free-text answers
# (2,000 characters each at most). Anything larger is refused, so a draft stays small.
MAX_BYTES = 32 * 1024
FIELD_NAME = re.compile(r"q_[A-Za-z0-9_-]{1,150}")


class TooLarge(ValueError):
    """The fields posted are more than a draft keeps."""


def step_fields(step: m.Step, form: MultiDict) -> dict[str, list[str]]:
    """The posted fields that belong to `step`'s questions (`q_<id>` and its parts, such as
    `q_<id>_ft`), name -> values; TooLarge beyond MAX_BYTES."""
    names = {f"q_{question.id}" for question in step.questions}
    kept: dict[str, list[str]] = {}
    size = 0
    for name in form:
        if not FIELD_NAME.fullmatch(name):
            continue
        if name not in names and not any(name.startswith(f"{n}_") for n in names):
            continue
        # No NUL: a form never sends one, and PostgreSQL's JSON cannot hold it.
        values = [str(v).replace("\x00", "") for v in form.getlist(name)]
        size += len(name.encode()) + sum(len(v.encode()) + 1 for v in values)
        if size > MAX_BYTES:
            raise TooLarge(name)
        kept[name] = values
    return kept


def saved_mark(step: m.Step, answers: Mapping[str, Any]) -> str:
    """A short mark of `step`'s saved answers: a page sends it with its drafts, so a draft sent
    by a page shown before the step was saved again (a request still on its way) is not kept."""
    saved = {q.id: answers[q.id] for q in step.questions if q.id in answers}
    text = json.dumps(saved, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save(screening: Screening, step_id: str, fields: dict[str, list[str]]) -> None:
    """Keep `fields` as the step's draft (replacing the one before). The screening's row is
    taken first, as a save of answers does, so a draft can never be kept after the screening
    was sent or its link replaced (NotAllowed). Not audited: nobody reads a draft but the
    patient on that step, and the save of the step that follows is (answers_saved)."""
    if not take_if_open(screening, same_link=True):
        raise NotAllowed("closed")
    now = utcnow()
    insert = _upsert(db.session.get_bind().dialect.name)
    db.session.execute(
        insert(Draft)
        .values(screening_id=screening.id, step_id=step_id, fields=fields, saved_at=now)
        .on_conflict_do_update(
            index_elements=["screening_id", "step_id"], set_={"fields": fields, "saved_at": now}
        )
    )


def find(screening: Screening, step_id: str) -> MultiDict | None:
    """The step's draft as form data, or None."""
    fields = db.session.scalar(
        sa.select(Draft.fields).where(Draft.screening_id == screening.id, Draft.step_id == step_id)
    )
    if not isinstance(fields, dict):
        return None
    return MultiDict(
        [(str(name), str(v)) for name, values in fields.items() for v in (values or [])]
    )


def discard(screening: Screening, step_id: str | None = None) -> None:
    """Forget the draft of a step (its answers were saved), or every draft (`step_id` None:
    the screening was sent)."""
    query = sa.delete(Draft).where(Draft.screening_id == screening.id)
    if step_id is not None:
        query = query.where(Draft.step_id == step_id)
    db.session.execute(query.execution_options(synchronize_session=False))
