"""`flask --app app scheduler` queues the repeating jobs (the outbox sweep, the retention purge)
and a worker runs them: a message whose delivery job was lost still goes out."""

from __future__ import annotations

import time

import pytest

from portal.core import jobs
from portal.extensions import db
from portal.models import AuditEvent, DeliveryState, OutboxMessage
from portal.privacy import retention
from tests.conftest import make_app
from tests.fixtures.workers import REDIS, new_queue, require_redis, run_worker, start_worker


@pytest.mark.committing  # the scheduler and the worker are other processes
def test_the_scheduler_queues_the_sweep_and_the_purge_and_a_worker_runs_them(smtp_server):
    require_redis()
    url, mailbox = smtp_server()
    queue = new_queue()
    portal = make_app(REDIS_URL=REDIS, JOB_QUEUE=queue)
    try:
        with portal.app_context():
            lost = OutboxMessage(channel="email", recipient="anna@example.lu", subject="Hello", body="Waiting.")
            db.session.add(lost)  # written without its delivery job, as if Redis had lost it
            db.session.flush()
            lost_id = lost.id
            db.session.commit()  # and nothing read after it: on SQLite a transaction would lock the others out
            scheduler = start_worker(queue, command="scheduler", SMTP_URL=url)
            try:
                deadline = time.monotonic() + 60
                while len(jobs.queue()) < 1 and time.monotonic() < deadline:
                    time.sleep(0.2)
                queued = len(jobs.queue())
            finally:
                scheduler.terminate()
                output = scheduler.communicate(timeout=10)[0]
            assert queued == 1, output  # the sweep, due at once; the purge waits for its hour (02:30 UTC)
            jobs.enqueue(retention.purge_job)  # what the scheduler queues then
            db.session.commit()
        finished = run_worker(queue, "--burst", SMTP_URL=url)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert len(mailbox.to("anna@example.lu")) == 1
        with portal.app_context():
            assert db.session.get(OutboxMessage, lost_id).state == DeliveryState.SENT
            assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.event == "documents.purged")) is not None
    finally:
        with portal.app_context():
            jobs.queue().delete(delete_jobs=True)
