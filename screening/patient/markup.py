"""A step page's questions, rendered once and kept for the next page that shows them alike.

Rendering the fields (templates/macros/fields.html) was half the time of a step page, and most
questions look the same on every patient's page: nothing chosen yet, or one of a few options
chosen. So each question's markup is kept, per process, under everything it depends on: the
question (of the questionnaire copy in use, so its language), the page's language, the field's
state, whether it is hidden, and today's date for a date question.

Only states that hold nothing a patient typed are kept (`QuestionField.render_key`): options
chosen, or an empty input. Typed text, numbers and any field showing an error are rendered
every time and never stored.
"""

from __future__ import annotations

import threading

from flask import current_app
from markupsafe import Markup

from ..i18n import current_language
from ..models import utcnow
from .forms import QuestionField

MAX_ENTRIES = 4096  # questions x states seen; emptied when full (a plain bound, no eviction order)

_kept: dict[tuple, tuple[object, Markup]] = {}
_lock = threading.Lock()


def question_markup(field: QuestionField, hidden: bool, language: str | None = None) -> Markup:
    """`language`: the page's (`page_language` in a template), if the caller knows it."""
    question = field.question
    # Only a date's bounds can be "today" (the macro reads it for nothing else).
    today_iso = utcnow().date().isoformat() if question.type == "date" else ""
    state = field.render_key()
    if state is None or current_app.jinja_env.auto_reload:  # or templates edited while serving
        return _render(field, hidden, today_iso)
    key = (id(question), language or current_language(), state, bool(hidden), today_iso)
    found = _kept.get(key)
    if found is not None and found[0] is question:  # the same object, not a reused id
        return found[1]
    markup = _render(field, hidden, today_iso)
    with _lock:
        if len(_kept) >= MAX_ENTRIES:
            _kept.clear()
        _kept[key] = (question, markup)
    return markup


def _render(field: QuestionField, hidden: bool, today_iso: str) -> Markup:
    template = current_app.jinja_env.get_template("macros/fields.html")
    return Markup(template.module.question(field, hidden, today_iso))


def forget() -> None:
    """Drop every kept question (tests; a questionnaire's texts never change under a hash)."""
    with _lock:
        _kept.clear()
