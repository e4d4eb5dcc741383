"""Every setting, read from the environment in this one place, with safe defaults.

`SETTINGS` is the list: the README's Configuration table documents each (a test checks that it
lists every one), `from_environment` reads them, and the rest of the code reads `app.config`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import clock
from .i18n import DEFAULT_CONTACT, LANGUAGES
from .mail import EMAIL_RE
from .paths import DEFAULT_QUESTIONNAIRE


class ConfigError(RuntimeError):
    """The application cannot start with this configuration."""


def whole(name: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None

    return parse


def one_of(name: str, *allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ConfigError(f"{name} must be {', '.join(allowed[:-1])} or {allowed[-1]}, "
                              f"not {value!r}")  # fmt: skip
        return value

    return parse


def days(name: str) -> Callable[[str], tuple[int, ...]]:
    def parse(raw: str) -> tuple[int, ...]:
        try:
            found = tuple(sorted(int(part) for part in raw.split(",") if part.strip()))
        except ValueError:
            raise ConfigError(f"{name} must be whole numbers of days separated by commas") from None
        if not found or found[0] < 1:
            raise ConfigError(f"{name} must list at least one delay of 1 day or more")
        return found

    return parse


def database_url(raw: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
    raw = raw.strip()
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def flag(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def address(name: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not EMAIL_RE.match(value):
            raise ConfigError(f"{name} must be an e-mail address like team@clinic.example, "
                              f"not {value!r}")  # fmt: skip
        return value

    return parse


def base_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(
            f"SCREENING_BASE_URL must be the address patients open, like "
            f"https://screening.clinic.example, not {value!r}"
        )
    return value


def time_zone(raw: str) -> str:
    """An IANA time zone name the machine knows (its database: Debian's tzdata)."""
    value = raw.strip()
    try:
        clock.zone(value)
    except clock.UnknownZone as exc:
        raise ConfigError(f"SCREENING_TIMEZONE: {exc}") from None
    return value


def host_names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


def queue_url(raw: str) -> str:
    value = raw.strip()
    if value == "memory" or value.startswith(("sqlite:///", "redis://", "rediss://")):
        return value
    raise ConfigError(
        "SCREENING_QUEUE must be memory, sqlite:///path/to/queue.db or redis://host:6379/0, "
        f"not {value!r}"
    )


@dataclass(frozen=True)
class Setting:
    env: str  # the environment variable
    default: Any  # or a function of the instance folder and production (see below)
    parse: Callable[[str], Any] = str.strip
    key: str | None = None  # the config key, when it is not `env`

    @property
    def config_key(self) -> str:
        return self.key or self.env


def _secret_key(instance: Path, production: bool) -> str:
    if production:
        raise ConfigError(
            "SCREENING_SECRET_KEY must be set in production (SCREENING_ENV=production): "
            "a generated key would differ between servers and restarts"
        )
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _base_url(instance: Path, production: bool) -> str:
    if production:
        raise ConfigError(
            "SCREENING_BASE_URL must be set in production (SCREENING_ENV=production), e.g. "
            "https://screening.clinic.example: every patient's link is made from it, and only "
            "requests for its host are answered"
        )
    return "http://127.0.0.1:5000"


def _sqlite_file(instance: Path, production: bool) -> str:
    instance.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance / 'screening.db'}"


def _queue_file(instance: Path, production: bool) -> str:
    if production:
        raise ConfigError(
            "SCREENING_QUEUE must be set in production (SCREENING_ENV=production): "
            "redis://host:6379/0, shared by `screening serve` and every `screening worker`"
        )
    return f"sqlite:///{instance / 'queue.db'}"  # the folder is made with the queue


Derived = Callable[[Path, bool], Any]

