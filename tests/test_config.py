import os
import subprocess
import sys

import pytest

from portal import config
from tests.fixtures.legal import LEGAL_ENV


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load()


def test_production_refuses_to_start_in_debug_mode(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", "0n3Xn1mWcH3Pj0qLqX8gk0m3j7S9gVsz9hA0KZUo9yE=")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(config.ConfigError, match="debug"):
        config.load()


def test_production_settings_harden_cookies_and_disable_demo(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", "0n3Xn1mWcH3Pj0qLqX8gk0m3j7S9gVsz9hA0KZUo9yE=")
    monkeypatch.setenv("DEMO_MODE", "1")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://portal.example.lu")
    for name, value in LEGAL_ENV.items():
        monkeypatch.setenv(name, value)
    settings = config.load()
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["DEMO_MODE"] is False


def test_development_generates_a_secret_once(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_ENV", "development")
    first = config.load()["SECRET_KEY"]
    assert first == config.load()["SECRET_KEY"]
    assert len(first) >= 64


def test_database_url_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert config.load()["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"


def test_postgres_urls_use_psycopg(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/portal")
    assert config.load()["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/portal"


def _production(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", "0n3Xn1mWcH3Pj0qLqX8gk0m3j7S9gVsz9hA0KZUo9yE=")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://portal.example.lu")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    for name, value in LEGAL_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("missing", sorted(LEGAL_ENV))
def test_production_refuses_to_start_without_each_legal_notice_setting(monkeypatch, missing):
    _production(monkeypatch)
    monkeypatch.delenv(missing)
    with pytest.raises(config.ConfigError, match=missing):
        config.load()


def test_production_shows_the_operators_legal_notice_and_no_placeholder(monkeypatch):
    _production(monkeypatch)
    settings = config.load()
    assert settings["LEGAL_DEMO_FIELDS"] == []
    assert {name: settings[name] for name in LEGAL_ENV} == LEGAL_ENV


def test_outside_production_unset_legal_settings_are_marked_demonstration_values(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "development")
    for name in LEGAL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEGAL_PHONE", "+352 12 34")
    settings = config.load()
    assert "LEGAL_PHONE" not in settings["LEGAL_DEMO_FIELDS"] and settings["LEGAL_PHONE"] == "+352 12 34"
    assert settings["LEGAL_PUBLISHER"] == config.LEGAL_DEMO_VALUES["LEGAL_PUBLISHER"]
    assert "LEGAL_PUBLISHER" in settings["LEGAL_DEMO_FIELDS"]


def test_the_entry_point_freezes_what_start_up_built():
    """gunicorn's workers import app.py: what it built is left out of the collector's full passes."""
    found = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", "import gc, app; print(gc.get_freeze_count())"],
        cwd=config.ROOT, env={**os.environ, "DATABASE_URL": "sqlite://"}, capture_output=True, text=True, check=True,
    )
    assert int(found.stdout.split()[-1]) > 10_000
