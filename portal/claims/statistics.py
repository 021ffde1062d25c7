"""Claim figures for the fund's staff: how many claims, in which state, fund and channel,
and how long a decision takes. Always within the agent's fund scope.

Counts are grouped by the database, never by loading claims. The decision times use
percentile_cont on PostgreSQL; SQLite (development) has no such function, so there the
durations alone are fetched and the same interpolation is done in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import exists

from portal.claims import review
from portal.core import clock
from portal.extensions import db
from portal.models import Channel, Claim, ClaimState, CnsStaff, Fund, Patient

MAX_PERIOD_YEARS = 2
DEFAULT_DAYS = 90
CHANNELS = (Channel.DIGITAL, Channel.PAPER_QR)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, today: date | None = None) -> Period:
        today = today or clock.today()
        return cls(today - timedelta(days=days - 1), today)

    def bounds(self) -> tuple[datetime, datetime]:
        zone = clock.now().tzinfo
        return datetime.combine(self.start, time.min, zone), datetime.combine(self.end + timedelta(days=1), time.min, zone)


@dataclass
class Report:
    period: Period
    # Claims shared during the period, by (state, fund) and by channel.
    by_state_fund: dict[tuple[str, str], int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    # Claims decided during the period and the time from sharing to decision, in seconds.
    decided: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None

    @property
    def by_state(self) -> dict[str, int]:
        return {state: sum(self.by_state_fund.get((state, fund), 0) for fund in Fund) for state in ClaimState.ALL}

    @property
    def by_fund(self) -> dict[str, int]:
        return {fund.value: sum(self.by_state_fund.get((state, fund), 0) for state in ClaimState.ALL) for fund in Fund}

    @property
    def total(self) -> int:
        return sum(self.by_state_fund.values())


def _not_objecting():
    """Claims of patients who objected to the statistics are left out; a claim kept after
    its patient's erasure has no person left to object and counts."""
    return ~exists().where(Patient.id == Claim.patient_id, Patient.objects_to_statistics.is_(True))


def report(staff: CnsStaff, period: Period) -> Report:
    start, end = period.bounds()
    result = Report(period)
    counted = review.scoped(
        db.select(Claim.state, Claim.fund, Claim.channel, db.func.count())
        .where(Claim.shared_at >= start, Claim.shared_at < end, _not_objecting())
        .group_by(Claim.state, Claim.fund, Claim.channel),
        staff,
    )
    result.by_channel = dict.fromkeys(CHANNELS, 0)
    for state, fund, channel, number in db.session.execute(counted):
        result.by_state_fund[(state, fund)] = result.by_state_fund.get((state, fund), 0) + number
        result.by_channel[channel] = result.by_channel.get(channel, 0) + number
    decided = review.scoped(
        db.select(Claim.shared_at, Claim.decided_at)
        .where(Claim.state.in_(ClaimState.DECIDED), Claim.decided_at >= start, Claim.decided_at < end,
               _not_objecting()),
        staff,
    )
    result.decided, result.median_seconds, result.p90_seconds = _decision_times(decided)
    return result


def _decision_times(decided) -> tuple[int, float | None, float | None]:
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = db.func.extract("epoch", Claim.decided_at - Claim.shared_at)
        query = decided.with_only_columns(
            db.func.count(),
            db.func.percentile_cont(0.5).within_group(seconds),
            db.func.percentile_cont(0.9).within_group(seconds),
        )
        count, median, p90 = db.session.execute(query).one()
        return count, _float(median), _float(p90)
    durations = sorted((decided_at - shared_at).total_seconds() for shared_at, decided_at in db.session.execute(decided))
    return len(durations), percentile(durations, 0.5), percentile(durations, 0.9)


def _float(value) -> float | None:
    return None if value is None else float(value)


def percentile(ordered: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks: what PostgreSQL's percentile_cont computes."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
