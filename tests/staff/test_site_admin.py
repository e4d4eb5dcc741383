"""The admin pages for sites: a network-wide admin adds sites and puts staff and API keys in
them; a site-level admin sees, changes and audits only what is within their own sites (anything
else is "not found", as another site's screening is) and adds no sites. Bad input is a form
error (422) or not found, never a crash; CSRF is checked; names are escaped."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.domain import api_keys, audit, sites
from screening.extensions import db
from screening.models import ApiKey, AuditEvent, Screening, Site, User
from tests import factories
from tests.web.support import page

from .conftest import (
    audit_events,
    count,
    csrf_from,
    flashes,
    location,
    make_user,
    row,
    scalars,
    set_columns,
    signed_in,
    snapshot,
    token_of,
)

GOOD = "Quiet-River-Lantern-92"
NEW_USER = {"email": "new.person@clinic.example", "name": "New Person", "roles": ["intake"],
            "password": GOOD}  # fmt: skip


def make_key(app, name: str, site_ids: list[int] | None) -> int:
    """A key in these sites (None: every site, as the command line makes one)."""
    with app.app_context():
        key, _ = api_keys.create(name, site_ids=site_ids)
        db.session.commit()
        return key.id


def site_ids_of(app, model, ident) -> tuple[bool, list[int]]:
    with app.app_context():
        holder = db.session.get(model, ident)
        found = holder.all_sites, sorted(site.id for site in holder.sites)
        db.session.remove()
    return found


@pytest.fixture
def network(app):
    """Site A (the default) and site B, a screening in each; a network-wide admin and an admin
    of A only; staff of A, of B, of both, and network-wide; a key of A, of B and of every site."""
    in_a, _ = factories.submitted(app, "low tier", name="Alma Anders")
    in_b, _ = factories.submitted(app, "low tier", name="Bruno Berg")
    with app.app_context():
        a, b = sites.default(), sites.create("North Clinic", None)
        db.session.commit()
        a_id, b_id = a.id, b.id
    set_columns(app, Screening, in_b, site_id=b_id)
    people = {
        "admin": make_user(app, "admin@clinic.example", ["admin"]),
        "admin_a": make_user(app, "admin.a@clinic.example", ["admin"], all_sites=False),
        "intake_a": make_user(app, "desk.a@clinic.example", ["intake"]),
        "clinician_b": make_user(app, "clin.b@clinic.example", ["clinician"]),
        "both": make_user(app, "clin.both@clinic.example", ["clinician"]),
        "everywhere": make_user(app, "clin.all@clinic.example", ["clinician"], all_sites=True),
    }
    with app.app_context():
        site_b = db.session.get(Site, b_id)
        clinician_b = db.session.get(User, people["clinician_b"].id)
        both = db.session.get(User, people["both"].id)
        clinician_b.sites = [site_b]
        both.sites.append(site_b)
        db.session.commit()
    keys = {"key_a": make_key(app, "Lab A", [a_id]), "key_b": make_key(app, "Lab B", [b_id]),
            "key_all": make_key(app, "Network EHR", None)}  # fmt: skip
    return {"a": a_id, "b": b_id, "in_a": in_a, "in_b": in_b, **people, **keys}


def rows(response) -> dict[str, list[str]]:
    """The first cell of each row of the page's table -> the other cells' text."""
    body = page(response).find("tbody")
    return {tr.find_all("td")[0].text: [td.text for td in tr.find_all("td")[1:]]
            for tr in body.find_all("tr")}  # fmt: skip


def checkboxes(response, name: str) -> dict[str, bool]:
    """value -> checked, for the checkboxes called `name`."""
    found = page(response).find_all("input", name=name)
    return {box.attrs["value"]: "checked" in box.attrs for box in found}


# --- a network-wide admin ---------------------------------------------------------------------


def test_a_network_admin_adds_a_site_and_sees_each_sites_counts(app, network):
    client = signed_in(app.test_client(), network["admin"])
    listing = client.get("/staff/sites")
    assert listing.status_code == 200
    assert page(listing).find("a", href="/staff/sites") is not None  # in the staff menu
    # Main site: admin_a, intake_a, both; North Clinic: clinician_b, both (network-wide apart).
    assert rows(listing) == {"Main site": ["3", "1"], "North Clinic": ["2", "1"]}
    assert "Network-wide staff (all sites), not counted above: 2." in page(listing).text

    response = client.post("/staff/sites", data={"name": "  South   Clinic "})
    assert response.status_code == 303 and location(response) == "/staff/sites"
    [site] = scalars(app, sa.select(Site).where(Site.name == "South Clinic"))
    [event] = [e for e in audit_events(app, "site_created") if e.user_id is not None]
    assert (event.user_id, event.detail) == (network["admin"].id, f"site {site.id}")
    assert "The site South Clinic is added." in flashes(client)[0]
    assert rows(client.get("/staff/sites"))["South Clinic"] == ["0", "0"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Enter the site's name."), ("   ", "Enter the site's name."),
     ("x" * 101, "Use at most 100 characters."),
     ("North Clinic", "A site with this name already exists."),
     (" North    Clinic", "A site with this name already exists."),
     ("North\x00Clinic", "Remove the control characters")],
)  # fmt: skip
def test_a_site_needs_a_new_name_of_1_to_100_characters(app, network, name, message):
    client = signed_in(app.test_client(), network["admin"])
    before = snapshot(app)
    response = client.post("/staff/sites", data={"name": name})
    assert response.status_code == 422
    assert page(response).find(id="error-summary") is not None
    assert message in page(response).find("main").text
    assert snapshot(app) == before


def test_a_network_admin_puts_a_new_user_in_chosen_sites_or_all(app, network):
    client = signed_in(app.test_client(), network["admin"])
    form = client.get("/staff/users")
    assert checkboxes(form, "sites") == {str(network["a"]): False, str(network["b"]): False}
    assert page(form).find("input", name="all_sites") is not None
    response = client.post("/staff/users", data={**NEW_USER, "sites": [str(network["b"])]})
    assert response.status_code == 303, page(response).find("main").text
    [user] = scalars(app, sa.select(User).where(User.email == NEW_USER["email"]))
    assert site_ids_of(app, User, user.id) == (False, [network["b"]])
    assert rows(client.get("/staff/users"))[NEW_USER["email"]][4] == "North Clinic"

    everywhere = {**NEW_USER, "email": "roam@clinic.example", "all_sites": "y",
                  "sites": [str(network["a"])]}  # fmt: skip
    assert client.post("/staff/users", data=everywhere).status_code == 303
    [user] = scalars(app, sa.select(User).where(User.email == "roam@clinic.example"))
    assert site_ids_of(app, User, user.id) == (True, [])
    assert rows(client.get("/staff/users"))["roam@clinic.example"][4] == "All sites"


@pytest.mark.parametrize(
    ("sites_posted", "message"),
    [([], "Choose at least one site, or all sites."),
     (["999999"], "Choose sites from the list."),
     (["2147483648"], "Choose sites from the list."),
     (["North Clinic"], "Choose sites from the list."),
     (["1", "-1"], "Choose sites from the list."),
     (["9" * 400], "Choose sites from the list.")],
)  # fmt: skip
def test_a_new_users_sites_must_be_from_the_list(app, network, sites_posted, message):
    client = signed_in(app.test_client(), network["admin"])
    before = snapshot(app)
    response = client.post("/staff/users", data={**NEW_USER, "sites": sites_posted})
    assert response.status_code == 422
    assert message in page(response).find("main").text
    assert snapshot(app) == before


def test_a_network_admin_changes_a_users_sites(app, network):
    client = signed_in(app.test_client(), network["admin"])
    ident = network["intake_a"].id
    listing = client.get("/staff/users")
    assert page(listing).find("a", href=f"/staff/users/{ident}/sites") is not None
    form = client.get(f"/staff/users/{ident}/sites")
    assert form.status_code == 200
    assert checkboxes(form, "sites") == {str(network["a"]): True, str(network["b"]): False}

    both = [str(network["a"]), str(network["b"])]
    response = client.post(f"/staff/users/{ident}/sites", data={"sites": both})
    assert response.status_code == 303 and location(response) == "/staff/users"
    assert site_ids_of(app, User, ident) == (False, sorted([network["a"], network["b"]]))
    [event] = audit_events(app, "access_changed")
    assert event.user_id == network["admin"].id
    assert event.detail == f"user {ident}: sites {network['a']},{network['b']}"
    assert "now works for Main site, North Clinic" in flashes(client)[0]
    # The change holds from their next page on.
    desk = signed_in(app.test_client(), network["intake_a"])
    assert desk.get(f"/staff/screenings/{network['in_b']}").status_code == 200

    assert client.post(f"/staff/users/{ident}/sites", data={"all_sites": "y"}).status_code == 303
    assert site_ids_of(app, User, ident) == (True, [])
    assert audit_events(app, "access_changed")[-1].detail == f"user {ident}: all sites"


@pytest.mark.parametrize(
    "data", [{}, {"sites": ""}, {"sites": "999999"}, {"sites": "x"}, {"sites": "1.5"}]
)
def test_a_users_sites_cannot_be_emptied_or_made_up(app, network, data):
    client = signed_in(app.test_client(), network["admin"])
    before = snapshot(app)
    response = client.post(f"/staff/users/{network['intake_a'].id}/sites", data=data)
    assert response.status_code == 422
    assert page(response).find(id="error-summary") is not None
    assert snapshot(app) == before


@pytest.mark.parametrize("path", ["/staff/users/999999/sites", "/staff/users/0/sites",
                                  "/staff/users/99999999999999999999/sites",
                                  "/staff/users/-1/sites", "/staff/users/x/sites"])  # fmt: skip
def test_an_unknown_account_is_not_found(app, network, path):
    client = signed_in(app.test_client(), network["admin"])
    assert client.get(path).status_code == 404
    assert client.post(path, data={"all_sites": "y"}).status_code == 404


def test_an_admin_does_not_change_their_own_sites(app, network):
    client = signed_in(app.test_client(), network["admin_a"])
    before = snapshot(app)
    path = f"/staff/users/{network['admin_a'].id}/sites"
    assert location(client.get(path)) == "/staff/users"
    response = client.post(path, data={"sites": [str(network["a"])]})
    assert response.status_code == 303 and location(response) == "/staff/users"
    assert "Another admin changes your own sites." in flashes(client)
    assert snapshot(app) == before


def test_a_network_admin_makes_a_key_with_sites_and_scopes(app, network):
    client = signed_in(app.test_client(), network["admin"])
    form = client.get("/staff/api-keys")
    assert checkboxes(form, "scopes") == {"screenings:read": True, "exports:read": False,
                                         "surgery:write": False}
    assert set(checkboxes(form, "sites")) == {str(network["a"]), str(network["b"])}
    listed = rows(form)
    assert listed["Network EHR"][4:6] == ["screenings:read, exports:read", "All sites"]
    assert listed["Lab B"][5] == "North Clinic"

    response = client.post("/staff/api-keys", data={
        "name": "Registry", "scopes": ["screenings:read"], "sites": [str(network["b"])]})
    assert response.status_code == 200
    [key] = scalars(app, sa.select(ApiKey).where(ApiKey.name == "Registry"))
    assert key.scopes == ["screenings:read"]
    assert site_ids_of(app, ApiKey, key.id) == (False, [network["b"]])
    assert rows(response)["Registry"][4:6] == ["screenings:read", "North Clinic"]
    [event] = [e for e in audit_events(app, "api_key_created") if "Registry" in e.detail]
    assert event.user_id == network["admin"].id
    # The key reads site B's screenings only, without the answers.
    secret = page(response).find("code", class_="api-key").text
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    listing = api.get("/api/v1/screenings", headers=headers).get_json()
    assert [item["id"] for item in listing["items"]] == [network["in_b"]]
    assert api.get(f"/api/v1/screenings/{network['in_b']}", headers=headers).get_json()[
        "answers"] is None  # fmt: skip

    response = client.post("/staff/api-keys", data={
        "name": "Warehouse", "scopes": ["screenings:read", "exports:read"], "all_sites": "y"})
    assert response.status_code == 200
    [key] = scalars(app, sa.select(ApiKey).where(ApiKey.name == "Warehouse"))
    assert key.scopes == ["screenings:read", "exports:read"] and key.all_sites


@pytest.mark.parametrize(
    ("data", "message"),
    [({"scopes": []}, "Choose at least one thing the key may do."),
     ({"scopes": ["admin:write"]}, "Choose from the list."),
     ({"sites": []}, "Choose at least one site, or all sites."),
     ({"sites": ["999999"]}, "Choose sites from the list."),
     ({"sites": ["Main site"]}, "Choose sites from the list.")],
)  # fmt: skip
def test_a_keys_scopes_and_sites_must_be_from_the_lists(app, network, data, message):
    client = signed_in(app.test_client(), network["admin"])
    before = snapshot(app)
    base = {"name": "Registry", "scopes": ["screenings:read"], "sites": [str(network["a"])]}
    response = client.post("/staff/api-keys", data={**base, **data})
    assert response.status_code == 422
    assert message in page(response).find("main").text
    assert page(response).find("code", class_="api-key") is None
    assert snapshot(app) == before


# --- a site-level admin -----------------------------------------------------------------------


OUTSIDE = ("clinician_b", "both", "everywhere", "admin")  # in a site not admin_a's, or all


def test_a_site_admin_sees_only_the_staff_and_keys_of_their_sites(app, network):
    client = signed_in(app.test_client(), network["admin_a"])
    assert set(rows(client.get("/staff/users"))) == {"admin.a@clinic.example",
                                                     "desk.a@clinic.example"}  # fmt: skip
    assert set(rows(client.get("/staff/api-keys"))) == {"Lab A"}
    listing = client.get("/staff/sites")
    assert rows(listing) == {"Main site": ["3", "1"]}
    assert "North Clinic" not in listing.get_data(as_text=True)
    assert page(listing).find("form", action="/staff/sites") is None  # no site to add


def test_a_site_admin_cannot_act_on_anyone_outside_their_sites(app, network, csrf):
    client = signed_in(app.test_client(), network["admin_a"])
    token = token_of(client, "/staff/users")
    with app.app_context():  # a second factor to reset, for every one of them
        for who in OUTSIDE:
            db.session.get(User, network[who].id).totp_secret = "JBSWY3DPEHPK3PXP"
        db.session.commit()
    before = snapshot(app)
    for who in OUTSIDE:
        ident = network[who].id
        for action in ("disable", "enable", "reset-password", "reset-two-factor", "sites"):
            response = client.post(f"/staff/users/{ident}/{action}",
                                   data={"csrf_token": token, "all_sites": "y"})  # fmt: skip
            assert response.status_code == 404, (who, action, response.status_code)
        assert client.get(f"/staff/users/{ident}/sites").status_code == 404
    for key in ("key_b", "key_all"):
        response = client.post(f"/staff/api-keys/{network[key]}/revoke", data={"csrf_token": token})
        assert response.status_code == 404, key
    assert snapshot(app) == before

    # Within their site they act as before.
    ident = network["intake_a"].id
    disabled = client.post(f"/staff/users/{ident}/disable", data={"csrf_token": token})
    assert disabled.status_code == 303
    assert row(app, User, ident)["active"] is False
    revoked = client.post(f"/staff/api-keys/{network['key_a']}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303 and row(app, ApiKey, network["key_a"])["revoked_at"]


def test_a_site_admin_gives_only_their_own_sites(app, network):
    client = signed_in(app.test_client(), network["admin_a"])
    form = client.get("/staff/users")
    assert checkboxes(form, "sites") == {str(network["a"]): False}
    assert page(form).find("input", name="all_sites") is None
    before = snapshot(app)
    for data in ({"sites": [str(network["b"])]}, {"sites": [str(network["a"]), str(network["b"])]},
                 {"all_sites": "y"}):  # fmt: skip
        response = client.post("/staff/users", data={**NEW_USER, **data})
        assert response.status_code == 422, data
        assert "Choose" in page(response).find(id="error-summary").text
        response = client.post(f"/staff/users/{network['intake_a'].id}/sites", data=data)
        assert response.status_code == 422, data
        response = client.post("/staff/api-keys", data={
            "name": "Registry", "scopes": ["screenings:read"], **data})
        assert response.status_code == 422, data
    assert snapshot(app) == before

    # "All sites" is not theirs to give: left out, whatever is posted.
    response = client.post("/staff/users", data={**NEW_USER, "sites": [str(network["a"])],
                                                 "all_sites": "y"})  # fmt: skip
    assert response.status_code == 303
    [user] = scalars(app, sa.select(User).where(User.email == NEW_USER["email"]))
    assert site_ids_of(app, User, user.id) == (False, [network["a"]])
    response = client.post("/staff/api-keys", data={
        "name": "Registry", "scopes": ["screenings:read"], "sites": [str(network["a"])],
        "all_sites": "y"})  # fmt: skip
    assert response.status_code == 200
    [key] = scalars(app, sa.select(ApiKey).where(ApiKey.name == "Registry"))
    assert site_ids_of(app, ApiKey, key.id) == (False, [network["a"]])
    response = client.post(f"/staff/users/{user.id}/sites",
                           data={"sites": [str(network["a"])], "all_sites": "y"})  # fmt: skip
    assert response.status_code == 303
    assert site_ids_of(app, User, user.id) == (False, [network["a"]])


def test_only_a_network_admin_adds_sites(app, network):
    client = signed_in(app.test_client(), network["admin_a"])
    assert client.post("/staff/sites", data={"name": "South Clinic"}).status_code == 403
    assert count(app, Site) == 2
    with app.app_context(), pytest.raises(sites.NotAllowed):
        sites.create("South Clinic", db.session.get(User, network["admin_a"].id))


def test_a_site_admin_reads_the_audit_events_of_their_sites_and_staff(app, network):
    with app.app_context():
        def user(who):
            return db.session.get(User, network[who].id)

        audit.record("screening_viewed", user=user("everywhere"), screening_id=network["in_a"])
        audit.record("screening_viewed", user=user("clinician_b"), screening_id=network["in_b"])
        audit.record("screening_viewed", user=user("intake_a"), screening_id=network["in_b"])
        audit.record("login", user=user("intake_a"))
        audit.record("login", user=user("clinician_b"))
        audit.record("login", user=user("both"))
        audit.record("login", user=user("everywhere"))
        audit.record("user_disabled", user=user("admin"), detail=f"user {network['intake_a'].id}")
        audit.record("login_failed", email="desk.a@clinic.example")
        audit.record("api_listed", detail="API key scr_00000000 (Lab A)")
        db.session.commit()

    def seen(client, query: str) -> set[tuple[str, int | None]]:
        """(who, screening id) of the events on the first page of the filtered log."""
        found = set()
        for tr in page(client.get(f"/staff/audit?{query}")).find("tbody").find_all("tr"):
            cells = [td.text for td in tr.find_all("td")]
            if len(cells) == 6:
                found.add((cells[2], int(cells[4][2:]) if cells[4] else None))
        return found

    site_admin = signed_in(app.test_client(), network["admin_a"])
    assert seen(site_admin, "action=screening_viewed") == {
        ("clin.all@clinic.example", network["in_a"])}  # whoever read a screening of site A
    assert seen(site_admin, "action=login") == {
        ("desk.a@clinic.example", None), ("admin.a@clinic.example", None)}  # their staff
    for action in ("login_failed", "user_disabled", "api_listed", "site_created",
                   "api_key_created"):  # fmt: skip
        assert seen(site_admin, f"action={action}") == set(), action
    assert seen(site_admin, f"screening={network['in_b']}") == set()
    assert seen(site_admin, "user=clin.b%40clinic.example") == set()
    screenings = {screening for _, screening in seen(site_admin, "")}
    assert screenings == {None, network["in_a"]}  # the patient's own events too

    network_admin = signed_in(app.test_client(), network["admin"])
    assert len(seen(network_admin, "action=screening_viewed")) == 3
    assert len(seen(network_admin, "action=login")) == 6
    for action in ("login_failed", "user_disabled", "api_listed", "site_created"):
        assert seen(network_admin, f"action={action}"), action


def test_the_audit_rule_holds_a_screening_moved_between_sites(app, network):
    """The event follows the screening's site now, not the site of who acted."""
    with app.app_context():
        audit.record("screening_viewed", user=db.session.get(User, network["intake_a"].id),
                     screening_id=network["in_a"])  # fmt: skip
        db.session.commit()
        admin_a = db.session.get(User, network["admin_a"].id)
        condition = sites.audit_condition(admin_a)
        statement = sa.select(AuditEvent.id).where(condition,
                                                    AuditEvent.action == "screening_viewed")
        assert len(db.session.scalars(statement).all()) == 1
        db.session.get(Screening, network["in_a"]).site_id = network["b"]
        db.session.flush()
        assert db.session.scalars(statement).all() == []
        db.session.rollback()


