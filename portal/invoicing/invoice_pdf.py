"""The PDF of an invoice, as the patient keeps it or the doctor prints it on paper.

Rendered once per language and kept (portal/documents/stored.py): in the patient's language when
the invoice is issued, in another language the first time someone reads it in that language."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from portal.claims import qr, reimbursement
from portal.core import i18n, pdf
from portal.documents import stored
from portal.extensions import db
from portal.invoicing import nomenclature
from portal.models import Channel, DocumentKind, Invoice, Patient


def key_of(invoice: Invoice) -> stored.Key:
    return stored.Key(DocumentKind.INVOICE, invoice.id, invoice.patient_id)


def pdf_of(invoice: Invoice, language: str) -> bytes:
    """The invoice's PDF in `language`: the stored one, or rendered now and stored."""
    return stored.read_or_render(key_of(invoice), language, lambda: render(invoice, language))


def forget(invoice: Invoice) -> None:
    """Its printed text changed (voided): the next reader gets a new rendering."""
    stored.forget(key_of(invoice))


def store_for_patient(invoice_id: int) -> None:
    """Render the invoice in its patient's language and keep it (run when it is issued)."""
    invoice = db.session.scalar(db.select(Invoice).where(Invoice.id == invoice_id).options(
        joinedload(Invoice.doctor), joinedload(Invoice.patient).joinedload(Patient.account),
        selectinload(Invoice.lines)))
    if invoice is None:  # gone before its turn came (a rolled-back test, an erasure)
        return
    account = invoice.patient.account if invoice.patient else None
    language = (account.preferred_language if account else None) or "fr"
    nomenclature.catalogue()  # read now: the rendering runs with no transaction open
    stored.render_apart(key_of(invoice), language, lambda: render(invoice, language))


def _payment(document: pdf.Document, invoice: Invoice, amounts) -> None:
    """Who pays what: for direct payment the patient paid only their share, and is owed nothing."""
    if invoice.is_direct_payment:
        document.paragraph(_("Direct payment: you paid your share at the practice; your health fund pays the rest "
                             "to the doctor. You have nothing to send and no reimbursement to expect."))
        document.fact(_("Paid by you"), i18n.money(amounts.personal_share_cents))
        document.fact(_("Paid by your fund to the doctor"),
                      f"{i18n.money(amounts.reimbursed_cents)} ({amounts.rate_percent} %)")
        return
    if invoice.is_paid_on_site and invoice.paid_at:
        document.paragraph(_("Paid at the practice on %(date)s.", date=i18n.date(invoice.paid_at, "long")))
    else:
        document.paragraph(_("Not paid at the practice."))
    document.fact(_("Expected reimbursement"), f"{i18n.money(amounts.reimbursed_cents)} ({amounts.rate_percent} %)")
    document.fact(_("Your share"), i18n.money(amounts.personal_share_cents))


def render(invoice: Invoice, language: str) -> bytes:
    amounts = reimbursement.reimbursement_of(invoice)
    with force_locale(language):
        document = pdf.Document(_("Invoice %(number)s", number=invoice.number))
        document.fact(_("Doctor"), f"{invoice.doctor.name} ({invoice.provider_code})")
        document.fact(_("Patient"), f"{invoice.patient.full_name} ({invoice.patient_matricule})" if invoice.patient else invoice.patient_matricule)
        document.fact(_("Date of service"), i18n.date(invoice.service_date, "long"))
        document.fact(_("Issued on"), i18n.date(invoice.issued_at, "long"))
        document.heading(_("Acts"))
        for line in invoice.lines:
            act = nomenclature.act_on(line.act_code, invoice.service_date)
            description = act.descriptions.get(language) if act else line.act_code
            document.paragraph(
                f"{line.act_code} — {description} — {line.quantity} × {i18n.money(line.unit_fee_cents)} = "
                f"{i18n.money(line.total_cents)}"
            )
        document.fact(_("Total"), i18n.money(invoice.total_cents))
        _payment(document, invoice, amounts)
        if invoice.voided_at:
            document.heading(_("This invoice was voided."))
        if invoice.channel != Channel.PAPER:
            document.qr(qr.qr_payload(invoice), size_mm=40)
        document.paragraph(_("Kept in the portal until %(date)s.", date=i18n.date(invoice.expires_at, "long")), size=9)
    return document.render()
