"""Doctor and CNS staff accounts an operator creates and unlocks (`flask --app app accounts …`)."""

from __future__ import annotations

import re
import secrets

import email_validator

from portal import accounts, audit
from portal.accounts import blocking, security_alerts, sessions, signin
from portal.activation import codes
from portal.core import clock
from portal.core.forms import CONTROL_CHARACTERS
from portal.core.refused import Refused
from portal.extensions import db
from portal.models import Account, AccountStatus, ActivationCode, CnsStaff, Doctor, Fund, Role

# Sign-in strips the login a person types and then compares it exactly (signin.find_account):
# surrounding spaces can never be typed back, and characters that look alike but differ (a
# composed and a decomposed "é", a non-breaking space) or that some keyboards lack would
# make an account nobody can reach. Operators keep to what every keyboard types the same way.
LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
LOGIN_LENGTH = {Role.DOCTOR: 12, Role.CNS: 20}  # Doctor.provider_code, CnsStaff.staff_id
TEXT_LENGTH = {"name": 200, "specialty": 100}  # Doctor.name / CnsStaff.name, Doctor.specialty


class AccountRefused(Refused):
    pass


def _login_problems(role: Role, login: str) -> list[str]:
    if not login.strip():
        return ["The login is empty."]
    if login != login.strip():
        return ["The login starts or ends with a space: nobody could type it at sign-in."]
    if not LOGIN.fullmatch(login):
        return ["The login may hold only the letters A to Z, digits, dots, hyphens and underscores "
                "(and start with a letter or a digit): people type it at sign-in."]
    if len(login) > LOGIN_LENGTH[role]:
        return [f"The login of a {role} account has at most {LOGIN_LENGTH[role]} characters."]
    return []


def _text_problems(label: str, value: str) -> list[str]:
    if not value.strip():
        return [f"The {label} is empty."]
    if value != value.strip():
        return [f"The {label} starts or ends with a space."]
    if CONTROL_CHARACTERS.search(value) or "\t" in value or "\n" in value or "\r" in value:
        return [f"The {label} contains a control character."]
    if len(value) > TEXT_LENGTH[label]:
        return [f"The {label} has more than {TEXT_LENGTH[label]} characters."]
    return []


def _taken(role: Role, login: str) -> str | None:
    if db.session.scalar(db.select(Account.id).where(Account.login == login)):
        return f"An account with login {login} already exists."
    profile, column = (Doctor, Doctor.provider_code) if role == Role.DOCTOR else (CnsStaff, CnsStaff.staff_id)
    if db.session.scalar(db.select(profile.id).where(column == login)):
        return f"A {role} with the code {login} is already registered."
    return None


def create(role: Role, login: str, *, name: str, specialty: str, is_digital: bool, fund: str,
           email: str | None = None) -> tuple[Account, str]:
    """A pending account with a one-time password; returns it with the password to hand over.

    The person replaces that password at first sign-in (auth.new_password), then enrols an
    authenticator, so what the operator saw opens nothing for long."""
    problems = _login_problems(role, login) + _text_problems("name", name)
    if email is not None:
        try:
            email = email_validator.validate_email(email.strip(), check_deliverability=False).normalized
        except email_validator.EmailNotValidError:
            problems.append(f"Not an e-mail address: {email.strip()!r}.")
    if role == Role.DOCTOR:
        problems += _text_problems("specialty", specialty)
    if problems:
        raise AccountRefused(*problems)
    taken = _taken(role, login)
    if taken:
        raise AccountRefused(taken)
    account = accounts.create(role, login)
    if role == Role.DOCTOR:
        db.session.add(Doctor(provider_code=login, name=name, specialty=specialty,
                              is_digital_participant=is_digital, email=email, account=account))
    else:
        db.session.add(CnsStaff(staff_id=login, name=name, fund_scope=fund, email=email, account=account))
    password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    accounts.set_password(account, password, method="operator", temporary=True)
    return account, password


def unlock(login: str) -> bool:
    """Clear an account's failures and lock; False when there was nothing to clear."""
    account = signin.find_account(login)  # the login as sign-in reads it
    if account is None or account.credential is None:
        raise AccountRefused(f"No account has the login {login.strip()!r}.")
    credential = account.credential
    if not credential.failed_attempts and credential.locked_until is None:
        return False
    audit.record(audit.ACCOUNT_UNLOCKED, actor=None, account_id=account.id, failures=credential.failed_attempts or 0)
    credential.failed_attempts = 0
    credential.locked_until = None
    return True


def reset_password(login: str) -> str:
    """A new temporary password for a doctor's or staff member's account; returns it to hand over.

    The person must replace it at the next sign-in (after their code), and every session of the
    account ends now: whoever held one, or the old password, is out."""
    account = signin.find_account(login)
    if account is None or account.credential is None:
        raise AccountRefused(f"No account has the login {login.strip()!r}.")
    if account.role not in (Role.DOCTOR, Role.CNS):
        # A patient proves who they are to their doctor, who issues a new activation code.
        raise AccountRefused("Patient accounts are not reset by an operator: the patient asks their "
                             "doctor for a new activation code.")
    password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    accounts.set_password(account, password, method="operator_reset", temporary=True)
    ended = sessions.end_all(account.id, "password")
    account.credential.failed_attempts = 0
    account.credential.locked_until = None
    audit.record(audit.ACCOUNT_PASSWORD_RESET, actor=None, account_id=account.id, sessions=ended)
    return password


