"""A staff account's life: the password policy's reasons, changing one's own password, the forced
change of an initial password, an administrator's reset link, the command line's set-password
and reset, and the production settings that protect sign-in (the cookie, shared limits)."""

from __future__ import annotations

import re

import pytest

from screening.app import create_app
from screening.commands import main as screening_cli
from screening.domain import passwords
from screening.models import User
from screening.serving import options
from screening.settings import ConfigError
from tests.web.support import page

from .conftest import (
    PASSWORD,
    audit_events,
    goes_to_login,
    is_signed_in,
    location,
    login,
    make_user,
    row,
    signed_in,
    token_of,
)

NEW = "Velvet-Harbour-Compass-58"
BASE = "http://localhost"  # the tests' SCREENING_BASE_URL


@pytest.mark.parametrize(
    "password, because",
    [
        ("Summer2024!!!!", "a common word or name"),  # a word, a year, symbols
        ("Jennifer1990$$", "a common word or name"),  # a name, a year, symbols
        ("qwertyuiop123", "a row or pattern of keys"),  # a keyboard walk
        ("aaaaaaaaaaaaaaa", "repeated characters"),
        ("abcdefghijklmnop", "a sequence"),
        ("P@ssw0rd-Clinic", "letters swapped for symbols"),
    ],
)
def test_the_policy_refuses_easy_to_guess_passwords_and_says_why(password, because):
    with pytest.raises(passwords.PasswordRejected) as refused:
        passwords.check_policy(password, "ann.lee@clinic.example", "Ann Lee")
    message = str(refused.value)
    assert message.startswith("This password would be easy to guess") or "too common" in message
    assert because in message or "too common" in message


@pytest.mark.parametrize("password", [NEW, "k7#Pq2!vLm9z", "oxbow tundra lilac fennel"])
def test_the_policy_accepts_passwords_that_are_hard_to_guess(password):
    passwords.check_policy(password, "ann.lee@clinic.example", "Ann Lee")


def test_the_users_own_name_counts_as_easy(app):
    with pytest.raises(passwords.PasswordRejected, match="easy to guess"):
        passwords.check_policy("AnnLeeworthy2024!", "ann.l@clinic.example", "Ann Leeworthy")


def change(client, current: str, new: str, again: str | None = None):
    return client.post("/staff/account/password", data={
        "current": current, "new": new, "again": new if again is None else again})  # fmt: skip


def test_changing_ones_password_ends_every_other_session(app, client, staff):
    who = staff["clinician"]
    signed_in(client, who)
    other_device = signed_in(app.test_client(), who)
    for data, field, message in [
        (("Not-my-password-123", NEW), "current", "Your current password is not right."),
        ((PASSWORD, NEW, NEW + "x"), "again", "The two new passwords are not the same."),
        ((PASSWORD, "Summer2024!!!!"), "new", "This password would be easy to guess"),
        ((PASSWORD, PASSWORD), "new", "Choose a password different from your current one."),
    ]:
        response = change(client, *data)
        assert response.status_code == 422, data
        error = page(response).find(id=f"{field}-error")
        assert error is not None and message in error.text, (data, page(response).text[:400])
        assert NEW not in response.get_data(as_text=True)  # never echoed back
    assert audit_events(app, "password_changed") == []

    response = change(client, PASSWORD, NEW)
    assert response.status_code == 303 and location(response) == "/staff/account"
    assert client.get("/staff/").status_code == 200  # this session goes on
    assert goes_to_login(other_device.get("/staff/"))  # every other one has ended
    [event] = audit_events(app, "password_changed")
    assert event.user_id == who.id
    assert row(app, User, who.id)["password_changed_at"] is not None
    assert login(app.test_client(), who).status_code == 401  # the old password
    assert login(app.test_client(), who, NEW).status_code == 303


