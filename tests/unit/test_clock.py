"""Times shown in the clinic's time zone (screening/clock.py): the zone's abbreviation, and the
right hour on either side of a daylight-saving change."""

from __future__ import annotations

import datetime as dt

import pytest

from screening import clock


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.mark.parametrize(("moment", "shown"), [
    # New York springs forward on 8 March 2026 at 02:00 EST (07:00 UTC) to 03:00 EDT.
    (utc(2026, 3, 8, 6, 59), "2026-03-08 01:59 EST"),
    (utc(2026, 3, 8, 7, 0), "2026-03-08 03:00 EDT"),
    # ... and falls back on 1 November 2026 at 02:00 EDT (06:00 UTC): 01:30 comes twice.
    (utc(2026, 11, 1, 5, 30), "2026-11-01 01:30 EDT"),
    (utc(2026, 11, 1, 6, 30), "2026-11-01 01:30 EST"),
    # A day earlier in New York than in UTC.
    (utc(2026, 12, 5, 3, 0), "2026-12-04 22:00 EST"),
])
def test_new_york_around_its_daylight_saving_changes(moment, shown):
    assert clock.shown(moment, "America/New_York") == shown


def test_forms_zones_and_naive_values():
    moment = utc(2026, 3, 29, 0, 59, 30)  # Madrid: 01:59:30 CET, then 03:00 CEST
    assert clock.shown(moment, "Europe/Madrid", "seconds") == "2026-03-29 01:59:30 CET"
    later = moment + dt.timedelta(seconds=30)
    assert clock.shown(later, "Europe/Madrid") == "2026-03-29 03:00 CEST"
    assert clock.shown(moment, "UTC") == "2026-03-29 00:59 UTC"
    assert clock.shown(moment, "Asia/Kolkata", "time") == "06:29 IST"
    assert clock.shown(utc(2026, 12, 31, 20, 0), "Pacific/Auckland", "date") == "2027-01-01"
    assert clock.shown(None, "Europe/Madrid") == ""
    # A naive value is taken as UTC (as SQLite gives stored times back).
    assert clock.shown(dt.datetime(2026, 7, 1, 12, 0), "Europe/Madrid") == "2026-07-01 14:00 CEST"


def test_a_days_start_in_the_zone():
    assert clock.day_start(dt.date(2026, 3, 8), "America/New_York") == utc(2026, 3, 8, 5, 0)
    assert clock.day_start(dt.date(2026, 3, 9), "America/New_York") == utc(2026, 3, 9, 4, 0)
    assert clock.day_start(dt.date(2026, 3, 9), "UTC") == utc(2026, 3, 9)


@pytest.mark.parametrize("name", ["", " UTC", "Mars/Base", "America", "../../etc/passwd",
                                  "/usr/share/zoneinfo/UTC", "UTC\x00"])
def test_an_unknown_zone_is_refused_in_words(name):
    with pytest.raises(clock.UnknownZone, match="not a time zone name of the IANA database"):
        clock.zone(name)
