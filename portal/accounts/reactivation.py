"""A new activation of an account that already works (a lost phone, say) applies only after a
wait (REACTIVATION_WAIT_HOURS).

Whoever took the code through a new activation chooses a password and an authenticator, which
are kept here while the account's own keep working. The owner, alerted on every register
contact, can cancel while signed in, or block the account with the alert's link; CNS staff can
waive the wait once they have checked with the person. The new credentials apply when due, at the
next sign-in (`apply_due`, the one place that writes them), and every session ends then.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import update

from portal import audit
from portal.accounts import passwords, sessions, totp
from portal.core import clock
from portal.extensions import db
from portal.models import Account, AccountStatus, CnsStaff, Fund, Patient, PendingReactivation


def works(account: Account) -> bool:
    """An account someone already uses: a new activation must not take it away at once."""
    return account.status in (AccountStatus.ACTIVE, AccountStatus.SUSPENDED)


def _open():
    return (PendingReactivation.applied_at.is_(None), PendingReactivation.cancelled_at.is_(None))


def start(account: Account) -> PendingReactivation:
    """A new re-activation, still being filled in (an older unfinished one stops). The caller commits."""
    cancel_all(account, by="replaced", scheduled=False)
    row = PendingReactivation(account_id=account.id, created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    return row


def being_chosen(account: Account) -> PendingReactivation | None:
    """The re-activation whose password and authenticator are still being chosen."""
    return db.session.scalar(
        db.select(PendingReactivation)
        .where(PendingReactivation.account_id == account.id, PendingReactivation.effective_at.is_(None), *_open())
        .order_by(PendingReactivation.id.desc()).limit(1)
    )


def _waiting_of(account_id: int):
    return (
        db.select(PendingReactivation)
        .where(PendingReactivation.account_id == account_id, PendingReactivation.effective_at.is_not(None),
               *_open())
        .order_by(PendingReactivation.id.desc()).limit(1)
    )


def waiting(account: Account) -> PendingReactivation | None:
    """The scheduled re-activation the owner may still cancel."""
    return db.session.scalar(_waiting_of(account.id))


def waiting_id(account_id):
    """The id of `waiting()`, as a scalar subquery for a page that reads it with its counts
    (`account_id`: an id, or a bound parameter of a statement built once)."""
    return _waiting_of(account_id).with_only_columns(PendingReactivation.id).scalar_subquery()


def _scheduled(staff: CnsStaff):
    """Waiting re-activations: CNS staff see all, another fund's staff only its members'."""
    query = (db.select(PendingReactivation, Patient)
             .join(Patient, Patient.account_id == PendingReactivation.account_id)
             .where(PendingReactivation.effective_at.is_not(None), *_open()))
    if staff.fund_scope != Fund.CNS:
        query = query.where(Patient.fund == staff.fund_scope)
    return query


def scheduled(staff: CnsStaff) -> list[tuple[PendingReactivation, Patient]]:
    """Every re-activation waiting for its time, with its person, soonest first: what staff look at."""
    return [tuple(row) for row in db.session.execute(_scheduled(staff).order_by(PendingReactivation.effective_at))]


def scheduled_visible(reactivation_id: int, staff: CnsStaff) -> PendingReactivation | None:
    found = db.session.execute(_scheduled(staff).where(PendingReactivation.id == reactivation_id)).first()
    return found[0] if found else None


def choose_password(row: PendingReactivation, password: str) -> None:
    row.password_hash = passwords.hash_password(password)


def choose_authenticator(row: PendingReactivation, secret: str) -> None:
    row.totp_secret = totp.encrypt(secret)


def schedule(row: PendingReactivation) -> None:
    """Both chosen: the re-activation applies after the wait. The caller alerts and commits."""
    row.effective_at = clock.now() + current_app.config["REACTIVATION_WAIT"]
    audit.record(audit.REACTIVATION_SCHEDULED, actor=row.account, reactivation_id=row.id,
                 effective_at=row.effective_at.isoformat(timespec="minutes"))


def cancel(row: PendingReactivation, *, by: str) -> bool:
    """False when it was applied or cancelled meanwhile. The caller commits."""
    done = db.session.execute(
        update(PendingReactivation).where(PendingReactivation.id == row.id, *_open())
        .values(cancelled_at=clock.now()).execution_options(synchronize_session=False)
    ).rowcount
    if done == 1:
        audit.record(audit.REACTIVATION_CANCELLED, actor=row.account if by == "owner" else None,
                     reactivation_id=row.id, by=by)
    return done == 1


def cancel_all(account: Account, *, by: str, scheduled: bool = True) -> int:
    """Stop every open re-activation of the account (a block, a newer one). The caller commits."""
    rows = db.session.scalars(
        db.select(PendingReactivation).where(PendingReactivation.account_id == account.id, *_open())
    ).all()
    return sum(cancel(row, by=by) for row in rows if scheduled or row.effective_at is None)


def waive(row: PendingReactivation, staff: CnsStaff) -> bool:
    """Staff checked with the person: the re-activation applies at the next sign-in."""
    if row.applied_at is not None or row.cancelled_at is not None or row.effective_at is None:
        return False
    row.effective_at = clock.now()
    row.waived_by_id = staff.id
    audit.record(audit.REACTIVATION_WAIVED, reactivation_id=row.id)
    return True


def apply_due(account: Account) -> bool:
    """Give the account the new password and authenticator if their time has come; every session
    ends. Called before a sign-in checks the password. The caller commits."""
    row = db.session.scalar(
        db.select(PendingReactivation)
        .where(PendingReactivation.account_id == account.id, PendingReactivation.effective_at <= clock.now(),
               *_open())
        .order_by(PendingReactivation.id.desc()).limit(1)
    )
    if row is None or account.status not in (AccountStatus.ACTIVE, AccountStatus.SUSPENDED):
        return False
    taken = db.session.execute(
        update(PendingReactivation).where(PendingReactivation.id == row.id, *_open())
        .values(applied_at=clock.now()).execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:  # a parallel sign-in applied it
        return False
    credential = account.credential
    credential.password_hash = row.password_hash
    credential.password_changed_at = clock.now()
    credential.is_password_temporary = False
    credential.totp_secret = row.totp_secret
    credential.totp_pending_secret = None
    credential.totp_enrolled_at = clock.now()
    credential.totp_last_step = None
    credential.failed_attempts = 0
    credential.locked_until = None
    ended = sessions.end_all(account.id, "activation")
    audit.record(audit.REACTIVATION_APPLIED, actor=account, reactivation_id=row.id, sessions=ended)
    return True
