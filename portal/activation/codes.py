"""Activation codes: issuing, revoking, and redeeming them step by step.

A code is a 100-bit random token shown once (QR link and typed groups) and stored only as
the SHA-256 of its normal form. It is typed from a printed letter, so it is short (20
characters of Crockford's base32, read aloud in five groups of four) and forgiving: case,
spaces, hyphens and the look-alikes the alphabet leaves out (O for 0, I and L for 1) do not
matter. Codes issued before were 160-bit link tokens (portal.core.link_tokens); they are
still found by the hash they were stored under, so a letter already posted keeps working.
Redeeming is single-use even under concurrency: the birth-date step claims the code with a
conditional UPDATE that only one request can win.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import joinedload

from portal import accounts, audit
from portal.accounts import guardian_register, reactivation, security_alerts, sessions
from portal.core import clock, link_tokens
from portal.core.identity import is_minor
from portal.core.refused import NotAllowed, Refused
from portal.extensions import db
from portal.models import (
    Account,
    AccountStatus,
    ActivationCode,
    Doctor,
    Fund,
    GuardianLink,
    IdentityRequest,
    Patient,
    Role,
)

MAX_BIRTH_DATE_FAILURES = 3
DOCUMENT_TYPES = ("identity_card", "passport", "residence_permit")


class DoctorInactive(NotAllowed):
    """The doctor's account is closed (they left) or blocked: they vouch for nobody any more."""


def ensure_doctor_may_issue(doctor: Doctor) -> None:
    """Refuse a doctor whose account is closed or blocked. Their sessions ended when it happened;
    this holds even if one somehow survived, or a caller forgot to look."""
    account = doctor.account
    if account is None or account.status in (AccountStatus.CLOSED, AccountStatus.BLOCKED):
        raise DoctorInactive(f"doctor {doctor.provider_code} may not issue")


# Crockford's base32: without I, L, O and U, no character on the letter reads as another.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20  # 5 bits a character: 100 bits, beyond any guessing behind the rate limits
GROUP = 4
LEGACY_LENGTH = 32  # the 160-bit codes issued before
# What a person types for a character the alphabet left out.
LOOK_ALIKES = str.maketrans("OIL", "011")


def new_token() -> str:
    number = secrets.randbits(5 * LENGTH)
    return "".join(ALPHABET[(number >> 5 * shift) & 31] for shift in reversed(range(LENGTH)))


def normalise(typed: str | None) -> str:
    """The code as stored, from what a person typed: upper case, letters and digits only, look-alikes mapped."""
    return "".join(ch for ch in (typed or "").upper() if ch.isascii() and ch.isalnum()).translate(LOOK_ALIKES)


def has_code_length(typed: str | None) -> bool:
    return len(normalise(typed)) in (LENGTH, LEGACY_LENGTH)


def digest(token: str | None) -> str:
    return hashlib.sha256(normalise(token).encode()).hexdigest()


def _digests(typed: str) -> tuple[str, str]:
    # A code issued before was stored under its letters as typed (portal.core.link_tokens).
    return digest(typed), link_tokens.digest(typed)


def by_token(typed: str | None) -> ActivationCode | None:
    """The code behind what was typed or scanned, whatever its state; None for nothing known."""
    if not normalise(typed):
        return None
    return db.session.scalar(db.select(ActivationCode).where(ActivationCode.token_hash.in_(_digests(typed))))


def matches(code: ActivationCode, typed: str | None) -> bool:
    return bool(normalise(typed)) and any(secrets.compare_digest(code.token_hash, one) for one in _digests(typed))


def grouped(token: str) -> str:
    """The token as the patient reads it aloud and types it: groups of four characters."""
    return "-".join(token[i : i + GROUP] for i in range(0, len(token), GROUP))


def state(code: ActivationCode) -> str:
    if code.used_at:
        return "used"
    if code.revoked_at:
        return "revoked"
    if code.expires_at <= clock.now():
        return "expired"
    return "pending"


def _revoke_pending(patient: Patient, reason: str) -> None:
    pending = db.session.scalars(
        db.select(ActivationCode).where(
            ActivationCode.patient_id == patient.id,
            ActivationCode.used_at.is_(None),
            ActivationCode.revoked_at.is_(None),
            ActivationCode.expires_at > clock.now(),
        )
    )
    for code in pending:
        revoke(code, reason)


