"""Staff accounts: creating, signing in and out, disabling and enabling. Passwords (the policy,
changes, resets) are `passwords`; the second factor is `two_factor`."""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from ..extensions import db
from ..mail import EMAIL_RE
from ..models import ROLES, User, utcnow
from . import NotAllowed, audit, passwords, sites, two_factor

# A hash to check against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = passwords.hash_password("not a real password, only for timing")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def everyone(managed_by: User | None = None) -> list[User]:
    """Every account, or those the admin `managed_by` manages (`sites.manages`)."""
    statement = sa.select(User).order_by(User.email)
    if managed_by is not None:
        statement = statement.where(sites.managed(managed_by, User))
    return list(db.session.scalars(statement))


def create_user(
    email: str,
    password: str,
    roles: list[str],
    name: str = "",
    actor: User | None = None,
    initial: bool = False,
    site_ids: list[int] | None = None,
    all_sites: bool = False,
) -> User:
    """A new account (audited); ValueError or PasswordRejected say what is wrong. `initial`: the
    password was chosen by someone else, so the user changes it when they first sign in. In the
    sites `site_ids` (None: the clinic's only site), or in every site (`all_sites`)."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email):  # one address: no list, no line break
        raise ValueError("Enter one e-mail address, like name@example.org.")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"Roles must be one or more of: {', '.join(ROLES)}.")
    if find_user(email) is not None:
        raise ValueError("A user with this e-mail already exists.")
    passwords.check_policy(password, email, name)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=passwords.hash_password(password),
        roles=sorted(set(roles), key=ROLES.index),
        must_change_password=initial,
    )
    db.session.add(user)
    if site_ids is None and not all_sites:
        if sites.several():
            raise ValueError("This clinic has several sites: choose the user's sites.")
        site_ids = [sites.default().id]
    try:
        sites.assign(user, site_ids or [], all_sites, actor)
    except NotAllowed as exc:
        raise ValueError(str(exc)) from None
    audit.record("user_created", user=actor, detail=f"user {user.id}")
    return user


def sign_in(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None; the same time either way, and
    audited either way. What was typed is kept only when it is shaped like an e-mail address: a
    password typed into the wrong box, or a name, stays out of the audit log."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
    elif check_password_hash(user.password_hash, password) and user.active:
        if not two_factor.enrolled(user):  # else recorded at the second factor
            audit.record("login", user=user)
        return user
    typed = normalize_email(email)[:254]
    shaped = bool(EMAIL_RE.match(typed))
    audit.record(
        "login_failed",
        email=typed if shaped else None,
        detail=None if shaped else "not an e-mail address",
    )
    return None


def sign_out(user: User) -> None:
    """End every session of this user, on every device: a cookie kept or copied from before no
    longer opens anything (its session version is now out of date)."""
    user.session_version += 1
    audit.record("logout", user=user)
    db.session.flush()


def disable(user: User, actor: User | None) -> bool:
    """Disable an account and end its sessions (False if it already was)."""
    if not user.active:
        return False
    user.active, user.disabled_at = False, utcnow()
    user.session_version += 1  # sessions carrying the old version end
    audit.record("user_disabled", user=actor, detail=f"user {user.id}")
    db.session.flush()
    return True


def enable(user: User, actor: User | None) -> bool:
    if user.active:
        return False
    user.active, user.disabled_at = True, None
    audit.record("user_enabled", user=actor, detail=f"user {user.id}")
    db.session.flush()
    return True
