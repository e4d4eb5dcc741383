"""Links are made from SCREENING_BASE_URL only, never from the request's Host header (which whoever
sends the request chooses); in production the app answers only its own host. Every test runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from screening import settings
from tests import factories
from tests.web.support import page

from .conftest import print_handout

BASE = "https://screening.clinic.example"
LINK = re.compile(r"https?://[^/\s\"<]+/s/[A-Za-z0-9_-]{20,}")
EVIL = {"Host": "evil.example"}
ELSEWHERE = "http://evil.example"  # the Host header a request chooses


def signed_in_elsewhere(client, who):
    response = client.post("/staff/login", base_url=ELSEWHERE,
                           data={"email": who.email, "password": who.password})  # fmt: skip
    assert response.status_code == 303
    return client


@pytest.fixture
def app_config(staff_config) -> dict:
    return {**staff_config, "SCREENING_BASE_URL": BASE}


def test_the_e_mailed_link_and_the_handout_use_the_base_url(app, client, staff, smtp_server):
    ident, _ = factories.screening(app, patient_email="ann@patients.example")
    signed_in_elsewhere(client, staff["intake"])
    assert client.post(f"/staff/screenings/{ident}/send", base_url=ELSEWHERE).status_code == 303
    [mail] = smtp_server.messages
    links = set(LINK.findall(mail.text + mail.html))
    assert links and all(link.startswith(f"{BASE}/s/") for link in links), links
    assert "evil.example" not in mail.everything
    handout = print_handout(client, ident, base_url=ELSEWHERE)
    assert handout.status_code == 200
    [link] = set(LINK.findall(page(handout).find("main").text))
    assert link.startswith(f"{BASE}/s/")
    assert "evil.example" not in handout.get_data(as_text=True)


def test_a_red_flag_alert_links_to_the_base_url(app, staff, smtp_server):
    from screening import queue

    app.config["SCREENING_RED_FLAG_EMAIL"] = "spine-team@clinic.example"
    ident, _ = factories.screening(app)
    factories.submit_example(app, ident, "self-harm")
    queue.run_pending(app)
    assert smtp_server.messages
    for mail in smtp_server.messages:
        assert f"{BASE}/staff/screenings/{ident}" in mail.text


class TestProduction:
    @pytest.fixture
    def app_config(self, staff_config, tmp_path) -> dict:
        return {**staff_config, "SCREENING_ENV": "production", "SCREENING_BASE_URL": BASE,
                "SCREENING_TRUSTED_HOSTS": ("10.0.0.7",),
                "SCREENING_RED_FLAG_EMAIL": "team@clinic.example",
                "SCREENING_QUEUE": f"sqlite:///{tmp_path / 'queue.db'}"}  # fmt: skip

    def test_only_the_base_urls_host_and_the_trusted_ones_are_answered(self, app, client):
        assert app.config["TRUSTED_HOSTS"] == ["screening.clinic.example", "10.0.0.7"]
        assert client.get("/healthz", base_url=BASE).status_code == 200
        assert client.get("/healthz", base_url="http://10.0.0.7:8000").status_code == 200
        for host in ("evil.example", "screening.clinic.example.evil.example", "localhost"):
            response = client.get("/staff/login", headers={"Host": host})
            assert response.status_code == 400, host
        staff_page = client.post("/staff/login", headers=EVIL, data={"email": "x@y.example"})
        assert staff_page.status_code == 400


def test_production_requires_a_base_url(tmp_path, monkeypatch):
    for name in ("SCREENING_BASE_URL", "SCREENING_TRUSTED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    given = {"SCREENING_ENV": "production", "SECRET_KEY": "k" * 64,
             "SCREENING_QUEUE": "redis://127.0.0.1:6379/0",
             "SCREENING_RED_FLAG_EMAIL": "team@clinic.example"}  # fmt: skip
    with pytest.raises(settings.ConfigError, match="SCREENING_BASE_URL must be set in production"):
        settings.from_environment(str(tmp_path), given)
    monkeypatch.setenv("SCREENING_BASE_URL", "screening.clinic.example")
    with pytest.raises(settings.ConfigError, match="SCREENING_BASE_URL must be the address"):
        settings.from_environment(str(tmp_path), given)
    monkeypatch.setenv("SCREENING_BASE_URL", f"{BASE}/")
    monkeypatch.setenv("SCREENING_TRUSTED_HOSTS", " LB.internal , 10.0.0.7")
    values = settings.from_environment(str(tmp_path), given)
    assert values["SCREENING_BASE_URL"] == BASE
    assert values["TRUSTED_HOSTS"] == ["screening.clinic.example", "lb.internal", "10.0.0.7"]
