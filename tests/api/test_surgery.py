"""POST /api/v1/screenings/<id>/surgery: the operation as it happened, recorded by a key with the
`surgery:write` scope (and no other key), in its sites only; the screening's detail carries the
record that stands and every record; the shape is checked (400), then the clinic's rules (422
with a message per field); a change decided on an old record is refused (409); audited; no input
gives a 5xx."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.api import bodies
from screening.domain import api_keys, sites, surgery
from screening.extensions import db
from screening.models import Screening, SurgeryRecord, utcnow
from tests import factories
from tests.staff.conftest import audit_events, count, scalars, set_columns

from .conftest import bearer, call, ok

TODAY = dt.date.today()  # the clinic's day: SCREENING_TIMEZONE is UTC here


def make_key(app, scopes=("surgery:write",), site_ids=None) -> tuple[str, str]:
    """A key with `scopes` (in every site, or `site_ids`): (secret, its label)."""
    with app.app_context():
        key, secret = api_keys.create("Theatre system", scopes=scopes, site_ids=site_ids)
        db.session.commit()
        label = api_keys.label(key)
    return secret, label


def record(client, ident, key, body, raw: bytes | None = None, **headers):
    data = raw if raw is not None else json.dumps(body)
    return client.post(f"/api/v1/screenings/{ident}/surgery", data=data,
                       headers={**bearer(key), "Content-Type": "application/json", **headers})


def records(app, ident: int) -> list[SurgeryRecord]:
    return scalars(app, sa.select(SurgeryRecord).where(SurgeryRecord.screening_id == ident)
                   .order_by(SurgeryRecord.id))  # fmt: skip


@pytest.fixture
def screening(app) -> int:
    ident, _ = factories.submitted(app, "low tier")
    set_columns(app, Screening, ident, created_at=utcnow() - dt.timedelta(days=10))
    return ident


def test_a_key_records_the_operation_and_the_detail_carries_it(app, client, screening):
    writer, label = make_key(app)
    reader, _ = make_key(app, ("screenings:read",))
    day = (TODAY - dt.timedelta(days=3)).isoformat()
    body = {"status": "performed", "surgery_date": day,
            "procedure": {"surgery_type": "fusion", "fusion_levels": "one"}, "note": "L5-S1"}
    response = record(client, screening, writer, body)
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    [stored] = records(app, screening)
    assert made == {
        "id": stored.id, "status": "performed", "surgery_date": day, "planned_date": None,
        "procedure": {"surgery_type": "fusion", "fusion_levels": "one"}, "note": "L5-S1",
        "replaces": None, "recorded_at": made["recorded_at"], "recorded_by": label,
    }
    assert (stored.via, stored.recorded_by_id) == ("api", None)
    [event] = audit_events(app, "surgery_recorded")
    assert event.screening_id == screening
    assert event.detail == f"record {stored.id}: performed; {label}"

    again = record(client, screening, writer, body)  # the same again: nothing new
    assert again.status_code == 200 and again.get_json() == made
    postponed = record(client, screening, writer, {"status": "postponed", "replaces": stored.id})
    assert postponed.status_code == 201
    assert postponed.get_json()["replaces"] == stored.id
    assert len(audit_events(app, "surgery_recorded")) == 2

    detail = ok(call(client, f"/screenings/{screening}", reader))
    assert detail["surgery"] == postponed.get_json()
    assert detail["surgery_records"] == [made, postponed.get_json()]
    none_yet, _ = factories.screening(app)
    detail = ok(call(client, f"/screenings/{none_yet}", reader))
    assert detail["surgery"] is None and detail["surgery_records"] == []


def test_only_a_key_with_the_write_scope_records_and_only_in_its_sites(app, client, screening):
    body = {"status": "cancelled"}
    reader, _ = make_key(app, ("screenings:read", "exports:read"))
    refused = record(client, screening, reader, body)
    assert refused.status_code == 403
    assert refused.get_json()["message"] == "This API key may not write surgery (surgery:write)."
    writer, _ = make_key(app)
    assert call(client, f"/screenings/{screening}", writer).status_code == 403  # writes only
    assert record(client, screening, None, body).status_code == 401
    assert record(client, screening, "scr_00000000.nope", body).status_code == 401
    with app.app_context():
        other = sites.create("North Clinic", None)
        db.session.commit()
        other_id, home_id = other.id, sites.default().id
    set_columns(app, Screening, screening, site_id=other_id)
    home_only, _ = make_key(app, site_ids=[home_id])
    missing = record(client, screening, home_only, body)
    assert missing.status_code == 404 and missing.get_json()["parameter"] == "id"
    assert record(client, 987654, writer, body).status_code == 404
    assert count(app, SurgeryRecord) == 0 and audit_events(app, "surgery_recorded") == []
    assert record(client, screening, writer, body).status_code == 201  # every site


def test_a_change_decided_on_an_older_record_is_refused(app, client, screening):
    writer, _ = make_key(app)
    first = record(client, screening, writer, {"status": "postponed", "replaces": None})
    assert first.status_code == 201
    stale = record(client, screening, writer, {"status": "cancelled", "replaces": None})
    assert stale.status_code == 409
    assert stale.get_json()["error"] == "conflict" and stale.get_json()["parameter"] == "replaces"
    assert [r.status for r in records(app, screening)] == ["postponed"]


@pytest.mark.parametrize(
    ("body", "parameter", "message"),
    [
        ({"status": "performed", "note": "fusion"}, "surgery_date", "Enter the date of surgery."),
        ({"status": "performed", "surgery_date": (TODAY + dt.timedelta(days=1)).isoformat(),
          "note": "x"}, "surgery_date", "The date of surgery must be today"),
        ({"status": "performed", "surgery_date": "2001-01-01", "note": "x"}, "surgery_date",
         "cannot be before this pre-operative screening was made"),
        ({"status": "performed", "surgery_date": TODAY.isoformat()}, "procedure",
         "Say which procedure was performed"),
        ({"status": "performed", "surgery_date": TODAY.isoformat(),
          "procedure": {"surgery_type": "not_sure"}}, "procedure.surgery_type",
         "Leave it blank when the clinic does not know."),
        ({"status": "performed", "surgery_date": TODAY.isoformat(),
          "procedure": {"surgery_type": "laser"}}, "procedure.surgery_type", ""),
        ({"status": "performed", "surgery_date": TODAY.isoformat(),
          "procedure": {"surgery_type": True}}, "procedure.surgery_type", ""),
        ({"status": "performed", "surgery_date": TODAY.isoformat(),
          "procedure": {"pain": 10**40}}, "procedure.pain", "Not a question the clinic enters"),
        ({"status": "cancelled", "surgery_date": TODAY.isoformat()}, "surgery_date",
         "Only a performed operation has a date of surgery."),
        ({"status": "cancelled", "procedure": {"surgery_type": "fusion"}}, "procedure",
         "Only a performed operation has a procedure performed."),
        ({"status": "postponed", "planned_date": TODAY.isoformat()}, "planned_date",
         "The new planned date must be after today"),
    ],
)
def test_the_clinics_rules_refuse_with_a_message_per_field(app, client, screening, body,
                                                          parameter, message):
    writer, _ = make_key(app)
    response = record(client, screening, writer, body)
    assert response.status_code == 422, response.get_json()
    answer = response.get_json()
    assert answer["error"] == "unprocessable" and answer["parameter"] == parameter
    assert message in answer["problems"][parameter] and answer["message"]
    assert count(app, SurgeryRecord) == 0 and audit_events(app, "surgery_recorded") == []


@pytest.mark.parametrize(
    ("raw", "parameter"),
    [
        (b"", "body"), (b"not json", "body"), (b"[]", "body"), (b'"performed"', "body"),
        (b"{}", "status"), (b'{"status": "done"}', "status"), (b'{"status": null}', "status"),
        (b'{"status": "cancelled", "when": 1}', "when"),
        (b'{"status": "performed", "surgery_date": "2026-02-30"}', "surgery_date"),
        (b'{"status": "performed", "surgery_date": "5 May 2026"}', "surgery_date"),
        (b'{"status": "performed", "surgery_date": 1767225600}', "surgery_date"),
        (b'{"status": "cancelled", "note": "a\\u0000b"}', "note"),
        (b'{"status": "cancelled", "note": 5}', "note"),
        (b'{"status": "cancelled", "replaces": "1"}', "replaces"),
        (b'{"status": "cancelled", "replaces": 0}', "replaces"),
        (b'{"status": "cancelled", "replaces": 99999999999}', "replaces"),
        (b'{"status": "performed", "procedure": ["fusion"]}', "procedure"),
        (b'{"status": "performed", "procedure": {"surgery_type": ["fusion"]}}',
         "procedure.surgery_type"),
        (b'{"status": "performed", "procedure": {"surgery_type": 1.5}}',
         "procedure.surgery_type"),
        (b'{"status": "cancelled", "note": "' + b"x" * 2001 + b'"}', "note"),
    ],
)
def test_a_body_of_another_shape_is_a_bad_request(app, client, screening, raw, parameter):
    writer, _ = make_key(app)
    response = record(client, screening, writer, None, raw=raw)
    assert response.status_code == 400, (raw, response.get_json())
    assert response.get_json()["parameter"].startswith(parameter)
    assert count(app, SurgeryRecord) == 0


def test_the_body_and_the_domain_agree_on_the_note(app):
    assert bodies.NOTE_LENGTH == surgery.NOTE_LENGTH


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.dates().map(dt.date.isoformat),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=3),
    max_leaves=8,
)
FIELDS = ("status", "surgery_date", "planned_date", "procedure", "note", "replaces", "other")


@pytest.mark.filterwarnings(
    "ignore:.*function-scoped fixture.*:hypothesis.errors.HypothesisDeprecationWarning")
@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES | st.sampled_from(
    [*surgery.STATUSES, "surgery_type", {"surgery_type": "fusion"}, TODAY.isoformat()]),
    max_size=6))
def test_no_body_gives_a_server_error(app, client, screening, body):
    writer = getattr(app, "_surgery_test_key", None)
    if writer is None:
        writer = app._surgery_test_key = make_key(app)[0]
    response = record(client, screening, writer, body)
    assert response.status_code in (200, 201, 400, 409, 422), (body, response.get_json())
    assert response.mimetype == "application/json"


def test_a_whole_number_may_be_written_with_a_point_zero(app, client, screening):
    """JSON Schema's integer: 1.0 is one (schemathesis sends it), "1" and true are not."""
    writer, _ = make_key(app)
    first = record(client, screening, writer, {"status": "postponed"}).get_json()
    response = record(client, screening, writer, {"status": "cancelled",
                                                  "replaces": float(first["id"])})
    assert response.status_code == 201 and response.get_json()["replaces"] == first["id"]
    for wrong in (str(first["id"]), True, first["id"] + 0.5):
        response = record(client, screening, writer, {"status": "postponed", "replaces": wrong})
        assert response.status_code == 400
        assert response.get_json()["message"] == "replaces: not a whole number."
