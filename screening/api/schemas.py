"""The API's request and response shapes, declared once, as pydantic models.

The views validate query parameters with the query model and build every body from a response
model (`body()`); the OpenAPI document (openapi.py) is generated from the same models. So what
is checked, what is served and what is published cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.json_schema import GenerateJsonSchema, SkipJsonSchema
from werkzeug.datastructures import MultiDict

from ..definition.model import URGENCIES
from ..domain.listing import SORTS
from ..models import LARGEST_ID, STATUSES, SURGERY_STATUSES

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25  # the API's own: not tied to the dashboard's page size
MAX_PAGE = 100_000
MAX_ID = LARGEST_ID
# Printable text only: control characters (NUL among them, which PostgreSQL refuses) are not
# part of any name, MRN or surgeon.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "unprocessable",
    429: "too_many_requests",
    500: "server_error",
}
OTHER_ERROR = "error"  # any other status (none is expected; the body must still be valid)

# A parameter that is not given is None in Python but absent on the wire: never null.
Absent = SkipJsonSchema[None]


class JsonSchema(GenerateJsonSchema):
    """Schemas as the document shows them: no generated titles on fields, and no `default: null`
    (a field whose default is None is simply left out when not given)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: Any) -> dict[str, Any]:
        json_schema = super().default_schema(schema)
        if "default" in json_schema and json_schema["default"] is None:
            del json_schema["default"]
        return json_schema


def body(model: BaseModel) -> dict[str, Any]:
    """A response body: the model as JSON, leaving out the optional fields not set (an error's
    `parameter`, an assessment's keys that were not stored)."""
    return model.model_dump(mode="json", exclude_unset=True)


# --- query and path parameters ----------------------------------------------------------------


def _whole(value: Any) -> Any:
    # ASCII digits only: int() would also take "+1", "1_0", " 1" and full-width digits.
    if isinstance(value, str):
        if not re.match(r"[0-9]{1,10}\Z", value):
            raise ValueError("not a whole number")
        return int(value)
    return value


def _iso_day(value: Any) -> Any:
    # Pydantic would also take "2026-01-31T00:00"; a day is exactly YYYY-MM-DD.
    if isinstance(value, str) and not re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", value):
        raise ValueError("not a date")
    return value


Whole = Annotated[int, BeforeValidator(_whole)]
Day = Annotated[dt.date, BeforeValidator(_iso_day)]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
Status = Literal[STATUSES]
# The bounds before the validator, or the schema shows pydantic's `ge`/`le`, not min/max.
ScreeningId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_whole)]
SCREENING_ID = TypeAdapter(ScreeningId)


class ListQuery(BaseModel):
    """The list's query parameters, in the document's order. Only `list_query(tiers)`, whose
    `tier` takes the tiers of the questionnaire in force, is used."""

    model_config = ConfigDict(extra="forbid")

    status: Status | Absent = Field(
        None,
        description="The effective status: an invited or started screening whose link ran out "
        "is `expired`.",
    )
    tier: str | Absent = Field(None, description="The risk tier of the assessment.")
    flag: Literal["yes", "open"] | Absent = Field(
        None, description="`yes`: submissions with a red flag; `open`: those not yet acknowledged."
    )
    reviewed: Literal["yes", "no"] | Absent = Field(
        None,
        description="`yes`: marked reviewed by a clinician; `no`: submitted and not yet "
        "reviewed.",
    )
    surgeon: Text | Absent = Field(
        None, description="The surgeon, exactly as written on the invitation."
    )
    q: Text | Absent = Field(
        None,
        description="The start of the patient's name (case and spacing ignored), or the exact MRN.",
    )
    created_from: Day | Absent = Field(None, description="Created on or after this day (UTC).")
    created_to: Day | Absent = Field(None, description="Created on or before this day (UTC).")
    submitted_from: Day | Absent = Field(None, description="Submitted on or after this day (UTC).")
    submitted_to: Day | Absent = Field(None, description="Submitted on or before this day (UTC).")
    sort: Literal[tuple(SORTS)] = Field(
        "created",
        description="The order of the list. Red-flagged submissions not yet acknowledged always "
        "come first, as on the clinicians' dashboard; the id breaks ties.",
    )
    order: Literal["asc", "desc"] = Field("desc", description="Direction.")
    page: Whole = Field(
        1,
        ge=1,
        le=MAX_PAGE,
        description="The page (1 is the first). A page past the last has no items.",
    )
    per_page: Whole = Field(
        DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE, description="Screenings per page."
    )


@functools.lru_cache(maxsize=8)
def list_query(tiers: tuple[str, ...]) -> type[ListQuery]:
    """ListQuery whose `tier` is one of `tiers` (cached: the tiers change only with the file)."""
    tier = ListQuery.model_fields["tier"]
    return create_model(
        "ListQuery",
        __base__=ListQuery,
        tier=(Literal[tiers] | Absent, Field(None, description=tier.description)),
    )


