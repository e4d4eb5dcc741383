"""Settings from the environment: the secret key, production's demands, the database address.

No database is used here. The instance folder is a temporary one: settings.from_environment takes
it as an argument, and for create_app Flask's instance-path discovery is pointed at it (create_app
has no parameter for it), so the checkout's own instance/ folder is never read or written.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from flask import Flask

from screening import create_app, settings

ENV_NAMES = ("SCREENING_SECRET_KEY", "SCREENING_ENV", "DATABASE_URL", "SCREENING_LINK_DAYS",
             "SCREENING_OPEN_REPORTS", "SCREENING_PAPER", "SCREENING_QUEUE",
             "SCREENING_RED_FLAG_EMAIL", *settings.ALERT_SETTINGS,
             "SCREENING_ALERT_EMAIL_ESCALATION", "SCREENING_BASE_URL", "SCREENING_TRUSTED_HOSTS",
             "SCREENING_TIMEZONE", "SCREENING_UNITS")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def instance(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A temporary instance folder, also used by create_app."""
    folder = tmp_path / "instance"
    clean_env.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    return folder


def test_a_generated_secret_key_is_stored_once_with_mode_0600(instance: Path):
    assert not instance.exists()
    first = settings.from_environment(str(instance))
    key_file = instance / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert first["SECRET_KEY"] == key
    assert len(key) >= 43  # at least 256 bits as URL-safe base64
    second = settings.from_environment(str(instance))
    assert second["SECRET_KEY"] == key
    assert key_file.read_text().strip() == key


