"""The patient follows their claims: where each one is, the fund's questions, withdrawing,
and the reimbursement statement."""

from __future__ import annotations

from flask import abort, flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import aliased, joinedload
from wtforms import SubmitField

from portal import audit
from portal.claims import review, sharing, statement_pdf, states, timeline
from portal.claims.adjustments import ADJUSTMENT_REASONS
from portal.core import htmx, i18n, identity
from portal.core.database import count_of, one_page
from portal.core.forms import BaseForm, require_valid
from portal.core.numbers import page_number
from portal.extensions import db
from portal.models import Claim, ClaimState, ConsentReceipt, Doctor, Fund, Invoice, Patient, Statement
from portal.web import ownership, traced
from portal.web import rows as web_rows
from portal.web.access import allow
from portal.web.forms import AnswerForm
from portal.web.patient.blueprint import bp
from portal.web.patient.sharing import SHARED_KEY

PAGE_SIZE = 20

FUND_NAMES = {
    Fund.CNS: _l("the CNS (National Health Fund)"),
    Fund.CMFEP: _l("the CMFEP (health fund of state civil servants)"),
    Fund.CMFEC: _l("the CMFEC (health fund of municipal civil servants)"),
    Fund.EMCFL: _l("the EMCFL (health fund of the railway staff)"),
}

# The reasons in words; keys come from review.REJECTION_REASONS (states: portal/web/states.py).
REJECTION_SENTENCES = {
    "not_covered": _l("The health insurance does not cover these acts."),
    "duplicate": _l("This invoice had already been submitted to the health fund."),
    "not_insured": _l("You were not insured with the health fund on the date of service."),
    "incomplete": _l("The claim is incomplete."),
    "other": _l("Another reason, explained in the note below."),
}



class WithdrawForm(BaseForm):
    submit = SubmitField(_l("Withdraw this claim"))


@bp.get("/claims", endpoint="claims")
@allow("patient")
def claims_list():
    patient = ownership.current_patient()
    own = ownership.scoped(db.select(Claim), Claim)  # the acting patient's
    # Read-only rows of the columns the list shows, the invoice's date and the doctor joined in.
    shown = own.with_only_columns(
        Claim.id, Claim.reference, Claim.total_cents, Claim.state, Claim.reimbursed_cents, Invoice.service_date,
        Doctor.name.label("doctor_name"),
    ).join(Invoice, Invoice.id == Claim.invoice_id).join(Doctor, Doctor.id == Claim.doctor_id)
    page = page_number(request.args.get("page"))
    found, has_next = one_page(shown.order_by(Claim.shared_at.desc(), Claim.id.desc()), page, PAGE_SIZE, columns=True)
    return htmx.render(
        "patient/claims.html", "patient/_claim_rows.html", rows=found, page=page, has_next=has_next, person=patient,
        total=count_of(own), shared=[] if htmx.is_partial() else _just_shared(), iban=identity.masked_iban(patient.iban),
        payment_days=review.PAYMENT_DELAY_BUSINESS_DAYS, claim_url=web_rows.address_of("patient.claim", "claim_id"),
        state_words=web_rows.state_words("claim"), formats=i18n.formats(),
    )


def _just_shared() -> list[Claim]:
    """The claims the patient made a moment ago on the sharing page, for the confirmation panel:
    shown once, and only those of the space the patient is in."""
    ids = [n for n in session.pop(SHARED_KEY, None) or [] if isinstance(n, int)]
    if not ids:
        return []
    return list(db.session.scalars(
        ownership.scoped(db.select(Claim).where(Claim.id.in_(ids)), Claim)
        .options(joinedload(Claim.invoice), joinedload(Claim.doctor)).order_by(Claim.id)
    ))


def _detail(claim_id: int) -> tuple[Claim, ConsentReceipt | None, Patient | None]:
    """The claim with all its page shows, in one query: the invoice, the steps, the
    statement, the consent receipt and the person whose account gave consent (a parent in
    a child's space has their own registry record)."""
    giver = aliased(Patient)
    row = ownership.own_row(
        db.select(Claim, ConsentReceipt, giver).where(Claim.id == claim_id)
        .outerjoin(ConsentReceipt, ConsentReceipt.claim_id == Claim.id)
        .outerjoin(giver, giver.account_id == ConsentReceipt.account_id)
        .options(joinedload(Claim.invoice), joinedload(Claim.doctor), joinedload(Claim.statement),
                 joinedload(Claim.events)),
        Claim, claim_id,
    )
    return row[0], row[1], row[2]


