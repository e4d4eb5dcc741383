"""The JSON API's routes: the screenings list, one screening, the operation as it happened
(recorded with the `surgery:write` scope: the only change the API makes), and the OpenAPI
document.

Every call needs `Authorization: Bearer <key>` (never a session cookie); every call that returns
or changes patients' data is in the audit log, with the key's prefix and client name (never the
key) and, for the list, its filters (a search by its length only: it may be a patient's name) and
the ids listed. The list is the staff dashboard's list
(screening/domain/listing.py), filtered and ordered the same way, as a clinician sees it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import Rule

from ..domain import (
    answering,
    api_keys,
    audit,
    clinic_entries,
    flags,
    listing,
    questionnaires,
    sites,
    surgery,
)
from ..extensions import db, limiter, retry_after
from ..models import ApiKey, FlagEvent, Screening, SurgeryRecord, User, utcnow
from . import bodies, schemas
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

REALM = 'Bearer realm="screening API"'


def _refused_key(response) -> bool:
    """A key was sent and refused (a 401 with RFC 6750's invalid_token, not a missing key)."""
    return response.status_code == 401 and "invalid_token" in response.headers.get(
        "WWW-Authenticate", ""
    )


# Refused keys count against the caller's address, on every route together: a client guessing
# keys is stopped (429) long before it could matter; clients with a good key never count.
failed_keys_limit = limiter.shared_limit(
    lambda: current_app.config["SCREENING_API_FAILED_KEY_LIMIT"],
    scope="api-refused-keys",
    deduct_when=_refused_key,
)


class ApiError(HTTPException):
    """An error answered in JSON: {"error", "message", "parameter"?} (and a 401's challenge)."""

    def __init__(
        self, code: int, message: str, parameter: str | None = None, challenge: str | None = None
    ):
        super().__init__(message)
        self.code, self.message = code, message
        self.parameter, self.challenge = parameter, challenge


def error_response(
    code: int,
    message: str,
    parameter: str | None = None,
    problems: dict[str, str] | None = None,
    **headers: str,
):
    error = schemas.Error(
        error=schemas.ERROR_NAMES.get(code, schemas.OTHER_ERROR),
        message=message,
        # Not set, not sent: `parameter` and `problems` are left out rather than null.
        **({"parameter": parameter} if parameter is not None else {}),
        **({"problems": problems} if problems else {}),
    )
    response = jsonify(schemas.body(error))
    response.status_code = code
    response.headers.update(headers)
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    headers = {"WWW-Authenticate": exc.challenge} if exc.challenge else {}
    return error_response(exc.code, exc.message, exc.parameter, **headers)


@bp.errorhandler(schemas.BadParameter)
def _bad_parameter(exc: schemas.BadParameter):
    return error_response(400, exc.message, exc.parameter)


@bp.errorhandler(429)  # the app's 429 page, found first by its code, is HTML
def _too_many(exc: HTTPException):
    return error_response(
        429, "Too many refused keys from this address; try again later.", **retry_after()
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    if exc.code is not None and exc.code >= 500:
        db.session.rollback()
    return error_response(exc.code or 500, exc.description or exc.name)


@bp.errorhandler(InternalServerError)
def _server_error(exc: InternalServerError):
    db.session.rollback()  # nothing half-done is kept
    return error_response(500, "Something went wrong; nothing was changed.")


@bp.after_request
def _finish(response):
    # The one commit point of a call: the key's last use and the audit event, together.
    if g.get("api_key") is not None and response.status_code < 500:
        db.session.commit()
    response.headers["Cache-Control"] = "no-store"
    if request.method == "OPTIONS" and request.endpoint != "api.elsewhere":
        # Werkzeug would list the catch-all route's methods too.
        response.headers["Allow"] = allowed_here()
    return response


def _unauthorized(message: str, invalid: bool) -> ApiError:
    """401 with the challenge of RFC 6750: `error="invalid_token"` when a key was sent."""
    return ApiError(401, message, challenge=REALM + (', error="invalid_token"' if invalid else ""))


def authenticate(scope: str = "screenings:read") -> ApiKey:
    """The key this request carries; 401 without one, or with an unknown or revoked one; 403
    when the key was not given `scope`."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    sent = credentials.strip()
    if not header or scheme.lower() != "bearer" or not sent:
        raise _unauthorized("Send an API key as 'Authorization: Bearer <key>'.", invalid=False)
    key = api_keys.find_active(sent)
    if key is None:
        # In the audit log: the key's prefix (not secret) if it has one, never the rest.
        prefix = api_keys.sent_prefix(sent)
        audit.record(
            "api_key_refused",
            detail=f"key {prefix}" if prefix else "not a key of this application",
        )
        db.session.commit()
        raise _unauthorized("The API key is unknown or revoked.", invalid=True)
    key.last_used_at = utcnow()
    g.api_key = key
    if scope not in (key.scopes or []):
        what, _, verb = scope.partition(":")
        raise ApiError(403, f"This API key may not {verb} {what} ({scope}).")
    return key


# --- bodies -----------------------------------------------------------------------------------


def emails(listed: list[Screening]) -> dict[int, str]:
    """The e-mail addresses of the staff who acknowledged or reviewed the screenings, by user
    id, in one query."""
    ids = {i for s in listed for i in (s.acknowledged_by_id, s.reviewed_by_id) if i is not None}
    if not ids:
        return {}
    found = db.session.execute(sa.select(User.id, User.email).where(User.id.in_(ids)))
    return {user_id: email for user_id, email in found}


def screening_fields(s: Screening, now: dt.datetime, who: dict[int, str]) -> dict[str, Any]:
    """A screening's fields as the Screening model takes them (it formats them for JSON); `who`:
    staff e-mail addresses by id (`emails`)."""
    return {
        "id": s.id,
        "reference": s.reference,
        "status": s.effective_status(now),
        "questionnaire": {"id": s.questionnaire_id, "version": s.questionnaire_version},
        "patient": {
            "name": s.patient_name,
            "date_of_birth": s.patient_dob,
            "mrn": s.patient_mrn,
        },
        "surgeon": s.surgeon,
        "planned_surgery": s.planned_surgery,
        "surgery_date": s.surgery_date,
        "language": s.language,
        "created_at": s.created_at,
        "started_at": s.started_at,
        "submitted_at": s.submitted_at,
        "expires_at": s.expires_at,
        "tier": s.tier,
        "total": s.total,
        "has_red_flag": bool(s.has_red_flag),
        "acknowledged_at": s.acknowledged_at,
        "acknowledged_by": who.get(s.acknowledged_by_id) if s.acknowledged_at else None,
        "reviewed_at": s.reviewed_at,
        "reviewed_by": who.get(s.reviewed_by_id) if s.reviewed_at else None,
        "review_note": s.reviewed_note if s.reviewed_at else None,
    }


def visible_answers(s: Screening) -> dict[str, Any]:
    """The answers to the questions the patient was shown. An answer kept for the record after
    a later answer hid its question is left out (as scoring and the PDF leave it out)."""
    saved = answering.saved_answers(s)
    shown = answering.assessment_of(s).answers  # typed, visible ones only
    return {question_id: value for question_id, value in saved.items() if question_id in shown}


# --- routes -----------------------------------------------------------------------------------


def _filters(query: schemas.ListQuery) -> listing.Filters:
    return listing.Filters(
        status=query.status or "",
        tier=query.tier or "",
        flag=query.flag or "",
        reviewed=query.reviewed or "",
        surgeon=(query.surgeon or "").strip(),
        q=(query.q or "").strip(),
        date_from=query.created_from,
        date_to=query.created_to,
        submitted_from=query.submitted_from,
        submitted_to=query.submitted_to,
        sort=query.sort,
        order=query.order,
        page=query.page,
    )


def _page_link(query: schemas.ListQuery, page: int) -> str:
    """The list's address for another page, with the same parameters: those given, in their
    order, then the defaults."""
    values = query.model_dump(mode="json", exclude_none=True)
    args = {name: values[name] for name in request.args}
    args.update(values)
    args["page"] = page
    return url_for("api.list_screenings", **args)


def _tiers() -> tuple[str, ...]:
    return tuple(t.id for t in questionnaires.in_force().tiers)


@bp.get("/screenings")
@failed_keys_limit
def list_screenings():
    key = authenticate()
    query = schemas.parse_query(request.args, _tiers())
    filters = _filters(query)
    per_page, page = query.per_page, query.page
    now = utcnow()
    # As a clinician sees the list: every filter, red flags waiting first.
    where = listing.condition(filters, clinician=True, reader=key, now=now)
    total = listing.count(where)
    listed = listing.select_page(
        where, listing.ordering(filters), True, limit=per_page, offset=(page - 1) * per_page
    )
    pages = max(1, -(-total // per_page))
    who = emails(listed)
    audit.record(
        "api_listed",
        detail=f"{api_keys.label(key)}: page {page}, {len(listed)} of {total} screenings; "
        f"{listing.described(filters)}; ids {listing.id_ranges(s.id for s in listed)}",
    )
    result = schemas.ScreeningList(
        items=[schemas.Screening(**screening_fields(s, now, who)) for s in listed],
        page=page,
        per_page=per_page,
        total=total,
        pages=pages,
        next=_page_link(query, page + 1) if page < pages else None,
        previous=_page_link(query, min(page - 1, pages)) if page > 1 else None,
    )
    return jsonify(schemas.body(result))


@bp.get("/screenings/<ident>")
@failed_keys_limit
def get_screening(ident: str):
    key = authenticate()
    screening_id = schemas.parse_id(ident)
    s = db.session.get(Screening, screening_id)
    if s is None or not sites.visible(key, s):  # another site's is not said to exist
        raise ApiError(404, f"There is no screening {screening_id}.", "id")
    submitted = s.status == "submitted"
    exports = "exports:read" in key.scopes
    records = surgery.history(s)[::-1]  # oldest first
    detail = schemas.ScreeningDetail(
        **screening_fields(s, utcnow(), emails([s])),
        flags=[flag_fields(event) for event in flags.events(s)],
        clinic_answers=clinic_entries.of(s),
        surgery=surgery_fields(records[-1]) if records else None,
        surgery_records=[surgery_fields(made) for made in records],
        assessment=s.assessment if submitted else None,
        answers=visible_answers(s) if submitted and exports else None,
    )
    audit.record("api_screening_read", screening_id=s.id, detail=api_keys.label(key))
    return jsonify(schemas.body(detail))


def flag_fields(event: FlagEvent) -> dict[str, Any]:
    return {
        "id": event.flag_id,
        "urgency": event.urgency,
        "self_harm": event.self_harm,
        "raised_at": event.raised_at,
        "withdrawn_at": event.withdrawn_at,
        "acknowledgements": [
            {"at": a.at, "by": a.user.email if a.user else None, "note": a.note,
             "withdrawn_at": a.withdrawn_at}
            for a in event.acknowledgements
        ],
    }  # fmt: skip


def surgery_fields(made: SurgeryRecord) -> dict[str, Any]:
    return {
        "id": made.id,
        "status": made.status,
        "surgery_date": made.surgery_date,
        "planned_date": made.planned_date,
        "procedure": dict(made.procedure or {}),
        "note": made.note,
        "replaces": made.replaces_id,
        "recorded_at": made.recorded_at,
        "recorded_by": surgery.recorded_by(made),
    }


@bp.post("/screenings/<ident>/surgery")
@failed_keys_limit
def record_surgery(ident: str):
    """Record the operation as it happened: 201 with the new record, 200 with the standing one
    when it says the same; 422 when the clinic's rules refuse it (a message per field), 409
    when another record was made since the one `replaces` names."""
    key = authenticate("surgery:write")
    screening_id = schemas.parse_id(ident)
    s = db.session.get(Screening, screening_id)
    if s is None or not sites.visible(key, s):  # another site's is not said to exist
        raise ApiError(404, f"There is no screening {screening_id}.", "id")
    body = bodies.parse_body(bodies.SurgeryInput, request.get_data(cache=False))
    given = surgery.Given(
        status=body.status, surgery_date=body.surgery_date, planned_date=body.planned_date,
        procedure=body.procedure, note=body.note,
    )  # fmt: skip
    replaces = body.replaces if "replaces" in body.model_fields_set else surgery.ANY
    try:
        made, new = surgery.record(s, given, api_key=key, replaces=replaces)
    except surgery.Refused as exc:
        db.session.rollback()
        return error_response(422, str(exc), next(iter(exc.problems)), exc.problems)
    except surgery.Changed as exc:
        db.session.rollback()
        raise ApiError(409, str(exc), "replaces") from None
    result = schemas.SurgeryRecord(**surgery_fields(made))
    return jsonify(schemas.body(result)), 201 if new else 200


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document (no key needed: it holds no data)."""
    return jsonify(document())


# Anything else under /api/v1 answers in JSON too (the app's error pages are HTML, and its 405
# page has no `Allow`): 405 with `Allow` for a method a route does not take, else 404. Plain
# Werkzeug rules with no method list, so that they match every method there is.
ALLOWS = {"GET": "GET, HEAD, OPTIONS", "POST": "POST, OPTIONS"}  # each route takes one


def allowed_here() -> str:
    """The methods this address takes ("" when it is no route's)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method, allow in ALLOWS.items():
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.elsewhere":
            return allow
    return ""


def elsewhere(rest: str = ""):
    allow = allowed_here()
    if allow:
        return error_response(405, f"{request.method} is not allowed here.", Allow=allow)
    return error_response(
        404, "There is nothing here. The API is described at /api/v1/openapi.json."
    )


@bp.record_once
def _register_elsewhere(state) -> None:
    for path in ("/", "/<path:rest>"):
        state.app.url_map.add(Rule(f"{bp.url_prefix}{path}", endpoint="api.elsewhere"))
    state.app.view_functions["api.elsewhere"] = elsewhere