def issue(
    patient: Patient,
    *,
    doctor: Doctor | None = None,
    identity_request: IdentityRequest | None = None,
    document_type: str | None = None,
    document_last4: str | None = None,
    mobile: str | None = None,
    guardian: Patient | None = None,
    language: str = "fr",
) -> tuple[ActivationCode, str]:
    """Issue a new code for `patient` (revoking any earlier pending one); returns it with its token."""
    if doctor is not None:
        ensure_doctor_may_issue(doctor)
    if doctor is not None and document_type not in DOCUMENT_TYPES:
        raise Refused.on("document_type", "a doctor-issued code needs an identity check")
    if doctor is not None and guardian is not None and not guardian_register.holds(patient, guardian):
        # A doctor's tick box proves no family tie: only the register (or CNS staff) does.
        raise Refused.on("guardian", "a doctor may name only a guardian the register holds")
    _revoke_pending(patient, "replaced")
    token = new_token()
    now = clock.now()
    code = ActivationCode(
        created_at=now,
        token_hash=digest(token),
        patient_id=patient.id,
        doctor_id=doctor.id if doctor else None,
        identity_request_id=identity_request.id if identity_request else None,
        language=language,
        expires_at=now + current_app.config["ACTIVATION_CODE_LIFETIME"],
        document_type=document_type,
        document_last4=document_last4,
        mobile_confirmed=mobile,
        guardian_patient_id=guardian.id if guardian else None,
    )
    db.session.add(code)
    db.session.flush()
    check = {}
    if doctor is not None:
        check = {"document_type": document_type, "document_last4": document_last4, "mobile_confirmed": mobile}
        if guardian is not None:
            check["guardian_patient_id"] = guardian.id
    audit.record(
        audit.ACTIVATION_ISSUED,
        patient_id=patient.id,
        code_id=code.id,
        channel="doctor" if doctor else "identity_request",
        **check,
    )
    # Told on every register contact, with a link that blocks the account if it was not them. A
    # person who never had an account gets a pending one here, so the link has something to block.
    security_alerts.announce(account_for(patient), patient, "code_issued", language=language)
    return code, token


def revoke(code: ActivationCode, reason: str) -> bool:
    if state(code) != "pending":
        return False
    code.revoked_at = clock.now()
    code.revoke_reason = reason
    audit.record(audit.ACTIVATION_REVOKED, patient_id=code.patient_id, code_id=code.id, reason=reason)
    return True


def find_usable(token: str) -> ActivationCode | None:
    """The code behind a token if it can still be redeemed; None for every other case."""
    code = by_token(token)
    if code is None or state(code) != "pending" or is_blocked(code.patient):
        return None
    return code


def is_blocked(patient: Patient) -> bool:
    """A blocked account (its owner said "not me") is activated by no code until staff lift the block."""
    return patient.account is not None and patient.account.status == AccountStatus.BLOCKED


def request_staff_confirmation(code: ActivationCode) -> None:
    """The register has no contact to send the activation's code to: CNS staff check the person
    and write to them by post. The caller commits."""
    if code.staff_confirmation_requested_at is None:
        code.staff_confirmation_requested_at = clock.now()
        audit.record(audit.ACTIVATION_STAFF_REQUESTED, actor=None, patient_id=code.patient_id, code_id=code.id)


def _awaiting(staff):
    """Codes waiting for staff: CNS staff see all, another fund's staff only its members'."""
    query = db.select(ActivationCode).where(
        ActivationCode.staff_confirmation_requested_at.is_not(None),
        ActivationCode.staff_confirmed_at.is_(None),
        ActivationCode.used_at.is_(None), ActivationCode.revoked_at.is_(None),
        ActivationCode.expires_at > clock.now(),
    )
    if staff.fund_scope != Fund.CNS:
        query = query.join(Patient, Patient.id == ActivationCode.patient_id).where(Patient.fund == staff.fund_scope)
    return query


def awaiting_staff(staff) -> list[ActivationCode]:
    """Codes whose activation waits for CNS staff, oldest first."""
    return list(db.session.scalars(
        _awaiting(staff).options(joinedload(ActivationCode.patient), joinedload(ActivationCode.doctor))
        .order_by(ActivationCode.staff_confirmation_requested_at)
    ))


