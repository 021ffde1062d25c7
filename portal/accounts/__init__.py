"""Accounts and the person behind each: creation, passwords, display names."""

from __future__ import annotations

from portal import audit
from portal.accounts import passwords, security_alerts, sessions, totp
from portal.accounts.profiles import profile
from portal.core import clock
from portal.extensions import db
from portal.models import Account, AccountStatus, Credential, Patient, Role


def display_name(account: Account) -> str:
    person = profile(account)
    if person is None:
        return account.login
    return person.full_name if isinstance(person, Patient) else person.name


def name_parts(account: Account) -> tuple[str, ...]:
    person = profile(account)
    if isinstance(person, Patient):
        return (person.given_name, person.surname)
    if person is not None:
        return tuple(part for part in person.name.replace("-", " ").split() if len(part) >= 3)
    return ()


def create(role: Role, login: str, *, is_demo: bool = False) -> Account:
    account = Account(role=role, login=login, status=AccountStatus.PENDING, is_demo=is_demo)
    account.credential = Credential()
    db.session.add(account)
    db.session.flush()
    audit.record(audit.ACCOUNT_CREATED, actor=None, role=str(role))
    return account


def set_password(account: Account, password: str, *, method: str, temporary: bool = False) -> None:
    """`temporary`: a password someone else chose, which the person replaces at first sign-in."""
    account.credential.password_hash = passwords.hash_password(password)
    account.credential.password_changed_at = clock.now()
    account.credential.is_password_temporary = temporary
    audit.record(audit.PASSWORD_CHANGED, actor=account, method=method)


def replace_temporary_password(account: Account, new_password: str) -> None:
    """The person's own password instead of the one an operator gave them."""
    set_password(account, new_password, method="initial")
    ended = sessions.end_all(account.id, "password")
    if ended:
        audit.record(audit.SESSIONS_REVOKED, actor=account, count=ended, scope="all")


def change_password(account: Account, new_password: str, *, keep_session: str | None) -> int:
    """Set a new password and end every other session of the account."""
    set_password(account, new_password, method="change")
    ended = sessions.end_all(account.id, "password", keep=keep_session)
    audit.record(audit.SESSIONS_REVOKED, actor=account, count=ended, scope="others")
    patient = profile(account) if account.role == Role.PATIENT else None  # staff have no register contact
    security_alerts.announce(account, patient, "password_changed")
    return ended


def enrol_authenticator(account: Account, secret: str, code: str) -> list[str]:
    """The person typed `code` from the app that holds `secret` (totp.matching_step said so):
    it becomes the account's authenticator, and that code is used up. Returns the recovery
    codes to show once."""
    codes = set_authenticator(account, secret)
    totp.consume_code(account.credential, code)
    return codes


def set_authenticator(account: Account, secret: str) -> list[str]:
    """Make `secret` the account's authenticator; returns new recovery codes to show once."""
    credential = account.credential
    replacing = credential.totp_secret is not None  # not the first one, set up at activation
    credential.totp_secret = totp.encrypt(secret)
    credential.totp_pending_secret = None
    credential.totp_enrolled_at = clock.now()
    credential.totp_last_step = None
    audit.record(audit.TOTP_ENROLLED, actor=account)
    codes = totp.issue_recovery_codes(account.id)
    audit.record(audit.RECOVERY_CODES_ISSUED, actor=account, count=len(codes))
    if replacing:
        security_alerts.announce(account, profile(account) if account.role == Role.PATIENT else None,
                                 "authenticator_changed")
    return codes
