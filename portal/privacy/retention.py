"""Retention: what the portal deletes once its time is over (`flask --app app purge`).

- Documents are kept two years: invoices from their issue, documents a patient attached to
  a claim from the day they were sent. An invoice that went to the fund stays with its
  claim, which the fund keeps as its legal record; only unshared invoices (or ones whose
  claims were all withdrawn) go.
- An invoice's or statement's stored PDFs (portal/documents/stored.py) go with it: the
  database deletes them by foreign key.
- The audit trail (the technical log) is kept 13 months.
- A message to the fund ("Contact the fund") and its answers are kept three years from the last
  answer (or from the message, while none came), then go with their attachment.
- A doctor's or agent's account closed 12 months ago keeps only what the audit trail needs
  (portal/professionals/former.py).
- An activation under way (its server-side flow) goes once it has expired: it is of no use after.
- The bank account of an erased patient's claim goes once the claim is paid or rejected
  (portal/claims/paid_ibans.py).
- A restriction (a claim the patient froze) or a legal hold (a claim kept after the
  patient's erasure) protects the claim's documents and its invoice from the purge.

Every step only deletes what is past its date, so running the purge twice deletes
nothing more; it audits itself with the counts.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from sqlalchemy import delete, exists, or_

from portal import audit
from portal.claims import paid_ibans
from portal.core import clock
from portal.documents import uploads
from portal.extensions import db
from portal.helpdesk import requests as helpdesk
from portal.invoicing import invoices
from portal.models import ActivationFlow, AuditEvent, Claim, ClaimEvent, ClaimState, Invoice
from portal.privacy import export
from portal.professionals import former

DOCUMENT_YEARS = invoices.RETENTION_YEARS
HELP_YEARS = 3
LOG_MONTHS = 13


def months_before(moment: datetime, months: int) -> datetime:
    """The same day `months` earlier (31 March less one month is the last day of February)."""
    years, index = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def log_cutoff(now: datetime | None = None) -> datetime:
    """Audit rows older than this are gone (and the access log shows nothing older)."""
    return months_before(now or clock.now(), LOG_MONTHS)


def _protected(claim=Claim):
    """A claim the purge must not touch: frozen by its patient, or kept after an erasure."""
    return or_(claim.frozen_at.is_not(None), claim.retained_by_id.is_not(None))


def purge() -> dict[str, int]:
    """Run every purge; returns counts by kind. The caller commits."""
    now = clock.now()
    counts = {
        "invoices": _purge_invoices(now),
        "claim_documents": _purge_claim_documents(now),
        "audit_events": _purge_logs(now),
        "exports": export.purge_expired(),
        "paid_ibans": paid_ibans.remove(),
        "activation_flows": _purge_activation_flows(now),
        "help_requests": helpdesk.purge(invoices.add_years(now, -HELP_YEARS)),
        "former_accounts": former.reduce_due(months_before(now, former.KEPT_MONTHS), now),
    }
    # Uploads a killed worker left waiting for a commit (every upload also does this first).
    uploads.sweep()
    audit.record(audit.DOCUMENTS_PURGED, actor=None, invoices=counts["invoices"],
                 claim_documents=counts["claim_documents"])
    audit.record(audit.LOGS_PURGED, actor=None, events=counts["audit_events"])
    audit.record(audit.HELP_REQUESTS_PURGED, actor=None, requests=counts["help_requests"])
    return counts


def purge_job() -> None:
    """The retention purge as a repeating job (`flask --app app scheduler`); cron may run `flask purge`."""
    purge()
    db.session.commit()


def _purge_activation_flows(now: datetime) -> int:
    return db.session.execute(
        delete(ActivationFlow).where(ActivationFlow.expires_at <= now).execution_options(synchronize_session=False)
    ).rowcount


def _purge_invoices(now: datetime) -> int:
    live_or_protected = exists().where(
        Claim.invoice_id == Invoice.id, or_(Claim.state != ClaimState.WITHDRAWN, _protected())
    )
    expired = db.session.scalars(
        db.select(Invoice).where(Invoice.expires_at <= now, ~live_or_protected)
    ).all()
    if not expired:
        return 0
    # Withdrawn claims never reached a decision: they go with their invoice (their events,
    # consent receipts and notices follow by cascade).
    ids = [invoice.id for invoice in expired]
    for claim in db.session.scalars(db.select(Claim).where(Claim.invoice_id.in_(ids))):
        _drop_files(claim.events)
        db.session.delete(claim)
    db.session.flush()
    for invoice in expired:
        db.session.delete(invoice)
    db.session.flush()
    return len(expired)


def _purge_claim_documents(now: datetime) -> int:
    cutoff = invoices.add_years(now, -DOCUMENT_YEARS)
    events = db.session.scalars(
        db.select(ClaimEvent).join(Claim, Claim.id == ClaimEvent.claim_id).where(
            ClaimEvent.document_name.is_not(None), ClaimEvent.at <= cutoff, ~_protected(),
        )
    ).all()
    _drop_files(events)
    return len(events)


def _drop_files(events) -> None:
    # The row forgets the file first; a file left behind by a failed commit is unreadable
    # without its row (random name, encrypted), and the staff page already answers 404
    # for a document that is gone.
    for event in events:
        if event.document_name:
            name, event.document_name, event.document_type = event.document_name, None, None
            uploads.delete(name)


def _purge_logs(now: datetime) -> int:
    result = db.session.execute(
        delete(AuditEvent).where(AuditEvent.occurred_at < log_cutoff(now)).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0

