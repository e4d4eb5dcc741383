"""The API's request bodies (pydantic): the shape of what a client sends, before the clinic's own
rules (`domain`). The responses' shapes and the query's are in `schemas.py`."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..models import SURGERY_STATUSES
from .schemas import MAX_ID, TEXT_PATTERN, BadParameter

# A note may hold line breaks and tabs (kept as single spaces), no other control character.
NOTE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
NOTE_LENGTH = 2000  # domain.surgery.NOTE_LENGTH (a test checks they are the same)


def _body_day(value: Any) -> Any:
    # In a body, a day is text, exactly YYYY-MM-DD (never a number of seconds).
    if not isinstance(value, str) or not re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", value):
        raise ValueError("not a date like 2026-01-31")
    return dt.date.fromisoformat(value)  # ValueError for a day that does not exist


def _json_integer(value: Any) -> Any:
    # JSON Schema's integer is a number with no fraction: 1.0 is one; "1" and true are not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a whole number")
    return value


BodyDay = Annotated[dt.date, BeforeValidator(_body_day)]
JsonInteger = Annotated[int, BeforeValidator(_json_integer)]
EntryText = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
ProcedureValue = EntryText | JsonInteger | bool
RecordId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_json_integer)]


class SurgeryInput(BaseModel):
    """The operation as it happened, to record (or to correct the record that stands: a new
    record replaces it, and the one before is kept). The clinic's rules are checked after the
    shape (422, with a message per field): performed needs `surgery_date`, today or before in
    the clinic's time zone and not before the screening was made, and the procedure (entries,
    or a note saying what); postponed may have `planned_date`, after today; cancelled has
    neither; the procedure's entries must be questions the screening's questionnaire marks
    `clinic`, with values it takes ("not sure" is not one)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: Literal[SURGERY_STATUSES]
    surgery_date: BodyDay | None = Field(None, description="Performed: the day of surgery.")
    planned_date: BodyDay | None = Field(
        None, description="Postponed: the new planned day, if known."
    )
    procedure: dict[str, ProcedureValue] | None = Field(
        None,
        max_length=20,
        description="Performed: the procedure, by question id, in the codes of the clinic's "
        "entries of the planned surgery (e.g. `{\"surgery_type\": \"fusion\"}`).",
    )
    note: Annotated[str, Field(max_length=NOTE_LENGTH, pattern=NOTE_PATTERN)] | None = Field(
        None, description="Anything more: the procedure in words, why it was cancelled."
    )
    replaces: RecordId | None = Field(
        None,
        description="The id of the record that stood when this change was decided (null: none "
        "stood). If another record was made since, nothing is recorded (409). Left out: "
        "whatever stands is replaced.",
    )


def parse_body(model: type[BaseModel], raw: bytes) -> BaseModel:
    """The request's JSON body, validated; BadParameter names the first field that is wrong
    (`body` when it is not a JSON object)."""
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        error = exc.errors()[0]
        where = [str(part) for part in error["loc"]]
        if not where or error["type"] in ("json_invalid", "model_type"):
            message = "Send a JSON object (Content-Type: application/json)."
            raise BadParameter("body", message) from None
        name = where[0]
        if error["type"] == "extra_forbidden":
            raise BadParameter(name, f"{name} is not a field of this body.") from None
        if name == "procedure" and len(where) > 1:  # an entry (its value tried as each type)
            entry = f"procedure.{where[1]}"
            raise BadParameter(
                entry, f"{entry}: give the value as text (1 to 200 characters), a whole number "
                "or true/false.",
            ) from None  # fmt: skip
        message = error["msg"].removeprefix("Value error, ").rstrip(".")
        raise BadParameter(name, f"{name}: {message}.") from None


REQUESTS: tuple[type[BaseModel], ...] = (SurgeryInput,)
