"""The password policy and storage: scrypt hashes, 12 characters, no common passwords."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from screening.commands import main as screening_cli
from screening.domain import accounts as auth
from screening.domain import passwords
from screening.extensions import db
from screening.models import User
from tests.web.support import page

from .conftest import count, login, scalars, signed_in

GOOD = "Quiet-River-Lantern-92"


def common_long_password() -> str:
    """A password from the shipped list that is long enough to pass the length rule."""
    return next(p for p in sorted(passwords.common_passwords()) if len(p) >= 14 and p.isalpha())


def users_by_email(app, email: str) -> list[User]:
    return scalars(app, sa.select(User).where(User.email == email))


def test_the_stored_hash_is_scrypt_and_never_the_password(app):
    with app.app_context():
        first = auth.create_user("ann@clinic.example", GOOD, ["clinician"])
        second = auth.create_user("bob@clinic.example", GOOD, ["intake"])
        db.session.commit()
        hashes = [first.password_hash, second.password_hash]
        db.session.remove()
    for stored in hashes:
        assert stored.startswith("scrypt:")
        assert GOOD not in stored and GOOD.lower() not in stored.lower()
    assert hashes[0] != hashes[1]  # salted
    assert login(app.test_client(), "ann@clinic.example", GOOD).status_code == 303


@pytest.mark.parametrize(
    "password, message",
    [
        ("Short-pw-11", "Use at least 12 characters."),
        ("", "Use at least 12 characters."),
        ("passwordpassword", "This password is too common; choose another."),
        ("zed.example-long-1", "The password must not contain your e-mail name."),
    ],
)
def test_the_policy_in_create_user(app, password, message):
    with app.app_context():
        with pytest.raises(passwords.PasswordRejected, match=message.replace(".", r"\.")):
            auth.create_user("zed.example@clinic.example", password, ["intake"])
        db.session.rollback()
        db.session.remove()
    assert count(app, User) == 0


def test_passwords_from_the_shipped_list_are_refused(app):
    common = common_long_password()
    assert common in passwords._COMMON.read_text(encoding="utf-8").lower().split()
    for variant in (common, common.upper(), common + "2024", common + "!"):
        with app.app_context(), pytest.raises(passwords.PasswordRejected, match="too common"):
            auth.create_user("ann@clinic.example", variant, ["intake"])
    assert count(app, User) == 0


def test_the_admin_page_applies_the_policy(app, client, staff):
    signed_in(client, staff["admin"])
    base = {"email": "new.person@clinic.example", "name": "New Person", "roles": ["intake"]}
    for password, message in [
        ("Short-pw-11", "Use at least 12 characters."),
        (common_long_password(), "This password is too common; choose another."),
    ]:
        response = client.post("/staff/users", data={**base, "password": password})
        assert response.status_code == 422
        assert message in page(response).find("main").text
        assert password not in response.get_data(as_text=True)  # not echoed back
        assert users_by_email(app, "new.person@clinic.example") == []
    response = client.post("/staff/users", data={**base, "password": GOOD})
    assert response.status_code == 303
    [user] = users_by_email(app, "new.person@clinic.example")
    assert user.password_hash.startswith("scrypt:") and GOOD not in user.password_hash


def test_users_create_applies_the_policy(app, runner):
    for password, message in [
        ("Short-pw-11", "Use at least 12 characters."),
        (common_long_password(), "This password is too common; choose another."),
    ]:
        result = runner.invoke(
            screening_cli,
            ["users", "create", "--email", "cli@clinic.example", "--role", "intake",
             "--password-stdin"],
            input=password + "\n",
        )
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert password not in result.output
    assert count(app, User) == 0
