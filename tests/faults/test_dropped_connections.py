"""Connections the database dropped while they sat in the pool: without a ping before every
checkout, a reading request that meets one at its first statement is run again on a fresh
connection, and the person sees their page. A request already under way, or one sending a
form, is not run twice: it gets the 503 page, and nothing of it is saved.
"""

from __future__ import annotations

import psycopg
import pytest
from flask import url_for
from sqlalchemy.engine import make_url

from portal.extensions import db
from tests.conftest import database_url, make_app
from tests.faults.test_database_down import MidRequest, assert_unavailable_page, needs_postgres
from tests.fixtures.clients import sign_in_committed
from tests.fixtures.factories import new_patient

pytestmark = pytest.mark.committing


def _drop(connection) -> None:
    """The server's side of the connection is gone, as after a restart: the next use fails."""
    connection.connection.dbapi_connection.close()


def _nth_statement(n: int):
    seen = 0

    def when(_statement: str) -> bool:
        nonlocal seen
        seen += 1
        return seen == n

    return when


@pytest.fixture
def signed_in(app_ctx):
    application = make_app(PROPAGATE_EXCEPTIONS=False)
    browser = sign_in_committed(application, new_patient())
    with application.test_request_context():
        urls = {"home": url_for("patient.home"), "logout": url_for("auth.logout")}
    yield application, browser, urls
    with application.app_context():
        db.engine.dispose()


def test_the_pool_does_not_ping_before_every_checkout(signed_in):
    application, _browser, _urls = signed_in
    with application.app_context():
        assert db.engine.pool._pre_ping is False
        assert db.engine.pool._recycle == 1800


def test_a_page_whose_first_statement_meets_a_dropped_connection_is_answered(signed_in):
    application, browser, urls = signed_in
    with application.app_context():
        fault = MidRequest(db.engine, _nth_statement(1), _drop)
    fault.armed = True
    response = browser.get(urls["home"])
    assert fault.struck
    assert response.status_code == 200
    assert browser.get(urls["home"]).status_code == 200


def test_a_page_whose_connection_drops_after_it_started_gets_the_unavailable_page(signed_in):
    application, browser, urls = signed_in
    with application.app_context():
        fault = MidRequest(db.engine, _nth_statement(2), _drop)
    fault.armed = True
    assert_unavailable_page(browser.get(f"{urls['home']}?lang=en"), "en")
    assert fault.struck
    assert browser.get(urls["home"]).status_code == 200  # the pool replaced the dropped connection


def test_a_form_is_not_sent_twice_even_when_its_first_statement_failed(signed_in):
    application, browser, urls = signed_in
    with application.app_context():
        fault = MidRequest(db.engine, _nth_statement(1), _drop)
    fault.armed = True
    assert_unavailable_page(browser.post(f"{urls['logout']}?lang=en"), "en")
    assert fault.struck
    assert browser.get(urls["home"]).status_code == 200  # the sign-out did not happen: still signed in


@needs_postgres
def test_postgresql_every_backend_terminated_between_requests(app_ctx, signed_in):
    application, browser, urls = signed_in
    assert browser.get(urls["home"]).status_code == 200  # the pool holds a connection now
    admin_url = make_url(database_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert ended, "no connection of the application was open"
    db.engine.dispose()  # the test's own connections were ended too; the application's are its to find
    assert browser.get(urls["home"]).status_code == 200
    assert browser.get(urls["home"]).status_code == 200
