from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One traced action. No foreign keys: the trail outlives the rows it talks about."""

    __table_args__ = (
        Index("ix_audit_event_patient_time", "patient_id", "occurred_at"),
        Index("ix_audit_event_actor_time", "actor_account_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64))
    actor_account_id: Mapped[int | None]
    actor_role: Mapped[str | None] = mapped_column(String(10))
    ip: Mapped[str | None] = mapped_column(String(45))
    # The patient whose data the action touched, for the patient's own access log.
    patient_id: Mapped[int | None]
    data: Mapped[dict] = mapped_column(JSON, default=dict)
