"""What clinicians do with a screening: look at it, acknowledge its red flags, mark it
reviewed, and compare it with the questionnaire now in force."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .. import rescoring
from ..definition import DefinitionError, Questionnaire
from ..models import Screening, User, utcnow
from ..scoring import Assessment
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


def mark_reviewed(screening: Screening, actor: User) -> None:
    if screening.status != "submitted":
        raise NotAllowed("Only a submitted screening can be reviewed.")
    screening.reviewed_at, screening.reviewed_by_id = utcnow(), actor.id
    audit.record("screening_reviewed", user=actor, screening_id=screening.id)
    documents.request(screening, "summary", "reviewed", actor)


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