def test_an_account_in_no_site_is_no_site_admins(app, network):
    with app.app_context():
        orphan = User(email="orphan@clinic.example", password_hash="x", roles=["intake"])
        db.session.add(orphan)
        db.session.commit()
        admin_a = db.session.get(User, network["admin_a"].id)
        admin = db.session.get(User, network["admin"].id)
        assert not sites.manages(admin_a, orphan) and sites.manages(admin, orphan)
        emails = [user.email for user in db.session.scalars(
            sa.select(User).where(sites.managed(admin_a, User)))]  # fmt: skip
        assert "orphan@clinic.example" not in emails


# --- CSRF, escaping, one site -----------------------------------------------------------------


def test_the_site_forms_need_the_sessions_token(app, network, csrf):
    client = signed_in(app.test_client(), network["admin"])
    before = snapshot(app)
    ident = network["intake_a"].id
    for path, data in (("/staff/sites", {"name": "South Clinic"}),
                       (f"/staff/users/{ident}/sites", {"all_sites": "y"}),
                       ("/staff/users", {**NEW_USER, "all_sites": "y"}),
                       ("/staff/api-keys", {"name": "Registry", "scopes": ["screenings:read"],
                                            "all_sites": "y"})):  # fmt: skip
        for bad in ({}, {"csrf_token": "forged"}):
            assert client.post(path, data={**data, **bad}).status_code == 400, path
    assert snapshot(app) == before
    token = csrf_from(client.get("/staff/sites"))
    made = client.post("/staff/sites", data={"name": "South Clinic", "csrf_token": token})
    assert made.status_code == 303
    changed = client.post(f"/staff/users/{ident}/sites",
                          data={"all_sites": "y", "csrf_token": token})  # fmt: skip
    assert changed.status_code == 303 and site_ids_of(app, User, ident) == (True, [])


