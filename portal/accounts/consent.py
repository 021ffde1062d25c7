"""Withdrawing consent (the account is suspended) and giving it again.

Withdrawal applies to an account, never to a space: a parent in a child's space acts for
the child, but the consent they would withdraw is their own, so callers pass the person
whose account it is (see `is_own_space`).
"""

from __future__ import annotations

import secrets

from portal import audit
from portal.accounts import security_alerts, sessions
from portal.core import clock
from portal.extensions import db
from portal.models import Account, AccountStatus, DataRequest, DataRequestKind, Patient

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference(prefix: str) -> str:
    # Random, so a reference says nothing about how many requests the fund receives.
    return f"{prefix}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))


def is_own_space(person: Patient | None, account: Account) -> bool:
    return person is not None and person.account_id == account.id


def is_suspended(account: Account) -> bool:
    return account.status == AccountStatus.SUSPENDED


def withdraw(person: Patient, account: Account) -> DataRequest | None:
    """Suspend the account and end every one of its sessions, this one included.

    None when there is nothing to do (already suspended, or not the person's own account).
    The request stays in the register as carried out; `closed_at` is set when the patient
    restores consent, so the register shows how long the suspension lasted.
    """
    if not is_own_space(person, account) or account.status != AccountStatus.ACTIVE:
        return None
    account.status = AccountStatus.SUSPENDED
    ended = sessions.end_all(account.id, "withdrawal")
    filed = DataRequest(
        reference=new_reference("D"), patient_id=person.id, kind=DataRequestKind.WITHDRAWAL, state="done",
        created_at=clock.now(),
    )
    db.session.add(filed)
    db.session.flush()
    audit.record(audit.CONSENT_WITHDRAWN, actor=account, patient_id=person.id)
    audit.record(audit.DATA_REQUEST_FILED, actor=account, patient_id=person.id, request_id=filed.id,
                 kind=DataRequestKind.WITHDRAWAL)
    audit.record(audit.SESSIONS_REVOKED, actor=account, count=ended, scope="all")
    security_alerts.announce(account, person, "suspended")
    return filed


def restore(person: Patient, account: Account) -> DataRequest | None:
    """Make the account usable again.

    Only a suspension the patient chose can be lifted here: one an operator decided has no
    open withdrawal behind it, and returns None like an account that is not suspended.
    """
    if not is_own_space(person, account) or account.status != AccountStatus.SUSPENDED:
        return None
    withdrawal = db.session.scalar(
        db.select(DataRequest)
        .where(DataRequest.patient_id == person.id, DataRequest.kind == DataRequestKind.WITHDRAWAL,
               DataRequest.closed_at.is_(None))
        .order_by(DataRequest.created_at.desc(), DataRequest.id.desc())
        .limit(1)
    )
    if withdrawal is None:
        return None
    account.status = AccountStatus.ACTIVE
    withdrawal.closed_at = clock.now()
    audit.record(audit.CONSENT_RESTORED, actor=account, patient_id=person.id)
    return withdrawal
