"""Finishing a first activation someone left half-way (after choosing a password, or after the
recovery codes and before the terms of use), without a new code from the doctor.

Two ways back, neither weaker than the first pass:
* the same link (or typed code): the flow starts again at the birth date and the register's
  contact code (or staff's confirmation), exactly the proofs the code asked for the first time,
  then goes on at the first step not done. Whoever passes them could have chosen every credential
  anew with the code; they get no more by finishing what was chosen;
* signing in with the password already chosen, then (once an authenticator is set up) its code:
  the activation goes on at the next step, and only then does the page say it is unfinished.

Either only while the code's own lifetime lasts and no newer code was issued: a code the doctor
replaced (a person who said someone else started their activation) resumes nothing.
"""

from __future__ import annotations

from portal import audit
from portal.activation import codes
from portal.core import clock
from portal.extensions import db
from portal.models import Account, AccountStatus, ActivationCode, ActivationFlow, Patient, Role


def _newest_code(patient: Patient) -> ActivationCode | None:
    return db.session.scalar(
        db.select(ActivationCode).where(ActivationCode.patient_id == patient.id)
        .order_by(ActivationCode.created_at.desc(), ActivationCode.id.desc()).limit(1)
    )


def _resumable(code: ActivationCode) -> bool:
    patient = code.patient
    account = patient.account
    return (
        account is not None and account.status == AccountStatus.PENDING and code.used_at is not None
        and code.revoked_at is None and code.expires_at > clock.now() and code.guardian_patient_id is None
        and _newest_code(patient) == code
    )


def code_to_resume(token: str) -> ActivationCode | None:
    """The code behind a token whose first activation is unfinished and may still be finished."""
    code = codes.by_token(token)
    return code if code is not None and _resumable(code) else None


def resumes(flow: ActivationFlow) -> bool:
    """Whether this flow takes up an unfinished activation: begun after its code was used. A flow
    begun before, whose code another flow claimed meanwhile (a race, or a copy of the letter),
    resumes nothing: of any number of such flows, one activates."""
    code = flow.code
    return code.used_at is not None and flow.created_at > code.used_at and _resumable(code)


def unfinished_code(account: Account) -> ActivationCode | None:
    """The code of this pending patient account's unfinished activation, if it can be finished."""
    if account.role != Role.PATIENT or account.status != AccountStatus.PENDING:
        return None
    patient = db.session.scalar(db.select(Patient).where(Patient.account_id == account.id))
    code = _newest_code(patient) if patient is not None else None
    return code if code is not None and _resumable(code) else None


def next_step(account: Account) -> str:
    """The first step of the activation not done yet."""
    credential = account.credential
    if not credential.password_hash:
        return "password"
    if not credential.totp_secret:
        return "authenticator"
    return "terms"


def record(code: ActivationCode, step: str, by: str) -> None:
    """`by`: "link" (the code's proofs again) or "password" (the sign-in)."""
    audit.record(audit.ACTIVATION_RESUMED, actor=None, patient_id=code.patient_id, code_id=code.id, step=step, by=by)
