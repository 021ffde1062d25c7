"""Demo data: fixed accounts a newcomer can sign in with. Never in production."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal import accounts
from portal.accounts import terms, totp
from portal.claims import qr, review, sharing, states
from portal.core import clock
from portal.core.identity import make_iban, make_matricule
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.invoicing import invoices, nomenclature
from portal.models import (
    Account,
    AccountStatus,
    CnsStaff,
    Credential,
    Doctor,
    Fund,
    GuardianLink,
    HelpCategory,
    HelpRequest,
    Invoice,
    Patient,
    RegistryGuardian,
    Role,
)


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    login: str
    password: str
    name: str


def demo_secret(login: str) -> str:
    # Deterministic so that running the command twice prints the same secrets.
    return base64.b32encode(hashlib.sha256(f"demo-totp:{login}".encode()).digest()[:20]).decode()


PATIENTS = [
    # (given name, surname, birth date, serial, fund, mobile, has account)
    ("Anne", "Schmit", date(1985, 3, 14), 123, Fund.CNS, "+352621000101", True),
    ("Léa", "Schmit", date(2015, 6, 2), 211, Fund.CNS, None, False),
    ("Paul", "Muller", date(1962, 11, 30), 317, Fund.CMFEP, "+352621000103", True),
    ("Sophie", "Reding", date(1990, 7, 21), 452, Fund.CMFEC, "+352621000104", False),
    ("Luc", "Thill", date(1978, 1, 5), 538, Fund.EMCFL, "+352621000105", False),
]
DOCTORS = [
    ("90000011", "Dr Claire Weber", "General practice", True),
    ("90000029", "Dr Marc Hoffmann", "Dentistry", False),
]
STAFF = [("CNS0001", "Agent Nora Kieffer", Fund.CNS), ("CMFEP001", "Agent Jean Faber", Fund.CMFEP)]


def _patient(given, surname, birth, serial, fund, mobile, index) -> Patient:
    matricule = make_matricule(birth, serial)
    person = db.session.scalar(db.select(Patient).where(Patient.matricule == matricule)) or Patient(matricule=matricule)
    person.given_name, person.surname, person.birth_date = given, surname, birth
    person.fund, person.mobile = fund, mobile
    person.iban = make_iban("LU", f"001{index:013d}")
    person.covered_from = birth  # insured since birth: direct payment checks the date of service against it
    db.session.add(person)
    return person


def _account(role: Role, login: str, password: str) -> Account:
    account = db.session.scalar(db.select(Account).where(Account.login == login))
    if account is None:
        account = accounts.create(role, login, is_demo=True)
    elif not account.is_demo:
        raise RuntimeError(f"{login} exists and is not a demo account; refusing to touch it")
    if account.credential is None:
        account.credential = Credential()
    account.status = AccountStatus.ACTIVE
    account.credential.failed_attempts = 0
    account.credential.locked_until = None
    accounts.set_password(account, password, method="demo")
    account.credential.totp_secret = totp.encrypt(demo_secret(login))
    account.credential.totp_enrolled_at = account.credential.totp_enrolled_at or account.created_at
    account.credential.totp_last_step = None
    return account


def _link_child() -> None:
    """The register names Anne as her daughter Léa's guardian, and Anne holds Léa's space,
    as a parent who activated a child's code would."""

    mother, child = (
        db.session.scalar(db.select(Patient).where(Patient.matricule == make_matricule(*PATIENTS[i][2:4])))
        for i in (0, 1)
    )
    linked = db.session.scalar(db.select(GuardianLink).where(
        GuardianLink.parent_account_id == mother.account_id, GuardianLink.child_patient_id == child.id,
        GuardianLink.ended_at.is_(None),
    ))
    if linked is None:
        db.session.add(GuardianLink(parent_account_id=mother.account_id, child_patient_id=child.id))
    if not db.session.scalar(db.select(RegistryGuardian.id).where(
        RegistryGuardian.child_patient_id == child.id, RegistryGuardian.guardian_patient_id == mother.id,
    )):
        db.session.add(RegistryGuardian(child_patient_id=child.id, guardian_patient_id=mother.id, source="registry"))


