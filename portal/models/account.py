from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, one_of, utcnow


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    CNS = "cns"


class AccountStatus(StrEnum):
    PENDING = "pending"  # created, credentials not yet set (activation or enrolment to do)
    ACTIVE = "active"
    SUSPENDED = "suspended"  # consent withdrawn: the person still reaches their data pages
    BLOCKED = "blocked"  # for its safety (AccountBlock): nobody signs in until the block is lifted
    CLOSED = "closed"  # a doctor or agent who left: no sign-in; what they issued stays


class Account(db.Model):
    """One set of credentials for one role; a doctor who is also a patient has two."""

    __table_args__ = (
        one_of("role", Role),
        one_of("status", AccountStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    # Matricule for patients, provider code for doctors, staff id for CNS staff.
    login: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.PENDING)
    preferred_language: Mapped[str | None] = mapped_column(String(2))
    is_demo: Mapped[bool] = mapped_column(default=False)
    # The channels each kind of message goes to ({"statement": ["email"], …}); a kind left out
    # goes to every contact (portal.messaging.preferences). Security alerts ignore it.
    message_channels: Mapped[dict | None] = mapped_column(JSON)
    # The number of the newest terms version accepted: a copy of terms_decision kept by
    # accounts.terms.decide, so the check before every page comes with the session's row.
    terms_accepted: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A doctor or agent who left: when the account was closed, and when the purge, 12 months
    # later, reduced its identification data to what the audit trail needs (portal.professionals.former).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reduced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Flask-Login protocol; the portal loads users from server-side sessions.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.ACTIVE

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)
