"""Direct immediate payment: at the practice the patient pays only the statutory participation
(nothing under 18) and the fund pays the rest to the doctor. The rules live here, once: who may
use it (a participating doctor with a bank account, an insured person covered on the date of
service, acts the nomenclature marks as eligible, the patient paying), how an invoice's amount is
split (the reimbursement of portal/claims/reimbursement.py, same rate and rounding), and the
doctor's claim that issuing creates at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.accounts import security_alerts
from portal.claims import reimbursement, states
from portal.core import clock
from portal.extensions import db
from portal.models import Act, Channel, Claim, ClaimEvent, ClaimState, Doctor, Invoice, Patient

# Who agreed at the practice, and how: kept with the invoice (Invoice.direct_consent_*).
CONSENT_BY = ("patient", "guardian")
CONSENT_METHODS = ("signed", "oral")

NOT_PARTICIPATING = _l("You do not take part in digital invoicing, so the fund cannot pay you directly.")
NO_DOCTOR_IBAN = _l("Record your bank account first: the fund pays direct payments into it.")
NOT_COVERED = _l("The register does not show this person as insured on the date of service.")
NOT_THE_PAYER = _l("Direct payment needs an invoice paid at the practice by the patient.")
PAPER_PREFERRED = _l("The patient prefers a paper invoice: there is no direct payment on paper.")
NO_CONSENT = _l("Record who agreed to direct payment and how.")


@dataclass(frozen=True)
class LineSplit:
    code: str
    quantity: int
    total_cents: int
    fund_cents: int  # what the fund pays the doctor
    patient_cents: int  # what the patient pays at the practice: the statutory participation


@dataclass(frozen=True)
class Split:
    lines: list[LineSplit]
    total_cents: int
    fund_cents: int
    patient_cents: int
    is_minor: bool
    rate_percent: int


def split(patient: Patient, service_date: date, lines: list[tuple[str, int, int]]) -> Split:
    """`lines` are (act code, quantity, unit fee in cents), as for reimbursement.reimbursement."""
    amounts = reimbursement.reimbursement(patient, service_date, lines)
    parts = [LineSplit(a.code, a.quantity, a.total_cents, a.reimbursed_cents, a.total_cents - a.reimbursed_cents)
             for a in amounts.lines]
    return Split(parts, amounts.total_cents, amounts.reimbursed_cents, amounts.personal_share_cents,
                 amounts.is_minor, amounts.rate_percent)


def split_of(invoice: Invoice) -> Split:
    patient = invoice.patient or Patient(birth_date=reimbursement.birth_date_of(invoice))  # transient, never added
    return split(patient, invoice.service_date,
                 [(line.act_code, line.quantity, line.unit_fee_cents) for line in invoice.lines])


def is_covered(patient: Patient, day: date) -> bool:
    """Insured on `day` by the register's coverage period; no period recorded is no coverage."""
    if patient.covered_from is None or day < patient.covered_from:
        return False
    return patient.covered_until is None or day <= patient.covered_until


@dataclass(frozen=True)
class Obstacle:
    key: str  # doctor, doctor_iban, not_covered, act, payer, paper
    message: object  # a lazy string, worded in the reader's language when shown


def obstacles(doctor: Doctor, patient: Patient | None, service_date: date | None, acts: list[Act], *,
              paid_on_site: bool = True, payer_is_patient: bool = True,
              prefers_paper: bool = False) -> list[Obstacle]:
    """Every reason this invoice cannot be paid directly; empty when it can."""
    found = []
    if not doctor.is_digital_participant:
        found.append(Obstacle("doctor", NOT_PARTICIPATING))
    elif not doctor.iban:
        found.append(Obstacle("doctor_iban", NO_DOCTOR_IBAN))
    if prefers_paper:
        found.append(Obstacle("paper", PAPER_PREFERRED))
    if not paid_on_site or not payer_is_patient:
        found.append(Obstacle("payer", NOT_THE_PAYER))
    if patient is not None and service_date is not None and not is_covered(patient, service_date):
        found.append(Obstacle("not_covered", NOT_COVERED))
    for code in sorted({act.code for act in acts if not act.is_direct_payment_eligible}):
        found.append(Obstacle("act", _l("Act %(code)s is not paid directly by the fund.", code=code)))
    return found


# --- The doctor's claim -----------------------------------------------------------------------


def submit(invoice: Invoice, *, consent_by: str, consent_method: str) -> Claim:
    """The fund's claim for a direct-payment invoice, created as it is issued: it comes from the
    doctor, is paid into the doctor's account, and the patient has nothing to share."""
    now = clock.now()
    invoice.is_direct_payment = True
    invoice.direct_consent_by, invoice.direct_consent_method, invoice.direct_consent_at = (
        consent_by, consent_method, now)
    claim, created = states.new_claim(invoice.patient, invoice, channel=Channel.DIGITAL, direct_payment=True)
    if created:
        states.add_event(claim, ClaimEvent(kind="direct_submitted", at=now, actor_role="doctor"))
        audit.record(audit.CLAIM_DIRECT_SUBMITTED, patient_id=invoice.patient_id, claim_id=claim.id,
                     invoice_id=invoice.id, consent_by=consent_by, consent_method=consent_method)
    return claim


def may_void(invoice: Invoice, claim: Claim | None) -> bool:
    """A direct-payment invoice may be voided while no agent has taken its claim up: voiding
    withdraws the claim, and the corrected invoice makes a new one."""
    return claim is None or claim.state == ClaimState.SHARED


def withdraw_with(invoice: Invoice) -> None:
    """Voiding a direct-payment invoice withdraws its claim (still untouched: see may_void)."""
    claim = states.active_claim_of(invoice.id)
    if claim is None:
        return
    now = clock.now()
    states.move(claim, (ClaimState.SHARED,), {"state": ClaimState.WITHDRAWN, "withdrawn_at": now})
    states.add_event(claim, ClaimEvent(kind="voided", at=now, actor_role="doctor"))
    audit.record(audit.CLAIM_WITHDRAWN, patient_id=invoice.patient_id, claim_id=claim.id)


def set_doctor_iban(doctor: Doctor, iban: str, *, by) -> None:
    """Record where the fund pays the doctor (already validated by the form, after step-up)."""
    if doctor.iban != iban:
        doctor.iban = iban
        # Direct payments to an account this new wait for staff to check it (review.iban_is_new).
        doctor.iban_changed_at = clock.now()
        audit.record(audit.DOCTOR_BANK_ACCOUNT_CHANGED, actor=by)
        security_alerts.announce(by, None, "bank_account_changed")


def claims_of(doctor_id: int):
    """The doctor's direct-payment claims, newest first (the payments page reads them)."""
    return db.select(Claim).where(Claim.doctor_id == doctor_id, Claim.is_direct_payment.is_(True))
