"""The outbox: every SMS and e-mail the portal sends, written in the transaction of the event that
causes it, then delivered by a job (portal.messaging.delivery)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, one_of, utcnow


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its first try, or for the next one (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # the dead letters: tried too often, or refused for good; `outbox retry ID`
    HELD = "held"  # no transport configured for its channel (demo mode): shown at /dev/outbox


def _new_key() -> str:
    return uuid.uuid4().hex


class OutboxMessage(db.Model):
    """An SMS or e-mail, with its delivery state."""

    __table_args__ = (
        one_of("channel", ("sms", "email")),
        one_of("state", DeliveryState),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # What the message is about (portal.messaging.kinds), for the templates and the operators.
    kind: Mapped[str | None] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Sent as the e-mail's Message-ID and the SMS gateway's Idempotency-Key: a message tried
    # twice is recognisable as one.
    key: Mapped[str] = mapped_column(String(32), unique=True, default=_new_key)
    state: Mapped[str] = mapped_column(String(8), default=DeliveryState.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
