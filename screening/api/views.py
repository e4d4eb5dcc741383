"""The JSON API's routes: the screenings list, one screening, and the OpenAPI document.

Read-only. Every call needs `Authorization: Bearer <key>` (never a session cookie); every call
that returns patients' data is in the audit log, with the key's prefix and client name (never the
key, never the query: a search may be a patient's name). The list is the staff dashboard's list
(screening/staff/dashboard.py), filtered and ordered the same way, as a clinician sees it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import Rule

from .. import audit, services
from ..extensions import db, limiter, retry_after
from ..models import ApiKey, Screening, utcnow
from ..staff import dashboard
from . import keys, spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")

REALM = 'Bearer realm="screening API"'
ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests",
    500: "server_error",
}


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


def error_response(code: int, message: str, parameter: str | None = None, **headers: str):
    body: dict[str, Any] = {"error": ERROR_NAMES.get(code, "error"), "message": message}
    if parameter is not None:
        body["parameter"] = parameter
    response = jsonify(body)
    response.status_code = code
    response.headers.update(headers)
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    headers = {"WWW-Authenticate": exc.challenge} if exc.challenge else {}
    return error_response(exc.code, exc.message, exc.parameter, **headers)


@bp.errorhandler(spec.BadParameter)
def _bad_parameter(exc: spec.BadParameter):
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
        response.headers["Allow"] = ALLOW
    return response


def _unauthorized(message: str, invalid: bool) -> ApiError:
    """401 with the challenge of RFC 6750: `error="invalid_token"` when a key was sent."""
    return ApiError(
        401, message, challenge=REALM + (', error="invalid_token"' if invalid else "")
    )


def authenticate() -> ApiKey:
    """The key this request carries; 401 without one, or with an unknown or revoked one."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    sent = credentials.strip()
    if not header or scheme.lower() != "bearer" or not sent:
        raise _unauthorized("Send an API key as 'Authorization: Bearer <key>'.", invalid=False)
    key = keys.find_active(sent)
    if key is None:
        # In the audit log: the key's prefix (not secret) if it has one, never the rest.
        prefix = keys.sent_prefix(sent)
        audit.record(
            "api_key_refused",
            detail=f"key {prefix}" if prefix else "not a key of this application",
        )
        db.session.commit()
        raise _unauthorized("The API key is unknown or revoked.", invalid=True)
    key.last_used_at = utcnow()
    g.api_key = key
    return key


def _who(key: ApiKey) -> str:
    return f"API key {key.prefix} ({key.name})"


# --- serialization ----------------------------------------------------------------------------


def timestamp(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def screening_json(s: Screening, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": s.id,
        "reference": s.reference,
        "status": s.effective_status(now),
        "questionnaire": {"id": s.questionnaire_id, "version": s.questionnaire_version},
        "patient": {
            "name": s.patient_name,
            "date_of_birth": day(s.patient_dob),
            "mrn": s.patient_mrn,
        },
        "surgeon": s.surgeon,
        "planned_surgery": s.planned_surgery,
        "surgery_date": day(s.surgery_date),
        "language": s.language,
        "created_at": timestamp(s.created_at),
        "started_at": timestamp(s.started_at),
        "submitted_at": timestamp(s.submitted_at),
        "expires_at": timestamp(s.expires_at),
        "tier": s.tier,
        "total": s.total,
        "has_red_flag": bool(s.has_red_flag),
        "acknowledged_at": timestamp(s.acknowledged_at),
        "reviewed_at": timestamp(s.reviewed_at),
    }


def visible_answers(s: Screening) -> dict[str, Any]:
    """The answers to the questions the patient was shown. An answer kept for the record after
    a later answer hid its question is left out (as scoring and the PDF leave it out)."""
    saved = services.saved_answers(s)
    shown = services.assessment_of(s).answers  # typed, visible ones only
    return {question_id: value for question_id, value in saved.items() if question_id in shown}


# --- routes -----------------------------------------------------------------------------------


def _filters(values: dict[str, Any]) -> dashboard.Filters:
    return dashboard.Filters(
        status=values.get("status", ""),
        tier=values.get("tier", ""),
        flag=values.get("flag", ""),
        surgeon=values.get("surgeon", "").strip(),
        q=values.get("q", "").strip(),
        date_from=values.get("created_from"),
        date_to=values.get("created_to"),
        submitted_from=values.get("submitted_from"),
        submitted_to=values.get("submitted_to"),
        sort=values["sort"],
        order=values["order"],
        page=values["page"],
    )


def _page_link(values: dict[str, Any], page: int) -> str:
    args = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()}
    args["page"] = page
    return url_for("api.list_screenings", **args)


@bp.get("/screenings")
@failed_keys_limit
def list_screenings():
    key = authenticate()
    values = spec.parse_query(request.args)
    filters = _filters(values)
    per_page, page = values["per_page"], values["page"]
    now = utcnow()
    # As a clinician sees the list: every filter, red flags waiting first.
    where = dashboard.condition(filters, clinician=True, now=now)
    total = dashboard.count(where)
    listed = dashboard.select_page(
        where, dashboard.ordering(filters), True, limit=per_page, offset=(page - 1) * per_page
    )
    pages = max(1, -(-total // per_page))
    audit.record(
        "api_listed",
        detail=f"{_who(key)}: page {page}, {len(listed)} of {total} screenings",
    )
    return jsonify(
        {
            "items": [screening_json(s, now) for s in listed],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "next": _page_link(values, page + 1) if page < pages else None,
            "previous": _page_link(values, min(page - 1, pages)) if page > 1 else None,
        }
    )


@bp.get("/screenings/<ident>")
@failed_keys_limit
def get_screening(ident: str):
    key = authenticate()
    screening_id = spec.parse_id(ident)
    s = db.session.get(Screening, screening_id)
    if s is None:
        raise ApiError(404, f"There is no screening {screening_id}.", "id")
    body = screening_json(s, utcnow())
    submitted = s.status == "submitted"
    body["assessment"] = s.assessment if submitted else None
    body["answers"] = visible_answers(s) if submitted else None
    audit.record("api_screening_read", screening_id=s.id, detail=_who(key))
    return jsonify(body)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document (no key needed: it holds no data)."""
    return jsonify(spec.document())


# Anything else under /api/v1 answers in JSON too (the app's error pages are HTML, and its 405
# page has no `Allow`): 405 with `Allow` for a method a route does not take, else 404. Plain
# Werkzeug rules with no method list, so that they match every method there is.
ALLOW = "GET, HEAD, OPTIONS"  # every route here is read-only


def elsewhere(rest: str = ""):
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _ = adapter.match(request.path, method="GET")
    except HTTPException:
        endpoint = None
    if endpoint not in (None, "api.elsewhere"):
        return error_response(405, f"{request.method} is not allowed here.", Allow=ALLOW)
    return error_response(
        404, "There is nothing here. The API is described at /api/v1/openapi.json."
    )


@bp.record_once
def _register_elsewhere(state) -> None:
    for path in ("/", "/<path:rest>"):
        state.app.url_map.add(Rule(f"{bp.url_prefix}{path}", endpoint="api.elsewhere"))
    state.app.view_functions["api.elsewhere"] = elsewhere
