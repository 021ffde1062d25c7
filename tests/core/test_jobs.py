"""The job queue: a job runs once its transaction commits, never when it rolls back; inline without
Redis, in a real `flask worker --burst` process with it."""

from __future__ import annotations

import contextvars
from datetime import timedelta

import pytest
from flask import g

from portal.core import jobs
from portal.extensions import db
from portal.models import OutboxMessage
from tests.conftest import make_app
from tests.fixtures.workers import REDIS, new_queue, require_redis, run_worker


def mark_done(message_id: int, text: str) -> None:
    """A job: proves it runs in an app context, sees the committed row and commits its own work."""
    message = db.session.get(OutboxMessage, message_id)
    message.subject = text
    db.session.commit()


def fail(message_id: int) -> None:
    raise RuntimeError(f"secret {message_id}")


def _message() -> OutboxMessage:
    message = OutboxMessage(channel="sms", recipient="+352621000000", body="Hello")
    db.session.add(message)
    db.session.flush()
    return message


def _subject(message_id: int) -> str | None:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id).subject


def test_a_job_runs_after_the_commit_and_not_before(app_ctx):
    message = _message()
    jobs.enqueue(mark_done, message.id, "done")
    assert jobs.run_ready() == 0  # not committed yet: nothing is ready
    db.session.commit()
    assert _subject(message.id) is None  # committed, but the job waits for the end of the request
    assert jobs.run_ready() == 1
    assert _subject(message.id) == "done"


def test_a_rolled_back_transaction_enqueues_nothing(app_ctx):
    message = _message()
    db.session.commit()
    jobs.enqueue(mark_done, message.id, "rolled back")
    db.session.rollback()
    db.session.commit()
    assert jobs.run_ready() == 0
    assert _subject(message.id) is None


def test_the_end_of_the_request_runs_the_jobs(app):
    def request() -> int:  # as a server runs it: in a context of its own, with its own app context
        with app.test_request_context():
            message = _message()
            jobs.enqueue(mark_done, message.id, "after the request")
            db.session.commit()
            assert _subject(message.id) is None
            return message.id

    message_id = contextvars.Context().run(request)
    assert _subject(message_id) == "after the request"


def test_a_failing_job_is_logged_without_its_arguments_and_the_others_run(app_ctx, caplog):
    first, second = _message(), _message()
    jobs.enqueue(fail, first.id)
    jobs.enqueue(mark_done, second.id, "still ran")
    db.session.commit()
    assert jobs.run_ready() == 2
    assert _subject(second.id) == "still ran"
    assert "tests.core.test_jobs.fail failed: RuntimeError" in caplog.text
    assert "secret" not in caplog.text


def test_a_job_later_is_dropped_inline_and_a_nested_function_refused(app_ctx):
    message = _message()
    jobs.enqueue_in(timedelta(minutes=5), mark_done, message.id, "later")
    db.session.commit()
    assert jobs.run_ready() == 0
    with pytest.raises(ValueError, match="module-level"):
        jobs.enqueue(lambda: None)
    assert not g.get("_ready_jobs")


@pytest.mark.committing  # the worker is another process: it sees only what was committed
def test_with_redis_a_burst_worker_runs_the_committed_jobs_only():
    require_redis()
    queue = new_queue()
    redis_app = make_app(REDIS_URL=REDIS, JOB_QUEUE=queue)
    try:
        with redis_app.app_context():
            kept, dropped = _message(), _message()
            jobs.enqueue(mark_done, kept.id, "by the worker")
            db.session.commit()
            jobs.enqueue(mark_done, dropped.id, "never")
            db.session.rollback()
            assert jobs.run_ready() == 0  # with Redis nothing runs in this process
            assert len(jobs.queue()) == 1
            kept_id, dropped_id = kept.id, dropped.id
        finished = run_worker(queue, "--burst")
        assert finished.returncode == 0, finished.stderr
        with redis_app.app_context():
            assert _subject(kept_id) == "by the worker", finished.stdout + finished.stderr
            assert _subject(dropped_id) is None
            assert len(jobs.queue()) == 0
    finally:
        with redis_app.app_context():
            jobs.queue().delete(delete_jobs=True)


def test_the_worker_needs_redis(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output
