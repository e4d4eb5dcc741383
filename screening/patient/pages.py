"""Whole step pages, rendered once and kept for the next patient whose page is the same.

Two patients at the same point of the questionnaire see the same step page but for their link
token (in its links and form actions) and their session's CSRF token. Most step pages are seen
like that: a step not answered yet, reached along the same steps. So a page is kept, per
application and process, with those two tokens replaced by marks, under everything else it is
made from (`views._page_key`); the next such page is the kept one with the patient's own tokens
put in.

Kept only when nothing on the page is something a patient typed: the page shows saved answers
(not a posted form, an error or a notice), each of its questions is unanswered or answered with
options, and the answers from other steps that the page's script is given are options chosen,
not numbers or text. So no name, link, token or typed answer is ever kept, and a page showing
them is rendered every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from flask import current_app, render_template
from flask_wtf.csrf import generate_csrf

from ..definition import model as m

MAX_PAGES = 256  # per application: about 25 KB each; emptied when full (no eviction order)
TOKEN_MARK = "\x00link\x00"  # never in a page: HTML has no NUL characters
CSRF_MARK = "\x00csrf\x00"
CHOSEN_TYPES = frozenset({"choice", "multi_choice", "yes_no"})

_lock = threading.Lock()


def chosen_only(q: m.Questionnaire, known: Mapping[str, Any]) -> bool:
    """Whether every value in `known` (question or value id -> value) is made of options chosen:
    a choice question's answer, or a score summed from such answers."""
    for ref in known:
        question = q.questions.get(ref)
        inputs = (ref,) if question is not None else q.value_inputs(ref)
        if any(q.questions[i].type not in CHOSEN_TYPES for i in inputs):
            return False
    return True


def render(
    template: str,
    key: Hashable | None,
    token: str,
    owner: object,
    context: Callable[[], dict[str, Any]],
) -> str:
    """`render_template(template, **context())`, or the page kept under `key` with this
    request's link `token` and CSRF token put in (`context` is then never called). `owner`: the
    questionnaire copy the page shows, told apart by identity; `key` None: never kept."""
    app = current_app
    csrf = generate_csrf()
    if key is None or app.jinja_env.auto_reload or not token or not csrf:
        return render_template(template, **context())
    kept: dict[Hashable, tuple[object, str]] = app.extensions.setdefault("screening_pages", {})
    key = (template, id(owner), key)
    found = kept.get(key)
    if found is not None and found[0] is owner:  # the same object, not a reused id
        return found[1].replace(TOKEN_MARK, token).replace(CSRF_MARK, csrf)
    html = render_template(template, **context())
    with _lock:
        if len(kept) >= MAX_PAGES:
            kept.clear()
        kept[key] = (owner, html.replace(token, TOKEN_MARK).replace(csrf, CSRF_MARK))
    return html


def forget() -> None:
    """Drop the kept pages of the current application (tests)."""
    with _lock:
        current_app.extensions.pop("screening_pages", None)