# --- Suspension, deactivation and administration ----------------------------------------------------
# (`flask --app app accounts suspend | resume | deactivate | grant-admin | revoke-admin`; the staff
# administration page calls the same functions, so both paths keep one set of rules.)

REASON_LENGTH = 200  # AccountBlock.reason


def reason_problems(reason: str) -> list[str]:
    if not reason.strip():
        return ["The reason is empty: say why, for whoever reads the list of blocks later."]
    if CONTROL_CHARACTERS.search(reason) or "\n" in reason or "\r" in reason:
        return ["The reason contains a control character."]
    if len(reason) > REASON_LENGTH:
        return [f"The reason has more than {REASON_LENGTH} characters."]
    return []


def _account(login: str | Account) -> Account:
    """The staff page passes the account it shows; an operator types a login."""
    if isinstance(login, Account):
        return login
    account = signin.find_account(login)
    if account is None:
        raise AccountRefused(f"No account has the login {login.strip()!r}.")
    return account


def suspend(login: str | Account, reason: str, *, source: str = "operator", by: Account | None = None) -> bool:
    """Block the account at once (every session ends); False when a block was already in force."""

    problems = reason_problems(reason)
    if problems:
        raise AccountRefused(*problems)
    account = _account(login)
    if account.status == AccountStatus.CLOSED:
        raise AccountRefused(f"The account {account.login} is closed: there is nothing to block.")
    if blocking.current_block(account) is not None:
        return False
    blocking.block(account, source=source, reason=reason.strip(), by=by)
    security_alerts.announce(account, accounts.profile(account) if account.role == Role.PATIENT else None,
                             "suspended")
    return True


def resume(login: str | Account, reason: str, *, by: Account | None = None) -> bool:
    """Lift the block in force; False when there was none."""

    problems = reason_problems(reason)
    if problems:
        raise AccountRefused(*problems)
    return blocking.unblock(_account(login), reason=reason.strip(), by=by)


def deactivate(login: str | Account, reason: str, *, by: Account | None = None) -> tuple[int, int]:
    """Close a doctor's or agent's account for good; returns (sessions ended, codes revoked).

    What they issued stays: patients keep the invoices already issued. The doctor's activation
    codes not yet redeemed are revoked, since the doctor who vouched for them is gone."""

    problems = reason_problems(reason)
    if problems:
        raise AccountRefused(*problems)
    account = _account(login)
    if account.role not in (Role.DOCTOR, Role.CNS):
        raise AccountRefused("Only doctor and CNS staff accounts are deactivated; a patient erases their "
                             "own account, or is blocked.")
    if account.status == AccountStatus.CLOSED:
        raise AccountRefused(f"The account {account.login} is already closed.")
    if blocking.current_block(account) is not None:
        blocking.unblock(account, reason=f"deactivated: {reason.strip()}", by=by)
    account.status, account.closed_at = AccountStatus.CLOSED, clock.now()
    ended = sessions.end_all(account.id, "closed")
    revoked = 0
    profile = accounts.profile(account)
    if isinstance(profile, Doctor):
        pending = db.session.scalars(db.select(ActivationCode).where(ActivationCode.doctor_id == profile.id))
        revoked = sum(codes.revoke(code, "deactivated") for code in pending)
    if isinstance(profile, CnsStaff) and profile.is_administrator:
        profile.is_administrator = False
        audit.record(audit.ADMINISTRATOR_REVOKED, actor=by, account_id=account.id)
    audit.record(audit.ACCOUNT_DEACTIVATED, actor=by, account_id=account.id,
                 by="staff" if by is not None else "operator", sessions=ended, codes=revoked)
    return ended, revoked


def set_administrator(login: str, granted: bool) -> bool:
    """Grant or withdraw a CNS agent's administration; False when it was already so.

    Only agents whose scope is CNS itself: an agent of CMFEP, CMFEC or EMCFL sees only that
    fund's claims and never administers the portal for everyone."""
    account = _account(login)
    staff = accounts.profile(account) if account.role == Role.CNS else None
    if not isinstance(staff, CnsStaff):
        raise AccountRefused(f"{account.login} is not a CNS staff account: only CNS agents administer.")
    if granted and staff.fund_scope != Fund.CNS:
        raise AccountRefused(f"{account.login} works for {staff.fund_scope}: only agents of the CNS itself "
                             "may be administrators.")
    if granted and account.status == AccountStatus.CLOSED:
        raise AccountRefused(f"The account {account.login} is closed.")
    if staff.is_administrator == granted:
        return False
    staff.is_administrator = granted
    audit.record(audit.ADMINISTRATOR_GRANTED if granted else audit.ADMINISTRATOR_REVOKED,
                 actor=None, account_id=account.id)
    return True
