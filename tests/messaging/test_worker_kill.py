"""A worker killed with SIGKILL in the middle of sending an e-mail: the message is neither lost
nor sent twice. The SMTP server stalls before it answers the first message's DATA, as a slow
mail server does; the worker dies there, so the server never said 250 and keeps nothing (RFC
5321: a message is the server's only once it answered). After the lease runs out, a sweep and a
new worker send it, once; the other messages go out once too."""

from __future__ import annotations

import os
import signal
import time

import pytest

from portal.core import jobs
from portal.extensions import db
from portal.messaging import delivery, notify
from portal.models import DeliveryState, OutboxMessage
from tests.conftest import make_app
from tests.fixtures.workers import REDIS, new_queue, require_redis, run_worker, start_worker

LEASE_SECONDS = 2


@pytest.mark.committing  # the workers are other processes: they see only what was committed
def test_a_worker_killed_mid_send_neither_loses_nor_repeats_a_message(smtp_server):
    require_redis()
    url, mailbox = smtp_server(stall=True)
    queue = new_queue()
    settings = {"SMTP_URL": url, "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS)}
    portal = make_app(REDIS_URL=REDIS, JOB_QUEUE=queue, SMTP_URL=url, OUTBOX_LEASE_SECONDS=LEASE_SECONDS)
    try:
        with portal.app_context():
            keys = {notify.send_email(f"person{n}@example.lu", "Hello", "A new document is waiting.").key
                    for n in range(3)}
            db.session.commit()
            assert len(jobs.queue()) == 3

        worker = start_worker(queue, **settings)
        assert mailbox.receiving.wait(60), "the worker never reached the SMTP server"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        mailbox.release.set()
        deadline = time.monotonic() + 10
        while mailbox.dropped == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mailbox.dropped == 1 and mailbox.messages == []

        with portal.app_context():
            states = db.session.scalars(db.select(OutboxMessage.state).order_by(OutboxMessage.id)).all()
            assert states == [DeliveryState.SENDING, DeliveryState.PENDING, DeliveryState.PENDING]
            assert delivery.sweep() == 2  # the first is still held by the dead worker's lease
            db.session.rollback()
        time.sleep(LEASE_SECONDS + 0.5)
        with portal.app_context():
            assert delivery.sweep() == 3  # the lease ran out: the sweep queues it again
            db.session.commit()

        finished = run_worker(queue, "--burst", **settings)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        delivered = [message["Message-ID"].strip("<>").partition("@")[0] for message in mailbox.messages]
        assert sorted(delivered) == sorted(keys)  # each message exactly once
        with portal.app_context():
            rows = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
            assert [row.state for row in rows] == [DeliveryState.SENT] * 3
            assert rows[0].attempts == 2
    finally:
        with portal.app_context():
            jobs.queue().delete(delete_jobs=True)
