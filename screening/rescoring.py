"""A submitted screening re-scored under another version of its questionnaire, compared with the
assessment of the version it was answered under. Pure: no Flask, no database.

The screening's own record never changes: it stays pinned to the definition it was answered against.
This module only answers "what would the current version say about the same answers?":

    original = score(pinned, saved_answers, today=submitted)
    rescored = rescore(current, original, today=submitted)
    comparison = compare(original, rescored)

`rescore` starts from the answers the patient was shown and gave (hidden answers kept for the
record are not revived by a new version's conditions), and leaves out answers to questions the new
version no longer has, so that a removed question is reported as such, not as an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .definition import model as m
from .scoring import Assessment, score


@dataclass(frozen=True)
class Version:
    id: str
    version: str
    title: str
    content_hash: str

    @property
    def name(self) -> str:
        return f"{self.id} {self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "content_hash": self.content_hash}


@dataclass(frozen=True)
class TierRef:
    id: str
    label: str
    # Incomplete answers have no tier: this is the tier their points reach, a lower bound.
    at_least: bool = False

    @property
    def text(self) -> str:
        return f"at least {self.label} (incomplete)" if self.at_least else self.label

    @staticmethod
    def of(a: Assessment) -> TierRef:
        return TierRef(a.reached_tier.id, a.reached_tier.label, not a.complete)


@dataclass(frozen=True)
class AxisRef:
    id: str
    label: str
    points: int
    max: int
    tier: TierRef

    @staticmethod
    def all_of(a: Assessment) -> tuple[AxisRef, ...]:
        return tuple(
            AxisRef(
                r.id,
                r.axis.label,
                r.points,
                r.max,
                TierRef(r.reached.id, r.reached.label, not a.complete),
            )
            for r in a.axes
        )

    def to_json(self) -> dict[str, Any]:
        tier = None if self.tier.at_least else self.tier.id
        return {"id": self.id, "points": self.points, "max": self.max, "tier": tier}


@dataclass(frozen=True)
class FactorChange:
    """A risk factor that applies under one version only, or under both with other points."""

    id: str
    label: str
    category: str
    points_before: int | None  # None: does not apply under the original version
    points_after: int | None  # None: does not apply under the new version

    @property
    def kind(self) -> str:
        if self.points_before is None:
            return "added"
        if self.points_after is None:
            return "removed"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "category": self.category,
            "points_before": self.points_before,
            "points_after": self.points_after,
        }


@dataclass(frozen=True)
class FlagChange:
    id: str
    title: str
    urgency: str
    clinician_message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "urgency": self.urgency,
            "clinician_message": self.clinician_message,
        }


@dataclass(frozen=True)
class InstrumentChange:
    """An instrument whose score or band differs (None: no score, or not in that version)."""

    id: str
    label: str
    score_before: int | None
    band_before: str | None
    score_after: int | None
    band_after: str | None
    in_before: bool = True
    in_after: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "before": {"score": self.score_before, "band": self.band_before}
            if self.in_before
            else None,
            "after": {"score": self.score_after, "band": self.band_after}
            if self.in_after
            else None,
        }


@dataclass(frozen=True)
class AlertChange:
    id: str
    clinician_message: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "clinician_message": self.clinician_message}


@dataclass(frozen=True)
class QuestionRef:
    id: str
    label: str
    step_title: str
    required: bool
    detail: str | None = None  # why an answer cannot be used, for `unusable_answers`

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "step": self.step_title,
            "required": self.required,
        }
        if self.detail is not None:
            data["detail"] = self.detail
        return data


@dataclass(frozen=True)
class Comparison:
    before: Version
    after: Version
    tier_before: TierRef
    tier_after: TierRef
    axes_before: tuple[AxisRef, ...]
    axes_after: tuple[AxisRef, ...]
    total_before: int
    total_after: int
    max_before: int
    max_after: int
    modifiable_before: int
    modifiable_after: int
    complete_before: bool
    complete_after: bool
    factors_added: tuple[FactorChange, ...]
    factors_removed: tuple[FactorChange, ...]
    factors_changed: tuple[FactorChange, ...]  # applies under both, with other points
    red_flags_before: tuple[str, ...]  # ids, under each version
    red_flags_after: tuple[str, ...]
    red_flags_added: tuple[FlagChange, ...]
    red_flags_removed: tuple[FlagChange, ...]
    instruments_changed: tuple[InstrumentChange, ...]
    domain_alerts_added: tuple[AlertChange, ...]
    domain_alerts_removed: tuple[AlertChange, ...]
    # Questions the new version shows for these answers that the patient was never shown.
    never_asked: tuple[QuestionRef, ...]
    # Questions the patient answered that the new version no longer has.
    no_longer_asked: tuple[QuestionRef, ...]
    # Questions the patient answered that the new version has but would not show (so ignores).
    no_longer_shown: tuple[QuestionRef, ...]
    # Answers the new version cannot use (an option removed, a bound moved), with why.
    unusable_answers: tuple[QuestionRef, ...]
    # True when anything about this patient's result or questions differs (a new version
    # number alone, or a new highest possible total alone, is not a change of the result).
    changed: bool = field(default=False)

    @property
    def same_definition(self) -> bool:
        return self.before.content_hash == self.after.content_hash

    @property
    def tier_changed(self) -> bool:
        return self.tier_before != self.tier_after

    @property
    def axis_rows(self) -> list[tuple[str, AxisRef | None, AxisRef | None]]:
        """(label, before, after) for each axis of either version, in the newer's order."""
        before = {a.id: a for a in self.axes_before}
        after = {a.id: a for a in self.axes_after}
        ids = [*after, *(i for i in before if i not in after)]
        return [((after.get(i) or before[i]).label, before.get(i), after.get(i)) for i in ids]

    @property
    def total_changed(self) -> bool:
        return self.total_before != self.total_after

    @property
    def factor_changes(self) -> tuple[FactorChange, ...]:
        return (*self.factors_added, *self.factors_removed, *self.factors_changed)

    def to_json(self) -> dict[str, Any]:
        """A stable JSON shape (the contract of `screening rescore --format json`)."""
        return {
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "same_definition": self.same_definition,
            "changed": self.changed,
            "tier": {
                "before": None if self.tier_before.at_least else self.tier_before.id,
                "after": None if self.tier_after.at_least else self.tier_after.id,
                "at_least": {"before": self.tier_before.id, "after": self.tier_after.id},
            },
            "axes": {
                "before": [a.to_json() for a in self.axes_before],
                "after": [a.to_json() for a in self.axes_after],
            },
            "total": {"before": self.total_before, "after": self.total_after},
            "max_total": {"before": self.max_before, "after": self.max_after},
            "modifiable_points": {
                "before": self.modifiable_before,
                "after": self.modifiable_after,
            },
            "complete": {"before": self.complete_before, "after": self.complete_after},
            "factors": {
                "added": [f.to_json() for f in self.factors_added],
                "removed": [f.to_json() for f in self.factors_removed],
                "changed": [f.to_json() for f in self.factors_changed],
            },
            "red_flags": {
                "before": list(self.red_flags_before),
                "after": list(self.red_flags_after),
                "added": [f.to_json() for f in self.red_flags_added],
                "removed": [f.to_json() for f in self.red_flags_removed],
            },
            "instruments": [i.to_json() for i in self.instruments_changed],
            "domain_alerts": {
                "added": [a.to_json() for a in self.domain_alerts_added],
                "removed": [a.to_json() for a in self.domain_alerts_removed],
            },
            "questions": {
                "never_asked": [r.to_json() for r in self.never_asked],
                "no_longer_asked": [r.to_json() for r in self.no_longer_asked],
                "no_longer_shown": [r.to_json() for r in self.no_longer_shown],
                "unusable_answers": [r.to_json() for r in self.unusable_answers],
            },
        }


