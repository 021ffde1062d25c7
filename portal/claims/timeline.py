"""Where is my claim: the dated steps from issue to payment, and how long each took."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from portal.core import clock
from portal.models import Claim, ClaimState


@dataclass(frozen=True)
class Step:
    key: str  # issued, shared, received, in_review, decided, paid
    at: datetime | date | None  # None: not reached yet
    took: timedelta | None  # time since the step before it
    outcome: str | None = None  # for "decided": accepted or rejected

    @property
    def is_done(self) -> bool:
        if self.at is None:
            return False
        if isinstance(self.at, datetime):
            return True
        return self.at <= clock.today()


def steps(claim: Claim) -> list[Step]:
    invoice = claim.invoice
    paid_on = claim.statement.payment_date if claim.statement is not None else None
    moments = [
        ("issued", invoice.issued_at, None),
        ("shared", claim.shared_at, None),
        ("received", claim.received_at, None),
        ("in_review", claim.taken_at, None),
        ("decided", claim.decided_at, claim.state if claim.state in ClaimState.DECIDED else None),
    ]
    if claim.state != ClaimState.REJECTED:
        moments.append(("paid", paid_on, None))
    result, previous = [], None
    for key, at, outcome in moments:
        took = None
        if at is not None and previous is not None:
            took = _as_datetime(at) - _as_datetime(previous)
        result.append(Step(key, at, took, outcome))
        if at is not None:
            previous = at
    return result


def _as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=clock.now().tzinfo)