@functools.lru_cache(maxsize=8)
def parameter_schemas(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each query parameter's JSON schema (its description included), as published."""
    return model.model_json_schema(schema_generator=JsonSchema)["properties"]


def parameter_message(name: str, schema: dict[str, Any]) -> str:
    """What a wrong value is told, from the parameter's published schema."""
    if "enum" in schema:
        return f"{name} must be one of: {', '.join(schema['enum'])}."
    if schema.get("type") == "integer":
        return f"{name} must be a whole number from {schema['minimum']} to {schema['maximum']}."
    if schema.get("format") == "date":
        return f"{name} must be a date like 2026-01-31."
    return (
        f"{name} must be 1 to {schema['maxLength']} characters of text, without control characters."
    )


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def parse_query(args: MultiDict, tiers: tuple[str, ...]) -> ListQuery:
    """The list's query, validated; BadParameter names the first parameter, in the query's
    order, that is unknown, given more than once or wrong."""
    model = list_query(tiers)
    fields = model.model_fields
    query, wrong = None, set()
    try:
        query = model.model_validate({name: args[name] for name in args if name in fields})
    except ValidationError as exc:
        wrong = {str(error["loc"][0]) for error in exc.errors()}
    for name in args:
        if name not in fields:
            raise BadParameter(name, f"{name} is not a parameter of this list.")
        if len(args.getlist(name)) > 1:
            raise BadParameter(name, f"{name} is given more than once.")
        if name in wrong:
            raise BadParameter(name, parameter_message(name, parameter_schemas(model)[name]))
    assert query is not None  # every wrong value is one of the args
    return query


def parse_id(raw: str) -> int:
    try:
        return SCREENING_ID.validate_python(raw)
    except ValidationError:
        message = parameter_message("id", SCREENING_ID.json_schema())
        raise BadParameter("id", message) from None


# --- responses --------------------------------------------------------------------------------


def _utc_second(value: dt.datetime) -> dt.datetime:
    # Served in UTC to the second; pydantic writes UTC as `Z`.
    return value.astimezone(dt.UTC).replace(microsecond=0)


Timestamp = Annotated[
    dt.datetime, AfterValidator(_utc_second), Field(description="ISO 8601, UTC (`Z`).")
]


class QuestionnaireRef(BaseModel):
    id: str
    version: str


class Patient(BaseModel):
    name: str
    date_of_birth: dt.date | None
    mrn: str | None


class Screening(BaseModel):
    """A screening as listed."""

    id: int = Field(ge=1)
    reference: str = Field(pattern=r"^S-[0-9]{6,}$", examples=["S-000123"])
    status: Status = Field(
        description="The effective status (a link that ran out shows as `expired`)."
    )
    questionnaire: QuestionnaireRef
    patient: Patient
    surgeon: str | None
    planned_surgery: str | None
    surgery_date: dt.date | None
    language: str
    created_at: Timestamp
    started_at: Timestamp | None
    submitted_at: Timestamp | None
    expires_at: Timestamp
    # The document adds the tiers of the questionnaire in force (openapi.py).
    tier: str | None = Field(description="Set once submitted.")
    total: int | None = Field(description="Risk points, once submitted.")
    has_red_flag: bool
    acknowledged_at: Timestamp | None = Field(
        description="When its red flags were all acknowledged (the last acknowledgement); null "
        "while one is open, or without red flags. Each flag's own acknowledgements (who, when, "
        "what was done) are in the screening's `flags`."
    )
    acknowledged_by: str | None = Field(
        description="The e-mail address of the clinician whose acknowledgement closed the last "
        "open red flag; null with `acknowledged_at`."
    )
    reviewed_at: Timestamp | None = Field(
        description="Marked reviewed by a clinician; null when not reviewed (or the review was "
        "undone)."
    )
    reviewed_by: str | None = Field(
        description="The e-mail address of the clinician who marked it reviewed."
    )
    review_note: str | None = Field(
        description="The clinician's note with the review; null without one."
    )


# The assessment is served as stored: keys this model does not name are kept (extra="allow"),
# and optional ones that were not stored are left out, not sent as null (see `body`).
class _Stored(BaseModel):
    model_config = ConfigDict(extra="allow")


class Factor(_Stored):
    id: str
    label: str
    category: str
    points: int
    modifiable: bool


class RedFlag(_Stored):
    id: str
    urgency: Literal[URGENCIES] | Absent = Field(
        None, description="emergency, same_day or review (stored from December 2026 on)."
    )
    clinician_message: str


class Axis(_Stored):
    """One kind of risk (stored from questionnaire 2.0.0 on)."""

    id: str
    label: str
    points: int
    max: int
    tier: str | None = Field(description="Null while the answers are incomplete.")
    floors: list[str] = Field(description="Why the axis is at least at its tier, in words.")


class Unknown(_Stored):
    """A risk factor that may apply: an answer it reads was "Not sure". To verify; not scored,
    never taken as absent."""

    id: str
    label: str
    axis: str | None
    points: int
    unknown_answers: list[str] = Field(description='The questions answered "Not sure".')


class ClinicEntryUse(_Stored):
    """A clinic's entry the assessment read: `used` where the patient's own answer did not
    tell, else beside it (`differs`)."""

    question: str
    clinic: Any
    patient: Any = Field(description="The patient's own answer; null when none.")
    used: bool
    differs: bool


class Assessment(_Stored):
    """The engine's assessment as stored at submission (`screening score --format json`)."""

    questionnaire: QuestionnaireRef
    complete: bool
    missing: list[str] | Absent = None
    errors: dict[str, str] | Absent = None
    total: int
    max_total: int
    tier: str | None = Field(description="Null while the answers are incomplete.")
    axes: list[Axis] | Absent = None
    factors: list[Factor]
    unknowns: list[Unknown] | Absent = None
    clinic: list[ClinicEntryUse] | Absent = None
    red_flags: list[RedFlag]
    instruments: dict[str, Any] | Absent = None
    computed: dict[str, Any] | Absent = None
    subtotals: dict[str, int] | Absent = None
    modifiable_points: int | Absent = None
    domain_alerts: list[str] | Absent = None


Scalar = str | int | float | bool
AnswerValue = Scalar | list[Scalar]


class Acknowledgement(BaseModel):
    """A clinician's acknowledgement of one red flag: who, when and what was done. An
    acknowledgement taken back is kept, with `withdrawn_at`; the one that stands is the last
    without it."""

    at: Timestamp
    by: str | None = Field(description="The clinician's e-mail address.")
    note: str | None = Field(description="What was done.")
    withdrawn_at: Timestamp | None = Field(description="Taken back (kept, never deleted).")


class FlagEvent(BaseModel):
    """A red flag as the patient's answers raised it: recorded when the step was saved, before
    anything was sent."""

    id: str = Field(description="The red flag's id in the questionnaire.")
    urgency: Literal[URGENCIES]
    self_harm: bool
    raised_at: Timestamp
    withdrawn_at: Timestamp | None = Field(description="A later answer took it back.")
    acknowledgements: list[Acknowledgement] = Field(
        description="Every acknowledgement of this flag, oldest first (withdrawn ones included)."
    )


class SurgeryRecord(BaseModel):
    """The operation as it happened, as one record of the clinic's: performed (on
    `surgery_date`, with the procedure performed), cancelled, or postponed (to `planned_date`
    when known). Records are never changed: a correction is a new record that replaces the one
    before (`replaces`); the newest stands."""

    id: int = Field(ge=1)
    status: Literal[SURGERY_STATUSES]
    surgery_date: dt.date | None = Field(description="Performed: the day of surgery.")
    planned_date: dt.date | None = Field(description="Postponed: the new planned day, if known.")
    procedure: dict[str, AnswerValue] = Field(
        description="Performed: the procedure, by question id, in the codes of the clinic's "
        "entries of the planned surgery (`clinic_answers`): the questions the screening's "
        "questionnaire marks `clinic`. Empty otherwise."
    )
    note: str | None
    replaces: int | None = Field(description="The record this one replaced; null for the first.")
    recorded_at: Timestamp
    recorded_by: str = Field(
        description="A clinician's e-mail address, an API key (`API key <prefix> (<client>)`), "
        "or `the command line`."
    )


class ScreeningDetail(Screening):
    """One screening: as listed, with its red flags as they were raised, and its assessment and
    answers once submitted."""

    flags: list[FlagEvent]

    clinic_answers: dict[str, AnswerValue] = Field(
        description="Read-only: what the clinic entered about the planned surgery (the "
        "invitation's entries for the questions the questionnaire marks `clinic`), by question "
        "id; scored where the patient's own answer does not tell. Empty when none."
    )
    surgery: SurgeryRecord | None = Field(
        description="The operation as it happened: the record that stands (the newest); null "
        "while none is recorded."
    )
    surgery_records: list[SurgeryRecord] = Field(
        description="Every record of the operation, oldest first (the last one stands)."
    )
    assessment: Assessment | None = Field(description="Once submitted; null before.")
    answers: dict[str, AnswerValue] | None = Field(
        description="Once submitted, for a key with the exports:read scope (null otherwise): "
        "the saved answer to each question the patient was shown, by question id. Answers to "
        "questions that their other answers hid are never included."
    )


class ScreeningList(BaseModel):
    """One page of the list."""

    items: list[Screening]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)
    total: int = Field(ge=0, description="Screenings that match.")
    pages: int = Field(ge=1)
    next: str | None = Field(description="The next page's address, if any.")
    previous: str | None = Field(description="The previous page's address, if any.")


class Error(BaseModel):
    """Every error the API answers."""

    error: Literal[(*ERROR_NAMES.values(), OTHER_ERROR)]
    message: str
    parameter: str | Absent = Field(
        None,
        description="The query or path parameter, or the field of the body, that is wrong (the "
        "first one; a procedure's entry as `procedure.<question id>`).",
    )
    problems: dict[str, str] | Absent = Field(
        None, description="422: a message for every field of the body that is wrong."
    )


RESPONSES: tuple[type[BaseModel], ...] = (ScreeningList, ScreeningDetail, SurgeryRecord, Error)
