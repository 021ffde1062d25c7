"""Records for the "Manage my personal data" stories, made in the live server's database
through the portal's own functions.

Erasure deletes an account for good and withdrawal suspends it, so those stories (and any
that change a patient's contact data or language) run on a fresh patient made here, never on
a demo account the other tests use.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date

from portal import accounts
from portal.accounts import terms, totp
from portal.claims import sharing
from portal.core.identity import make_iban, make_matricule
from portal.extensions import db
from portal.models import AccountStatus, Claim, Fund, OutboxMessage, Patient, Role
from portal.privacy import rights
from tests.e2e.claim_data import _issue

PASSWORD = "quiet meadow under the long viaduct"
# A birth date per fresh patient (serial 470): no other test uses these matricules.
_day = itertools.count(1)


@dataclass
class FreshPatient:
    """A patient with an active, enrolled account that accepted the terms; what they know."""

    login: str  # the matricule
    password: str
    secret: str
    name: str
    recovery_codes: list[str] = field(default_factory=list)


class PhoneOf:
    """The shared authenticator (one code step per sign-in), for a fresh patient's secret."""

    def __init__(self, authenticator, person: FreshPatient):
        self.authenticator, self.person = authenticator, person

    def code(self, login: str, secret: str | None = None) -> str:
        return self.authenticator.code(login, self.person.secret)


def fresh_patient(app, given_name: str) -> FreshPatient:
    index = next(_day)
    birth = date(1987, 1 + (index - 1) // 28 % 12, 1 + (index - 1) % 28)
    matricule = make_matricule(birth, 470)
    with app.app_context():
        person = Patient(matricule=matricule, given_name=given_name, surname="Privacy", birth_date=birth,
                         fund=Fund.CNS, mobile="+352621470000", iban=make_iban("LU", f"0047{index:012d}"))
        account = accounts.create(Role.PATIENT, matricule)
        accounts.set_password(account, PASSWORD, method="test")
        secret = totp.new_secret()
        codes = accounts.set_authenticator(account, secret)
        account.status = AccountStatus.ACTIVE
        person.account = account
        db.session.add(person)
        db.session.flush()
        terms.decide(account, terms.current_version(), accepted=True)
        db.session.commit()
        return FreshPatient(matricule, PASSWORD, secret, person.full_name, codes)


def _patient(matricule: str) -> Patient:
    return db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))


def shared_claim(app, matricule: str) -> tuple[int, str]:
    """A new invoice of doctor 90000011, shared by the patient: (claim id, reference)."""
    with app.app_context():
        patient = _patient(matricule)
        (claim,) = sharing.share(patient, [_issue(matricule, paid_on_site=True, acts=(("C1", 1),))],
                                by=patient.account)
        db.session.commit()
        return claim.id, claim.reference


def correction_request(app, matricule: str, message: str) -> tuple[int, str]:
    """An open correction request of the patient: (request id, reference)."""
    with app.app_context():
        patient = _patient(matricule)
        filed = rights.request_correction(patient, "name", message, by=patient.account)
        db.session.commit()
        return filed.id, filed.reference


def claim_state(app, claim_id: int) -> dict:
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        return {"state": claim.state, "frozen": claim.frozen_at is not None, "patient_id": claim.patient_id,
                "retained": claim.retained_by_id is not None}


def confirmation_word(app, language: str) -> str:
    """The word the erase form asks to type, in this language (as its label shows it)."""
    from flask_babel import force_locale

    from portal.web.patient.erasure import CONFIRMATION_WORD

    with app.test_request_context(), force_locale(language):
        return str(CONFIRMATION_WORD)


def patient_exists(app, matricule: str) -> bool:
    with app.app_context():
        return _patient(matricule) is not None


def code_sent_to(app, address: str) -> str:
    """The six digits of the last code the outbox holds for this mobile number or e-mail address."""
    with app.app_context():
        body = db.session.scalars(db.select(OutboxMessage.body).where(OutboxMessage.recipient == address)
                                  .order_by(OutboxMessage.id.desc())).first()
        return re.search(r"(?<![\w-])(\d{6})(?![\w-])", body)[1]


def contact_of(app, matricule: str) -> dict:
    with app.app_context():
        patient = _patient(matricule)
        return {"mobile": patient.mobile, "email": patient.email,
                "language": patient.account.preferred_language, "status": patient.account.status}

