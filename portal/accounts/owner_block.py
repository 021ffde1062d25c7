""""Block my account": the owner of a lost phone or a stolen password stops every use of the
account at once, before they can reach anyone.

The person types their login (the matricule) and then a code the portal sends to the contact
the insurance register holds. Whoever types a login cannot choose where the code goes, so a
stranger cannot block someone else's account; and the page says the same whatever the login, so
it cannot be used to learn which matricules have an account. Doctors and staff get the same
neutral answer and nothing is sent: they call their administrator, who blocks from
/cns/admin/accounts. The code is bound to a random secret of this browser's flow (kept in its
signed cookie), like the forgotten-password path.
"""

from __future__ import annotations

from datetime import timedelta

from flask import session

from portal import accounts
from portal.accounts import blocking, contact_codes, signin
from portal.core import clock
from portal.extensions import db
from portal.models import AccountStatus, ContactCode, Patient, Role

PENDING = "block"
# One code per person per minute, whoever asks: the page cannot be used to flood someone's phone.
RESEND_AFTER = timedelta(minutes=1)
REASON = "Blocked by the owner with a code sent to the register's contact."


def begin(login: str, *, language: str) -> None:
    """Start a flow for `login`; a code goes out only when the login is a patient's account the
    register can reach. Nothing returned: the caller answers the same either way. The caller commits."""
    # The login as typed, not the account: the cookie is signed, not secret, and must not say
    # whether the login exists.
    bound_to = contact_codes.wait_in_browser(PENDING, login=login)
    patient = _patient(login)
    if patient is None or _sent_recently(patient):
        return
    contact_codes.send(patient, "block", bound_to=bound_to, language=patient.account.preferred_language or language)


def pending() -> bool:
    return contact_codes.waiting_in_browser(PENDING) is not None


def finish(code: str) -> bool:
    """Block the account when `code` is the one sent for this flow; False changes nothing but the
    code's tries. Every session of the account ends. The caller commits."""
    if not pending():
        return False
    step = session[PENDING]
    row = contact_codes.check("block", bound_to=contact_codes.binding_in_browser(PENDING), code=code)
    patient = _patient(step["login"])
    if row is None or patient is None or row.patient_id != patient.id:
        return False
    session.pop(PENDING, None)
    blocking.block(patient.account, source="owner", reason=REASON)
    return True


def _patient(login: str) -> Patient | None:
    account = signin.find_account(login)
    if account is None or account.role != Role.PATIENT:
        return None
    if account.status in (AccountStatus.CLOSED, AccountStatus.BLOCKED, AccountStatus.PENDING):
        return None  # nothing to block, or already blocked
    patient = accounts.profile(account)
    if patient is None or contact_codes.channel_for(patient) is None:
        return None
    return patient


def _sent_recently(patient: Patient) -> bool:
    return db.session.scalar(
        db.select(ContactCode.id).where(ContactCode.patient_id == patient.id, ContactCode.purpose == "block",
                                        ContactCode.created_at > clock.now() - RESEND_AFTER).limit(1)
    ) is not None
