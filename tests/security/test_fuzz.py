"""No input makes the app answer 5xx: a generated fuzz test over every route and form, on PostgreSQL
(which refuses what SQLite lets through: NUL in text, ids above 2^31-1).

Every rule of `app.url_map` is taken (a new route is covered without touching this file), with each
of its methods. Hypothesis draws, for each request: who sends it (an admin, an intake nurse, a
clinician, someone not signed in, a patient holding a valid link, or an API client with a valid
key), the values of the path's parts (real ids and links, 0, negatives, 2^31, 2^63, huge numbers,
text with NUL, line breaks, bidirectional controls, very long text, escapes that are not UTF-8), a
query string, and for a POST a form body made of the real form's field names (read from the pages
as a browser would, CSRF token included, so that the request reaches validation) with real or
nasty values, and junk fields; and headers the app reads (Accept-Language, X-Request-ID,
Authorization). The JSON API gets the query parameters its OpenAPI document names (schemathesis
also checks the API against that document, tests/api/test_schemathesis.py, on both databases).
Every answer must be below 500.

Hypothesis is derandomized (the same requests on every run, as CI needs) and has no example
database; 40 examples per route and method (about 2,200 requests) take about half a minute
(FUZZ_EXAMPLES=400 for a longer hunt by hand).
"""

from __future__ import annotations

import collections
import os
import re
import time
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from screening.extensions import db
from screening.models import API_SCOPES, LARGEST_ID, User
from tests import factories
from tests.api.conftest import make_key
from tests.conftest import make_app, truncate_all
from tests.staff.conftest import make_user
from tests.web.support import example, walk

pytestmark = pytest.mark.postgres

# FUZZ_EXAMPLES=400 for a longer hunt by hand; CI keeps the default.
EXAMPLES_PER_ROUTE = int(os.environ.get("FUZZ_EXAMPLES", "40"))
STAFF_ROLES = ("admin", "intake", "clinician")
SENDERS = (*STAFF_ROLES, "anonymous", "patient", "api")

# --- what goes into a request ----------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\x00", "a\x00b", "\x1b[31m", "\x7f", "\u0085", "line\r\nSet-Cookie: x=1", "\n",
    "\u202eevil\u202c", "\u2066ab\u2069", "\u200b", "\ufeff", "é", "𝟙𝟘", "١٠", "１０", "1_0",
    "1e3", "0x10", "inf", "nan", "-1", "0", "9" * 40, "-" + "9" * 40, "9" * 5000, "1e400",
    "..", "../../etc/passwd",
    "<script>alert(1)</script>", "' OR 1=1 --", "a@b.example, c@d.example", "a@b.example\r\nBcc: x",
    "%", "%%", "%ff", "\ud7ff", "\U0010ffff", "x" * 5000, "1960-02-30", "0000-00-00",
    "99999-01-01", "2026-12-04T10:00", "true", "[]", "{}", "null",
]  # fmt: skip
# Put into a URL as they are: percent-escapes that do not decode to UTF-8, or decode to a NUL.
RAW_ESCAPES = ["%ff", "%c0%af", "%ed%a0%80", "%00", "%0d%0a", "%e2%80%ae", "%25", "%2f", "%"]
NUMBERS = [1, 2, 3, 4, 5, 0, -1, -(2**31), LARGEST_ID, LARGEST_ID + 1, 2**32, 2**63, 2**64, 10**30]
QUERY_KEYS = [
    "q", "page", "next", "sort", "tier", "surgeon", "status", "created_from", "created_to",
    "since", "until", "user", "screening", "action", "lang", "limit", "cursor", "per_page",
    "submitted_from", "submitted_to", "flagged", "reviewed", "id", "token", "format",
]  # fmt: skip

text = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=12),
)
number_text = st.one_of(st.sampled_from(NUMBERS), st.integers()).map(str)


