"""Delivering the outbox, each message once.

A delivery job claims its message with one conditional UPDATE (state `sending`, a lease, one more
attempt) and commits that before it talks to the provider, then records the outcome, matched on
that same attempt. Two workers never send one message at once; a worker killed mid-send leaves a
lease that runs out, and the message is tried again (with the same key: README, "Messages", says
what that guarantees per channel). A failure waits longer each time; after OUTBOX_MAX_ATTEMPTS,
or a refusal for good, the message is a dead letter (`flask --app app outbox failed`).

The provider is never called inside a database transaction: on SQLite a transaction holds the
write lock, and on any database a slow provider must not hold a connection."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, update

from portal.core import clock, jobs
from portal.extensions import db
from portal.messaging import mail, sms
from portal.messaging.outgoing import DeliveryError, Outgoing
from portal.models import DeliveryState, OutboxMessage

log = logging.getLogger(__name__)

FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)


def adapter(channel: str):
    """The function that sends on this channel under the current settings; None: held (demo mode)."""
    if channel == "email" and current_app.config.get("SMTP_URL"):
        return mail.send
    if channel == "sms" and current_app.config.get("SMS_URL"):
        return sms.send
    return None


def wait_after(attempts: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min, about 2 h, then 6 h."""
    return min(FIRST_WAIT * 4 ** max(attempts - 1, 0), LONGEST_WAIT)


def deliver(message_id: int) -> str | None:
    """The job: send the message if it is due and nobody holds it; its state afterwards."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        return None
    send = adapter(message.channel)
    if send is None:
        _hold(message_id)
        return DeliveryState.HELD
    attempt = _claim(message_id)
    if attempt is None:
        db.session.rollback()
        return None
    db.session.refresh(message)
    outgoing = Outgoing(message.channel, message.recipient, message.subject, message.body, message.language,
                        message.key)
    db.session.commit()  # nothing held open while the provider answers
    try:
        send(outgoing)
    except Exception as failure:  # a bug in an adapter must not leave the message claimed for good
        log.debug("Adapter failure", exc_info=True)
        return _failed(message_id, attempt, failure)
    return _sent(message_id, attempt)


def _claimable(now):
    due = and_(OutboxMessage.state == DeliveryState.PENDING,
               or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
    abandoned = and_(OutboxMessage.state == DeliveryState.SENDING, OutboxMessage.lease_until < now)
    return or_(due, abandoned)


def _claim(message_id: int) -> int | None:
    """The attempt number this worker now holds, committed; None if not due or held by another."""
    now = clock.now()
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    taken = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, _claimable(now))
        .values(state=DeliveryState.SENDING, lease_until=now + lease, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        return None
    attempt = db.session.scalar(db.select(OutboxMessage.attempts).where(OutboxMessage.id == message_id))
    db.session.commit()
    return attempt


def _finish(message_id: int, attempt: int, **values) -> bool:
    done = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == DeliveryState.SENDING,
               OutboxMessage.attempts == attempt)
        .values(lease_until=None, **values).execution_options(synchronize_session=False)
    ).rowcount
    return done == 1


def _sent(message_id: int, attempt: int) -> str:
    if not _finish(message_id, attempt, state=DeliveryState.SENT, sent_at=clock.now(), last_error=None,
                   next_attempt_at=None):
        # Our lease ran out while the provider was answering and another worker took the message:
        # it was sent, and the other try may send it again (same key).
        log.warning("Message %s was sent after its lease ran out.", message_id)
    db.session.commit()
    return DeliveryState.SENT


def _failed(message_id: int, attempt: int, failure: Exception) -> str:
    error = str(failure) if isinstance(failure, DeliveryError) else type(failure).__name__
    final = getattr(failure, "permanent", False) or attempt >= current_app.config["OUTBOX_MAX_ATTEMPTS"]
    wait = wait_after(attempt)
    if final:
        _finish(message_id, attempt, state=DeliveryState.FAILED, last_error=error[:200], next_attempt_at=None)
    elif _finish(message_id, attempt, state=DeliveryState.PENDING, last_error=error[:200],
                 next_attempt_at=clock.now() + wait):
        jobs.enqueue_in(wait, deliver, message_id)
    db.session.commit()
    log.warning("Message %s, attempt %s failed: %s", message_id, attempt, type(failure).__name__)
    return DeliveryState.FAILED if final else DeliveryState.PENDING


def _hold(message_id: int) -> None:
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state == DeliveryState.PENDING)
        .values(state=DeliveryState.HELD).execution_options(synchronize_session=False)
    )
    db.session.commit()


def sweep(limit: int = 1000) -> int:
    """Queue a delivery for every message due (a retry whose job was lost, a lease that ran out);
    the repeating job and `flask --app app outbox deliver` run it. The caller commits."""
    due = db.session.scalars(
        db.select(OutboxMessage.id).where(_claimable(clock.now())).order_by(OutboxMessage.id).limit(limit)
    ).all()
    for message_id in due:
        jobs.enqueue(deliver, message_id)
    return len(due)


def sweep_job() -> None:
    """sweep() as a repeating job (`flask --app app scheduler`)."""
    sweep()
    db.session.commit()


def dead_letters(limit: int = 200) -> list[OutboxMessage]:
    return list(db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.state == DeliveryState.FAILED)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ))


def retry(message_id: int) -> bool:
    """A dead letter (or a held message) goes back to the queue with its attempts counted afresh;
    False if the message is in neither state. The caller commits."""
    taken = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state.in_([DeliveryState.FAILED, DeliveryState.HELD]))
        .values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken == 1:
        jobs.enqueue(deliver, message_id)
    return taken == 1
