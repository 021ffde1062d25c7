"""The patient reads their invoices (or a child's, in the child's space)."""

from __future__ import annotations

from datetime import datetime

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload
from wtforms import SelectField
from wtforms.validators import Optional

from portal.claims import sharing
from portal.core import htmx, i18n
from portal.core.numbers import page_number, whole_number
from portal.extensions import db
from portal.invoicing import invoices, rows
from portal.models import Claim, ClaimState, Invoice, InvoiceReport
from portal.web import ownership, traced, words
from portal.web import rows as web_rows
from portal.web.access import allow
from portal.web.forms import InvoiceFilterForm
from portal.web.patient import doctor_choices
from portal.web.patient.blueprint import bp


class PatientFilterForm(InvoiceFilterForm):
    doctor = SelectField(_l("Doctor"), choices=[], validators=[Optional()], validate_choice=False,
                         widget=doctor_choices.KeptOptionsSelect())


@bp.get("/invoices", endpoint="invoices")
@allow("patient")
def invoices_list():
    patient = ownership.current_patient()
    form = PatientFilterForm(request.args)
    form.validate()  # the doctor's choice is not checked against the options (validate_choice)
    doctor = request.args.get("doctor", "")
    filters = invoices.Filters(
        state=form.state.data or None,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        doctor_id=whole_number(doctor),
    )
    page = page_number(request.args.get("page"))
    found, has_next = rows.for_patient(patient, filters=filters, page=page)
    tally = invoices.tally(patient.id, filters)
    if not htmx.is_partial():  # the rows alone have no filter to draw
        form.doctor.kept_options = (doctor_choices.everyone(), *doctor_choices.options_of(patient.id, tally.version))
    return htmx.render(
        "patient/invoices.html", "patient/_invoice_rows.html", form=form, rows=found, page=page,
        has_next=has_next, person=patient, any_shareable=any(row.reason is None for row in found),
        total=tally.matching, **_row_words(),
    )


def _row_words() -> dict:
    """What every row prints, translated and routed once for the page."""
    return {
        "invoice_url": web_rows.address_of("patient.invoice", "invoice_id"),
        "state_words": web_rows.state_words("invoice"),
        "reason_words": web_rows.translated(words.UNSHAREABLE),
        "amounts_sentence": web_rows.as_printed(_("Total %(total)s · expected reimbursement %(refund)s")),
        "direct_sentence": web_rows.as_printed(_("Total %(total)s · paid by your fund to the doctor %(refund)s")),
        "formats": i18n.formats(),
    }


def _shown(invoice_id: int) -> tuple[Invoice, Claim | None, datetime | None]:
    """The invoice with what its page shows, in one query: the doctor, the lines, the live
    claim and when an open report was made; 404 unless it belongs to the space."""
    reported = (
        db.select(InvoiceReport.created_at)
        .where(InvoiceReport.invoice_id == Invoice.id, InvoiceReport.closed_at.is_(None))
        .order_by(InvoiceReport.created_at.desc()).limit(1).scalar_subquery()
    )
    row = ownership.own_row(
        db.select(Invoice, Claim, reported).where(Invoice.id == invoice_id)
        .outerjoin(Claim, (Claim.invoice_id == Invoice.id) & (Claim.state != ClaimState.WITHDRAWN))
        .options(joinedload(Invoice.doctor), joinedload(Invoice.lines)),
        Invoice, invoice_id,
    )
    return row[0], row[1], row[2]


@bp.get("/invoices/<int:invoice_id>")
@allow("patient")
def invoice(invoice_id: int):
    invoice, claim, reported_at = _shown(invoice_id)
    html = render_template(
        "patient/invoice.html", invoice=invoice, claim=claim, reported_at=reported_at,
        reason=sharing.why_not_shareable(invoice, claimed=claim is not None),
        **invoices.page_facts(invoice, claimed=claim is not None, live=claim),
    )
    invoices.record_viewed(invoice)
    return traced.page(html)


@bp.get("/invoices/<int:invoice_id>.pdf")
@allow("patient")
def invoice_pdf_download(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, joinedload(Invoice.doctor), joinedload(Invoice.lines))
    if invoices.state_of(invoice) == "expired":
        abort(404)
    return traced.pdf_file(*invoices.download_pdf(invoice, i18n.language()))


