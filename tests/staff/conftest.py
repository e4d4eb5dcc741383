"""Fixtures for the staff-side tests: staff accounts, signing in, CSRF, a real SMTP server.

Every test here runs on SQLite and PostgreSQL (the `app` fixture of tests/conftest.py) with its
own aiosmtpd server on a free loopback port; the app's SMTP settings point at it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from werkzeug.security import generate_password_hash

from screening.domain import sites
from screening.extensions import db
from screening.models import ROLES, AuditEvent, User, utcnow
from tests import factories
from tests.helpers import step_data
from tests.web.support import questionnaire, walk

PASSWORD = "plain-Test-Passphrase-7731"
CLINIC = "Riverside Spine Clinic"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- staff accounts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    id: int
    email: str
    roles: tuple[str, ...]
    password: str = PASSWORD


def _quick_hash(password: str) -> str:
    """A real scrypt hash with a lower work factor (n=2**10): checking it at each sign-in takes
    milliseconds instead of ~0.2 s. The product's own hashing is tested in test_passwords.py."""
    return generate_password_hash(password, method="scrypt:1024:8:1")


def make_user(app, email_: str, roles, password: str = PASSWORD, name: str = "",
              all_sites: bool | None = None) -> Staff:
    """A staff account with the quick hash, committed: a test's setting, so it is not in the
    audit log (creating accounts the product's way is tested in test_users_audit.py). In the
    default site; an admin network-wide unless `all_sites` says otherwise (as the migration to
    sites made every admin)."""
    if all_sites is None:
        all_sites = "admin" in roles
    with app.app_context():
        user = User(email=email_, name=name, password_hash=_quick_hash(password),
                    roles=sorted(set(roles), key=ROLES.index), sites=[sites.default()],
                    all_sites=all_sites)
        db.session.add(user)
        db.session.commit()
        made = Staff(user.id, user.email, tuple(user.roles), password)
        db.session.remove()
    return made


@pytest.fixture
def staff(app) -> dict[str, Staff]:
    """One account per role: staff["intake"], staff["clinician"], staff["admin"]."""
    return {role: make_user(app, f"{role}@clinic.example", [role]) for role in ROLES}


# --- signing in, forms ------------------------------------------------------------------------


def csrf_from(response) -> str | None:
    found = CSRF_RE.search(response.get_data(as_text=True))
    return found.group(1) if found else None


def login(client, who: Staff | str, password: str | None = None, next_: str | None = None):
    """Sign in through the login form as a browser would (with its CSRF token when there is one);
    return the response to the POST."""
    email_ = who.email if isinstance(who, Staff) else who
    if password is None:
        password = who.password if isinstance(who, Staff) else PASSWORD
    data = {"email": email_, "password": password}
    token = csrf_from(client.get("/staff/login"))
    if token:
        data["csrf_token"] = token
    url = "/staff/login" + (f"?next={quote(next_)}" if next_ else "")
    return client.post(url, data=data)


def signed_in(client, who: Staff):
    response = login(client, who)
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    return client


