"""Every time on the staff pages is in the clinic's time zone (SCREENING_TIMEZONE), with its
abbreviation; the dashboard's dates and its date filters are the clinic's days."""

from __future__ import annotations

import datetime as dt

import pytest

from screening import clock
from screening.models import Screening, utcnow
from tests import factories
from tests.web.support import page

from .conftest import row, set_columns, signed_in
from .test_permissions import make_api_key

ZONE = "America/New_York"


@pytest.fixture
def app_config(staff_config):
    return {**staff_config, "SCREENING_TIMEZONE": ZONE}


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def squashed(response) -> str:
    return " ".join(page(response).find("main").text.split())


def test_the_screening_page_shows_the_clinics_times(app, client, staff):
    # Invited at 01:30 EST on the night New York moves to summer time; its link runs until
    # 60 days later, in EDT.
    invited = utc(2026, 3, 8, 6, 30)
    ident, _ = factories.screening(app, "Nia Night", created=invited, days=60)
    factories.submit_example(app, ident, "self-harm flag")
    signed_in(client, staff["clinician"])
    client.post(f"/staff/screenings/{ident}/review", data={"note": "Fine."})
    text = squashed(client.get(f"/staff/screenings/{ident}"))
    assert "Invited 2026-03-08 01:30 EST" in text
    assert f"Link valid until {clock.shown(invited + dt.timedelta(days=60), ZONE)}" in text
    assert clock.shown(invited + dt.timedelta(days=60), ZONE).endswith(" EDT")
    s = row(app, Screening, ident)
    assert f"Finished {clock.shown(s['submitted_at'], ZONE)}" in text
    assert f"Reviewed {clock.shown(s['reviewed_at'], ZONE)} by clinician@clinic.example" in text
    assert "UTC" not in text


def test_the_dashboard_shows_and_filters_the_clinics_days(app, client, staff):
    # 03:00 UTC on 9 March is still 8 March in New York.
    late, _ = factories.screening(app, "Lou Late", created=utc(2026, 3, 9, 3, 0), days=400)
    factories.screening(app, "Ed Early", created=utc(2026, 3, 9, 12, 0), days=400)
    signed_in(client, staff["intake"])
    body = page(client.get("/staff/")).find("tbody")
    [lou] = [tr for tr in body.find_all("tr") if "Lou Late" in tr.text]
    assert lou.find_all("td")[4].text == "2026-03-08"

    def listed(query: str) -> list[str]:
        return [a.text for a in page(client.get(f"/staff/?{query}")).find("tbody").find_all("a")]

    assert listed("date_from=2026-03-09&date_to=2026-03-09") == ["Ed Early"]
    assert listed("date_to=2026-03-08") == ["Lou Late"]
    assert listed("date_from=0001-01-01&date_to=9999-12-31") == ["Ed Early", "Lou Late"]
    set_columns(app, Screening, late, created_at=utc(2026, 3, 9, 5, 0))  # midnight EST
    assert listed("date_from=2026-03-09&date_to=2026-03-09") == ["Ed Early", "Lou Late"]


def test_the_admin_pages_show_the_clinics_times(app, staff):
    make_api_key(app)
    admin = signed_in(app.test_client(), staff["admin"])
    now = utcnow()
    abbreviation = clock.local(now, ZONE).strftime("%Z")
    assert abbreviation in ("EST", "EDT")
    audit = page(admin.get("/staff/audit"))
    assert [th.text for th in audit.find("thead").find_all("th")][0] == "When"
    first = audit.find("tbody").find("tr").find_all("td")[0].text
    assert first.endswith(f" {abbreviation}")
    shown = dt.datetime.strptime(first[:19], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=clock.zone(ZONE))
    assert abs(shown - now) < dt.timedelta(minutes=2)
    keys = squashed(admin.get("/staff/api-keys"))
    assert f"{clock.local(now, ZONE):%Y-%m-%d} " in keys and f" {abbreviation}" in keys
