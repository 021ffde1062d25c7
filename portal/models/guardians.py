"""Who is a child's guardian, as the insurance register (or CNS staff) says, and the
doctors' requests for a link the register does not hold yet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.registry import CnsStaff, Doctor, Patient
from portal.models.types import UTCDateTime, one_of, utcnow


class RegistryGuardian(db.Model):
    """A parental link a doctor may rely on: imported from the register, or confirmed by
    staff who saw a birth certificate or family book. A doctor's form never makes one."""

    __table_args__ = (
        one_of("source", ("registry", "staff")),
        UniqueConstraint("child_patient_id", "guardian_patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    guardian_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))

    child: Mapped[Patient] = relationship(foreign_keys=[child_patient_id])
    guardian: Mapped[Patient] = relationship(foreign_keys=[guardian_patient_id])
    confirmed_by: Mapped[CnsStaff | None] = relationship()


class GuardianRequest(db.Model):
    """A doctor asked for a link the register does not hold; staff confirm or refuse it."""

    __table_args__ = (one_of("decision", ("confirmed", "refused")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    guardian_patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctor.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("cns_staff.id", ondelete="SET NULL"))
    decision: Mapped[str | None] = mapped_column(String(9))

    child: Mapped[Patient] = relationship(foreign_keys=[child_patient_id])
    guardian: Mapped[Patient] = relationship(foreign_keys=[guardian_patient_id])
    doctor: Mapped[Doctor | None] = relationship()
