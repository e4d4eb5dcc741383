"""Security headers on every kind of response, and the session cookie's flags."""

from __future__ import annotations

import pytest

from tests import factories
from tests.web.support import page

from .conftest import login, signed_in


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_secure_headers(response, what: str, https: bool = False) -> None:
    policy = csp(response)
    assert policy, what
    script = policy.get("script-src", policy.get("default-src"))
    assert script is not None, what
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, what
    assert policy.get("frame-ancestors") == ["'none'"], what
    assert policy.get("object-src") == ["'none'"], what
    assert response.headers.get("X-Frame-Options") == "DENY", what
    assert response.headers.get("Referrer-Policy") == "same-origin", what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    hsts = response.headers.get("Strict-Transport-Security")
    if https:
        assert hsts is not None and "max-age=" in hsts, what
        assert int(hsts.split("max-age=")[1].split(";")[0]) >= 15552000, what
    else:
        assert hsts is None, what


def responses(app, staff, base_url: str = "http://localhost"):
    """(what, response) for each kind of page the app serves."""
    ident, token = factories.screening(app)
    done, _ = factories.submitted(app, "low tier")
    anonymous = app.test_client()
    clinician = signed_in(app.test_client(), staff["clinician"])
    intake = signed_in(app.test_client(), staff["intake"])
    get = {"base_url": base_url}
    yield "patient home", anonymous.get("/", **get)
    yield "patient welcome", anonymous.get(f"/s/{token}", **get)
    yield "patient link error", anonymous.get("/s/not-a-real-link", **get)
    yield "staff login", anonymous.get("/staff/login", **get)
    yield "staff redirect", anonymous.get("/staff/", **get)
    yield "staff list", clinician.get("/staff/", **get)
    yield "staff detail", clinician.get(f"/staff/screenings/{done}", **get)
    yield "staff 403", intake.get("/staff/users", **get)
    yield "staff 405", intake.get(f"/staff/screenings/{ident}/revoke", **get)
    yield "staff PDF", clinician.get(f"/staff/screenings/{done}/summary.pdf", **get)
    yield "static file", anonymous.get("/static/css/app.css", **get)
    yield "404", anonymous.get("/no/such/page", **get)
    yield "kiosk page", anonymous.get("/kiosk", **get)


def test_headers_on_every_kind_of_response(app, staff):
    seen = set()
    for what, response in responses(app, staff):
        assert_secure_headers(response, what)
        seen.add(response.status_code)
        # Patient and staff pages are never cached (the app-wide pages for addresses that match
        # no route, and static files, carry nothing of a patient).
        if what not in ("static file", "404", "staff 405"):
            assert response.headers.get("Cache-Control") == "no-store", what
        # The policy forbids inline scripts, so the pages must not need any.
        if response.mimetype == "text/html":
            html = page(response)
            for script in html.find_all("script"):
                assert script.attrs.get("src") and not script.children, what
            for node in html.iter():
                assert not any(name.startswith("on") for name in node.attrs), (what, node.tag)
        response.close()
    assert {200, 302, 403, 404, 405} <= seen


def test_hsts_only_over_https(app, staff):
    for what, response in responses(app, staff, base_url="https://localhost"):
        assert_secure_headers(response, what, https=True)
        response.close()


def session_cookie(response) -> str:
    name = ("__Host-session=", "session=")  # in production, and in development
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name)]
    assert cookies, response.headers
    return cookies[-1]


def flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_the_session_cookie_is_httponly_and_samesite_lax(app, client, staff):
    cookie = session_cookie(login(client, staff["intake"]))
    assert "httponly" in flags(cookie)
    assert "samesite=lax" in flags(cookie)
    assert "secure" not in flags(cookie)  # development over plain HTTP
    assert not any(f.startswith(("expires=", "max-age=")) for f in flags(cookie))


class TestProduction:
    @pytest.fixture
    def app_config(self, staff_config, tmp_path):
        return {**staff_config, "SCREENING_ENV": "production",
                "SCREENING_RED_FLAG_EMAIL": "team@clinic.example",
                "SCREENING_QUEUE": f"sqlite:///{tmp_path / 'queue.db'}"}

    def test_the_session_cookie_is_secure(self, app, staff):
        assert app.config["SESSION_COOKIE_SECURE"] is True
        client = app.test_client()
        response = login(client, staff["intake"])
        assert response.status_code == 303
        cookie = session_cookie(response)
        assert {"secure", "httponly", "samesite=lax"} <= flags(cookie)
