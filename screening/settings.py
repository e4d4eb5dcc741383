"""Configuration from the environment, with safe defaults.

| variable | default |
| --- | --- |
| DATABASE_URL | SQLite file instance/screening.db |
| SCREENING_SECRET_KEY | generated once and kept in instance/secret_key (refused in production) |
| SCREENING_ENV | development; `production` demands an explicit secret key |
| SCREENING_QUESTIONNAIRE | the shipped questionnaires/fbss-preop.yaml |
| SCREENING_LINK_DAYS | 14 (days a patient's link stays valid) |
| SCREENING_CLINIC_NAME | Spine Clinic |
| SCREENING_CLINIC_CONTACT | a contact line shown on every patient page (and in e-mails) |
| SCREENING_CLINIC_CONTACT_ES | that line for patients reading Spanish (or the default's) |
| SCREENING_BASE_URL | the address printed in links made outside a request (e.g. by the CLI) |
| SCREENING_PAPER | letter (or a4) for the PDF summary |
| SCREENING_CLINIC_LOGO | an image file printed on the PDF summary |
| SCREENING_PROXY_FIX | number of reverse proxies in front (trust their X-Forwarded-*), 0 |
| SCREENING_LOG_FORMAT | text or json |
| SCREENING_IDLE_MINUTES / SCREENING_SESSION_HOURS | staff idle (30) and absolute (12 h) timeouts |
| SCREENING_KIOSK_IDLE_MINUTES | a handed-over device returns to a neutral page after this (10) |
| SCREENING_RATELIMIT_STORAGE | memory://, or redis://host:6379 to share login and API-key limits |
| SCREENING_API_FAILED_KEY_LIMIT | refused API keys per address before 429 (20 per 15 minutes) |
| SCREENING_MAX_REQUESTS | a `screening serve` worker is replaced after this many requests (2000) |
| SCREENING_SMTP_HOST, _PORT, _SECURITY, _USER, _PASSWORD | the mail server (none/starttls/tls) |
| SCREENING_MAIL_SENDER | the From address |
| SCREENING_RED_FLAG_EMAIL | where red-flag notifications go (none when unset) |
| SCREENING_REMINDER_DAYS | reminder delays in days after the invitation (3,7) |
| SCREENING_MAX_REMINDERS | the most reminders for one screening (3) |
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from .i18n import DEFAULT_CONTACT, LANGUAGES
from .paths import DEFAULT_QUESTIONNAIRE


class ConfigError(RuntimeError):
    """The application cannot start with this configuration."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _secret_key(instance: Path, production: bool) -> str:
    key = os.environ.get("SCREENING_SECRET_KEY", "").strip()
    if key:
        return key
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


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{instance / 'screening.db'}"
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance_path: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings from the environment; keys in `given` (a test's config) are not looked up."""
    given = given or {}
    instance = Path(instance_path)
    env = str(given.get("SCREENING_ENV") or os.environ.get("SCREENING_ENV", "development"))
    env = env.strip().lower()
    production = env == "production"
    return {
        "SCREENING_ENV": env,
        "SECRET_KEY": given.get("SECRET_KEY") or _secret_key(instance, production),
        "SQLALCHEMY_DATABASE_URI": given.get("SQLALCHEMY_DATABASE_URI") or _database_url(instance),
        "SCREENING_QUESTIONNAIRE": os.environ.get("SCREENING_QUESTIONNAIRE")
        or str(DEFAULT_QUESTIONNAIRE),
        "SCREENING_LINK_DAYS": _int("SCREENING_LINK_DAYS", 14),
        "SCREENING_CLINIC_NAME": os.environ.get("SCREENING_CLINIC_NAME", "Spine Clinic"),
        "SCREENING_CLINIC_CONTACT": os.environ.get("SCREENING_CLINIC_CONTACT", DEFAULT_CONTACT),
        **{
            f"SCREENING_CLINIC_CONTACT_{lang.upper()}": os.environ.get(
                f"SCREENING_CLINIC_CONTACT_{lang.upper()}"
            )
            for lang in LANGUAGES[1:]
        },
        "SCREENING_BASE_URL": os.environ.get("SCREENING_BASE_URL", "http://127.0.0.1:5000"),
        "SCREENING_PAPER": _paper(),
        "SCREENING_CLINIC_LOGO": os.environ.get("SCREENING_CLINIC_LOGO") or None,
        "SESSION_COOKIE_SECURE": production,
        "SCREENING_PROXY_FIX": _int("SCREENING_PROXY_FIX", 0),
        "SCREENING_LOG_FORMAT": os.environ.get("SCREENING_LOG_FORMAT", "text").strip().lower(),
        # Staff side
        "SCREENING_IDLE_MINUTES": _int("SCREENING_IDLE_MINUTES", 30),
        "SCREENING_SESSION_HOURS": _int("SCREENING_SESSION_HOURS", 12),
        "SCREENING_KIOSK_IDLE_MINUTES": _int("SCREENING_KIOSK_IDLE_MINUTES", 10),
        "RATELIMIT_STORAGE_URI": os.environ.get("SCREENING_RATELIMIT_STORAGE", "memory://"),
        "SCREENING_LOGIN_LIMIT_ACCOUNT": os.environ.get(
            "SCREENING_LOGIN_LIMIT_ACCOUNT", "5 per 15 minutes"
        ),
        "SCREENING_LOGIN_LIMIT_ADDRESS": os.environ.get(
            "SCREENING_LOGIN_LIMIT_ADDRESS", "30 per 15 minutes"
        ),
        "SCREENING_API_FAILED_KEY_LIMIT": os.environ.get(
            "SCREENING_API_FAILED_KEY_LIMIT", "20 per 15 minutes"
        ),
        # E-mail
        "SCREENING_SMTP_HOST": os.environ.get("SCREENING_SMTP_HOST", "localhost"),
        "SCREENING_SMTP_PORT": _int("SCREENING_SMTP_PORT", 25),
        "SCREENING_SMTP_SECURITY": _security(),
        "SCREENING_SMTP_USER": os.environ.get("SCREENING_SMTP_USER") or None,
        "SCREENING_SMTP_PASSWORD": os.environ.get("SCREENING_SMTP_PASSWORD") or None,
        "SCREENING_MAIL_SENDER": os.environ.get("SCREENING_MAIL_SENDER", "screening@localhost"),
        "SCREENING_RED_FLAG_EMAIL": os.environ.get("SCREENING_RED_FLAG_EMAIL") or None,
        "SCREENING_REMINDER_DAYS": _days("SCREENING_REMINDER_DAYS", (3, 7)),
        "SCREENING_MAX_REMINDERS": _int("SCREENING_MAX_REMINDERS", 3),
    }


def _security() -> str:
    value = os.environ.get("SCREENING_SMTP_SECURITY", "none").strip().lower()
    if value not in ("none", "starttls", "tls"):
        raise ConfigError(f"SCREENING_SMTP_SECURITY must be none, starttls or tls, not {value!r}")
    return value


def _days(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        days = tuple(sorted(int(part) for part in raw.split(",") if part.strip()))
    except ValueError:
        raise ConfigError(f"{name} must be whole numbers of days separated by commas") from None
    if not days or days[0] < 1:
        raise ConfigError(f"{name} must list at least one delay of 1 day or more")
    return days


def _paper() -> str:
    paper = os.environ.get("SCREENING_PAPER", "letter").strip().lower()
    if paper not in ("letter", "a4"):
        raise ConfigError(f"SCREENING_PAPER must be letter or a4, not {paper!r}")
    return paper


DEFAULTS: dict[str, Any] = {
    # pre_ping: a connection dropped by a database restart is replaced, not used (on PostgreSQL
    # by a check that needs no round trip: ops.init_database).
    # hide_parameters: SQL errors never carry patients' values into logs.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
    # A patient may pause for hours: the CSRF token lives as long as the session, up to 12 hours.
    "WTF_CSRF_TIME_LIMIT": 12 * 3600,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "MAX_FORM_MEMORY_SIZE": 256 * 1024,
}
