"""The medical nomenclature and the invoices ("mémoires d'honoraires") doctors issue."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.registry import Doctor, Patient
from portal.models.types import UTCDateTime, one_of, utcnow


class Act(db.Model):
    """One act of the nomenclature at one effective date (indicative fees, see README)."""

    __table_args__ = (UniqueConstraint("code", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), index=True)
    key_letter: Mapped[str] = mapped_column(String(2))
    coefficient: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    fee_cents: Mapped[int]
    effective_from: Mapped[date]
    category: Mapped[str] = mapped_column(String(20))
    description_en: Mapped[str] = mapped_column(String(200))
    description_fr: Mapped[str] = mapped_column(String(200))
    description_de: Mapped[str] = mapped_column(String(200))
    # Whether the fund pays this act directly to the doctor (direct immediate payment).
    is_direct_payment_eligible: Mapped[bool] = mapped_column(default=False, server_default=false())

    def description(self, language: str) -> str:
        return getattr(self, f"description_{language}", None) or self.description_fr


class Channel:
    DIGITAL = "digital"
    PAPER_QR = "paper_qr"
    PAPER = "paper"


class Invoice(db.Model):
    __table_args__ = (
        UniqueConstraint("doctor_id", "number"),
        one_of("channel", ("digital", "paper_qr", "paper")),
        CheckConstraint("total_cents >= 0", name="total"),
        Index("ix_invoice_patient_service", "patient_id", "service_date", "id"),
        Index("ix_invoice_doctor_issued", "doctor_id", "issued_at"),  # the doctor's home: issued today
        # The doctor's list, newest service first, like the patient's.
        Index("ix_invoice_doctor_service", "doctor_id", "service_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctor.id"))
    # None only for an erased patient's invoice kept with a submitted claim.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    # Copies as printed on the invoice, so it reads the same if the registry changes.
    provider_code: Mapped[str] = mapped_column(String(12))
    patient_matricule: Mapped[str] = mapped_column(String(13))
    service_date: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(10))
    is_paid_on_site: Mapped[bool]
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_payer_patient: Mapped[bool]
    total_cents: Mapped[int]
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    # Documents are kept two years from issue, then purged.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # A corrected invoice names the voided one it replaces (after a patient's report).
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"), index=True)
    # The token of the form that issued it: the same form sent twice issues one invoice (portal.core.forms.OnceForm).
    form_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Direct immediate payment: the patient paid only their share, the fund pays the doctor the
    # rest. The patient's agreement is recorded with it: who gave it, when and how.
    is_direct_payment: Mapped[bool] = mapped_column(default=False, server_default=false())
    direct_consent_by: Mapped[str | None] = mapped_column(String(10))  # patient or guardian
    direct_consent_method: Mapped[str | None] = mapped_column(String(10))  # signed or oral
    direct_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The patient asked for a paper invoice (printed with its QR code) instead of a digital one.
    is_paper_preferred: Mapped[bool] = mapped_column(default=False, server_default=false())

    doctor: Mapped[Doctor] = relationship()
    patient: Mapped[Patient | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class InvoiceLine(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    act_id: Mapped[int] = mapped_column(ForeignKey("act.id"))
    act_code: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int]
    unit_fee_cents: Mapped[int]
    total_cents: Mapped[int]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    act: Mapped[Act] = relationship(lazy="joined")
