"""Benchmark aid: an `X-Query-Count` header with the SQL statements a request ran.

Off unless BENCH_COUNT_QUERIES is set (the benchmark sets it, production never should):
the listener costs a little on every statement and the header tells the world how busy
a page is.
"""

from __future__ import annotations

from flask import Flask, Response, g, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

HEADER = "X-Query-Count"
# The page's work, not BEGIN or SAVEPOINT (tests/fixtures/queries.py counts the same).
COUNTED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def _count(_connection, _cursor, statement, *_args) -> None:
    if has_app_context() and statement.lstrip()[:6].upper().startswith(COUNTED):
        g.query_count = g.get("query_count", 0) + 1


def _header(response: Response) -> Response:
    response.headers[HEADER] = str(g.get("query_count", 0))
    return response


def init_app(app: Flask) -> None:
    if not app.config.get("BENCH_COUNT_QUERIES"):
        return
    if not event.contains(Engine, "before_cursor_execute", _count):
        event.listen(Engine, "before_cursor_execute", _count)
    app.after_request(_header)
