"""Sending SMS and e-mail. The only backend here is the outbox table: a development
stand-in that a real SMS/mail gateway would replace behind the same two functions."""

from __future__ import annotations

from portal.extensions import db
from portal.models import OutboxMessage


def send_sms(recipient: str, body: str, *, patient_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(channel="sms", recipient=recipient, body=body, patient_id=patient_id)
    db.session.add(message)
    return message


def send_email(recipient: str, subject: str, body: str, *, patient_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(channel="email", recipient=recipient, subject=subject, body=body, patient_id=patient_id)
    db.session.add(message)
    return message
