"""Doctor and CNS staff accounts an operator creates and unlocks (`flask --app app accounts …`)."""

from __future__ import annotations

import re
import secrets

from portal import accounts, audit
from portal.auth import signin
from portal.extensions import db
from portal.forms import CONTROL_CHARACTERS
from portal.models import Account, CnsStaff, Doctor, Role
from portal.refused import Refused

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


def create(role: Role, login: str, *, name: str, specialty: str, is_digital: bool, fund: str) -> tuple[Account, str]:
    """A pending account with a one-time password; returns it with the password to hand over.

    The person replaces that password at first sign-in (auth.new_password), then enrols an
    authenticator, so what the operator saw opens nothing for long."""
    problems = _login_problems(role, login) + _text_problems("name", name)
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
                              is_digital_participant=is_digital, account=account))
    else:
        db.session.add(CnsStaff(staff_id=login, name=name, fund_scope=fund, account=account))
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
