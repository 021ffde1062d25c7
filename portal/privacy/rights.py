"""The patient's data-protection rights that change something, exercised from "Manage my
personal data": rectification of contact data, correction requests, restriction (freezing
a claim) and objection; and the fund's register of requests, where staff answer
corrections. What the portal holds and who accessed it: portal/privacy/data_access.py.

Every function that changes something adds its audit row to the caller's transaction;
the caller commits once.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

import email_validator
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from portal import audit
from portal.accounts import security_alerts
from portal.claims import counts
from portal.core import clock, refused
from portal.core.refused import Refused
from portal.extensions import db
from portal.messaging import contacts
from portal.models import Account, Claim, ClaimState, CnsStaff, DataRequest, DataRequestKind, Fund, Patient

LANGUAGES = ("fr", "de", "en")
# Registry data the patient cannot edit; a correction request names one of them.
REGISTRY_FIELDS = {
    "name": _l("Name"),
    "birth_date": _l("Date of birth"),
    "matricule": _l("National identification number"),
    "fund": _l("Health fund"),
    "other": _l("Something else in the registry"),
}
MAX_REQUEST_MESSAGE = 1000
MAX_ANSWER = 2000


class NotAllowed(refused.NotAllowed):
    """The change does not apply to this record now (a decided claim, an answered request)."""


def new_reference() -> str:
    # Like claim references: readable on the phone, random so they reveal no volumes.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "D-" + "".join(secrets.choice(alphabet) for _ in range(10))


def _register(patient_id: int | None, kind: str, *, state: str, message: str | None = None,
              form_token: str | None = None) -> DataRequest:
    now = clock.now()
    filed = DataRequest(
        reference=new_reference(), patient_id=patient_id, kind=kind, state=state, message=message,
        created_at=now, closed_at=None if state == "open" else now, form_token=form_token or None,
    )
    db.session.add(filed)
    db.session.flush()
    return filed


# --- Rectification ----------------------------------------------------------------------------

class InvalidContact(ValueError):
    pass


def normalise_mobile(value: str) -> str | None:
    """'+352 621 123 456' → '+352621123456'; '00352…' counts as '+352…'. Empty means none.

    International form only (the portal sends SMS across borders): a '+', then 8 to 15
    digits, the most E.164 allows."""
    compact = re.sub(r"[\s().\-/]", "", value or "")
    if not compact:
        return None
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", compact):
        raise InvalidContact("mobile")
    return compact


def normalise_email(value: str) -> str | None:
    if not (value or "").strip():
        return None
    try:
        return email_validator.validate_email(value.strip(), check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        raise InvalidContact("email") from exc


def update_contact(patient: Patient, *, mobile: str | None, email: str | None, language: str | None,
                   by: Account) -> list[str]:
    """Save what changed (values already normalised); returns the names of the changed fields.

    The language is the account's: the one the portal speaks to this person."""
    changed = []
    before = contacts.of_patient(patient)
    if patient.mobile != mobile:
        patient.mobile, changed = mobile, [*changed, "mobile"]
    if patient.email != email:
        patient.email, changed = email, [*changed, "email"]
    account = patient.account
    if language in LANGUAGES and account is not None and account.preferred_language != language:
        account.preferred_language, changed = language, [*changed, "language"]
    if changed:
        # The names only: the trail never holds the values.
        audit.record(audit.CONTACT_CHANGED, actor=by, patient_id=patient.id, fields=changed)
    if "mobile" in changed or "email" in changed:
        # The old contacts hear of it too: they are the owner's, if the new ones are not.
        security_alerts.announce(by, patient, "contact_changed", also=before)
    return changed


def request_correction(patient: Patient, registry_field: str, message: str, *, by: Account,
                       form_token: str | None = None) -> DataRequest:
    if registry_field not in REGISTRY_FIELDS:
        raise Refused.on("registry_field", f"not a field of the register: {registry_field!r}")
    filed = _register(patient.id, DataRequestKind.CORRECTION, state="open",
                      message=f"{registry_field}: {message.strip()[:MAX_REQUEST_MESSAGE]}", form_token=form_token)
    audit.record(audit.DATA_REQUEST_FILED, actor=by, patient_id=patient.id, request_id=filed.id,
                 kind=DataRequestKind.CORRECTION)
    return filed


def correction_parts(filed: DataRequest) -> tuple[str | None, str]:
    """(registry field, the patient's words) of a correction request."""
    key, _sep, text = (filed.message or "").partition(": ")
    if filed.kind == DataRequestKind.CORRECTION and key in REGISTRY_FIELDS:
        return key, text
    return None, filed.message or ""


# --- Restriction and objection ----------------------------------------------------------------

def can_freeze(claim: Claim) -> bool:
    return claim.state in ClaimState.OPEN and claim.frozen_at is None


