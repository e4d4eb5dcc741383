"""Commands for the clinic's accounts: staff and API keys (the audit log: audit.py)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..domain import accounts, api_keys, passwords, two_factor
from ..extensions import db
from ..models import API_SCOPES, READ_SCOPES, ROLES
from .sites import site_ids


@click.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
    help="Repeat for several.",
)  # fmt: skip
@click.option("--name", default="")
@click.option(
    "--site",
    "site_names",
    multiple=True,
    help="A site they work for (repeat for several; default: the only site, or every site for an "
    "admin).",
)
@click.option("--all-sites", is_flag=True, help="Network-wide: every site.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(
    email: str, roles: tuple[str, ...], name: str, site_names: tuple[str, ...], all_sites: bool,
    password_stdin: bool,
) -> None:  # fmt: skip
    """Create a staff account (the password is asked for, never given as an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            # An admin without --site is network-wide, as the migration made admins: the
            # first admin of a new clinic must be able to add sites.
            email, password, list(roles), name, initial=True,
            all_sites=all_sites or ("admin" in roles and not site_names),
            site_ids=site_ids(site_names) if site_names else None,
        )  # fmt: skip
    except ValueError as exc:  # PasswordRejected too
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.email} ({', '.join(user.roles)}); they choose their own password "
               "when they first sign in")  # fmt: skip


def _user(email: str):
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"there is no user {email}")
    return user


def _new_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("New password", hide_input=True, confirmation_prompt=True)


@users_group.command("set-password")
@click.option("--email", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_set_password(email: str, password_stdin: bool) -> None:
    """Set a user's password (read from standard input, or asked for): their sessions end."""
    user = _user(email)
    try:
        passwords.set_by_operator(user, _new_password(password_stdin))
    except passwords.PasswordRejected as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"password set for {user.email}; their other sessions have ended")


@users_group.command("reset")
@click.option("--email", required=True)
@with_appcontext
def users_reset(email: str) -> None:
    """Reset a user's password: the old one stops working and a link to set a new one is
    printed (for the user only; it works once, for SCREENING_RESET_HOURS)."""
    user = _user(email)
    if not user.active:
        raise click.ClickException(f"{user.email} is disabled; enable the account first")
    path = passwords.reset(user, None, how=" (command line)")
    db.session.commit()
    hours = current_app.config["SCREENING_RESET_HOURS"]
    click.echo(f"{user.email}'s password is reset; give them this link (works once, {hours} "
               "hours):", err=True)  # fmt: skip
    click.echo(passwords.reset_url(path))


@users_group.command("reset-two-factor")
@click.option("--email", required=True)
@with_appcontext
def users_reset_two_factor(email: str) -> None:
    """Turn a user's second factor off (a lost phone): they set it up again at next sign-in."""
    user = _user(email)
    if user.totp_secret is None:
        raise click.ClickException(f"{user.email} has no second factor")
    two_factor.reset(user, None, how=" (command line)")
    db.session.commit()
    click.echo(f"second factor of {user.email} is off; their sessions have ended")


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List staff accounts."""
    for user in accounts.everyone():
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email}\t{','.join(user.roles)}\t{state}")


@users_group.command("disable")
@click.option("--email", required=True)
@with_appcontext
def users_disable(email: str) -> None:
    """Disable a staff account (its sessions end at once)."""
    user = _user(email)
    if accounts.disable(user, None):
        db.session.commit()
    click.echo(f"disabled {user.email}")


@click.group("api-keys")
def api_keys_group() -> None:
    """Keys of the read-only JSON API (/api/v1): one per client system."""


@api_keys_group.command("create")
@click.option("--name", required=True, help="The client system, e.g. 'Hospital EHR'.")
@click.option(
    "--site",
    "site_names",
    multiple=True,
    help="A site whose screenings it reads (repeat; default: every site).",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(API_SCOPES),
    help="What it may do (repeat; default: both read scopes; surgery:write only when asked).",
)
@with_appcontext
def api_keys_create(name: str, site_names: tuple[str, ...], scopes: tuple[str, ...]) -> None:
    """Create a key; it is printed once (only its hash is stored)."""
    try:
        key, secret = api_keys.create(
            name, how=" (command line)", scopes=scopes or READ_SCOPES,
            site_ids=site_ids(site_names) if site_names else None,
        )  # fmt: skip
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {key.prefix} for {key.name}; the key (shown only now):", err=True)
    click.echo(secret)


@api_keys_group.command("list")
@with_appcontext
def api_keys_list() -> None:
    """List keys: prefix, client, created, last used, state (never the keys themselves)."""
    for key in api_keys.listed():
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        created = key.created_at.isoformat(timespec="seconds")
        click.echo(f"{key.prefix}\t{key.name}\t{created}\t{used}\t{state}")


@api_keys_group.command("revoke")
@click.option("--prefix", required=True, help="The key's prefix, as `api-keys list` shows it.")
@with_appcontext
def api_keys_revoke(prefix: str) -> None:
    """Revoke a key: calls with it are refused from now on."""
    key = api_keys.by_prefix(prefix.strip())
    if key is None:
        raise click.ClickException(f"there is no API key {prefix}")
    if api_keys.revoke(key, None, how=" (command line)"):
        db.session.commit()
    click.echo(f"revoked {key.prefix} ({key.name})")
