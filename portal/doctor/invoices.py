"""The doctor issues invoices, lists them, prints them and voids them."""

from __future__ import annotations

from flask import Response, abort, flash, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import or_
from sqlalchemy.orm import joinedload

from portal import audit, clock, htmx, invoice_pdf, invoices, nomenclature, ownership
from portal.access import allow
from portal.doctor.forms import DoctorInvoiceFilterForm, InvoiceForm, VoidForm
from portal.doctor.views import bp
from portal.extensions import db
from portal.forms import sent_before
from portal.models import Invoice, Patient
from portal.numbers import page_number, whole_number

# What an invoice's pages show besides the invoice, loaded with it.
SHOWN = (joinedload(Invoice.patient), joinedload(Invoice.lines))


def _draft(form: InvoiceForm) -> invoices.Draft:
    """Read the form into a draft, putting every problem on the field it belongs to."""
    form.validate()
    draft = invoices.Draft()
    if not form.matricule.errors:
        draft.patient = db.session.scalar(db.select(Patient).where(Patient.matricule == form.matricule.data))
        if draft.patient is None:
            form.matricule.errors.append(_("Nobody in the register of insured persons has this number."))
        else:
            # The form shows the doctor this person's name and birth date to confirm: an access.
            audit.record(audit.PATIENT_LOOKED_UP, patient_id=draft.patient.id, purpose="invoice")
    today = clock.today()
    if form.service_date.data and not form.service_date.errors:
        if form.service_date.data > today:
            form.service_date.errors.append(_("The date of service cannot be in the future."))
        elif form.service_date.data < invoices.oldest_service_date(today):
            form.service_date.errors.append(_("The date of service cannot be more than two years ago."))
        else:
            draft.service_date = form.service_date.data
    for line in form.lines:
        code, quantity = (line.code.data or "").strip(), line.quantity.data
        if not code or line.code.errors:  # a refused code is never looked up
            continue
        act = nomenclature.act_on(code, draft.service_date or today)
        if act is None:
            line.code.errors.append(_("This code is not in the nomenclature."))
        if quantity is None or line.quantity.errors or not 1 <= quantity <= invoices.MAX_QUANTITY:
            line.quantity.errors[:] = [_("Enter a quantity from 1 to %(max)d.", max=invoices.MAX_QUANTITY)]
        if act is not None and not line.code.errors and not line.quantity.errors:
            draft.lines.append((act, quantity))
    if not any((line.code.data or "").strip() for line in form.lines):
        form.lines[0].code.errors.append(_("Add at least one act."))
    draft.paid_on_site = form.paid_on_site.data != "no"
    draft.payer_is_patient = form.payer_is_patient.data != "no"
    if form.replaces.data and not form.replaces.errors:
        draft.replaces = _replaceable(int(form.replaces.data))
        if draft.patient is not None and draft.replaces.patient_id != draft.patient.id:
            form.matricule.errors.append(_("A corrected invoice is for the same patient as the voided one."))
    # WTForms copied the lines' errors at validate(); the checks above added more since.
    form.lines.errors = [entry.form.errors for entry in form.lines if entry.form.errors]
    has_errors = any(f.errors for f in form if f.name != "lines") or any(
        sub.errors for line in form.lines for sub in line
    )
    if has_errors:
        draft.errors["form"] = ["invalid"]
    return draft


def _preview(draft: invoices.Draft) -> dict:
    doctor = ownership.current_doctor()
    channel = invoices.channel_for(
        doctor_is_digital=doctor.is_digital_participant,
        paid_on_site=draft.paid_on_site,
        payer_is_patient=draft.payer_is_patient,
    )
    amounts = None
    if draft.patient and draft.service_date and draft.lines:
        amounts = invoices.reimbursement(
            draft.patient, draft.service_date, [(act.code, qty, act.fee_cents) for act, qty in draft.lines]
        )
    return {"channel": channel, "amounts": amounts, "doctor": doctor, "draft": draft}


def _replaceable(invoice_id: int) -> Invoice:
    """The doctor's own voided invoice a new one may correct; anything else is a 404."""
    replaced = ownership.own_invoice(invoice_id)
    if replaced.voided_at is None:
        abort(404)
    return replaced


def _prefill(form: InvoiceForm, replaced: Invoice) -> None:
    form.replaces.data = str(replaced.id)
    form.matricule.data = replaced.patient_matricule
    form.service_date.data = replaced.service_date
    form.paid_on_site.data = "yes" if replaced.is_paid_on_site else "no"
    form.payer_is_patient.data = "yes" if replaced.is_payer_patient else "no"
    while len(form.lines) < min(len(replaced.lines), form.lines.max_entries):
        form.lines.append_entry()
    for entry, line in zip(form.lines, replaced.lines, strict=False):
        entry.code.data, entry.quantity.data = line.act_code, line.quantity


