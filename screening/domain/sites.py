"""Sites (data access groups) of a clinic network: every screening belongs to one site; staff and
API keys belong to one or more, or to all (network-wide). Who sees what is decided here and
nowhere else: the staff pages, the PDF, CSV and FHIR exports and the JSON API all ask
`visible`/`condition`, and a screening of another site is "not found" (never "forbidden": its
existence is not told).

A clinic with one site sees no difference: the site is made when first needed ("Main site"),
and the pages offer no choice of site while there is only one.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import ApiKey, AuditEvent, Screening, Site, User, api_key_sites, user_sites
from . import NotAllowed, audit

DEFAULT_NAME = "Main site"
NAME_LENGTH = 100

Holder = User | ApiKey  # who reads: a member of staff or an API key


def everything() -> list[Site]:
    return list(db.session.scalars(sa.select(Site).order_by(Site.name)))


def default() -> Site:
    """The site a screening goes to when none is chosen: the only one (made if there is none)."""
    site = db.session.scalar(sa.select(Site).order_by(Site.id).limit(1))
    if site is None:
        site = Site(name=DEFAULT_NAME)
        db.session.add(site)
        db.session.flush()
    return site


def find(name: str) -> Site | None:
    return db.session.scalar(sa.select(Site).where(Site.name == " ".join(name.split())))


def create(name: str, actor: User | None, how: str = "") -> Site:
    """A new site (audited). Only a network-wide admin (or the command line, `actor` None) adds
    sites: a site-level admin works within theirs."""
    if actor is not None and not actor.all_sites:
        raise NotAllowed("Only a network-wide admin can add sites.")
    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH:
        raise NotAllowed(f"Give the site a name of 1 to {NAME_LENGTH} characters.")
    if find(name) is not None:
        raise NotAllowed("A site with this name already exists.")
    site = Site(name=name)
    try:
        with db.session.begin_nested():  # the same name added by another admin meanwhile
            db.session.add(site)
    except sa.exc.IntegrityError:
        raise NotAllowed("A site with this name already exists.") from None
    audit.record("site_created", user=actor, detail=f"site {site.id}{how}")
    return site


def ids_of(holder: Holder | None) -> frozenset[int] | None:
    """The ids of the sites whose screenings `holder` sees; None: every site's (also for the
    operator on the server, `holder` None: the command line)."""
    if holder is None or holder.all_sites:
        return None
    return frozenset(site.id for site in holder.sites)


def condition(holder: Holder | None) -> sa.ColumnElement[bool]:
    """A WHERE clause on Screening: the screenings `holder` may see."""
    ids = ids_of(holder)
    return sa.true() if ids is None else Screening.site_id.in_(sorted(ids))


def covers(holder: Holder, site_id: int) -> bool:
    ids = ids_of(holder)
    return ids is None or site_id in ids


def visible(holder: Holder, screening: Screening) -> bool:
    return covers(holder, screening.site_id)


def choices(holder: Holder) -> list[Site]:
    """The sites `holder` may put a screening (or an account, a key) in."""
    ids = ids_of(holder)
    return [site for site in everything() if ids is None or site.id in ids]


def several() -> bool:
    """Whether the clinic has more than one site (else no page mentions sites)."""
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Site)) or 0) > 1


def assign(holder: Holder, site_ids: list[int], all_sites: bool, actor: User | None) -> None:
    """Put a user or key in these sites (or all), within what `actor` may give: a site-level
    admin gives only their own sites, and never "all"."""
    mine = None if actor is None else ids_of(actor)
    if mine is not None and (all_sites or not set(site_ids) <= mine):
        raise NotAllowed("You can only give access to your own sites.")
    chosen = [db.session.get(Site, i) for i in site_ids]
    if any(site is None for site in chosen):
        raise NotAllowed("Choose sites from the list.")
    if not all_sites and not chosen:
        raise NotAllowed("Choose at least one site.")
    holder.all_sites = all_sites
    holder.sites = [] if all_sites else chosen
    db.session.flush()


def grant(
    user: User, site_ids: list[int], all_sites: bool, actor: User | None, how: str = ""
) -> None:
    """Change the sites a member of staff works for (audited)."""
    assign(user, site_ids, all_sites, actor)
    where = "all sites" if all_sites else "sites " + ",".join(str(i) for i in sorted(site_ids))
    audit.record("access_changed", user=actor, detail=f"user {user.id}: {where}{how}")


# --- what a site-level admin manages ------------------------------------------------------------
#
# An admin who holds every site (network-wide) manages every account and key. A site-level admin
# manages only those within their own sites: in one site of theirs at least and in none outside;
# never a network-wide account or key (it reaches sites to come), and never one in no site.


def manages(admin: User, holder: Holder) -> bool:
    """Whether `admin` may see and change the account or key `holder`."""
    mine = ids_of(admin)
    if mine is None:
        return True
    theirs = ids_of(holder)
    return theirs is not None and bool(theirs) and theirs <= mine


def managed(admin: User, model: type[User] | type[ApiKey]) -> sa.ColumnElement[bool]:
    """A WHERE clause on User (or ApiKey): the accounts (keys) `admin` manages, as `manages`."""
    mine = ids_of(admin)
    if mine is None:
        return sa.true()
    links = user_sites if model is User else api_key_sites
    holder = links.c.user_id if model is User else links.c.api_key_id
    inside = sa.exists().where(holder == model.id, links.c.site_id.in_(sorted(mine)))
    outside = sa.exists().where(holder == model.id, links.c.site_id.not_in(sorted(mine)))
    return sa.and_(model.all_sites.is_(False), inside, ~outside)


def audit_condition(admin: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on AuditEvent: the events `admin` reads.

    A network-wide admin reads them all. A site-level admin reads an event about a screening
    (it has a screening id) when that screening is of one of their sites, whoever acted; and an
    event about no screening when the member of staff who acted is one they manage (their
    sign-ins, password changes, the accounts and keys they made...). Nothing else: not events
    about another site's screenings (even by their own staff, moved since), nor those of
    network-wide staff, API keys or the command line about no screening, nor failed sign-ins
    (no account is known, only what was typed). The event's detail is never read: only its
    columns decide.
    """
    mine = ids_of(admin)
    if mine is None:
        return sa.true()
    in_my_sites = sa.select(Screening.id).where(Screening.site_id.in_(sorted(mine)))
    my_staff = sa.select(User.id).where(managed(admin, User))
    return sa.or_(
        AuditEvent.screening_id.in_(in_my_sites),
        sa.and_(AuditEvent.screening_id.is_(None), AuditEvent.user_id.in_(my_staff)),
    )


def counted(admin: User) -> list[tuple[Site, int, int]]:
    """The sites `admin` works for, each with the number of staff in it (network-wide staff
    not counted) and of its screenings."""
    staff_count = (
        sa.select(sa.func.count())
        .select_from(user_sites.join(User))
        .where(user_sites.c.site_id == Site.id, User.all_sites.is_(False))
        .scalar_subquery()
    )
    screening_count = (
        sa.select(sa.func.count())
        .select_from(Screening)
        .where(Screening.site_id == Site.id)
        .scalar_subquery()
    )
    ids = ids_of(admin)
    statement = sa.select(Site, staff_count, screening_count).order_by(Site.name)
    if ids is not None:
        statement = statement.where(Site.id.in_(sorted(ids)))
    return [(site, staff, screenings) for site, staff, screenings in db.session.execute(statement)]


def network_wide_staff() -> int:
    """The number of accounts in every site."""
    statement = sa.select(sa.func.count()).select_from(User).where(User.all_sites)
    return db.session.scalar(statement) or 0
