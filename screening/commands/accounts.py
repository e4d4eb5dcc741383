"""Commands for the clinic's accounts: staff and API keys (the audit log: audit.py)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..domain import accounts, api_keys
from ..extensions import db
from ..models import ROLES


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
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(email: str, roles: tuple[str, ...], name: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for, never given as an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(email, password, list(roles), name)
    except ValueError as exc:  # PasswordRejected too
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.email} ({', '.join(user.roles)})")


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
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"there is no user {email}")
    if accounts.disable(user, None):
        db.session.commit()
    click.echo(f"disabled {user.email}")


@click.group("api-keys")
def api_keys_group() -> None:
    """Keys of the read-only JSON API (/api/v1): one per client system."""


@api_keys_group.command("create")
@click.option("--name", required=True, help="The client system, e.g. 'Hospital EHR'.")
@with_appcontext
def api_keys_create(name: str) -> None:
    """Create a key; it is printed once (only its hash is stored)."""
    try:
        key, secret = api_keys.create(name, how=" (command line)")
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

