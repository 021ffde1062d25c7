"""What keeps an account with its owner: codes sent to the register's contacts, alerts with a
"this wasn't me" link, and blocks that stop every sign-in until they are lifted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.account import Account
from portal.models.types import UTCDateTime, utcnow


class AccountBlock(db.Model):
    """An account blocked for its safety: nobody signs in to it until the block is lifted.

    The owner blocks it (a "this wasn't me" link, or "block my account" with a code sent to the
    register's contacts), or CNS staff or an operator do. The status it had before is kept, so
    lifting the block gives back a consent withdrawal, say, rather than an active account."""

    __table_args__ = (
        CheckConstraint("source in ('owner', 'alert', 'staff', 'operator')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(200))
    previous_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    end_reason: Mapped[str | None] = mapped_column(String(200))

    account: Mapped[Account] = relationship(foreign_keys=[account_id])


class ContactCode(db.Model):
    """A one-time code sent to a contact the insurance register holds, never to one typed by
    whoever asks: possession of the owner's phone or mailbox is what it proves. (The one exception,
    new_mobile and new_email, proves that a new contact the signed-in owner typed is theirs.)

    `bound_to` is a digest of the browser flow that asked (an activation, a reset): the code
    works there and nowhere else. The code itself is kept as a keyed digest."""

    __table_args__ = (
        CheckConstraint("purpose in ('activation', 'reset', 'block', 'step_up', 'new_mobile', 'new_email')",
                        name="purpose"),
        CheckConstraint("channel in ('sms', 'email')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(12))
    bound_to: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecurityAlert(db.Model):
    """A message to the owner on every contact the register holds, about something done with
    their account, with a link that blocks the account at once if it wasn't them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
