"""The IBAN of an erased patient's claim is kept only until the claim is paid.

The fund must still decide and pay the claims a patient submitted before erasing their
account (a legal obligation), so erasure keeps the account number those claims credit.
Once a claim is paid (accepted and its statement's payment date past) or rejected (nothing
to pay), nothing needs it any more: `flask purge` removes it, and erasure removes it at
once from claims already in that state.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, update

from portal import audit
from portal.core import clock
from portal.extensions import db
from portal.models import Claim, ClaimState, Statement


def _no_longer_needed():
    paid = db.select(Statement.id).where(Statement.claim_id == Claim.id, Statement.payment_date < clock.today())
    return and_(
        Claim.retained_by_id.is_not(None), Claim.iban.is_not(None),
        or_(Claim.state == ClaimState.REJECTED, and_(Claim.state == ClaimState.ACCEPTED, paid.exists())),
    )


def remove(claim_ids: list[int] | None = None) -> int:
    """Remove the IBAN of every erased patient's claim already paid (or rejected); returns how many."""
    query = db.select(Claim.id).where(_no_longer_needed())
    if claim_ids is not None:
        query = query.where(Claim.id.in_(claim_ids))
    done = list(db.session.scalars(query))
    if done:
        db.session.execute(update(Claim).where(Claim.id.in_(done)).values(iban=None)
                           .execution_options(synchronize_session=False))
    for claim_id in done:
        audit.record(audit.CLAIM_IBAN_REMOVED, actor=None, claim_id=claim_id)
    return len(done)
