"""The sign-in rules: password step, lockout, second factor, finishing the sign-in.

Limits (documented in the README): after 5 consecutive failures the account locks for
1 minute, then 2, 4 … up to 60 minutes per further failure; at 100 consecutive failures
it stays locked until a new activation code or an operator unlocks it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import session

from portal import audit
from portal.accounts import devices, passwords, reactivation, sessions, totp
from portal.core import clock
from portal.core.refused import DomainError
from portal.extensions import db
from portal.models import Account, AccountStatus, Credential

LOCK_AFTER = 5
MAX_LOCK_MINUTES = 60
HARD_LOCK_AFTER = 100
HARD_LOCK_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
PENDING_LIFETIME = timedelta(minutes=5)


class ActivationUnfinished(DomainError):
    """The right password of a patient whose activation is not finished (portal.activation.resume)."""

    def __init__(self, account: Account):
        self.account = account
        super().__init__(f"account {account.id}: activation unfinished")


def find_account(login: str) -> Account | None:
    return db.session.scalar(db.select(Account).where(Account.login == (login or "").strip()))


def is_locked(credential: Credential | None) -> bool:
    return bool(credential and credential.locked_until and credential.locked_until > clock.now())


def lock_delay(failures: int) -> timedelta | None:
    if failures >= HARD_LOCK_AFTER:
        return HARD_LOCK_UNTIL - clock.now()
    if failures < LOCK_AFTER:
        return None
    return timedelta(minutes=min(2 ** (failures - LOCK_AFTER), MAX_LOCK_MINUTES))


def register_failure(account: Account, stage: str, reason: str) -> None:
    credential = account.credential
    credential.failed_attempts = (credential.failed_attempts or 0) + 1
    delay = lock_delay(credential.failed_attempts)
    audit.record(audit.SIGNIN_FAILED, actor=account, stage=stage, reason=reason)
    if delay is not None:
        credential.locked_until = clock.now() + delay
        audit.record(audit.ACCOUNT_LOCKED, actor=account, failures=credential.failed_attempts)


def check_password(login: str, password: str) -> Account | None:
    """The first step. Unknown, wrong and locked all return None after one argon2 check."""
    account = find_account(login)
    if account is not None:
        # The one place a re-activation's new credentials apply: before they are checked.
        reactivation.apply_due(account)
    credential = account.credential if account else None
    valid = passwords.verify_password(credential.password_hash if credential else None, password)
    if account is None or credential is None:
        audit.record(audit.SIGNIN_FAILED, actor=None, stage="password", reason="unknown")
        return None
    if is_locked(credential) or account.status in (AccountStatus.CLOSED, AccountStatus.BLOCKED):
        audit.record(audit.SIGNIN_FAILED, actor=account, stage="password", reason="locked")
        return None
    if not valid:
        register_failure(account, "password", "wrong")
        return None
    if account.role == "patient" and account.status == AccountStatus.PENDING:
        # A patient's account becomes usable only through its activation, never by enrolling an
        # authenticator here like an operator-created staff account. Only now, the password
        # being right, may the page say the activation is unfinished.
        audit.record(audit.SIGNIN_FAILED, actor=account, stage="password", reason="activation_unfinished")
        raise ActivationUnfinished(account)
    if passwords.needs_rehash(credential.password_hash):
        credential.password_hash = passwords.hash_password(password)
    return account


def _first_stage(credential: Credential) -> str:
    if credential.totp_secret:
        return "code"  # a temporary password is replaced after the code (see views._second_factor_passed)
    # Without an authenticator yet, a password an operator gave is replaced before anything
    # else: by the time the account is usable, what the operator saw opens nothing.
    return "new_password" if credential.is_password_temporary else "enrol"


def begin_pending(account: Account) -> None:
    """Between the password and the code: the account id waits in the (signed) cookie."""
    sessions.reset_cookie()
    session["signin"] = {"account": account.id, "stage": _first_stage(account.credential), "at": time.time()}


def move_pending(stage: str, *, method: str | None = None) -> None:
    """On to the next step of the same sign-in, whose time starts again.

    `method`: the second factor already given, when a step comes after it."""
    step = {**session["signin"], "stage": stage, "at": time.time()}
    if method:
        step["method"] = method
    session["signin"] = step


def pending_method() -> str | None:
    return (session.get("signin") or {}).get("method")


def pending_account(stage: str) -> Account | None:
    pending = session.get("signin")
    if not pending or pending.get("stage") != stage:
        return None
    if time.time() - pending.get("at", 0) > PENDING_LIFETIME.total_seconds():
        session.pop("signin", None)
        return None
    return db.session.get(Account, pending["account"])


def check_code(account: Account, code: str) -> bool:
    credential = account.credential
    if is_locked(credential):
        audit.record(audit.SIGNIN_FAILED, actor=account, stage="code", reason="locked")
        return False
    if totp.consume_code(credential, code):
        return True
    register_failure(account, "code", "wrong")
    return False


def check_recovery_code(account: Account, code: str) -> bool:
    if is_locked(account.credential):
        audit.record(audit.SIGNIN_FAILED, actor=account, stage="recovery", reason="locked")
        return False
    remaining = totp.consume_recovery_code(account.id, code)
    if remaining is None:
        register_failure(account, "recovery", "wrong")
        return False
    audit.record(audit.RECOVERY_CODE_USED, actor=account, remaining=remaining)
    return True


def finish(account: Account, method: str) -> str | None:
    """Sign the account in: a new server-side session and a rebuilt cookie.

    Returns the page the user asked for before signing in, if any."""
    next_target = session.get("next")
    credential = account.credential
    credential.failed_attempts = 0
    credential.locked_until = None
    if account.status == AccountStatus.PENDING:
        account.status = AccountStatus.ACTIVE
    device_key = devices.recognise(account)
    sessions.start(account).device_key = device_key
    audit.record(audit.SIGNIN_SUCCEEDED, actor=account, method=method)
    return next_target


def check_second_factor(login: str, code: str) -> Account | None:
    """A password reset's first factor: the login plus a current code or an unused recovery code."""
    account = find_account(login)
    credential = account.credential if account else None
    if account is None or credential is None or not credential.totp_secret:
        audit.record(audit.SIGNIN_FAILED, actor=None, stage="reset", reason="unknown")
        return None
    if is_locked(credential) or account.status in (AccountStatus.CLOSED, AccountStatus.BLOCKED):
        audit.record(audit.SIGNIN_FAILED, actor=account, stage="reset", reason="locked")
        return None
    compact = (code or "").replace(" ", "")
    if len(compact) == 6 and compact.isdigit():
        accepted = totp.consume_code(credential, compact)
    else:
        remaining = totp.consume_recovery_code(account.id, compact)
        accepted = remaining is not None
        if accepted:
            audit.record(audit.RECOVERY_CODE_USED, actor=account, remaining=remaining)
    if not accepted:
        register_failure(account, "reset", "wrong")
        return None
    # The failures are cleared only when the reset is finished (auth.reset.finish): the first
    # factor alone, which a stolen phone gives, must not lift a lock.
    return account
