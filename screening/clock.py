"""Times as the clinic reads them: in its own time zone (`SCREENING_TIMEZONE`, an IANA name such
as Europe/Madrid), with the zone's abbreviation (CET, CEST, EST, EDT), whatever the server's.

Stored times are UTC (models.UTCDateTime); they are converted only where they are shown. Pure:
the zone is an argument, so the pages (the `local_time` filter, templating.py), the PDF and the
exports can all use it without a request or an app."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# How a time is shown: the same few shapes on every page.
FORMATS = {
    "datetime": "%Y-%m-%d %H:%M %Z",
    "seconds": "%Y-%m-%d %H:%M:%S %Z",
    "date": "%Y-%m-%d",
    "time": "%H:%M %Z",
}


class UnknownZone(ValueError):
    """Not a time zone name of the IANA database."""


@functools.lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    """The time zone named `name` (e.g. "America/New_York"); UnknownZone if there is none."""
    try:
        if not name or name != name.strip():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownZone(
            f"{name!r} is not a time zone name of the IANA database, like Europe/Madrid, "
            "America/New_York or UTC"
        ) from None


def local(moment: dt.datetime, zone_name: str) -> dt.datetime:
    """`moment` in the zone (a naive one is taken as UTC, as the database stores it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone(zone_name))


def shown(moment: dt.datetime | None, zone_name: str, form: str = "datetime") -> str:
    """`moment` as the clinic reads it, e.g. "2026-03-08 03:30 EDT" (`form`: one of FORMATS);
    "" for None."""
    if moment is None:
        return ""
    return local(moment, zone_name).strftime(FORMATS[form])


def day_start(day: dt.date, zone_name: str) -> dt.datetime:
    """The first moment of `day` in the zone (aware): where a day's range begins."""
    return dt.datetime.combine(day, dt.time(), zone(zone_name))
