"""A patient's screening as their pages see it: opened from the link, read once per request."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

from flask import request, session, url_for

from .. import i18n
from ..definition import model as m
from ..domain import answering, flags, links, questionnaires
from ..i18n import current_language
from ..models import Screening, utcnow
from ..scoring import Assessment, progress
from . import pages
from .blueprint import COPY_KEY, RETURN_CODE_KEY, SUBMITTED_KEY, IdentityNeeded, LinkProblem

DOUBLE_CLICK = dt.timedelta(minutes=2)


def may_see_result(screening: Screening) -> bool:
    """This browser sent the screening's answers (so it may see the result and the copy)."""
    return screening.id in session.get(SUBMITTED_KEY, [])


def may_have_copy(screening: Screening) -> bool:
    """This browser sent the screening's answers, or its holder confirmed who they are since
    (so it may download the patient's copy)."""
    return may_see_result(screening) or screening.id in session.get(COPY_KEY, [])


def allow_copy(screening: Screening) -> None:
    _remember(COPY_KEY, screening)


def just_submitted(screening: Screening) -> bool:
    return screening.submitted_at is not None and utcnow() - screening.submitted_at < DOUBLE_CLICK


def remember_submission(screening: Screening) -> None:
    _remember(SUBMITTED_KEY, screening)


def _remember(key: str, screening: Screening) -> None:
    """The screening's id added to this browser's list `key` (the last five kept)."""
    seen = [i for i in session.get(key, []) if i != screening.id][-4:]
    session[key] = [*seen, screening.id]


def find(token: str) -> Screening:
    """The screening of a link, whatever its status; the rest of the request speaks the
    patient's language. An unknown link, or one a newer link replaced, is a LinkProblem page."""
    screening = links.find(token)
    if screening is None:
        earlier = links.replaced(token)
        if earlier is not None:  # told in the patient's language that a newer link replaced it
            i18n.use_language(questionnaires.patient_language(earlier))
            raise LinkProblem(410, "replaced")
        raise LinkProblem(404, "unknown")
    i18n.use_language(questionnaires.patient_language(screening))
    return screening


def admitted(screening: Screening, submitted_ok: bool = False) -> Screening:
    """`screening` if its link may be used now (with `submitted_ok`, a submitted one by the
    browser that submitted it); a LinkProblem page otherwise."""
    status = screening.effective_status()
    if status == "submitted":
        if submitted_ok and may_see_result(screening):
            return screening
        raise LinkProblem(410, "submitted", crisis=self_harm_stands(screening))
    if status in ("expired", "revoked"):
        raise LinkProblem(410, status)
    return screening


def self_harm_stands(screening: Screening) -> bool:
    """A flag about harm to self was raised and not taken back."""
    return any(e.self_harm and e.withdrawn_at is None for e in flags.events(screening))


def tell_the_desk(screening: Screening) -> bool:
    """A flag that needs a doctor today (or at once) was raised and not taken back: a patient on
    a clinic device is asked to tell the front desk now."""
    return any(
        e.urgency in ("emergency", "same_day") and e.withdrawn_at is None
        for e in flags.events(screening)
    )


def open_screening(token: str, *, submitted_ok: bool = False) -> Screening:
    return admitted(find(token), submitted_ok)


def trusted(screening: Screening, token: str) -> Screening:
    """`screening` if its link may show and change the saved answers; else the patient is sent
    to the identity check (IdentityNeeded), before anything saved is read."""
    if links.check_needed(screening):
        raise IdentityNeeded(token)
    return screening


def open_context(token: str) -> Context:
    """The open screening of a link with its saved answers and finished steps (once the link's
    holder may see them)."""
    screening = trusted(open_screening(token), token)
    return Context(screening, answering.saved_answers(screening), answering.steps_done(screening))


def show_return_code(screening: Screening) -> str | None:
    """The return code made at this browser's last save, once (then forgotten)."""
    kept = session.get(RETURN_CODE_KEY)
    if not kept or kept.get("screening_id") != screening.id:
        return None
    session.pop(RETURN_CODE_KEY)
    return kept.get("code")


class Context:
    """Everything a patient page needs about one screening, read once per request."""

    def __init__(
        self,
        screening: Screening,
        answers: dict[str, Any],
        done: set[str],
        base_q: m.Questionnaire | None = None,
    ):
        self.screening = screening
        # The clinic's questionnaire (scoring, submission) and the patient's copy of its texts.
        self.base_q = base_q or questionnaires.of(screening)
        self.q = self.base_q.localized(current_language())
        self.answers = answers
        self.progress = progress(self.q, answers, done)

    def after_saving(self, step_id: str, changes: dict[str, Any]) -> Context:
        """This screening once `answering.save_step` stored `changes` for `step_id` (what the
        database now holds, without reading it again)."""
        answers = {k: v for k, v in {**self.answers, **changes}.items() if v is not None}
        done = set(self.progress.done) | {step_id}
        return Context(self.screening, answers, done, self.base_q)

    @property
    def token(self) -> str:
        return request.view_args["token"]

    def step_url(self, step_id: str, **kwargs: Any) -> str:
        return url_for("patient.step", token=self.token, step_id=step_id, **kwargs)

    @cached_property
    def other_languages(self) -> list[tuple[str, str]]:
        """(code, name) of the languages the patient may switch to."""
        here = current_language()
        return [
            (code, i18n.language_name(code))
            for code in questionnaires.patient_languages(self.base_q)
            if code != here
        ]

    def continue_url(self) -> str:
        first = self.progress.first_unfinished
        if first is None:
            return url_for("patient.review", token=self.token)
        return self.step_url(first)

    def step_links(self, current: str | None) -> list[dict[str, Any]]:
        return pages.step_links(self.q, self.progress, self.step_url, current)


def raised_flags(assessment: Assessment) -> list[m.RedFlag]:
    """The red flags the answers raise, most urgent first."""
    flags = [r.flag for r in assessment.red_flags]
    return sorted(flags, key=lambda f: m.URGENCIES.index(f.urgency))
