"""The access log: who did what with a patient's data, as the patient reads it in their space."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.extensions import db
from portal.models import Account, AuditEvent, CnsStaff, Doctor, Patient
from portal.privacy import retention

ACCESS_PAGE = 25


@dataclass(frozen=True)
class Access:
    event: AuditEvent
    actor: str  # you, self, parent, doctor, staff, portal
    doctor_name: str | None = None
    staff_reference: str | None = None
    staff_fund: str | None = None


def page(patient: Patient, viewer: Account, before: tuple[datetime, int] | None = None
               ) -> tuple[list[Access], tuple[datetime, int] | None]:
    """One page of who did what with the patient's data, newest first, within the 13 months
    the trail is kept; returns the entries and the keyset of the next (older) page.

    One query: the actor's name comes by outer joins, not one lookup per row."""
    query = (
        db.select(AuditEvent, Doctor.name, CnsStaff.staff_id, CnsStaff.fund_scope)
        .outerjoin(Doctor, (Doctor.account_id == AuditEvent.actor_account_id) & (AuditEvent.actor_role == "doctor"))
        .outerjoin(CnsStaff, (CnsStaff.account_id == AuditEvent.actor_account_id) & (AuditEvent.actor_role == "cns"))
        .where(AuditEvent.patient_id == patient.id, AuditEvent.occurred_at >= retention.log_cutoff())
    )
    if before is not None:
        at, last_id = before
        query = query.where(db.or_(AuditEvent.occurred_at < at,
                                   db.and_(AuditEvent.occurred_at == at, AuditEvent.id < last_id)))
    rows = db.session.execute(
        query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(ACCESS_PAGE + 1)
    ).all()
    entries = [_access(event, name, ref, fund, patient, viewer) for event, name, ref, fund in rows[:ACCESS_PAGE]]
    if len(rows) <= ACCESS_PAGE:
        return entries, None
    last = entries[-1].event
    return entries, (last.occurred_at, last.id)


def _access(event: AuditEvent, doctor_name, staff_ref, staff_fund, patient: Patient, viewer: Account) -> Access:
    if event.actor_account_id is None:
        return Access(event, "portal")
    if event.actor_account_id == viewer.id:
        return Access(event, "you")
    if event.actor_role == "patient":
        # In a child's space the parent sees the child's own actions, and a parent's.
        return Access(event, "self" if event.actor_account_id == patient.account_id else "parent")
    if event.actor_role == "doctor":
        return Access(event, "doctor", doctor_name=doctor_name)
    if event.actor_role == "cns":
        return Access(event, "staff", staff_reference=staff_ref, staff_fund=staff_fund)
    return Access(event, "portal")
