"""API keys: a bearer key on every call, never a cookie; only the key's hash is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from screening.domain import api_keys as keys
from screening.extensions import db
from screening.models import ApiKey, utcnow
from tests import factories
from tests.staff.conftest import audit_events, row, set_columns, signed_in, snapshot

from .conftest import bearer, call, make_key, ok

PATHS = ["/screenings", "/screenings/1", "/screenings?page=abc", "/screenings/999"]


def refused(response, invalid: bool) -> dict:
    assert response.status_code == 401, response.status_code
    assert response.mimetype == "application/json"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is invalid
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == "unauthorized"
    return body


def test_no_key_wrong_key_revoked_key_are_401(app, client, api_key):
    factories.submitted(app, "low tier")
    before = snapshot(app)
    for path in PATHS:
        refused(call(client, path, None), invalid=False)
        for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", api_key.secret,
                       f"Token {api_key.secret}"):
            response = client.get(f"/api/v1{path}", headers={"Authorization": header})
            refused(response, invalid=False)
        refused(call(client, path, "scr_00000000.not-a-key"), invalid=True)
        refused(call(client, path, api_key.secret + "x"), invalid=True)
        refused(call(client, path, api_key.secret[:-1]), invalid=True)
        refused(call(client, path, api_key.prefix), invalid=True)  # the prefix opens nothing
        refused(call(client, path, "x" * 10_000), invalid=True)
    after = snapshot(app)
    refusals = audit_events(app, "api_key_refused")
    assert {k: v for k, v in after.items() if k != "audit_events"} == {
        k: v for k, v in before.items() if k != "audit_events"
    }  # nothing else recorded, the key's last use unchanged
    # Each refused key is in the audit log: its prefix if it has one, never the rest of it.
    assert len(refusals) == len(PATHS) * 5
    details = {e.detail for e in refusals}
    assert details == {"key scr_00000000", f"key {api_key.prefix}",
                       "not a key of this application"}
    for event in refusals:
        assert api_key.secret.split(".")[1][:8] not in (event.detail or "")
        assert event.user_id is None

    assert ok(call(client, "/screenings", api_key))["total"] == 1
    with app.app_context():
        assert keys.revoke(db.session.get(ApiKey, api_key.id))
        db.session.commit()
    for path in PATHS:
        refused(call(client, path, api_key), invalid=True)
    # The scheme's name is case-insensitive; a revoked key stays refused however it is spelled.
    refused(client.get("/api/v1/screenings", headers={"Authorization": f"bearer {api_key.secret}"}),
            invalid=True)


def test_the_scheme_is_case_insensitive(app, client, api_key):
    headers = {"Authorization": f"bEaReR {api_key.secret}"}
    assert ok(client.get("/api/v1/screenings", headers=headers))["total"] == 0


def test_a_staff_session_is_not_a_key(app, client, staff):
    """Signed in as a clinician, the API still wants a key: a session cookie opens nothing."""
    signed_in(client, staff["clinician"])
    refused(call(client, "/screenings", None), invalid=False)
    refused(call(client, "/screenings/1", None), invalid=False)


def test_calls_set_no_cookie_and_are_not_cached(app, client, api_key):
    ident, _ = factories.submitted(app, "low tier")
    for path in ("/screenings", f"/screenings/{ident}", "/screenings?page=0", "/screenings/9999",
                 "/openapi.json"):
        response = call(client, path, api_key)
        assert "Set-Cookie" not in response.headers, path
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.mimetype == "application/json", path
    assert client.get_cookie("session") is None


def test_last_use_is_kept(app, client, api_key):
    assert row(app, ApiKey, api_key.id)["last_used_at"] is None
    ok(call(client, "/screenings", api_key))
    used = row(app, ApiKey, api_key.id)["last_used_at"]
    assert used is not None and abs(used - utcnow()) < dt.timedelta(minutes=1)
    set_columns(app, ApiKey, api_key.id, last_used_at=utcnow() - dt.timedelta(days=3))
    assert call(client, "/screenings?per_page=0", api_key).status_code == 400
    assert abs(row(app, ApiKey, api_key.id)["last_used_at"] - utcnow()) < dt.timedelta(minutes=1)


def test_only_the_hash_of_a_key_is_stored(app, client):
    key = make_key(app, "Lab system")
    ident, _ = factories.submitted(app, "low tier")
    ok(call(client, "/screenings", key))
    ok(call(client, f"/screenings/{ident}", key))
    stored = row(app, ApiKey, key.id)
    assert stored["key_hash"] == hashlib.sha256(key.secret.encode()).hexdigest()
    assert key.secret.startswith(stored["prefix"] + ".")
    secret_part = key.secret.split(".", 1)[1]
    everything = json.dumps(snapshot(app))
    assert key.secret not in everything and secret_part not in everything
    assert secret_part[:16] not in everything
    for event in audit_events(app):
        assert key.secret not in (event.detail or "")


def test_keys_are_long_and_distinct(app):
    made = [make_key(app, f"client {n}") for n in range(20)]
    assert len({k.secret for k in made}) == len({k.prefix for k in made}) == 20
    for k in made:
        prefix, secret = k.secret.split(".", 1)
        assert prefix == k.prefix and len(prefix) == 12
        assert len(secret) >= 43  # 32 bytes, URL-safe base64: 256 bits


def test_a_key_needs_a_client_name(app):
    for name in ("", "   ", "x" * 101):
        with app.app_context(), pytest.raises(ValueError):
            keys.create(name)


def test_the_openapi_document_needs_no_key(app, client):
    document = ok(client.get("/api/v1/openapi.json"))
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/screenings", "/screenings/{id}",
                                      "/screenings/{id}/surgery"}
    assert set(document["paths"]["/screenings/{id}/surgery"]) == {"post"}
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"]}
    for operation in (document["paths"]["/screenings"]["get"],
                      document["paths"]["/screenings/{id}"]["get"]):
        assert {"200", "400", "401"} <= set(operation["responses"])
    assert "404" in document["paths"]["/screenings/{id}"]["get"]["responses"]
    names = [p["name"] for p in document["paths"]["/screenings"]["get"]["parameters"]]
    assert names == ["status", "tier", "flag", "reviewed", "surgeon", "q", "created_from",
                     "created_to", "submitted_from", "submitted_to", "sort", "order", "page",
                     "per_page"]


def test_other_addresses_and_methods_answer_in_json(app, client, api_key):
    for method, path, status in [
        ("GET", "/api/v1/", 404), ("GET", "/api/v1/nothing", 404),
        ("GET", "/api/v1/screenings/1/answers", 404),
        ("POST", "/api/v1/screenings", 405), ("DELETE", "/api/v1/screenings/1", 405),
        ("GET", "/api/v1/screenings/1/surgery", 405),
        ("PUT", "/api/v1/screenings/1/surgery", 405),
        ("PUT", "/api/v1/screenings/1", 405), ("PATCH", "/api/v1/openapi.json", 405),
    ]:
        response = client.open(path, method=method, headers=bearer(api_key))
        assert response.status_code == status, (method, path, response.status_code)
        assert response.mimetype == "application/json"
        if status == 405:
            assert response.headers["Allow"] == (
                "POST, OPTIONS" if path.endswith("/surgery") else "GET, HEAD, OPTIONS")
    response = client.options("/api/v1/screenings")
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert client.options("/api/v1/screenings/1/surgery").headers["Allow"] == "POST, OPTIONS"
    # A POST changes nothing, with or without a key, and needs no CSRF token to be refused.
    assert client.post("/api/v1/screenings", data={"x": "1"}).status_code == 405


class TestRefusedKeysLimit:
    @pytest.fixture
    def app_config(self):
        return {"SCREENING_API_FAILED_KEY_LIMIT": "3 per 15 minutes"}

    def test_refused_keys_from_one_address_are_stopped_and_good_keys_are_not(
        self, app, client, api_key
    ):
        for n in range(3):
            refused(call(client, "/screenings", f"scr_0000000{n}.guess"), invalid=True)
        # Both routes share the count; the fourth refused key is not even looked up.
        response = call(client, "/screenings/1", "scr_00000009.guess")
        assert response.status_code == 429
        assert response.mimetype == "application/json"
        assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60 + 1  # the limit's window
        assert response.get_json()["error"] == "too_many_requests"
        assert len(audit_events(app, "api_key_refused")) == 3
        # Missing keys and good keys never counted, and a good key from another address works.
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = "10.0.0.8"
        for _ in range(5):
            refused(call(other, "/screenings", None), invalid=False)
        assert ok(call(other, "/screenings", api_key))["total"] == 0
