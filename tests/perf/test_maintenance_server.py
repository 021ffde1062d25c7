"""A maintenance window through a real server: gunicorn with the production configuration on its
own PostgreSQL database; the window is scheduled with the operator's command from another process,
as an operator would. Banner before, translated 503 with Retry-After during (writes refused, the
health check answering), normal after. Real time, with a window a few seconds long.

Skips when PostgreSQL is unreachable, except in CI (CI=true), where that fails the run.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.fixtures.legal import LEGAL_ENV
from tests.perf.instances import Browser, Instance

pytestmark = [pytest.mark.committing, pytest.mark.timeout(120)]

SECRET_KEY = "maintenance-test-secret-key-for-this-test-only"
FIELD_KEY = base64.urlsafe_b64encode(b"maintenance-test-field-key-32by!").decode()
CACHE_SECONDS = 0.5
BANNER = "Planned maintenance: the portal will be unavailable from"


def _database() -> tuple[str, str]:
    url = make_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")
    if url.drivername.startswith("postgresql"):
        server = url.set(drivername="postgresql").render_as_string(hide_password=False).rsplit("/", 1)[0]
        return server, f"{url.database}_maintenance"
    return os.environ.get("PERF_PG_URL", "postgresql://postgres@127.0.0.1:5432"), f"portal_mw_{secrets.token_hex(4)}"


PG, DATABASE = _database()
SETTINGS = {"PORTAL_ENV": "production", "SECRET_KEY": SECRET_KEY, "FIELD_ENCRYPTION_KEY": FIELD_KEY,
            "PUBLIC_BASE_URL": "http://127.0.0.1", **LEGAL_ENV}


def _operator_app():
    from portal import create_app

    return create_app({**SETTINGS, "SQLALCHEMY_DATABASE_URI": f"{PG}/{DATABASE}"})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
    except psycopg.Error as problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is unreachable at {PG}: CI must run the maintenance test")
        pytest.skip(f"PostgreSQL is unreachable at {PG} ({problem.__class__.__name__})")
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    from flask_migrate import upgrade

    from portal.extensions import db

    app = _operator_app()
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    env = {**SETTINGS, "DATABASE_URL": f"{PG}/{DATABASE}", "REDIS_URL": "", "TRUSTED_PROXIES": "1",
           "MAINTENANCE_CACHE_SECONDS": str(CACHE_SECONDS)}
    instance = Instance(env, tmp_path_factory.mktemp("maintenance") / "server.log")
    try:
        instance.wait_ready()
        yield app, instance
    finally:
        instance.stop()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_banner_before_503_during_and_normal_after(server):
    app, instance = server
    base, browser = instance.url, Browser("203.0.113.9")
    assert BANNER not in browser.get(base, "/?lang=en").text
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    ends = starts + timedelta(seconds=5)
    scheduled = app.test_cli_runner().invoke(
        args=["maintenance", "schedule", "--from", starts.isoformat(), "--to", ends.isoformat()])
    assert scheduled.exit_code == 0, scheduled.output
    assert datetime.now(UTC) < starts - timedelta(seconds=CACHE_SECONDS * 2), "scheduling took too long to test"
    time.sleep(CACHE_SECONDS * 2)  # the server reads the windows again

    before = browser.get(base, "/login?lang=en")
    assert before.status == 200 and BANNER in before.text  # announced, and the page still works

    _until(starts + timedelta(seconds=CACHE_SECONDS))
    during = browser.get(base, "/login?lang=de")
    assert during.status == 503 and "Wartung läuft" in during.text
    retry = int(instance_headers(base, "/login")["Retry-After"])
    assert 1 <= retry <= 5
    refused = browser.post(base, "/login", login="nobody", password="wrong")
    assert refused.status == 503  # the write never began
    health = browser.get(base, "/healthz")
    assert health.status == 200 and '"status":"maintenance"' in health.text.replace(" ", "")

    _until(ends + timedelta(seconds=0.2))
    after = browser.get(base, "/login?lang=en")
    assert after.status == 200 and BANNER not in after.text
    assert '"status":"ok"' in browser.get(base, "/healthz").text.replace(" ", "")


def instance_headers(base: str, path: str) -> dict[str, str]:
    import http.client
    from urllib.parse import urlsplit

    host, port = urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
        response = connection.getresponse()
        response.read()
        return dict(response.headers)
    finally:
        connection.close()
