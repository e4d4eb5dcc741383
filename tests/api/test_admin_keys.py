"""Admins make and revoke API keys on /staff/api-keys (CSRF on, as in production), or with the
`screening api-keys` command. A key is shown once, on the page that made it."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from screening.commands import main as screening_cli
from screening.models import ApiKey
from tests.staff.conftest import (
    audit_events,
    csrf_from,
    flashes,
    location,
    row,
    scalars,
    signed_in,
    snapshot,
    token_of,
)
from tests.web.support import page

from .conftest import call, make_key, ok

KEY_RE = re.compile(r"scr_[0-9a-f]{8}\.[A-Za-z0-9_-]{43}")


def key_rows(response) -> dict[str, list[str]]:
    """client name -> [prefix, created, last used, status, action] from the keys table."""
    body = page(response).find("tbody")
    return {tr.find_all("td")[0].text: [td.text.strip() for td in tr.find_all("td")[1:]]
            for tr in body.find_all("tr") if len(tr.find_all("td")) > 1}


def test_an_admin_creates_a_key_shown_once_and_revokes_it(csrf, app, client, staff):
    signed_in(client, staff["admin"])
    listing = client.get("/staff/api-keys")
    assert listing.status_code == 200
    assert "No keys yet." in page(listing).find("main").text
    assert page(listing).find("a", href="/staff/api-keys") is not None  # in the staff menu

    response = client.post("/staff/api-keys",
                           data={"name": "  Hospital EHR ", "scopes": ["screenings:read"],
                                 "csrf_token": csrf_from(listing)})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    [secret] = set(KEY_RE.findall(html))
    [key] = scalars(app, sa.select(ApiKey))
    assert (key.name, key.created_by_id, key.revoked_at) == ("Hospital EHR", staff["admin"].id,
                                                            None)
    assert secret.startswith(key.prefix + ".")
    assert "shown only this once" in page(response).find("main").text
    # Nowhere else: not in the session (flashes), not on the next page, not in the database.
    assert secret not in json.dumps(flashes(client))
    again = client.get("/staff/api-keys")
    assert secret not in again.get_data(as_text=True)
    assert secret.split(".")[1] not in json.dumps(snapshot(app))
    assert key_rows(again)["Hospital EHR"][0] == key.prefix
    assert key_rows(again)["Hospital EHR"][2:4] == ["Never", "Active"]
    [event] = audit_events(app, "api_key_created")
    assert event.user_id == staff["admin"].id
    assert event.detail == f"API key {key.prefix} (Hospital EHR)"

    # The key works, and the page shows its last use.
    api = app.test_client()
    assert ok(call(api, "/screenings", secret))["total"] == 0
    assert key_rows(client.get("/staff/api-keys"))["Hospital EHR"][2] != "Never"

    token = token_of(client, "/staff/api-keys")
    assert client.post(f"/staff/api-keys/{key.id}/revoke").status_code == 400  # no token
    assert row(app, ApiKey, key.id)["revoked_at"] is None
    response = client.post(f"/staff/api-keys/{key.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 303 and location(response) == "/staff/api-keys"
    assert row(app, ApiKey, key.id)["revoked_at"] is not None
    assert call(api, "/screenings", secret).status_code == 401
    listing = client.get("/staff/api-keys")
    assert key_rows(listing)["Hospital EHR"][3].startswith("Revoked")
    assert "is revoked" in page(listing).find("main").text
    # Revoking again changes nothing and records nothing.
    client.post(f"/staff/api-keys/{key.id}/revoke", data={"csrf_token": token})
    [event] = audit_events(app, "api_key_revoked")
    assert event.user_id == staff["admin"].id and key.prefix in event.detail
    assert client.post("/staff/api-keys/9999/revoke", data={"csrf_token": token}).status_code == 404


def test_without_the_token_nothing_is_made(csrf, app, client, staff):
    signed_in(client, staff["admin"])
    before = snapshot(app)
    for data in ({"name": "EHR"}, {"name": "EHR", "csrf_token": "forged"}):
        response = client.post("/staff/api-keys", data=data)
        assert response.status_code == 400
        assert not KEY_RE.search(response.get_data(as_text=True))
    assert snapshot(app) == before


def test_the_form_needs_a_name(csrf, app, client, staff):
    signed_in(client, staff["admin"])
    token = token_of(client, "/staff/api-keys")
    for name in ("", "   ", "x" * 101):
        response = client.post("/staff/api-keys", data={"name": name, "csrf_token": token})
        assert response.status_code == 422, name
        assert page(response).find(id="error-summary") is not None
        assert not KEY_RE.search(response.get_data(as_text=True))
    assert scalars(app, sa.select(ApiKey)) == []


def test_only_admins_see_the_menu_link(app, staff):
    for role, who in staff.items():
        client = signed_in(app.test_client(), who)
        landing = client.get("/staff/users" if role == "admin" else "/staff/")
        assert ("/staff/api-keys" in landing.get_data(as_text=True)) is (role == "admin"), role
        assert client.get("/staff/api-keys").status_code == (200 if role == "admin" else 403)


def test_the_command_creates_lists_and_revokes(app, runner):
    result = runner.invoke(screening_cli, ["api-keys", "create", "--name", "Lab system"])
    assert result.exit_code == 0, result.output
    [secret] = KEY_RE.findall(result.stdout)
    assert ok(call(app.test_client(), "/screenings", secret))["total"] == 0
    other = make_key(app, "Billing")
    listing = runner.invoke(screening_cli, ["api-keys", "list"])
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert [line.split("\t")[1] for line in lines] == ["Billing", "Lab system"]
    assert secret not in listing.output and other.secret not in listing.output
    prefix = secret.split(".")[0]
    result = runner.invoke(screening_cli, ["api-keys", "revoke", "--prefix", prefix])
    assert result.exit_code == 0 and "revoked" in result.output
    assert call(app.test_client(), "/screenings", secret).status_code == 401
    assert runner.invoke(screening_cli, ["api-keys", "revoke", "--prefix", "nope"]).exit_code == 1
    assert runner.invoke(screening_cli, ["api-keys", "create", "--name", " "]).exit_code == 1
    made_here = [e.action for e in audit_events(app)
                 if e.action.startswith("api_key") and prefix in (e.detail or "")]
    assert made_here == ["api_key_created", "api_key_revoked", "api_key_refused"]  # the call after
