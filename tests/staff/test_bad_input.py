"""No input makes the clinic's side answer 5xx: ids beyond what the database holds, control
characters in form fields, huge page numbers, a `next` with a line break. Every test runs on
SQLite and PostgreSQL (which refuses what SQLite lets through: NUL in text, ids above 2^31-1)."""

from __future__ import annotations

import pytest

from screening.web import LARGEST_ID

from .conftest import make_user, signed_in

EVERY_ROLE = ["intake", "clinician", "admin"]


@pytest.fixture
def everyone(app, client):
    """Signed in with every role, so that only the input decides the answer."""
    return signed_in(client, make_user(app, "all@clinic.example", EVERY_ROLE))


def id_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules()
                   if r.endpoint.startswith("staff.") and "<id:" in r.rule),
                  key=lambda r: r.rule)  # fmt: skip


def test_every_route_with_an_id_exists(app):
    names = {r.endpoint for r in id_rules(app)}
    assert {"staff.screening", "staff.summary_pdf", "staff.fhir_bundle", "staff.rescore",
            "staff.send", "staff.revoke", "staff.enable_user", "staff.revoke_api_key",
            "staff.acknowledge"} <= names  # fmt: skip


@pytest.mark.parametrize("ident", [LARGEST_ID + 1, 2**63, 10**30, 0])
def test_an_id_the_database_cannot_hold_is_not_found(app, client, everyone, ident):
    for rule in id_rules(app):
        url = rule.build({name: ident for name in rule.arguments}, append_unknown=False)[1]
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method)
        assert response.status_code == 404, (method, url, response.status_code)


def test_the_largest_id_is_an_ordinary_missing_screening(app, client, everyone):
    assert client.get(f"/staff/screenings/{LARGEST_ID}").status_code == 404