def is_signed_in(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def location(response) -> str:
    """The path (and query) a redirect points at."""
    return re.sub(r"^https?://[^/]+", "", response.headers.get("Location", ""))


def print_handout(client, ident: int, **kwargs):
    """Press "Print a handout" (a POST that makes the link) and open the handout page it
    redirects to (a GET: reloading it shows the same link)."""
    response = client.post(f"/staff/screenings/{ident}/handout", **kwargs)
    assert response.status_code == 303, response.status_code
    assert location(response) == f"/staff/screenings/{ident}/handout"
    return client.get(location(response), **kwargs)


def goes_to_login(response) -> bool:
    return response.status_code in (302, 303) and location(response).startswith("/staff/login")


def flashes(client) -> list[str]:
    """The messages waiting to be shown (read without consuming them)."""
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


@pytest.fixture
def csrf(app):
    """CSRF protection on, as in production (the shared default turns it off)."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def token_of(client, path: str = "/staff/") -> str:
    """The session's CSRF token, read from a page as a browser would."""
    token = csrf_from(client.get(path))
    assert token, f"no csrf_token on {path}"
    return token


# --- a real SMTP server on loopback -----------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()

    @property
    def content_types(self) -> list[str]:
        return [part.get_content_type() for part in self.message.walk()]

    @property
    def everything(self) -> str:
        """Headers and both bodies: where no health information may appear.

        Headers made of random numbers (Message-ID, the multipart boundary in Content-Type) and
        the SMTP server's own trace headers are left out: a random "988" in them is not health
        information.
        """
        random_headers = {"message-id", "received", "x-peer", "x-mailfrom", "x-rcptto"}
        headers = "\n".join(
            f"{k}: {self.message.get_content_type() if k.lower() == 'content-type' else v}"
            for k, v in self.message.items()
            if k.lower() not in random_headers
        )
        return "\n".join([headers, self.text, self.html])


@dataclass
class Mailbox:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


TEAM = "spine-team@clinic.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    """aiosmtpd's Controller on 127.0.0.1; `messages` holds what it received."""

    def __init__(self, port: int | None = None):
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.mailbox.messages

    def start(self) -> SMTPServer:
        self.controller = Controller(self.mailbox, hostname=self.host, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class DeadPort:
    """A loopback port that is bound but not listening: connections are refused at once."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def release(self) -> int:
        self.sock.close()
        return self.port


@pytest.fixture
def dead_port():
    port = DeadPort()
    yield port
    port.sock.close()


@pytest.fixture
def staff_config(smtp_server) -> dict[str, Any]:
    return {
        "SCREENING_SMTP_HOST": smtp_server.host,
        "SCREENING_SMTP_PORT": smtp_server.port,
        "SCREENING_SMTP_TIMEOUT": 5,
        "SCREENING_CLINIC_NAME": CLINIC,
        "SCREENING_MAIL_SENDER": "screening@clinic.example",
    }


@pytest.fixture
def app_config(staff_config) -> dict[str, Any]:
    return dict(staff_config)


# --- the database -----------------------------------------------------------------------------


def row(app, model, ident) -> dict[str, Any]:
    """A row's columns as a dict (None if there is no such row)."""
    with app.app_context():
        obj = db.session.get(model, ident)
        data = None if obj is None else {c.key: getattr(obj, c.key) for c in model.__table__.c}
        db.session.remove()
    return data


def scalars(app, statement) -> list[Any]:
    with app.app_context():
        result = list(db.session.scalars(statement))
        db.session.expunge_all()
        db.session.remove()
    return result


def count(app, model, *where) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
        db.session.remove()
    return n


def audit_events(app, action: str | None = None) -> list[AuditEvent]:
    statement = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    return scalars(app, statement)


def audit_actions(app) -> list[str]:
    return [e.action for e in audit_events(app)]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, comparable before and after a request."""
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns))
            state[table.name] = [tuple(_plain(v) for v in r) for r in rows]
        db.session.remove()
    return state


def set_columns(app, model, ident, **values: Any) -> None:
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id == ident).values(**values))
        db.session.commit()
        db.session.remove()


def ago(**delta: float) -> dt.datetime:
    return utcnow() - dt.timedelta(**delta)


# --- patients who raise red flags -----------------------------------------------------------


def alert_settings(smtp_port: int, queue_dir, timeout: int = 5, to: str = TEAM) -> dict:
    """The settings of an app whose red-flag alerts go to `to` through the SMTP server on
    `smtp_port`, queued in a file in `queue_dir` that `screening worker` processes share."""
    return {
        "SCREENING_RED_FLAG_EMAIL": to,
        "SCREENING_SMTP_HOST": "127.0.0.1",
        "SCREENING_SMTP_PORT": smtp_port,
        "SCREENING_SMTP_TIMEOUT": timeout,
        "SCREENING_QUEUE": f"sqlite:///{queue_dir / 'queue.db'}",
    }


def save_step(client, app, token: str, step_id: str, answers: dict) -> None:
    """Post one step (reached already) as the patient's browser would."""
    step = questionnaire(app).step_by_id[step_id]
    response = client.post(f"/s/{token}/step/{step_id}", data=step_data(step, answers))
    assert response.status_code == 303, response.status_code


def answered_until_mood(app, answers: dict) -> tuple[int, str, object]:
    """A patient who has saved every step up to and including the mood step (PHQ-9), and then
    closed the browser: (screening id, token, their client)."""
    ident, token = factories.screening(app, "Fay Flagged", patient_mrn="MRN-0042",
                                       patient_email="fay@patients.example")
    patient = app.test_client()
    assert walk(patient, app, token, answers, until="mood").endswith("/step/mood")
    save_step(patient, app, token, "mood", answers)
    return ident, token, patient
