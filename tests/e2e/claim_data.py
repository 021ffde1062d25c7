"""Invoices and claims made straight in the live server's database, through the same domain
functions the pages call: the starting points of the claims stories, without replaying
every earlier step in a browser. Each helper makes new records; demo claims are only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portal.claims import qr, review, sharing, states
from portal.core import clock
from portal.core.identity import make_matricule
from portal.demo import PATIENTS, STAFF
from portal.extensions import db
from portal.invoicing import invoices, nomenclature
from portal.models import Claim, CnsStaff, Doctor, Invoice, Patient

ANNE, LEA, PAUL = (make_matricule(birth, serial) for _, _, birth, serial, *_ in PATIENTS[:3])
LUC = make_matricule(date(1978, 1, 5), 538)  # in the registry, no account: nobody signs in as him
DIGITAL_DOCTOR, PAPER_DOCTOR = "90000011", "90000029"
CNS_AGENT, CMFEP_AGENT = (staff_id for staff_id, *_ in STAFF)


@dataclass(frozen=True)
class Made:
    id: int
    number: str  # the invoice number, or the claim reference


def _patient(matricule: str) -> Patient:
    return db.session.scalar(db.select(Patient).where(Patient.matricule == matricule))


def _staff(staff_id: str) -> CnsStaff:
    return db.session.scalar(db.select(CnsStaff).where(CnsStaff.staff_id == staff_id))


def _issue(matricule: str, *, paid_on_site: bool, acts) -> Invoice:
    doctor = db.session.scalar(db.select(Doctor).where(Doctor.provider_code == DIGITAL_DOCTOR))
    today = clock.today()
    draft = invoices.Draft(patient=_patient(matricule), service_date=today, paid_on_site=paid_on_site,
                           lines=[(nomenclature.act_on(code, today), quantity) for code, quantity in acts])
    return invoices.issue(doctor, draft)


def issue_invoice(app, matricule: str, *, paid_on_site: bool = True, acts=(("C1", 1),)) -> Made:
    """A new invoice of doctor 90000011, dated today (paid elsewhere: a paper one with a QR code)."""
    with app.app_context():
        invoice = _issue(matricule, paid_on_site=paid_on_site, acts=acts)
        db.session.commit()
        return Made(invoice.id, invoice.number)


def claim_in_review(app, matricule: str = ANNE, staff_id: str = CNS_AGENT) -> Made:
    """A new invoice, shared by its patient and taken up by the agent: ready for a decision."""
    with app.app_context():
        patient = _patient(matricule)
        (claim,) = sharing.share(patient, [_issue(matricule, paid_on_site=True, acts=(("C1", 1),))],
                                by=patient.account)
        review.take_up(claim, _staff(staff_id))
        db.session.commit()
        return Made(claim.id, claim.reference)


def qr_payload(app, invoice_id: int) -> str:
    """What a hand scanner types when it reads the QR code printed on the invoice."""
    with app.app_context():
        return qr.qr_payload(db.session.get(Invoice, invoice_id))


def claim_of_invoice(app, invoice_id: int) -> Made | None:
    with app.app_context():
        claim = states.active_claim_of(invoice_id)
        return None if claim is None else Made(claim.id, claim.reference)


def invoice_of(app, claim_id: int) -> int:
    with app.app_context():
        return db.session.get(Claim, claim_id).invoice_id


def demo_claim(app, state: str, matricule: str = ANNE) -> Made:
    """The patient's oldest claim in this state: one the demo data made, as long as no test
    moves demo claims on (the tests only change claims of their own invoices)."""
    with app.app_context():
        claim = db.session.scalar(
            db.select(Claim).join(Patient, Patient.id == Claim.patient_id)
            .where(Patient.matricule == matricule, Claim.state == state).order_by(Claim.id).limit(1)
        )
        assert claim is not None, f"no {state} claim for {matricule} in the demo data"
        return Made(claim.id, claim.reference)


def shareable_invoice(app, matricule: str = ANNE) -> int:
    """The patient's oldest invoice that can still be shared (the demo has one per patient)."""
    with app.app_context():
        rows = db.session.scalars(
            db.select(Invoice).join(Patient, Patient.id == Invoice.patient_id)
            .where(Patient.matricule == matricule).order_by(Invoice.id)
        ).all()
        return next(invoice.id for invoice in rows if sharing.why_not_shareable(invoice) is None)


def report_on_new_invoice(app, matricule: str = ANNE, message: str = "The act code is not the one I had.") -> Made:
    """A new invoice the patient reported as wrong: an open report on the doctor's list."""
    with app.app_context():
        invoice = _issue(matricule, paid_on_site=True, acts=(("C1", 1),))
        sharing.report_invoice(invoice, message, by=invoice.patient.account)
        db.session.commit()
        return Made(invoice.id, invoice.number)


def voided_invoice(app, provider_code: str = DIGITAL_DOCTOR) -> int:
    """The doctor's oldest voided invoice (the demo has one), which a corrected one can replace."""
    with app.app_context():
        return db.session.scalar(
            db.select(Invoice.id).join(Doctor, Doctor.id == Invoice.doctor_id)
            .where(Doctor.provider_code == provider_code, Invoice.voided_at.is_not(None)).order_by(Invoice.id).limit(1)
        )


def shared_invoice(app, matricule: str = ANNE) -> Made:
    """A new invoice the patient shared: its claim waits in the queue (Made: the claim)."""
    with app.app_context():
        patient = _patient(matricule)
        (claim,) = sharing.share(patient, [_issue(matricule, paid_on_site=True, acts=(("C1", 1),))],
                                by=patient.account)
        db.session.commit()
        return Made(claim.id, claim.reference)


def rejected_claim(app, matricule: str = ANNE, staff_id: str = CNS_AGENT) -> Made:
    """A new claim the fund rejected: one new notice in the patient's space."""
    made = claim_in_review(app, matricule, staff_id)
    with app.app_context():
        claim = db.session.get(Claim, made.id)
        review.reject(claim, _staff(staff_id), version=claim.version, reason="duplicate")
        db.session.commit()
    return made


def invoice_count(app, matricule: str = ANNE, state: str | None = None) -> int:
    """How many of the patient's invoices their list counts, with the state filter `state`."""
    with app.app_context():
        return invoices.count(patient_id=_patient(matricule).id, filters=invoices.Filters(state=state))
