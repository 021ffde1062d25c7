"""Work that runs after the transaction that asked for it commits: in an RQ worker when
REDIS_URL is set, otherwise in this process right after the commit.

    jobs.enqueue(deliver, message_id)

A job is a module-level function called with plain values (ids, strings); it runs in an app
context of its own, with a fresh database session, and commits its own work. Nothing is enqueued
when the transaction rolls back. A job must be safe to run twice: a worker can die after the work
and before RQ records it as done, and the queue is only a nudge (the rows it acts on are the truth).

Inline mode (no REDIS_URL: `make run`, the tests) runs the ready jobs when the app context of the
request or the CLI command that committed them ends, a failure logged and never breaking the response. Code that
commits outside a request (a test, a shell) drains them with `jobs.run_ready()`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app, g, has_app_context
from redis import Redis
from rq import Queue
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from portal.extensions import db

log = logging.getLogger(__name__)

_PENDING = "portal.jobs.pending"  # session.info key: jobs asked for in the open transaction
_installed = False


def enqueue(func, *args, **kwargs) -> None:
    """Run func(*args, **kwargs) in a worker once the current database transaction commits.
    With no REDIS_URL (the embedded default of `make run` and of the tests), the job runs in this
    process right after the commit (after the request / at the end of the CLI command)."""
    _pending(_session()).append((_name(func), args, kwargs, None))


def enqueue_in(delay: timedelta, func, *args, **kwargs) -> None:
    """Like enqueue(), not before `delay` has passed. Inline mode cannot wait: the job is dropped,
    so whatever it would do must also be found by a repeating sweep (see `flask outbox deliver`)."""
    _pending(_session()).append((_name(func), args, kwargs, delay))


def init_app(app: Flask) -> None:
    global _installed
    if not _installed:
        _installed = True
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
    # At the end of the app context, not of the request: a request context may borrow an app
    # context that outlives it (a test's, a shell's), whose session must stay as it is. A request
    # served by the app pushes and pops its own, right after the request's teardown.
    app.teardown_appcontext(_teardown)


def run_ready() -> int:
    """Run, in this process, the jobs whose transaction committed (inline mode); the number run."""
    ready = g.pop("_ready_jobs", [])
    app = current_app._get_current_object()
    for name, args, kwargs in ready:
        _run_inline(app, name, args, kwargs)
    return len(ready)


def queue(app: Flask | None = None) -> Queue:
    """The app's RQ queue; one Redis connection pool per app, not one per commit."""
    app = app or current_app._get_current_object()
    if "portal_jobs" not in app.extensions:
        connection = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["portal_jobs"] = Queue(app.config["JOB_QUEUE"], connection=connection)
    return app.extensions["portal_jobs"]


def run_in_app(name: str, args: tuple, kwargs: dict) -> None:
    """What RQ runs: the job in a fresh app context of the worker's app (see portal.cli worker)."""
    with current_app._get_current_object().app_context():
        import_string(name)(*args, **kwargs)


def _session():
    return db.session()


def _name(func) -> str:
    name = f"{func.__module__}.{func.__qualname__}"
    if "<" in name:  # a lambda or a nested function cannot be found by name in another process
        raise ValueError(f"A job must be a module-level function, not {name}.")
    return name


def _pending(session) -> list:
    return session.info.setdefault(_PENDING, [])


def _after_commit(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context():
        return
    if current_app.config.get("REDIS_URL"):
        _to_redis(pending)
        return
    ready = g.setdefault("_ready_jobs", [])
    ready.extend((name, args, kwargs) for name, args, kwargs, delay in pending if delay is None)


def _after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_PENDING, None)


def _to_redis(pending: list) -> None:
    try:
        target = queue()
        for name, args, kwargs, delay in pending:
            if delay is None:
                target.enqueue(run_in_app, name, args, kwargs)
            else:
                target.enqueue_in(delay, run_in_app, name, args, kwargs)
    except Exception as error:  # the commit stands; what the job acts on is found again by a sweep
        log.error("Could not enqueue jobs: %s", type(error).__name__)


def _teardown(_error=None) -> None:
    if has_app_context() and g.get("_ready_jobs"):
        # The context is ending: its session lets go of its connection first (on SQLite a transaction
        # opened after the commit, by rendering the page, holds the write lock a job needs).
        db.session.remove()
        run_ready()


def _run_inline(app: Flask, name: str, args: tuple, kwargs: dict) -> None:
    try:
        with app.app_context():
            import_string(name)(*args, **kwargs)
    except Exception as error:
        # The name and the error's type only: an argument or a message could carry personal data.
        log.error("Job %s failed: %s", name, type(error).__name__)