@bp.route("/invoices/new", methods=["GET", "POST"])
@allow("doctor")
def new_invoice():
    form = InvoiceForm()
    if request.method == "GET":
        replaces = request.args.get("replaces", "")
        replaced = _replaceable(number) if (number := whole_number(replaces)) is not None else None
        if replaced is not None:
            _prefill(form, replaced)
        form.service_date.data = form.service_date.data or clock.today()
        return render_template(
            "doctor/invoice_form.html", form=form, preview=_preview(invoices.Draft()), replaced=replaced,
            codes=_codes(),
        )
    draft = _draft(form)
    if form.add_line.data and len(form.lines) < form.lines.max_entries:
        form.lines.append_entry()
    if form.submit.data and not draft.errors:
        invoice = sent_before(Invoice, form.sent_token, doctor_id=ownership.current_doctor().id)
        if invoice is None:
            draft.form_token = form.sent_token
            invoice = invoices.issue(ownership.current_doctor(), draft)
            db.session.commit()
        else:
            db.session.rollback()  # the same form sent again: the first one issued the invoice
        flash(_("Invoice %(number)s has been issued.", number=invoice.number), "success")
        return htmx.redirect(url_for("doctor.invoice", invoice_id=invoice.id))
    status = 400 if form.submit.data else 200
    db.session.commit()  # the look-up's audit row, even when the form goes back with errors
    return htmx.render(
        "doctor/invoice_form.html", "doctor/_invoice_preview.html", form=form, preview=_preview(draft),
        replaced=draft.replaces, codes=_codes(),
    ), status


def _codes() -> list[nomenclature.CatalogueEntry]:
    """Today's acts, offered as suggestions while a code is typed (a datalist needs no script)."""
    return nomenclature.current(clock.today())


@bp.get("/acts")
@allow("doctor")
def acts():
    query = request.args.get("q", "")[:60]
    language = str(get_locale() or "fr")
    found = nomenclature.search(query, clock.today(), language)
    return htmx.render("doctor/acts.html", "doctor/_acts.html", query=query, acts=found, language=language)


def _filters(form: DoctorInvoiceFilterForm) -> invoices.Filters:
    form.validate()
    return invoices.Filters(
        state=form.state.data if not form.state.errors else None,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        channel=form.channel.data if not form.channel.errors else None,
    )


def _page() -> int:
    return page_number(request.args.get("page"))


@bp.get("/invoices", endpoint="invoices")
@allow("doctor")
def invoices_list():
    form = DoctorInvoiceFilterForm(request.args)
    page = _page()
    rows, has_next = invoices.listing(doctor_id=ownership.current_doctor().id, filters=_filters(form), page=page)
    return htmx.render(
        "doctor/invoices.html", "doctor/_invoice_rows.html",
        form=form, rows=rows, page=page, has_next=has_next, state_of=invoices.state_of,
    )


@bp.get("/invoices/<int:invoice_id>")
@allow("doctor")
def invoice(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, *SHOWN)
    page = render_template(
        "doctor/invoice.html", invoice=invoice, amounts=invoices.reimbursement_of(invoice),
        state=invoices.state_of(invoice), can_void=invoices.can_void(invoice), void_form=VoidForm(),
        **_links(invoice),
    )
    audit.record(audit.INVOICE_VIEWED, patient_id=invoice.patient_id, invoice_id=invoice.id)
    db.session.commit()
    return page


def _links(invoice: Invoice) -> dict:
    """The voided invoice this one corrects, and the correction that replaced it (one query)."""
    relatives = db.session.scalars(db.select(Invoice).where(
        or_(Invoice.id == invoice.replaces_id, Invoice.replaces_id == invoice.id)
    ).order_by(Invoice.id)).all()
    return {
        "replaces": next((other for other in relatives if other.id == invoice.replaces_id), None),
        "replaced_by": next((other for other in relatives if other.replaces_id == invoice.id), None),
    }


@bp.get("/invoices/<int:invoice_id>.pdf")
@allow("doctor")
def invoice_pdf_download(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, *SHOWN)
    content = invoice_pdf.render(invoice, str(get_locale() or "fr"))
    name = f"invoice-{invoice.number}.pdf"  # read before the commit, which expires the invoice
    audit.record(audit.INVOICE_VIEWED, patient_id=invoice.patient_id, invoice_id=invoice.id, document="pdf")
    db.session.commit()
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
    })


@bp.post("/invoices/<int:invoice_id>/void")
@allow("doctor")
def void_invoice(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, *SHOWN)
    form = VoidForm()
    if form.validate_on_submit() and invoices.void(invoice, form.reason.data):
        db.session.commit()
        flash(_("Invoice %(number)s has been voided.", number=invoice.number), "success")
        return htmx.redirect(url_for("doctor.invoice", invoice_id=invoice.id))
    if not form.errors:
        flash(_("This invoice can no longer be voided."), "error")
    return render_template(
        "doctor/invoice.html", invoice=invoice, amounts=invoices.reimbursement_of(invoice),
        state=invoices.state_of(invoice), can_void=invoices.can_void(invoice), void_form=form, **_links(invoice),
    ), 400
