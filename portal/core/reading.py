"""A page that only reads runs its SELECTs without BEGIN and COMMIT, on PostgreSQL.

Under READ COMMITTED, the portal's isolation, every statement of a transaction takes its own
snapshot and a plain SELECT holds no lock to the end of the transaction: a request that only
reads sees exactly what it would see inside one. The transaction only added two round trips
to every page (BEGIN before the first statement, COMMIT or ROLLBACK after the last), a third
of what the session check costs the database.

So, during a GET, HEAD or OPTIONS request, the connection starts in autocommit mode and stays
there while the statements are plain reads. The first statement that is anything else (an
INSERT, an UPDATE, a SAVEPOINT, a SELECT ... FOR UPDATE, a WITH that may write) turns
autocommit off before it runs: psycopg sends BEGIN, and from that statement on the request
writes in one transaction, committed or rolled back as before. One kind of write is let
through on its own: a statement marked ON_ITS_OWN, the audit row that traces a read
(portal.audit), commits as it runs when nothing was written before it; the access happened
whatever the page does next. A connection asked for another isolation level keeps its
transaction. Forms (POST) are left as they were: they lock the account first
(accounts.sessions) and run in one transaction throughout.

The pool gets every connection back with autocommit off, whatever the request did.
"""

from __future__ import annotations

import functools
import re

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

READING_METHODS = ("GET", "HEAD", "OPTIONS")
# An execution option: a write that stands on its own, committed as it runs when no transaction
# is open yet (the audit row of a read: portal.audit.record).
ON_ITS_OWN = "written_on_its_own"
# A SELECT that locks rows needs the transaction that holds the lock.
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)
# Connection.info (kept with the driver's connection): this module switched autocommit on.
_OURS = "reading_autocommit"
_installed = False


@functools.lru_cache(maxsize=2048)
def is_plain_read(statement: str) -> bool:
    """Kept per statement: the ORM sends the same few hundred strings again and again, and
    searching a long one costs more than the round trip this module saves."""
    return statement.lstrip()[:6].upper() == "SELECT" and _LOCKING.search(statement) is None


def _driver(connection: Connection):
    driver = connection.connection.driver_connection
    return driver if hasattr(driver, "autocommit") and hasattr(driver, "prepare_threshold") else None


def _begin(connection: Connection) -> None:
    if not (has_request_context() and request.method in READING_METHODS):
        return
    if connection.dialect.name != "postgresql" or "isolation_level" in connection.get_execution_options():
        return
    driver = _driver(connection)
    if driver is not None and not driver.autocommit and driver.info.transaction_status.name == "IDLE":
        driver.autocommit = True
        connection.info[_OURS] = True


def _statement(connection: Connection, _cursor, statement: str, _parameters, context, _many) -> None:
    # Only a connection this module put in autocommit: one whose engine asked for AUTOCOMMIT
    # (to create a database, say) stays as it was asked.
    if not connection.info.get(_OURS) or is_plain_read(statement):
        return
    if context is not None and context.execution_options.get(ON_ITS_OWN):
        return  # committed by itself: the statements after it still read without a transaction
    driver = connection.connection.driver_connection  # psycopg's: _begin checked it
    if driver.info.transaction_status.name == "IDLE":
        driver.autocommit = False  # psycopg sends BEGIN before this statement
        connection.info.pop(_OURS)


def _checkin(dbapi_connection, record) -> None:
    if record is None or not record.info.pop(_OURS, False) or dbapi_connection is None:
        return
    if not dbapi_connection.closed and dbapi_connection.autocommit:
        dbapi_connection.autocommit = False


def init_app(app: Flask) -> None:
    global _installed
    if not _installed:
        _installed = True
        event.listen(Engine, "begin", _begin)
        event.listen(Engine, "before_cursor_execute", _statement)
        event.listen(Pool, "checkin", _checkin)
