"""Claims from the patient's side: sharing invoices with the fund (by hand or
automatically), withdrawing, answering the fund's questions, reporting a wrong invoice.

Every function adds its change, its history step and its audit row to the caller's
transaction; the caller commits once.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import audit
from portal.accounts import security_alerts
from portal.claims import states
from portal.core import clock
from portal.core.refused import Refused
from portal.documents import uploads
from portal.extensions import db
from portal.models import (
    Account,
    Channel,
    Claim,
    ClaimEvent,
    ClaimState,
    ConsentReceipt,
    Fund,
    Invoice,
    InvoiceReport,
    NoticeKind,
    Patient,
)

MANUAL = "manual"
AUTOMATIC = "automatic"


# --- Which invoices can be shared ---------------------------------------------------------


def why_not_shareable(invoice: Invoice, *, claimed: bool | None = None) -> str | None:
    """None when the patient may share the invoice, else a reason key (see templates)."""
    if invoice.voided_at is not None:
        return "voided"
    if invoice.expires_at <= clock.now():
        return "expired"
    if invoice.channel != Channel.DIGITAL:
        return "paper"
    if not invoice.is_paid_on_site or not invoice.is_payer_patient:
        return "paper"
    if invoice.is_direct_payment:  # the doctor's claim: the patient has nothing to share
        return "direct"
    if claimed is None:
        claimed = states.active_claim_of(invoice.id) is not None
    if claimed:
        return "shared"
    return None


def shareable_conditions(now) -> list:
    """why_not_shareable in SQL, for counting a space's invoices in one query: the same rules,
    in the same order (tests/claims/test_overview.py checks both agree on every reason)."""
    return [
        Invoice.voided_at.is_(None),
        Invoice.expires_at > now,
        Invoice.channel == Channel.DIGITAL,
        Invoice.is_paid_on_site.is_(True),
        Invoice.is_payer_patient.is_(True),
        Invoice.is_direct_payment.is_(False),
        ~live_claim_exists(),
    ]


def live_claim_exists():
    """In SQL: a claim that is not withdrawn holds the invoice (what `claimed` means above)."""
    return db.select(Claim.id).where(Claim.invoice_id == Invoice.id, Claim.state != ClaimState.WITHDRAWN).exists()


def claimed_invoice_ids(invoice_ids: list[int]) -> set[int]:
    """Of these invoices, the ones with a live claim (one query for a whole list page)."""
    if not invoice_ids:
        return set()
    return set(
        db.session.scalars(
            db.select(Claim.invoice_id).where(Claim.invoice_id.in_(invoice_ids), Claim.state != ClaimState.WITHDRAWN)
        )
    )


def recipients(patient: Patient) -> list[str]:
    """Who receives a shared invoice: CNS always; it passes other funds' claims on to them."""
    return [Fund.CNS] if patient.fund == Fund.CNS else [Fund.CNS, patient.fund]


# --- Sharing ---------------------------------------------------------------------------------

def share(patient: Patient, chosen: list[Invoice], *, by: Account | None, method: str = MANUAL,
          claimed: set[int] | None = None) -> list[Claim]:
    """Create one claim per invoice the patient chose; invoices already shared return
    their existing claim, so a double click or a second tab changes nothing.

    `claimed`: which of them have a live claim, when the caller read it in this transaction
    (claimed_invoice_ids); a claim made since by another request still loses the race in
    states.new_claim and returns the winner's.

    Refused on "iban" when the patient has no bank account to credit, and on "invoice" when
    an invoice is not theirs or not eligible.
    """
    if not patient.iban:
        raise Refused.on("iban", "no bank account to credit")
    claims = []
    for invoice in chosen:
        if invoice.patient_id != patient.id:
            raise Refused.on("invoice", "not the patient's invoice")
        existing = states.active_claim_of(invoice.id) if claimed is None or invoice.id in claimed else None
        if existing is not None:
            claims.append(existing)
            continue
        if why_not_shareable(invoice, claimed=False) is not None:
            raise Refused.on("invoice", "this invoice cannot be shared")
        claims.append(_create(patient, invoice, by=by, method=method))
    return claims


def _create(patient: Patient, invoice: Invoice, *, by: Account | None, method: str) -> Claim:
    claim, created = states.new_claim(patient, invoice, channel=Channel.DIGITAL)
    if not created:
        return claim
    states.add_event(claim, ClaimEvent(kind="shared", at=claim.shared_at, actor_role="patient"))
    db.session.add(ConsentReceipt(
        claim_id=claim.id, patient_id=patient.id, account_id=by.id if by else None, method=method,
        recipient_fund=patient.fund, invoice_number=invoice.number, given_at=claim.shared_at,
    ))
    audit.record(
        audit.CLAIM_SHARED, actor=by, patient_id=patient.id, claim_id=claim.id, invoice_id=invoice.id, method=method
    )
    return claim


