"""What the fund pays back for an invoice, and what the patient keeps paying: the statutory
rate on the date of service (every insured person under 18 is reimbursed in full), applied line
by line and rounded to the cent, half up. Views, PDFs, claims and exports all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from portal.core import identity
from portal.core.identity import is_minor
from portal.models import Invoice, Patient

ADULT_RATE = Decimal("0.88")  # outpatient doctor acts, insured persons of 18 and over


MINOR_RATE = Decimal("1.00")  # insured persons under 18 on the date of service


def rate_for(patient: Patient, service_date: date) -> Decimal:
    return MINOR_RATE if is_minor(patient, service_date) else ADULT_RATE


def _share(cents: int, rate: Decimal) -> int:
    return int((Decimal(cents) * rate).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class LineAmounts:
    code: str
    quantity: int
    unit_fee_cents: int
    total_cents: int
    reimbursed_cents: int


@dataclass(frozen=True)
class Reimbursement:
    """What the fund is expected to pay back and what the patient keeps paying."""

    rate: Decimal
    is_minor: bool
    lines: list[LineAmounts]
    total_cents: int
    reimbursed_cents: int

    @property
    def personal_share_cents(self) -> int:
        return self.total_cents - self.reimbursed_cents

    @property
    def rate_percent(self) -> int:
        return int(self.rate * 100)


def reimbursement(patient: Patient, service_date: date, lines: list[tuple[str, int, int]]) -> Reimbursement:
    """`lines` are (act code, quantity, unit fee in cents); views, PDFs and claims call this."""
    rate = rate_for(patient, service_date)
    amounts = []
    for code, quantity, unit in lines:
        total = unit * quantity
        amounts.append(LineAmounts(code, quantity, unit, total, _share(total, rate)))
    return Reimbursement(
        rate=rate,
        is_minor=rate == MINOR_RATE,
        lines=amounts,
        total_cents=sum(a.total_cents for a in amounts),
        reimbursed_cents=sum(a.reimbursed_cents for a in amounts),
    )


def reimbursed_cents(patient: Patient, service_date: date, line_totals: list[int]) -> int:
    """What `reimbursement` pays back for lines of these amounts, for a list that shows only that."""
    rate = rate_for(patient, service_date)
    return sum(_share(total, rate) for total in line_totals)


def birth_date_of(invoice: Invoice) -> date:
    # A kept invoice of an erased patient has no patient: the matricule printed on it holds the birth date.
    return invoice.patient.birth_date if invoice.patient else identity.matricule_birth_date(invoice.patient_matricule)


def reimbursement_of(invoice: Invoice) -> Reimbursement:
    patient = invoice.patient or Patient(birth_date=birth_date_of(invoice))  # transient, never added
    return reimbursement(
        patient, invoice.service_date, [(line.act_code, line.quantity, line.unit_fee_cents) for line in invoice.lines]
    )
