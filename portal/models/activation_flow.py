"""An activation under way, kept on the server, and a working account's pending re-activation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.account import Account
from portal.models.activation import ActivationCode
from portal.models.types import UTCDateTime, utcnow


class ActivationFlow(db.Model):
    """One browser's way through the activation pages.

    The browser keeps only the flow's id and the current step's secret; the row keeps a digest
    of that secret, and every step that moves on replaces it. A cookie copied at an earlier step
    holds a secret that no longer matches, and one copied at the last step finds the row consumed.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("activation_code.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    code: Mapped[ActivationCode] = relationship()
    account: Mapped[Account | None] = relationship()


class PendingReactivation(db.Model):
    """A new password and authenticator for an account that already works, chosen through a new
    activation code. They replace the old ones only at `effective_at`: until then the old ones
    keep working and the owner, alerted on every register contact, can cancel."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Encrypted like Credential.totp_secret.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None while the activation is still under way; set when it finishes.
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waived_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship()
