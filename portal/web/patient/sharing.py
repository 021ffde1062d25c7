"""The patient shares invoices with the fund, keeps their bank account and the
"send automatically" setting, and tells a doctor an invoice is wrong."""

from __future__ import annotations

from flask import flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal.accounts import stepup
from portal.claims import sharing
from portal.core import htmx, identity, links
from portal.core.forms import BaseForm, OnceForm, sent_before, written
from portal.core.numbers import whole_number
from portal.core.refused import Refused
from portal.extensions import db
from portal.invoicing import rows
from portal.models import Invoice, InvoiceLine, InvoiceReport, Patient
from portal.web import ownership
from portal.web.access import allow
from portal.web.forms import StepUpForm, valid_iban
from portal.web.patient.blueprint import bp

MAX_CHOSEN = 100
# The claims just made by sharing, for the confirmation panel of the claims page.
SHARED_KEY = "shared_claims"


class ShareForm(BaseForm):
    submit = SubmitField(_l("Share with my health fund"))


class BankAccountForm(StepUpForm):
    iban = StringField(
        _l("IBAN"), validators=[DataRequired(message=_l("Enter your IBAN.")), Length(max=42), valid_iban],
        description=_l("Your own account, in your name: the fund pays reimbursements only there."),
    )
    submit = SubmitField(_l("Save the bank account"))


class SettingsForm(BaseForm):
    auto_share = BooleanField(
        _l("Send automatically"),
        description=_l("Every new invoice that can be sent from the portal goes to the health fund as soon as "
                       "the doctor issues it. You receive a notice each time. You can switch this off at any time."),
    )
    submit = SubmitField(_l("Save the setting"))


class ReportForm(OnceForm):
    message = written(
        _l("What is wrong with this invoice?"), missing=_l("Describe the error."),
        max_length=1000, too_long=_l("Write at most 1000 characters."),
        description=_l("Your doctor reads this message. Do not add health details the invoice does not need."),
    )
    submit = SubmitField(_l("Send to the doctor"))


def _chosen_ids(values: list[str]) -> list[int]:
    return list(dict.fromkeys(n for n in map(whole_number, values) if n is not None))[:MAX_CHOSEN]


def _chosen(ids: list[int]) -> list[Invoice]:
    """The invoices to share; any that is not in this space is a 404."""
    return ownership.own_all(
        db.select(Invoice).where(Invoice.id.in_(ids))
        # The lines give the amounts; their acts' names are not needed.
        .options(selectinload(Invoice.lines).lazyload(InvoiceLine.act), joinedload(Invoice.doctor))
        .order_by(Invoice.service_date.desc(), Invoice.id.desc()),
        Invoice, ids,
    )


@bp.route("/invoices/share", methods=["GET", "POST"])
@allow("patient")
def share():
    patient = ownership.current_patient()
    form = ShareForm()
    ids = _chosen_ids(request.form.getlist("invoice") if request.method == "POST" else request.args.getlist("invoice"))
    if not ids:
        flash(_("Select at least one invoice to share."), "error")
        return htmx.redirect(url_for("patient.invoices"))
    if form.validate_on_submit():
        chosen = _chosen(ids)
        claimed = sharing.claimed_invoice_ids([invoice.id for invoice in chosen])
        eligible = [invoice for invoice in chosen if sharing.why_not_shareable(invoice, claimed=invoice.id in claimed) is None]
        return _send(patient, chosen, eligible, claimed)
    # The confirmation reads rows, not invoices: one statement brings each invoice's doctor,
    # amounts and whether it has a claim.
    chosen = rows.chosen(patient, ownership.own_rows(rows.chosen_statement(), Invoice, ids, {"ids": ids}))
    here = url_for("patient.share", invoice=[invoice.id for invoice in chosen])
    return render_template(
        "patient/share.html", form=form, patient=patient,
        eligible=[invoice for invoice in chosen if invoice.reason is None],
        refused=[invoice for invoice in chosen if invoice.reason is not None], recipients=sharing.recipients(patient),
        iban=identity.masked_iban(patient.iban), bank_url=url_for("patient.bank_account", next=here),
    ), 400 if request.method == "POST" else 200


def _send(patient: Patient, chosen: list[Invoice], eligible: list[Invoice], claimed: set[int]):
    if not eligible:
        flash(_("These invoices have already been shared or cannot be sent from the portal."), "error")
        return htmx.redirect(url_for("patient.claims") if claimed else url_for("patient.invoices"))
    try:
        # `claimed` was read behind the account's lock (sessions.enforce): no second query per invoice.
        shared = [claim.id for claim in sharing.share(patient, eligible, by=current_user, claimed=claimed)]
    except Refused:
        # No bank account, or an invoice changed in the meantime: show the page again.
        db.session.rollback()
        return htmx.redirect(url_for("patient.share", invoice=[invoice.id for invoice in chosen]))
    db.session.commit()
    # The claims page opens with a panel about these claims, once: never in the address, where a
    # reload or the history would show it again. (Their ids were read before the commit, which
    # expires the claims.)
    session[SHARED_KEY] = shared
    return htmx.redirect(url_for("patient.claims"))


@bp.route("/bank-account", methods=["GET", "POST"])
@allow("patient")
def bank_account():
    patient = ownership.current_patient()
    form = BankAccountForm()
    next_url = links.safe_next(request.args.get("next"), None, within="/patient/")
    if form.validate_on_submit():
        # Money goes where this says: a session alone (a copied cookie) is not enough.
        problem = stepup.check(current_user._get_current_object(), form.password.data, form.code.data, stage="bank_account")
        if problem is None:
            sharing.set_iban(patient, form.iban.data, by=current_user)
            db.session.commit()
            flash(_("Your bank account has been saved."), "success")
            return htmx.redirect(next_url or url_for("patient.bank_account"))
        db.session.commit()  # a failure counts, like a failed sign-in
        stepup.add_error(form, problem)
    return render_template(
        "patient/bank_account.html", form=form, patient=patient, iban=identity.masked_iban(patient.iban),
        next_url=next_url,
    ), 400 if form.errors else 200


@bp.route("/settings", methods=["GET", "POST"])
@allow("patient")
def settings():
    patient = ownership.current_patient()
    form = SettingsForm()
    if form.validate_on_submit():
        sharing.set_auto_share(patient, bool(form.auto_share.data), by=current_user)
        db.session.commit()
        flash(_("Your setting has been saved."), "success")
        return htmx.redirect(url_for("patient.settings"))
    if request.method == "GET":
        form.auto_share.data = patient.is_auto_share
    return render_template("patient/settings.html", form=form, patient=patient), 400 if form.errors else 200


@bp.route("/invoices/<int:invoice_id>/report", methods=["GET", "POST"])
@allow("patient")
def report_invoice(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, joinedload(Invoice.doctor), joinedload(Invoice.lines))
    form = ReportForm()
    if form.validate_on_submit():
        # The same form sent again has nothing more to do.
        if sent_before(InvoiceReport, form.sent_token, invoice_id=invoice.id) is None:
            sharing.report_invoice(invoice, form.message.data, by=current_user, form_token=form.sent_token)
            db.session.commit()
        flash(_("Your message has been sent to %(doctor)s.", doctor=invoice.doctor.name), "success")
        return htmx.redirect(url_for("patient.invoice", invoice_id=invoice.id))
    return render_template("patient/report.html", form=form, invoice=invoice), 400 if form.errors else 200