SETTINGS: tuple[Setting, ...] = (
    Setting("SCREENING_ENV", "development", lambda raw: raw.strip().lower()),  # production?
    Setting("SCREENING_SECRET_KEY", _secret_key, key="SECRET_KEY"),
    Setting("DATABASE_URL", _sqlite_file, database_url, key="SQLALCHEMY_DATABASE_URI"),
    Setting("SCREENING_QUESTIONNAIRE", str(DEFAULT_QUESTIONNAIRE)),
    Setting("SCREENING_LINK_DAYS", 14, whole("SCREENING_LINK_DAYS")),
    Setting("SCREENING_CLINIC_NAME", "Spine Clinic"),
    Setting("SCREENING_CLINIC_CONTACT", DEFAULT_CONTACT),
    *(Setting(f"SCREENING_CLINIC_CONTACT_{lang.upper()}", None) for lang in LANGUAGES[1:]),
    Setting("SCREENING_BASE_URL", _base_url, base_url),
    # Hosts answered besides SCREENING_BASE_URL's in production (a load balancer's health check).
    Setting("SCREENING_TRUSTED_HOSTS", (), host_names),
    Setting("SCREENING_PAPER", "letter", one_of("SCREENING_PAPER", "letter", "a4")),
    Setting("SCREENING_CLINIC_LOGO", None),
    Setting("SCREENING_PROXY_FIX", 0, whole("SCREENING_PROXY_FIX")),
    Setting("SCREENING_LOG_FORMAT", "text", one_of("SCREENING_LOG_FORMAT", "text", "json")),
    Setting("SCREENING_LOG_REQUESTS", True, flag),
    # The clinic's time zone: every time on the staff pages is shown in it.
    Setting("SCREENING_TIMEZONE", "UTC", time_zone),
    # The units a height and a weight are asked in first (the others are offered too).
    Setting("SCREENING_UNITS", "metric", one_of("SCREENING_UNITS", "metric", "us")),
    # The staff side
    Setting("SCREENING_IDLE_MINUTES", 30, whole("SCREENING_IDLE_MINUTES")),
    Setting("SCREENING_SESSION_HOURS", 12, whole("SCREENING_SESSION_HOURS")),
    Setting("SCREENING_KIOSK_IDLE_MINUTES", 10, whole("SCREENING_KIOSK_IDLE_MINUTES")),
    # A second factor (TOTP) for clinicians and admins: on by default in production; off only
    # for a pilot that accepts the risk.
    Setting("SCREENING_REQUIRE_SECOND_FACTOR", lambda instance, production: production, flag),
    Setting("SCREENING_RESET_HOURS", 24, whole("SCREENING_RESET_HOURS")),
    Setting("SCREENING_RATELIMIT_STORAGE", "memory://", key="RATELIMIT_STORAGE_URI"),
    Setting("SCREENING_LOGIN_LIMIT_ACCOUNT", "5 per 15 minutes"),
    Setting("SCREENING_LOGIN_LIMIT_ADDRESS", "30 per 15 minutes"),
    Setting("SCREENING_API_FAILED_KEY_LIMIT", "20 per 15 minutes"),
    Setting("SCREENING_CODE_LIMIT_ADDRESS", "10 per 15 minutes"),
    Setting("SCREENING_CODE_LIMIT_ALL", "300 per hour"),
    # E-mail
    Setting("SCREENING_SMTP_HOST", "localhost"),
    Setting("SCREENING_SMTP_PORT", 25, whole("SCREENING_SMTP_PORT")),
    Setting(
        "SCREENING_SMTP_SECURITY",
        "none",
        one_of("SCREENING_SMTP_SECURITY", "none", "starttls", "tls"),
    ),  # fmt: skip
    Setting("SCREENING_SMTP_USER", None),
    Setting("SCREENING_SMTP_PASSWORD", None, str),
    Setting("SCREENING_SMTP_TIMEOUT", 10, whole("SCREENING_SMTP_TIMEOUT")),
    Setting("SCREENING_MAIL_SENDER", "screening@localhost"),
    # Red flags: where each urgency's alerts go (each falls back to SCREENING_RED_FLAG_EMAIL),
    # and how often an unacknowledged one is sent again.
    Setting("SCREENING_RED_FLAG_EMAIL", None, address("SCREENING_RED_FLAG_EMAIL")),
    *(
        Setting(f"SCREENING_ALERT_EMAIL_{name}", None, address(f"SCREENING_ALERT_EMAIL_{name}"))
        for name in ("EMERGENCY", "SAME_DAY", "REVIEW", "ESCALATION")
    ),  # fmt: skip
    Setting(
        "SCREENING_ESCALATE_MINUTES_EMERGENCY", 30, whole("SCREENING_ESCALATE_MINUTES_EMERGENCY")
    ),  # fmt: skip
    Setting(
        "SCREENING_ESCALATE_MINUTES_SAME_DAY", 240, whole("SCREENING_ESCALATE_MINUTES_SAME_DAY")
    ),  # fmt: skip
    Setting("SCREENING_ESCALATE_MAX", 6, whole("SCREENING_ESCALATE_MAX")),
    # Background work (huey): memory (jobs wait until run: tests), a SQLite file (one machine,
    # `make run`), or Redis (production: any number of `screening worker` processes).
    Setting("SCREENING_QUEUE", _queue_file, queue_url),
    Setting("SCREENING_WORKER_THREADS", 2, whole("SCREENING_WORKER_THREADS")),
    Setting("SCREENING_REMINDER_HOUR", 9, whole("SCREENING_REMINDER_HOUR")),
    Setting("SCREENING_REMINDER_DAYS", (3, 7), days("SCREENING_REMINDER_DAYS")),
    Setting("SCREENING_MAX_REMINDERS", 3, whole("SCREENING_MAX_REMINDERS")),
    # `screening serve` (gunicorn)
    Setting("SCREENING_BIND", "127.0.0.1:8000"),
    Setting("SCREENING_WORKERS", (os.cpu_count() or 1) + 1, whole("SCREENING_WORKERS")),
    Setting("SCREENING_THREADS", 4, whole("SCREENING_THREADS")),
    Setting("SCREENING_MAX_REQUESTS", 2000, whole("SCREENING_MAX_REQUESTS")),
    Setting("SCREENING_ACCESS_LOG", "-"),
    Setting("SCREENING_FORWARDED_ALLOW_IPS", "127.0.0.1"),
)


