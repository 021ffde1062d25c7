"""Pages that only read run without a transaction on PostgreSQL (portal/core/reading.py); the
first statement that writes or locks opens one, and everything after it is atomic as before.

Each probe reports psycopg's transaction status after its statements: IDLE means no
transaction is open (autocommit), INTRANS that one is.
"""

from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import create_engine, text

from portal import audit
from portal.core.reading import is_plain_read
from portal.extensions import db
from portal.models import AuditEvent
from portal.web.access import PUBLIC, allow
from tests.conftest import make_app
from tests.faults.test_database_down import needs_postgres
from tests.fixtures.clients import sign_in_committed
from tests.fixtures.factories import new_patient
from tests.perf.test_prepared_statements import _language


def _status() -> str:
    return db.session.connection().connection.driver_connection.info.transaction_status.name


@pytest.fixture
def probed(app_ctx):
    """An app with test-only routes (_probed_app); its own connections closed afterwards."""
    application = _probed_app()
    yield application
    with application.app_context():
        db.engine.dispose()


def _probed_app():
    """An app with test-only routes, added before its first request."""
    application = make_app(PROPAGATE_EXCEPTIONS=False)

    def read():
        db.session.execute(text("SELECT 1"))
        return _status()

    def lock(account_id: int):
        db.session.execute(text("SELECT id FROM account WHERE id = :id FOR UPDATE"), {"id": account_id})
        return _status()

    def write_twice(account_id: int, fail: int):
        db.session.execute(text("SELECT 1"))
        db.session.execute(text("UPDATE account SET preferred_language = 'de' WHERE id = :id"), {"id": account_id})
        db.session.execute(text("UPDATE account SET preferred_language = 'fr' WHERE id = :id"), {"id": account_id})
        status = _status()
        if fail:
            abort(500)
        db.session.commit()
        return status

    def traced(kind: str, marker: int, fail: int):
        """A read's audit row, or a change's, as the page's first write (or after one: "late")."""
        if kind == "late":
            db.session.execute(text("UPDATE account SET preferred_language = 'de' WHERE id = -1"))
        if kind == "change":
            audit.record(audit.INVOICE_VOIDED, invoice_id=marker)
        else:
            audit.record(audit.INVOICE_VIEWED, invoice_id=marker)
        status = _status()
        if fail:
            abort(500)
        db.session.commit()
        return status

    def vacuum():
        return _vacuumed()

    application.add_url_rule("/_probe/read", view_func=allow(PUBLIC)(read), methods=["GET", "POST"])
    application.add_url_rule("/_probe/vacuum", view_func=allow(PUBLIC)(vacuum))
    application.add_url_rule("/_probe/traced/<kind>/<int:marker>/<int:fail>", view_func=allow(PUBLIC)(traced))
    application.add_url_rule("/_probe/lock/<int:account_id>", view_func=allow(PUBLIC)(lock))
    application.add_url_rule("/_probe/write/<int:account_id>/<int:fail>", view_func=allow(PUBLIC)(write_twice))
    return application


@pytest.mark.parametrize(
    ("statement", "plain"),
    [
        ("SELECT id FROM claim WHERE state = %(state)s", True),
        ("  select 1", True),
        ("SELECT id FROM account WHERE id = 1 FOR UPDATE", False),
        ("SELECT id FROM account WHERE id = 1 FOR NO KEY UPDATE", False),
        ("SELECT id FROM account FOR SHARE", False),
        ("SELECT id FROM account\nFOR KEY SHARE", False),
        ("INSERT INTO audit_event (event) VALUES ('x')", False),
        ("WITH moved AS (UPDATE claim SET state = 'x' RETURNING id) SELECT id FROM moved", False),
        ("SAVEPOINT sa_savepoint_1", False),
    ],
)
def test_only_a_select_that_locks_nothing_is_a_plain_read(statement, plain):
    assert is_plain_read(statement) is plain


@pytest.mark.committing
@needs_postgres
def test_a_page_that_only_reads_opens_no_transaction(probed):
    browser = probed.test_client()
    assert browser.get("/_probe/read").get_data(as_text=True) == "IDLE"
    # A form keeps its transaction from the first statement: it locks and decides behind it.
    assert browser.post("/_probe/read").get_data(as_text=True) == "INTRANS"
    # A signed-in page: the session's row and the page's own reads, none in a transaction.
    patient = sign_in_committed(probed, new_patient())
    assert patient.get("/patient/invoices").status_code == 200


@pytest.mark.committing
@needs_postgres
def test_a_select_that_locks_opens_the_transaction_that_holds_the_lock(probed):
    account_id = new_patient().account.id
    db.session.commit()
    assert probed.test_client().get(f"/_probe/lock/{account_id}").get_data(as_text=True) == "INTRANS"


@pytest.mark.committing
@needs_postgres
@pytest.mark.parametrize("fail", [0, 1], ids=["committed", "failed"])
def test_the_first_write_of_a_page_opens_a_transaction_for_all_that_follows(probed, fail):
    account_id = new_patient().account.id
    db.session.commit()
    response = probed.test_client().get(f"/_probe/write/{account_id}/{fail}")
    if fail:
        # Both updates ran inside the transaction the first one opened: neither was kept.
        assert response.status_code == 500
        assert _language(account_id) not in ("de", "fr")
    else:
        assert response.get_data(as_text=True) == "INTRANS"
        assert _language(account_id) == "fr"


@pytest.mark.committing
@needs_postgres
def test_the_pool_gets_its_connections_back_with_autocommit_off(probed):
    browser = probed.test_client()
    for _ in range(3):
        assert browser.get("/_probe/read").get_data(as_text=True) == "IDLE"
    with probed.app_context():
        pool = db.engine.pool
        assert pool.checkedout() == 0
        with db.engine.connect() as connection:  # outside a request: the pool's own state
            assert connection.connection.driver_connection.autocommit is False


def _vacuumed() -> str:
    """VACUUM, which PostgreSQL refuses inside a transaction, on an engine asked for AUTOCOMMIT."""
    engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM act"))
    finally:
        engine.dispose()
    return "vacuumed"


@pytest.mark.committing
@needs_postgres
def test_a_connection_asked_for_autocommit_is_left_in_it(probed):
    assert _vacuumed() == "vacuumed"  # outside a request: a CLI command, a test's own set-up
    assert probed.test_client().get("/_probe/vacuum").get_data(as_text=True) == "vacuumed"


def _traced(marker: int) -> int:
    db.session.rollback()
    return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.data["invoice_id"].as_integer() == marker))


@pytest.mark.committing
@needs_postgres
@pytest.mark.parametrize(
    ("kind", "fail", "status", "kept"),
    [
        ("read", 0, "IDLE", 1),
        ("read", 1, "IDLE", 1),  # the data was read: the access stays traced though the page failed
        ("late", 1, "INTRANS", 0),  # after a change, the read's row goes with the change
        ("change", 0, "INTRANS", 1),
        ("change", 1, "INTRANS", 0),  # a change's row is kept only with the change it traces
    ],
)
def test_a_read_is_traced_on_its_own_and_a_change_with_its_transaction(probed, kind, fail, status, kept):
    marker = 900_001  # a committing test: the tables are emptied after each
    response = probed.test_client().get(f"/_probe/traced/{kind}/{marker}/{fail}")
    assert response.status_code == (500 if fail else 200)
    if not fail:
        assert response.get_data(as_text=True) == status
    assert _traced(marker) == kept