def test_names_are_escaped(app, network):
    client = signed_in(app.test_client(), network["admin"])
    name = '<script>alert("site")</script>'
    assert client.post("/staff/sites", data={"name": name}).status_code == 303
    client.post(f"/staff/users/{network['intake_a'].id}/sites",
                data={"sites": [str(s.id) for s in scalars(app, sa.select(Site))]})  # fmt: skip
    for path in ("/staff/sites", "/staff/users", "/staff/api-keys",
                 f"/staff/users/{network['intake_a'].id}/sites"):  # fmt: skip
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(" in html, path


def test_a_clinic_with_one_site_offers_no_choice_of_site(app, staff):
    client = signed_in(app.test_client(), staff["admin"])
    for path in ("/staff/users", "/staff/api-keys"):
        response = client.get(path)
        assert page(response).find("input", name="sites") is None, path
        assert page(response).find("input", name="all_sites") is None, path
        assert "Sites" not in [th.text for th in page(response).find("thead").find_all("th")]
    assert rows(client.get("/staff/sites")) == {"Main site": ["2", "0"]}  # and a network admin
    assert client.post("/staff/users", data=NEW_USER).status_code == 303
    [user] = scalars(app, sa.select(User).where(User.email == NEW_USER["email"]))
    assert site_ids_of(app, User, user.id) == (False, scalars(app, sa.select(Site.id)))
