"""Undoing a rejection: for a few minutes, by the agent who made it, before the patient read it.

Only a rejection can be undone. It moves no money and issues no document, and its one trace on
the patient's side, a notice in their space, can be withdrawn while it is unread. An acceptance
issues the statement at once: the patient can open and download it, and it names the day the
money leaves in the daily batch. Taking back a document people may already hold is not an undo,
so an acceptance stays final here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete

from portal import audit
from portal.claims import states
from portal.claims.states import ClaimConflict, move
from portal.core import clock
from portal.extensions import db
from portal.models import Claim, ClaimEvent, ClaimState, CnsStaff, NoticeKind, Notification

WINDOW = timedelta(minutes=5)
TOO_LATE = _l("This decision can no longer be undone: the time to undo it has passed, the patient has "
              "already seen it, or the claim changed since. Here is its current state.")


def deadline(claim: Claim) -> datetime | None:
    """Until when the agent who rejected the claim may undo it (None: not a rejection)."""
    if claim.state != ClaimState.REJECTED or claim.decided_at is None:
        return None
    return claim.decided_at + WINDOW


def _unread_notice(claim_id):
    return (Notification.claim_id == claim_id, Notification.kind == NoticeKind.CLAIM_REJECTED,
            Notification.read_at.is_(None))


def unread_notices():
    """How many unread rejection notices the claim of the enclosing query has, as a column: a
    page reads it with the claim (and passes it to undoable) instead of in a statement of its own."""
    return db.select(db.func.count()).select_from(Notification).where(*_unread_notice(Claim.id)).scalar_subquery()


def _patient_saw_it(claim: Claim, unread: int | None) -> bool:
    """An erased patient's kept claim has nobody to tell: nothing was seen."""
    if claim.patient_id is None:
        return False
    if unread is None:
        unread = db.session.scalar(db.select(db.func.count()).select_from(Notification).where(*_unread_notice(claim.id)))
    return not unread


def undoable(claim: Claim, staff: CnsStaff, *, unread: int | None = None) -> bool:
    """`unread`: the claim's unread_notices() if already read with it; None reads it here."""
    until = deadline(claim)
    return (until is not None and claim.decided_by_id == staff.id and clock.now() < until
            and not _patient_saw_it(claim, unread))


def undo(claim: Claim, staff: CnsStaff, *, version: int) -> None:
    """Back to review, as the agent found it before rejecting; the patient's unread notice goes.
    The history keeps the rejection and its undoing; the audit log records it."""
    if not undoable(claim, staff):
        raise ClaimConflict(claim.id, message=TOO_LATE)
    if claim.patient_id is not None:
        # Conditional: a patient reading the notice at this very moment makes the undo fail.
        withdrawn = db.session.execute(
            delete(Notification).where(*_unread_notice(claim.id)).execution_options(synchronize_session=False)
        ).rowcount
        if not withdrawn:
            raise ClaimConflict(claim.id, message=TOO_LATE)
    reason = claim.rejection_reason
    move(claim, (ClaimState.REJECTED,), {
        "state": ClaimState.IN_REVIEW, "decided_at": None, "decided_by_id": None, "reimbursed_cents": None,
        "rejection_reason": None, "rejection_note": None,
    }, version=version, unfrozen=True, changed=TOO_LATE)
    states.add_event(claim, ClaimEvent(kind="decision_undone", at=clock.now(), actor_role="cns", staff_id=staff.id))
    audit.record(audit.CLAIM_DECISION_UNDONE, patient_id=claim.patient_id, claim_id=claim.id, decision="rejected",
                 reason=reason)
