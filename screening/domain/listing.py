"""The screenings list, as the dashboard, the CSV export and the JSON API select it: filters,
search, sorting and pagination, served by indexes (fast on 100,000 rows). Each page shown is
audited with its filters and the ids of the screenings on it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import defer, lazyload
from werkzeug.datastructures import MultiDict

from .. import clock, codec
from ..definition.conditions import MISSING
from ..definition.model import URGENCIES, URGENCY_NAMES
from ..extensions import db
from ..models import (
    OPEN_STATUSES,
    STATUSES,
    Answer,
    FlagAcknowledgement,
    FlagEvent,
    Screening,
    User,
    name_key,
    utcnow,
)
from ..scoring import AnswerError, whole_number
from . import audit, questionnaires, sites

PAGE_SIZE = 25
SORTS = {
    "created": Screening.created_at,
    "submitted": Screening.submitted_at,
    "name": sa.func.lower(Screening.patient_name),
    "surgery": Screening.surgery_date,
    "total": Screening.total,
}
CLINICIAN_SORTS = {"total"}


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass
class Filters:
    status: str = ""
    tier: str = ""
    flag: str = ""  # "", "yes", "open" (not yet acknowledged)
    reviewed: str = ""  # "", "yes" (marked reviewed), "no" (submitted, not yet reviewed)
    surgeon: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    # Not on the dashboard's form (the JSON API filters on them too).
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    q: str = ""
    sort: str = "created"
    order: str = "desc"
    page: int = 1
    problems: list[str] = field(default_factory=list)
    # The time zone whose days `date_from`/`date_to` (and `submitted_*`) are: the clinic's on
    # the dashboard (its dates are shown in it), UTC for the API.
    zone: str = "UTC"

    @classmethod
    def from_args(
        cls, args: MultiDict, clinician: bool, tiers: tuple[str, ...], zone: str = "UTC"
    ) -> Filters:
        """The filters of a query string; `tiers`: the ids the tier filter takes (the
        questionnaire in force's); `zone`: the time zone of its days."""
        f = cls(zone=zone)
        f.status = args.get("status", "") if args.get("status", "") in STATUSES else ""
        if clinician:
            f.tier = args.get("tier", "") if args.get("tier", "") in tiers else ""
            f.flag = args.get("flag", "") if args.get("flag", "") in ("yes", "open") else ""
            f.reviewed = args.get("reviewed", "") if args.get("reviewed") in REVIEWED else ""
        # Without NUL, which PostgreSQL cannot compare (the list would fail, not find nothing).
        f.surgeon = args.get("surgeon", "").replace("\x00", "").strip()[:200]
        f.q = args.get("q", "").replace("\x00", "").strip()[:200]
        for key in ("date_from", "date_to"):
            raw = args.get(key, "").strip()
            value = _date(raw)
            if raw and value is None:
                f.problems.append(f"'{raw}' is not a date like 2026-01-31; it was ignored.")
            setattr(f, key, value)
        sort = args.get("sort", "created")
        if sort in SORTS and (clinician or sort not in CLINICIAN_SORTS):
            f.sort = sort
        f.order = "asc" if args.get("order") == "asc" else "desc"
        # Digits only (int() would take "1_0"), clamped; anything else is the first page.
        f.page = max(1, min(whole_number(args.get("page", "1")) or 1, 100_000))
        return f

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for a link to the same list with some changes."""
        values = {
            "status": self.status,
            "tier": self.tier,
            "flag": self.flag,
            "reviewed": self.reviewed,
            "surgeon": self.surgeon,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "q": self.q,
            "sort": self.sort,
            "order": self.order,
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


REVIEWED = {"yes": "Reviewed", "no": "Finished, not yet reviewed"}


@dataclass
class Page:
    rows: list[Screening]
    total: int
    page: int
    pages: int


def status_condition(status: str, now: dt.datetime) -> Any:
    """The effective status: an open screening whose link ran out counts as expired."""
    open_ = Screening.status.in_(OPEN_STATUSES)
    if status == "expired":
        return sa.or_(Screening.status == "expired", sa.and_(open_, Screening.expires_at <= now))
    if status in OPEN_STATUSES:
        return sa.and_(Screening.status == status, Screening.expires_at > now)
    return Screening.status == status


NULLABLE_SORTS = {"submitted", "surgery", "total"}


def condition(
    filters: Filters, clinician: bool, reader: sites.Holder | None, now: dt.datetime | None = None
) -> Any:
    """The WHERE clause of the list for these filters (tier and flags only for clinicians),
    within the sites of `reader` (a member of staff or an API key)."""
    now = now or utcnow()
    conditions = [sites.condition(reader)]
    if filters.status:
        conditions.append(status_condition(filters.status, now))
    if clinician and filters.tier:
        conditions.append(Screening.tier == filters.tier)
    if clinician and filters.flag:
        conditions.append(Screening.has_red_flag.is_(True))
        if filters.flag == "open":
            conditions.append(Screening.acknowledged_at.is_(None))
    if clinician and filters.reviewed == "yes":
        conditions.append(Screening.reviewed_at.is_not(None))
    elif clinician and filters.reviewed == "no":
        conditions.append(sa.and_(Screening.status == "submitted", Screening.reviewed_at.is_(None)))
    if filters.surgeon:
        conditions.append(Screening.surgeon == filters.surgeon)
    conditions += _day_range(Screening.created_at, filters.date_from, filters.date_to, filters.zone)
    conditions += _day_range(
        Screening.submitted_at, filters.submitted_from, filters.submitted_to, filters.zone
    )
    if filters.q:
        key = name_key(filters.q)
        # A prefix as a range on the byte-ordered key: an index serves it on every database.
        conditions.append(
            sa.or_(
                sa.and_(Screening.name_key >= key, Screening.name_key < key + "\U0010ffff"),
                Screening.patient_mrn == filters.q,
            )
        )
    return sa.and_(sa.true(), *conditions)


def _day_range(
    column: Any, first: dt.date | None, last: dt.date | None, zone: str = "UTC"
) -> list[Any]:
    """`column` on the days from `first` to `last` (both included), days of `zone`."""
    conditions = []
    if first and first == dt.date.min:  # the first day there is (ahead of UTC: before year 1)
        conditions.append(column.is_not(None))
    elif first:
        conditions.append(column >= clock.day_start(first, zone))
    if last and last == dt.date.max:  # the last day there is: no end to compare with
        conditions.append(column.is_not(None))
    elif last:
        conditions.append(column < clock.day_start(last + dt.timedelta(days=1), zone))
    return conditions


def ordering(filters: Filters) -> list[Any]:
    """ORDER BY for the chosen sort, with the id as the tie-breaker (a total order)."""
    column = SORTS[filters.sort]
    ascending = filters.order == "asc"
    first = column.asc() if ascending else column.desc()
    if filters.sort in NULLABLE_SORTS:
        first = first.nulls_last()
    return [first, Screening.id.asc() if ascending else Screening.id.desc()]


def search(filters: Filters, clinician: bool, actor: User, now: dt.datetime | None = None) -> Page:
    """One page of the list (a page past the last shows the last), within the actor's sites,
    audited."""
    where = condition(filters, clinician, actor, now)
    total = count(where)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    listed = select_page(
        where, ordering(filters), clinician, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    audit.record(
        "screenings_listed", user=actor,
        detail=f"page {page}, {len(listed)} of {total}; {described(filters)}; "
        f"ids {id_ranges(s.id for s in listed)}",
    )  # fmt: skip
    return Page(listed, total, page, pages)


def described(filters: Filters) -> str:
    """The filters and the order, for the audit log: a search and a surgeon by their length
    only (a search may be a patient's name or MRN; the log holds no names)."""
    parts = [f"{key}={getattr(filters, key)}" for key in ("status", "tier", "flag", "reviewed")
             if getattr(filters, key)]  # fmt: skip
    for key, label in (("surgeon", "surgeon"), ("q", "search")):
        if getattr(filters, key):
            parts.append(f"{label} ({len(getattr(filters, key))} chars)")
    for key in ("date_from", "date_to", "submitted_from", "submitted_to"):
        if getattr(filters, key):
            parts.append(f"{key}={getattr(filters, key).isoformat()}")
    parts.append(f"sort={filters.sort} {filters.order}")
    return " ".join(parts)


def id_ranges(ids: Any) -> str:
    """Ids, sorted, as ranges: `3-7,12` ('-' for none)."""
    ranges: list[list[int]] = []
    for ident in sorted(set(ids)):
        if ranges and ident == ranges[-1][1] + 1:
            ranges[-1][1] = ident
        else:
            ranges.append([ident, ident])
    return ",".join(f"{a}-{b}" if b > a else f"{a}" for a, b in ranges) or "-"


def select_page(
    where: Any, order: list[Any], flagged_first: bool, limit: int, offset: int
) -> list[Screening]:
    """`limit` rows from `offset` of the list. With `flagged_first` (clinicians), red-flagged
    submissions not yet acknowledged stand first, then the rest, each part in the chosen order
    and served by an index."""
    if not flagged_first:
        return rows(where, order, limit, offset)
    # The list as if ordered by "unacknowledged red flag first", read as two index-served parts:
    # the few flagged rows, then the rest shifted by their number.
    flagged = sa.and_(Screening.has_red_flag.is_(True), Screening.acknowledged_at.is_(None))
    flagged_total = count(sa.and_(where, flagged))
    listed: list[Screening] = []
    if offset < flagged_total:
        listed = rows(sa.and_(where, flagged), order, limit, offset)
    rest_offset = max(0, offset - flagged_total)
    if len(listed) < limit:
        listed += rows(sa.and_(where, sa.not_(flagged)), order, limit - len(listed), rest_offset)
    return listed


def count(where: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Screening).where(where))


def rows(where: Any, ordering: list[Any], limit: int, offset: int) -> list[Screening]:
    return list(
        db.session.scalars(
            sa.select(Screening)
            .where(where)
            .order_by(*ordering)
            .limit(limit)
            .offset(offset)
            # The list shows neither the definition nor the assessment: don't fetch them.
            .options(lazyload(Screening.definition), defer(Screening.assessment))
        )
    )


def surgeons(reader: sites.Holder | None) -> list[str]:
    """The surgeons named in the screenings `reader` sees, for the list's filter."""
    return list(
        db.session.scalars(
            sa.select(Screening.surgeon)
            .where(Screening.surgeon.is_not(None), sites.condition(reader))
            .group_by(Screening.surgeon)
            .order_by(Screening.surgeon)
            .limit(200)
        )
    )


@dataclass(frozen=True)
class FlagSummary:
    """A listed screening's red flags in a line: the most urgent standing one, how many more,
    and whether any is still open (not acknowledged)."""

    urgency: str
    title: str
    more: int
    open: bool

    @property
    def text(self) -> str:
        return f"{URGENCY_NAMES[self.urgency]}: {self.title}"


def flag_summaries(listed: list[Screening]) -> dict[int, FlagSummary]:
    """The red-flag summary of each listed screening with a red flag, by id, in one query for
    the page. A flag stands as `has_red_flag` counts it (flags.py): raised and not withdrawn,
    or withdrawn but never acknowledged. Each flag is named as its questionnaire version names
    it (the staff page's name), else by its id spelled out."""
    flagged = {s.id: s for s in listed if s.has_red_flag}
    if not flagged:
        return {}
    acknowledged = (
        sa.exists()
        .where(
            FlagAcknowledgement.flag_event_id == FlagEvent.id,
            FlagAcknowledgement.withdrawn_at.is_(None),
        )
        .label("acknowledged")
    )
    found = db.session.execute(
        sa.select(FlagEvent, acknowledged)
        .where(FlagEvent.screening_id.in_(list(flagged)))
        .order_by(FlagEvent.raised_at, FlagEvent.id)
    ).all()
    standing: dict[int, list[tuple[FlagEvent, bool]]] = {}
    for event, acked in found:
        if event.withdrawn_at is None or not acked:
            standing.setdefault(event.screening_id, []).append((event, bool(acked)))
    summaries = {}
    for screening_id, events in standing.items():
        events.sort(key=lambda pair: URGENCIES.index(pair[0].urgency))  # stable: oldest first
        top = events[0][0]
        flag = questionnaires.of(flagged[screening_id]).red_flag_by_id.get(top.flag_id)
        summaries[screening_id] = FlagSummary(
            urgency=top.urgency,
            title=flag.title if flag else top.title,
            more=len(events) - 1,
            open=any(not acked for _, acked in events),
        )
    return summaries


# What the clinic enters about the planned surgery, and the question that asks the patient the
# same (when the screening's questionnaire has it): shown where the clinic left its own blank.
PATIENT_SURGERY_QUESTIONS = {"planned_surgery": "surgery_type", "surgery_date": "surgery_date"}


def planned_surgery_answers(screenings: list[Screening]) -> dict[int, dict[str, Any]]:
    """The planned surgery as each patient answered it, where the clinic left it blank:
    screening id -> {"planned_surgery": the answer in words, "surgery_date": a date}. One query
    for all the screenings (a dashboard page), none when the clinic filled in everything."""
    blank = {
        s.id: s for s in screenings
        if any(not getattr(s, f) for f in PATIENT_SURGERY_QUESTIONS)
    }  # fmt: skip
    if not blank:
        return {}
    rows = db.session.execute(
        sa.select(Answer.screening_id, Answer.question_id, Answer.value).where(
            Answer.screening_id.in_(blank),
            Answer.question_id.in_(set(PATIENT_SURGERY_QUESTIONS.values())),
        )
    )
    found: dict[int, dict[str, Any]] = {}
    for screening_id, question_id, stored in rows:
        screening = blank[screening_id]
        question = questionnaires.of(screening).questions.get(question_id)
        if question is None:
            continue
        try:
            value = codec.parse(question, stored, today=dt.date.min)  # a past date stays
        except AnswerError:
            continue
        if value is MISSING:
            continue
        for field_name, asked in PATIENT_SURGERY_QUESTIONS.items():
            if asked == question_id and not getattr(screening, field_name):
                shown = value if question.type == "date" else codec.display(question, value)
                found.setdefault(screening_id, {})[field_name] = shown
    return found