def test_create_app_generates_the_key_once_and_reuses_it(instance: Path):
    config = {"SQLALCHEMY_DATABASE_URI": "sqlite://"}
    app = create_app(dict(config))
    assert Path(app.instance_path) == instance
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    # The next start (another process, a restart) reads the same key: sessions stay valid.
    again = create_app(dict(config))
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    assert app.config["SCREENING_ENV"] == "development"
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_an_explicit_secret_key_wins_and_nothing_is_written(instance: Path,
                                                            clean_env: pytest.MonkeyPatch):
    clean_env.setenv("SCREENING_SECRET_KEY", "  from-the-environment  ")
    values = settings.from_environment(str(instance), {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert values["SECRET_KEY"] == "from-the-environment"
    assert not (instance / "secret_key").exists()
    values = settings.from_environment(str(instance), {"SECRET_KEY": "given",
                                                       "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert values["SECRET_KEY"] == "given"
    assert not instance.exists()


@pytest.mark.parametrize("env", ["production", " Production "])
def test_production_without_a_secret_key_refuses_to_start(instance: Path,
                                                          clean_env: pytest.MonkeyPatch, env):
    clean_env.setenv("SCREENING_ENV", env)
    with pytest.raises(settings.ConfigError, match="SCREENING_SECRET_KEY must be set"):
        settings.from_environment(str(instance))
    with pytest.raises(settings.ConfigError, match="SCREENING_SECRET_KEY must be set"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not (instance / "secret_key").exists()
    # Even with a key file left over from development.
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "secret_key").write_text("left-over")
    with pytest.raises(settings.ConfigError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_given_in_the_config_also_needs_a_key(instance: Path):
    with pytest.raises(settings.ConfigError):
        settings.from_environment(str(instance), {"SCREENING_ENV": "production"})


def production(env: pytest.MonkeyPatch) -> None:
    """What production needs besides the database: a key, a queue, an address for alerts, the
    address patients open."""
    env.setenv("SCREENING_ENV", "production")
    env.setenv("SCREENING_BASE_URL", "https://screening.clinic.example")
    env.setenv("SCREENING_SECRET_KEY", "k" * 64)
    env.setenv("SCREENING_QUEUE", "redis://127.0.0.1:6379/0")
    env.setenv("SCREENING_RED_FLAG_EMAIL", "spine-team@clinic.example")


def test_production_with_a_secret_key_starts_with_secure_cookies(instance: Path,
                                                                 clean_env: pytest.MonkeyPatch):
    production(clean_env)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "k" * 64
    assert app.config["SCREENING_ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert not (instance / "secret_key").exists()


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://user:pw@db.example:5432/screening",
     "postgresql+psycopg://user:pw@db.example:5432/screening"),
    ("postgresql://user@db/screening", "postgresql+psycopg://user@db/screening"),
    ("postgresql+psycopg://user@db/screening", "postgresql+psycopg://user@db/screening"),
    ("  postgres://u@h/d  ", "postgresql+psycopg://u@h/d"),
    ("sqlite:////var/lib/screening.db", "sqlite:////var/lib/screening.db"),
], ids=["postgres-scheme", "postgresql-scheme", "driver-given", "spaces", "sqlite-file"])
def test_database_url_gets_the_psycopg_driver(instance: Path, clean_env: pytest.MonkeyPatch,
                                              given: str, expected: str):
    clean_env.setenv("DATABASE_URL", given)
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    values = settings.from_environment(str(instance))
    assert values["SQLALCHEMY_DATABASE_URI"] == expected


def test_without_database_url_the_database_is_a_file_in_the_instance_folder(
        instance: Path, clean_env: pytest.MonkeyPatch):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    values = settings.from_environment(str(instance))
    assert values["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'screening.db'}"
    assert instance.is_dir()


def test_create_app_reads_database_url_from_the_environment(instance: Path,
                                                            clean_env: pytest.MonkeyPatch):
    clean_env.setenv("DATABASE_URL", "postgres://someone@db.example/screening")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://someone@db.example/screening")
    # A test's config is never overridden by the environment.
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"


def test_a_bad_number_in_the_environment_is_a_clear_error(instance: Path,
                                                         clean_env: pytest.MonkeyPatch):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    clean_env.setenv("SCREENING_LINK_DAYS", "two weeks")
    with pytest.raises(settings.ConfigError, match="SCREENING_LINK_DAYS must be a whole number"):
        settings.from_environment(str(instance))


def test_limits_for_patient_requests():
    assert settings.DEFAULTS["MAX_CONTENT_LENGTH"] == 256 * 1024
    assert settings.DEFAULTS["WTF_CSRF_TIME_LIMIT"] >= 3600
    assert settings.DEFAULTS["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_the_readme_lists_every_setting_and_no_other():
    """The README's Configuration table and `settings.SETTINGS` name the same variables."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration")[1].split("\n## ")[0]
    listed = set(re.findall(r"`(DATABASE_URL|SCREENING_[A-Z0-9_]+)`", section))
    assert listed == {setting.env for setting in settings.SETTINGS}


def test_production_refuses_to_start_without_an_address_for_red_flag_alerts(
        instance: Path, clean_env: pytest.MonkeyPatch):
    production(clean_env)
    clean_env.delenv("SCREENING_RED_FLAG_EMAIL")
    with pytest.raises(settings.ConfigError) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    for name in ("SCREENING_RED_FLAG_EMAIL", *settings.ALERT_SETTINGS):
        assert name in str(refused.value)
    # Every urgency with an address of its own will do.
    for name in settings.ALERT_SETTINGS:
        clean_env.setenv(name, "oncall@clinic.example")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SCREENING_ENV"] == (
        "production")


@pytest.mark.parametrize("queue", [None, "memory"])
def test_production_refuses_a_queue_that_dies_with_the_process(
        instance: Path, clean_env: pytest.MonkeyPatch, queue):
    production(clean_env)
    if queue is None:
        clean_env.delenv("SCREENING_QUEUE")
    else:
        clean_env.setenv("SCREENING_QUEUE", queue)
    with pytest.raises(settings.ConfigError, match="SCREENING_QUEUE"):
        settings.from_environment(str(instance))


@pytest.mark.parametrize("name", ["SCREENING_RED_FLAG_EMAIL", "SCREENING_ALERT_EMAIL_EMERGENCY",
                                  "SCREENING_ALERT_EMAIL_ESCALATION"])
def test_an_alert_address_that_is_not_one_is_a_start_up_error_naming_it(
        instance: Path, clean_env: pytest.MonkeyPatch, name):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    clean_env.setenv(name, "the spine team")
    with pytest.raises(settings.ConfigError, match=f"{name} must be an e-mail address"):
        settings.from_environment(str(instance))
    with pytest.raises(settings.ConfigError, match=name):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_a_queue_address_of_another_kind_is_a_start_up_error(instance: Path,
                                                            clean_env: pytest.MonkeyPatch):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    clean_env.setenv("SCREENING_QUEUE", "amqp://rabbit")
    with pytest.raises(settings.ConfigError, match="SCREENING_QUEUE must be memory"):
        settings.from_environment(str(instance))


def test_the_time_zone_is_utc_unless_a_known_one_is_given(instance: Path,
                                                          clean_env: pytest.MonkeyPatch):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    assert settings.from_environment(str(instance))["SCREENING_TIMEZONE"] == "UTC"
    clean_env.setenv("SCREENING_TIMEZONE", " America/New_York ")
    assert settings.from_environment(str(instance))["SCREENING_TIMEZONE"] == "America/New_York"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Eastern", "America", "../etc/passwd",
                                  "/etc/localtime", "Europe/Madrid\x00", "Europe/madrid"])
def test_an_unknown_time_zone_is_a_start_up_error_naming_it(instance: Path,
                                                            clean_env: pytest.MonkeyPatch, zone):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    if "\x00" in zone:  # the environment cannot hold a NUL: given as a setting instead
        with pytest.raises(settings.ConfigError, match="SCREENING_TIMEZONE: .* IANA"):
            create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SCREENING_TIMEZONE": zone})
        return
    clean_env.setenv("SCREENING_TIMEZONE", zone)
    with pytest.raises(settings.ConfigError, match="SCREENING_TIMEZONE: .* IANA"):
        settings.from_environment(str(instance))
    with pytest.raises(settings.ConfigError, match="like Europe/Madrid, America/New_York"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    # Given as a setting (a test's, an instance config), it is checked too.
    clean_env.delenv("SCREENING_TIMEZONE")
    with pytest.raises(settings.ConfigError, match="SCREENING_TIMEZONE"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SCREENING_TIMEZONE": zone})


def test_units_are_metric_unless_us_is_given(instance: Path, clean_env: pytest.MonkeyPatch):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    assert settings.from_environment(str(instance))["SCREENING_UNITS"] == "metric"
    clean_env.setenv("SCREENING_UNITS", " US ")
    assert settings.from_environment(str(instance))["SCREENING_UNITS"] == "us"


@pytest.mark.parametrize("value", ["imperial", "US units", "1"])
def test_units_of_another_kind_are_a_start_up_error_naming_them(instance: Path,
                                                                clean_env: pytest.MonkeyPatch,
                                                                value):
    clean_env.setenv("SCREENING_SECRET_KEY", "x")
    clean_env.setenv("SCREENING_UNITS", value)
    with pytest.raises(settings.ConfigError, match="SCREENING_UNITS must be metric or us"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    # Given as a setting (a test's, an instance config), it is checked too.
    clean_env.delenv("SCREENING_UNITS")
    with pytest.raises(settings.ConfigError, match="SCREENING_UNITS must be metric or us"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SCREENING_UNITS": value})
