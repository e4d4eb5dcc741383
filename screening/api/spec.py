"""The API's OpenAPI 3.1 document, and the query parameters it declares.

Written by hand, in this one place. The views read query parameters through `parse_query`, which
checks them against the same schemas the document publishes, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from ..models import STATUSES
from ..staff.dashboard import SORTS, TIERS

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25
MAX_PAGE = 100_000
MAX_ID = 2_147_483_647  # the largest id a PostgreSQL integer column holds
# Printable text only: control characters (NUL among them, which PostgreSQL refuses) are not
# part of any name, MRN or surgeon.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
_TEXT = re.compile(r"[^\x00-\x1f\x7f]*\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_WHOLE = re.compile(r"[0-9]{1,10}\Z")


class BadParameter(ValueError):
    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict[str, Any]
    description: str


def _text(max_length: int = 200) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": TEXT_PATTERN}


DATE = {"type": "string", "format": "date"}

LIST_PARAMS: tuple[Param, ...] = (
    Param(
        "status",
        {"type": "string", "enum": list(STATUSES)},
        "The effective status: an invited or started screening whose link ran out is `expired`.",
    ),
    Param("tier", {"type": "string", "enum": list(TIERS)}, "The risk tier of the assessment."),
    Param(
        "flag",
        {"type": "string", "enum": ["yes", "open"]},
        "`yes`: submissions with a red flag; `open`: those not yet acknowledged.",
    ),
    Param("surgeon", _text(), "The surgeon, exactly as written on the invitation."),
    Param(
        "q",
        _text(),
        "The start of the patient's name (case and spacing ignored), or the exact MRN.",
    ),
    Param("created_from", DATE, "Created on or after this day (UTC)."),
    Param("created_to", DATE, "Created on or before this day (UTC)."),
    Param("submitted_from", DATE, "Submitted on or after this day (UTC)."),
    Param("submitted_to", DATE, "Submitted on or before this day (UTC)."),
    Param(
        "sort",
        {"type": "string", "enum": list(SORTS), "default": "created"},
        "The order of the list. Red-flagged submissions not yet acknowledged always come first, "
        "as on the clinicians' dashboard; the id breaks ties.",
    ),
    Param("order", {"type": "string", "enum": ["asc", "desc"], "default": "desc"}, "Direction."),
    Param(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "The page (1 is the first). A page past the last has no items.",
    ),
    Param(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
        "Screenings per page.",
    ),
)
_BY_NAME = {p.name: p for p in LIST_PARAMS}


def _value(param: Param, raw: str) -> Any:
    schema = param.schema
    name = param.name
    if "enum" in schema:
        if raw not in schema["enum"]:
            raise BadParameter(name, f"{name} must be one of: {', '.join(schema['enum'])}.")
        return raw
    if schema["type"] == "integer":
        low, high = schema["minimum"], schema["maximum"]
        if not _WHOLE.match(raw) or not low <= int(raw) <= high:
            raise BadParameter(name, f"{name} must be a whole number from {low} to {high}.")
        return int(raw)
    if schema.get("format") == "date":
        try:
            if not _DATE.match(raw):
                raise ValueError
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise BadParameter(name, f"{name} must be a date like 2026-01-31.") from None
    if not schema["minLength"] <= len(raw) <= schema["maxLength"] or not _TEXT.match(raw):
        raise BadParameter(
            name,
            f"{name} must be 1 to {schema['maxLength']} characters of text, "
            "without control characters.",
        )
    return raw


def parse_query(args: MultiDict) -> dict[str, Any]:
    """The list's query parameters, checked against their schemas; BadParameter names the first
    one that is wrong (unknown and repeated ones included)."""
    values: dict[str, Any] = {}
    for name in args:
        param = _BY_NAME.get(name)
        if param is None:
            raise BadParameter(name, f"{name} is not a parameter of this list.")
        given = args.getlist(name)
        if len(given) > 1:
            raise BadParameter(name, f"{name} is given more than once.")
        values[name] = _value(param, given[0])
    for param in LIST_PARAMS:
        if "default" in param.schema:
            values.setdefault(param.name, param.schema["default"])
    return values


def parse_id(raw: str) -> int:
    if not _WHOLE.match(raw) or not 1 <= int(raw) <= MAX_ID:
        raise BadParameter("id", f"id must be a whole number from 1 to {MAX_ID}.")
    return int(raw)


# --- the document -----------------------------------------------------------------------------


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


STRING = {"type": "string"}
TIMESTAMP = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC (`Z`)."}

SCREENING = {
    "type": "object",
    "required": [
        "id", "reference", "status", "questionnaire", "patient", "surgeon", "planned_surgery",
        "surgery_date", "language", "created_at", "started_at", "submitted_at", "expires_at",
        "tier", "total", "has_red_flag", "acknowledged_at", "reviewed_at",
    ],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "reference": {"type": "string", "pattern": "^S-[0-9]{6,}$", "examples": ["S-000123"]},
        "status": {
            "type": "string",
            "enum": list(STATUSES),
            "description": "The effective status (a link that ran out shows as `expired`).",
        },
        "questionnaire": {
            "type": "object",
            "required": ["id", "version"],
            "properties": {"id": STRING, "version": STRING},
        },
        "patient": {
            "type": "object",
            "required": ["name", "date_of_birth", "mrn"],
            "properties": {
                "name": STRING,
                "date_of_birth": _nullable(DATE),
                "mrn": _nullable(STRING),
            },
        },
        "surgeon": _nullable(STRING),
        "planned_surgery": _nullable(STRING),
        "surgery_date": _nullable(DATE),
        "language": STRING,
        "created_at": TIMESTAMP,
        "started_at": _nullable(TIMESTAMP),
        "submitted_at": _nullable(TIMESTAMP),
        "expires_at": TIMESTAMP,
        "tier": {**_nullable(STRING), "description": "Set once submitted."},
        "total": {"type": ["integer", "null"], "description": "Risk points, once submitted."},
        "has_red_flag": {"type": "boolean"},
        "acknowledged_at": {**_nullable(TIMESTAMP), "description": "Red flags acknowledged."},
        "reviewed_at": {**_nullable(TIMESTAMP), "description": "Marked reviewed by a clinician."},
    },
}

ASSESSMENT = {
    "type": "object",
    "description": "The engine's assessment as stored at submission: the stable JSON contract "
    "of `screening score --format json`.",
    "required": ["questionnaire", "complete", "total", "max_total", "tier", "factors",
                 "red_flags"],
    "properties": {
        "questionnaire": SCREENING["properties"]["questionnaire"],
        "complete": {"type": "boolean"},
        "missing": {"type": "array", "items": STRING},
        "errors": {"type": "object", "additionalProperties": STRING},
        "total": {"type": "integer"},
        "max_total": {"type": "integer"},
        "tier": STRING,
        "factors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "label", "category", "points", "modifiable"],
                "properties": {
                    "id": STRING,
                    "label": STRING,
                    "category": STRING,
                    "points": {"type": "integer"},
                    "modifiable": {"type": "boolean"},
                },
            },
        },
        "red_flags": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "clinician_message"],
                "properties": {"id": STRING, "clinician_message": STRING},
            },
        },
        "instruments": {"type": "object"},
        "computed": {"type": "object"},
        "subtotals": {"type": "object", "additionalProperties": {"type": "integer"}},
        "modifiable_points": {"type": "integer"},
        "domain_alerts": {"type": "array", "items": STRING},
    },
}

DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/Screening"},
        {
            "type": "object",
            "required": ["assessment", "answers"],
            "properties": {
                "assessment": {
                    "oneOf": [{"$ref": "#/components/schemas/Assessment"}, {"type": "null"}],
                    "description": "Once submitted; null before.",
                },
                "answers": {
                    "type": ["object", "null"],
                    "description": "Once submitted: the saved answer to each question the "
                    "patient was shown, by question id. Answers to questions that their other "
                    "answers hid are never included.",
                    "additionalProperties": {
                        "type": ["string", "number", "boolean", "array"],
                        "items": {"type": ["string", "number", "boolean"]},
                    },
                },
            },
        },
    ]
}

LIST = {
    "type": "object",
    "required": ["items", "page", "per_page", "total", "pages", "next", "previous"],
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Screening"}},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "total": {"type": "integer", "minimum": 0, "description": "Screenings that match."},
        "pages": {"type": "integer", "minimum": 1},
        "next": {**_nullable(STRING), "description": "The next page's address, if any."},
        "previous": {**_nullable(STRING), "description": "The previous page's address, if any."},
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {
            "type": "string",
            "enum": ["bad_request", "unauthorized", "not_found", "method_not_allowed",
                     "too_many_requests", "server_error"],
        },
        "message": STRING,
        "parameter": {**STRING, "description": "The query or path parameter that is wrong."},
    },
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


UNAUTHORIZED = _error(
    "No key, or a key that is unknown or revoked.",
    {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
)
TOO_MANY = _error(
    "Too many refused keys from this address lately (SCREENING_API_FAILED_KEY_LIMIT); "
    "try again later.",
    {
        "Retry-After": {
            "required": True,
            "description": "Seconds until this address may try again.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
)


def document() -> dict[str, Any]:
    """The OpenAPI document, served at /api/v1/openapi.json."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pre-surgery screening: read-only API",
            "version": "1.0.0",
            "description": "Screenings and their assessments, for integration. Every call needs "
            "an API key that an admin creates on the staff page *API keys*, sent as "
            "`Authorization: Bearer <key>`. Every call is in the audit log. Nothing here "
            "changes a screening.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/screenings": {
                "get": {
                    "operationId": "listScreenings",
                    "summary": "Screenings, filtered as on the dashboard, a page at a time",
                    "parameters": [
                        {
                            "name": p.name,
                            "in": "query",
                            "required": False,
                            "description": p.description,
                            "schema": p.schema,
                        }
                        for p in LIST_PARAMS
                    ],
                    "responses": {
                        "200": _json("ScreeningList", "One page of screenings."),
                        "400": _error("A query parameter is wrong (`parameter` names it)."),
                        "401": UNAUTHORIZED,
                        "429": TOO_MANY,
                    },
                }
            },
            "/screenings/{id}": {
                "get": {
                    "operationId": "getScreening",
                    "summary": "One screening, with its assessment and answers once submitted",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        }
                    ],
                    "responses": {
                        "200": _json("ScreeningDetail", "The screening."),
                        "400": _error("The id is not a whole number from 1 to 2147483647."),
                        "401": UNAUTHORIZED,
                        "404": _error("There is no screening with this id."),
                        "429": TOO_MANY,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key made by an admin (shown once, when made).",
                }
            },
            "schemas": {
                "Screening": SCREENING,
                "ScreeningDetail": DETAIL,
                "ScreeningList": LIST,
                "Assessment": ASSESSMENT,
                "Error": ERROR,
            },
        },
    }
