"""Credentials, server-side sessions and terms of use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.account import Account
from portal.models.types import UTCDateTime, utcnow


class Credential(db.Model):
    """Password and authenticator of one account (kept apart from the account's identity)."""

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an operator (accounts create): the person must choose their own at first sign-in.
    is_password_temporary: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Fernet tokens: the authenticator secret is encrypted with FIELD_ENCRYPTION_KEY.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_pending_secret: Mapped[str | None] = mapped_column(Text)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last accepted 30-second step: a code is accepted once, by conditional update.
    totp_last_step: Mapped[int | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(
        backref=db.backref("credential", uselist=False, cascade="all, delete-orphan")
    )

    def __repr__(self) -> str:
        return f"<Credential {self.account_id}>"


class RecoveryCode(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id}>"


class UserSession(db.Model):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    device: Mapped[str | None] = mapped_column(String(200))
    # The digest of the browser's device cookie (portal.accounts.devices): new browsers alert the owner.
    device_key: Mapped[str | None] = mapped_column(String(64), index=True)

    account: Mapped[Account] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id[:8]}>"


class TermsVersion(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text_fr: Mapped[str] = mapped_column(Text)
    text_de: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)

    def text(self, language: str) -> str:
        return getattr(self, f"text_{language}", None) or self.text_fr

    def __repr__(self) -> str:
        return f"<TermsVersion {self.number}>"


class TermsDecision(db.Model):
    """An account's acceptance or refusal of one version of the terms."""

    __table_args__ = (UniqueConstraint("account_id", "terms_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    terms_version_id: Mapped[int] = mapped_column(ForeignKey("terms_version.id"))
    is_accepted: Mapped[bool]
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    terms_version: Mapped[TermsVersion] = relationship()

    def __repr__(self) -> str:
        return f"<TermsDecision {self.account_id} v{self.terms_version_id}>"
