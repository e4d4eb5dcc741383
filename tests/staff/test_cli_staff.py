"""The staff commands: `users create/list/disable` and `audit --since`."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from screening.commands import main as screening_cli
from screening.models import User

from .conftest import (
    audit_events,
    goes_to_login,
    login,
    row,
    scalars,
    signed_in,
)

GOOD = "Quiet-River-Lantern-92"


def create(runner, email: str, *roles: str, password: str = GOOD, extra=()):
    args = ["users", "create", "--email", email, "--password-stdin", *extra]
    for role in roles:
        args += ["--role", role]
    return runner.invoke(screening_cli, args, input=password + "\n")


def the_user(app, email: str) -> User:
    [user] = scalars(app, sa.select(User).where(User.email == email))
    return user


def test_users_create_reads_the_password_from_stdin(app, runner):
    result = create(runner, "Cleo@Clinic.example", "clinician", extra=["--name", "Cleo C"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "created cleo@clinic.example (clinician); they choose their own password when they "
        "first sign in"
    )
    assert GOOD not in result.output
    user = the_user(app, "cleo@clinic.example")
    assert (user.roles, user.name, user.active) == (["clinician"], "Cleo C", True)
    assert user.password_hash.startswith("scrypt:")
    [event] = audit_events(app, "user_created")
    assert (event.user_id, event.address, event.detail) == (None, "cli", f"user {user.id}")
    assert user.must_change_password  # the operator chose it: the user chooses their own
    assert login(app.test_client(), "cleo@clinic.example", GOOD).status_code == 303


def test_users_create_with_several_roles_and_by_prompt(app, runner):
    result = create(runner, "both@clinic.example", "intake", "clinician")
    assert result.exit_code == 0, result.output
    assert the_user(app, "both@clinic.example").roles == ["intake", "clinician"]
    result = runner.invoke(
        screening_cli,
        ["users", "create", "--email", "prompted@clinic.example", "--role", "admin"],
        input=f"{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert GOOD not in result.output  # the prompt hides what is typed
    assert the_user(app, "prompted@clinic.example").roles == ["admin"]


def test_the_password_is_never_an_argument(app, runner):
    result = runner.invoke(
        screening_cli,
        ["users", "create", "--email", "x@clinic.example", "--role", "clinician",
         "--password", GOOD],
    )
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert scalars(app, sa.select(User)) == []
    options = {o for p in screening_cli.commands["users"].commands["create"].params
               for o in getattr(p, "opts", [])}
    assert not any(o.startswith("--password") and o != "--password-stdin" for o in options)


def test_users_create_refuses_duplicates_and_unknown_roles(app, runner):
    assert create(runner, "dup@clinic.example", "intake").exit_code == 0
    result = create(runner, "DUP@clinic.example", "clinician")
    assert result.exit_code == 1
    assert "A user with this e-mail already exists." in result.output
    result = create(runner, "role@clinic.example", "surgeon")
    assert result.exit_code == 2
    assert [u.email for u in scalars(app, sa.select(User))] == ["dup@clinic.example"]


def test_users_list(app, runner, staff):
    runner.invoke(screening_cli, ["users", "disable", "--email", "admin@clinic.example"])
    result = runner.invoke(screening_cli, ["users", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "admin@clinic.example\tadmin\tdisabled",
        "clinician@clinic.example\tclinician\tactive",
        "intake@clinic.example\tintake\tactive",
    ]
    assert "scrypt" not in result.output


def test_users_disable_ends_the_users_session_at_once(app, runner, staff):
    client = signed_in(app.test_client(), staff["clinician"])
    assert client.get("/staff/").status_code == 200
    result = runner.invoke(
        screening_cli, ["users", "disable", "--email", "Clinician@clinic.example"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "disabled clinician@clinic.example"
    assert goes_to_login(client.get("/staff/"))
    assert login(app.test_client(), staff["clinician"]).status_code == 401
    user = row(app, User, staff["clinician"].id)
    assert user["active"] is False and user["disabled_at"] is not None
    [event] = audit_events(app, "user_disabled")
    assert (event.address, event.detail) == ("cli", f"user {staff['clinician'].id}")
    # Twice is harmless; an unknown account is an error.
    assert runner.invoke(screening_cli, ["users", "disable", "--email",
                                         "clinician@clinic.example"]).exit_code == 0
    assert len(audit_events(app, "user_disabled")) == 1
    result = runner.invoke(screening_cli, ["users", "disable", "--email", "no@clinic.example"])
    assert result.exit_code == 1 and "there is no user no@clinic.example" in result.output


def test_audit_export_is_csv_and_is_itself_audited(app, runner, staff):
    client = app.test_client()
    signed_in(client, staff["intake"])
    login(app.test_client(), "intake@clinic.example", "Wrong-password-0000")
    result = runner.invoke(screening_cli, ["audit", "--since", "2020-01-01"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == [
        "id", "at", "action", "user_id", "user_email", "address", "screening_id", "detail"
    ]
    assert [r[2] for r in rows[1:]] == ["login", "login_failed"]
    assert rows[1][3:6] == [str(staff["intake"].id), "intake@clinic.example", "127.0.0.1"]
    assert rows[2][3:6] == ["", "intake@clinic.example", "127.0.0.1"]
    [export] = audit_events(app, "audit_exported")
    assert (export.address, export.detail) == ("cli", "since 2020-01-01")
    again = runner.invoke(screening_cli, ["audit", "--since", "2020-01-01"])
    assert [r[2] for r in csv.reader(io.StringIO(again.output))][1:] == [
        "login", "login_failed", "audit_exported"
    ]


def test_audit_export_from_a_later_date_and_a_bad_date(app, runner, staff):
    signed_in(app.test_client(), staff["intake"])
    result = runner.invoke(screening_cli, ["audit", "--since", "2999-01-01"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) == 1  # the header only
    result = runner.invoke(screening_cli, ["audit", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "is not a date" in result.output


def test_the_audit_export_neutralises_spreadsheet_formulas(app, runner):
    # Shaped like one address (the audit keeps only those), and a formula to a spreadsheet.
    typed = "=HYPERLINK|cmd!A0@evil.example"
    response = app.test_client().post("/staff/login", data={"email": typed, "password": "x" * 12})
    assert response.status_code == 401
    result = runner.invoke(screening_cli, ["audit", "--since", "2020-01-01"])
    assert result.exit_code == 0, result.output
    cells = [cell for r in csv.reader(io.StringIO(result.output)) for cell in r]
    assert any("hyperlink" in cell.lower() for cell in cells)  # the attempt is in the export
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells if cell)
