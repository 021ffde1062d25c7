"""Writing a message: a row in the outbox, in the transaction of the event that causes it, and a
delivery job that runs once that transaction commits (portal.messaging.delivery). A rolled-back
event leaves neither."""

from __future__ import annotations

from portal.core import jobs
from portal.extensions import db
from portal.messaging import delivery
from portal.models import OutboxMessage


def send_sms(recipient: str, body: str, *, patient_id: int | None = None, kind: str | None = None,
             language: str = "fr") -> OutboxMessage:
    return _write(OutboxMessage(channel="sms", recipient=recipient, body=body, patient_id=patient_id, kind=kind,
                                language=language))


def send_email(recipient: str, subject: str, body: str, *, patient_id: int | None = None, kind: str | None = None,
               language: str = "fr") -> OutboxMessage:
    return _write(OutboxMessage(channel="email", recipient=recipient, subject=subject, body=body,
                                patient_id=patient_id, kind=kind, language=language))


def _write(message: OutboxMessage) -> OutboxMessage:
    db.session.add(message)
    db.session.flush()
    jobs.enqueue(delivery.deliver, message.id)
    return message