def url_part(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A value as it goes into a URL: escaped, or a raw escape that decodes to nothing good."""
    return st.one_of(values.map(lambda v: quote(v, safe="")), st.sampled_from(RAW_ESCAPES))


query_value = st.one_of(text, number_text)


def query_string(keys: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        st.lists(st.tuples(st.sampled_from(keys) | text, query_value), max_size=4).map(urlencode),
        st.lists(st.sampled_from(RAW_ESCAPES), min_size=1, max_size=3).map(
            lambda raw: "q=" + "".join(raw) + "&page=" + raw[0]
        ),
    )


# Headers the app reads: the patient's languages, a request id, an API key that is not one.
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
extra_headers = st.fixed_dictionaries(
    {},
    optional={
        "Accept-Language": st.sampled_from(
            ["es", "es-MX,es;q=0.9,en;q=0.8", "*;q=nan", "en;q=1e999", ";;,,", "zz", "x" * 500]
        )
        | header_text,
        "X-Request-ID": header_text,
        "Authorization": st.sampled_from(["Bearer ", "Bearer scr_x.y", "Basic Og=="]) | header_text,
    },
)


# --- the forms the pages show ----------------------------------------------------------------


class Forms(HTMLParser):
    """Every <form method=post> of a page: its action and its fields with the values the page
    offers (several for a select or a set of checkboxes)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self._fields: dict[str, list[str]] | None = None  # of the POST form we are in
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._fields = None
            if (a.get("method") or "get").lower() == "post":
                self._fields = {}
                self.forms.append((a.get("action") or "", self._fields))
            return
        fields = self._fields
        name = a.get("name")
        if fields is None:
            return
        if tag in ("input", "textarea", "button") and name:
            fields.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, [])
        elif tag == "option" and self._select:
            fields[self._select].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._fields = None


def forms_of(html: str) -> list[tuple[str, dict[str, list[str]]]]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


# --- the world the requests are sent into ----------------------------------------------------


