"""What data.json holds, group by group (portal/personal_data.GROUPS): the collectors of
the portable export. Schema: docs/export-schema.md.

Each collector takes the patient and the export's language and returns plain JSON values.
Never collected: password and recovery-code hashes, authenticator secrets, token hashes,
identity-document photos, staff names, and the IP addresses of anyone but the patient.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import or_
from sqlalchemy.orm import joinedload, selectinload

from portal.activation import codes
from portal.claims import direct_payment
from portal.extensions import db
from portal.invoicing import invoices
from portal.models import (
    Account,
    ActivationCode,
    AuditEvent,
    Claim,
    CnsStaff,
    ConsentReceipt,
    DataRequest,
    Doctor,
    GuardianLink,
    HelpRequest,
    IdentityRequest,
    Invoice,
    InvoiceReport,
    Notification,
    OutboxMessage,
    Patient,
    RecoveryCode,
    Statement,
    TermsDecision,
    UserSession,
)


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def columns(row, *names: str) -> dict:
    """Columns exported under their own name, as they are; dates and times as ISO text."""
    values = {name: getattr(row, name) for name in names}
    return {name: iso(value) if isinstance(value, date) else value for name, value in values.items()}


def _identity(patient: Patient, _language: str) -> dict:
    account = patient.account
    return {
        **columns(patient, "matricule", "surname", "given_name", "birth_date", "fund"),
        "contact": {
            "mobile": patient.mobile,
            "email": patient.email,
            "language": account.preferred_language if account else None,
        },
        "bank_account": {"iban": patient.iban},
        "preferences": {
            "auto_share": patient.is_auto_share,
            "objects_to_statistics": patient.objects_to_statistics,
        },
        "recorded_at": iso(patient.created_at),
    }


def _sign_in(account: Account | None) -> dict | None:
    if account is None:
        return None
    credential = account.credential
    return {
        **columns(account, "login", "role", "status", "created_at"),
        "language": account.preferred_language,
        # Dates and facts only: the hash and the secret themselves never leave the database.
        "password_set": bool(credential and credential.password_hash),
        "password_changed_at": iso(credential.password_changed_at) if credential else None,
        "authenticator_enrolled_at": iso(credential.totp_enrolled_at) if credential else None,
        "locked_until": iso(credential.locked_until) if credential else None,
    }


def _account(patient: Patient, _language: str) -> dict:
    account = patient.account
    account_id = account.id if account else -1
    recovery = db.session.execute(
        db.select(RecoveryCode.used_at, RecoveryCode.created_at).where(RecoveryCode.account_id == account_id)
    ).all()
    sessions = db.session.scalars(
        db.select(UserSession).where(UserSession.account_id == account_id).order_by(UserSession.created_at)
    )
    activations = db.session.scalars(
        db.select(ActivationCode).options(joinedload(ActivationCode.doctor))
        .where(ActivationCode.patient_id == patient.id).order_by(ActivationCode.created_at)
    )
    links = db.session.scalars(
        db.select(GuardianLink).options(joinedload(GuardianLink.child), joinedload(GuardianLink.parent))
        .where(or_(GuardianLink.parent_account_id == account_id, GuardianLink.child_patient_id == patient.id))
        .order_by(GuardianLink.created_at)
    ).all()
    parents = _patients_by_account({link.parent_account_id for link in links if link.child_patient_id == patient.id})
    security = db.session.execute(
        db.select(AuditEvent.occurred_at, AuditEvent.event)
        .where(AuditEvent.actor_account_id == account_id, AuditEvent.patient_id.is_(None))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    return {
        "sign_in": _sign_in(account),
        "recovery_codes": _recovery_codes(recovery),
        "sessions": [
            {
                "started_at": iso(row.created_at), "last_activity_at": iso(row.last_activity_at),
                "ended_at": iso(row.revoked_at), "ended_reason": row.ended_reason,
                "device": row.device, "ip": row.ip,
            }
            for row in sessions
        ],
        "activation_codes": [
            {
                "created_at": iso(code.created_at), "expires_at": iso(code.expires_at),
                "used_at": iso(code.used_at), "revoked_at": iso(code.revoked_at),
                "revoke_reason": code.revoke_reason, "language": code.language,
                "issued_by": code.doctor.name if code.doctor else "identity_request",
                "document_type": code.document_type, "document_last4": code.document_last4,
                "mobile_confirmed": code.mobile_confirmed,
            }
            for code in activations
        ],
        "children": _children(links, account_id),
        "guardians": _guardians(links, patient.id, parents),
        "security_events": [{"at": iso(at), "event": event} for at, event in security],
    }


def _recovery_codes(recovery) -> dict:
    return {
        "issued": len(recovery),
        "left": sum(1 for used_at, _created in recovery if used_at is None),
        "issued_at": iso(max((created for _used, created in recovery), default=None)),
    }


def _children(links: list[GuardianLink], account_id: int) -> list[dict]:
    return [
        {
            "name": link.child.full_name, "matricule": link.child.matricule,
            "linked_at": iso(link.created_at), "ended_at": iso(link.ended_at), "ended_reason": link.ended_reason,
        }
        for link in links if link.parent_account_id == account_id
    ]


def _guardians(links: list[GuardianLink], patient_id: int, parents: dict) -> list[dict]:
    return [
        {
            "name": parents[link.parent_account_id].full_name if link.parent_account_id in parents else None,
            "linked_at": iso(link.created_at), "ended_at": iso(link.ended_at), "ended_reason": link.ended_reason,
        }
        for link in links if link.child_patient_id == patient_id
    ]


def _terms(patient: Patient, _language: str) -> list[dict]:
    account_id = patient.account_id or -1
    decisions = db.session.scalars(
        db.select(TermsDecision).options(joinedload(TermsDecision.terms_version))
        .where(TermsDecision.account_id == account_id).order_by(TermsDecision.decided_at)
    )
    return [
        {"version": row.terms_version.number, "accepted": row.is_accepted, "decided_at": iso(row.decided_at)}
        for row in decisions
    ]


def _invoices(patient: Patient, language: str) -> list[dict]:
    rows = db.session.scalars(
        db.select(Invoice).options(joinedload(Invoice.doctor), selectinload(Invoice.lines))
        .where(Invoice.patient_id == patient.id).order_by(Invoice.service_date, Invoice.id)
    ).all()
    numbers = {row.id: row.number for row in rows}
    reports: dict[int, list[dict]] = {}
    for report in db.session.scalars(
        db.select(InvoiceReport).where(InvoiceReport.patient_id == patient.id).order_by(InvoiceReport.created_at)
    ):
        reports.setdefault(report.invoice_id, []).append(
            {"message": report.message, "created_at": iso(report.created_at), "closed_at": iso(report.closed_at)}
        )
    return [
        {
            "number": row.number,
            "doctor": {"name": row.doctor.name, "provider_code": row.provider_code,
                       "specialty": row.doctor.specialty},
            "service_date": iso(row.service_date),
            "issued_at": iso(row.issued_at),
            "channel": row.channel,
            "state": invoices.state_of(row),
            "paid_on_site": row.is_paid_on_site,
            "paid_at": iso(row.paid_at),
            "payer_is_patient": row.is_payer_patient,
            "total_cents": row.total_cents,
            "voided_at": iso(row.voided_at),
            "void_reason": row.void_reason,
            "replaces_number": numbers.get(row.replaces_id),
            "available_until": iso(row.expires_at),
            "paper_preferred": row.is_paper_preferred,
            "direct_payment": _direct(row),
            "lines": [
                {
                    "position": line.position, "act_code": line.act_code,
                    "description": line.act.description(language), "quantity": line.quantity,
                    "unit_fee_cents": line.unit_fee_cents, "total_cents": line.total_cents,
                }
                for line in row.lines
            ],
            "reports": reports.get(row.id, []),
        }
        for row in rows
    ]


def _direct(invoice: Invoice) -> dict | None:
    """Direct payment: who agreed, how and when, and who paid what (direct_payment.split_of)."""
    if not invoice.is_direct_payment:
        return None
    split = direct_payment.split_of(invoice)
    return {"consent_by": invoice.direct_consent_by, "consent_method": invoice.direct_consent_method,
            "consent_at": iso(invoice.direct_consent_at), "paid_by_patient_cents": split.patient_cents,
            "paid_by_fund_cents": split.fund_cents}


def _statement(claim: Claim) -> dict | None:
    statement = claim.statement
    if statement is None:
        return None
    return {
        "number": statement.number,
        "issued_at": iso(statement.issued_at),
        "payment_date": iso(statement.payment_date),
        "billed_cents": statement.billed_cents,
        "reimbursed_cents": statement.reimbursed_cents,
        "adjustment_cents": statement.adjustment_cents,
        "lines": [
            {
                "position": line.position, "provider_code": line.provider_code, "act_code": line.act_code,
                "quantity": line.quantity, "billed_cents": line.billed_cents, "tariff_cents": line.tariff_cents,
                "personal_share_cents": line.participation_cents, "reimbursed_cents": line.reimbursed_cents,
            }
            for line in statement.lines
        ],
    }


def patient_claims(patient: Patient) -> list[Claim]:
    return db.session.scalars(
        db.select(Claim).options(
            joinedload(Claim.invoice), joinedload(Claim.doctor), selectinload(Claim.events),
            selectinload(Claim.statement).selectinload(Statement.lines),
        ).where(Claim.patient_id == patient.id).order_by(Claim.shared_at, Claim.id)
    ).all()


def _claims(patient: Patient, _language: str) -> list[dict]:
    # Staff appear by role and date only: who handled a claim is the fund's internal matter.
    return [
        {
            "reference": claim.reference,
            "invoice_number": claim.invoice.number,
            "doctor": {"name": claim.doctor.name, "provider_code": claim.doctor.provider_code},
            "fund": claim.fund,
            "channel": claim.channel,
            "state": claim.state,
            # A direct payment credits the doctor's account: not the patient's data to hand out.
            "iban": None if claim.is_direct_payment else claim.iban,
            "direct_payment": claim.is_direct_payment,
            "total_cents": claim.total_cents,
            "computed_cents": claim.computed_cents,
            "reimbursed_cents": claim.reimbursed_cents,
            "adjustment_reason": claim.adjustment_reason,
            "adjustment_note": claim.adjustment_note,
            "rejection_reason": claim.rejection_reason,
            "rejection_note": claim.rejection_note,
            "shared_at": iso(claim.shared_at),
            "received_at": iso(claim.received_at),
            "taken_up_at": iso(claim.taken_at),
            "decided_at": iso(claim.decided_at),
            "withdrawn_at": iso(claim.withdrawn_at),
            "frozen_at": iso(claim.frozen_at),
            "events": [
                {"kind": event.kind, "at": iso(event.at), "by": event.actor_role, "message": event.message,
                 "document_type": event.document_type}
                for event in claim.events
            ],
            "statement": _statement(claim),
        }
        for claim in patient_claims(patient)
    ]


def _consents(patient: Patient, _language: str) -> list[dict]:
    rows = db.session.scalars(
        db.select(ConsentReceipt).options(joinedload(ConsentReceipt.claim))
        .where(ConsentReceipt.patient_id == patient.id).order_by(ConsentReceipt.given_at)
    )
    return [
        {
            "given_at": iso(row.given_at),
            "claim_reference": row.claim.reference,
            "invoice_number": row.invoice_number,
            "recipient_fund": row.recipient_fund,
            "method": row.method,
            "given_by": _given_by(row.account_id, patient),
        }
        for row in rows
    ]


def _given_by(account_id: int | None, patient: Patient) -> str:
    if account_id is None:
        return "system"
    return "self" if account_id == patient.account_id else "guardian"


# One-time activation codes travel in SMS and e-mail bodies; a pending one must not land in
# a file the patient may keep or forward, so the codes are blanked out of the copies.
# Today's codes, grouped or in a link, in the format activation.codes defines, and the 32-character
# base32 codes issued before them (first: their first groups look like a new code).
_CODE = f"[{re.escape(codes.ALPHABET)}]"
_GROUPS = codes.LENGTH // codes.GROUP - 1
_ONE_TIME_CODE = re.compile(
    r"\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){7}\b|\b[A-Z2-7]{32}\b"
    rf"|\b{_CODE}{{{codes.GROUP}}}(?:-{_CODE}{{{codes.GROUP}}}){{{_GROUPS}}}\b|(?<=/){_CODE}{{{codes.LENGTH}}}\b"
)


def _notifications(patient: Patient, _language: str) -> dict:
    notices = db.session.scalars(
        db.select(Notification).options(joinedload(Notification.claim), joinedload(Notification.invoice))
        .where(Notification.patient_id == patient.id).order_by(Notification.created_at, Notification.id)
    )
    messages = db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.patient_id == patient.id).order_by(OutboxMessage.created_at)
    )
    return {
        "notices": [
            {
                "kind": row.kind, "created_at": iso(row.created_at), "read_at": iso(row.read_at),
                "claim_reference": row.claim.reference if row.claim else None,
                "invoice_number": row.invoice.number if row.invoice else None,
            }
            for row in notices
        ],
        "messages": [
            {
                **columns(row, "channel", "kind", "recipient", "subject", "created_at", "state", "attempts", "sent_at"),
                "body": _ONE_TIME_CODE.sub("[code removed]", row.body),
            }
            for row in messages
        ],
    }


def _identity_requests(patient: Patient, _language: str) -> list[dict]:
    rows = db.session.scalars(
        db.select(IdentityRequest)
        .where(or_(IdentityRequest.patient_id == patient.id, IdentityRequest.matricule == patient.matricule))
        .order_by(IdentityRequest.created_at)
    )
    # Neither the photo nor the reference: the reference alone opens the public status page.
    return [
        {
            "matricule": row.matricule, "surname": row.surname, "given_name": row.given_name,
            "birth_date": iso(row.birth_date), "mobile": row.mobile, "email": row.email,
            "language": row.language, "document_type": row.document_type,
            "document_kept": row.document_name is not None, "status": row.status,
            "created_at": iso(row.created_at), "decided_at": iso(row.decided_at),
            "rejection_reason": row.rejection_reason,
        }
        for row in rows
    ]


def _data_requests(patient: Patient, _language: str) -> list[dict]:
    rows = db.session.scalars(
        db.select(DataRequest).where(DataRequest.patient_id == patient.id).order_by(DataRequest.created_at)
    )
    return [
        {
            "reference": row.reference, "kind": row.kind, "state": row.state, "message": row.message,
            "answer": row.answer, "created_at": iso(row.created_at), "closed_at": iso(row.closed_at),
        }
        for row in rows
    ]


def _help_requests(patient: Patient, _language: str) -> list[dict]:
    rows = db.session.scalars(
        db.select(HelpRequest).where(HelpRequest.patient_id == patient.id)
        .options(selectinload(HelpRequest.replies)).order_by(HelpRequest.created_at, HelpRequest.id)
    )
    return [
        {
            "reference": row.reference, "category": row.category, "state": row.state, "message": row.message,
            "document_attached": row.document_name is not None, "created_at": iso(row.created_at),
            "replies": [{"body": reply.body, "at": iso(reply.created_at)} for reply in row.replies],
        }
        for row in rows
    ]


def _patients_by_account(account_ids: set[int]) -> dict[int, Patient]:
    if not account_ids:
        return {}
    return {p.account_id: p for p in db.session.scalars(db.select(Patient).where(Patient.account_id.in_(account_ids)))}


def _actors(account_ids: set[int]) -> dict[int, dict]:
    """Who each account is, as the access log names them: doctors by name, staff by
    reference, parents by name."""
    if not account_ids:
        return {}
    actors: dict[int, dict] = {}
    for account_id, parent in _patients_by_account(account_ids).items():
        actors[account_id] = {"kind": "guardian", "name": parent.full_name}
    for doctor in db.session.scalars(db.select(Doctor).where(Doctor.account_id.in_(account_ids))):
        actors[doctor.account_id] = {"kind": "doctor", "name": doctor.name, "provider_code": doctor.provider_code}
    for staff in db.session.scalars(db.select(CnsStaff).where(CnsStaff.account_id.in_(account_ids))):
        actors[staff.account_id] = {"kind": "staff", "staff_reference": staff.staff_id}
    return actors


def _access_log(patient: Patient, _language: str) -> list[dict]:
    rows = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.patient_id == patient.id)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    actors = _actors({row.actor_account_id for row in rows if row.actor_account_id is not None})
    log = []
    for row in rows:
        is_self = row.actor_account_id is not None and row.actor_account_id == patient.account_id
        if is_self:
            actor = {"kind": "self"}
        elif row.actor_account_id is None:
            actor = {"kind": "system"}
        else:
            actor = actors.get(row.actor_account_id, {"kind": "unknown"})
        log.append({
            "at": iso(row.occurred_at),
            "event": row.event,
            "actor": {"role": row.actor_role, **actor},
            "details": row.data or {},
            # Only the patient's own address: never where staff or doctors connect from.
            "ip": row.ip if is_self else None,
        })
    return log


# One collector per group of personal_data.GROUPS, in its order (tests/privacy/test_export.py checks).
GATHER = {
    "identity": _identity,
    "account": _account,
    "terms": _terms,
    "invoices": _invoices,
    "claims": _claims,
    "consents": _consents,
    "notifications": _notifications,
    "identity_requests": _identity_requests,
    "data_requests": _data_requests,
    "help_requests": _help_requests,
    "access_log": _access_log,
}
