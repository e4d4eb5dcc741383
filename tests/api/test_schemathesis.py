"""Schemathesis against the served OpenAPI document, in process (WSGI), on SQLite and PostgreSQL.

Schemathesis reads /api/v1/openapi.json from the app, generates valid and invalid requests for
each operation (from the document's parameter schemas: garbage included) and checks every
response against the document: no 5xx, only documented status codes, content types and headers,
bodies that match their schemas, invalid input refused and valid input accepted. Every request
carries a valid key; schemathesis also sends some without, which must be refused.

The number of examples is small and bounded so that this stays a few seconds; the database has a
few screenings, so ids 1-4 exist (submitted, red-flagged, invited, expired).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from screening.extensions import db
from screening.models import API_SCOPES, ApiKey, hash_token
from tests import factories
from tests.conftest import PG_URL, make_app, truncate_all

# Hypothesis, run by schemathesis, warns that it cannot tell the function-scoped fixtures are
# reset between examples; they need not be (every call but recording the operation is
# read-only, and a record made by one example leaves the others' answers documented: 200, 201,
# 409 or 422), and this is the only place it applies.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*function-scoped fixture.*:hypothesis.errors.HypothesisDeprecationWarning"
)


# The schema is read from the app when the module is collected (the loader that reads it from a
# fixture, schemathesis.pytest.from_fixture, fails on pytest 9.2: it sets the removed
# `Function._nodeid`). The app is on an in-memory SQLite database, filled by `served`, which
# stores the hash of KEY; schemathesis sends KEY as the document's bearer scheme (so it knows
# which requests it sent without a key, and expects those refused).
KEY = "scr_5c4e3a7d." + "schemathesis-test-key-not-a-secret-0123456789"[:43]
# Schemathesis sends wrong keys by the hundred: the refused-key limit (tests/api/test_auth.py)
# would answer most of its requests with 429.
APP = make_app("sqlite://", SCREENING_API_FAILED_KEY_LIMIT="100000 per minute")
# The same on PostgreSQL (which refuses what SQLite lets through: NUL in text, ids above 2^31-1),
# on the migrated test database; without TEST_DATABASE_URL the `pg_migrated` fixture skips.
APP_PG = make_app(PG_URL or "sqlite://", SCREENING_API_FAILED_KEY_LIMIT="100000 per minute")
# Recording the operation: a body of the documented shape may still be refused by the clinic's
# rules (a date of surgery after today, a procedure the questionnaire does not take), with the
# documented 422; the body's shape itself is checked as every parameter is (400).
CONFIG = schemathesis.Config.from_dict({
    "auth": {"openapi": {"apiKey": {"bearer": KEY}}},
    "operations": [{
        "include-operation-id": "recordSurgery",
        "checks": {"positive_data_acceptance": {
            "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}},
    }],
})
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP, config=CONFIG)
schema_pg = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP_PG, config=CONFIG)


def fill(app) -> None:
    """The key, and ids 1-4: submitted, red-flagged, invited, expired."""
    with app.app_context():
        prefix = KEY.split(".")[0]
        db.session.add(ApiKey(name="schemathesis", prefix=prefix, key_hash=hash_token(KEY),
                              scopes=list(API_SCOPES), all_sites=True))
        db.session.commit()
    ident, _ = factories.screening(app, "Ann Example", surgeon="Dr. A", patient_mrn="MRN-1")
    factories.submit_example(app, ident, "low tier")
    ident, _ = factories.screening(app, "Eve Evans")
    factories.submit_example(app, ident, "self-harm")
    factories.screening(app, "Ivy Invited", surgeon="Dr. B")
    factories.screening(app, "Finn Ford", days=0)


@pytest.fixture
def served():
    with APP.app_context():
        db.create_all()
    fill(APP)
    yield
    with APP.app_context():
        db.session.remove()
        db.drop_all()


@pytest.fixture
def served_pg(pg_migrated):
    truncate_all(pg_migrated)
    fill(APP_PG)
    yield
    with APP_PG.app_context():
        db.session.remove()
        db.engine.dispose()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
def test_the_api_keeps_to_its_document(case, served):
    case.call_and_validate()


@pytest.mark.postgres
@schema_pg.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
def test_the_api_keeps_to_its_document_on_postgresql(case, served_pg):
    case.call_and_validate()
