"""The doctor issues invoices, lists them, prints them and voids them."""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from portal.claims import direct_payment, reimbursement, sharing
from portal.core import clock, htmx, i18n
from portal.core.forms import attach, sent_before
from portal.core.numbers import page_number, whole_number
from portal.extensions import db
from portal.invoicing import invoices, nomenclature, rows
from portal.models import Invoice
from portal.web import ownership, traced, words
from portal.web import rows as web_rows
from portal.web.access import allow
from portal.web.doctor.blueprint import bp
from portal.web.doctor.forms import DoctorInvoiceFilterForm, InvoiceForm, VoidForm
from portal.web.forms import AnswerForm

# What an invoice's pages show besides the invoice, loaded with it.
SHOWN = (joinedload(Invoice.patient), joinedload(Invoice.lines))


def _draft(form: InvoiceForm) -> invoices.Draft:
    """Read the form into a draft; the rules' problems go on the fields they belong to."""
    form.validate()
    replaces = form.replaces.data and not form.replaces.errors
    draft = invoices.read_draft(
        matricule=None if form.matricule.errors else form.matricule.data,
        service_date=None if form.service_date.errors else form.service_date.data,
        lines=[_typed(line) for line in form.lines],
        paid_on_site=form.paid_on_site.data != "no",
        payer_is_patient=form.payer_is_patient.data != "no",
        replaces=_replaceable(int(form.replaces.data)) if replaces else None,
        settlement=form.settlement.data if not form.settlement.errors else "full",
        consent_by=form.consent_by.data or None, consent_method=form.consent_method.data or None,
        doctor=ownership.current_doctor(),
    )
    if (refused := draft.refused()) is not None:
        attach(form, refused)
    return draft


def _typed(line) -> tuple[str | None, int | None]:
    """(code, quantity) of one line for invoices.read_draft: None where the form refused it."""
    code = (line.code.data or "").strip()
    if code and line.code.errors:
        return None, None
    if code and line.quantity.errors:
        line.quantity.errors = []  # the rule names the one thing to fix (a quantity from 1 to 99)
        return code, None
    return code, line.quantity.data


def _has_errors(form: InvoiceForm) -> bool:
    return any(f.errors for f in form if f.name != "lines") or any(sub.errors for line in form.lines for sub in line)


def _preview(draft: invoices.Draft) -> dict:
    doctor = ownership.current_doctor()
    channel = invoices.channel_for(
        doctor_is_digital=doctor.is_digital_participant,
        paid_on_site=draft.paid_on_site,
        payer_is_patient=draft.payer_is_patient,
        prefers_paper=draft.prefers_paper,
    )
    amounts = split = None
    if draft.patient and draft.service_date and draft.lines:
        lines = [(act.code, qty, act.fee_cents) for act, qty in draft.lines]
        amounts = reimbursement.reimbursement(draft.patient, draft.service_date, lines)
        split = direct_payment.split(draft.patient, draft.service_date, lines) if draft.is_direct else None
    obstacles = draft.direct_obstacles(doctor) if draft.is_direct else []
    return {"channel": channel, "amounts": amounts, "split": split, "obstacles": obstacles, "doctor": doctor,
            "draft": draft}


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
    form.settlement.data = "direct" if replaced.is_direct_payment else "paper" if replaced.is_paper_preferred else "full"
    form.consent_by.data, form.consent_method.data = replaced.direct_consent_by, replaced.direct_consent_method
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
    if form.submit.data and not _has_errors(form):
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
    language = i18n.language()
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
    doctor_id, filters = ownership.current_doctor().id, _filters(form)
    found, has_next = rows.for_doctor(doctor_id, filters=filters, page=page)
    return htmx.render(
        "doctor/invoices.html", "doctor/_invoice_rows.html", form=form, rows=found, page=page, has_next=has_next,
        total=invoices.count(doctor_id=doctor_id, filters=filters), formats=i18n.formats(),
        # Translated and routed once for the page, not once per row.
        invoice_url=web_rows.address_of("doctor.invoice", "invoice_id"), state_words=web_rows.state_words("invoice"),
        channel_words=web_rows.translated(words.CHANNELS),
        erased_words=web_rows.as_printed(_("Patient erased; kept by legal obligation")),
    )


@bp.get("/invoices/<int:invoice_id>")
@allow("doctor")
def invoice(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, *SHOWN)
    page = invoice_page(invoice, VoidForm())
    invoices.record_viewed(invoice)
    return traced.page(page)


@bp.get("/invoices/<int:invoice_id>.pdf")
@allow("doctor")
def invoice_pdf_download(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, *SHOWN)
    return traced.pdf_file(*invoices.download_pdf(invoice, i18n.language()))


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
    return invoice_page(invoice, form), 400


def invoice_page(invoice: Invoice, void_form: VoidForm, answer_form: AnswerForm | None = None) -> str:
    live = invoices.live_claim(invoice)  # asked once for the state, for voiding and for direct payment
    claimed = live is not None
    # A direct-payment claim is the doctor's: the fund's question about it is theirs to answer.
    question = sharing.open_question(live) if live is not None and live.is_direct_payment else None
    return render_template("doctor/invoice.html", invoice=invoice,
                           can_void=invoices.can_void(invoice, claimed=claimed, live=live),
                           void_form=void_form, question=question, answer_form=answer_form or AnswerForm(formdata=None),
                           **invoices.page_facts(invoice, claimed=claimed, live=live))