# --- re-scoring and comparing -----------------------------------------------------------------


def rescore(q: m.Questionnaire, original: Assessment, today: dt.date | None = None) -> Assessment:
    """The answers of `original` (those its patient was shown) scored under `q`.

    Answers to questions `q` does not have are left out (`compare` lists them as no longer
    asked). Pass the day of submission as `today`, so that date bounds such as `min: today` are
    judged as on that day, as they were for the original assessment.
    """
    answers = {k: v for k, v in original.answers.items() if k in q.questions}
    return score(q, answers, today)


def _version(q: m.Questionnaire) -> Version:
    return Version(q.id, q.version, q.title, q.content_hash)


def _question(q: m.Questionnaire, question_id: str, detail: str | None = None) -> QuestionRef:
    question = q.questions[question_id]
    return QuestionRef(
        question.id, question.label, q.step_by_id[question.step_id].title, question.required, detail
    )


def _flag(flag: m.RedFlag) -> FlagChange:
    return FlagChange(
        flag.id, flag.id.replace("_", " ").capitalize(), flag.urgency, flag.clinician_message
    )


def _in_order(q: m.Questionnaire, ids: set[str]) -> list[str]:
    return [question_id for question_id in q.questions if question_id in ids]


def compare(original: Assessment, rescored: Assessment) -> Comparison:
    """What differs between an assessment and the same answers scored under another version."""
    old_q, new_q = original.questionnaire, rescored.questionnaire

    before = {r.factor.id: r.factor for r in original.factors}
    after = {r.factor.id: r.factor for r in rescored.factors}
    added = tuple(
        FactorChange(f.id, f.label, f.category, None, f.points)
        for i, f in after.items()
        if i not in before
    )
    removed = tuple(
        FactorChange(f.id, f.label, f.category, f.points, None)
        for i, f in before.items()
        if i not in after
    )
    changed = tuple(
        FactorChange(f.id, after[i].label, after[i].category, f.points, after[i].points)
        for i, f in before.items()
        if i in after and f.points != after[i].points
    )

    flags_before = {r.flag.id: r.flag for r in original.red_flags}
    flags_after = {r.flag.id: r.flag for r in rescored.red_flags}
    flags_added = tuple(_flag(f) for i, f in flags_after.items() if i not in flags_before)
    flags_removed = tuple(_flag(f) for i, f in flags_before.items() if i not in flags_after)

    instruments = []
    for instrument_id in [
        *original.instruments,
        *(i for i in rescored.instruments if i not in original.instruments),
    ]:
        old = original.instruments.get(instrument_id)
        new = rescored.instruments.get(instrument_id)
        if old is not None and new is not None and (old.score, old.band) == (new.score, new.band):
            continue
        label = (new or old).instrument.label
        instruments.append(
            InstrumentChange(
                instrument_id,
                label,
                old.score if old else None,
                old.band if old else None,
                new.score if new else None,
                new.band if new else None,
                in_before=old is not None,
                in_after=new is not None,
            )
        )

    alerts_before = {a.id: a for a in original.domain_alerts}
    alerts_after = {a.id: a for a in rescored.domain_alerts}
    alerts_added = tuple(
        AlertChange(a.id, a.clinician_message)
        for i, a in alerts_after.items()
        if i not in alerts_before
    )
    alerts_removed = tuple(
        AlertChange(a.id, a.clinician_message)
        for i, a in alerts_before.items()
        if i not in alerts_after
    )

    unanswered_now = {
        i for i in rescored.visible if i not in rescored.answers and i not in rescored.errors
    }
    never_asked = tuple(
        _question(new_q, i) for i in _in_order(new_q, unanswered_now - original.visible)
    )
    answered = set(original.answers)
    no_longer_asked = tuple(
        _question(old_q, i) for i in _in_order(old_q, answered - set(new_q.questions))
    )
    no_longer_shown = tuple(
        _question(new_q, i)
        for i in _in_order(new_q, (answered & set(new_q.questions)) - rescored.visible)
    )
    unusable = tuple(
        _question(new_q, i, rescored.errors[i]) for i in _in_order(new_q, set(rescored.errors))
    )

    result_differs = (
        TierRef.of(original) != TierRef.of(rescored)
        or original.total != rescored.total
        or original.modifiable_points != rescored.modifiable_points
        or original.complete != rescored.complete
    )
    return Comparison(
        before=_version(old_q),
        after=_version(new_q),
        tier_before=TierRef.of(original),
        tier_after=TierRef.of(rescored),
        axes_before=AxisRef.all_of(original),
        axes_after=AxisRef.all_of(rescored),
        total_before=original.total,
        total_after=rescored.total,
        max_before=original.max_total,
        max_after=rescored.max_total,
        modifiable_before=original.modifiable_points,
        modifiable_after=rescored.modifiable_points,
        complete_before=original.complete,
        complete_after=rescored.complete,
        factors_added=added,
        factors_removed=removed,
        factors_changed=changed,
        red_flags_before=tuple(flags_before),
        red_flags_after=tuple(flags_after),
        red_flags_added=flags_added,
        red_flags_removed=flags_removed,
        instruments_changed=tuple(instruments),
        domain_alerts_added=alerts_added,
        domain_alerts_removed=alerts_removed,
        never_asked=never_asked,
        no_longer_asked=no_longer_asked,
        no_longer_shown=no_longer_shown,
        unusable_answers=unusable,
        changed=bool(
            result_differs
            or added
            or removed
            or changed
            or flags_added
            or flags_removed
            or instruments
            or alerts_added
            or alerts_removed
            or never_asked
            or no_longer_asked
            or no_longer_shown
            or unusable
        ),
    )
