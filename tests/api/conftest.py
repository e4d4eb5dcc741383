"""Fixtures for the JSON API's tests: API keys, and calls that carry one.

The staff side's helpers (accounts, screenings made and submitted directly, the audit trail)
come from tests/staff/conftest.py; every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from screening.domain import api_keys as keys
from screening.extensions import db
from tests.staff.conftest import csrf, staff  # noqa: F401 (fixtures used here)
from tests.staff.test_dashboard import people  # noqa: F401 (the dashboard's own test data)


@dataclass(frozen=True)
class Key:
    id: int
    secret: str
    prefix: str
    name: str


def make_key(app, name: str = "Hospital EHR", scopes: tuple[str, ...] | None = None) -> Key:
    """An API key made the product's way (with the read scopes, or `scopes`), committed; its
    secret as shown once."""
    with app.app_context():
        key, secret = keys.create(name, **({"scopes": scopes} if scopes else {}))
        db.session.commit()
        made = Key(key.id, secret, key.prefix, key.name)
        db.session.remove()
    return made


@pytest.fixture
def app_config() -> dict:
    # Tests that send many wrong keys on purpose; test_auth.py tests the limit itself.
    return {"SCREENING_API_FAILED_KEY_LIMIT": "1000 per minute"}


@pytest.fixture
def api_key(app) -> Key:
    return make_key(app)


def bearer(key: Key | str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.secret if isinstance(key, Key) else key}"}


def call(client, path: str, key: Key | str | None):
    """GET `path` (under /api/v1) with `key`, or with no Authorization header."""
    return client.get(f"/api/v1{path}", headers=bearer(key) if key is not None else {})


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    return response.get_json()
