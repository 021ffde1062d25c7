"""The reimbursement statement ("décompte") as a PDF, with the same content as its page.

Rendered once per language and kept (portal/documents/stored.py): in the patient's language when
the claim is accepted, in another language the first time someone reads it in that language."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from portal.claims.adjustments import ADJUSTMENT_REASONS
from portal.core import i18n, pdf
from portal.documents import stored
from portal.extensions import db
from portal.models import Claim, DocumentKind, Invoice, Patient, Statement


@dataclass(frozen=True)
class Totals:
    billed_cents: int
    tariff_cents: int
    participation_cents: int
    computed_cents: int  # what the lines give before any adjustment by the agent
    adjustment_cents: int
    reimbursed_cents: int


def totals(statement: Statement) -> Totals:
    return Totals(
        billed_cents=statement.billed_cents,
        tariff_cents=sum(line.tariff_cents for line in statement.lines),
        participation_cents=sum(line.participation_cents for line in statement.lines),
        computed_cents=sum(line.reimbursed_cents for line in statement.lines),
        adjustment_cents=statement.adjustment_cents,
        reimbursed_cents=statement.reimbursed_cents,
    )


def act_names(claim: Claim, statement: Statement, language: str) -> dict[int, str]:
    """Each statement line's act in words, in `language`, by line position: the act the invoice
    line of the same position was billed under (the statement copies the invoice's lines in order)."""
    billed = {position: line for position, line in enumerate(claim.invoice.lines, start=1)}
    return {
        line.position: billed[line.position].act.description(language) if line.position in billed else line.act_code
        for line in statement.lines
    }


def render(claim: Claim, statement: Statement, language: str) -> bytes:
    sums = totals(statement)
    names = act_names(claim, statement, language)
    with force_locale(language):
        document = pdf.Document(_("Reimbursement statement %(number)s", number=statement.number))
        document.fact(_("Claim reference"), claim.reference)
        document.fact(_("Patient"), claim.patient.full_name)
        document.fact(_("Doctor"), _("%(name)s, provider code %(code)s", name=claim.doctor.name,
                                      code=claim.invoice.provider_code))
        document.fact(_("Invoice"), _("%(number)s of %(date)s", number=claim.invoice.number,
                                       date=i18n.date(claim.invoice.service_date, "long")))
        document.fact(_("Issued on"), i18n.date(statement.issued_at, "long"))
        document.fact(_("Payment date"), i18n.date(statement.payment_date, "long"))
        document.fact(_("Paid into"), _("the account ending in %(digits)s", digits=claim.iban[-4:]))
        document.heading(_("Acts"))
        document.set_font("DejaVu", "", 8)
        headings = (_("Act"), _("Quantity"), _("Amount billed"), _("Fund tariff"), _("Personal share"),
                    _("Reimbursed"))
        with document.table(col_widths=(62, 16, 28, 28, 28, 28), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT",
                            "RIGHT", "RIGHT")) as table:
            table.row(headings)
            for line in statement.lines:
                table.row((f"{names[line.position]} ({line.act_code})", str(line.quantity), i18n.money(line.billed_cents),
                           i18n.money(line.tariff_cents), i18n.money(line.participation_cents),
                           i18n.money(line.reimbursed_cents)))
            table.row((_("Total"), "", i18n.money(sums.billed_cents), i18n.money(sums.tariff_cents),
                       i18n.money(sums.participation_cents), i18n.money(sums.computed_cents)))
        document.ln(2)
        if statement.adjustment_cents:
            document.fact(_("Adjustment"), i18n.money(statement.adjustment_cents))
            document.paragraph(_("Reason: %(reason)s", reason=ADJUSTMENT_REASONS.get(claim.adjustment_reason, "")))
            if claim.adjustment_note:
                document.paragraph(_("Note from the agent: %(note)s", note=claim.adjustment_note))
        document.fact(_("Total reimbursed"), i18n.money(statement.reimbursed_cents))
        document.paragraph(
            _("The health fund transfers this amount on %(date)s.", date=i18n.date(statement.payment_date, "long")),
            size=9,
        )
    return document.render()


def key_of(claim: Claim, statement: Statement) -> stored.Key:
    return stored.Key(DocumentKind.STATEMENT, statement.id, claim.patient_id)


def pdf_of(claim: Claim, statement: Statement, language: str) -> bytes:
    """The statement's PDF in `language`: the stored one, or rendered now and stored."""
    return stored.read_or_render(key_of(claim, statement), language, lambda: render(claim, statement, language))


def store_for_patient(statement_id: int) -> None:
    """Render the statement in its patient's language and keep it (run when the claim is accepted)."""
    statement = db.session.scalar(db.select(Statement).where(Statement.id == statement_id).options(
        joinedload(Statement.claim).joinedload(Claim.patient).joinedload(Patient.account),
        joinedload(Statement.claim).joinedload(Claim.invoice).selectinload(Invoice.lines),
        joinedload(Statement.claim).joinedload(Claim.doctor), selectinload(Statement.lines)))
    if statement is None or statement.claim.patient is None:  # gone, or its patient erased
        return
    claim, account = statement.claim, statement.claim.patient.account
    language = (account.preferred_language if account else None) or "fr"
    stored.render_apart(key_of(claim, statement), language, lambda: render(claim, statement, language))