def test_an_initial_password_is_changed_before_anything_else(app, client, staff):
    signed_in(client, staff["admin"])
    client.post("/staff/users", data={"email": "nia@clinic.example", "roles": ["clinician"],
                                      "password": PASSWORD})  # fmt: skip
    newcomer = app.test_client()
    assert login(newcomer, "nia@clinic.example", PASSWORD).status_code == 303
    for path in ("/staff/", "/staff/account", "/staff/account/two-factor", "/staff/export.csv"):
        response = newcomer.get(path)
        assert location(response) == "/staff/account/password", path
    shown = page(newcomer.get("/staff/account/password"))
    assert "Choose your own password" in shown.find("h1").text
    assert change(newcomer, PASSWORD, NEW).status_code == 303
    assert newcomer.get("/staff/").status_code == 200
    assert audit_events(app, "password_changed")[0].user_email == "nia@clinic.example"


def reset_link(client, user_id: int) -> str:
    response = client.post(f"/staff/users/{user_id}/reset-password")
    assert response.status_code == 200
    link = page(response).find("code", class_="api-key").text
    assert link.startswith(BASE + "/staff/password/")  # from SCREENING_BASE_URL
    return link.removeprefix(BASE)


def test_an_admins_reset_makes_a_single_use_link(app, client, staff):
    target = staff["clinician"]
    their_session = signed_in(app.test_client(), target)
    signed_in(client, staff["admin"])
    path = reset_link(client, target.id)
    assert goes_to_login(their_session.get("/staff/"))  # their sessions ended
    assert login(app.test_client(), target).status_code == 401  # the old password is gone
    [event] = audit_events(app, "password_reset")
    assert (event.user_id, event.detail) == (staff["admin"].id, f"user {target.id}")

    person = app.test_client()
    shown = person.get(path)
    assert shown.status_code == 200 and target.email in page(shown).find("main").text
    weak = person.post(path, data={"new": "Summer2024!!!!", "again": "Summer2024!!!!"})
    assert weak.status_code == 422 and "easy to guess" in page(weak).find("main").text
    done = person.post(path, data={"new": NEW, "again": NEW})
    assert done.status_code == 303 and goes_to_login(done)
    assert login(app.test_client(), target, NEW).status_code == 303
    [event] = audit_events(app, "password_set")
    assert (event.user_id, event.detail) == (target.id, "reset link")
    # used once: the same link now opens nothing, and sets nothing
    again = {"new": PASSWORD, "again": PASSWORD}
    for response in (person.get(path), person.post(path, data=again)):
        assert response.status_code == 404
        assert "This link no longer works" in page(response).find("h1").text
    assert login(app.test_client(), target, NEW).status_code == 303


def test_a_reset_link_expires_and_cannot_be_forged(app, client, staff):
    signed_in(client, staff["admin"])
    path = reset_link(client, staff["intake"].id)
    token = path.rsplit("/", 1)[1]
    for forged in (token[:-2] + "xy", "x" * 40, token.replace(".", "", 1), "%00" * 9):
        assert app.test_client().get(f"/staff/password/{forged}").status_code == 404
    app.config["SCREENING_RESET_HOURS"] = -1  # as if a day had passed
    assert app.test_client().get(path).status_code == 404


