"""The clinicians' CSV export of the screenings a dashboard filter selects.

One row per screening; a column per question id (the stored value of each visible answer) and per
computed value, after the screening's own columns. Columns are keyed by question id, so screenings
answered under different versions of a questionnaire share one header without shifting: the
versions are taken in the order they were first put in force, so the columns of the earlier ones
keep their order and each later version's new questions come after them; a question a later
version removed keeps its column (blank for the rows answered under the later version). A question
or value whose id is also the name of one of the screening's own columns (`surgery_date`, say) is
headed `answer:ID` (or `value:ID`), so that no two columns share a name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from .. import services
from ..definition.conditions import MISSING
from ..extensions import db
from ..models import Answer, Definition, Screening
from ..scoring import score

FIXED = (
    "reference", "patient_name", "date_of_birth", "mrn", "surgeon", "planned_surgery",
    "surgery_date", "status", "invited_at", "submitted_at", "questionnaire", "version", "tier",
    "total", "modifiable_points", "red_flags", "factors",
)  # fmt: skip
BATCH = 500


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (=, +, -, @, tab or CR first)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return services.to_json_value(value)


def _columns(where: Any) -> tuple[list[str], list[str]]:
    """Question ids and computed-value ids of every questionnaire version in the selection, the
    versions in the order they were first stored (never by hash, which would put a new version's
    columns before the old ones' on a whim)."""
    definitions = db.session.scalars(
        sa.select(Definition)
        .where(Definition.content_hash.in_(sa.select(Screening.definition_hash).where(where)))
        .order_by(Definition.created_at, Definition.content_hash)
    ).all()
    questions: dict[str, None] = {}
    computed: dict[str, None] = {}
    for definition in definitions:
        q = services.questionnaire_for(definition)
        questions.update(dict.fromkeys(q.questions))
        computed.update(dict.fromkeys([c.id for c in q.computed] + [i.id for i in q.instruments]))
    return list(questions), list(computed)


def _line(cells: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([spreadsheet_safe(_cell(c)) for c in cells])
    return out.getvalue()


def count(where: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Screening).where(where))


def lines(where: Any) -> Iterator[str]:
    """The CSV, line by line, reading the screenings in batches."""
    question_ids, value_ids = _columns(where)
    yield _line(
        [
            *FIXED,
            *(f"answer:{i}" if i in FIXED else i for i in question_ids),
            *(f"value:{i}" if i in FIXED else i for i in value_ids),
        ]
    )
    last_id = 0
    while True:
        batch = db.session.scalars(
            sa.select(Screening)
            .where(where, Screening.id > last_id)
            .order_by(Screening.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        last_id = batch[-1].id
        answers: dict[int, dict[str, Any]] = {s.id: {} for s in batch}
        rows = db.session.execute(
            sa.select(Answer.screening_id, Answer.question_id, Answer.value).where(
                Answer.screening_id.in_(list(answers))
            )
        )
        for screening_id, question_id, value in rows:
            answers[screening_id][question_id] = value
        for s in batch:
            # Judged on the day of submission, as the stored assessment was: a date answer with
            # `min: today` (the planned surgery) is not dropped once that day has passed.
            a = score(services.questionnaire_for(s), answers[s.id], services.judged_on(s))
            fixed = [
                s.reference, s.patient_name, s.patient_dob, s.patient_mrn, s.surgeon,
                s.planned_surgery, s.surgery_date, s.effective_status(),
                s.created_at.isoformat(timespec="seconds"),
                s.submitted_at.isoformat(timespec="seconds") if s.submitted_at else None,
                s.questionnaire_id, s.questionnaire_version,
                s.tier, s.total, a.modifiable_points if s.status == "submitted" else None,
                [r.flag.id for r in a.red_flags] if s.status == "submitted" else None,
                [r.factor.id for r in a.factors] if s.status == "submitted" else None,
            ]  # fmt: skip
            values = {**a.computed, **{k: r.score for k, r in a.instruments.items()}}
            yield _line(
                [*fixed, *(a.answers.get(i, MISSING) for i in question_ids),
                 *(values.get(i) for i in value_ids)]
            )  # fmt: skip
        db.session.expunge_all()  # keep memory flat on a large export
