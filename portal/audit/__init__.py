"""The audit trail: declared events, written in the caller's transaction.

Events never carry secrets or medical content: only ids and short, declared fields.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from flask import has_request_context, request
from flask_login import current_user

from portal.core import clock, reading
from portal.extensions import db
from portal.models import AuditEvent


@dataclass(frozen=True)
class EventType:
    name: str
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    # Someone read data (a page, a document, a look-up, a refused attempt): the row stands on
    # its own, whatever else the request does after it (record()).
    is_read: bool = False


def _declare(name: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = (), *,
             is_read: bool = False) -> EventType:
    event = EventType(name, frozenset(required), frozenset(optional), is_read)
    EVENTS[name] = event
    return event


EVENTS: dict[str, EventType] = {}

SIGNIN_SUCCEEDED = _declare("signin.succeeded", optional=("method",))
SIGNIN_FAILED = _declare("signin.failed", ("stage", "reason"))
ACCOUNT_LOCKED = _declare("account.locked", ("failures",), ("until",))
SESSION_LOCKED = _declare("session.locked")
SESSION_UNLOCKED = _declare("session.unlocked")
SIGNED_OUT = _declare("signout", ("reason",))
SESSIONS_REVOKED = _declare("sessions.revoked", ("count", "scope"))
TOTP_ENROLLED = _declare("totp.enrolled")
RECOVERY_CODE_USED = _declare("recovery_code.used", ("remaining",))
RECOVERY_CODES_ISSUED = _declare("recovery_codes.issued", ("count",))
PASSWORD_CHANGED = _declare("password.changed", ("method",))
TERMS_ACCEPTED = _declare("terms.accepted", ("version",))
TERMS_REFUSED = _declare("terms.refused", ("version",))
TERMS_PUBLISHED = _declare("terms.published", ("version",))
ACCOUNT_CREATED = _declare("account.created", ("role",), ("by",))
# An operator cleared an account's failures and lock (`flask --app app accounts unlock`).
ACCOUNT_UNLOCKED = _declare("account.unlocked", ("account_id", "failures"))
REGISTRY_IMPORTED = _declare("registry.imported", ("created", "updated"))
# One person's entry, written by a registry import: the names of the fields, never their values.
REGISTRY_ENTRY_CREATED = _declare("registry.entry_created", ("fields",))
REGISTRY_ENTRY_UPDATED = _declare("registry.entry_updated", ("fields",))
LANGUAGE_CHANGED = _declare("account.language_changed", ("language",))
ACTIVATION_ISSUED = _declare(
    "activation.issued", ("code_id", "channel"), ("document_type", "document_last4", "mobile_confirmed", "guardian_patient_id")
)
ACTIVATION_REVOKED = _declare("activation.revoked", ("code_id", "reason"))
ACTIVATION_BIRTH_DATE_FAILED = _declare("activation.birth_date_failed", ("code_id", "failures"))
ACTIVATION_REDEEMED = _declare("activation.redeemed", ("code_id",), ("for_child",))
ACTIVATION_COMPLETED = _declare("activation.completed", ("account_id",))
# The steps of an activation flow (portal.activation.flows): begun with a code, the register's
# contact code checked, or no contact to send it to, so CNS staff are asked to confirm the person.
ACTIVATION_FLOW_STARTED = _declare("activation.flow_started", ("code_id", "flow_id"))
# An unfinished first activation taken up again (portal.activation.resume): by the code's link
# and its proofs, or by signing in with the password chosen; `step` is where it goes on.
ACTIVATION_RESUMED = _declare("activation.resumed", ("code_id", "step", "by"))
ACTIVATION_BIRTH_DATE_CHECKED = _declare("activation.birth_date_checked", ("code_id",))
ACTIVATION_CONTACT_CODE_CHECKED = _declare("activation.contact_code_checked", ("code_id",))
ACTIVATION_STAFF_REQUESTED = _declare("activation.staff_requested", ("code_id",))
ACTIVATION_STAFF_CONFIRMED = _declare("activation.staff_confirmed", ("code_id",))
ACTIVATION_REFUSED_BLOCKED = _declare("activation.refused_blocked", ("code_id",))
# A new activation of an account that already works (portal.accounts.reactivation): scheduled after the
# wait, cancelled by the owner, the wait waived by staff, applied when due.
REACTIVATION_SCHEDULED = _declare("reactivation.scheduled", ("reactivation_id", "effective_at"))
REACTIVATION_CANCELLED = _declare("reactivation.cancelled", ("reactivation_id", "by"))
REACTIVATION_WAIVED = _declare("reactivation.waived", ("reactivation_id",))
REACTIVATION_APPLIED = _declare("reactivation.applied", ("reactivation_id", "sessions"))
GUARDIAN_LINKED = _declare("guardian.linked", ("child_patient_id",))
GUARDIAN_LINK_ENDED = _declare("guardian.link_ended", ("child_patient_id", "reason"))
SPACE_SWITCHED = _declare("space.switched", ("to_patient_id",))
IDENTITY_REQUEST_FILED = _declare("identity_request.filed", ("request_id",))
IDENTITY_REQUEST_VIEWED = _declare("identity_request.viewed", ("request_id",), ("document",), is_read=True)
IDENTITY_REQUEST_DECIDED = _declare("identity_request.decided", ("request_id", "decision"))
PATIENT_LOOKED_UP = _declare("patient.looked_up", ("purpose",), is_read=True)
INVOICE_ISSUED = _declare("invoice.issued", ("invoice_id", "channel"))
INVOICE_VOIDED = _declare("invoice.voided", ("invoice_id",))
INVOICE_VIEWED = _declare("invoice.viewed", ("invoice_id",), ("document",), is_read=True)
DOCUMENTS_PURGED = _declare("documents.purged", ("invoices",), ("claim_documents",))
CLAIM_SHARED = _declare("claim.shared", ("claim_id", "invoice_id", "method"))
CLAIM_WITHDRAWN = _declare("claim.withdrawn", ("claim_id",))
CLAIM_RECEIVED_ON_PAPER = _declare("claim.paper_received", ("claim_id", "invoice_id"), ("receipt_seen",))
# Direct immediate payment: the doctor's claim, created as the invoice is issued, with how the
# patient agreed (portal.claims.direct_payment).
CLAIM_DIRECT_SUBMITTED = _declare("claim.direct_submitted", ("claim_id", "invoice_id", "consent_by", "consent_method"))
DOCTOR_BANK_ACCOUNT_CHANGED = _declare("doctor.bank_account_changed")
# The doctor read or downloaded what the fund paid them (names and amounts of their patients).
DOCTOR_PAYMENTS_VIEWED = _declare("doctor.payments_viewed", ("claims",), ("document",), is_read=True)
CLAIM_TAKEN_UP = _declare("claim.taken_up", ("claim_id",))
CLAIM_INFO_REQUESTED = _declare("claim.info_requested", ("claim_id",))
CLAIM_INFO_ANSWERED = _declare("claim.info_answered", ("claim_id",), ("document",))
CLAIM_DECIDED = _declare("claim.decided", ("claim_id", "decision"), ("adjusted", "reason"))
# The agent who rejected a claim took the rejection back within portal.claims.undo.WINDOW.
CLAIM_DECISION_UNDONE = _declare("claim.decision_undone", ("claim_id", "decision"), ("reason",))
CLAIM_VIEWED = _declare("claim.viewed", ("claim_id",), ("document",), is_read=True)
STATEMENT_VIEWED = _declare("statement.viewed", ("statement_id",), ("document",), is_read=True)
AUTO_SHARE_CHANGED = _declare("auto_share.changed", ("enabled",))
BANK_ACCOUNT_CHANGED = _declare("bank_account.changed")
INVOICE_REPORTED = _declare("invoice.reported", ("invoice_id", "report_id"))
INVOICE_REPORT_CLOSED = _declare("invoice.report_closed", ("report_id",), ("replacement_id",))
CLAIM_STATISTICS_VIEWED = _declare("claim.statistics_viewed", ("date_from", "date_to"), is_read=True)
CONTACT_CHANGED = _declare("contact.changed", ("fields",))
DATA_REQUEST_FILED = _declare("data_request.filed", ("request_id", "kind"))
DATA_REQUEST_VIEWED = _declare("data_request.viewed", ("request_id",), is_read=True)
DATA_REQUEST_ANSWERED = _declare("data_request.answered", ("request_id", "state"))
EXPORT_CREATED = _declare("export.created", ("export_id",))
EXPORT_DOWNLOADED = _declare("export.downloaded", ("export_id",), is_read=True)
CLAIM_FROZEN = _declare("claim.frozen", ("claim_id",))
CLAIM_UNFROZEN = _declare("claim.unfrozen", ("claim_id",))
OBJECTION_CHANGED = _declare("objection.changed", ("objects",))
CONSENT_WITHDRAWN = _declare("consent.withdrawn")
CONSENT_RESTORED = _declare("consent.restored")
ACCOUNT_ERASED = _declare("account.erased", ("tombstone",))
LOGS_PURGED = _declare("logs.purged", ("events",))
# A code sent to a contact the register holds (portal.accounts.contact_codes): never the code itself.
CONTACT_CODE_SENT = _declare("contact_code.sent", ("purpose", "channel"))
CONTACT_CODE_FAILED = _declare("contact_code.failed", ("purpose",))
# A "this wasn't me" alert sent to the owner on every register contact (portal.accounts.security_alerts).
SECURITY_ALERT_SENT = _declare("security_alert.sent", ("kind", "contacts"))
SECURITY_ALERT_USED = _declare("security_alert.used", ("kind",))
# An account blocked for its safety, and the block lifted (portal.accounts.blocking).
ACCOUNT_BLOCKED = _declare("account.blocked", ("account_id", "source"))
ACCOUNT_UNBLOCKED = _declare("account.unblocked", ("account_id",))
# An operator gave a doctor's or staff member's account a new temporary password
# (`flask --app app accounts reset-password`); every session of the account ended.
ACCOUNT_PASSWORD_RESET = _declare("account.password_reset", ("account_id", "sessions"))
# Staff accepted a claim paid to a bank account changed within IBAN_HOLD_HOURS, after ticking
# that they checked it belongs to the patient.
IBAN_CHANGE_CONFIRMED = _declare("claim.iban_change_confirmed", ("claim_id",))
# A doctor asked for a parental link the register does not hold; CNS staff confirmed or
# refused it after checking a family document (portal.accounts.guardian_register).
GUARDIAN_LINK_REQUESTED = _declare("guardian.link_requested", ("request_id",))
GUARDIAN_LINK_DECIDED = _declare("guardian.link_decided", ("request_id", "decision"))
GUARDIAN_REQUEST_VIEWED = _declare("guardian.request_viewed", ("request_id",), is_read=True)
# The IBAN of an erased patient's claim, removed once the claim was decided (paid or not).
CLAIM_IBAN_REMOVED = _declare("claim.iban_removed", ("claim_id",))
# A doctor or agent who left: the account closed, every session ended, the doctor's pending
# activation codes revoked (portal.professionals.operators.deactivate). `by` is "operator" or "staff".
ACCOUNT_DEACTIVATED = _declare("account.deactivated", ("account_id", "by", "sessions", "codes"))
# The purge reduced a former doctor's or agent's identification data, 12 months after the
# account was closed (portal.professionals.former).
IDENTIFICATION_REDUCED = _declare("account.identification_reduced", ("account_id",))
# An operator granted or withdrew a CNS agent's administration (publishing terms, blocking accounts).
ADMINISTRATOR_GRANTED = _declare("staff.administrator_granted", ("account_id",))
ADMINISTRATOR_REVOKED = _declare("staff.administrator_revoked", ("account_id",))
# An administrator looked an account up by its login on the staff administration page.
ACCOUNT_LOOKED_UP = _declare("account.looked_up", ("account_id",), is_read=True)
# The help desk (portal.helpdesk): a message to the fund filed (by a patient, a doctor, or someone
# not signed in: `source`), opened by an agent (its attachment: `document`), answered; and the
# retention purge of messages three years after their last reply.
HELP_REQUEST_FILED = _declare("help_request.filed", ("request_id", "source"))
HELP_REQUEST_VIEWED = _declare("help_request.viewed", ("request_id",), ("document",), is_read=True)
HELP_REQUEST_ANSWERED = _declare("help_request.answered", ("request_id",))
HELP_REQUESTS_PURGED = _declare("help_requests.purged", ("requests",))
# A signed-in user asked for an object that is not theirs, or does not exist (answered 404):
# the view, what the id names (claim, invoice, event, code, request, session, export, patient:
# the URL argument without "_id"), and the id when it is a plain number, never a secret.
ACCESS_REFUSED = _declare("access.refused", ("endpoint", "object"), ("object_id",), is_read=True)
# An operator scheduled or cancelled a maintenance window (flask --app app maintenance …).
MAINTENANCE_SCHEDULED = _declare("maintenance.scheduled", ("window_id", "starts_at", "ends_at"))
MAINTENANCE_CANCELLED = _declare("maintenance.cancelled", ("window_id",))

# Keys that must never reach the trail, whatever a caller passes.
_FORBIDDEN = {"password", "code", "secret", "token", "totp", "iban", "recovery_code"}


class AuditError(ValueError):
    pass


def client_address() -> str | None:
    """The client's IP address, or None when remote_addr is not one.

    Behind TRUSTED_PROXIES, ProxyFix takes remote_addr from X-Forwarded-For; with one proxy
    more configured than there is, that is whatever the client wrote, which must not be
    stored as if it were an address (nor break the 45-character column)."""
    try:
        address = str(ipaddress.ip_address(request.remote_addr or ""))
    except ValueError:
        return None
    return address if len(address) <= 45 else None  # an IPv6 zone id can make it longer


def record(
    event: EventType,
    *,
    actor=None,
    patient_id: int | None = None,
    **data,
) -> None:
    """Write an audit row in the current transaction; the caller commits with its change.

    Written with a plain INSERT at once, not added to the session for its next flush: a page
    that only reads writes one row, and the session's unit of work (an ORM object, the flush,
    the new id read back) cost more than the INSERT itself. Nobody reads the row back.

    A read (`is_read`) in a page that has written nothing yet is committed on its own, by the
    INSERT itself (portal/core/reading.py): the data was read, so the access is traced even if
    the page then fails, and the page needs no BEGIN and COMMIT. Every other event waits for
    the commit of the change it traces."""
    keys = set(data)
    missing = event.required - keys
    unknown = keys - event.required - event.optional
    if missing or unknown or keys & _FORBIDDEN:
        raise AuditError(f"{event.name}: missing {sorted(missing)}, unexpected {sorted(unknown)}")
    if actor is None and has_request_context() and getattr(current_user, "is_authenticated", False):
        actor = current_user
    db.session.execute(_ON_ITS_OWN if event.is_read else _INSERT, {
        "occurred_at": clock.now(),
        "event": event.name,
        "actor_account_id": actor.id if actor is not None else None,
        "actor_role": actor.role if actor is not None else None,
        "ip": client_address() if has_request_context() else None,
        "patient_id": patient_id,
        "data": data,
    })


_INSERT = AuditEvent.__table__.insert()
_ON_ITS_OWN = _INSERT.execution_options(**{reading.ON_ITS_OWN: True})