def awaiting_staff_visible(code_id: int, staff) -> ActivationCode | None:
    return db.session.scalar(_awaiting(staff).where(ActivationCode.id == code_id))


def confirm_by_staff(code: ActivationCode, staff) -> bool:
    """Staff checked the person: the activation goes on without a contact code. The caller commits."""
    if code.staff_confirmed_at is not None or state(code) != "pending":
        return False
    code.staff_confirmed_at = clock.now()
    code.staff_confirmed_by_id = staff.id
    audit.record(audit.ACTIVATION_STAFF_CONFIRMED, patient_id=code.patient_id, code_id=code.id)
    return True


def check_birth_date(code: ActivationCode, typed: date) -> bool:
    """Compare the birth date; the third failure revokes the code."""
    if typed == code.patient.birth_date:
        return True
    db.session.execute(
        update(ActivationCode)
        .where(ActivationCode.id == code.id)
        .values(birth_date_failures=ActivationCode.birth_date_failures + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(code)
    audit.record(
        audit.ACTIVATION_BIRTH_DATE_FAILED, actor=None, patient_id=code.patient_id,
        code_id=code.id, failures=code.birth_date_failures,
    )
    if code.birth_date_failures >= MAX_BIRTH_DATE_FAILURES:
        revoke(code, "birth_date")
    return False


def claim(code: ActivationCode) -> bool:
    """Mark the code used; exactly one of any number of concurrent callers gets True."""
    now = clock.now()
    result = db.session.execute(
        update(ActivationCode)
        .where(
            ActivationCode.id == code.id,
            ActivationCode.used_at.is_(None),
            ActivationCode.revoked_at.is_(None),
            ActivationCode.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def account_for(patient: Patient) -> Account:
    """The patient's account, created (pending) if they never had one."""
    if patient.account is None:
        patient.account = accounts.create(Role.PATIENT, patient.matricule)
    return patient.account


def redeem_for_self(code: ActivationCode) -> Account | None:
    """Claim the code for its patient, once the register's contact code (or staff) proved the
    person. A first activation starts from nothing; an account that already works keeps its
    credentials, and what is chosen now waits (portal.accounts.reactivation)."""
    if is_blocked(code.patient) or not claim(code):
        return None
    account = account_for(code.patient)
    audit.record(audit.ACTIVATION_REDEEMED, actor=None, patient_id=code.patient_id, code_id=code.id)
    if reactivation.works(account):
        reactivation.start(account)
        return account
    credential = account.credential
    # A pending account never signed in; whatever it held goes.
    credential.password_hash = None
    credential.totp_secret = None
    credential.totp_pending_secret = None
    credential.failed_attempts = 0
    credential.locked_until = None
    account.status = AccountStatus.PENDING
    return account


def redeem_for_child(code: ActivationCode, parent: Account) -> GuardianLink | None:
    """Claim a child's code for the parent the doctor checked; the child keeps its own account."""
    guardian = code.guardian
    if guardian is None or guardian.account_id != parent.id or not is_minor(code.patient):
        return None
    if not claim(code):
        return None
    child_account = account_for(code.patient)
    child_account.status = AccountStatus.ACTIVE
    link = db.session.scalar(
        db.select(GuardianLink).where(
            GuardianLink.parent_account_id == parent.id,
            GuardianLink.child_patient_id == code.patient_id,
            GuardianLink.ended_at.is_(None),
        )
    ) or GuardianLink(parent_account_id=parent.id, child_patient_id=code.patient_id)
    db.session.add(link)
    audit.record(audit.ACTIVATION_REDEEMED, actor=parent, patient_id=code.patient_id, code_id=code.id, for_child=True)
    audit.record(audit.GUARDIAN_LINKED, actor=parent, patient_id=code.patient_id, child_patient_id=code.patient_id)
    return link


def complete(account: Account, patient: Patient) -> None:
    """Last step: the account is active and signed in, and its owner told on every contact."""
    account.status = AccountStatus.ACTIVE
    audit.record(audit.ACTIVATION_COMPLETED, actor=account, account_id=account.id)
    security_alerts.announce(account, patient, "activated")
    sessions.start(account)