class World:
    """The app on PostgreSQL with screenings in several states, a client for each sender, and the
    fields of each endpoint's forms (endpoint -> field -> values seen)."""

    def __init__(self, url: str):
        self.app = make_app(
            url,
            WTF_CSRF_ENABLED=True,  # as in production: the forms carry their token
            SCREENING_LOGIN_LIMIT_ACCOUNT="100000 per minute",
            SCREENING_LOGIN_LIMIT_ADDRESS="100000 per minute",
            SCREENING_API_FAILED_KEY_LIMIT="100000 per minute",
        )
        app = self.app
        self.staff = {
            role: make_user(app, f"{role}@clinic.example", [role]) for role in STAFF_ROLES
        }
        self.submitted = factories.submitted(app, "low tier", "Ann Example", patient_mrn="MRN-1")
        flagged, _ = factories.screening(app, "Eve Evans", patient_email="eve@patients.example")
        factories.submit_example(app, flagged, "self-harm")
        self.invited = factories.screening(app, "Ivy Invited", surgeon="Dr. B")
        self.key = make_key(app, scopes=API_SCOPES)  # every route reached, writing too
        self.clients = {role: app.test_client() for role in SENDERS}
        self.csrf: dict[str, str] = {}
        for role in STAFF_ROLES:
            self.sign_in(role)
        # A patient half-way: every step saved, not yet submitted (so every step can be opened).
        patient = self.clients["patient"]
        walk(patient, app, self.invited[1], example(app, "low tier"), csrf=True)
        # The link being answered more often than the submitted one (whose steps are closed).
        self.tokens = [self.invited[1], self.invited[1], self.submitted[1]]
        for sender in ("anonymous", "patient", "api"):
            self.csrf[sender] = csrf_token(self.clients[sender], "/staff/login")
        with app.app_context():
            from screening.domain import questionnaires

            self.step_ids = [s.id for s in questionnaires.in_force().steps]
        self.fields: dict[str, dict[str, list[str]]] = {}
        # The API's query parameters, from its OpenAPI document, beside the staff pages' filters.
        document = self.clients["api"].get("/api/v1/openapi.json").get_json()
        self.query_keys = sorted({*QUERY_KEYS, *(
            p["name"] for path in document["paths"].values() for op in path.values()
            for p in op.get("parameters", []) if p.get("in") == "query"
        )})  # fmt: skip
        self.crawl()

    def sign_in(self, role: str) -> None:
        client = self.clients[role] = self.app.test_client()
        token = csrf_token(client, "/staff/login")
        who = self.staff[role]
        response = client.post("/staff/login", data={"email": who.email, "password": who.password,
                                                     "csrf_token": token})  # fmt: skip
        assert response.status_code == 303, response.status_code
        self.csrf[role] = csrf_token(
            client, "/staff/", "/staff/users", f"/staff/screenings/{self.submitted[0]}"
        )

    def restore(self) -> None:
        """Every account enabled and signed in again (after a fuzzed sign-out or disabling).

        A client whose session still opens its account page keeps it (and its CSRF token):
        signing the three in again after every such request was most of this test's time."""
        with self.app.app_context():
            db.session.execute(sa.update(User).values(active=True, disabled_at=None))
            db.session.commit()
            db.session.remove()
        for role in STAFF_ROLES:
            if self.clients[role].get("/staff/account").status_code != 200:
                self.sign_in(role)

    def crawl(self) -> None:
        ids = [self.submitted[0], self.invited[0], 2]
        pages = {
            "admin": ["/staff/", "/staff/users", "/staff/api-keys", "/staff/audit",
                      *(f"/staff/screenings/{i}" for i in ids)],
            "intake": ["/staff/invitations/new", *(f"/staff/screenings/{i}" for i in ids)],
            "clinician": [f"/staff/screenings/{i}" for i in ids],
            "anonymous": ["/staff/login", f"/s/{self.submitted[1]}/result", "/c",
                          f"/s/{self.submitted[1]}/copy"],
            "patient": [f"/s/{self.invited[1]}", f"/s/{self.invited[1]}/review",
                        *(f"/s/{self.invited[1]}/step/{s}" for s in self.step_ids)],
        }  # fmt: skip
        adapter = self.app.url_map.bind("localhost")
        for role, paths in pages.items():
            for path in paths:
                page = self.clients[role].get(path)
                for action, fields in forms_of(page.get_data(as_text=True)):
                    try:
                        endpoint, _ = adapter.match(action.split("?")[0] or path, method="POST")
                    except HTTPException:
                        continue
                    known = self.fields.setdefault(endpoint, {})
                    for name, values in fields.items():
                        known.setdefault(name, [])
                        known[name] += [v for v in values if v not in known[name]]


def csrf_token(client, *paths: str) -> str:
    """The session's CSRF token, as the first of `paths` that has a form renders it."""
    for path in paths:
        for _, fields in forms_of(client.get(path).get_data(as_text=True)):
            if fields.get("csrf_token"):
                return fields["csrf_token"][0]
    raise AssertionError(f"no CSRF token on {paths}")


@pytest.fixture
def world(pg_migrated) -> World:
    truncate_all(pg_migrated)
    made = World(pg_migrated)
    yield made
    with made.app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- building one request --------------------------------------------------------------------

CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def path_value(
    world: World, converter: str | None, name: str, real: bool
) -> st.SearchStrategy[str]:
    """A value that exists (`real`: so that the request gets past "not found"), or anything."""
    if converter in ("id", "int"):
        if real:
            return st.sampled_from(["1", "2", "3"])
        return number_text | st.sampled_from(RAW_ESCAPES)
    if name == "token" and real:
        return st.sampled_from(world.tokens)
    if name == "step_id" and real:
        return st.sampled_from(world.step_ids)
    if name == "ident":
        return url_part(number_text | text)
    if converter == "path":
        return st.lists(url_part(text), min_size=1, max_size=3).map("/".join)
    return url_part(text)


