"""Access: everything the portal holds about a patient, group by group (with why, from
where, for whom and how long). Read only: the rights that change something are in
portal/privacy/rights.py, and who accessed the data is in portal/privacy/accesses.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Text

from portal import audit
from portal.extensions import db
from portal.models import (
    Account,
    AuditEvent,
    Claim,
    ConsentReceipt,
    DataExport,
    DataRequest,
    HelpRequest,
    IdentityRequest,
    Invoice,
    Notification,
    OutboxMessage,
    Patient,
    TermsDecision,
    TermsVersion,
)
from portal.models.types import UTCDateTime
from portal.privacy import export, retention

# What the account group shows: the account's own security history, not every page view.
SECURITY_EVENTS = tuple(event.name for event in (
    audit.SIGNIN_SUCCEEDED, audit.SIGNIN_FAILED, audit.ACCOUNT_LOCKED, audit.SESSIONS_REVOKED,
    audit.PASSWORD_CHANGED, audit.TOTP_ENROLLED, audit.RECOVERY_CODES_ISSUED, audit.RECOVERY_CODE_USED,
    audit.ACTIVATION_COMPLETED, audit.CONTACT_CHANGED, audit.BANK_ACCOUNT_CHANGED, audit.CONSENT_WITHDRAWN,
    audit.CONSENT_RESTORED,
))
RECENT_EVENTS = 10
RECENT_CONSENTS = 20
RECENT_REQUESTS = 50


# --- Access: what the portal holds ------------------------------------------------------------

@dataclass(frozen=True)
class About:
    title: str
    purpose: str
    source: str
    recipients: str
    retention: str


# Why each group of personal_data.GROUPS exists, in plain words, in the order shown.
ABOUT = {
    "identity": About(
        _l("Identity, contact details and bank account"),
        _l("To recognise you, to tell you about your claims and to pay your reimbursements."),
        _l("Your name, date of birth, identification number and health fund come from the national register "
           "of insured persons. You gave your mobile number, e-mail address, language and bank account."),
        _l("Your health fund. Your doctors see your name and identification number when they write an invoice."),
        _l("As long as your account exists. The register of insured persons itself is kept by the health fund."),
    ),
    "account": About(
        _l("Account and security"),
        _l("To protect your account: sign-in, one-time codes, sessions and changes to your details."),
        _l("Your use of the portal."),
        _l("Nobody outside the portal's operator. Your password and codes are stored so that nobody can read them."),
        _l("Security events 13 months; the account until you delete it."),
    ),
    "terms": About(
        _l("Terms of use"),
        _l("To show which version of the terms of use you accepted or refused, and when."),
        _l("Your decisions."),
        _l("The CNS, which runs the portal."),
        _l("As long as your account exists."),
    ),
    "invoices": About(
        _l("Invoices"),
        _l("To show you your doctors' invoices and let you send them to your health fund."),
        _l("The doctors who treated you."),
        _l("You and the doctor who wrote the invoice; your health fund only once you send it."),
        _l("Two years from the day the invoice was written, then deleted. An invoice you sent stays with its claim."),
    ),
    "claims": About(
        _l("Claims and reimbursement statements"),
        _l("To handle your requests for reimbursement."),
        _l("Your choice to send an invoice, and the decisions of the health fund's staff."),
        _l("The CNS, which passes the claims of the other public health funds on to them."),
        _l("The documents you attach stay available two years. The claims themselves are part of the health "
           "fund's legal record: the fund keeps them, even after your account is deleted."),
    ),
    "consents": About(
        _l("Consents"),
        _l("To prove each choice you made to send an invoice to the health fund."),
        _l("You (or a parent acting for you)."),
        _l("Your health fund."),
        _l("As long as the claim it concerns is in the portal, and until you delete your account."),
    ),
    "notifications": About(
        _l("Notifications and messages"),
        _l("To tell you when a claim moves on, and to send you activation codes."),
        _l("The portal."),
        _l("You. Text messages and e-mails pass through the provider that delivers them."),
        _l("Until you delete your account."),
    ),
    "identity_requests": About(
        _l("Identity requests"),
        _l("To check your identity when you asked for an account without going through a doctor."),
        _l("You: the details and the photo of your identity document you sent."),
        _l("The CNS staff who check identity requests."),
        _l("The photo is deleted as soon as the request is decided; the request until you delete your account."),
    ),
    "data_requests": About(
        _l("Your requests about your data"),
        _l("To keep track of the requests you make about your personal data and of the answers."),
        _l("You, and the health fund's staff who answer."),
        _l("The CNS staff who handle data-protection requests."),
        _l("Kept as the fund's register of requests; after an erasure, without any link to you."),
    ),
    "help_requests": About(
        _l("Messages to the health fund"),
        _l("To answer what you asked the fund through \"Contact the fund\"."),
        _l("You: your messages and any document you attached; the fund's staff: their answers."),
        _l("The staff of your health fund who answer messages."),
        _l("Three years after the last answer, then deleted; at once if you delete your account."),
    ),
    "access_log": About(
        _l("Access log"),
        _l("To record every access to your data, so that you can see who looked at what, and when."),
        _l("The portal, at each access."),
        _l("You, and the people who check that accesses were justified."),
        _l("13 months, then deleted."),
    ),
}


@dataclass
class Overview:
    counts: dict[str, int]
    last_terms: tuple[int, bool, datetime] | None  # (version, accepted, when)
    last_identity_request: tuple[str, datetime, datetime | None] | None  # (status, filed, decided)
    security_events: list[AuditEvent] = field(default_factory=list)
    consents: list[tuple[ConsentReceipt, str]] = field(default_factory=list)  # (receipt, claim reference)
    requests: list[DataRequest] = field(default_factory=list)
    # Read with the counts, each saving the page a statement. The account stays referenced here
    # so that `patient.account` finds it in the session (a child's, in a child's space).
    account: Account | None = None
    live_export: DataExport | None = None  # export.live_for's


def _count(model, *where):
    return db.select(db.func.count()).select_from(model).where(*where).scalar_subquery()


def _latest(column, order, *where):
    return db.select(column).where(*where).order_by(order.desc()).limit(1).scalar_subquery()


def overview(patient: Patient) -> Overview:
    """Everything the access view shows, in three queries whatever the volumes: the counts,
    latest decisions, account and live export in one, then the short lists."""
    pid, account_id = patient.id, patient.account_id
    cutoff = retention.log_cutoff()
    terms = (TermsDecision.account_id == account_id,)
    identity = (IdentityRequest.patient_id == pid,)
    row = db.session.execute(db.select(
        Account, DataExport,
        _count(Invoice, Invoice.patient_id == pid).label("invoices"),
        _count(Claim, Claim.patient_id == pid).label("claims"),
        _count(ConsentReceipt, ConsentReceipt.patient_id == pid).label("consents"),
        _count(Notification, Notification.patient_id == pid).label("notifications"),
        _count(OutboxMessage, OutboxMessage.patient_id == pid).label("messages"),
        _count(IdentityRequest, *identity).label("identity_requests"),
        _count(HelpRequest, HelpRequest.patient_id == pid).label("help_requests"),
        _count(AuditEvent, AuditEvent.patient_id == pid, AuditEvent.occurred_at >= cutoff).label("accesses"),
        _latest(TermsVersion.number, TermsDecision.decided_at, *terms,
                TermsVersion.id == TermsDecision.terms_version_id).label("terms_version"),
        _latest(TermsDecision.is_accepted, TermsDecision.decided_at, *terms).label("terms_accepted"),
        _latest(TermsDecision.decided_at, TermsDecision.decided_at, *terms).label("terms_at"),
        _latest(IdentityRequest.status, IdentityRequest.created_at, *identity).label("identity_status"),
        _latest(IdentityRequest.created_at, IdentityRequest.created_at, *identity).label("identity_filed"),
        _latest(IdentityRequest.decided_at, IdentityRequest.created_at, *identity).label("identity_decided"),
    ).select_from(Patient).where(Patient.id == pid)
        .outerjoin(Account, Account.id == Patient.account_id)
        .outerjoin(DataExport, DataExport.id == export.live_id(pid))).one()
    counts = {name: getattr(row, name) or 0 for name in (
        "invoices", "claims", "consents", "notifications", "messages", "identity_requests", "help_requests",
        "accesses")}
    result = Overview(
        counts=counts,
        last_terms=(row.terms_version, bool(row.terms_accepted), row.terms_at) if row.terms_version else None,
        last_identity_request=(
            (row.identity_status, row.identity_filed, row.identity_decided)
            if row.identity_status else None
        ),
        account=row.Account, live_export=row.DataExport,
    )
    if account_id is not None:
        result.security_events = list(db.session.scalars(
            db.select(AuditEvent).where(
                AuditEvent.actor_account_id == account_id, AuditEvent.event.in_(SECURITY_EVENTS),
                AuditEvent.occurred_at >= cutoff,
            ).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(RECENT_EVENTS)
        ))
    result.consents, result.requests = _consents_and_requests(pid)
    return result


def _consents_and_requests(pid: int) -> tuple[list[tuple[ConsentReceipt, str]], list[DataRequest]]:
    """Both short lists in one UNION ALL, to keep the page within its query budget; the
    rows come back as detached objects the templates read like any other."""
    def none(type_, name):
        # A typed, named NULL: PostgreSQL matches the branches' column types one by one.
        return db.cast(db.null(), type_).label(name)

    consents = (
        db.select(db.literal("consent").label("row"), ConsentReceipt.id, Claim.reference,
                  ConsentReceipt.given_at.label("at"), ConsentReceipt.method.label("first"),
                  ConsentReceipt.recipient_fund.label("second"), db.cast(ConsentReceipt.invoice_number, Text)
                  .label("text"), none(Text, "answer"), none(UTCDateTime, "closed_at"), ConsentReceipt.claim_id,
                  ConsentReceipt.account_id)
        .join(Claim, Claim.id == ConsentReceipt.claim_id).where(ConsentReceipt.patient_id == pid)
        .order_by(ConsentReceipt.given_at.desc(), ConsentReceipt.id.desc()).limit(RECENT_CONSENTS)
    )
    requests = (
        db.select(db.literal("request").label("row"), DataRequest.id, DataRequest.reference,
                  DataRequest.created_at.label("at"), DataRequest.kind.label("first"), DataRequest.state.label("second"),
                  DataRequest.message.label("text"), DataRequest.answer, DataRequest.closed_at,
                  none(Integer, "claim_id"), none(Integer, "account_id"))
        .where(DataRequest.patient_id == pid)
        .order_by(DataRequest.created_at.desc(), DataRequest.id.desc()).limit(RECENT_REQUESTS)
    )
    # SQLite accepts ORDER BY and LIMIT in a compound select only inside a subquery.
    both = db.union_all(*(db.select(part.subquery()) for part in (consents, requests)))
    found_consents, found_requests = [], []
    for row in db.session.execute(both):
        kind, row_id, reference, at, first, second, text, answer, closed_at, claim_id, account_id = row
        if kind == "consent":
            found_consents.append((ConsentReceipt(
                id=row_id, claim_id=claim_id, patient_id=pid, account_id=account_id, method=first,
                recipient_fund=second, invoice_number=text, given_at=at,
            ), reference))
        else:
            found_requests.append(DataRequest(
                id=row_id, reference=reference, patient_id=pid, kind=first, state=second, message=text,
                answer=answer, created_at=at, closed_at=closed_at,
            ))
    found_consents.sort(key=lambda pair: (pair[0].given_at, pair[0].id), reverse=True)
    found_requests.sort(key=lambda filed: (filed.created_at, filed.id), reverse=True)
    return found_consents, found_requests
