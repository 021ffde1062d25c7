"""Blocking an account for its safety, and lifting the block.

A block ends every session at once and stops every sign-in (portal.accounts.signin treats a blocked
account like an unknown one). It is written as an AccountBlock row beside the status, so staff see
who blocked it, why and when, and lifting it restores the status the account had before.
"""

from __future__ import annotations

from sqlalchemy.orm import joinedload

from portal import audit
from portal.accounts import reactivation, sessions
from portal.core import clock
from portal.extensions import db
from portal.models import Account, AccountBlock, AccountStatus

SOURCES = ("owner", "alert", "staff", "operator")


def current_block(account: Account) -> AccountBlock | None:
    return db.session.scalar(
        db.select(AccountBlock).where(AccountBlock.account_id == account.id, AccountBlock.ended_at.is_(None))
        .order_by(AccountBlock.id.desc()).limit(1)
    )


def block(account: Account, *, source: str, reason: str, by: Account | None = None) -> AccountBlock:
    """Block the account (or return the block already in force); the caller commits."""
    if source not in SOURCES:
        raise ValueError(f"unknown block source {source!r}")
    existing = current_block(account)
    if existing is not None:
        return existing
    row = AccountBlock(
        account_id=account.id, source=source, reason=reason[:200], previous_status=account.status,
        created_at=clock.now(), created_by_id=by.id if by is not None else None,
    )
    db.session.add(row)
    account.status = AccountStatus.BLOCKED
    # "It wasn't me": a new activation somebody started must not apply once the block is lifted.
    reactivation.cancel_all(account, by="block")
    ended = sessions.end_all(account.id, "blocked")
    audit.record(audit.ACCOUNT_BLOCKED, actor=by, account_id=account.id, source=source)
    if ended:
        audit.record(audit.SESSIONS_REVOKED, actor=by, count=ended, scope="blocked")
    return row


def unblock(account: Account, *, reason: str, by: Account | None = None) -> bool:
    """Lift the block in force; False when there was none. The caller commits."""
    row = current_block(account)
    if row is None:
        return False
    row.ended_at = clock.now()
    row.ended_by_id = by.id if by is not None else None
    row.end_reason = reason[:200]
    if account.status == AccountStatus.BLOCKED:
        account.status = row.previous_status
    audit.record(audit.ACCOUNT_UNBLOCKED, actor=by, account_id=account.id)
    return True


def open_blocks() -> list[AccountBlock]:
    """Blocks in force, newest first: what staff look at."""
    return list(db.session.scalars(
        db.select(AccountBlock).where(AccountBlock.ended_at.is_(None)).order_by(AccountBlock.created_at.desc())
        .options(joinedload(AccountBlock.account))  # the list names each account's login
    ))
