"""The API's OpenAPI 3.1 document, served at /api/v1/openapi.json, generated from schemas.py.

The shapes (bodies, query and path parameters) are the pydantic models' JSON schemas; what is
written here is only what the models cannot say: the paths, the security scheme and the error
responses. Built per request, in an app context: the tiers are those of the questionnaire in
force, which can change with the file.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import models_json_schema

from ..domain import questionnaires
from . import bodies, schemas

REF = "#/components/schemas/{model}"


def _ref(model: type) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def _response(model: type, description: str, headers: dict[str, Any] | None = None):
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref(model)}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return _response(schemas.Error, description, headers)


UNAUTHORIZED = _error(
    "No key, or a key that is unknown or revoked.",
    {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
)
FORBIDDEN = _error("The key was not given the scope this call needs.")
ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": schemas.SCREENING_ID.json_schema(),
}
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


def query_parameters(model: type[schemas.ListQuery]) -> list[dict[str, Any]]:
    """The query model's fields as OpenAPI parameters (the description moved out of the schema,
    where OpenAPI wants it)."""
    parameters = []
    for name, field_schema in schemas.parameter_schemas(model).items():
        schema = copy.deepcopy(field_schema)  # not the cached one
        description = schema.pop("description")
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": description,
                "schema": schema,
            }
        )
    return parameters


def component_schemas(tiers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The response models' schemas, with the tiers of the questionnaire in force (id: label)
    named on the screenings' `tier` (not an enum: a screening keeps the tier of the version it
    was answered under)."""
    _, generated = models_json_schema(
        [(model, "serialization") for model in schemas.RESPONSES]
        + [(model, "validation") for model in bodies.REQUESTS],
        ref_template=REF,
        schema_generator=schemas.JsonSchema,
    )
    components = generated["$defs"]
    named = ", ".join(f"`{id_}` ({label})" for id_, label in tiers.items())
    for model in (schemas.Screening, schemas.ScreeningDetail):
        tier = components[model.__name__]["properties"]["tier"]
        tier["description"] += (
            f" Under the questionnaire in force, one of: {named}; a screening "
            "answered under an earlier version keeps that version's tier."
        )
    return components


def document() -> dict[str, Any]:
    """The OpenAPI document, for the questionnaire in force."""
    tiers = {t.id: t.label for t in questionnaires.in_force().tiers}
    query = schemas.list_query(tuple(tiers))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pre-surgery screening: API",
            "version": "1.0.0",
            "description": "Screenings and their assessments, for integration. Every call needs "
            "an API key that an admin creates on the staff page *API keys*, sent as "
            "`Authorization: Bearer <key>`. A key reaches the screenings of its sites only, "
            "with its scopes: `screenings:read` (the list and each screening, its flags, the "
            "clinic's entries, the operation as it happened and the assessment), "
            "`exports:read` (the patient's answers as well) and `surgery:write` (recording the "
            "operation as it happened: the only change made here). Every call is in the audit "
            "log.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/screenings": {
                "get": {
                    "operationId": "listScreenings",
                    "summary": "Screenings, filtered as on the dashboard, a page at a time",
                    "parameters": query_parameters(query),
                    "responses": {
                        "200": _response(schemas.ScreeningList, "One page of screenings."),
                        "400": _error("A query parameter is wrong (`parameter` names it)."),
                        "401": UNAUTHORIZED,
                        "403": FORBIDDEN,
                        "429": TOO_MANY,
                    },
                }
            },
            "/screenings/{id}": {
                "get": {
                    "operationId": "getScreening",
                    "summary": "One screening, with the clinic's entries, and its assessment and "
                    "answers once submitted",
                    "parameters": [ID_PARAMETER],
                    "responses": {
                        "200": _response(schemas.ScreeningDetail, "The screening."),
                        "400": _error(f"The id is not a whole number from 1 to {schemas.MAX_ID}."),
                        "401": UNAUTHORIZED,
                        "403": FORBIDDEN,
                        "404": _error(
                            "There is no screening with this id (or it is of a site "
                            "the key does not read)."
                        ),
                        "429": TOO_MANY,
                    },
                }
            },
            "/screenings/{id}/surgery": {
                "post": {
                    "operationId": "recordSurgery",
                    "summary": "Record the operation as it happened (performed, cancelled or "
                    "postponed), or correct the record that stands",
                    "description": "Needs the `surgery:write` scope. A record is never changed: "
                    "each call that says something new adds a record that replaces the one "
                    "standing (both are in the screening's `surgery_records`); one that says "
                    "the same as the standing record adds nothing (200). Audited.",
                    "parameters": [ID_PARAMETER],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref(bodies.SurgeryInput)}},
                    },
                    "responses": {
                        "200": _response(
                            schemas.SurgeryRecord,
                            "Nothing new: the record that stands says the same.",
                        ),
                        "201": _response(schemas.SurgeryRecord, "Recorded: the new record."),
                        "400": _error(
                            f"The id is not a whole number from 1 to {schemas.MAX_ID}, or the "
                            "body is not a JSON object of this shape (`parameter` names the "
                            "field)."
                        ),
                        "401": UNAUTHORIZED,
                        "403": FORBIDDEN,
                        "404": _error(
                            "There is no screening with this id (or it is of a site "
                            "the key does not read)."
                        ),
                        "409": _error(
                            "Another record was made since the one `replaces` names: nothing "
                            "was recorded."
                        ),
                        "422": _error(
                            "The clinic's rules refuse it (a date of surgery in the future, a "
                            "procedure the questionnaire does not take, ...): `problems` holds "
                            "a message per field. Nothing was recorded."
                        ),
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
            "schemas": component_schemas(tiers),
        },
    }
