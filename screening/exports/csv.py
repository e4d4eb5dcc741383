"""The clinicians' CSV export, line by line: pure, fed by `screening.domain.exporting`.

One row per screening: the screening's own columns, then a column per question id (the stored
value of each visible answer) and per computed value. Columns are keyed by question id, so
screenings answered under different versions of a questionnaire share one header without
shifting. A question or value whose id is also one of the screening's own columns
(`surgery_date`, say) is headed `answer:ID` (or `value:ID`), so that no two columns share a name.

The screening's own columns: `status` in the staff pages' words (Invited, Started, Finished,
Expired, Revoked); times in UTC (ISO 8601); `flags_raised`, each flag raised as
`id (urgency)` (`, withdrawn` when a later answer took it back), separated by `; `;
`flag_acknowledgements`, each acknowledgement that stands as `id TIME by EMAIL: note`,
separated by ` | `; `reviewed_at`, `reviewed_by` (an e-mail address) and `review_note`, empty
until a clinician marks the screening reviewed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from .. import codec
from ..scoring import Assessment

FIXED = (
    "reference", "patient_name", "date_of_birth", "mrn", "surgeon", "planned_surgery",
    "surgery_date", "status", "invited_at", "submitted_at", "questionnaire", "version", "tier",
    "total", "flags_raised", "flag_acknowledgements", "reviewed_at", "reviewed_by", "review_note",
    "modifiable_points", "red_flags", "factors",
)  # fmt: skip


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (=, +, -, @, tab or CR first)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def line(cells: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([spreadsheet_safe(codec.cell(c)) for c in cells])
    return out.getvalue()


def header(question_ids: list[str], value_ids: list[str]) -> str:
    return line(
        [
            *FIXED,
            *(f"answer:{i}" if i in FIXED else i for i in question_ids),
            *(f"value:{i}" if i in FIXED else i for i in value_ids),
        ]
    )


def row(
    screening: dict[str, Any],
    a: Assessment,
    question_ids: list[str],
    value_ids: list[str],
    submitted: bool,
) -> str:
    """One screening's line: `screening` holds its own columns (FIXED but the assessment's
    three, its flags and their acknowledgements included); `a` is its answers scored (points
    only for a `submitted` one)."""
    fixed = [screening[name] for name in FIXED[:-3]] + [
        a.modifiable_points if submitted else None,
        [r.flag.id for r in a.red_flags] if submitted else None,
        [r.factor.id for r in a.factors] if submitted else None,
    ]
    values = {**a.computed, **{k: r.score for k, r in a.instruments.items()}}
    return line(
        [*fixed, *(a.answers.get(i) for i in question_ids), *(values.get(i) for i in value_ids)]
    )