def test_the_command_line_sets_a_password_and_makes_reset_links(app, runner, staff):
    who = staff["intake"]
    other = signed_in(app.test_client(), who)
    weak = runner.invoke(screening_cli, ["users", "set-password", "--email", who.email,
                                         "--password-stdin"], input="qwertyuiop123\n")  # fmt: skip
    assert weak.exit_code == 1 and "too common" in weak.output
    result = runner.invoke(screening_cli, ["users", "set-password", "--email", who.email,
                                           "--password-stdin"], input=NEW + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert NEW not in result.output
    assert goes_to_login(other.get("/staff/"))
    assert login(app.test_client(), who, NEW).status_code == 303
    [event] = audit_events(app, "password_set")
    assert (event.address, event.detail) == ("cli", f"user {who.id} (command line)")

    made = runner.invoke(screening_cli, ["users", "reset", "--email", who.email])
    assert made.exit_code == 0, made.output
    [link] = re.findall(r"http://\S+/staff/password/\S+", made.output)
    path = link.removeprefix(BASE)
    assert login(app.test_client(), who, NEW).status_code == 401
    chosen = {"new": PASSWORD, "again": PASSWORD}
    assert app.test_client().post(path, data=chosen).status_code == 303
    assert login(app.test_client(), who).status_code == 303
    unknown = runner.invoke(screening_cli, ["users", "reset", "--email", "nobody@clinic.example"])
    assert unknown.exit_code == 1 and "there is no user" in unknown.output


def test_a_burst_of_guesses_never_locks_the_real_user_out(app, staff):
    """Five wrong passwords from one address stop that address guessing this account; the
    real user, elsewhere, signs in."""
    for attempt in range(6):
        login(app.test_client(), staff["clinician"], f"Wrong-password-{attempt:04d}")
    assert login(app.test_client(), staff["clinician"]).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    assert login(elsewhere, staff["clinician"]).status_code == 303


class TestProduction:
    def config(self, tmp_path, **extra):
        return {"SCREENING_ENV": "production", "SECRET_KEY": "k" * 40,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db",
                "SCREENING_QUEUE": "redis://127.0.0.1:6379/0",
                "SCREENING_RED_FLAG_EMAIL": "team@clinic.example",
                "SCREENING_BASE_URL": "https://screening.clinic.example", **extra}  # fmt: skip

    def test_several_workers_need_shared_limit_storage(self, tmp_path):
        app = create_app(self.config(tmp_path))
        with pytest.raises(ConfigError) as refused:
            options(app.config, workers=2)
        assert "SCREENING_RATELIMIT_STORAGE" in str(refused.value)
        assert "redis://127.0.0.1:6379/1" in str(refused.value)
        assert options(app.config, workers=1)["workers"] == 1
        shared = create_app(self.config(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/1"))
        assert options(shared.config, workers=4)["workers"] == 4

    def test_serve_refuses_to_start(self, tmp_path, monkeypatch):
        for key, value in self.config(tmp_path).items():
            if key.startswith("SCREENING_"):
                monkeypatch.setenv(key, value)
        monkeypatch.setenv("SCREENING_ENV", "production")
        monkeypatch.setenv("SCREENING_SECRET_KEY", "k" * 40)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
        monkeypatch.setenv("SCREENING_QUEUE", "redis://127.0.0.1:6379/0")
        result = _cli(["serve", "--workers", "3"])
        assert result.exit_code == 1
        assert "SCREENING_RATELIMIT_STORAGE" in result.output

    def test_the_cookie_is_a_host_cookie_and_a_second_factor_is_required(self, tmp_path):
        app = create_app(self.config(tmp_path))
        assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["SCREENING_REQUIRE_SECOND_FACTOR"] is True
        relaxed = create_app(self.config(tmp_path, SCREENING_REQUIRE_SECOND_FACTOR=False))
        assert relaxed.config["SCREENING_REQUIRE_SECOND_FACTOR"] is False


def _cli(args):
    from click.testing import CliRunner

    return CliRunner().invoke(screening_cli, args)


def test_only_signed_in_staff_open_their_account(app, client, staff):
    assert goes_to_login(client.get("/staff/account"))
    signed_in(client, staff["intake"])
    text = page(client.get("/staff/account")).find("main").text
    assert staff["intake"].email in text and "Off" in text
    assert token_of(client, "/staff/account")
    assert is_signed_in(client)


def test_the_admin_cannot_reset_an_unknown_or_disabled_account(app, client, staff):
    signed_in(client, staff["admin"])
    assert client.post("/staff/users/999999/reset-password").status_code == 404
    gone = make_user(app, "gone@clinic.example", ["intake"])
    client.post(f"/staff/users/{gone.id}/disable")
    response = client.post(f"/staff/users/{gone.id}/reset-password")
    assert response.status_code == 303
    assert audit_events(app, "password_reset") == []
