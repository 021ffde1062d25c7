"""The PDF of an invoice, as the patient keeps it or the doctor prints it on paper."""

from __future__ import annotations

from flask_babel import force_locale, format_date, format_decimal
from flask_babel import gettext as _

from portal.claims import qr, reimbursement
from portal.core import pdf
from portal.invoicing import invoices, nomenclature
from portal.models import Channel, Invoice


def _euros(cents: int) -> str:
    return format_decimal(cents / 100, format="#,##0.00") + " €"


def download(invoice: Invoice, language: str) -> tuple[bytes, str]:
    """The PDF the signed-in person downloads and its file name, the download traced. Both are
    read before the caller commits, which would expire the invoice and load it all again."""
    content = render(invoice, language)
    name = f"invoice-{invoice.number}.pdf"
    invoices.record_viewed(invoice, document="pdf")
    return content, name


def render(invoice: Invoice, language: str) -> bytes:
    amounts = reimbursement.reimbursement_of(invoice)
    with force_locale(language):
        document = pdf.Document(_("Invoice %(number)s", number=invoice.number))
        document.fact(_("Doctor"), f"{invoice.doctor.name} ({invoice.provider_code})")
        document.fact(_("Patient"), f"{invoice.patient.full_name} ({invoice.patient_matricule})" if invoice.patient else invoice.patient_matricule)
        document.fact(_("Date of service"), format_date(invoice.service_date, "long"))
        document.fact(_("Issued on"), format_date(invoice.issued_at, "long"))
        document.heading(_("Acts"))
        for line in invoice.lines:
            act = nomenclature.act_on(line.act_code, invoice.service_date)
            description = act.descriptions.get(language) if act else line.act_code
            document.paragraph(
                f"{line.act_code} — {description} — {line.quantity} × {_euros(line.unit_fee_cents)} = "
                f"{_euros(line.total_cents)}"
            )
        document.fact(_("Total"), _euros(invoice.total_cents))
        if invoice.is_paid_on_site and invoice.paid_at:
            document.paragraph(_("Paid at the practice on %(date)s.", date=format_date(invoice.paid_at, "long")))
        else:
            document.paragraph(_("Not paid at the practice."))
        document.fact(_("Expected reimbursement"), f"{_euros(amounts.reimbursed_cents)} ({amounts.rate_percent} %)")
        document.fact(_("Your share"), _euros(amounts.personal_share_cents))
        if invoice.voided_at:
            document.heading(_("This invoice was voided."))
        if invoice.channel != Channel.PAPER:
            document.qr(qr.qr_payload(invoice), size_mm=40)
        document.paragraph(_("Kept in the portal until %(date)s.", date=format_date(invoice.expires_at, "long")), size=9)
    return document.render()