def auto_share(invoice: Invoice) -> Claim | None:
    """Called as the doctor issues an invoice: share it at once if the patient asked for
    that and it is eligible; the patient is told by a notice."""
    patient = invoice.patient
    if patient.account is not None and patient.account.status == "suspended":
        return None  # consent withdrawn: nothing goes to the fund until the patient restores it
    if not patient.is_auto_share or not patient.iban or why_not_shareable(invoice, claimed=False):
        return None
    claim = _create(patient, invoice, by=None, method=AUTOMATIC)
    states.notify(patient.id, NoticeKind.SENT_AUTOMATICALLY, claim=claim, invoice=invoice)
    return claim


def set_auto_share(patient: Patient, enabled: bool, *, by: Account) -> None:
    if patient.is_auto_share != enabled:
        patient.is_auto_share = enabled
        audit.record(audit.AUTO_SHARE_CHANGED, actor=by, patient_id=patient.id, enabled=enabled)


def set_iban(patient: Patient, iban: str, *, by: Account) -> None:
    """Record the patient's own bank account (already validated by the form)."""
    if patient.iban != iban:
        patient.iban = iban
        # Claims paid to an account this new wait for staff to check it (review.iban_is_new).
        patient.iban_changed_at = clock.now()
        audit.record(audit.BANK_ACCOUNT_CHANGED, actor=by, patient_id=patient.id)
        security_alerts.announce(by, patient, "bank_account_changed")


# --- After sharing ----------------------------------------------------------------------------


def withdraw(claim: Claim, *, by: Account) -> None:
    """Possible until an agent takes the claim up; never for the doctor's direct-payment claim."""
    if claim.is_direct_payment:
        raise states.ClaimConflict(claim.id)
    now = clock.now()
    states.move(claim, (ClaimState.SHARED,), {"state": ClaimState.WITHDRAWN, "withdrawn_at": now})
    states.add_event(claim, ClaimEvent(kind="withdrawn", at=now, actor_role="patient"))
    audit.record(audit.CLAIM_WITHDRAWN, actor=by, patient_id=claim.patient_id, claim_id=claim.id)


ANSWERED = _l("This question was already answered or withdrawn; nothing was sent.")


def answer(claim: Claim, message: str, *, by: Account, document: bytes | None = None,
           filename: str | None = None) -> None:
    """Whoever answers for the claim answers the fund's question: the patient, or for direct
    payment the doctor who sent it (the caller checks which); the claim goes back to the agent.

    `document` is checked and stored encrypted; raises uploads.RejectedUpload if refused.
    """
    stored = kind = None
    if document is not None:  # an empty file is refused, not silently dropped
        content, kind = uploads.clean(document, filename)
        stored = uploads.store(content)
    now = clock.now()
    try:
        states.move(claim, (ClaimState.INFO_REQUESTED,), {"state": ClaimState.IN_REVIEW}, changed=ANSWERED)
    except states.ClaimConflict:
        uploads.delete(stored)
        raise
    states.add_event(claim, ClaimEvent(
        kind="info_answered", at=now, actor_role=str(by.role), message=message[:states.MAX_MESSAGE],
        document_name=stored, document_type=kind,
    ))
    audit.record(
        audit.CLAIM_INFO_ANSWERED, actor=by, patient_id=claim.patient_id, claim_id=claim.id,
        **({"document": kind} if kind else {}),
    )


def open_question(claim: Claim) -> ClaimEvent | None:
    """The fund's last question, while it waits for an answer."""
    if claim.state != ClaimState.INFO_REQUESTED:
        return None
    return next((event for event in reversed(claim.events) if event.kind == "info_requested"), None)


# --- Reports of a wrong invoice ---------------------------------------------------------------

def report_invoice(invoice: Invoice, message: str, *, by: Account, form_token: str | None = None) -> InvoiceReport:
    report = InvoiceReport(
        invoice_id=invoice.id, doctor_id=invoice.doctor_id, patient_id=invoice.patient_id,
        message=message[:states.MAX_MESSAGE], created_at=clock.now(), form_token=form_token or None,
    )
    db.session.add(report)
    db.session.flush()
    audit.record(audit.INVOICE_REPORTED, actor=by, patient_id=invoice.patient_id, invoice_id=invoice.id,
                 report_id=report.id)
    return report


def open_reports(doctor_id: int) -> list[InvoiceReport]:
    # The doctor's list shows each report's invoice and patient: load them in the same query.
    return list(db.session.scalars(
        db.select(InvoiceReport).where(InvoiceReport.doctor_id == doctor_id, InvoiceReport.closed_at.is_(None))
        .options(joinedload(InvoiceReport.invoice).joinedload(Invoice.patient))
        .order_by(InvoiceReport.created_at)
    ))


def close_reports(invoice: Invoice, replacement: Invoice | None = None) -> None:
    """The doctor has dealt with the reports on this invoice (voided it, maybe reissued)."""
    reports = db.session.scalars(
        db.select(InvoiceReport).where(InvoiceReport.invoice_id == invoice.id, InvoiceReport.closed_at.is_(None))
    ).all()
    for report in reports:
        report.closed_at = clock.now()
        audit.record(
            audit.INVOICE_REPORT_CLOSED, patient_id=invoice.patient_id, report_id=report.id,
            **({"replacement_id": replacement.id} if replacement else {}),
        )


# --- Notifications ------------------------------------------------------------------------------


