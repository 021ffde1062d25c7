"""Invoices: the channel rule, the rules a draft meets, issuing (which may share the invoice
with the fund at once) and voiding, numbering, and the lists doctors and patients read.

Money is integer cents everywhere. What the fund pays back is computed in
portal/claims/reimbursement.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from portal import audit
from portal.activation.codes import ensure_doctor_may_issue
from portal.claims import sharing, states
from portal.core import clock
from portal.extensions import db
from portal.invoicing import nomenclature
from portal.models import Channel, Doctor, Invoice, InvoiceLine, Patient

RETENTION_YEARS = 2
MAX_QUANTITY = 99


def add_years(moment, years: int):
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def channel_for(*, doctor_is_digital: bool, paid_on_site: bool, payer_is_patient: bool) -> str:
    """Which kind of invoice the doctor issues (DOMAIN.md, "Invoices")."""
    if not doctor_is_digital or not payer_is_patient:
        return Channel.PAPER
    return Channel.DIGITAL if paid_on_site else Channel.PAPER_QR
















@dataclass
class Draft:
    """An invoice as the doctor fills it in, checked before anything is saved."""

    patient: Patient | None = None
    service_date: date | None = None
    paid_on_site: bool = True
    payer_is_patient: bool = True
    lines: list[tuple[nomenclature.CatalogueEntry, int]] = field(default_factory=list)
    # The doctor's own voided invoice for the same patient that this one corrects.
    replaces: Invoice | None = None
    # The token of the form it came from (portal.core.forms.OnceForm), kept with the invoice.
    form_token: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def oldest_service_date(today: date) -> date:
    return add_years(today, -RETENTION_YEARS)


def issue(doctor: Doctor, draft: Draft) -> Invoice:
    """Save a checked draft; amounts come from the nomenclature, never from the browser."""
    ensure_doctor_may_issue(doctor)  # a doctor who left issues nothing, whatever session they hold
    if draft.errors or draft.patient is None or not draft.lines:
        raise ValueError("draft has errors")
    now = clock.now()
    channel = channel_for(
        doctor_is_digital=doctor.is_digital_participant,
        paid_on_site=draft.paid_on_site,
        payer_is_patient=draft.payer_is_patient,
    )
    invoice = Invoice(
        doctor_id=doctor.id,
        patient_id=draft.patient.id,
        provider_code=doctor.provider_code,
        patient_matricule=draft.patient.matricule,
        service_date=draft.service_date,
        issued_at=now,
        channel=channel,
        is_paid_on_site=draft.paid_on_site,
        paid_at=now if draft.paid_on_site else None,
        is_payer_patient=draft.payer_is_patient,
        total_cents=0,
        expires_at=add_years(now, RETENTION_YEARS),
        form_token=draft.form_token or None,
    )
    replaced = draft.replaces
    if replaced is not None:
        if replaced.doctor_id != doctor.id or replaced.patient_id != draft.patient.id or replaced.voided_at is None:
            raise ValueError("only a voided invoice of the same doctor and patient can be replaced")
        invoice.replaces_id = replaced.id
    for position, (act, quantity) in enumerate(draft.lines, start=1):
        invoice.lines.append(
            InvoiceLine(position=position, act_id=act.id, act_code=act.code, quantity=quantity,
                        unit_fee_cents=act.fee_cents, total_cents=act.fee_cents * quantity)
        )
    invoice.total_cents = sum(line.total_cents for line in invoice.lines)
    invoice.number = _save_with_number(doctor, invoice)
    audit.record(audit.INVOICE_ISSUED, patient_id=invoice.patient_id, invoice_id=invoice.id, channel=channel)
    if replaced is not None:
        sharing.close_reports(replaced, invoice)
    sharing.auto_share(invoice)
    return invoice


def _save_with_number(doctor: Doctor, invoice: Invoice) -> str:
    # Numbers run per doctor and year; two invoices saved at once may pick the same
    # number, so the unique constraint decides and the loser takes the next one.
    year = invoice.issued_at.year
    for _attempt in range(5):
        last = db.session.scalar(
            db.select(db.func.max(Invoice.number)).where(
                Invoice.doctor_id == doctor.id, Invoice.number.like(f"{year}-%")
            )
        )
        invoice.number = f"{year}-{int(last.split('-')[1]) + 1 if last else 1:06d}"
        savepoint = db.session.begin_nested()
        try:
            db.session.add(invoice)
            db.session.flush()
        except IntegrityError:
            savepoint.rollback()
            if invoice.form_token and db.session.scalar(
                db.select(Invoice.id).where(Invoice.form_token == invoice.form_token)
            ):
                raise  # the same form was issued meanwhile: not a clash of numbers
            continue
        savepoint.commit()
        return invoice.number
    raise RuntimeError("could not number the invoice")


def can_void(invoice: Invoice) -> bool:
    return invoice.voided_at is None and not is_submitted(invoice)


def is_submitted(invoice: Invoice) -> bool:
    """Shared with the fund: from then on the invoice belongs to the claim."""

    return states.active_claim_of(invoice.id) is not None


def void(invoice: Invoice, reason: str) -> bool:
    if not can_void(invoice):
        return False
    invoice.voided_at = clock.now()
    invoice.void_reason = reason
    audit.record(audit.INVOICE_VOIDED, patient_id=invoice.patient_id, invoice_id=invoice.id)
    return True


def state_of(invoice: Invoice) -> str:
    if invoice.voided_at:
        return "voided"
    if invoice.expires_at <= clock.now():
        return "expired"
    return "issued"









@dataclass
class Filters:
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    doctor_id: int | None = None
    channel: str | None = None


PAGE_SIZE = 20


def listing(*, patient_id: int | None = None, doctor_id: int | None = None, filters: Filters, page: int = 1):
    """One page of invoices, newest service first; returns (invoices, has_next)."""

    if doctor_id is not None:  # the doctor's list names each invoice's patient
        query = db.select(Invoice).options(joinedload(Invoice.patient))
    else:  # the patient's list names the doctor and computes the reimbursement from the lines
        query = db.select(Invoice).options(selectinload(Invoice.lines), joinedload(Invoice.doctor))
    if patient_id is not None:
        query = query.where(Invoice.patient_id == patient_id)
    if doctor_id is not None:
        query = query.where(Invoice.doctor_id == doctor_id)
    if filters.doctor_id:
        query = query.where(Invoice.doctor_id == filters.doctor_id)
    if filters.channel:
        query = query.where(Invoice.channel == filters.channel)
    if filters.date_from:
        query = query.where(Invoice.service_date >= filters.date_from)
    if filters.date_to:
        query = query.where(Invoice.service_date <= filters.date_to)
    now = clock.now()
    if filters.state == "voided":
        query = query.where(Invoice.voided_at.is_not(None))
    elif filters.state == "expired":
        query = query.where(Invoice.voided_at.is_(None), Invoice.expires_at <= now)
    elif filters.state == "issued":
        query = query.where(Invoice.voided_at.is_(None), Invoice.expires_at > now)
    page = max(page, 1)
    rows = db.session.scalars(
        query.order_by(Invoice.service_date.desc(), Invoice.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    ).all()
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def doctors_of(patient_id: int) -> list[Doctor]:
    return list(
        db.session.scalars(
            db.select(Doctor).where(Doctor.id.in_(db.select(Invoice.doctor_id).where(Invoice.patient_id == patient_id)))
            .order_by(Doctor.name)
        )
    )
