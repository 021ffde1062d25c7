"""Shared fixtures: one migrated database per run, a rolled-back transaction per test.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, text

# Before the portal is imported: portal.config reads the instance folder at import time, and
# uploads written by the tests must not land in the checkout's instance/ (nor be shared by two runs).
_TMP = Path(tempfile.mkdtemp(prefix="portal-tests-"))
os.environ.setdefault("PORTAL_INSTANCE_DIR", str(_TMP / "instance"))

from portal import create_app, maintenance  # noqa: E402
from portal.accounts import terms  # noqa: E402
from portal.core import clock  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.web.patient import doctor_choices  # noqa: E402

pytest_plugins = ["tests.fixtures.factories", "tests.fixtures.clients", "tests.fixtures.activation", "tests.fixtures.invoices", "tests.fixtures.claims", "tests.fixtures.figures", "tests.fixtures.cli", "tests.fixtures.messages"]

TEST_SETTINGS = {
    "ACTIVATION_RATE_LIMIT": "1000/minute",
    "TESTING": True,
    "PORTAL_ENV": "testing",
    "WTF_CSRF_ENABLED": False,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "FIELD_ENCRYPTION_KEY": "0n3Xn1mWcH3Pj0qLqX8gk0m3j7S9gVsz9hA0KZUo9yE=",
    "SIGNIN_RATE_LIMIT": "1000/minute",
    "CODE_RATE_LIMIT": "1000/minute",
    "HELP_RATE_LIMIT": "1000/minute",
    "DEMO_MODE": True,
    "PASSWORD_HASH_PROFILE": "test",
}


def database_url(name: str = "main") -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{_TMP / f'{name}.sqlite3'}"


def reset_database(url: str) -> None:
    """Start from an empty schema, so migrations are what builds it."""
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as a real server does.

    Without this, a request made while a test holds an app context reuses that context:
    its `g` and its database session would leak from one request into the next.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_app(**overrides):
    settings = {**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": database_url(), **overrides}
    application = create_app(settings)
    application.test_client_class = IsolatedClient
    return application


@pytest.fixture(scope="session")
def app():
    from flask_migrate import upgrade

    reset_database(database_url())
    application = make_app()
    with application.app_context():
        upgrade()
    return application


class _JoinedSession(FlaskSession):
    """Flask-SQLAlchemy ignores `bind`; tests need every session on the test's connection."""

    def get_bind(self, *args, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture(autouse=True)
def _rollback(request, app):
    """Every test runs inside a transaction that is rolled back afterwards.

    Tests marked `committing` (real concurrency, separate threads) commit for real and
    empty the tables afterwards instead.
    """
    if "committing" in request.keywords:
        yield
        with app.app_context():
            _empty_tables()
        return
    with app.app_context(), rolled_back():
        yield


@contextlib.contextmanager
def rolled_back():
    """Everything inside, requests included, runs in one transaction that is then rolled back;
    a commit inside only releases a savepoint. Needs an app context; yields the connection."""
    connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {"class_": _JoinedSession, "bind": connection, "join_transaction_mode": "create_savepoint"}
    )
    try:
        yield connection
    finally:
        db.session.remove()
        db.session = original
        transaction.rollback()
        connection.close()
        terms.forget_current()  # a version published inside is gone with the transaction
        maintenance.forget()  # so is a maintenance window scheduled inside


# Reference data the migrations load; tests never change it.
REFERENCE_TABLES = {"act"}


def _empty_tables() -> None:
    db.session.remove()
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in REFERENCE_TABLES:
                connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _release_clock():
    yield
    clock.freeze(None)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Workers keep the terms version, the maintenance windows and patients' doctor filters for a
    while; each test starts without them (a rolled-back test's ids come back in the next)."""
    terms.forget_current()
    maintenance.forget()
    doctor_choices.forget()


@pytest.fixture(autouse=True)
def _no_real_messages(monkeypatch):
    """No test may send a real SMS or e-mail: SMTP only to the tests' own server on this machine
    (tests/fixtures/messages.py); the SMS gateway is unset unless a test starts its local one."""
    import smtplib

    def local_only(real):
        def connect(host="", *args, **kwargs):
            if host not in ("127.0.0.1", "localhost"):
                raise AssertionError(f"a test tried to open an SMTP connection to {host!r}")
            return real(host, *args, **kwargs)

        return connect

    monkeypatch.setattr(smtplib, "SMTP", local_only(smtplib.SMTP))
    monkeypatch.setattr(smtplib, "SMTP_SSL", local_only(smtplib.SMTP_SSL))