def freeze(claim: Claim, *, by: Account) -> None:
    """Take a claim not yet decided out of the staff's hands until the patient lifts it.

    One conditional UPDATE that also bumps the version: an agent deciding at the same time
    from a page opened before loses with a conflict."""
    _restrict(claim, (Claim.state.in_(ClaimState.OPEN), Claim.frozen_at.is_(None)), clock.now())
    _register(claim.patient_id, DataRequestKind.RESTRICTION, state="done", message=f"frozen {claim.reference}")
    audit.record(audit.CLAIM_FROZEN, actor=by, patient_id=claim.patient_id, claim_id=claim.id)


def unfreeze(claim: Claim, *, by: Account) -> None:
    """The claim returns to the staff queue where it was."""
    _restrict(claim, (Claim.frozen_at.is_not(None),), None)
    _register(claim.patient_id, DataRequestKind.RESTRICTION, state="done", message=f"lifted {claim.reference}")
    audit.record(audit.CLAIM_UNFROZEN, actor=by, patient_id=claim.patient_id, claim_id=claim.id)


def _restrict(claim: Claim, conditions: tuple, frozen_at: datetime | None) -> None:
    rows = db.session.execute(
        update(Claim).where(Claim.id == claim.id, *conditions)
        .values(frozen_at=frozen_at, version=Claim.version + 1)
        .returning(Claim.fund, Claim.state, Claim.channel).execution_options(synchronize_session=False)
    ).all()
    if len(rows) != 1:
        raise NotAllowed(claim.id)
    # A frozen claim leaves the queue's counts; a lifted one comes back in its state.
    counts.shift(counts.changes(rows, -1 if frozen_at else 1))
    db.session.refresh(claim)


def restriction_parts(filed: DataRequest) -> tuple[str | None, str | None]:
    """('frozen' or 'lifted', claim reference) of a restriction request."""
    action, _sep, reference = (filed.message or "").partition(" ")
    if filed.kind == DataRequestKind.RESTRICTION and action in ("frozen", "lifted"):
        return action, reference
    return None, None


def set_objection(patient: Patient, objects: bool, *, by: Account) -> bool:
    """Object (or stop objecting) to the fund's statistics; returns whether it changed."""
    if patient.objects_to_statistics == objects:
        return False
    patient.objects_to_statistics = objects
    _register(patient.id, DataRequestKind.OBJECTION, state="done", message="objects" if objects else "withdrawn")
    audit.record(audit.OBJECTION_CHANGED, actor=by, patient_id=patient.id, objects=objects)
    return True


# --- The fund's register of requests ----------------------------------------------------------

REGISTER_PAGE = 25


def _scoped(query, staff: CnsStaff):
    """CNS staff see every request; another fund's staff only those of its insured persons.
    A request left without a person (after an erasure) belongs to CNS alone."""
    if staff.fund_scope == Fund.CNS:
        return query
    return query.where(DataRequest.patient_id.in_(db.select(Patient.id).where(Patient.fund == staff.fund_scope)))


def register(staff: CnsStaff, *, kind: str | None = None, state: str | None = None, page: int = 1
             ) -> tuple[list[tuple[DataRequest, Patient | None]], bool]:
    query = _scoped(db.select(DataRequest, Patient).outerjoin(Patient, Patient.id == DataRequest.patient_id), staff)
    if kind:
        query = query.where(DataRequest.kind == kind)
    if state:
        query = query.where(DataRequest.state == state)
    rows = db.session.execute(
        query.order_by(DataRequest.created_at.desc(), DataRequest.id.desc())
        .offset((page - 1) * REGISTER_PAGE).limit(REGISTER_PAGE + 1)
    ).all()
    return [tuple(row) for row in rows[:REGISTER_PAGE]], len(rows) > REGISTER_PAGE


def visible_request(request_id: int, staff: CnsStaff) -> tuple[DataRequest, Patient | None] | None:
    row = db.session.execute(_scoped(
        db.select(DataRequest, Patient).outerjoin(Patient, Patient.id == DataRequest.patient_id)
        .where(DataRequest.id == request_id), staff,
    )).first()
    return tuple(row) if row else None


def record_view(filed: DataRequest) -> None:
    audit.record(audit.DATA_REQUEST_VIEWED, patient_id=filed.patient_id, request_id=filed.id)


def can_answer(filed: DataRequest) -> bool:
    return filed.kind == DataRequestKind.CORRECTION and filed.state == "open"


def answer(filed: DataRequest, staff: CnsStaff, text: str, *, state: str) -> None:
    """Close a correction request with the fund's answer; the first answer stands."""
    if state not in ("done", "refused") or not can_answer(filed):
        raise NotAllowed(filed.id)
    result = db.session.execute(
        update(DataRequest).where(DataRequest.id == filed.id, DataRequest.state == "open").values(
            state=state, answer=text.strip()[:MAX_ANSWER], answered_by_id=staff.id, closed_at=clock.now(),
        ).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise NotAllowed(filed.id)
    db.session.refresh(filed)
    audit.record(audit.DATA_REQUEST_ANSWERED, patient_id=filed.patient_id, request_id=filed.id, state=state)
