"""Prepared statements that last: a request that only read ends with COMMIT, not ROLLBACK.

psycopg prepares a statement on the server once a connection has run it a few times
(`prepare_threshold`), and PostgreSQL then stops planning it on every request: planning is
most of what the small queries of a page cost (a millisecond for the patient's home counts,
where running them takes less). But psycopg forgets all its prepared statements on ROLLBACK,
since a rolled-back DDL may have changed what they refer to, and SQLAlchemy ends with a
ROLLBACK every transaction nobody committed, which is every reading request: without this,
no statement ever stayed prepared.

When only SELECTs ran in a transaction, COMMIT leaves the database exactly as ROLLBACK
would (a SELECT of a function whose effect waits for the commit, such as pg_notify, would
differ: the portal runs none). This module commits such a transaction at the end of the
request on the driver's connection, under the ORM: the session's own commit hooks (jobs to
enqueue, uploaded files to keep) see no commit, as before. SQLAlchemy's usual rollback
follows, finds no transaction open, and psycopg keeps the statements. Anything else (a
statement that was not a SELECT, an error, a failed transaction) ends with the ROLLBACK it
always had.

Behind PgBouncer in transaction pooling, server-side prepared statements must be off:
DATABASE_PREPARED_STATEMENTS=0 (README, "Production deployment").
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_OPEN = "read_only_transaction"  # g: the connection whose transaction has only read so far
_installed = False


def _connected(dbapi_connection, _record) -> None:
    psycopg = hasattr(dbapi_connection, "prepare_threshold")
    if psycopg and has_app_context() and not current_app.config["DATABASE_PREPARED_STATEMENTS"]:
        dbapi_connection.prepare_threshold = None  # psycopg then never prepares on the server


def _begin(connection: Connection) -> None:
    if has_request_context() and connection.dialect.name == "postgresql":
        setattr(g, _OPEN, connection)


def _statement(connection: Connection, _cursor, statement: str, *_args) -> None:
    if has_request_context() and g.get(_OPEN) is connection and statement.lstrip()[:6].upper() != "SELECT":
        g.pop(_OPEN)


def _ended(connection: Connection, *_args) -> None:
    if has_request_context() and g.get(_OPEN) is connection:
        g.pop(_OPEN)


def _commit_reads(error: BaseException | None) -> None:
    connection = g.pop(_OPEN, None)
    if error is not None or connection is None or connection.closed or connection.invalidated:
        return
    driver = connection.connection.driver_connection
    # Only a transaction in good standing: one a failed statement aborted is rolled back.
    if driver.info.transaction_status.name == "INTRANS":
        driver.commit()


def init_app(app: Flask) -> None:
    global _installed
    if not _installed:
        _installed = True
        event.listen(Engine, "connect", _connected)
        event.listen(Engine, "begin", _begin)
        event.listen(Engine, "before_cursor_execute", _statement)
        event.listen(Engine, "commit", _ended)
        event.listen(Engine, "rollback", _ended)
    app.teardown_request(_commit_reads)