def _claim_page(claim: Claim, receipt: ConsentReceipt | None, giver: Patient | None,
                answer_form: AnswerForm | None = None) -> str:
    patient = claim.patient
    return render_template(
        "patient/claim.html", claim=claim, steps=timeline.steps(claim), duration=i18n.duration,
        receipt=receipt, giver=giver, patient=patient, recipients=[FUND_NAMES[f] for f in sharing.recipients(patient)],
        question=sharing.open_question(claim), answer_form=answer_form or AnswerForm(), withdraw_form=WithdrawForm(),
        is_withdrawable=claim.state == ClaimState.SHARED and not claim.is_direct_payment, fund_names=FUND_NAMES,
        rejection=REJECTION_SENTENCES.get(claim.rejection_reason or "", REJECTION_SENTENCES["other"]),
        adjustment_labels=ADJUSTMENT_REASONS,
    )


@bp.get("/claims/<int:claim_id>", endpoint="claim")
@allow("patient")
def claim_detail(claim_id: int):
    claim, receipt, giver = _detail(claim_id)
    audit.record(audit.CLAIM_VIEWED, patient_id=claim.patient_id, claim_id=claim.id)
    html = _claim_page(claim, receipt, giver)
    # Committed after rendering: a commit expires the loaded rows and would load them again.
    return traced.page(html)


@bp.post("/claims/<int:claim_id>/withdraw", endpoint="withdraw_claim")
@allow("patient")
def withdraw_claim(claim_id: int):
    claim = ownership.own_claim(claim_id)
    require_valid(WithdrawForm())
    try:
        sharing.withdraw(claim, by=current_user)
    except states.ClaimConflict:
        db.session.refresh(claim)
        if claim.state == ClaimState.WITHDRAWN:  # a double click, or a second tab
            flash(_("This claim was already withdrawn."), "success")
        else:
            flash(_("An agent has already started reviewing this claim, so it can no longer be withdrawn."), "error")
    else:
        db.session.commit()
        flash(_("Your claim was withdrawn. You can send the invoice again later."), "success")
    return htmx.redirect(url_for("patient.claim", claim_id=claim_id))


@bp.post("/claims/<int:claim_id>/answer", endpoint="answer_claim")
@allow("patient")
def answer_claim(claim_id: int):
    claim, receipt, giver = _detail(claim_id)
    if claim.is_direct_payment:  # the doctor who sent it answers for it
        flash(_("Your doctor answers the fund's questions about this claim; nothing was sent."), "error")
        return htmx.redirect(url_for("patient.claim", claim_id=claim_id))
    if claim.state != ClaimState.INFO_REQUESTED:
        flash(_("This question was already answered or withdrawn; nothing was sent."), "error")
        return htmx.redirect(url_for("patient.claim", claim_id=claim_id))
    form = AnswerForm()
    if form.send(claim):
        flash(_("Thank you: your answer was sent to the health fund."), "success")
        return htmx.redirect(url_for("patient.claim", claim_id=claim_id))
    # Only a refused answer gets here (a refused document included): 400 with the field's error.
    if htmx.is_partial():
        return render_template("patient/_claim_answer.html", claim=claim, question=sharing.open_question(claim),
                               answer_form=form), 400
    return _claim_page(claim, receipt, giver, form), 400


def _statement_of(claim_id: int, *shown) -> tuple[Claim, Statement]:
    claim = ownership.own_claim(
        claim_id, joinedload(Claim.statement).joinedload(Statement.lines), joinedload(Claim.invoice),
        joinedload(Claim.doctor), *shown,
    )
    if claim.statement is None:
        abort(404)
    return claim, claim.statement


@bp.get("/claims/<int:claim_id>/statement", endpoint="statement")
@allow("patient")
def statement(claim_id: int):
    # The invoice's lines name the acts; the PDF loads them only when it is rendered afresh.
    claim, found = _statement_of(claim_id, joinedload(Claim.invoice).selectinload(Invoice.lines))
    audit.record(audit.STATEMENT_VIEWED, patient_id=claim.patient_id, statement_id=found.id)
    html = render_template("patient/statement.html", claim=claim, statement=found,
                           totals=statement_pdf.totals(found), adjustment_labels=ADJUSTMENT_REASONS,
                           act_names=statement_pdf.act_names(claim, found, i18n.language()))
    return traced.page(html)


@bp.get("/claims/<int:claim_id>/statement.pdf", endpoint="statement_pdf")
@allow("patient")
def statement_pdf_download(claim_id: int):
    claim, found = _statement_of(claim_id)
    audit.record(audit.STATEMENT_VIEWED, patient_id=claim.patient_id, statement_id=found.id, document="pdf")
    return traced.pdf_file(statement_pdf.pdf_of(claim, found, i18n.language()), f"statement-{found.number}.pdf")
