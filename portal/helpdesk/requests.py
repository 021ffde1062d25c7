"""Filing a message to the fund, the staff's queue and replies, and what each person sees.

A patient's message goes to their fund's staff; a doctor's, and one from someone who could not
sign in, to the CNS. Staff of CMFEP, CMFEC and EMCFL see only their fund's messages, as with
claims. Every function that changes something adds its audit row to the caller's transaction;
the caller commits once.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy.orm import selectinload

from portal import audit
from portal.core import clock, links
from portal.documents import uploads
from portal.extensions import db
from portal.messaging import contacts, events, notify
from portal.models import Account, CnsStaff, Fund, HelpReply, HelpRequest, HelpState, Patient

MAX_MESSAGE = 4000
MAX_REPLY = 4000
PAGE_SIZE = 25

# What a doctor hears when the fund answered (a patient hears it through portal.messaging.events).
_ANSWERED_SUBJECT = _l("Your health fund answered your message")
_ANSWERED_TEXT = _l("Your health fund answered your message %(reference)s. Read the answer in your CNS portal: "
                    "%(link)s")
# Someone who could not sign in has no portal to read it in: the answer itself goes by e-mail,
# and the agent is told so before writing it.
_PUBLIC_SUBJECT = _l("Answer from your health fund (%(reference)s)")


def new_reference() -> str:
    # Like claim references: readable on the phone, random so they reveal no volumes.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "H-" + "".join(secrets.choice(alphabet) for _ in range(10))


def file(category: str, message: str, *, account: Account | None = None, patient: Patient | None = None,
         contact_name: str | None = None, contact_email: str | None = None,
         document: tuple[bytes, str | None] | None = None, language: str = "fr",
         form_token: str | None = None) -> HelpRequest:
    """Record a message to the fund. `document` (content, file name) goes through the safe
    upload path, which raises uploads.RejectedUpload before anything is written."""
    stored = None
    if document is not None:
        content, media_type = uploads.clean(*document)
        stored = (uploads.store(content), media_type)
    now = clock.now()
    filed = HelpRequest(
        reference=new_reference(), fund=patient.fund if patient is not None else Fund.CNS, category=category,
        message=message, state=HelpState.OPEN, patient_id=patient.id if patient is not None else None,
        account_id=account.id if account is not None else None, contact_name=contact_name,
        contact_email=contact_email, language=language, document_name=stored[0] if stored else None,
        document_type=stored[1] if stored else None, created_at=now, last_activity_at=now,
        form_token=form_token or None,
    )
    db.session.add(filed)
    db.session.flush()
    audit.record(audit.HELP_REQUEST_FILED, actor=account, patient_id=filed.patient_id, request_id=filed.id,
                 source=_source(filed))
    return filed


def _source(filed: HelpRequest) -> str:
    if filed.patient_id is not None:
        return "patient"
    return "doctor" if filed.account_id is not None else "public"


# --- What the person sees ------------------------------------------------------------------------

def of_patient(patient: Patient) -> list[HelpRequest]:
    return _listed(db.select(HelpRequest).where(HelpRequest.patient_id == patient.id))


def of_doctor(account: Account) -> list[HelpRequest]:
    return _listed(db.select(HelpRequest).where(HelpRequest.account_id == account.id,
                                                HelpRequest.patient_id.is_(None)))


def _listed(query) -> list[HelpRequest]:
    query = query.options(selectinload(HelpRequest.replies)).order_by(HelpRequest.created_at.desc(),
                                                                       HelpRequest.id.desc())
    return list(db.session.scalars(query.limit(50)))


# --- The staff's side ----------------------------------------------------------------------------

def scoped(query, staff: CnsStaff):
    if staff.fund_scope == Fund.CNS:
        return query
    return query.where(HelpRequest.fund == staff.fund_scope)


def queue(staff: CnsStaff, *, state: str | None = None, page: int = 1) -> tuple[list[HelpRequest], bool]:
    """One page of the messages this agent's fund scope covers, open ones first, oldest first."""
    query = scoped(db.select(HelpRequest), staff)
    if state in HelpState.ALL:
        query = query.where(HelpRequest.state == state)
    query = query.order_by((HelpRequest.state == HelpState.ANSWERED).asc(), HelpRequest.created_at.asc(),
                           HelpRequest.id.asc())
    rows = list(db.session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def visible(request_id: int, staff: CnsStaff) -> HelpRequest | None:
    """The message if this agent's fund scope covers it, else None (the view answers 404)."""
    return db.session.scalar(scoped(db.select(HelpRequest).where(HelpRequest.id == request_id), staff))


def record_view(filed: HelpRequest, *, document: bool = False) -> None:
    extra = {"document": True} if document else {}
    audit.record(audit.HELP_REQUEST_VIEWED, patient_id=filed.patient_id, request_id=filed.id, **extra)


def reply(filed: HelpRequest, staff: CnsStaff, body: str) -> HelpReply:
    """Answer a message; the person is told on their usual channel."""
    now = clock.now()
    answer = HelpReply(request_id=filed.id, staff_id=staff.id, body=body, created_at=now)
    filed.replies.append(answer)
    filed.state, filed.last_activity_at = HelpState.ANSWERED, now
    db.session.flush()
    audit.record(audit.HELP_REQUEST_ANSWERED, patient_id=filed.patient_id, request_id=filed.id)
    _announce(filed, body)
    return answer


def _announce(filed: HelpRequest, body: str) -> None:
    if filed.patient_id is not None:
        events.tell(filed.patient_id, "help_reply")
        return
    account = db.session.get(Account, filed.account_id) if filed.account_id is not None else None
    if account is not None:
        language = account.preferred_language or filed.language
        link = links.external_url(f"{account.role}.help")
        with force_locale(language):
            subject = str(_ANSWERED_SUBJECT)
            text = str(_ANSWERED_TEXT) % {"reference": filed.reference, "link": link}
        for _channel, address in contacts.of_professional(account):
            notify.send_email(address, subject, text, kind="help_reply", language=language)
    elif filed.contact_email:
        with force_locale(filed.language):
            subject = str(_PUBLIC_SUBJECT) % {"reference": filed.reference}
        notify.send_email(filed.contact_email, subject, body, kind="help_reply", language=filed.language)


# --- Retention -------------------------------------------------------------------------------------

def purge(cutoff: datetime) -> int:
    """Delete messages whose last reply (or filing) is older than `cutoff`, with their
    attachments and replies; returns how many."""
    expired = db.session.scalars(db.select(HelpRequest).where(HelpRequest.last_activity_at < cutoff)).all()
    for filed in expired:
        uploads.delete(filed.document_name)
        db.session.delete(filed)
    db.session.flush()
    return len(expired)


def forget_patient(patient_id: int) -> tuple[int, list[str]]:
    """Erasure: the patient's messages and their answers go; returns how many, and the names of
    the attachments, which the caller deletes once the erasure is committed."""
    theirs = HelpRequest.patient_id == patient_id
    files = list(db.session.scalars(db.select(HelpRequest.document_name).where(
        theirs, HelpRequest.document_name.is_not(None))))
    db.session.execute(delete(HelpReply).where(HelpReply.request_id.in_(db.select(HelpRequest.id).where(theirs)))
                       .execution_options(synchronize_session=False))
    gone = db.session.execute(delete(HelpRequest).where(theirs).execution_options(synchronize_session=False))
    return gone.rowcount or 0, files
