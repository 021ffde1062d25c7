"""What the fund pays a doctor for direct-payment claims: payment runs (the accepted claims paid
on one day), the amounts still pending, the remittance statement of a run and a CSV for the
practice's accounting software. A doctor reads only their own claims; every read is audited,
because the rows name their patients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from portal import audit
from portal.claims import direct_payment
from portal.core import csv_output, i18n, pdf
from portal.extensions import db
from portal.models import Claim, ClaimState, Doctor, Statement


@dataclass(frozen=True)
class Run:
    """The accepted claims the fund pays the doctor on one day, in one transfer."""

    payment_date: date
    claims: list[Claim]

    @property
    def statement_id(self) -> int:
        """The run's address: the remittance page names it by its first statement."""
        return min(claim.statement.id for claim in self.claims)

    @property
    def total_cents(self) -> int:
        return sum(claim.reimbursed_cents or 0 for claim in self.claims)


@dataclass(frozen=True)
class Overview:
    runs: list[Run]  # newest first
    pending: list[Claim]  # sent, not decided yet
    rejected: list[Claim]

    @property
    def pending_cents(self) -> int:
        return sum(claim.computed_cents for claim in self.pending)


def _claims(doctor: Doctor) -> list[Claim]:
    return list(db.session.scalars(
        direct_payment.claims_of(doctor.id).where(Claim.state != ClaimState.WITHDRAWN)
        .options(joinedload(Claim.statement), joinedload(Claim.invoice), joinedload(Claim.patient))
        .order_by(Claim.shared_at.desc(), Claim.id.desc())
    ).unique())


def overview(doctor: Doctor) -> Overview:
    claims = _claims(doctor)
    by_day: dict[date, list[Claim]] = {}
    for claim in claims:
        if claim.state == ClaimState.ACCEPTED and claim.statement is not None:
            by_day.setdefault(claim.statement.payment_date, []).append(claim)
    _viewed(doctor, claims)
    return Overview(
        runs=[Run(day, by_day[day]) for day in sorted(by_day, reverse=True)],
        pending=[claim for claim in claims if claim.state in ClaimState.OPEN],
        rejected=[claim for claim in claims if claim.state == ClaimState.REJECTED],
    )


def run_of(doctor: Doctor, statement_id: int) -> Run | None:
    """The doctor's payment run that this statement is paid in, or None when the statement is not
    one of the doctor's direct payments (the page answers 404 and audits the refusal)."""
    payment_date = db.session.scalar(
        db.select(Statement.payment_date).join(Claim, Claim.id == Statement.claim_id)
        .where(Statement.id == statement_id, Claim.doctor_id == doctor.id, Claim.is_direct_payment.is_(True))
    )
    if payment_date is None:
        return None
    claims = list(db.session.scalars(
        direct_payment.claims_of(doctor.id).join(Statement, Statement.claim_id == Claim.id)
        .where(Claim.state == ClaimState.ACCEPTED, Statement.payment_date == payment_date)
        .options(joinedload(Claim.statement), joinedload(Claim.invoice), joinedload(Claim.patient))
        .order_by(Claim.id)
    ).unique())
    return Run(payment_date, claims) if claims else None


def _viewed(doctor: Doctor, claims: list[Claim], document: str | None = None) -> None:
    """One audit row per patient the page or file names, so each sees it in their access log."""
    per_patient: dict[int | None, int] = {}
    for claim in claims:
        per_patient[claim.patient_id] = per_patient.get(claim.patient_id, 0) + 1
    for patient_id, count in per_patient.items():
        audit.record(audit.DOCTOR_PAYMENTS_VIEWED, patient_id=patient_id, claims=count,
                     **({"document": document} if document else {}))


def _patient_name(claim: Claim) -> str:
    return claim.patient.full_name if claim.patient else claim.invoice.patient_matricule


def remittance_pdf(doctor: Doctor, run: Run, language: str) -> bytes:
    """The remittance statement of a payment run: one line per invoice paid."""
    _viewed(doctor, run.claims, "pdf")
    with force_locale(language):
        document = pdf.Document(_("Remittance statement of %(date)s", date=i18n.date(run.payment_date, "long")))
        document.fact(_("Doctor"), _("%(name)s, provider code %(code)s", name=doctor.name, code=doctor.provider_code))
        document.fact(_("Paid into"), _("the account ending in %(digits)s", digits=(run.claims[0].iban or "")[-4:]))
        document.fact(_("Payment date"), i18n.date(run.payment_date, "long"))
        document.heading(_("Invoices paid"))
        document.set_font("DejaVu", "", 8)
        with document.table(col_widths=(30, 28, 52, 26, 26, 28),
                            text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
            table.row((_("Invoice"), _("Claim reference"), _("Patient"), _("Amount billed"), _("Paid by the patient"),
                       _("Paid by the fund")))
            for claim in run.claims:
                table.row((claim.invoice.number, claim.reference, _patient_name(claim), i18n.money(claim.total_cents),
                           i18n.money(claim.total_cents - claim.computed_cents), i18n.money(claim.reimbursed_cents or 0)))
        document.ln(2)
        document.fact(_("Total paid by the fund"), i18n.money(run.total_cents))
    return document.render()


CSV_COLUMNS = ("payment_date", "state", "claim_reference", "invoice_number", "service_date", "patient",
               "matricule", "billed", "paid_by_patient", "paid_by_fund")


def csv_export(doctor: Doctor) -> bytes:
    """Every direct-payment claim of the doctor, one row each, amounts in euros with a dot."""
    claims = _claims(doctor)
    _viewed(doctor, claims, "csv")
    rows = [{
        "payment_date": claim.statement.payment_date.isoformat() if claim.statement else "",
        "state": claim.state,
        "claim_reference": claim.reference,
        "invoice_number": claim.invoice.number,
        "service_date": claim.invoice.service_date.isoformat(),
        "patient": _patient_name(claim),
        "matricule": claim.invoice.patient_matricule,
        "billed": _euros(claim.total_cents),
        "paid_by_patient": _euros(claim.total_cents - claim.computed_cents),
        "paid_by_fund": _euros(claim.reimbursed_cents or 0) if claim.state == ClaimState.ACCEPTED else "",
    } for claim in claims]
    return csv_output.table(CSV_COLUMNS, rows)


def _euros(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
