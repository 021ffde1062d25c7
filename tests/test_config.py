import pytest

from portal import config


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
