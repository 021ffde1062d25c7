"""A forgotten password, for patients: two factors beyond the login.

Doctors' logins are printed on their invoices, so the login proves nothing, and one stolen
phone (its authenticator) must not be enough either. The patient gives a current authenticator
code (or a recovery code), and then a code sent to a contact the insurance register holds: the
SIM or the mailbox, which a thief of the phone's apps does not have. Doctors and CNS staff are
reset by an operator only (portal.professionals.operators.reset_password).

The second code is bound to a random secret this browser's flow keeps in its (signed) cookie;
the code is checked and the password set in one request, and the code is used up then, so a
copy of the cookie taken before that step, replayed later, finds no code to type.
"""

from __future__ import annotations

from flask import session

from portal import accounts, audit
from portal.accounts import contact_codes, security_alerts, sessions, signin
from portal.extensions import db
from portal.models import Account, Patient, Role

PENDING = "reset"

SENT, NO_CONTACT, FAILED = "sent", "no_contact", "failed"


def _patient_of(account: Account) -> Patient | None:
    return accounts.profile(account)  # a patient's: only patients reach a reset


def begin(login: str, code: str, *, language: str) -> str:
    """The first factor; when it is right, a code goes to the register's contact.

    Returns SENT, NO_CONTACT (the way back is a new activation) or FAILED. The caller commits."""
    session.pop(PENDING, None)
    account = signin.find_account(login)
    if account is not None and account.role != Role.PATIENT:
        # Nothing is checked, so nothing is used up: the page tells staff to ask an operator.
        audit.record(audit.SIGNIN_FAILED, actor=account, stage="reset", reason="operator_only")
        return FAILED
    account = signin.check_second_factor(login, code)
    if account is None:
        return FAILED
    patient = _patient_of(account)
    if patient is None or contact_codes.channel_for(patient) is None:
        return NO_CONTACT
    bound_to = contact_codes.wait_in_browser(PENDING, account=account.id)
    contact_codes.send(patient, "reset", bound_to=bound_to, language=account.preferred_language or language)
    return SENT


def pending() -> tuple[Account, Patient] | None:
    """The account whose reset this browser began, while the code can still arrive."""
    step = contact_codes.waiting_in_browser(PENDING)
    if not step:
        return None
    account = db.session.get(Account, step["account"])
    patient = _patient_of(account) if account is not None else None
    return (account, patient) if patient is not None else None


def destination() -> str:
    found = pending()
    return contact_codes.masked_destination(found[1]) if found else ""


def finish(code: str, new_password: str) -> bool:
    """The second factor and the new password together; False changes nothing but the code's tries.

    On success every session ends and the owner is told on every register contact. The caller commits."""
    found = pending()
    if found is None:
        return False
    account, patient = found
    row = contact_codes.check("reset", bound_to=contact_codes.binding_in_browser(PENDING), code=code)
    if row is None or row.patient_id != patient.id:
        return False
    session.pop(PENDING, None)
    accounts.set_password(account, new_password, method="reset")
    ended = sessions.end_all(account.id, "password")
    audit.record(audit.SESSIONS_REVOKED, actor=account, count=ended, scope="all")
    account.credential.failed_attempts = 0
    account.credential.locked_until = None
    security_alerts.announce(account, patient, "password_reset")
    return True