def from_environment(instance_path: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every setting from the environment (or its default); keys in `given` (a test's config)
    are taken as they are and not looked up."""
    given = given or {}
    instance = Path(instance_path)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        key = setting.config_key
        if key in given:
            values[key] = given[key]
            continue
        raw = os.environ.get(setting.env)
        if raw is not None and raw.strip():
            values[key] = setting.parse(raw)
        elif callable(setting.default):
            values[key] = setting.default(instance, values["SCREENING_ENV"] == "production")
        else:
            values[key] = setting.default
    values["SESSION_COOKIE_SECURE"] = values["SCREENING_ENV"] == "production"
    if values["SCREENING_ENV"] == "production":
        # Only sent over HTTPS, for this host and every path: a sibling subdomain cannot set it.
        values["SESSION_COOKIE_NAME"] = "__Host-session"
        _check_production(values)
        # Flask answers a request for any other Host with 400 (the links never use it anyway).
        values["TRUSTED_HOSTS"] = [
            urlsplit(values["SCREENING_BASE_URL"]).hostname,
            *values["SCREENING_TRUSTED_HOSTS"],
        ]
    return values


ALERT_SETTINGS = tuple(f"SCREENING_ALERT_EMAIL_{u}" for u in ("EMERGENCY", "SAME_DAY", "REVIEW"))


def _check_production(values: dict[str, Any]) -> None:
    """What production refuses to start without: an address for every urgency's alerts, and a
    queue that outlives the process."""
    if values["SCREENING_QUEUE"] == "memory":
        raise ConfigError(
            "SCREENING_QUEUE=memory loses its jobs with the process: in production use "
            "redis://host:6379/0 (or sqlite:///path on a single machine)"
        )
    if not values["SCREENING_RED_FLAG_EMAIL"] and not all(values[n] for n in ALERT_SETTINGS):
        raise ConfigError(
            "in production red-flag alerts need an address: set SCREENING_RED_FLAG_EMAIL, or "
            f"each of {', '.join(ALERT_SETTINGS)}"
        )


def check_workers(values: dict[str, Any], workers: int) -> None:
    """Limits counted in each worker's memory let an attacker guess `workers` times as often:
    production with several workers needs a shared store."""
    storage = values["RATELIMIT_STORAGE_URI"]
    if values["SCREENING_ENV"] == "production" and workers > 1 and storage.startswith("memory"):
        raise ConfigError(
            f"SCREENING_RATELIMIT_STORAGE={storage} counts sign-in attempts in each of the "
            f"{workers} workers separately: in production set SCREENING_RATELIMIT_STORAGE to a "
            "Redis URL such as redis://127.0.0.1:6379/1 (or run one worker)"
        )


DEFAULTS: dict[str, Any] = {
    # pre_ping: a connection dropped by a database restart is replaced before a request uses it.
    # hide_parameters: SQL errors never carry patients' values into logs.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    # A patient may pause for hours: the CSRF token lives as long as the session, up to 12 hours.
    "WTF_CSRF_TIME_LIMIT": 12 * 3600,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "MAX_FORM_MEMORY_SIZE": 256 * 1024,
}
