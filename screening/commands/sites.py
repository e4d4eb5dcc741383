"""Commands for the sites of a clinic network: create and list them, and say who works where."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..domain import NotAllowed, accounts, sites
from ..extensions import db


@click.group("sites")
def sites_group() -> None:
    """Sites (data access groups): staff and API keys see their sites' screenings only."""


@sites_group.command("create")
@click.option("--name", required=True)
@with_appcontext
def sites_create(name: str) -> None:
    """Add a site to the network."""
    sites.default()  # the first site stays the one every existing screening is in
    try:
        site = sites.create(name, None, how=" (command line)")
    except NotAllowed as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created site {site.id}: {site.name}")


@sites_group.command("list")
@with_appcontext
def sites_list() -> None:
    """List the sites: id and name."""
    for site in sites.everything():
        click.echo(f"{site.id}\t{site.name}")


def site_ids(names: tuple[str, ...]) -> list[int]:
    """The ids of the sites named (by name, as `sites list` shows them)."""
    found = []
    for name in names:
        site = sites.find(name)
        if site is None:
            raise click.ClickException(f"there is no site {name!r} (see `screening sites list`)")
        found.append(site.id)
    return found


@sites_group.command("grant")
@click.option("--email", required=True)
@click.option("--site", "names", multiple=True, help="A site's name; repeat for several.")
@click.option("--all-sites", is_flag=True, help="Network-wide: every site, now and later.")
@with_appcontext
def sites_grant(email: str, names: tuple[str, ...], all_sites: bool) -> None:
    """Set the sites a member of staff works for (from their next page on)."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"there is no user {email}")
    try:
        sites.grant(user, site_ids(names), all_sites, None, how=" (command line)")
    except NotAllowed as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    where = "every site" if all_sites else ", ".join(s.name for s in user.sites)
    click.echo(f"{user.email} now works for {where}")