def path_of(world: World, rule: Rule, data: st.DataObject) -> str:
    real = data.draw(st.sampled_from([True, True, False]), label="values that exist")

    def value(match: re.Match) -> str:
        strategy = path_value(world, match.group(1), match.group(2), real)
        return data.draw(strategy, label=match.group(2))

    return CONVERTER.sub(value, rule.rule)


def form_of(world: World, endpoint: str, sender: str, data: st.DataObject) -> dict:
    body: dict[str, list[str]] = {}
    for name, values in world.fields.get(endpoint, {}).items():
        if name == "csrf_token":
            continue
        choice = data.draw(st.sampled_from(["keep", "keep", "nasty", "omit"]), label=name)
        if choice == "keep":
            body[name] = list(values) or [""]
        elif choice == "nasty":
            body[name] = data.draw(st.lists(query_value, min_size=1, max_size=2), label=name)
    for name, value in data.draw(st.lists(st.tuples(text, text), max_size=2), label="junk"):
        body.setdefault(name, []).append(value)
    csrf = data.draw(st.sampled_from(["real", "real", "real", "none", "junk"]), label="csrf")
    if csrf == "real":
        body["csrf_token"] = [world.csrf[sender]]
    elif csrf == "junk":
        body["csrf_token"] = [data.draw(text, label="csrf value")]
    return body


RESETS = {"staff.logout", "staff.hand_over", "staff.disable_user", "staff.users"}


def routes(app) -> list[tuple[Rule, str]]:
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        methods = sorted((rule.methods or {"GET", "POST", "PUT", "DELETE"}) - {"HEAD", "OPTIONS"})
        found += [(rule, method) for method in methods]
    return found


def fuzz(world: World, rule: Rule, method: str, record) -> None:
    """EXAMPLES_PER_ROUTE generated requests to one rule with one method; `record(request,
    response)` is told of each."""

    meant_for = {"staff": STAFF_ROLES, "patient": ("patient",), "api": ("api",)}.get(
        rule.endpoint.split(".")[0], SENDERS
    )

    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=st.data())
    def one_request(data):
        sender = data.draw(st.sampled_from(SENDERS) | st.sampled_from(meant_for), label="sender")
        path = path_of(world, rule, data)
        query = data.draw(query_string(world.query_keys), label="query")
        url = path + (f"?{query}" if query else "")
        headers = data.draw(extra_headers, label="headers")
        if sender == "api":
            headers["Authorization"] = f"Bearer {world.key.secret}"
        body: dict | str | None = None
        if method == "POST":
            body = form_of(world, rule.endpoint, sender, data)
            if data.draw(st.integers(0, 5), label="as raw bytes") == 0:  # escapes not UTF-8
                raw = data.draw(st.sampled_from(RAW_ESCAPES), label="raw value")
                body = "&".join(f"{quote(k)}={raw}" for k in body) or f"x={raw}"
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        client = world.clients[sender]
        with client.open(url, method=method, data=body, headers=headers) as response:
            record(f"{sender} {method} {url!r} {headers!r} {body!r}", response)
        if rule.endpoint in RESETS and sender in STAFF_ROLES:
            world.restore()

    one_request()


def test_no_request_to_any_route_is_answered_with_a_5xx(world):
    failures: list[str] = []

    statuses: collections.Counter[int] = collections.Counter()

    def record(request: str, response) -> None:
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {request}"[:600])

    started = time.perf_counter()
    every = routes(world.app)
    for rule, method in every:
        fuzz(world, rule, method, record)
    seconds = time.perf_counter() - started
    sent = sum(statuses.values())
    print(f"\nfuzz: {sent} requests to {len(every)} routes and methods in {seconds:.1f} s")
    assert not failures, "\n".join(failures)
    # The requests get past the front door (sign-in, CSRF, links): else this proves little.
    assert sum(n for code, n in statuses.items() if code < 400) > sent / 4, statuses
