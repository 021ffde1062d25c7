"""A reading request whose very first statement finds its connection dropped is run once more.

The pool no longer pings the server before every checkout (a round trip on every request to
guard against something rare): connections are replaced after `pool_recycle`, and one the
server dropped meanwhile (a restart, a failover, an idle timeout) shows at its first statement.
SQLAlchemy then recognises the disconnect, invalidates that connection and every older one in
the pool, and raises. If nothing of the request had reached the database yet and the request
only reads (GET, HEAD, OPTIONS), running it again on a fresh connection is what a pre-ping
would have done, without anyone seeing an error. Anything else (a statement had already
answered, a form being sent, a second failure) gets the 503 page as before.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from portal.extensions import db

RETRIED_METHODS = ("GET", "HEAD", "OPTIONS")

_installed = False


def may_retry(error: Exception) -> bool:
    return (
        isinstance(error, DBAPIError)
        and error.connection_invalidated
        and request.method in RETRIED_METHODS
        and not g.get("database_answered")
        and not g.get("database_retried")
    )


def _answered(*_args) -> None:
    if has_app_context():
        g.database_answered = True


def init_app(app: Flask) -> None:
    global _installed
    if not _installed:
        _installed = True
        event.listen(Engine, "after_cursor_execute", _answered)
    dispatch = app.full_dispatch_request

    def full_dispatch_request():
        # The 503 handler re-raises what may be retried, so it arrives here.
        try:
            return dispatch()
        except DBAPIError as error:
            if not may_retry(error):
                raise
        db.session.rollback()
        for name in list(g):  # what the first attempt left must not steer the second
            g.pop(name)
        g.database_retried = True
        return dispatch()

    app.full_dispatch_request = full_dispatch_request
