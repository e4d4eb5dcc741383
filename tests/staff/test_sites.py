"""Sites (data access groups): staff of one site neither see nor open another site's screenings,
on any staff route (dashboard, screening pages, PDF, FHIR, CSV) or through the JSON API; a
network-wide account sees all; API keys read only their sites, with their scopes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.domain import api_keys, sites
from screening.extensions import db
from screening.models import Screening, Site, User
from tests import factories
from tests.web.support import page

from .conftest import login, make_user, set_columns, signed_in
from .test_permissions import INTAKE, MATRIX, urls


@pytest.fixture
def two_sites(app):
    """Site A (the default) and site B, a submitted screening in each, a clinician and an intake
    of A only, and a network-wide clinician."""
    a_screening, _ = factories.submitted(app, "self-harm", name="Alma Anders")
    b_screening, _ = factories.submitted(app, "low tier", name="Bruno Berg")
    with app.app_context():
        a = sites.default()
        b = sites.create("North Clinic", None)
        db.session.commit()
        a_id, b_id = a.id, b.id
    set_columns(app, Screening, b_screening, site_id=b_id)
    people = {
        "clinician_a": make_user(app, "clin.a@clinic.example", ["clinician"]),
        "intake_a": make_user(app, "desk.a@clinic.example", ["intake"]),
        "network": make_user(app, "clin.all@clinic.example", ["clinician"]),
        "admin": make_user(app, "admin@clinic.example", ["admin"]),
    }
    set_columns(app, User, people["network"].id, all_sites=True)
    return {"a": a_id, "b": b_id, "in_a": a_screening, "in_b": b_screening, **people}


def test_another_sites_screening_is_not_found_on_every_staff_route(app, two_sites):
    routes = urls(app, two_sites["in_b"], two_sites["admin"].id)
    screening_routes = {e: r for e, r in routes.items() if "/screenings/" in r[1]}
    assert len(screening_routes) >= 10  # the page, PDF, FHIR, rescore, flags, handout, ...
    for who in ("clinician_a", "intake_a"):
        client = signed_in(app.test_client(), two_sites[who])
        role = "clinician" if who == "clinician_a" else INTAKE
        for endpoint, (method, url) in screening_routes.items():
            if role not in MATRIX[endpoint]:
                continue
            response = client.open(url, method=method)
            assert response.status_code == 404, (who, endpoint, response.status_code)
    network = signed_in(app.test_client(), two_sites["network"])
    assert network.get(f"/staff/screenings/{two_sites['in_b']}").status_code == 200


def test_the_dashboard_and_csv_hold_only_the_users_sites(app, two_sites):
    client = signed_in(app.test_client(), two_sites["clinician_a"])
    text = page(client.get("/staff/")).find("main").text
    assert "Alma Anders" in text and "Bruno Berg" not in text
    response = client.get("/staff/export.csv")
    csv = response.get_data(as_text=True)
    response.close()
    assert "Alma Anders" in csv and "Bruno Berg" not in csv
    network = signed_in(app.test_client(), two_sites["network"])
    text = page(network.get("/staff/")).find("main").text
    assert "Alma Anders" in text and "Bruno Berg" in text


def test_invitations_go_to_one_of_the_users_sites(app, two_sites):
    client = signed_in(app.test_client(), two_sites["intake_a"])
    form = page(client.get("/staff/invitations/new"))
    assert form.find(id="site") is None  # one site: no choice
    both = make_user(app, "desk.both@clinic.example", ["intake"])
    with app.app_context():
        user = db.session.get(User, both.id)
        user.sites = list(db.session.scalars(sa.select(Site)))
        db.session.commit()
    client = signed_in(app.test_client(), both)
    select = page(client.get("/staff/invitations/new")).find(id="site")
    assert select is not None and "North Clinic" in select.text


def key(app, site_ids, scopes=("screenings:read", "exports:read")) -> str:
    with app.app_context():
        _, secret = api_keys.create("EHR", scopes=scopes, site_ids=site_ids)
        db.session.commit()
    return secret


def test_an_api_key_reads_only_its_sites_with_its_scopes(app, two_sites):
    client = app.test_client()
    only_a = {"Authorization": f"Bearer {key(app, [two_sites['a']])}"}
    listed = client.get("/api/v1/screenings", headers=only_a).get_json()
    assert [item["id"] for item in listed["items"]] == [two_sites["in_a"]]
    assert client.get(f"/api/v1/screenings/{two_sites['in_b']}", headers=only_a).status_code == 404
    detail = client.get(f"/api/v1/screenings/{two_sites['in_a']}", headers=only_a).get_json()
    assert detail["answers"]

    no_exports = {"Authorization": f"Bearer {key(app, [two_sites['a']], ('screenings:read',))}"}
    detail = client.get(f"/api/v1/screenings/{two_sites['in_a']}", headers=no_exports).get_json()
    assert detail["answers"] is None and detail["assessment"] is not None
    exports_only = {"Authorization": f"Bearer {key(app, None, ('exports:read',))}"}
    refused = client.get("/api/v1/screenings", headers=exports_only)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"

    everywhere = {"Authorization": f"Bearer {key(app, None)}"}  # made on the command line
    listed = client.get("/api/v1/screenings", headers=everywhere).get_json()
    assert {item["id"] for item in listed["items"]} == {two_sites["in_a"], two_sites["in_b"]}


def test_a_clinic_with_one_site_sees_no_difference(app, client, staff):
    factories.screening(app, "Solo Patient")
    signed_in(client, staff["clinician"])
    assert "Solo Patient" in page(client.get("/staff/")).find("main").text
    assert "site" not in page(client.get("/staff/")).find("main").text.lower()
    assert login(app.test_client(), staff["intake"]).status_code == 303


def test_the_command_line_makes_sites_and_says_who_works_where(app, runner, two_sites):
    from screening.commands import main as screening_cli

    made = runner.invoke(screening_cli, ["sites", "create", "--name", "South Clinic"])
    assert made.exit_code == 0, made.output
    again = runner.invoke(screening_cli, ["sites", "create", "--name", "South Clinic"])
    assert again.exit_code == 1 and "already exists" in again.output
    listed = runner.invoke(screening_cli, ["sites", "list"]).output
    assert "Main site" in listed and "North Clinic" in listed and "South Clinic" in listed
    who = two_sites["clinician_a"]
    granted = runner.invoke(screening_cli, ["sites", "grant", "--email", who.email,
                                            "--site", "North Clinic"])  # fmt: skip
    assert granted.exit_code == 0, granted.output
    client = signed_in(app.test_client(), who)
    assert client.get(f"/staff/screenings/{two_sites['in_b']}").status_code == 200
    assert client.get(f"/staff/screenings/{two_sites['in_a']}").status_code == 404
    unknown = runner.invoke(screening_cli, ["sites", "grant", "--email", who.email,
                                            "--site", "Nowhere"])  # fmt: skip
    assert unknown.exit_code == 1 and "there is no site" in unknown.output
    # With several sites, a new account needs its sites named.
    vague = runner.invoke(screening_cli, ["users", "create", "--email", "x@clinic.example",
                                          "--role", "intake", "--password-stdin"],
                          input="Velvet-Harbour-Compass-58\n")  # fmt: skip
    assert vague.exit_code == 1 and "several sites" in vague.output
    # An admin without --site is network-wide (the first admin of a clinic must add sites).
    admin = runner.invoke(screening_cli, ["users", "create", "--email", "boss@clinic.example",
                                          "--role", "admin", "--password-stdin"],
                          input="Velvet-Harbour-Compass-58\n")  # fmt: skip
    assert admin.exit_code == 0, admin.output
    from screening.domain import sites
    from screening.extensions import db
    from screening.models import User

    with app.app_context():
        boss = db.session.scalar(db.select(User).where(User.email == "boss@clinic.example"))
        assert sites.ids_of(boss) is None  # every site
