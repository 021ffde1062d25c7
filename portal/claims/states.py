"""A claim's life, shared by both sides: creating it, moving it from state to state (one
conditional UPDATE, so that of two concurrent requests exactly one wins), and the notices the
patient reads about it.

Every function adds its change to the caller's transaction; the caller commits once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import update

from portal.accounts import guardians
from portal.claims import counts, reimbursement
from portal.core import clock
from portal.core.database import add_unless_taken
from portal.core.refused import Conflict
from portal.extensions import db
from portal.messaging import events
from portal.models import Claim, ClaimEvent, ClaimState, Invoice, Notification, Patient

MAX_MESSAGE = 2000


class ClaimConflict(Conflict):
    """Someone else changed the claim first (another agent, another tab); `subject_id` is the claim's."""

    page = ("claim", "claim_id")  # cns.claim or patient.claim


def new_reference() -> str:
    # Short enough to read out on the phone, random so references reveal no volumes.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "R-" + "".join(secrets.choice(alphabet) for _ in range(10))


def active_claim_of(invoice_id: int) -> Claim | None:
    return db.session.scalar(
        db.select(Claim).where(Claim.invoice_id == invoice_id, Claim.state != ClaimState.WITHDRAWN)
    )


def add_event(claim: Claim, event: ClaimEvent) -> ClaimEvent:
    """Add a step to the claim's timeline without reading the steps it has (a SELECT on every
    decision): set from the event's side, the claim's steps take it if they were loaded, else
    it is there when they are next read."""
    event.claim = claim
    db.session.add(event)
    return event


def new_claim(patient: Patient, invoice: Invoice, *, channel: str, direct_payment: bool = False) -> tuple[Claim, bool]:
    """A claim for the invoice, or the live claim it already has. `direct_payment`: the doctor's
    claim (portal.claims.direct_payment), paid into the doctor's account.

    The unique index on live claims decides between two requests racing for one invoice:
    the loser's insert fails inside a savepoint and it returns the winner's claim.
    Returns (claim, created).
    """
    now = clock.now()
    claim = Claim(
        reference=new_reference(), invoice_id=invoice.id, patient_id=patient.id, doctor_id=invoice.doctor_id,
        fund=patient.fund, channel=channel, state=ClaimState.SHARED,
        iban=invoice.doctor.iban if direct_payment else patient.iban, is_direct_payment=direct_payment,
        total_cents=invoice.total_cents, computed_cents=reimbursement.reimbursement_of(invoice).reimbursed_cents,
        shared_at=now, received_at=now,
    )
    clash = add_unless_taken(claim)
    if clash is None:
        counts.added(claim.fund, claim.state, claim.channel)
        return claim, True
    existing = active_claim_of(invoice.id)
    if existing is None:
        raise clash
    return existing, False


def move(claim: Claim, allowed: tuple[str, ...], values: dict, *, version: int | None = None,
         unfrozen: bool = False, changed=None) -> None:
    """Change a claim's state with one conditional UPDATE, so that of two concurrent
    requests exactly one wins; the loser gets ClaimConflict.

    `allowed`: the states it may leave; a change of state names exactly one, which the
    queue's counts then move the claim from.
    `unfrozen`: staff steps need a claim the patient has not frozen, checked in the same
    UPDATE, so a freeze and a take-up racing each other cannot both succeed.
    `changed`: what the loser is told (ClaimConflict.message).
    """
    if "state" in values and len(allowed) != 1:
        raise ValueError("a change of state leaves exactly one state")
    conditions = [Claim.id == claim.id, Claim.state.in_(allowed)]
    if version is not None:
        conditions.append(Claim.version == version)
    if unfrozen:
        conditions.append(Claim.frozen_at.is_(None))
    # RETURNING: the row as the UPDATE left it, under its lock, so whether it is frozen
    # is read in the same step as the change (a freeze racing it comes before or after).
    rows = db.session.execute(
        update(Claim).where(*conditions).values(version=Claim.version + 1, **values)
        .returning(Claim.fund, Claim.channel, Claim.frozen_at)
        .execution_options(synchronize_session=False)
    ).all()
    if len(rows) != 1:
        raise ClaimConflict(claim.id, message=changed)
    fund, channel, frozen_at = rows[0]
    if "state" in values and frozen_at is None:
        counts.moved(fund, channel, allowed[0], values["state"])
    db.session.refresh(claim)


def notify(patient_id: int | None, kind: str, *, claim: Claim | None = None,
           invoice: Invoice | None = None) -> Notification | None:
    if patient_id is None:  # an erased patient's kept claim: there is no space left to tell
        return None
    notice = Notification(
        patient_id=patient_id, kind=kind, claim_id=claim.id if claim else None,
        invoice_id=invoice.id if invoice else (claim.invoice_id if claim else None), created_at=clock.now(),
    )
    db.session.add(notice)
    events.tell(patient_id, kind)  # a message says only that something waits, and where
    return notice


def unread_count(patient_ids: list[int]) -> int:
    if not patient_ids:
        return 0
    return db.session.scalar(
        db.select(db.func.count()).select_from(Notification)
        .where(Notification.patient_id.in_(patient_ids), Notification.is_new)
    ) or 0


def mark_read(patient_id: int, *, ids: Iterable[int] | None = None, at: datetime | None = None) -> None:
    """The space's new notices are read: those `ids` (the ones a page just showed), or all."""
    query = update(Notification).where(Notification.patient_id == patient_id, Notification.is_new)
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    done = db.session.execute(
        query.values(read_at=at or clock.now()).execution_options(synchronize_session=False)
    ).rowcount
    guardians.notices_read(patient_id, done)
