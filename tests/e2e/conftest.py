"""Browser tests: a live portal in a thread, driven by Debian's Chromium through Playwright.

The live server commits for real in its own thread, so these tests use their own database
(never the rolled-back one of the unit tests) and switch the per-test rollback off.

The browser and the live server last as long as this package, not the whole run: its pages
keep polling (session status, notices), and once the unit tests after it swap `db.session` for
their rolled-back one, a poll answered in the same process would land in their transaction.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from tests.conftest import database_url, make_app
from tests.e2e.signing import STEP_TIMEOUT_MS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
expect.set_options(timeout=STEP_TIMEOUT_MS)
# Chromium reports CSP violations on the console; the portal must have none.
CSP_MARKERS = ("Content Security Policy", "Refused to")


@pytest.fixture(autouse=True)
def _rollback():
    """Replaces the unit tests' rolled-back transaction: the live server commits for real."""
    yield


@dataclass
class LiveServer:
    app: object
    url: str
    accounts: dict  # role name -> first DemoAccount of that role
    seeded: list = field(default_factory=list)  # every DemoAccount, for tests that need a second one

    def account(self, login: str):
        """The demo account with this login (e.g. Paul Muller, agent CMFEP001)."""
        return next(account for account in self.seeded if account.login == login)


# --- database -------------------------------------------------------------------------


def _e2e_database_url() -> str:
    url = database_url()
    if url.startswith("sqlite"):
        main = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{main.with_name('e2e.sqlite3')}"
    return make_url(url).set(database=f"{make_url(url).database}_e2e").render_as_string(hide_password=False)


def _server_engine(url: str):
    """An autocommit connection to the `postgres` database, to create and drop databases."""
    admin = make_url(url).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


def _drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = _server_engine(url)
    with engine.connect() as connection:
        # FORCE: a pooled connection left over from a crashed run must not block the drop.
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def _create_database(url: str) -> None:
    _drop_database(url)
    if url.startswith("sqlite"):
        return
    engine = _server_engine(url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{make_url(url).database}"'))
    engine.dispose()


# --- browser --------------------------------------------------------------------------


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        # In CI a skipped browser suite would pass silently; it must fail instead.
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def live_server(browser):  # the browser first: no database work when the tests will be skipped
    from flask_migrate import upgrade

    from portal import demo

    url = _e2e_database_url()
    _create_database(url)
    app = make_app(
        SQLALCHEMY_DATABASE_URI=url,
        WTF_CSRF_ENABLED=True,
        SESSION_POLL_SECONDS=2,
        LOCK_WARNING=timedelta(seconds=8),
        IDLE_LOCK={"patient": timedelta(seconds=14), "doctor": timedelta(minutes=15), "cns": timedelta(minutes=15)},
    )
    with app.app_context():
        upgrade()
        seeded = demo.seed()
    first = {}
    for account in seeded:
        first.setdefault(str(account.role), account)  # Role is a StrEnum: "patient", ...

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines in the test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-portal", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}", accounts=first, seeded=seeded)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            from portal.extensions import db

            db.session.remove()
            db.engine.dispose()
        _drop_database(url)


# --- console watch --------------------------------------------------------------------


class ConsoleLog:
    """Every console message and page error of every context, for the running test."""

    def __init__(self):
        self.lines: list[str] = []

    def watch(self, context) -> None:
        context.on("console", lambda message: self.lines.append(f"console {message.type}: {message.text}"))
        context.on("weberror", lambda error: self.lines.append(f"page error: {error.error}"))

    def csp_problems(self) -> list[str]:
        return [line for line in self.lines if any(marker in line for marker in CSP_MARKERS)]


_console = ConsoleLog()


@pytest.fixture(scope="package")
def console() -> ConsoleLog:
    return _console


def pytest_runtest_setup(item):
    _console.lines.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # Checked after the test body so that a CSP violation fails the test itself.
    result = yield
    problems = _console.csp_problems()
    if problems:
        pytest.fail("The browser reported Content Security Policy violations:\n" + "\n".join(problems))
    return result


@pytest.fixture
def context(browser, live_server, console):
    ctx = browser.new_context(base_url=live_server.url, locale="fr-LU")
    console.watch(ctx)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    return page


@pytest.fixture(scope="session")
def authenticator():
    from tests.e2e.signing import Authenticator

    return Authenticator()


@pytest.fixture(scope="package")
def signed_in(browser, live_server, console, authenticator):
    """signed_in(role) -> a page signed in as the first demo account of that role, shared by
    every test that only needs to be signed in.

    Each sign-in spends one 30-second code step of the account (see signing.Authenticator),
    so signing in again per test makes the suite wait; reuse this page instead. A patient's
    page may meet the 14-second idle lock between tests: `signing.unlock_if_locked`.
    """
    from tests.e2e.signing import sign_in

    pages = {}

    def open_for(role: str):
        if role not in pages:
            ctx = browser.new_context(base_url=live_server.url)
            console.watch(ctx)
            page = ctx.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            sign_in(page, live_server.accounts[role], authenticator)
            pages[role] = page
        return pages[role]

    yield open_for
    for page in pages.values():
        page.context.close()
