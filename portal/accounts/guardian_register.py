"""The register of guardians: whom a doctor may name as the parent on a child's code.

A doctor's tick box proves nothing about a family: the link must already be in the
insurance register (imported, portal/accounts/registry_import.py) or confirmed by CNS staff who saw
a birth certificate or family book. Otherwise the doctor's attempt files a request for staff.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import joinedload

from portal import audit
from portal.core import clock
from portal.core.refused import Conflict
from portal.extensions import db
from portal.models import CnsStaff, Doctor, Fund, GuardianRequest, Patient, RegistryGuardian


class RequestAlreadyDecided(Conflict):
    """Another agent decided the request first."""


def holds(child: Patient, guardian: Patient) -> bool:
    return db.session.scalar(
        db.select(RegistryGuardian.id).where(
            RegistryGuardian.child_patient_id == child.id, RegistryGuardian.guardian_patient_id == guardian.id
        )
    ) is not None


def request_link(child: Patient, guardian: Patient, doctor: Doctor) -> GuardianRequest:
    """File (once) a doctor's request for a link the register does not hold."""
    pending = db.session.scalar(db.select(GuardianRequest).where(
        GuardianRequest.child_patient_id == child.id, GuardianRequest.guardian_patient_id == guardian.id,
        GuardianRequest.decided_at.is_(None),
    ))
    if pending is not None:
        return pending
    request = GuardianRequest(child_patient_id=child.id, guardian_patient_id=guardian.id, doctor_id=doctor.id,
                              created_at=clock.now())
    db.session.add(request)
    db.session.flush()
    audit.record(audit.GUARDIAN_LINK_REQUESTED, patient_id=child.id, request_id=request.id)
    return request


def _scoped(staff: CnsStaff):
    """CNS staff see every request; another fund's staff only those of its members' children."""
    # Each request names one child, one parent and one doctor: joined in the same statement.
    query = db.select(GuardianRequest).options(
        joinedload(GuardianRequest.child), joinedload(GuardianRequest.guardian), joinedload(GuardianRequest.doctor),
    )
    if staff.fund_scope != Fund.CNS:
        query = query.join(Patient, Patient.id == GuardianRequest.child_patient_id).where(
            Patient.fund == staff.fund_scope)
    return query


def pending_requests(staff: CnsStaff) -> list[GuardianRequest]:
    return list(db.session.scalars(
        _scoped(staff).where(GuardianRequest.decided_at.is_(None)).order_by(GuardianRequest.created_at)
    ))


def visible(request_id: int, staff: CnsStaff) -> GuardianRequest | None:
    return db.session.scalar(_scoped(staff).where(GuardianRequest.id == request_id))


def decide(request: GuardianRequest, staff: CnsStaff, *, confirmed: bool) -> None:
    """Staff checked the family document: the link enters the register, or the request is refused.

    One conditional UPDATE decides, so of two agents (or a double click) exactly one does."""
    now, decision = clock.now(), "confirmed" if confirmed else "refused"
    won = db.session.execute(
        update(GuardianRequest)
        .where(GuardianRequest.id == request.id, GuardianRequest.decided_at.is_(None))
        .values(decided_at=now, decided_by_id=staff.id, decision=decision)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not won:
        raise RequestAlreadyDecided(request.id)
    db.session.refresh(request)
    if confirmed and not holds(request.child, request.guardian):
        db.session.add(RegistryGuardian(
            child_patient_id=request.child_patient_id, guardian_patient_id=request.guardian_patient_id,
            source="staff", confirmed_by_id=staff.id, created_at=now,
        ))
    audit.record(audit.GUARDIAN_LINK_DECIDED, patient_id=request.child_patient_id, request_id=request.id,
                 decision=decision)
