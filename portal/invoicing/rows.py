"""The invoice lists as read-only rows: only the columns a list shows (and its links need),
with each invoice's state, whether it can be shared and what the fund pays back worked out
once here. A list of full invoices cost more in loading objects than the page cost to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import Integer, String, bindparam, cast

from portal.claims import reimbursement, sharing
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import Doctor, Invoice, InvoiceLine, Patient


@dataclass(frozen=True, slots=True)
class PatientInvoice:
    """A line of the patient's list: `state` is invoices.state_of's key, `reason`
    sharing.why_not_shareable's (None: the patient may share it)."""

    id: int
    service_date: date
    doctor_name: str
    total_cents: int
    reimbursed_cents: int  # for direct payment, what the fund pays the doctor
    state: str
    reason: str | None
    is_direct_payment: bool


@dataclass(frozen=True, slots=True)
class DoctorInvoice:
    """A line of the doctor's list; `patient_name` is None once the patient was erased."""

    id: int
    number: str
    service_date: date
    patient_name: str | None
    channel: str
    total_cents: int
    state: str


# What state_of and why_not_shareable read, and whether a live claim holds the invoice: the
# claimed-invoice look-up is part of the list's own query.
_STATE_COLUMNS = (Invoice.voided_at, Invoice.expires_at, Invoice.channel, Invoice.is_paid_on_site,
                  Invoice.is_payer_patient, Invoice.is_direct_payment, sharing.live_claim_exists().label("claimed"))


def _page(statement, params: dict, page: int) -> tuple[list, bool]:
    offset = (max(page, 1) - 1) * invoices.PAGE_SIZE
    rows = db.session.execute(statement, {**params, "offset": offset, "limit": invoices.PAGE_SIZE + 1}).all()
    return rows[:invoices.PAGE_SIZE], len(rows) > invoices.PAGE_SIZE


def _paged(query):
    """Newest service first, one page (bound: the statement is built once per filter shape)."""
    return (query.order_by(Invoice.service_date.desc(), Invoice.id.desc())
            .offset(bindparam("offset", type_=Integer)).limit(bindparam("limit", type_=Integer)))


@cache
def _patient_statement(shape: tuple):
    return _paged(invoices.filtered(patient_id=bindparam("owner_id"), doctor_id=None, filters=invoices.bound(shape))
                  .with_only_columns(Invoice.id, Invoice.service_date, Invoice.total_cents, Doctor.name,
                                     *_STATE_COLUMNS, _LINE_TOTALS)
                  .join(Doctor, Doctor.id == Invoice.doctor_id))


def for_patient(patient: Patient, *, filters: invoices.Filters, page: int = 1) -> tuple[list[PatientInvoice], bool]:
    """One page of the patient's invoices, newest service first; returns (rows, has_next).
    One query: each row brings its lines' amounts."""
    found, has_next = _page(_patient_statement(invoices.shape_of(filters)),
                            {"owner_id": patient.id, **invoices.values_of(filters)}, page)
    rows = []
    for row in found:
        claimed = bool(row.claimed)
        rows.append(PatientInvoice(
            id=row.id, service_date=row.service_date, doctor_name=row.name, total_cents=row.total_cents,
            reimbursed_cents=reimbursement.reimbursed_cents(patient, row.service_date, _totals(row.line_totals)),
            state=invoices.state_of(row, claimed=claimed), reason=sharing.why_not_shareable(row, claimed=claimed),
            is_direct_payment=row.is_direct_payment,
        ))
    return rows, has_next


@dataclass(frozen=True, slots=True)
class ChosenInvoice:
    """An invoice the patient chose to share, as the confirmation shows it; `reason` is
    sharing.why_not_shareable's (None: it can be shared)."""

    id: int
    number: str
    service_date: date
    doctor_name: str
    total_cents: int
    reimbursed_cents: int
    reason: str | None


@cache
def chosen_statement():
    """The chosen invoices (bound as `ids`), newest service first, with what the confirmation
    shows and decides on; the caller narrows it to the patient's own (web.ownership)."""
    return (db.select(Invoice.id, Invoice.number, Invoice.service_date, Invoice.total_cents, Doctor.name,
                      *_STATE_COLUMNS, _LINE_TOTALS)
            .join(Doctor, Doctor.id == Invoice.doctor_id)
            .where(Invoice.id.in_(bindparam("ids", expanding=True)))
            .order_by(Invoice.service_date.desc(), Invoice.id.desc()))


def chosen(patient: Patient, found: list) -> list[ChosenInvoice]:
    """chosen_statement's rows as the confirmation lists them."""
    return [
        ChosenInvoice(
            id=row.id, number=row.number, service_date=row.service_date, doctor_name=row.name,
            total_cents=row.total_cents,
            reimbursed_cents=reimbursement.reimbursed_cents(patient, row.service_date, _totals(row.line_totals)),
            reason=sharing.why_not_shareable(row, claimed=bool(row.claimed)),
        )
        for row in found
    ]


# Each line's amount (fee × quantity) as "1500,3000": reading the lines apart cost a statement.
_LINE_TOTALS = (
    db.select(db.func.aggregate_strings(cast(InvoiceLine.unit_fee_cents * InvoiceLine.quantity, String), ","))
    .where(InvoiceLine.invoice_id == Invoice.id)
    .scalar_subquery().label("line_totals")
)


def _totals(joined: str | None) -> list[int]:
    return [int(amount) for amount in joined.split(",")] if joined else []


@cache
def _doctor_statement(shape: tuple):
    return _paged(invoices.filtered(patient_id=None, doctor_id=bindparam("owner_id"), filters=invoices.bound(shape))
                  .with_only_columns(Invoice.id, Invoice.number, Invoice.service_date, Invoice.total_cents,
                                     Patient.given_name, Patient.surname, *_STATE_COLUMNS)
                  .outerjoin(Patient, Patient.id == Invoice.patient_id))


def for_doctor(doctor_id: int, *, filters: invoices.Filters, page: int = 1) -> tuple[list[DoctorInvoice], bool]:
    """One page of the doctor's invoices, newest service first; returns (rows, has_next)."""
    found, has_next = _page(_doctor_statement(invoices.shape_of(filters)),
                            {"owner_id": doctor_id, **invoices.values_of(filters)}, page)
    return [
        DoctorInvoice(
            id=row.id, number=row.number, service_date=row.service_date,
            # Patient.full_name, without loading the patient.
            patient_name=f"{row.given_name} {row.surname}" if row.surname is not None else None,
            channel=row.channel, total_cents=row.total_cents, state=invoices.state_of(row, claimed=bool(row.claimed)),
        )
        for row in found
    ], has_next


def doctor_names(patient_id: int) -> list[tuple[int, str]]:
    """(id, name) of the doctors who issued the patient's invoices, by name."""
    return [tuple(row) for row in db.session.execute(
        db.select(Doctor.id, Doctor.name)
        .where(Doctor.id.in_(db.select(Invoice.doctor_id).where(Invoice.patient_id == patient_id)))
        .order_by(Doctor.name)
    )]
