"""Activation codes, identity requests and parent–child links."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.account import Account
from portal.models.registry import Doctor, Patient
from portal.models.types import UTCDateTime, one_of, utcnow


class ActivationCode(db.Model):
    """A single-use code bound to one insured person; only the token's SHA-256 is kept."""

    __table_args__ = (
        one_of("document_type", ("identity_card", "passport", "residence_permit")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctor.id", ondelete="SET NULL"), index=True)
    identity_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_request.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(String(2), default="fr")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(20))
    birth_date_failures: Mapped[int] = mapped_column(default=0)
    # The identity check the doctor recorded (none when CNS staff approved a request).
    document_type: Mapped[str | None] = mapped_column(String(20))
    document_last4: Mapped[str | None] = mapped_column(String(4))
    mobile_confirmed: Mapped[str | None] = mapped_column(String(20))
    # For a child: the parent whose identity and parental link the doctor checked.
    guardian_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    # The register has no mobile and no e-mail to send the activation's contact code to: CNS
    # staff check the person and write to them by post, then confirm here.
    staff_confirmation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))

    patient: Mapped[Patient] = relationship(foreign_keys=[patient_id])
    guardian: Mapped[Patient | None] = relationship(foreign_keys=[guardian_patient_id])
    doctor: Mapped[Doctor | None] = relationship()


class IdentityRequest(db.Model):
    """A self-service request for an account, with a photo of an identity document."""

    __table_args__ = (one_of("status", ("pending", "approved", "rejected")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unguessable: it is the only key to the public status page.
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    matricule: Mapped[str] = mapped_column(String(13), index=True)
    surname: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    mobile: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="fr")
    # Encrypted file under instance/uploads; both cleared once the request is decided.
    document_name: Mapped[str | None] = mapped_column(String(64))
    document_type: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="SET NULL"))
    # The token of the form that filed it (portal.core.forms.OnceForm): sent twice, it is one request.
    form_token: Mapped[str | None] = mapped_column(String(32), unique=True)


class GuardianLink(db.Model):
    """A parent's access to a child's space, until the child turns 18."""

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    child_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(20))

    parent: Mapped[Account] = relationship()
    child: Mapped[Patient] = relationship()
