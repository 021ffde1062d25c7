"""Erasure: everything the portal holds on a patient goes, at once, in one transaction.

What happens to each table is declared in portal/personal_data.TABLES and done here; the
erasure sweep test (tests/privacy/test_erasure.py) walks every table afterwards. What the
fund must keep by law (claims already submitted, their invoices and statements) stays,
detached from the person, frozen, and filed under a tombstone that holds no personal data.

Files on disk are named in the result and deleted by the caller after the commit: a
transaction that fails must leave every row and every file where it was.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Text, cast, delete, or_, update
from sqlalchemy.orm import selectinload

from portal import audit
from portal.accounts.consent import new_reference
from portal.claims import counts as claim_counts
from portal.claims import paid_ibans
from portal.core import clock
from portal.documents import stored, uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.models import (
    Account,
    AccountBlock,
    ActivationCode,
    ActivationFlow,
    AuditEvent,
    Claim,
    ClaimEvent,
    ClaimState,
    ConsentReceipt,
    ContactCode,
    Credential,
    DataExport,
    DataRequest,
    DataRequestKind,
    ErasureTombstone,
    GuardianLink,
    GuardianRequest,
    IdentityRequest,
    Invoice,
    InvoiceLine,
    InvoiceReport,
    Notification,
    OutboxMessage,
    Patient,
    PendingReactivation,
    RecoveryCode,
    RegistryGuardian,
    SecurityAlert,
    TermsDecision,
    UserSession,
)

log = logging.getLogger(__name__)

# Stored in the tombstone: a record for the fund, in the language of its registers.
LEGAL_BASIS = (
    "Claims already submitted, their invoices and reimbursement statements are kept because the "
    "health fund is legally obliged to keep its reimbursement records (Luxembourg social security "
    "legislation; GDPR article 17(3)(b)). They are kept apart, detached from any account, and restricted."
)

# Keys of audit data that name a person by id.
_ID_SUFFIXES = ("patient_id", "account_id")
# Audit data about the patient that describes them (the identity check a doctor recorded).
_DESCRIPTIVE_KEYS = ("mobile_confirmed", "document_last4")


@dataclass
class Erased:
    tombstone: ErasureTombstone
    files: list[str] = field(default_factory=list)

    def delete_files(self) -> None:
        """Call after the commit. A file that cannot be removed is logged by name only."""
        for name in self.files:
            try:
                uploads.delete(name)
            except (OSError, ValueError):
                log.exception("erasure %s: a file could not be deleted", self.tombstone.reference)


def kept_claims(patient: Patient) -> list[Claim]:
    """The claims erasure keeps: every one submitted and not withdrawn, with its statement."""
    return list(db.session.scalars(
        db.select(Claim)
        .where(Claim.patient_id == patient.id, Claim.state != ClaimState.WITHDRAWN)
        .options(selectinload(Claim.statement), selectinload(Claim.invoice))
        .order_by(Claim.shared_at, Claim.id)
    ))


def still_to_decide(patient: Patient) -> int:
    """How many of the kept claims the fund must still decide (and pay, if it accepts)."""
    return db.session.scalar(db.select(db.func.count(Claim.id)).where(
        Claim.patient_id == patient.id, Claim.state.in_(ClaimState.OPEN),
    )) or 0


def _run(statement) -> int:
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount


def _ids(query) -> list[int]:
    return list(db.session.scalars(query))


def erase(patient: Patient, account: Account) -> Erased:
    """Erase the patient and their account; the caller commits, then calls `delete_files`."""
    db.session.flush()  # whatever this request changed on these rows is written before they go
    now = clock.now()
    pid, aid = patient.id, account.id
    identifiers = [value for value in (patient.matricule, patient.mobile, patient.email, patient.iban) if value]
    reference = new_reference("E")
    tombstone = ErasureTombstone(reference=reference, erased_at=now, legal_basis=LEGAL_BASIS, scope={})
    db.session.add(tombstone)
    db.session.flush()
    erased = Erased(tombstone)
    scope: dict[str, int] = {}

    # Rendered PDFs print the name, even those of kept claims: rendered again (without the
    # person, who is gone) if the fund ever needs them.
    scope["stored_documents"] = stored.forget_patient(pid)
    _claims(pid, tombstone, now, scope, erased.files)
    _invoices(pid, scope)
    _identity(patient, scope, erased.files)

    scope["exports"] = len(export_files := list(db.session.scalars(
        db.select(DataExport.file_name).where(DataExport.patient_id == pid))))
    erased.files.extend(export_files)
    _run(delete(DataExport).where(DataExport.patient_id == pid))
    scope["help_requests"], help_files = helpdesk.forget_patient(pid)
    erased.files.extend(help_files)

    # The register of requests keeps each request's kind, state and dates, not whose it was
    # nor the words exchanged (a correction names what was wrong about the person).
    scope["data_requests_kept_apart"] = _run(
        update(DataRequest).where(DataRequest.patient_id == pid).values(patient_id=None, message=None, answer=None)
    )
    db.session.add(DataRequest(
        reference=reference, patient_id=None, kind=DataRequestKind.ERASURE, state="done",
        created_at=now, closed_at=now,
    ))

    scope["guardian_links"] = _run(
        delete(GuardianLink).where(or_(GuardianLink.parent_account_id == aid, GuardianLink.child_patient_id == pid))
    )
    scope["register_guardians"] = _run(delete(RegistryGuardian).where(or_(
        RegistryGuardian.child_patient_id == pid, RegistryGuardian.guardian_patient_id == pid)))
    scope["guardian_requests"] = _run(delete(GuardianRequest).where(or_(
        GuardianRequest.child_patient_id == pid, GuardianRequest.guardian_patient_id == pid)))
    _account(aid, scope)
    _run(delete(Patient).where(Patient.id == pid))

    # Recorded before the pseudonymisation, which then strips the account from it too: the
    # erasure's own row names no one, the tombstone is what ties it to the request.
    audit.record(audit.ACCOUNT_ERASED, actor=account, tombstone=reference)
    scope["audit_events_pseudonymised"] = _pseudonymise(pid, aid, reference, identifiers)

    scope["files"] = len(erased.files)
    tombstone.scope = scope
    return erased


def _claims(pid: int, tombstone: ErasureTombstone, now, scope: dict, files: list[str]) -> None:
    """Submitted claims stay, cut from the person; withdrawn ones go. Decided ones are frozen;
    open ones stay in the staff's queues, because the fund must still decide and pay them,
    and keep the IBAN they will be paid to until then (portal/claims/paid_ibans.py)."""
    rows = db.session.execute(db.select(Claim.id, Claim.state).where(Claim.patient_id == pid)).all()
    kept = [claim_id for claim_id, state in rows if state != ClaimState.WITHDRAWN]
    dropped = [claim_id for claim_id, state in rows if state == ClaimState.WITHDRAWN]
    scope["claims_kept"], scope["claims_deleted"] = len(kept), len(dropped)

    scope["notifications"] = _run(delete(Notification).where(Notification.patient_id == pid))
    scope["consents"] = _run(delete(ConsentReceipt).where(ConsentReceipt.patient_id == pid))
    counted: Counter = Counter()  # the queue's counts, shifted once at the end (portal/claims/counts.py)
    if dropped:
        files.extend(_documents(ClaimEvent.claim_id.in_(dropped)))
        _run(delete(ClaimEvent).where(ClaimEvent.claim_id.in_(dropped)))
        gone = _changed(delete(Claim).where(Claim.id.in_(dropped)))
        counted.update(claim_counts.changes(_unfrozen(gone), -1))
    if kept:
        # The fund keeps its own steps (questions, decisions); the patient's answers and
        # documents are their data and go, leaving only the dated step.
        patient_steps = ClaimEvent.claim_id.in_(kept) & (ClaimEvent.actor_role == "patient")
        files.extend(_documents(patient_steps))
        _run(update(ClaimEvent).where(patient_steps).values(message=None, document_name=None, document_type=None))
        _run(update(Claim).where(Claim.id.in_(kept)).values(patient_id=None, retained_by_id=tombstone.id))
        _release(kept, now, counted)
        scope["ibans_removed"] = paid_ibans.remove(kept)
    claim_counts.shift(counted)


def _release(kept: list[int], now, counted: Counter) -> None:
    """The kept claims of an erased patient: the fund must decide and pay the open ones."""
    # Nobody is left to answer a question: the claim goes back to review.
    asked = _unfrozen(_changed(update(Claim).where(Claim.id.in_(kept), Claim.state == ClaimState.INFO_REQUESTED)
                               .values(state=ClaimState.IN_REVIEW, version=Claim.version + 1)))
    counted.update(claim_counts.changes(((fund, ClaimState.INFO_REQUESTED, channel) for fund, _, channel in asked), -1))
    counted.update(claim_counts.changes(asked, 1))
    # A freeze was the patient's to lift; the patient is gone and the fund must decide.
    lifted = _changed(update(Claim).where(Claim.id.in_(kept), Claim.state.in_(ClaimState.OPEN),
                                          Claim.frozen_at.is_not(None)).values(frozen_at=None))
    counted.update(claim_counts.changes(_unfrozen(lifted), 1))
    frozen = _changed(update(Claim).where(Claim.id.in_(kept), Claim.state.in_(ClaimState.DECIDED),
                                          Claim.frozen_at.is_(None)).values(frozen_at=now))
    counted.update(claim_counts.changes([row[:3] for row in frozen], -1))


def _changed(statement) -> list:
    """Run an UPDATE or DELETE of claims: (fund, state, channel, frozen_at) of each row it
    changed, as the UPDATE left it."""
    return db.session.execute(
        statement.returning(Claim.fund, Claim.state, Claim.channel, Claim.frozen_at)
        .execution_options(synchronize_session=False)
    ).all()


def _unfrozen(rows: list) -> list:
    return [(fund, state, channel) for fund, state, channel, frozen_at in rows if frozen_at is None]


def _documents(condition) -> list[str]:
    return list(db.session.scalars(
        db.select(ClaimEvent.document_name).where(condition, ClaimEvent.document_name.is_not(None))
    ))


def _invoices(pid: int, scope: dict) -> None:
    """Invoices of kept claims stay (detached; the matricule printed on them is part of the
    record); every other invoice goes with its lines and the reports on it."""
    # Withdrawn claims are gone by now: any claim left on an invoice is a kept one.
    claimed = db.select(Claim.id).where(Claim.invoice_id == Invoice.id).exists()
    doomed = _ids(db.select(Invoice.id).where(Invoice.patient_id == pid, ~claimed))
    scope["invoice_reports"] = _run(delete(InvoiceReport).where(InvoiceReport.patient_id == pid))
    if doomed:
        _run(update(Invoice).where(Invoice.replaces_id.in_(doomed)).values(replaces_id=None))
        _run(delete(Notification).where(Notification.invoice_id.in_(doomed)))
        _run(delete(InvoiceReport).where(InvoiceReport.invoice_id.in_(doomed)))
        _run(delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(doomed)))
        _run(delete(Invoice).where(Invoice.id.in_(doomed)))
    scope["invoices_deleted"] = len(doomed)
    scope["invoices_kept"] = _run(update(Invoice).where(Invoice.patient_id == pid).values(patient_id=None))


def _identity(patient: Patient, scope: dict, files: list[str]) -> None:
    """Activation codes, identity requests (by id or by the matricule typed in), messages."""
    pid = patient.id
    codes_of = db.select(ActivationCode.id).where(
        or_(ActivationCode.patient_id == pid, ActivationCode.guardian_patient_id == pid))
    scope["activation_flows"] = _run(delete(ActivationFlow).where(ActivationFlow.code_id.in_(codes_of)))
    scope["contact_codes"] = _run(delete(ContactCode).where(ContactCode.patient_id == pid))
    scope["activation_codes"] = _run(
        delete(ActivationCode).where(or_(ActivationCode.patient_id == pid, ActivationCode.guardian_patient_id == pid))
    )
    mine = or_(IdentityRequest.patient_id == pid, IdentityRequest.matricule == patient.matricule)
    files.extend(db.session.scalars(
        db.select(IdentityRequest.document_name).where(mine, IdentityRequest.document_name.is_not(None))
    ))
    _run(update(ActivationCode).where(
        ActivationCode.identity_request_id.in_(db.select(IdentityRequest.id).where(mine))
    ).values(identity_request_id=None))
    scope["identity_requests"] = _run(delete(IdentityRequest).where(mine))
    contacts = [value for value in (patient.mobile, patient.email) if value]
    scope["outbox_messages"] = _run(delete(OutboxMessage).where(or_(
        OutboxMessage.patient_id == pid,
        OutboxMessage.patient_id.is_(None) & OutboxMessage.recipient.in_(contacts),
    )))


def _account(aid: int, scope: dict) -> None:
    """The account and all that hangs from it; every session ends with its row."""
    # Consents a parent gave in a child's space are the child's records: only the link to
    # the parent's account goes.
    _run(update(ConsentReceipt).where(ConsentReceipt.account_id == aid).values(account_id=None))
    scope["sessions"] = _run(delete(UserSession).where(UserSession.account_id == aid))
    scope["recovery_codes"] = _run(delete(RecoveryCode).where(RecoveryCode.account_id == aid))
    scope["terms_decisions"] = _run(delete(TermsDecision).where(TermsDecision.account_id == aid))
    scope["activation_flows"] = scope.get("activation_flows", 0) + _run(
        delete(ActivationFlow).where(ActivationFlow.account_id == aid))
    scope["reactivations"] = _run(delete(PendingReactivation).where(PendingReactivation.account_id == aid))
    scope["security_alerts"] = _run(delete(SecurityAlert).where(SecurityAlert.account_id == aid))
    # Blocks the person set or ended stay (staff's own record), cut from the erased account.
    _run(update(AccountBlock).where(AccountBlock.created_by_id == aid).values(created_by_id=None))
    _run(update(AccountBlock).where(AccountBlock.ended_by_id == aid).values(ended_by_id=None))
    scope["account_blocks"] = _run(delete(AccountBlock).where(AccountBlock.account_id == aid))
    _run(delete(Credential).where(Credential.account_id == aid))
    _run(update(Patient).where(Patient.account_id == aid).values(account_id=None))
    scope["account"] = _run(delete(Account).where(Account.id == aid))


def _pseudonymise(pid: int, aid: int, reference: str, identifiers: list[str]) -> int:
    """Audit rows about the patient or by their account keep what happened and when, not who.

    `subject` (the patient the row was about) and `actor` (who acted) become the tombstone's
    reference, so the fund can still count events without knowing the person.
    """
    text = cast(AuditEvent.data, Text)
    rows = db.session.scalars(db.select(AuditEvent).where(or_(
        AuditEvent.patient_id == pid,
        AuditEvent.actor_account_id == aid,
        # Ids inside the data (a parent's activation names the guardian, a space switch the
        # child): a coarse text match, checked exactly below.
        text.like(f'%patient_id": {pid}%'),
        text.like(f'%account_id": {aid}%'),
        *(text.like(f"%{value}%") for value in identifiers),
    ))).all()
    touched = 0
    for row in rows:
        touched += _pseudonymise_row(row, pid, aid, reference, identifiers)
    return touched


def _pseudonymise_row(row: AuditEvent, pid: int, aid: int, reference: str, identifiers: list[str]) -> bool:
    data = dict(row.data or {})
    own_action = row.actor_account_id == aid or (row.actor_account_id is None and row.patient_id == pid)
    changed = False
    if row.patient_id == pid:
        row.patient_id = None
        data["subject"] = reference
        for key in _DESCRIPTIVE_KEYS:
            data.pop(key, None)
        changed = True
    if row.actor_account_id == aid:
        row.actor_account_id = None
        data["actor"] = reference
        changed = True
    if own_action and row.ip is not None:
        row.ip = None
        changed = True
    changed = _drop_identifiers(data, pid, aid, identifiers) or changed
    if changed:
        row.data = data
    return changed


def _drop_identifiers(data: dict, pid: int, aid: int, identifiers: list[str]) -> bool:
    dropped = False
    for key, value in list(data.items()):
        names_id = key.endswith(_ID_SUFFIXES) and value in ((pid,) if key.endswith("patient_id") else (aid,))
        if names_id or (isinstance(value, str) and value in identifiers):
            del data[key]
            dropped = True
    return dropped
