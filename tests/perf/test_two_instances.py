"""Two portal instances on one PostgreSQL and one Redis: what one decides, the other enforces.

Two gunicorn processes with the production configuration serve the same database and the same
Redis. The database is this run's own: `<TEST_DATABASE_URL's database>_two` when the suite runs on
PostgreSQL, else a name unique to the run, created, built by the migrations and dropped; so two runs
on one server never touch each other's data. Redis keys carry a prefix unique to the run and are
deleted afterwards (REDIS_URL, default database 0 on 127.0.0.1). Skips when PostgreSQL or Redis is
unreachable, except in CI (CI=true), where that fails the run. On SQLite runs, PERF_PG_URL points at
the server (default: postgres on 127.0.0.1:5432, trust authentication).
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from datetime import timedelta

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

from tests.fixtures.legal import LEGAL_ENV
from tests.perf.instances import Browser, Instance

pytestmark = [pytest.mark.committing, pytest.mark.timeout(120)]



def _database() -> tuple[str, str]:
    """(server URL, database name) for this run."""
    url = make_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")
    if url.drivername.startswith("postgresql"):
        server = url.set(drivername="postgresql").render_as_string(hide_password=False).rsplit("/", 1)[0]
        return server, f"{url.database}_two"
    return os.environ.get("PERF_PG_URL", "postgresql://postgres@127.0.0.1:5432"), f"portal_two_{secrets.token_hex(4)}"


PG, DATABASE = _database()
REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_PREFIX = f"portal-test-{secrets.token_hex(4)}"
SECRET_KEY = "two-instances-secret-key-for-this-test-only"
FIELD_KEY = base64.urlsafe_b64encode(b"two-instances-field-key-32bytes!").decode()
PASSWORD = "lantern-orchard-meadow-9"
IDLE_LOCK_SECONDS = 2
# (role, login, TOTP secret)
AGENT = ("cns", "CNS0101", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
TARGET = ("cns", "CNS0102", "KRSXG5DSNFXGOIDBKRSXG5DSNFXGOIDB")
DOCTOR = ("doctor", "90000101", "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK")


def _unreachable() -> str | None:
    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
    except psycopg.Error as problem:
        return f"PostgreSQL is unreachable at {PG} ({problem.__class__.__name__})"
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError as problem:
        return f"Redis is unreachable at {REDIS} ({problem.__class__.__name__})"
    return None


def _build_database() -> None:
    """A fresh database built by the migrations, with three accounts made by the portal's own code."""
    from flask_migrate import upgrade

    from portal import accounts, create_app
    from portal.accounts import totp
    from portal.core import clock
    from portal.extensions import db
    from portal.models import AccountStatus, CnsStaff, Doctor, Role

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    app = create_app({
        "PORTAL_ENV": "production", "SQLALCHEMY_DATABASE_URI": f"{PG}/{DATABASE}", "SECRET_KEY": SECRET_KEY,
        "PUBLIC_BASE_URL": "http://127.0.0.1", **LEGAL_ENV,
        "FIELD_ENCRYPTION_KEY": FIELD_KEY, "PASSWORD_HASH_PROFILE": "test",
    })
    with app.app_context():
        upgrade()
        for role, login, secret in (AGENT, TARGET, DOCTOR):
            account = accounts.create(Role(role), login)
            account.status = AccountStatus.ACTIVE
            accounts.set_password(account, PASSWORD, method="operator")
            account.credential.totp_secret = totp.encrypt(secret)
            account.credential.totp_enrolled_at = clock.now() - timedelta(days=1)
            if role == "cns":
                db.session.add(CnsStaff(staff_id=login, name=f"Agent {login}", account=account))
            else:
                db.session.add(Doctor(provider_code=login, name="Dr Test", specialty="General practice",
                                      is_digital_participant=True, account=account))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    problem = _unreachable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}: CI must run the two-instance test")
        pytest.skip(f"{problem}: start both to run the two-instance test")
    _build_database()
    env = {
        "PORTAL_ENV": "production", "DATABASE_URL": f"{PG}/{DATABASE}", "REDIS_URL": REDIS,
        "PUBLIC_BASE_URL": "http://127.0.0.1", **LEGAL_ENV,
        "REDIS_KEY_PREFIX": REDIS_PREFIX,
        "SECRET_KEY": SECRET_KEY, "FIELD_ENCRYPTION_KEY": FIELD_KEY, "TRUSTED_PROXIES": "1",
        "SIGNIN_RATE_LIMIT": "3/minute", "DOCTOR_IDLE_LOCK_SECONDS": str(IDLE_LOCK_SECONDS),
    }
    logs = tmp_path_factory.mktemp("instances")
    instances = [Instance(env, logs / "a.log"), Instance(env, logs / "b.log")]
    try:
        for instance in instances:
            instance.wait_ready()
        yield instances[0].url, instances[1].url
    finally:
        for instance in instances:
            instance.stop()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        store = redis.Redis.from_url(REDIS)
        for key in store.scan_iter(match=f"*/{REDIS_PREFIX}/*"):
            store.delete(key)


def test_a_sign_out_on_one_instance_ends_the_session_on_the_other(pair):
    a, b = pair
    browser = Browser("10.20.0.1")
    _role, login, secret = AGENT
    assert browser.sign_in(a, login, PASSWORD, secret).status == 303
    assert browser.get(b, "/cns/").status == 200  # one session, whichever instance answers
    same_cookie = dict(browser.cookies)
    assert browser.post(a, "/logout").status == 303

    replayed = Browser("10.20.0.1", cookies=same_cookie).get(b, "/cns/")
    assert replayed.status in (302, 303) and "/login" in replayed.location


def test_an_account_locked_on_one_instance_is_locked_on_the_other(pair):
    a, b = pair
    _role, login, secret = TARGET
    for attempt in range(5):  # from five addresses, so the per-IP limit is not what stops them
        guesser = Browser(f"10.20.1.{attempt + 1}")
        guesser.get(a, "/login")
        assert guesser.post(a, "/login", login=login, password="not-the-password").status == 200

    owner = Browser("10.20.1.100")
    owner.get(b, "/login")
    refused = owner.post(b, "/login", login=login, password=PASSWORD)
    assert refused.status == 200 and "/login/code" not in refused.location


def test_a_session_locked_on_one_instance_is_locked_on_the_other_until_unlocked_there(pair):
    a, b = pair
    browser = Browser("10.20.2.1")
    _role, login, secret = DOCTOR
    assert browser.sign_in(a, login, PASSWORD, secret).status == 303
    time.sleep(IDLE_LOCK_SECONDS + 0.5)
    assert "/unlock" in browser.get(a, "/doctor/").location  # A locks the session row
    assert "/unlock" in browser.get(b, "/doctor/").location

    browser.get(b, "/unlock")
    assert browser.post(b, "/unlock", password=PASSWORD).status == 303
    assert browser.get(a, "/doctor/").status == 200  # unlocked on B, open on A


def test_a_rate_limit_counted_on_one_instance_applies_on_the_other(pair):
    a, b = pair
    client = Browser("10.20.3.1")
    client.get(a, "/login")
    for _ in range(3):  # SIGNIN_RATE_LIMIT is 3/minute for these instances
        assert client.post(a, "/login", login="nobody", password="wrong-password").status == 200

    assert client.post(b, "/login", login="nobody", password="wrong-password").status == 429
    other = Browser("10.20.3.2")
    other.get(b, "/login")
    assert other.post(b, "/login", login="nobody", password="wrong-password").status == 200
