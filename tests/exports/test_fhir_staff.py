"""GET /staff/screenings/<id>/fhir.json: the bundle for clinicians, audited; nobody else."""

from __future__ import annotations

import json

import pytest

from screening.domain import exporting
from screening.extensions import db
from screening.models import ROLES, Screening
from tests import factories
from tests.staff.conftest import Staff, audit_events, make_user, signed_in, snapshot
from tests.web.support import page

from .support import check_bundle


@pytest.fixture
def staff(app) -> dict[str, Staff]:
    return {role: make_user(app, f"{role}@clinic.example", [role]) for role in ROLES}


def test_a_clinician_downloads_the_bundle(app, staff):
    ident, _ = factories.submitted(app, "high tier", name="Hal High", patient_mrn="MRN-7")
    client = signed_in(app.test_client(), staff["clinician"])
    before = snapshot(app)
    response = client.get(f"/staff/screenings/{ident}/fhir.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="screening-S-{ident:06d}-fhir.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    bundle = json.loads(response.get_data(as_text=True))
    check_bundle(bundle)
    with app.app_context():
        assert bundle == json.loads(
            json.dumps(exporting.fhir_bundle(db.session.get(Screening, ident), None))
        )
        db.session.remove()
    [event] = audit_events(app, "fhir_exported")
    assert (event.user_id, event.screening_id, event.detail) == (
        staff["clinician"].id,
        ident,
        None,
    )
    # Nothing else changed: a GET records what it gave out and nothing more.
    after = snapshot(app)
    assert after.pop("audit_events")[:-1] == before.pop("audit_events")
    assert after == before


def test_the_screening_page_offers_it_to_clinicians_only(app, staff):
    ident, _ = factories.submitted(app, "low tier")
    link = f"/staff/screenings/{ident}/fhir.json"
    clinician = signed_in(app.test_client(), staff["clinician"])
    links = [
        a.attrs.get("href") for a in page(clinician.get(f"/staff/screenings/{ident}")).find_all("a")
    ]
    assert link in links and f"/staff/screenings/{ident}/summary.pdf" in links
    intake = signed_in(app.test_client(), staff["intake"])
    assert link not in intake.get(f"/staff/screenings/{ident}").get_data(as_text=True)
    waiting, _ = factories.screening(app, "Ivy Invited")
    html = clinician.get(f"/staff/screenings/{waiting}").get_data(as_text=True)
    assert f"/staff/screenings/{waiting}/fhir.json" not in html


def test_intake_and_admin_may_not_and_an_open_screening_has_none(app, staff):
    ident, _ = factories.submitted(app, "low tier")
    for role in ("intake", "admin"):
        client = signed_in(app.test_client(), staff[role])
        response = client.get(f"/staff/screenings/{ident}/fhir.json")
        assert response.status_code == 403, role
        assert "resourceType" not in response.get_data(as_text=True)
    waiting, _ = factories.screening(app, "Ivy Invited")
    client = signed_in(app.test_client(), staff["clinician"])
    assert client.get(f"/staff/screenings/{waiting}/fhir.json").status_code == 409
    assert client.get("/staff/screenings/999999/fhir.json").status_code == 404
    assert audit_events(app, "fhir_exported") == []
    anonymous = app.test_client().get(f"/staff/screenings/{ident}/fhir.json")
    assert anonymous.status_code in (302, 303)
    assert "/staff/login" in anonymous.headers["Location"]
