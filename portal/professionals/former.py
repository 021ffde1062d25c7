"""Doctors and agents who left: 12 months after their account was closed, the purge reduces
what identifies them to what the audit trail and the fund's records still need.

Kept: the account's id (the trail's rows name it), a doctor's name, provider code and specialty
(they are printed on the invoices the fund keeps with its claims) and an agent's staff reference
and fund (the patients' access logs name staff by them). Gone: the password, the authenticator,
recovery codes, sessions and alerts, the contact address, the preferences, an agent's name, and
the login, replaced by a pseudonym nobody can sign in with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from portal import audit
from portal.extensions import db
from portal.models import (
    Account,
    AccountStatus,
    CnsStaff,
    Credential,
    Doctor,
    RecoveryCode,
    Role,
    SecurityAlert,
    UserSession,
)

KEPT_MONTHS = 12


def pseudonym(account: Account) -> str:
    return f"former-{account.id}"


def reduce_due(cutoff: datetime, now: datetime) -> int:
    """Reduce every doctor's or agent's account closed before `cutoff` and not reduced yet;
    returns how many. The caller commits."""
    due = db.session.scalars(db.select(Account).where(
        Account.role.in_((Role.DOCTOR, Role.CNS)), Account.status == AccountStatus.CLOSED,
        Account.closed_at.is_not(None), Account.closed_at <= cutoff, Account.reduced_at.is_(None),
    )).all()
    for account in due:
        _reduce(account, now)
    return len(due)


def _reduce(account: Account, now: datetime) -> None:
    for model in (Credential, RecoveryCode, UserSession, SecurityAlert):
        db.session.execute(delete(model).where(model.account_id == account.id)
                           .execution_options(synchronize_session=False))
    account.login, account.preferred_language, account.message_channels = pseudonym(account), None, None
    account.reduced_at = now
    doctor = db.session.scalar(db.select(Doctor).where(Doctor.account_id == account.id))
    if doctor is not None:
        doctor.email = None
    staff = db.session.scalar(db.select(CnsStaff).where(CnsStaff.account_id == account.id))
    if staff is not None:
        staff.name, staff.email = staff.staff_id, None
    audit.record(audit.IDENTIFICATION_REDUCED, actor=None, account_id=account.id)
