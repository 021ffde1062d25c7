"""Where a person's messages go: the contacts the insurance register holds for a patient (never
one the asker typed), or the e-mail address an operator recorded for a doctor or an agent."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Account, CnsStaff, Doctor, Patient, Role


def of_patient(patient: Patient | None) -> list[tuple[str, str]]:
    """(channel, address) for every contact the register holds for this person."""
    if patient is None:
        return []
    found = [("sms", patient.mobile)] if patient.mobile else []
    return found + ([("email", patient.email)] if patient.email else [])


def of_professional(account: Account) -> list[tuple[str, str]]:
    model = {Role.DOCTOR: Doctor, Role.CNS: CnsStaff}.get(account.role)
    if model is None:
        return []
    email = db.session.scalar(db.select(model.email).where(model.account_id == account.id))
    return [("email", email)] if email else []