def seed() -> list[DemoAccount]:
    """Create or reset the demo data; safe to run again."""
    created: list[DemoAccount] = []
    for index, (given, surname, birth, serial, fund, mobile, has_account) in enumerate(PATIENTS, 1):
        person = _patient(given, surname, birth, serial, fund, mobile, index)
        if has_account:
            password = f"demo-garden-lantern-{index}"
            person.account = _account(Role.PATIENT, person.matricule, password)
            created.append(DemoAccount(Role.PATIENT, person.matricule, password, person.full_name))
    for code, name, specialty, digital in DOCTORS:
        doctor = db.session.scalar(db.select(Doctor).where(Doctor.provider_code == code)) or Doctor(provider_code=code)
        doctor.name, doctor.specialty, doctor.is_digital_participant = name, specialty, digital
        # A participating doctor's practice account: the fund pays direct payments into it.
        doctor.iban = make_iban("LU", f"009{int(code):013d}") if digital else None
        password = f"surgery-demo-lamp-{code[-2:]}"
        doctor.account = _account(Role.DOCTOR, code, password)
        db.session.add(doctor)
        created.append(DemoAccount(Role.DOCTOR, code, password, name))
    for number, (staff_id, name, scope) in enumerate(STAFF, 1):
        staff = db.session.scalar(db.select(CnsStaff).where(CnsStaff.staff_id == staff_id)) or CnsStaff(
            staff_id=staff_id
        )
        staff.name, staff.fund_scope = name, scope
        # The CNS agent administers (publishes terms, blocks accounts); another fund's never does.
        staff.is_administrator = scope == Fund.CNS
        password = f"review-demo-desk-{number}"
        staff.account = _account(Role.CNS, staff_id, password)
        db.session.add(staff)
        created.append(DemoAccount(Role.CNS, staff_id, password, name))
    if terms.current_version() is None:
        terms.publish(terms.bundled_texts(1))
    db.session.flush()
    _link_child()
    _invoices()
    _help_message()
    db.session.commit()
    return created


def _help_message() -> None:
    """Anne wrote to the fund a week ago and was answered the next day, so the help desk shows a
    message with its answer on both sides. Written once: a second run finds it."""
    anne = db.session.scalar(db.select(Patient).where(Patient.matricule == make_matricule(*PATIENTS[0][2:4])))
    if db.session.scalar(db.select(HelpRequest.id).where(HelpRequest.patient_id == anne.id).limit(1)):
        return
    staff = db.session.scalar(db.select(CnsStaff).where(CnsStaff.staff_id == STAFF[0][0]))
    written = datetime.combine(clock.today() - timedelta(days=7), time(9, 15), tzinfo=clock.UTC)
    try:
        clock.freeze(written)
        filed = helpdesk.file(HelpCategory.CLAIM, "I posted a paper invoice to the fund several weeks ago. "
                              "Has it arrived?", account=anne.account, patient=anne, language="en")
        clock.freeze(written + timedelta(days=1, hours=5))
        helpdesk.reply(filed, staff, "Yes, it arrived and an agent is reviewing it. You can follow it under "
                       "\"My claims\"; we write to you once it is decided.")
    finally:
        clock.freeze(None)


