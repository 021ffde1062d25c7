"""Prepared statements that last (portal/core/prepared.py): a request that only read ends with
COMMIT, so the statements psycopg prepared on the server survive it; one that wrote without
committing, or failed, still ends with a ROLLBACK and leaves nothing behind.
"""

from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import text

from portal.extensions import db
from portal.models import Account
from portal.web.access import PUBLIC, allow
from tests.conftest import make_app
from tests.faults.test_database_down import needs_postgres
from tests.fixtures.clients import sign_in_committed
from tests.fixtures.factories import new_patient

pytestmark = pytest.mark.committing

# psycopg prepares a statement at its sixth run on a connection (prepare_threshold 5).
RUNS = 8


def _probed_app(**overrides):
    """An app with two test-only routes, added before its first request."""
    application = make_app(PROPAGATE_EXCEPTIONS=False, **overrides)

    def prepared():
        return str(db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements")))

    def write_without_commit(account_id: int, fail: int):
        db.session.execute(text("UPDATE account SET preferred_language = 'de' WHERE id = :id"), {"id": account_id})
        if fail:
            abort(500)
        return "not committed"

    application.add_url_rule("/_probe/prepared", view_func=allow(PUBLIC)(prepared))
    application.add_url_rule("/_probe/write/<int:account_id>/<int:fail>", view_func=allow(PUBLIC)(write_without_commit))
    return application


def _language(account_id: int) -> str | None:
    """Read in a transaction of its own, ended at once: on SQLite an open one holds the lock."""
    db.session.rollback()
    language = db.session.get(Account, account_id).preferred_language
    db.session.rollback()
    return language


@needs_postgres
def test_statements_stay_prepared_across_reading_requests(app_ctx):
    application = _probed_app()
    browser = sign_in_committed(application, new_patient())
    for _ in range(RUNS):
        assert browser.get("/patient/").status_code == 200
    # Without the COMMIT, each request's ROLLBACK made psycopg forget them all: 0 here.
    assert int(browser.get("/_probe/prepared").get_data(as_text=True)) > 0
    with application.app_context():
        db.engine.dispose()


@needs_postgres
def test_prepared_statements_can_be_turned_off_for_transaction_pooling(app_ctx):
    application = _probed_app(DATABASE_PREPARED_STATEMENTS=False)
    browser = sign_in_committed(application, new_patient())
    for _ in range(RUNS):
        assert browser.get("/patient/").status_code == 200
    assert browser.get("/_probe/prepared").get_data(as_text=True) == "0"
    with application.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("fail", [0, 1], ids=["answered", "failed"])
def test_a_request_that_wrote_without_committing_saves_nothing(app_ctx, fail):
    application = _probed_app()
    patient = new_patient()
    account_id = patient.account.id
    db.session.commit()
    assert _language(account_id) != "de"
    response = application.test_client().get(f"/_probe/write/{account_id}/{fail}")
    assert response.status_code == (500 if fail else 200)
    assert _language(account_id) != "de"
    with application.app_context():
        db.engine.dispose()
