"""Self-service identity requests: filing one, and CNS staff deciding it.

Filing never opens an account. Approval issues an activation code sent through the
outbox to the contact data in the register. Either decision ends the identity document:
the caller deletes the file only once the decision is committed, so a failed commit
never leaves a pending request without its document.
"""

from __future__ import annotations

import secrets

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from portal import audit
from portal.activation import codes
from portal.core import clock, i18n, links
from portal.core.database import add_unless_taken
from portal.core.forms import sent_before
from portal.documents import uploads
from portal.extensions import db
from portal.messaging import notify
from portal.models import CnsStaff, Fund, IdentityRequest, Patient

REJECTION_REASONS = {
    "unreadable": _l("The document cannot be read."),
    "mismatch": _l("The document does not match the data you entered."),
    "not_in_registry": _l("You are not in the register of insured persons."),
    "expired": _l("The document has expired."),
    "other": _l("Another reason (see the note)."),
}


def file(form) -> IdentityRequest:
    """Check and store the document, record the request; the caller commits.

    The same form sent again (a double click, a resent post) returns the request the first
    one filed, and stores no second document."""
    token = form.sent_token
    earlier = sent_before(IdentityRequest, token)
    if earlier is not None:
        return earlier
    data = form.document.data.read(uploads.MAX_BYTES + 1)
    content, kind = uploads.clean(data, form.document.data.filename)  # or RejectedUpload, on "document"
    patient = db.session.scalar(db.select(Patient).where(Patient.matricule == form.matricule.data))
    filed = IdentityRequest(
        reference=secrets.token_urlsafe(18),
        matricule=form.matricule.data,
        surname=form.surname.data,
        given_name=form.given_name.data,
        birth_date=form.birth_date.data,
        mobile=form.mobile.data,
        email=form.email.data or None,
        language=i18n.language(),
        document_name=uploads.store(content),
        document_type=kind,
        patient_id=patient.id if patient else None,
        form_token=token,
    )
    clash = add_unless_taken(filed)
    if clash is not None:
        # Both copies got past the check at once: the unique token let one in; this one
        # answers with it. (Signed-in forms never race here: see portal.accounts.sessions.)
        uploads.delete(filed.document_name)
        earlier = sent_before(IdentityRequest, token)
        if earlier is None:
            raise clash
        return earlier
    audit.record(audit.IDENTITY_REQUEST_FILED, actor=None, patient_id=filed.patient_id, request_id=filed.id)
    return filed


def scoped(query, staff: CnsStaff):
    """CNS staff see every request; another fund's staff only those of its insured persons,
    as for data requests. A request nobody in the register matches belongs to CNS alone."""
    if staff.fund_scope == Fund.CNS:
        return query
    return query.where(IdentityRequest.patient_id.in_(db.select(Patient.id).where(Patient.fund == staff.fund_scope)))


def visible(request_id: int, staff: CnsStaff) -> IdentityRequest | None:
    return db.session.scalar(scoped(db.select(IdentityRequest).where(IdentityRequest.id == request_id), staff))


def pending_queue(staff: CnsStaff) -> list[IdentityRequest]:
    return list(
        db.session.scalars(
            scoped(db.select(IdentityRequest), staff)
            .where(IdentityRequest.status == "pending").order_by(IdentityRequest.created_at)
        )
    )


def recently_decided(staff: CnsStaff, limit: int = 20) -> list[IdentityRequest]:
    return list(
        db.session.scalars(
            scoped(db.select(IdentityRequest), staff)
            .where(IdentityRequest.status != "pending")
            .order_by(IdentityRequest.decided_at.desc())
            .limit(limit)
        )
    )


def _decide(filed: IdentityRequest, staff: CnsStaff, status: str) -> bool:
    """Record the decision if nobody else did first (two agents, one request).

    The stored file stays on disk: the caller deletes it after committing."""
    result = db.session.execute(
        update(IdentityRequest)
        .where(IdentityRequest.id == filed.id, IdentityRequest.status == "pending")
        .values(status=status, decided_at=clock.now(), decided_by_id=staff.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(filed)
    filed.document_name = None
    filed.document_type = None
    audit.record(audit.IDENTITY_REQUEST_DECIDED, patient_id=filed.patient_id, request_id=filed.id, decision=status)
    return True


def approve(filed: IdentityRequest, staff: CnsStaff) -> bool:
    """Issue an activation code to the registry person and send it; False if no match."""
    patient = db.session.get(Patient, filed.patient_id) if filed.patient_id else None
    if patient is None or not _decide(filed, staff, "approved"):
        return False
    code, token = codes.issue(patient, identity_request=filed, language=filed.language)
    link = links.external_url("activation.link", token=token)
    with force_locale(filed.language):
        text = _(
            "Your identity has been checked. Activate your account within %(days)d days: %(link)s (code %(code)s)",
            days=(code.expires_at - clock.now()).days,
            link=link,
            code=codes.grouped(token),
        )
        subject = _("Activate your account")
    mobile, email = _contact(patient, filed)
    notify.send_sms(mobile, text, patient_id=patient.id, kind="activation", language=filed.language)
    if email:
        notify.send_email(email, subject, text, patient_id=patient.id, kind="activation", language=filed.language)
    return True


def _contact(patient: Patient, filed: IdentityRequest) -> tuple[str, str | None]:
    """Where the code goes: the register's contact data before what the applicant typed.

    Otherwise a request filed with someone else's identity document would bring that
    person's activation code to the applicant's own phone or mailbox. What the applicant
    typed is used only when the register has no mobile number to trust instead."""
    if patient.mobile:
        return patient.mobile, patient.email
    return filed.mobile, patient.email or filed.email


def reject(filed: IdentityRequest, staff: CnsStaff, reason: str, note: str) -> bool:
    if reason not in REJECTION_REASONS or not _decide(filed, staff, "rejected"):
        return False
    with force_locale(filed.language):
        filed.rejection_reason = str(REJECTION_REASONS[reason]) + (f" {note}" if note else "")
    return True
