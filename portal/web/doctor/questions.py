"""The doctor answers the fund's question about a direct-payment claim they sent.

The question is shown on the invoice's page (portal/web/doctor/invoices.py); the answer, with an
optional document through the same checks as a patient's, sends the claim back to the agent.
"""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _

from portal.core import htmx
from portal.invoicing import invoices
from portal.models import ClaimState
from portal.web import ownership
from portal.web.access import allow
from portal.web.doctor.blueprint import bp
from portal.web.doctor.forms import VoidForm
from portal.web.doctor.invoices import SHOWN, invoice_page
from portal.web.forms import AnswerForm


@bp.post("/invoices/<int:invoice_id>/answer", endpoint="answer_question")
@allow("doctor")
def answer_question(invoice_id: int):
    invoice = ownership.own_invoice(invoice_id, *SHOWN)  # another doctor's invoice: 404
    claim = invoices.live_claim(invoice) if invoice.is_direct_payment else None
    back = url_for("doctor.invoice", invoice_id=invoice_id)
    if claim is None or claim.state != ClaimState.INFO_REQUESTED:
        flash(_("This question was already answered or withdrawn; nothing was sent."), "error")
        return htmx.redirect(back)
    form = AnswerForm()
    if form.send(claim):
        flash(_("Thank you: your answer was sent to the health fund."), "success")
        return htmx.redirect(back)
    return invoice_page(invoice, VoidForm(formdata=None), form), 400
