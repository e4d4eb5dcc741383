"""What clinicians do with a screening: look at it, acknowledge its red flags, mark it
reviewed, and compare it with the questionnaire now in force."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .. import rescoring
from ..definition import DefinitionError, Questionnaire
from ..models import Screening, User, utcnow
from ..scoring import Assessment
from ..text import has_control_characters, kept_note
from . import NotAllowed, audit, clinic_entries, documents, questionnaires
from .answering import assessment_of, judged_on


def viewed(screening: Screening, actor: User | None) -> None:
    audit.record("screening_viewed", user=actor, screening_id=screening.id)


def acknowledge(screening: Screening, actor: User) -> bool:
    """Acknowledge the screening's red flags (False when there are none open)."""
    if not screening.has_red_flag or screening.acknowledged_at is not None:
        return False
    screening.acknowledged_at, screening.acknowledged_by_id = utcnow(), actor.id
    audit.record("red_flag_acknowledged", user=actor, screening_id=screening.id)
    return True


REVIEW_NOTE_LENGTH = 2000


def review_note(note: str | None) -> str | None:
    """A review note as kept: format characters taken out, spaces and line breaks made single
    spaces; None when empty. NotAllowed for a control character or a note too long."""
    kept = kept_note(note)
    if kept and has_control_characters(kept):
        raise NotAllowed("Remove the control characters (such as a NUL) from the note.")
    if kept and len(kept) > REVIEW_NOTE_LENGTH:
        raise NotAllowed(f"Use at most {REVIEW_NOTE_LENGTH} characters for the note.")
    return kept


def mark_reviewed(screening: Screening, actor: User, note: str | None = None) -> None:
    """A clinician marks a submitted screening reviewed: who, when, and an optional note (the
    audit event says only whether there is one, never what it says)."""
    if screening.status != "submitted":
        raise NotAllowed("Only a submitted screening can be reviewed.")
    if screening.reviewed_at is not None:
        raise NotAllowed("This screening is already marked reviewed.")
    kept = review_note(note)
    screening.reviewed_at, screening.reviewed_by_id = utcnow(), actor.id
    screening.reviewed_note = kept
    audit.record("screening_reviewed", user=actor, screening_id=screening.id,
                 detail="with a note" if kept else None)  # fmt: skip
    documents.request(screening, "summary", "reviewed", actor)  # the review is printed on it


def undo_review(screening: Screening, actor: User) -> None:
    """Take the mark "reviewed" back: who, when and the note are cleared; the audit log keeps
    who had marked it and when."""
    if screening.reviewed_at is None:
        raise NotAllowed("This screening is not marked reviewed.")
    detail = f"reviewed {screening.reviewed_at:%Y-%m-%dT%H:%MZ} by user {screening.reviewed_by_id}"
    screening.reviewed_at = screening.reviewed_by_id = screening.reviewed_note = None
    audit.record("screening_review_undone", user=actor, screening_id=screening.id, detail=detail)
    documents.request(screening, "summary", "review_undone", actor)


@dataclass(frozen=True)
class Rescored:
    """A submitted screening beside its answers re-scored under another version."""

    pinned: Questionnaire
    current: Questionnaire
    original: Assessment
    rescored: Assessment
    comparison: rescoring.Comparison

    @property
    def same_version(self) -> bool:
        return self.current.content_hash == self.pinned.content_hash


def rescore(
    screening: Screening, current: Questionnaire, actor: User | None, how: str = ""
) -> Rescored:
    """Read-only: the screening stays pinned to the version it was answered under, its stored
    assessment and PDF are not touched; only the look is audited. Date bounds (`min: today`)
    are judged on the day of submission for both, as the original assessment was."""
    if screening.status != "submitted":
        raise NotAllowed(f"screening {screening.id} is not submitted (it is {screening.status})")
    pinned = questionnaires.of(screening)
    original = assessment_of(screening, pinned)
    rescored = rescoring.rescore(
        current, original, judged_on(screening), clinic_entries.of(screening)
    )
    audit.record(
        "screening_rescored", user=actor, screening_id=screening.id,
        detail=f"{pinned.version} under {current.version}{how}",
    )  # fmt: skip
    return Rescored(pinned, current, original, rescored, rescoring.compare(original, rescored))


def rescore_under_in_force(screening: Screening, actor: User | None) -> Rescored:
    """`rescore` under the file in force (read, not stored); DefinitionError, audited, when that
    file cannot be loaded."""
    try:
        current = questionnaires.in_force()
    except DefinitionError:
        audit.record(
            "screening_rescored", user=actor, screening_id=screening.id,
            detail="the current questionnaire could not be loaded",
        )  # fmt: skip
        raise
    return rescore(screening, current, actor)


def stored_matches(screening: Screening, original: Assessment) -> bool:
    """Whether the stored assessment is what the pinned version gives (it should be)."""
    return json.loads(json.dumps(original.to_json(), default=str)) == screening.assessment