# (patient index in PATIENTS, doctor code, days ago, acts, paid on site, payer is patient, then)
# "then" is what happened next: void, expired, or the state of the claim the patient made.
DEMO_INVOICES = [
    (0, "90000011", 3, [("C1", 1)], True, True, None),
    (0, "90000011", 8, [("C1", 1)], True, True, "shared"),
    (0, "90000011", 20, [("C1", 1), ("K1", 1)], True, True, "accepted"),
    (0, "90000011", 30, [("C2", 1)], True, True, "info_requested"),
    (0, "90000011", 45, [("V1", 1)], False, True, "paper_received"),
    (0, "90000011", 50, [("C1", 1), ("K2", 1)], True, True, "rejected"),
    (0, "90000011", 60, [("C2", 1)], True, False, None),
    (0, "90000011", 70, [("C1", 1)], True, True, "withdrawn"),
    (0, "90000011", 80, [("C1", 1)], True, True, "in_review"),
    (0, "90000011", 90, [("C1", 1)], True, True, "void"),
    (1, "90000011", 10, [("C42", 1)], True, True, "accepted"),
    (1, "90000011", 2, [("C42", 1)], True, True, "auto"),
    (2, "90000011", 5, [("C41", 1), ("K2", 1)], True, True, "shared"),
    (0, "90000029", 15, [("DC1", 1), ("DT1", 1)], True, True, None),
    (0, "90000011", 740, [("C1", 1)], True, True, "expired"),
    # Direct payment: the patient paid only their share, the doctor's claim paid or waiting;
    # and a patient who preferred a paper invoice with its QR code.
    (0, "90000011", 12, [("C1", 1)], True, True, "direct_accepted"),
    (0, "90000011", 1, [("C2", 1)], True, True, "direct"),
    (1, "90000011", 6, [("C42", 1)], True, True, "direct_accepted"),
    (0, "90000011", 4, [("C1", 1)], True, True, "paper_preferred"),
]
DIRECT = {"direct": "direct", "direct_accepted": "direct", "paper_preferred": "paper"}


def _invoices() -> None:
    """Invoices and claims of every kind and state for the demo patients, created once.

    The clock is set back to each date in turn, so that timelines read like real ones.
    """


    if db.session.scalar(db.select(db.func.count()).select_from(Invoice)):
        return
    staff = db.session.scalar(db.select(CnsStaff).where(CnsStaff.staff_id == STAFF[0][0]))
    today = clock.today()
    try:
        for index, code, days_ago, acts, paid, payer, then in DEMO_INVOICES:
            given, surname, birth, serial = PATIENTS[index][:4]
            patient = db.session.scalar(db.select(Patient).where(Patient.matricule == make_matricule(birth, serial)))
            doctor = db.session.scalar(db.select(Doctor).where(Doctor.provider_code == code))
            service = today - timedelta(days=days_ago)
            clock.freeze(datetime.combine(service, time(10, 30), tzinfo=clock.UTC))
            patient.is_auto_share = then == "auto"
            draft = invoices.Draft(patient=patient, service_date=service, paid_on_site=paid, payer_is_patient=payer,
                                   lines=[(nomenclature.act_on(act, service), qty) for act, qty in acts],
                                   settlement=DIRECT.get(then, "full"), consent_by="patient", consent_method="signed")
            invoice = invoices.issue(doctor, draft)
            if then == "direct_accepted":
                _decide_direct(invoice, staff)
            elif then == "void":
                invoices.void(invoice, "Wrong act code; a corrected invoice follows.")
            elif then not in (None, "expired", "auto", *DIRECT):
                _claim(invoice, patient, staff, then)
    finally:
        clock.freeze(None)


def _decide_direct(invoice, staff: CnsStaff) -> None:
    """The fund accepts a doctor's direct-payment claim a day later: the doctor is paid."""
    clock.freeze(clock.now() + timedelta(days=1))
    claim = states.active_claim_of(invoice.id)
    review.take_up(claim, staff)
    review.accept(claim, staff, version=claim.version)


def _claim(invoice, patient: Patient, staff: CnsStaff, state: str) -> None:
    """Walk one claim to `state` through the same steps patients and agents take."""


    def later(**delta) -> None:
        clock.freeze(clock.now() + timedelta(**delta))

    later(hours=5)
    if state == "paper_received":
        claim, _ = review.intake_paper(qr.qr_payload(invoice), staff)
        later(days=2)
        review.take_up(claim, staff)
        return
    (claim,) = sharing.share(patient, [invoice], by=patient.account)
    if state == "shared":
        return
    if state == "withdrawn":
        later(hours=20)
        sharing.withdraw(claim, by=patient.account)
        return
    later(days=1, hours=3)
    review.take_up(claim, staff)
    if state == "info_requested":
        later(hours=2)
        review.request_info(claim, staff, "Please tell us whether this consultation followed an accident.",
                            version=claim.version)
    elif state == "accepted":
        later(hours=1)
        review.accept(claim, staff, version=claim.version)
    elif state == "rejected":
        later(hours=4)
        review.reject(claim, staff, version=claim.version, reason="duplicate",
                      note="The same consultation was already reimbursed on paper.")
